"""NucleiCocoMetric: the headline AP at 300 detections, checked against pycocotools run by
hand on real dsb2018 validation boxes and masks (one image holds 208 nuclei)."""
import copy
import json

import numpy as np
import pytest
from mmdet.evaluation.metrics import CocoMetric
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmaug_is.evaluation.coco_metric import NucleiCocoMetric

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

METAINFO = dict(classes=('nucleus', ))


def _noisy_detections(ann_file, seed=0):
    """Per image, every ground-truth box jittered by up to 2 px, with random scores, in
    ``CocoMetric.process`` form ``[(gt, pred), ...]`` and as a COCO results list."""
    coco = json.loads(ann_file.read_text())
    rng = np.random.default_rng(seed)
    results, coco_results = [], []
    for info in coco['images']:
        boxes = np.array([a['bbox'] for a in coco['annotations']
                          if a['image_id'] == info['id']], dtype=np.float32)
        boxes[:, :2] += rng.uniform(-2, 2, size=(len(boxes), 2))
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        scores = rng.uniform(0.05, 1.0, size=len(boxes)).astype(np.float32)
        results.append((dict(img_id=info['id'], width=info['width'], height=info['height']),
                        dict(img_id=info['id'], bboxes=xyxy, scores=scores,
                             labels=np.zeros(len(boxes), np.int64))))
        coco_results += [dict(image_id=info['id'], category_id=1, score=float(s),
                              bbox=[float(v) for v in b]) for b, s in zip(boxes, scores)]
    return results, coco_results, max(np.bincount([a['image_id'] for a in coco['annotations']]))


def _noisy_masks(ann_file, seed=0):
    """Per image, every ground-truth mask shifted by up to 1 px, with random scores, in
    ``CocoMetric.process`` form (RLE masks and their boxes) and as a COCO results list."""
    coco = json.loads(ann_file.read_text())
    rng = np.random.default_rng(seed)
    results, coco_results = [], []
    for info in coco['images']:
        rles = []
        for ann in (a for a in coco['annotations'] if a['image_id'] == info['id']):
            mask = mask_utils.decode(dict(ann['segmentation'],
                                          counts=ann['segmentation']['counts'].encode()))
            shifted = np.roll(mask, [int(v) for v in rng.integers(-1, 2, 2)], axis=(0, 1))
            rles.append(mask_utils.encode(np.asfortranarray(shifted)))
        boxes = mask_utils.toBbox(rles).astype(np.float32)
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        scores = rng.uniform(0.05, 1.0, size=len(rles)).astype(np.float32)
        results.append((dict(img_id=info['id'], width=info['width'], height=info['height']),
                        dict(img_id=info['id'], bboxes=xyxy, scores=scores, masks=rles,
                             labels=np.zeros(len(rles), np.int64))))
        coco_results += [dict(image_id=info['id'], category_id=1, score=float(s),
                              segmentation=dict(r, counts=r['counts'].decode()))
                         for r, s in zip(rles, scores)]
    return results, coco_results


def _by_hand(ann_file, coco_results, max_dets, iou_type='bbox'):
    """pycocotools: AP (IoU .50:.95, all areas) at ``max_dets[-1]`` detections per image."""
    gt = COCO(str(ann_file))
    evaluator = COCOeval(gt, gt.loadRes(copy.deepcopy(coco_results)), iou_type)  # loadRes edits
    evaluator.params.maxDets = list(max_dets)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    precision = evaluator.eval['precision'][:, :, :, 0, -1]
    return float(np.mean(precision[precision > -1])), evaluator.stats


def _metric(cls, ann_file, proposal_nums, metric='bbox'):
    metric = cls(ann_file=str(ann_file), metric=metric, proposal_nums=proposal_nums)
    metric.dataset_meta = METAINFO
    return metric


def test_headline_ap_is_read_at_300_detections(fluo_root):
    ann_file = fluo_root / 'annotations' / 'val.json'
    results, coco_results, most = _noisy_detections(ann_file)
    assert most > 200  # the val split has an image with more nuclei than 100 detections
    ap_300, stats = _by_hand(ann_file, coco_results, [1, 10, 300])
    ap_100, _ = _by_hand(ann_file, coco_results, [1, 10, 100])
    assert ap_300 > ap_100 + 0.005

    ours = _metric(NucleiCocoMetric, ann_file, (1, 10, 300)).compute_metrics(results)
    stock = _metric(CocoMetric, ann_file, (1, 10, 300)).compute_metrics(results)
    assert ours['bbox_mAP'] == pytest.approx(round(ap_300, 3), abs=1e-9)
    assert stock['bbox_mAP'] != ours['bbox_mAP']  # mmdet reads it at 100
    for key, index in (('bbox_mAP_50', 1), ('bbox_mAP_75', 2), ('bbox_mAP_s', 3)):
        assert ours[key] == stock[key] == pytest.approx(round(stats[index], 3), abs=1e-9)


def test_mask_ap_is_read_at_300_detections(fluo_root):
    """The configs' ``metric=['bbox', 'segm']``: the mask AP is read like the box AP."""
    ann_file = fluo_root / 'annotations' / 'val.json'
    results, coco_results = _noisy_masks(ann_file)
    ap_300, stats = _by_hand(ann_file, coco_results, [1, 10, 300], 'segm')
    ap_100, _ = _by_hand(ann_file, coco_results, [1, 10, 100], 'segm')
    assert ap_300 > ap_100 + 0.005

    ours = _metric(NucleiCocoMetric, ann_file, (1, 10, 300), ['bbox', 'segm'])
    stock = _metric(CocoMetric, ann_file, (1, 10, 300), ['bbox', 'segm'])
    ours, stock = ours.compute_metrics(results), stock.compute_metrics(results)
    assert ours['segm_mAP'] == pytest.approx(round(ap_300, 3), abs=1e-9)
    assert stock['segm_mAP'] != ours['segm_mAP']  # mmdet reads it at 100
    for key, index in (('segm_mAP_50', 1), ('segm_mAP_75', 2), ('segm_mAP_s', 3)):
        assert ours[key] == stock[key] == pytest.approx(round(stats[index], 3), abs=1e-9)
    boxes = [dict(r, bbox=[float(v) for v in mask_utils.toBbox(r['segmentation'])])
             for r in coco_results]  # the boxes of the masks, as CocoMetric got them
    box_ap_300, _ = _by_hand(ann_file, boxes, [1, 10, 300], 'bbox')
    assert ours['bbox_mAP'] == pytest.approx(round(box_ap_300, 3), abs=1e-9)  # both at 300


def test_proposal_nums_must_increase(fluo_root):
    with pytest.raises(ValueError, match='increasing'):
        _metric(NucleiCocoMetric, fluo_root / 'annotations' / 'val.json', (300, 100, 10))
