"""Real-cell grain for Pix2Pix cells (``saaa.texture``): fit on real SCOs, apply, options."""
import numpy as np
import pytest

from mmaug_is.saaa.texture import CellTexture, cell_grain, resolve_texture


def _smooth_cell(level, dtype=np.uint8, channels=3, size=48):
    """A disc mask on a flat crop of grey ``level``: no grain (nor edge) inside."""
    yy, xx = np.mgrid[:size, :size]
    mask = (yy - size / 2 + 0.5) ** 2 + (xx - size / 2 + 0.5) ** 2 < (size / 2 - 1) ** 2
    image = np.full(mask.shape, level, dtype)
    return (np.repeat(image[..., None], channels, axis=2) if channels > 1 else image), mask


def test_fit_on_real_cells_brighter_cells_are_grainier(fluo_subset_bank):
    texture = CellTexture.fit(fluo_subset_bank.scos)
    assert texture.n_cells > 50
    assert min(texture.slopes) > 0  # real nuclei: grain grows with brightness
    assert (texture.target(150) > texture.target(30)).all() and texture.target(30).min() > 0
    assert CellTexture.from_dict(texture.to_dict()) == texture


def test_apply_adds_the_missing_grain_inside_the_mask_only():
    texture = CellTexture(offsets=(0.5, ), slopes=(0.05, ))
    image, mask = _smooth_cell(120)
    before = cell_grain(image, mask)
    assert not before[1].any()
    out = texture.apply(image, mask, np.random.default_rng(0))
    assert out.dtype == image.dtype and out.shape == image.shape
    assert np.array_equal(out[~mask], image[~mask])  # outside the cell: untouched
    mean, grain = cell_grain(out, mask)
    assert abs(mean - before[0]) < 3.0  # zero-mean grain: about the same brightness
    assert grain == pytest.approx(texture.target(before[0]), rel=0.2)
    assert np.array_equal(out[..., 0], out[..., 2])  # the same grain in every channel
    again = texture.apply(image, mask, np.random.default_rng(0))
    assert np.array_equal(out, again)


def test_a_cell_grainy_enough_is_left_as_it_is_and_uint16_is_kept():
    image, mask = _smooth_cell(30000, dtype=np.uint16, channels=1)
    out = CellTexture((500.0, ), (0.0, )).apply(image, mask, np.random.default_rng(1))
    assert out.dtype == np.uint16 and out.max() <= 65535
    assert cell_grain(out, mask)[1] == pytest.approx([500.0], rel=0.2)
    grainy_enough = CellTexture((0.0, ), (0.0, )).apply(image, mask, np.random.default_rng(1))
    assert np.array_equal(grainy_enough, image)


def test_resolve_texture_options(fluo_subset_bank):
    assert resolve_texture(None, fluo_subset_bank) is None
    fitted = resolve_texture('real', fluo_subset_bank)
    assert fitted == CellTexture.fit(fluo_subset_bank.scos)
    assert resolve_texture(fitted.to_dict(), fluo_subset_bank) == fitted
    assert resolve_texture(fitted, fluo_subset_bank) is fitted
    with pytest.raises(ValueError, match="texture must be None, 'real'"):
        resolve_texture('noise', fluo_subset_bank)
    with pytest.raises(ValueError, match=r"missing \['offsets'\]"):
        resolve_texture(dict(slopes=[1.0]), fluo_subset_bank)
    with pytest.raises(ValueError, match=r"unknown \['slope'\]"):
        resolve_texture(dict(offsets=[0.0], slopes=[1.0], slope=1.0), fluo_subset_bank)
    with pytest.raises(ValueError, match='at least 2 real cells'):
        CellTexture.fit([])

