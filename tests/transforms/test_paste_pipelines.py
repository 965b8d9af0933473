"""IAAAPaste in pipelines of other shapes than ours (issue 33), on the bundled real sample.

Each pipeline either pastes correctly (no pasted cell over a real cell's box, pasted cells
at the current image's scale, the types and dtypes returned as received) or fails naming
``IAAAPaste`` and what to change.
"""
import copy
import json

import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from pycocotools import mask as mask_utils

from mmaug_is.transforms import IAAAPaste
from mmaug_is.transforms.pipeline_inputs import PastePipelineError

LOAD = dict(type='LoadImageFromFile')
ANNOTATIONS = dict(type='LoadAnnotations', with_bbox=True, with_mask=True)


@pytest.fixture(scope='module')
def paste_cfg(sample_root, tmp_path_factory):
    return dict(type='IAAAPaste', max_cells=12,
                source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                            img_dir=str(sample_root / 'images')),
                cache_root=str(tmp_path_factory.mktemp('assets')))


def dataset(root, pipeline, ann_file='annotations/train.json'):
    return DATASETS.build(dict(type='CocoDataset', data_root=str(root) + '/',
                               ann_file=ann_file, data_prefix=dict(img='images/'),
                               metainfo=dict(classes=('nucleus', )), pipeline=pipeline))


def run(root, before, paste_cfg, after=(), index=2, seed=1, ann_file='annotations/train.json'):
    """``(results before the paste, results after it)`` of training image ``index``."""
    before_only = dataset(root, list(before), ann_file)[index]
    np.random.seed(seed)
    after_paste = dataset(root, list(before) + [paste_cfg] + list(after), ann_file)[index]
    return before_only, after_paste


def boxes_of(results):
    boxes = results['gt_bboxes']
    return np.asarray(boxes.tensor if isinstance(boxes, HorizontalBoxes) else boxes)


def pasted_masks(results, n_real):
    """Masks of the pasted cells: from ``gt_masks`` where loaded, else None."""
    masks = results.get('gt_masks')
    if masks is None:
        return None
    return masks[n_real:].to_ndarray().astype(bool) if isinstance(masks, BitmapMasks) \
        else masks[n_real:].to_bitmap().to_ndarray().astype(bool)


