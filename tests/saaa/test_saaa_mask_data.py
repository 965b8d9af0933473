"""Canonical SCO data, dtype scaling, real-size restoration and mask post-processing."""
import numpy as np
import pytest

from mmaug_is.saaa.mask_data import (ImageFormat, SizeDistribution, build_sco_dataset,
                                     dihedral, images_to_tensor, masks_to_tensor,
                                     restore_scale, tensor_to_images)
from mmaug_is.saaa.mask_ddpm import MaskFilter


@pytest.mark.parametrize('dtype,channels', [(np.uint8, 1), (np.uint8, 3), (np.uint16, 1),
                                            (np.uint16, 3)])
def test_image_tensor_round_trip_is_exact(dtype, channels):
    rng = np.random.default_rng(0)
    shape = (4, 8, 8) + ((channels,) if channels > 1 else ())
    images = rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    images.flat[:2] = [0, np.iinfo(dtype).max]
    fmt = ImageFormat.of(images[0])
    tensor = images_to_tensor(images, fmt)
    assert tensor.shape == (4, channels, 8, 8)
    assert tensor.min() >= -1 and tensor.max() <= 1
    assert tensor.min() == -1 and tensor.max() == 1
    back = tensor_to_images(tensor, fmt)
    assert back.dtype == dtype and back.shape == images.shape
    assert np.array_equal(back, images)
    assert np.array_equal(tensor_to_images(tensor * 5, fmt).max(), np.iinfo(dtype).max)


def test_image_format_rejects_unsupported_images():
    with pytest.raises(ValueError, match='uint8 or uint16'):
        ImageFormat.of(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match='1 or 3 channels'):
        ImageFormat.of(np.zeros((4, 4, 2), np.uint8))


def test_masks_to_tensor_and_dihedral():
    masks = np.zeros((1, 4, 4), bool)
    masks[0, 0, 1] = True
    t = masks_to_tensor(masks)
    assert t.shape == (1, 1, 4, 4) and set(t.unique().tolist()) == {-1.0, 1.0}
    seen = {dihedral([masks], k)[0].tobytes() for k in range(8)}
    assert len(seen) == 8  # the 8 symmetries of an asymmetric pattern are distinct


def test_canonical_sco_dataset_on_real_data(sco32, fluo_subset):
    ds = sco32
    n = len(ds)
    assert n > 50
    assert ds.masks.shape == (n, 32, 32) and ds.masks.dtype == bool
    assert ds.images.shape == (n, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.fmt == ImageFormat('uint8', 3)
    assert len(ds.sources) == n and all('#' in s for s in ds.sources)
    assert (ds.sizes >= 1).all() and ds.sizes.max(axis=1).min() >= 4
    for mask in ds.masks:  # longer box side ~ fill * S, centred, clear of the border
        ys, xs = np.nonzero(mask)
        long_side = max(np.ptp(ys), np.ptp(xs)) + 1
        assert abs(long_side - 0.75 * 32) <= 2
        assert abs((ys.min() + ys.max()) / 2 - 15.5) <= 1.5
        assert abs((xs.min() + xs.max()) / 2 - 15.5) <= 1.5
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
    # Cells are brighter than their surroundings in fluorescence.
    inside = np.mean([img[m].mean() for img, m in zip(ds.images, ds.masks)])
    outside = np.mean([img[~m].mean() for img, m in zip(ds.images, ds.masks)])
    assert inside > outside + 5
    masks_only = build_sco_dataset(*fluo_subset, size=32, with_images=False, progress=False)
    assert masks_only.images is None and np.array_equal(masks_only.masks, ds.masks)


def test_clean_context_removes_neighbours(fluo_subset, sco32):
    clean = build_sco_dataset(*fluo_subset, size=32, context='clean', seed=3, progress=False)
    assert np.array_equal(clean.masks, sco32.masks)
    # Inside the cell the pixels are the real ones; the surroundings change (neighbours gone).
    core = [np.abs(c.astype(int) - r.astype(int))[m].mean()
            for c, r, m in zip(clean.images, sco32.images, clean.masks)]
    assert np.median(core) < 2
    assert not np.array_equal(clean.images, sco32.images)


def test_build_sco_dataset_errors(fluo_subset):
    with pytest.raises(ValueError, match='context'):
        build_sco_dataset(*fluo_subset, context='blur')
    with pytest.raises(ValueError, match='no single-cell object'):
        build_sco_dataset(*fluo_subset, min_side=10_000, with_images=False, progress=False)


def test_restore_scale_hits_requested_size():
    mask = np.zeros((32, 32), bool)
    mask[8:24, 4:28] = True  # 16 x 24 box
    image = np.full((32, 32, 3), 200, np.uint16)
    for long_side in (5, 13, 40):
        out_mask, out_image = restore_scale(mask, long_side, image)
        assert long_side - 1 <= max(out_mask.shape) <= long_side
        assert abs(min(out_mask.shape) - long_side * 16 / 24) <= 1
        assert out_image.shape == out_mask.shape + (3,) and out_image.dtype == np.uint16
        assert out_mask[0].any() and out_mask[:, 0].any()  # tight box
    with pytest.raises(ValueError, match='empty'):
        restore_scale(np.zeros((8, 8), bool), 5)


def test_size_distribution_draws_real_sizes():
    sizes = SizeDistribution([[5, 9], [20, 11]])
    draws = sizes.sample_long_side(np.random.default_rng(0), 200)
    assert set(draws.tolist()) == {9, 20}
    with pytest.raises(ValueError):
        SizeDistribution(np.zeros((0, 2)))


def test_mask_filter_post_processing_and_rejections():
    filt = MaskFilter.from_areas([100, 120, 140], tolerance=0.25)
    assert filt.area_low == pytest.approx(100 * 0.75, rel=0.02)
    raw = -np.ones((32, 32), np.float32)
    assert filt.clean(raw) == (None, 'empty')
    blob = raw.copy()
    blob[10:22, 10:21] = 1          # 132 px blob ...
    blob[15, 15] = -1               # ... with a hole ...
    blob[2, 2] = 1                  # ... and a speck
    mask, reason = filt.clean(blob)
    assert reason == 'ok' and mask.sum() == 132 and not mask[2, 2] and mask[15, 15]
    edge = raw.copy()
    edge[0:12, 5:16] = 1
    assert filt.clean(edge) == (None, 'touches border')
    small = raw.copy()
    small[10:14, 10:14] = 1
    mask, reason = filt.clean(small)
    assert mask is None and reason.startswith('area 16 outside')
    with pytest.raises(ValueError):
        MaskFilter.from_areas([])


def test_mask_filter_smoothing_removes_single_pixel_spurs():
    raw = -np.ones((32, 32), np.float32)
    raw[10:22, 10:21] = 1
    raw[9, 15] = 1  # a one-pixel spur on the top edge
    plain, _ = MaskFilter(50, 400).clean(raw)
    smooth, _ = MaskFilter(50, 400, smooth_sigma=1.0).clean(raw)
    assert plain[9, 15] and not smooth[9, 15]
    assert smooth[16, 15] and abs(int(smooth.sum()) - 132) < 20
