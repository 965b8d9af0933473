"""Real-cell contrast for Pix2Pix cells (``saaa.tone``): fit on real cells, apply, options
(the generator's use of it: ``test_saaa_generator.py``)."""
import json

import numpy as np
import pytest

from mmaug_is.saaa.per_background import POOLED
from mmaug_is.saaa.tone import (GAIN_LIMITS, CellTone, background_level,
                                cell_contrast, resolve_tone)


def _cell(level, peak, dtype=np.uint8, channels=1, size=40):
    """A disc cell rising from ``level`` at its rim to ``peak`` at its centre."""
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5) / (size / 2 - 1)
    mask = radius < 1
    image = np.where(mask, level + (peak - level) * (1 - radius ** 2), level).astype(dtype)
    return (np.repeat(image[..., None], channels, axis=2) if channels > 1 else image), mask


def test_fit_on_real_fluo_cells_per_background(fluo_assets):
    tone = CellTone.fit(fluo_assets.bank, fluo_assets.backgrounds,
                        fluo_assets.background_sources)
    own = [tone.contrasts[i] for i in range(len(fluo_assets.backgrounds)) if i in tone.contrasts]
    assert own, 'the fixture images have cells'
    pooled = tone.contrasts[POOLED]
    assert sorted(pooled) == sorted(c for values in own for c in values)
    assert min(pooled) > 0  # fluorescent nuclei are brighter than their background
    obj = next(o for o in fluo_assets.bank.scos if o.source == fluo_assets.background_sources[0])
    level = background_level(fluo_assets.backgrounds[0])
    assert cell_contrast(obj.image, obj.masks[0], level) in tone.contrasts[0]
    loaded = CellTone.from_dict(json.loads(json.dumps(tone.to_dict())))
    assert loaded == tone
    draws = tone.draw(0, np.random.default_rng(0), 50)
    assert set(draws) <= set(tone.contrasts[0])
    assert np.array_equal(draws, tone.draw(0, np.random.default_rng(0), 50))
    assert set(tone.draw(99, np.random.default_rng(0), 20)) <= set(pooled)  # no own cells


def test_apply_scales_the_cell_to_the_drawn_contrast_about_the_level():
    image, mask = _cell(20, 60, channels=3)
    painted = cell_contrast(image, mask, [20, 20, 20])
    out = CellTone.apply(image, mask, [20, 20, 20], 2.5 * painted)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.array_equal(out[~mask], image[~mask])  # background-level pixels stay
    assert cell_contrast(out, mask, [20, 20, 20]) == pytest.approx(2.5 * painted, rel=0.02)
    capped = CellTone.apply(image, mask, [20, 20, 20], 100 * painted)
    assert cell_contrast(capped, mask, [20, 20, 20]) == pytest.approx(
        min(GAIN_LIMITS[1] * painted, 255 - 20), rel=0.05)
    dark, _ = _cell(30000, 10000, dtype=np.uint16)  # a cell darker than its background
    dimmer = CellTone.apply(dark, mask, 30000, -10000.0)
    assert dimmer.dtype == np.uint16
    assert cell_contrast(dimmer, mask, 30000) == pytest.approx(-10000, rel=0.02)


def test_apply_leaves_faint_and_opposite_cells_as_painted():
    image, mask = _cell(20, 60)
    assert np.array_equal(CellTone.apply(image, mask, 20, -30.0), image)  # other polarity
    faint, _ = _cell(20, 21)
    assert np.array_equal(CellTone.apply(faint, mask, 20, 50.0), faint)


def test_resolve_tone_options(fluo_assets):
    assert resolve_tone(None, fluo_assets) is None
    fitted = resolve_tone('real', fluo_assets)
    assert fitted == CellTone.fit(fluo_assets.bank, fluo_assets.backgrounds,
                                  fluo_assets.background_sources)
    assert resolve_tone(fitted.to_dict(), fluo_assets) == fitted
    assert resolve_tone(fitted, fluo_assets) is fitted
    with pytest.raises(ValueError, match="tone must be None, 'real'"):
        resolve_tone('bright', fluo_assets)
    with pytest.raises(ValueError, match='the one key "contrasts"'):
        resolve_tone(dict(contrast={-1: [1.0]}), fluo_assets)
    with pytest.raises(ValueError, match='at least one real cell contrast'):
        CellTone({0: [1.0]})
    with pytest.raises(ValueError, match='no cell of the bank comes from'):
        CellTone.fit(fluo_assets.bank, fluo_assets.backgrounds, ['elsewhere.png'] * 2)
