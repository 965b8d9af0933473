"""Paired bootstrap of AP over test images, checked against pycocotools on real annotations.

Detections are the real dsb2018_fluo test boxes with seeded jitter, misses and false
positives (the most crowded image gets 150 confident false positives, so AP at 100 and at
300 detections differ); mask detections are the real masks shifted by a pixel or two, with
misses and false positives alike. pycocotools' COCOeval is the independent reference: for
the full test set and for a resample with repeated images (built as a COCO set with
duplicated images).
"""
import contextlib
import copy
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmaug_is.benchmarking import bootstrap
from mmaug_is.benchmarking.bootstrap import (coco_stats, match_images, paired_bootstrap,
                                             pooled_bootstrap, run_bootstrap_gains,
                                             run_pooled_gains)
from mmaug_is.benchmarking.tables import bootstrap_markdown
from mmaug_is.evaluation.coco_metric import headline_ap

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow


def _detections(gt_dataset, seed, jitter=0.15, miss=0.2, crowded_image=True):
    """Seeded noisy detections of the ground-truth boxes (COCO result list)."""
    rng = np.random.default_rng(seed)
    dets = []
    for ann in gt_dataset['annotations']:
        if rng.random() < miss:
            continue
        x, y, w, h = ann['bbox']
        x, y = x + rng.normal(0, jitter) * w, y + rng.normal(0, jitter) * h
        w, h = w * np.exp(rng.normal(0, jitter)), h * np.exp(rng.normal(0, jitter))
        dets.append(dict(image_id=ann['image_id'], category_id=ann['category_id'],
                         bbox=[float(x), float(y), float(w), float(h)],
                         score=float(rng.uniform(0.3, 1.0))))
    for image in gt_dataset['images']:
        for _ in range(int(rng.integers(0, 6))):
            dets.append(dict(image_id=image['id'], category_id=1, score=float(rng.uniform(0, .6)),
                             bbox=[float(v) for v in rng.uniform(0, 200, 2)] + [12.0, 12.0]))
    if crowded_image:  # confident false positives push true ones past rank 100
        counts = np.bincount([a['image_id'] for a in gt_dataset['annotations']])
        crowded = int(np.argmax(counts))
        for _ in range(150):
            dets.append(dict(image_id=crowded, category_id=1, score=float(rng.uniform(.5, 1)),
                             bbox=[float(v) for v in rng.uniform(0, 240, 2)] + [8.0, 8.0]))
    return dets


def _mask_detections(gt_dataset, seed, miss=0.2):
    """Seeded noisy mask detections of the ground-truth masks (COCO result list with RLE
    ``segmentation``): each mask shifted by up to 2 px, some missed, and 150 confident
    false positives on the most crowded image."""
    rng = np.random.default_rng(seed)
    sizes = {im['id']: (im['height'], im['width']) for im in gt_dataset['images']}

    def detection(image_id, mask, score):
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        rle['counts'] = rle['counts'].decode('ascii')
        return dict(image_id=image_id, category_id=1, segmentation=rle, score=score)

    dets = []
    for ann in gt_dataset['annotations']:
        if rng.random() < miss:
            continue
        rle = dict(ann['segmentation'], counts=ann['segmentation']['counts'].encode())
        shift = [int(v) for v in rng.integers(-2, 3, 2)]
        mask = np.roll(mask_utils.decode(rle), shift, axis=(0, 1))
        dets.append(detection(ann['image_id'], mask, float(rng.uniform(0.3, 1.0))))
    counts = np.bincount([a['image_id'] for a in gt_dataset['annotations']])
    crowded = int(np.argmax(counts))
    for _ in range(150):
        mask = np.zeros(sizes[crowded], dtype=np.uint8)
        y, x = (int(v) for v in rng.integers(0, 240, 2))
        mask[y:y + 8, x:x + 8] = 1
        dets.append(detection(crowded, mask, float(rng.uniform(.5, 1))))
    return dets


