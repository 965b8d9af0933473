"""Occupancy, corner-matched placement, feathered paste and whole-image composition."""
import numpy as np
import pytest

from mmaug_is.core import (CellObject, ObjectBank, Occupancy, choose_objects, compose_image,
                           feather_alpha, feathered_paste, find_position, read_image, remove_cells)
from mmaug_is.core.placement import Layers


@pytest.fixture(scope='module')
def fluo_background(fluo_records):
    record = fluo_records[10]
    return remove_cells(read_image(record.path), record.masks, np.random.default_rng(0))


def _disk(h, w, r):
    yy, xx = np.mgrid[:h, :w]
    return (yy - h / 2 + 0.5) ** 2 + (xx - w / 2 + 0.5) ** 2 <= r * r


def test_occupancy_spacing_and_fits():
    occ = Occupancy(30, 30, spacing=2)
    mask = np.ones((4, 4), bool)
    occ.add(mask, 10, 10)
    assert occ.taken[10:14, 10:14].all() and occ.taken[8, 12] and not occ.taken[7, 12]
    fits = occ.fits(mask, [10, 15, 16, 0], [10, 10, 10, 0])  # x=16 keeps 3 px away
    assert fits.tolist() == [False, False, True, True]
    occ.add(mask, 0, 0)  # at the corner: the grown mask is clipped, not wrapped
    assert not occ.taken[29].any() and not occ.taken[:, 29].any()
    masks = np.zeros((1, 30, 30), bool)
    masks[0, 5, 5] = True
    assert Occupancy.from_masks(masks).taken.sum() == 1


def test_find_position_matches_corners_and_avoids_taken():
    background = np.zeros((60, 100, 3), np.uint8)
    background[:, 50:] = 200  # bright right half
    obj = np.full((10, 10, 3), 200, np.uint8)
    mask = _disk(10, 10, 4)
    rng = np.random.default_rng(0)
    occ = Occupancy(60, 100)
    x, y = find_position(background, obj, mask, occ, rng, n_candidates=200)
    assert x >= 50 and 0 <= y <= 50
    occ.taken[:, 45:] = True  # right half taken: only the worse-matching left side fits
    x, y = find_position(background, obj, mask, occ, rng, n_candidates=200)
    assert x < 45 and occ.fits(mask, [x], [y])[0]
    assert not (occ.taken[y:y + 10, x:x + 10] & mask).any()
    occ.taken[:] = True
    assert find_position(background, obj, mask, occ, rng) is None
    assert find_position(background, np.zeros((70, 5, 3), np.uint8), np.ones((70, 5), bool),
                         Occupancy(60, 100), rng) is None


@pytest.mark.parametrize('shape, dtype', [((40, 50), np.uint8), ((40, 50, 3), np.uint8),
                                          ((40, 50), np.uint16), ((40, 50, 3), np.uint16)])