def assert_pasted_correctly(before, after):
    n_real = len(boxes_of(before))
    real_boxes, boxes = boxes_of(before), boxes_of(after)
    assert len(boxes) > n_real, 'nothing was pasted'
    assert np.array_equal(boxes[:n_real], real_boxes)
    real_area = np.zeros(after['img'].shape[:2], dtype=bool)
    for x1, y1, x2, y2 in real_boxes:
        real_area[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = True
    changed = np.asarray(after['img'] != before['img'])
    changed = changed.any(axis=2) if changed.ndim == 3 else changed
    assert changed.any() and not (changed & real_area).any(), 'a real cell box was painted'
    masks = pasted_masks(after, n_real)
    if masks is not None:
        assert not (masks.any(axis=0) & real_area).any(), 'a pasted mask overlaps a real box'
    for key in ('gt_bboxes', 'gt_masks'):
        if key in before:
            assert type(after[key]) is type(before[key]), key
    assert after['img'].dtype == before['img'].dtype
    assert after['img'].shape == before['img'].shape
    n = len(boxes)
    assert len(after['gt_bboxes_labels']) == n == len(after['gt_ignore_flags'])
    if 'gt_masks' in after:
        assert len(after['gt_masks']) == n


def test_our_pipeline_shape(sample_root, paste_cfg):
    assert_pasted_correctly(*run(sample_root, [LOAD, ANNOTATIONS], paste_cfg))


def test_float32_images_come_back_float32_with_their_values_kept(sample_root, paste_cfg):
    before, after = run(sample_root, [dict(LOAD, to_float32=True), ANNOTATIONS], paste_cfg)
    assert after['img'].dtype == np.float32
    assert_pasted_correctly(before, after)


def test_grayscale_images_get_grey_cells_without_repeating_color_type(
        sample_root, paste_cfg):
    before, after = run(sample_root, [dict(LOAD, color_type='grayscale'), ANNOTATIONS],
                        paste_cfg)
    assert after['img'].ndim == 2
    assert_pasted_correctly(before, after)


def test_plain_array_boxes_come_back_as_arrays(sample_root, paste_cfg):
    before, after = run(sample_root, [LOAD, dict(ANNOTATIONS, box_type=None)], paste_cfg)
    assert isinstance(after['gt_bboxes'], np.ndarray)
    assert after['gt_bboxes'].dtype == before['gt_bboxes'].dtype
    assert_pasted_correctly(before, after)


def test_boxes_only_pipelines_paste_outside_every_box(sample_root, paste_cfg):
    before, after = run(sample_root, [LOAD, dict(ANNOTATIONS, with_mask=False)], paste_cfg)
    assert 'gt_masks' not in after
    assert_pasted_correctly(before, after)


def test_rle_annotations_read_as_empty_polygons_still_keep_real_cells_free(
        sample_root, paste_cfg):
    before, after = run(sample_root, [LOAD, dict(ANNOTATIONS, poly2mask=False)], paste_cfg)
    assert isinstance(after['gt_masks'], PolygonMasks)
    assert_pasted_correctly(before, after)


@pytest.fixture(scope='module')
def polygon_root(sample_root, tmp_path_factory):
    """The bundled sample with its RLE masks as COCO polygons."""
    import cv2
    root = tmp_path_factory.mktemp('polygons')
    (root / 'annotations').mkdir()
    (root / 'images').symlink_to(sample_root / 'images')
    coco = json.loads((sample_root / 'annotations/train.json').read_text())
    for ann in coco['annotations']:
        mask = mask_utils.decode(ann['segmentation'])
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        ann['segmentation'] = [c.reshape(-1).astype(float).tolist() for c in contours
                               if len(c) >= 3]
    coco['annotations'] = [a for a in coco['annotations'] if a['segmentation']]
    (root / 'annotations/train.json').write_text(json.dumps(coco))
    return root


def test_polygon_masks_stay_polygons_and_rasterise_to_the_pasted_cells(
        polygon_root, paste_cfg):
    before, after = run(polygon_root, [LOAD, dict(ANNOTATIONS, poly2mask=False)], paste_cfg)
    assert isinstance(after['gt_masks'], PolygonMasks)
    assert_pasted_correctly(before, after)
    n_real = len(before['gt_bboxes'])
    rasterised = after['gt_masks'][n_real:].to_bitmap().to_ndarray().astype(bool)
    for mask, (x1, y1, x2, y2) in zip(rasterised, boxes_of(after)[n_real:]):
        ys, xs = np.nonzero(mask)
        assert len(xs), 'a pasted polygon is empty'
        assert xs.min() >= x1 - 1 and xs.max() < x2 + 1 and ys.min() >= y1 - 1 \
            and ys.max() < y2 + 1


def median_side(masks):
    return float(np.median(np.sqrt(masks.reshape(len(masks), -1).sum(axis=1))))


def pasted_to_real_size(root, paste_cfg, ratio, index):
    """Median side of the pasted cells over that of the image's own cells, after a resize
    by ``ratio`` before the paste."""
    resize = dict(type='RandomResize', scale=(256, 256), ratio_range=(ratio, ratio),
                  keep_ratio=True)
    before, after = run(root, [LOAD, ANNOTATIONS, resize], paste_cfg, index=index)
    assert_pasted_correctly(before, after)
    n_real = len(before['gt_bboxes'])
    masks = after['gt_masks'].to_ndarray().astype(bool)
    return median_side(masks[n_real:]) / median_side(masks[:n_real])


@pytest.mark.parametrize('ratio', [0.5, 2.0])
def test_cells_are_pasted_at_the_scale_of_a_resized_image(sample_root, paste_cfg, ratio):
    # training image 6: its style neighbours' cells are the size of its own (~1 unresized)
    assert abs(pasted_to_real_size(sample_root, paste_cfg, ratio, index=6) - 1) <= 0.25


@pytest.mark.parametrize('index', [0, 3, 8])
def test_a_resize_before_the_paste_leaves_pasted_to_real_sizes_unchanged(sample_root,
                                                                         paste_cfg, index):
    unresized = pasted_to_real_size(sample_root, paste_cfg, 1.0, index)
    for ratio in (0.5, 2.0):
        assert pasted_to_real_size(sample_root, paste_cfg, ratio, index) == \
            pytest.approx(unresized, rel=0.1)


def test_before_load_annotations_is_an_error_naming_the_fix(sample_root, paste_cfg):
    with pytest.raises(PastePipelineError, match='IAAAPaste.*after LoadAnnotations'):
        dataset(sample_root, [LOAD, paste_cfg])[0]


def test_after_pack_det_inputs_is_an_error_naming_the_fix(sample_root, paste_cfg):
    with pytest.raises(PastePipelineError, match='IAAAPaste.*after PackDetInputs.*before'):
        dataset(sample_root, [LOAD, ANNOTATIONS, dict(type='PackDetInputs'), paste_cfg])[0]


def test_a_normalised_image_is_an_error_naming_the_fix(sample_root, paste_cfg):
    paste = IAAAPaste(**{k: v for k, v in paste_cfg.items() if k != 'type'})
    results = dataset(sample_root, [dict(LOAD, to_float32=True), ANNOTATIONS])[0]
    results['img'] = (results['img'] - 100.0) / 50.0
    with pytest.raises(PastePipelineError, match='IAAAPaste.*before Normalize'):
        paste(copy.deepcopy(results))


def test_defaults_are_the_recommended_settings(paste_cfg):
    paste = IAAAPaste(source=paste_cfg['source'], cache_root=paste_cfg['cache_root'])
    assert (paste.max_cells, paste.prob, paste.policies) == (25, 1.0, [])
    assert (paste.settings.edge, paste.settings.style_neighbours) == ('inside', 5)


def test_color_type_is_deprecated(paste_cfg):
    with pytest.warns(FutureWarning, match='IAAAPaste: color_type'):
        IAAAPaste(source=paste_cfg['source'], cache_root=paste_cfg['cache_root'],
                  color_type='grayscale')