def _pycocotools_stats(gt_dataset, dets, iou_type='bbox'):
    """NucleiCocoMetric's AP, AP50, AP75, APs (pycocotools, maxDets 10/100/300; the headline
    AP at 300 too)."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(gt_dataset)
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(copy.deepcopy(dets)), iou_type)
        evaluator.params.maxDets = [10, 100, 300]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = dict(zip(('AP', 'AP50', 'AP75', 'APs'), evaluator.stats[:4]))
    return dict(stats, AP=headline_ap(evaluator))


@pytest.fixture(scope='module')
def gt_dataset(fluo_root):
    return json.loads((fluo_root / 'annotations' / 'test.json').read_text())


@pytest.fixture(scope='module')
def gt_file(fluo_root):
    return fluo_root / 'annotations' / 'test.json'


def test_full_test_set_reproduces_pycocotools(gt_file, gt_dataset):
    dets = _detections(gt_dataset, seed=1)
    expected = _pycocotools_stats(gt_dataset, dets)
    ours = coco_stats(match_images(gt_file, dets))
    for metric, value in expected.items():
        assert ours[metric] == pytest.approx(value, abs=1e-12), metric
    # the crowded image makes 100 detections per image (mmdet's "AP") differ from 300
    assert coco_stats(match_images(gt_file, dets, max_dets=100))['AP50'] < ours['AP50']


def test_masks_reproduce_pycocotools_segm(gt_file, gt_dataset):
    dets = _mask_detections(gt_dataset, seed=1)
    expected = _pycocotools_stats(gt_dataset, dets, 'segm')
    ours = coco_stats(match_images(gt_file, dets, iou_type='segm'))
    for metric, value in expected.items():
        assert ours[metric] == pytest.approx(value, abs=1e-12), metric
    assert 0.2 < ours['AP'] < 0.9  # shifted masks: good at IoU 0.5, worse at 0.95
    assert coco_stats(match_images(gt_file, dets, max_dets=100, iou_type='segm'))['AP50'] \
        < ours['AP50']


def test_resample_with_repeats_equals_pycocotools_on_duplicated_images(gt_file, gt_dataset):
    dets = _detections(gt_dataset, seed=2)
    matches = match_images(gt_file, dets)
    image_ids = COCO(str(gt_file)).getImgIds()
    sample = np.random.default_rng(5).integers(0, len(image_ids), len(image_ids))
    assert len(set(sample.tolist())) < len(sample)  # some images repeat
    images = {im['id']: im for im in gt_dataset['images']}
    dup = dict(categories=gt_dataset['categories'], images=[], annotations=[])
    dup_dets = []
    for new_id, index in enumerate(sample, start=1):
        old_id = image_ids[index]
        dup['images'].append(dict(images[old_id], id=new_id))
        dup['annotations'] += [dict(a, image_id=new_id, id=len(dup['annotations']) + k + 1)
                               for k, a in enumerate(a for a in gt_dataset['annotations']
                                                     if a['image_id'] == old_id)]
        dup_dets += [dict(d, image_id=new_id) for d in dets if d['image_id'] == old_id]
    expected = _pycocotools_stats(dup, dup_dets)
    ours = coco_stats(matches, sample)
    for metric, value in expected.items():
        assert ours[metric] == pytest.approx(value, abs=1e-12), metric
    # a subset of the metrics accumulates only their area ranges, to the same values
    assert coco_stats(matches, sample, metrics=('AP75', 'APs')) == \
        {'AP75': ours['AP75'], 'APs': ours['APs']}


def test_paired_bootstrap_separates_a_real_gain_from_none(gt_file, gt_dataset):
    noisy = _detections(gt_dataset, seed=3, jitter=0.25, miss=0.4)
    better = _detections(gt_dataset, seed=3, jitter=0.03, miss=0.05)
    same = paired_bootstrap(gt_file, noisy, noisy, n_boot=200)
    assert same['AP'].gain == 0 and same['AP'].low == 0 and same['AP'].high == 0
    assert same['AP'].p_not_better == 1.0
    gains = paired_bootstrap(gt_file, noisy, better, n_boot=200, seed=7)
    assert set(gains) == {'AP', 'AP50', 'AP75', 'APs'}
    for gain in gains.values():
        assert gain.low <= gain.gain <= gain.high
        assert gain.excludes_zero() and gain.gain > 0
    again = paired_bootstrap(gt_file, noisy, better, n_boot=200, seed=7)
    assert vars(again['AP']) == vars(gains['AP'])


def test_bad_predictions_are_named(gt_file, gt_dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.bbox.json'):
        match_images(gt_file, tmp_path / 'nope.bbox.json')
    corrupt = tmp_path / 'corrupt.bbox.json'
    corrupt.write_text('[{"image_id": 1,')
    with pytest.raises(ValueError, match='corrupt.bbox.json'):
        match_images(gt_file, corrupt)
    with pytest.raises(ValueError, match='not in the ground truth'):
        match_images(gt_file, [dict(image_id=987654, category_id=1, bbox=[0, 0, 5, 5],
                                    score=0.5)])
    empty = coco_stats(match_images(gt_file, []))
    assert empty['AP'] == 0 and empty['AP50'] == 0


def test_benchmark_rows_are_cached_beside_the_predictions(gt_file, gt_dataset, tmp_path,
                                                          monkeypatch):
    results = []
    for setting, jitter in (('original', 0.25), ('iaaa', 0.05)):
        pred = tmp_path / setting / 'test' / 'predictions.bbox.json'
        pred.parent.mkdir(parents=True)
        pred.write_text(json.dumps(_detections(gt_dataset, seed=4, jitter=jitter)))
        results.append(dict(group='det', setting=setting, seed=0, test_ann_file=str(gt_file),
                            predictions=str(pred.relative_to(tmp_path))))
    results.append(dict(group='det', setting='saaa', seed=0))  # ran before predictions
    rows = run_bootstrap_gains(results, 'original', tmp_path, n_boot=100)
    assert {(r['setting'], r['metric']) for r in rows} == {
        ('iaaa', m) for m in ('AP', 'AP50', 'AP75', 'APs')}
    cache = tmp_path / 'iaaa' / 'test' / 'bootstrap_vs_original.json'
    cache.write_text('{"inputs": ')  # damaged: recomputed, same rows
    assert run_bootstrap_gains(results, 'original', tmp_path, n_boot=100) == rows
    assert json.loads(cache.read_text())['gains']['AP']['gain'] > 0

    def fail(*args, **kwargs):
        raise AssertionError('the cached pair was recomputed')

    monkeypatch.setattr(bootstrap, 'paired_bootstrap', fail)
    assert run_bootstrap_gains(results, 'original', tmp_path, n_boot=100) == rows
    text = '\n'.join(bootstrap_markdown(rows, ['original', 'iaaa', 'saaa'], 'original'))
    ap = next(r for r in rows if r['metric'] == 'AP')
    assert f'| `det` | 0 | {ap["gain"]:+.2f} [{ap["low"]:+.2f}, {ap["high"]:+.2f}]*' in text
    assert 'saaa' not in text  # no predictions: no column


def test_mask_rows_beside_box_rows_when_runs_kept_masks(gt_file, gt_dataset, tmp_path):
    results = []
    for setting, jitter, miss in (('original', 0.25, 0.4), ('iaaa', 0.05, 0.05)):
        test_dir = tmp_path / setting / 'test'
        test_dir.mkdir(parents=True)
        (test_dir / 'predictions.bbox.json').write_text(
            json.dumps(_detections(gt_dataset, seed=4, jitter=jitter)))
        (test_dir / 'predictions.segm.json').write_text(
            json.dumps(_mask_detections(gt_dataset, seed=4, miss=miss)))
        results.append(dict(group='det', setting=setting, seed=0, test_ann_file=str(gt_file),
                            predictions=f'{setting}/test/predictions.bbox.json',
                            segm_predictions=f'{setting}/test/predictions.segm.json'))
    rows = run_bootstrap_gains(results, 'original', tmp_path, n_boot=50)
    assert [r['metric'] for r in rows] == ['AP', 'AP50', 'AP75', 'APs', 'segm_AP',
                                           'segm_AP50', 'segm_AP75', 'segm_APs']
    segm = {r['metric']: r for r in rows if r['metric'].startswith('segm_')}
    alone = paired_bootstrap(gt_file, tmp_path / 'original/test/predictions.segm.json',
                             tmp_path / 'iaaa/test/predictions.segm.json', n_boot=50,
                             iou_type='segm')
    assert segm['segm_AP']['gain'] == pytest.approx(alone['AP'].gain) and alone['AP'].gain > 0
    assert (tmp_path / 'iaaa/test/bootstrap_segm_vs_original.json').is_file()
    pooled = run_pooled_gains(results, 'original', tmp_path, n_boot=20)
    assert [r['metric'] for r in pooled] == ['AP', 'AP50', 'AP75', 'segm_AP', 'segm_AP50',
                                             'segm_AP75']
    assert (tmp_path / 'iaaa/test/pooled_bootstrap_segm_vs_original.json').is_file()
    text = '\n'.join(bootstrap_markdown(rows + pooled, ['original', 'iaaa'], 'original'))
    assert 'segm_AP:' in text and 'segm_AP75:' in text and 'mask IoU' in text


def test_pooled_bootstrap_pools_seeds_and_finds_a_real_gain(gt_file, gt_dataset):
    pairs = [(_detections(gt_dataset, seed=s, jitter=0.25, miss=0.4),
              _detections(gt_dataset, seed=s, jitter=0.03, miss=0.05)) for s in (1, 2, 3)]
    pooled = pooled_bootstrap(gt_file, pairs, n_boot=200, seed=5)
    assert set(pooled) == {'AP', 'AP50', 'AP75'}
    per_seed = [paired_bootstrap(gt_file, a, b, n_boot=10) for a, b in pairs]
    for metric, gain in pooled.items():
        assert gain.gain == pytest.approx(np.mean([g[metric].gain for g in per_seed]))
        assert gain.low <= gain.gain <= gain.high and gain.low > 0
    again = pooled_bootstrap(gt_file, pairs, n_boot=200, seed=5)
    assert vars(again['AP']) == vars(pooled['AP'])
    same = pooled_bootstrap(gt_file, [(pairs[0][0], pairs[0][0])] * 2, n_boot=50)
    assert (same['AP'].gain, same['AP'].low, same['AP'].high) == (0, 0, 0)


def test_pooled_rows_cover_common_seeds_and_are_cached(gt_file, gt_dataset, tmp_path,
                                                       monkeypatch):
    results = []
    for setting, jitter, seeds in (('original', 0.25, (0, 1, 2)), ('iaaa', 0.05, (0, 1))):
        for seed in seeds:
            pred = tmp_path / setting / f'seed{seed}' / 'test' / 'predictions.bbox.json'
            pred.parent.mkdir(parents=True)
            pred.write_text(json.dumps(_detections(gt_dataset, seed=seed, jitter=jitter)))
            results.append(dict(group='det', setting=setting, seed=seed,
                                test_ann_file=str(gt_file),
                                predictions=str(pred.relative_to(tmp_path))))
    rows = run_pooled_gains(results, 'original', tmp_path, n_boot=50)
    assert [(r['setting'], r['seed'], r['n_seeds'], r['metric']) for r in rows] == [
        ('iaaa', 'pooled', 2, m) for m in ('AP', 'AP50', 'AP75')]
    assert (tmp_path / 'iaaa/seed0/test/pooled_bootstrap_vs_original.json').is_file()

    def fail(*args, **kwargs):
        raise AssertionError('the cached pooled gains were recomputed')

    monkeypatch.setattr(bootstrap, 'pooled_bootstrap', fail)
    assert run_pooled_gains(results, 'original', tmp_path, n_boot=50) == rows
    text = '\n'.join(bootstrap_markdown(rows, ['original', 'iaaa'], 'original'))
    assert '| `det` | pooled |' in text and '(n=2)' in text and 'BCa' in text
