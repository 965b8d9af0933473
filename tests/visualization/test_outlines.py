"""OutlineVisualizer on a real nuclei image: exactly the outlines of the instances (mask
contours, or boxes without masks) in the class colour, and nothing else (no label text,
no score, no fill), where mmdet's DetLocalVisualizer also draws labels and fills."""
import json

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

from mmaug_is.visualization import OutlineVisualizer

CRIMSON = (220, 20, 60)  # the nuclei configs' palette (RGB)
META = dict(classes=('nucleus', ), palette=[CRIMSON])


@pytest.fixture(scope='module')
def nuclei(sample_root):
    """The most crowded test image of the sample (RGB) and its instance masks."""
    coco = json.loads((sample_root / 'annotations' / 'test.json').read_text())
    counts = {}
    for ann in coco['annotations']:
        counts[ann['image_id']] = counts.get(ann['image_id'], 0) + 1
    info = next(i for i in coco['images'] if i['id'] == max(counts, key=counts.get))
    image = cv2.imread(str(sample_root / 'images' / info['file_name']))[..., ::-1].copy()
    masks = np.stack([mask_utils.decode(dict(a['segmentation'],
                                             counts=a['segmentation']['counts'].encode()))
                      for a in coco['annotations'] if a['image_id'] == info['id']]).astype(bool)
    return image, masks


def _outline_pixels(masks):
    """Pixels of each mask with a 4-neighbour outside it (the image border counts as
    outside), over all masks."""
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    inner = [cv2.erode(m.astype(np.uint8), cross, borderType=cv2.BORDER_CONSTANT,
                       borderValue=0).astype(bool) for m in masks]
    return np.any([m & ~i for m, i in zip(masks, inner)], axis=0)


def _boxes(masks):
    boxes = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.array(boxes, dtype=np.float32)


def _draw(visualizer, image, masks=None, boxes=None, as_boxes=torch.from_numpy):
    pred = InstanceData(labels=torch.zeros(len(boxes), dtype=torch.long),
                        scores=torch.full((len(boxes), ), 0.9), bboxes=as_boxes(boxes))
    if masks is not None:
        pred.masks = torch.from_numpy(masks)
    visualizer.dataset_meta = META
    visualizer.add_datasample('nuclei', image, DetDataSample(pred_instances=pred),
                              draw_gt=False)
    return visualizer.get_image()


def _outlines_only(image, outline):
    expected = image.copy()
    expected[outline] = CRIMSON
    return expected


def test_masks_are_drawn_as_their_outlines_and_nothing_else(nuclei):
    image, masks = nuclei
    assert len(masks) > 20
    drawn = _draw(OutlineVisualizer(name='outline_masks'), image, masks, _boxes(masks))
    np.testing.assert_array_equal(drawn, _outlines_only(image, _outline_pixels(masks)))
    stock = _draw(DetLocalVisualizer(name='stock_masks'), image, masks, _boxes(masks))
    assert (stock != _outlines_only(image, _outline_pixels(masks))).any(axis=-1).mean() > 0.1


def test_boxes_without_masks_are_drawn_as_rectangles_and_nothing_else(nuclei):
    image, masks = nuclei
    boxes = _boxes(masks)
    filled = np.zeros_like(masks)
    for box, canvas in zip(boxes.astype(int), filled):
        canvas[box[1]:box[3], box[0]:box[2]] = True
    drawn = _draw(OutlineVisualizer(name='outline_boxes'), image, boxes=boxes,
                  as_boxes=lambda b: HorizontalBoxes(torch.from_numpy(b)))
    np.testing.assert_array_equal(drawn, _outlines_only(image, _outline_pixels(filled)))