def test_feathered_paste_dtypes(shape, dtype):
    top = np.iinfo(dtype).max
    canvas = np.full(shape, top // 10, dtype)
    obj = np.full((12, 12) + shape[2:], top, dtype)
    mask = _disk(12, 12, 5)
    hard = feathered_paste(canvas.copy(), obj, mask, 5, 7, sigma=0)
    assert hard.dtype == dtype
    np.testing.assert_array_equal(hard[7:19, 5:17][mask], obj[mask])
    np.testing.assert_array_equal(hard[7:19, 5:17][~mask], canvas[7:19, 5:17][~mask])
    soft = canvas.copy()
    assert feathered_paste(soft, obj, mask, 5, 7, sigma=1.5) is soft  # in place
    region = soft[7:19, 5:17].astype(float)
    assert region[6, 6].mean() > 0.95 * top  # cell centre
    outside_mask = region[~mask].mean()
    assert top // 10 < outside_mask < top  # feathered rim
    protect = np.zeros(shape[:2], bool)
    protect[:, :11] = True
    guarded = feathered_paste(canvas.copy(), obj, mask, 5, 7, sigma=1.5, protect=protect)
    np.testing.assert_array_equal(guarded[:, :11], canvas[:, :11])
    with pytest.raises(ValueError, match='leaves the canvas'):
        feathered_paste(canvas.copy(), obj, mask, 45, 7, sigma=1)


def test_feather_alpha_fades_before_the_crop_border():
    mask = np.zeros((16, 20), bool)
    mask[4:12, 3:17] = True  # two pixel-rows of crop background above, three to the left
    alpha = feather_alpha(mask, sigma=1.0)
    assert alpha.dtype == np.float32 and 0 <= alpha.min() and alpha.max() <= 1
    assert alpha[8, 10] > 0.99 and 0.4 < alpha[4, 10] < 0.9  # inside / on the mask edge
    assert alpha[0, 10] < 0.01 and alpha[8, 0] < 0.01  # no seam at the crop border
    np.testing.assert_array_equal(feather_alpha(mask, 0), mask.astype(np.float32))
    full = np.ones((5, 5), bool)  # a mask filling its crop keeps its blurred alpha
    assert feather_alpha(full, 1.0)[2, 2] > 0.9


def _check_composition(result, objects, transformed=None):
    """Every placed cell's mask equals its (transformed) source mask; masks are disjoint."""
    assert result.masks.dtype == bool and result.masks.shape[1:] == result.image.shape[:2]
    assert result.masks.sum(axis=0).max() <= 1
    placed = [i for i, _, _ in result.placements]
    assert sorted(placed + result.skipped) == list(range(len(objects)))
    assert len(result.masks) == sum(objects[i].n_cells for i in placed)
    at = 0
    for index, x, y in result.placements:
        source = transformed(objects[index].masks) if transformed else objects[index].masks
        n, h, w = source.shape
        got = result.masks[at:at + n]
        np.testing.assert_array_equal(got[:, y:y + h, x:x + w], source)
        assert got.sum() == source.sum()  # nothing outside the crop
        assert (result.object_indices[at:at + n] == index).all()
        at += n


def test_compose_real_objects(fluo_bank, fluo_background):
    rng = np.random.default_rng(1)
    objects = choose_objects(fluo_bank, 25, 0.84, rng)
    assert sum(o.n_cells for o in objects) == 25
    result = compose_image(fluo_background, objects, rng, n_candidates=50, sigma=1.0)
    assert result.image.dtype == np.uint8 and result.image.shape == (256, 256, 3)
    _check_composition(result, objects)
    assert result.n_cells >= 20  # 25 cells fit easily on a 256x256 background
    # pasted cells are visible: mask pixels are brighter than the background there
    union = result.masks.any(0)
    assert result.image[union].mean() > fluo_background[union].mean() + 10


def test_same_seed_is_byte_identical(fluo_bank, fluo_background):
    def run(seed):
        rng = np.random.default_rng(seed)
        objects = choose_objects(fluo_bank, 30, 0.8, rng)
        return compose_image(fluo_background, objects, rng, transform=_flip_transform,
                             spacing=1)
    a, b, c = run(7), run(7), run(8)
    assert a.image.tobytes() == b.image.tobytes() and a.masks.tobytes() == b.masks.tobytes()
    assert a.placements == b.placements
    assert a.image.tobytes() != c.image.tobytes()


def _flip_transform(image, masks, rng):
    """Random horizontal flip plus a brightness change (photometric: masks unchanged)."""
    if rng.random() < 2:  # always flip, but consume the rng like a real policy
        image, masks = image[:, ::-1], masks[:, :, ::-1]
    return np.clip(image.astype(np.int32) + 5, 0, 255).astype(image.dtype), masks


def test_transform_is_applied_to_masks(fluo_bank, fluo_background):
    rng = np.random.default_rng(2)
    objects = fluo_bank.mcos[:10]
    result = compose_image(fluo_background, objects, rng, transform=_flip_transform)
    _check_composition(result, objects, transformed=lambda m: m[:, :, ::-1])
    assert len(result.placements) == 10


def test_uint16_single_channel_path(fluo_bank):
    to16 = [CellObject(o.image[..., 0].astype(np.uint16) * 257, o.masks, o.kind, o.source,
                       o.bbox_xyxy) for o in fluo_bank.scos[:40] + fluo_bank.mcos[:5]]
    bank = ObjectBank(to16[:40], to16[40:])
    rng = np.random.default_rng(3)
    background = rng.normal(3000, 100, (128, 160)).astype(np.uint16)
    objects = choose_objects(bank, 20, 0.7, rng)
    result = compose_image(background, objects, rng, sigma=1.5, spacing=2)
    assert result.image.dtype == np.uint16 and result.image.shape == (128, 160)
    _check_composition(result, objects)


def test_crowded_canvas_skips_and_reports(fluo_bank):
    rng = np.random.default_rng(4)
    background = np.zeros((48, 48, 3), np.uint8)
    objects = choose_objects(fluo_bank, 60, 0.8, rng)
    result = compose_image(background, objects, rng, n_candidates=20)
    assert result.skipped, 'a 48x48 canvas cannot hold 60 nuclei'
    _check_composition(result, objects)


def test_bad_inputs(fluo_bank, fluo_background):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match='background'):
        compose_image(fluo_background[..., 0], fluo_bank.scos[:1], rng)

    def drops_a_cell(image, masks, rng):
        return image, masks[:0]
    with pytest.raises(ValueError, match='transform of object 0'):
        compose_image(fluo_background, fluo_bank.mcos[:1], rng, transform=drops_a_cell)
    with pytest.raises(ValueError, match='empty ObjectBank'):
        choose_objects(ObjectBank(), 3, 0.5, rng)


def test_choose_objects_follows_ratio(fluo_bank):
    rng = np.random.default_rng(5)
    kinds = []
    for _ in range(200):
        objects = choose_objects(fluo_bank, 30, 0.6, rng)
        assert sum(o.n_cells for o in objects) == 30
        kinds += [o.kind for o in objects]
    assert abs(np.mean([k == 'sco' for k in kinds]) - 0.6) < 0.05
    only_mcos = ObjectBank(mcos=[o for o in fluo_bank.mcos if o.n_cells == 2])
    assert sum(o.n_cells for o in choose_objects(only_mcos, 7, 0.5, rng)) == 6
    assert choose_objects(fluo_bank, 0, 0.5, rng) == []


