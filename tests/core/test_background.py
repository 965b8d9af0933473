"""Cell removal: cells are gone on real images, the rest is untouched, all dtypes work."""
import math

import cv2
import numpy as np
import pytest

from mmaug_is.core import masks_to_boxes, merge_boxes, read_image, remove_cells


def _residual_contrast(records, **kwargs):
    """Per cell: |mean after removal - background| / |mean before - background|.

    Background = median of the pixels at least 5 px from every cell. Cells with less
    contrast than 3 robust background standard deviations are skipped.
    """
    ratios = []
    for i, record in enumerate(records):
        image, masks = read_image(record.path), record.masks
        grey = image.astype(np.float64).mean(axis=2)
        near = cv2.dilate(masks.any(0).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        if (~near).sum() < 200:
            continue
        median = np.median(grey[~near])
        spread = 1.4826 * np.median(np.abs(grey[~near] - median)) + 1.0
        out = remove_cells(image, masks, np.random.default_rng(i), **kwargs)
        out = out.astype(np.float64).mean(axis=2)
        for mask in masks:
            contrast = grey[mask].mean() - median
            if abs(contrast) >= 3 * spread:
                ratios.append(abs(out[mask].mean() - median) / abs(contrast))
    return np.array(ratios)


def test_no_fluorescent_cell_survives(fluo_records):
    ratios = _residual_contrast(fluo_records[::4])
    assert len(ratios) > 300
    # an untouched cell has ratio 1; removed cells sit at the background level
    assert np.median(ratios) < 0.1
    assert np.percentile(ratios, 95) < 0.25
    # dense images become one merged box filled from the gaps, a bit brighter than the
    # far background used as reference here
    assert ratios.max() < 0.5


def test_brightfield_cells_fade_into_background(brightfield_records):
    ratios = _residual_contrast(brightfield_records[::6])
    assert len(ratios) > 100
    assert np.median(ratios) < 0.15


def test_inpaint_removes_most_contrast(fluo_records):
    ratios = _residual_contrast(fluo_records[::16], method='inpaint')
    assert np.median(ratios) < 0.3


def test_pixels_away_from_cells_are_unchanged(fluo_records):
    record = fluo_records[10]
    image, masks = read_image(record.path), record.masks
    sigma, halo = 2.0, 4
    out = remove_cells(image, masks, np.random.default_rng(0), sigma=sigma, halo=halo)
    assert out.dtype == image.dtype and out.shape == image.shape
    rects = merge_boxes(np.clip(masks_to_boxes(masks) + [-halo, -halo, halo, halo], 0, 256))
    pad = math.ceil(3 * sigma)
    touched = np.zeros(image.shape[:2], bool)
    for x1, y1, x2, y2 in rects:
        touched[max(y1 - pad, 0):y2 + pad, max(x1 - pad, 0):x2 + pad] = True
    assert touched.mean() < 0.9
    np.testing.assert_array_equal(out[~touched], image[~touched])
    assert (out[masks.any(0)] != image[masks.any(0)]).mean() > 0.9


def test_same_seed_same_background(fluo_records):
    record = fluo_records[3]
    image, masks = read_image(record.path), record.masks
    a = remove_cells(image, masks, np.random.default_rng(5))
    b = remove_cells(image, masks, np.random.default_rng(5))
    c = remove_cells(image, masks, np.random.default_rng(6))
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize('shape, dtype, method', [
    ((64, 80), np.uint16, 'corner'), ((64, 80, 3), np.uint16, 'corner'),
    ((64, 80), np.uint8, 'corner'), ((64, 80, 3), np.uint16, 'inpaint'),
    ((64, 80), np.uint16, 'inpaint'), ((64, 80, 3), np.uint8, 'inpaint')])
def test_dtypes_and_channels(shape, dtype, method):
    rng = np.random.default_rng(0)
    top = np.iinfo(dtype).max
    image = rng.normal(top * 0.1, top * 0.01, shape).clip(0, top).astype(dtype)
    masks = np.zeros((2, 64, 80), bool)
    cv2.circle(masks[0].view(np.uint8), (20, 20), 6, 1, -1)
    cv2.circle(masks[1].view(np.uint8), (55, 40), 8, 1, -1)
    image[masks.any(0)] = int(top * 0.9)
    out = remove_cells(image, masks, rng, method=method)
    assert out.dtype == dtype and out.shape == image.shape
    assert out[masks.any(0)].max() < top * 0.3


def test_edge_cases():
    image = np.full((20, 20), 7, np.uint8)
    rng = np.random.default_rng(0)
    out = remove_cells(image, np.zeros((0, 20, 20), bool), rng)
    assert out is not image and np.array_equal(out, image)
    with pytest.raises(ValueError, match='cover the whole'):
        remove_cells(image, np.ones((1, 20, 20), bool), rng)
    with pytest.raises(ValueError, match='do not match'):
        remove_cells(image, np.zeros((1, 21, 20), bool), rng)
    with pytest.raises(ValueError, match='method'):
        remove_cells(image, np.zeros((1, 20, 20), bool), rng, method='magic')


def test_merge_boxes_leaves_no_overlap():
    rng = np.random.default_rng(1)
    xy = rng.integers(0, 200, (60, 2))
    boxes = np.hstack([xy, xy + rng.integers(1, 30, (60, 2))])
    merged = merge_boxes(boxes)
    x1, y1, x2, y2 = merged.T
    overlap = ((x1[:, None] < x2) & (x1 < x2[:, None]) & (y1[:, None] < y2) & (y1 < y2[:, None]))
    assert overlap.sum() == len(merged)
    inside = ((boxes[:, None, 0] >= x1) & (boxes[:, None, 1] >= y1)
              & (boxes[:, None, 2] <= x2) & (boxes[:, None, 3] <= y2))
    assert inside.any(axis=1).all()
    np.testing.assert_array_equal(merge_boxes([[0, 0, 5, 5], [5, 0, 9, 5]]),
                                  [[0, 0, 5, 5], [5, 0, 9, 5]])  # touching is not overlap