def test_border_margin_cuts_cells_by_the_frame(fluo_background, fluo_bank):
    """Cells placed across the border keep their in-frame part: masks clipped to the frame,
    none smaller than MIN_CUT_PIXELS, none empty, disjoint; the frame keeps its size."""
    from mmaug_is.core.composer import MIN_CUT_PIXELS

    touching = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        objects = choose_objects(fluo_bank, 40, 0.8, rng)
        composed = compose_image(fluo_background, objects, rng, sigma=1.0, spacing=1,
                                 border_margin=12)
        masks = composed.masks
        assert composed.image.shape == fluo_background.shape
        assert masks.shape[1:] == fluo_background.shape[:2]
        assert (masks.sum(axis=(1, 2)) >= MIN_CUT_PIXELS).all()
        assert masks.sum(axis=0).max() <= 1
        assert len(composed.object_indices) == len(masks)
        edges = masks[:, 0].any(1) | masks[:, -1].any(1) | masks[:, :, 0].any(1) \
            | masks[:, :, -1].any(1)
        touching += int(edges.sum())
        assert set(composed.skipped).isdisjoint(composed.object_indices.tolist())
    assert touching >= 4  # cells cut by the border do occur


def test_border_margin_zero_is_the_paper_rule(fluo_background, fluo_bank):
    objects = choose_objects(fluo_bank, 20, 0.8, np.random.default_rng(1))
    plain = compose_image(fluo_background, objects, np.random.default_rng(2))
    same = compose_image(fluo_background, objects, np.random.default_rng(2), border_margin=0,
                         edge='blur')
    assert np.array_equal(plain.image, same.image) and np.array_equal(plain.masks, same.masks)
    assert all(x >= 0 and y >= 0 for _, x, y in plain.placements)


def test_layers_keep_every_cell_mostly_visible():
    layers = Layers(20, 20, occlusion=0.5)
    square = np.ones((1, 4, 4), bool)
    layers.add(square, 0, 0)  # cell 0: 16 px
    union = square[0]
    # at (2, 0) it covers 8 px of cell 0 (half: allowed), at (1, 0) 12 px (refused)
    assert layers.fits(union, [2, 1, 10], [0, 0, 10]).tolist() == [True, False, True]
    big = Layers(20, 20, occlusion=0.5)
    big.add(np.ones((1, 10, 10), bool), 0, 0)
    # a small cell inside a big one covers 16 % of it, but lies wholly over it: refused
    assert big.fits(union, [3, 8], [3, 3]).tolist() == [False, True]
    layers.add(square, 2, 0)
    assert layers.visible.tolist() == [8, 16]
    # cell 0 has lost its half: nothing more of it may be covered
    assert layers.fits(union, [0, 6], [2, 0]).tolist() == [False, True]
    masks = layers.masks()
    assert masks.sum(axis=(1, 2)).tolist() == [8, 16] and masks.sum(axis=0).max() == 1
    with pytest.raises(ValueError, match='occlusion'):
        Layers(5, 5, occlusion=1.0)


def test_occlusion_stacks_cells_with_occlusion_correct_masks(fluo_background, fluo_bank):
    """Cells touch and overlap; each visible mask is its full mask minus the later cells
    over it (>= 1 - occlusion of it), and the image shows the top cell there."""
    overlapped = 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        objects = choose_objects(fluo_bank, 60, 1.0, rng)
        composed = compose_image(fluo_background, objects, rng, sigma=0, spacing=1,
                                 occlusion=0.4)
        masks = composed.masks
        assert masks.sum(axis=0).max() <= 1 and masks.any(axis=(1, 2)).all()
        full = np.zeros_like(masks)
        at = 0
        for index, x, y in composed.placements:  # SCOs: one cell each, untransformed
            (cell, ) = objects[index].masks
            h, w = cell.shape
            full[at, y:y + h, x:x + w] = cell
            image = objects[index].image
            shown = masks[at, y:y + h, x:x + w]
            assert np.array_equal(composed.image[y:y + h, x:x + w][shown], image[shown])
            at += 1
        for k in range(len(masks)):
            above = full[k + 1:].any(axis=0)
            assert np.array_equal(masks[k], full[k] & ~above)
            assert masks[k].sum() >= np.ceil(0.6 * full[k].sum())
        overlapped += int((masks.sum(axis=(1, 2)) < full.sum(axis=(1, 2))).sum())
    assert overlapped >= 3  # cells do overlap


def test_occlusion_zero_is_the_paper_rule(fluo_background, fluo_bank):
    objects = choose_objects(fluo_bank, 20, 0.8, np.random.default_rng(1))
    plain = compose_image(fluo_background, objects, np.random.default_rng(2))
    same = compose_image(fluo_background, objects, np.random.default_rng(2), occlusion=0)
    assert np.array_equal(plain.image, same.image) and np.array_equal(plain.masks, same.masks)
