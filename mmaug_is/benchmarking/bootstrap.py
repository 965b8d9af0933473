"""Paired bootstrap over test images: is a detector's AP gain larger than test-set noise?

A benchmark's test split is small (22 images on dsb2018), so the AP of one checkpoint
depends on which images happen to be in it. Resampling the test images with replacement
and scoring both detectors on the *same* resample gives the spread of their AP difference
(Efron & Tibshirani's paired bootstrap). It complements training seeds: seeds measure
training noise, the bootstrap measures test-set sampling noise; neither covers the other.

COCO matching (``COCOeval.evaluate``, for the two area ranges the tables use) is done once
per detector; each resample only re-accumulates the per-image matches, vectorised, exactly
as ``COCOeval.accumulate`` and ``summarize`` do (101 recall points, precision envelope),
for the area ranges its metrics need. Like our ``NucleiCocoMetric``,
every AP (AP, AP50, AP75, APs) is read at the last of ``maxDets`` (300 here); the
identity resample reproduces its numbers. (mmdet's stock ``CocoMetric`` reads the headline
AP at 100; runs recorded with it differ by 0.1-0.4 AP on our dev sets.) Boxes and masks
alike: ``iou_type='segm'`` matches mask predictions (mmdet's ``*.segm.json``) by mask IoU;
benchmark rows of masks are named ``segm_AP``, ``segm_AP50``, ...
"""
import contextlib
import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .runs import read_json, write_json

__all__ = ['BootstrapGain', 'ImageMatches', 'coco_stats', 'match_images', 'paired_bootstrap',
           'pooled_bootstrap', 'run_bootstrap_gains', 'run_pooled_gains']

# table metric -> (IoU threshold index or None for 0.50:0.95, area range)
_METRIC_SLICES = {'AP': (None, 'all'), 'AP50': (0, 'all'), 'AP75': (5, 'all'),
                  'APs': (None, 'small')}
_AREAS = ('all', 'small')


@dataclass
class ImageMatches:
    """One detector's COCO matches per test image, for one area range.

    ``scores[i]`` (D_i,) detection scores (descending), ``matched[i]`` (T, D_i) bool,
    ``ignored[i]`` (T, D_i) bool, ``n_gt[i]`` non-ignored ground-truth boxes of image i.
    T = 10 IoU thresholds 0.50:0.05:0.95.
    """
    scores: list
    matched: list
    ignored: list
    n_gt: np.ndarray


def _load_gt(gt):
    if isinstance(gt, COCO):
        return gt
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(gt))


def _load_predictions(preds):
    """The COCO detection list of ``preds`` (a list, copied: pycocotools' ``loadRes`` edits
    the detections it gets; or a json path)."""
    if isinstance(preds, list):
        return copy.deepcopy(preds)
    if isinstance(preds, (str, Path)):
        path = Path(preds)
        if not path.is_file():
            raise FileNotFoundError(f'prediction file not found: {path}')
        try:
            preds = json.loads(path.read_text(encoding='utf-8'))
        except json.JSONDecodeError as err:
            raise ValueError(f'corrupt prediction file {path}: {err}') from None
    if not isinstance(preds, list):
        raise ValueError('predictions must be a list of COCO detections '
                         '(image_id, category_id, bbox or segmentation, score)')
    return preds


def match_images(gt, preds, image_ids=None, max_dets=300, iou_type='bbox'):
    """Match one detector's boxes (or masks) to the ground truth, per image.

    Args:
        gt: COCO annotation file path or ``pycocotools.coco.COCO``.
        preds: COCO detection list, or a path to its json (mmdet's ``*.bbox.json`` /
            ``*.segm.json``).
        image_ids: the test images (default: every image of ``gt``).
        max_dets: detections kept per image (mmdet's CocoMetric: the last proposal_num).
        iou_type: ``'bbox'`` or ``'segm'`` (pycocotools' ``COCOeval`` iouType).
    Returns ``{area: ImageMatches}`` for the areas 'all' and 'small', images in
    ``image_ids`` order.
    """
    gt = _load_gt(gt)
    preds = _load_predictions(preds)
    image_ids = list(gt.getImgIds() if image_ids is None else image_ids)
    if len(gt.getCatIds()) > 1:
        raise ValueError(f'the paired bootstrap supports single-class ground truth; got '
                         f'{len(gt.getCatIds())} categories')
    unknown = {p.get('image_id') for p in preds} - set(gt.getImgIds())
    if unknown:
        raise ValueError(f'predictions name {len(unknown)} image id(s) not in the ground '
                         f'truth, e.g. {sorted(unknown, key=str)[:3]}')
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(preds) if preds else COCO()
        if not preds:  # loadRes cannot take an empty list: an empty result set
            dt.dataset = {'images': gt.dataset['images'], 'categories':
                          gt.dataset.get('categories', []), 'annotations': []}
            dt.createIndex()
        evaluator = COCOeval(gt, dt, iou_type)
        params = evaluator.params
        params.imgIds = image_ids
        params.maxDets = [max_dets]  # evaluate() keeps maxDets[-1] per image
        # only the area ranges of the tables (COCOeval's default also has medium, large)
        params.areaRng = [params.areaRng[params.areaRngLbl.index(a)] for a in _AREAS]
        params.areaRngLbl = list(_AREAS)
        evaluator.evaluate()
    n_img = len(params.imgIds)
    n_thr = len(params.iouThrs)
    out = {}
    for a, area in enumerate(_AREAS):
        scores, matched, ignored, n_gt = [], [], [], np.zeros(n_img, dtype=np.int64)
        for i in range(n_img):
            # evalImgs holds one record per (category, area, image), images fastest
            record = evaluator.evalImgs[a * n_img + i]
            if record is None:
                scores.append(np.zeros(0))
                matched.append(np.zeros((n_thr, 0), dtype=bool))
                ignored.append(np.zeros((n_thr, 0), dtype=bool))
                continue
            scores.append(np.asarray(record['dtScores'][:max_dets], dtype=np.float64))
            matched.append(np.asarray(record['dtMatches'][:, :max_dets]) > 0)
            ignored.append(np.asarray(record['dtIgnore'][:, :max_dets]).astype(bool))
            n_gt[i] = int(np.count_nonzero(np.asarray(record['gtIgnore']) == 0))
        out[area] = ImageMatches(scores, matched, ignored, n_gt)
    return out


def _precision_grid(matches, sample, keep, rec_thrs):
    """(T, R) interpolated precision of the images in ``sample`` (indices, repeats allowed)
    with the ``keep`` best detections per image; ``None`` when the sample holds no
    non-ignored ground truth (COCO: -1)."""
    n_gt = int(matches.n_gt[sample].sum())
    if n_gt == 0:
        return None
    scores = np.concatenate([matches.scores[i][:keep] for i in sample])
    order = np.argsort(-scores, kind='mergesort')
    matched = np.concatenate([matches.matched[i][:, :keep] for i in sample], axis=1)[:, order]
    ignored = np.concatenate([matches.ignored[i][:, :keep] for i in sample], axis=1)[:, order]
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=np.float64)
    fp = np.cumsum(~matched & ~ignored, axis=1, dtype=np.float64)
    n_det = tp.shape[1]
    if n_det == 0:
        return np.zeros((tp.shape[0], len(rec_thrs)))
    recall = tp / n_gt
    precision = tp / (tp + fp + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    grid = np.zeros((tp.shape[0], len(rec_thrs)))
    for t in range(tp.shape[0]):
        idx = np.searchsorted(recall[t], rec_thrs, side='left')
        inside = idx < n_det
        grid[t, inside] = envelope[t, idx[inside]]
    return grid


_REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)


def coco_stats(matches, sample=None, max_dets=300, metrics=tuple(_METRIC_SLICES)):
    """``metrics`` (default AP, AP50, AP75, APs; fractions, -1 = no ground truth of that
    size) of the images ``sample`` (indices into the matched images, repeats allowed;
    default all), read as ``NucleiCocoMetric`` reads them (at ``max_dets`` detections per
    image). Only the area ranges of ``metrics`` are accumulated."""
    sample = np.arange(len(matches['all'].n_gt)) if sample is None else np.asarray(sample)
    grids = {}
    stats = {}
    for metric in metrics:
        thr, area = _METRIC_SLICES[metric]
        if area not in grids:
            grids[area] = _precision_grid(matches[area], sample, max_dets, _REC_THRS)
        grid = grids[area]
        if grid is None:
            stats[metric] = -1.0
            continue
        stats[metric] = float(np.mean(grid if thr is None else grid[thr]))
    return stats


@dataclass
class BootstrapGain:
    """Gain of detector B over A on one test set (AP points), with its bootstrap spread.

    ``gain`` on the full test set; ``low``/``high`` the percentile interval at ``level``;
    ``p_not_better`` the fraction of resamples where B does not beat A.
    """
    metric: str
    a: float
    b: float
    gain: float
    low: float
    high: float
    p_not_better: float
    n_boot: int
    level: float

    def excludes_zero(self):
        return self.low > 0 or self.high < 0


def paired_bootstrap(gt, preds_a, preds_b, n_boot=2000, seed=0, level=0.95, max_dets=300,
                     iou_type='bbox'):
    """Paired bootstrap of B - A over the test images of ``gt``.

    Args:
        gt: COCO ground-truth file (or ``COCO``); preds_a / preds_b: the two detectors'
            COCO detections (lists or json paths); n_boot: resamples; seed: their RNG
            seed; level: interval coverage; max_dets: detections per image; iou_type:
            ``'bbox'`` or ``'segm'`` (``match_images``).
    Returns ``{metric: BootstrapGain}`` for AP, AP50, AP75, APs in AP points (x 100);
    APs is omitted when the test set has no small objects.
    """
    gt = _load_gt(gt)
    image_ids = sorted(gt.getImgIds())
    if not image_ids:
        raise ValueError('the ground truth has no images')
    match_a = match_images(gt, preds_a, image_ids, max_dets, iou_type)
    match_b = match_images(gt, preds_b, image_ids, max_dets, iou_type)
    full_a, full_b = coco_stats(match_a, None, max_dets), coco_stats(match_b, None, max_dets)
    rng = np.random.default_rng(seed)
    diffs = {m: [] for m in _METRIC_SLICES}
    for _ in range(n_boot):
        sample = rng.integers(0, len(image_ids), len(image_ids))
        stat_a = coco_stats(match_a, sample, max_dets)
        stat_b = coco_stats(match_b, sample, max_dets)
        for metric in _METRIC_SLICES:
            if stat_a[metric] >= 0 and stat_b[metric] >= 0:
                diffs[metric].append(100.0 * (stat_b[metric] - stat_a[metric]))
    tail = 100.0 * (1.0 - level) / 2.0
    gains = {}
    for metric, values in diffs.items():
        if full_a[metric] < 0 or not values:
            continue
        values = np.asarray(values)
        low, high = np.percentile(values, [tail, 100.0 - tail])
        gains[metric] = BootstrapGain(
            metric, 100.0 * full_a[metric], 100.0 * full_b[metric],
            100.0 * (full_b[metric] - full_a[metric]), float(low), float(high),
            float(np.mean(values <= 0)), len(values), level)
    return gains


_POOLED_METRICS = ('AP', 'AP50', 'AP75')  # APs may be undefined on an image resample


def pooled_bootstrap(gt, pairs, n_boot=1000, seed=0, level=0.95, max_dets=300,
                     iou_type='bbox'):
    """Paired bootstrap of B - A pooled over training seeds, BCa interval.

    The gain is the mean over seeds of (B - A) on the full test set. Each resample draws
    the test images and the seeds with replacement (two independent samples); its gain is
    the mean over the drawn seeds of (B - A) on the drawn images, so the interval covers
    test-set and training noise together. Interval: ``scipy.stats.bootstrap``, BCa
    (percentile if BCa is undefined, e.g. every resample equal).

    Args:
        gt: COCO ground truth (path or ``COCO``); pairs: ``[(preds_a, preds_b)]``, one pair
            per training seed; n_boot, seed, level, max_dets, iou_type: as
            ``paired_bootstrap``.
    Returns ``{metric: BootstrapGain}`` for AP, AP50, AP75 (AP points).
    """
    from scipy.stats import bootstrap
    if not pairs:
        raise ValueError('pooled_bootstrap needs at least one (preds_a, preds_b) pair')
    gt = _load_gt(gt)
    image_ids = sorted(gt.getImgIds())
    matches = [tuple(match_images(gt, preds, image_ids, max_dets, iou_type)
                     for preds in pair) for pair in pairs]

    def mean_stats(images, seeds, which):
        stats = [coco_stats(matches[s][which], images, max_dets, _POOLED_METRICS)
                 for s in seeds]
        return np.array([np.mean([st[m] for st in stats]) for m in _POOLED_METRICS]) * 100.0

    all_images, all_seeds = np.arange(len(image_ids)), np.arange(len(pairs))

    def gain(images, seeds=all_seeds):
        per_seed = {s: mean_stats(images, [s], 1) - mean_stats(images, [s], 0)
                    for s in np.unique(seeds)}
        return np.mean([per_seed[s] for s in seeds], axis=0)

    data = (all_images, all_seeds) if len(pairs) > 1 else (all_images, )
    result = None
    for method in ('BCa', 'percentile'):
        result = bootstrap(data, gain, n_resamples=n_boot, vectorized=False, paired=False,
                           confidence_level=level, method=method, rng=seed)
        if np.all(np.isfinite(result.confidence_interval.low)):
            break
    full_a = mean_stats(all_images, all_seeds, 0)
    full_b = mean_stats(all_images, all_seeds, 1)
    distribution = np.atleast_2d(result.bootstrap_distribution)
    return {metric: BootstrapGain(
        metric, float(full_a[k]), float(full_b[k]), float(full_b[k] - full_a[k]),
        float(result.confidence_interval.low[k]), float(result.confidence_interval.high[k]),
        float(np.mean(distribution[k] <= 0)), n_boot, level)
        for k, metric in enumerate(_POOLED_METRICS)}


# --------------------------------------------------- benchmark runs: paired per seed

def _file_signature(path):
    stat = Path(path).stat()
    return [str(path), stat.st_size, stat.st_mtime_ns]


def _cached_gains(cache, inputs, compute):
    """``{metric: BootstrapGain as dict}`` stored in ``cache`` for ``inputs``, or
    ``compute()``'s (``{metric: BootstrapGain}``), stored there; a damaged cache is
    recomputed."""
    try:
        stored = read_json(cache) or {}
    except ValueError:
        stored = {}
    if stored.get('inputs') == inputs:
        return stored['gains']
    gains = {m: vars(g) for m, g in compute().items()}
    write_json(cache, dict(inputs=inputs, gains=gains))
    return gains


# COCOeval iouType -> (result key of its test predictions, prefix of its metric names and
# cache files): box rows are AP, AP50, ...; mask rows segm_AP, segm_AP50, ...
_IOU_TYPES = {'bbox': ('predictions', ''), 'segm': ('segm_predictions', 'segm_')}


def _usable(results, root, key):
    """The result dicts whose ``key`` predictions file and test annotation file are
    recorded, the predictions still on disk."""
    return [r for r in results if r.get(key) and r.get('test_ann_file')
            and (root / r[key]).is_file()]


def _pair_gains(base, other, root, n_boot, iou_type):
    """Cached ``paired_bootstrap`` of two result dicts (same group and seed) -> {metric:
    BootstrapGain as dict}; the cache sits beside ``other``'s predictions."""
    key, prefix = _IOU_TYPES[iou_type]
    pred_a, pred_b = (root / r[key] for r in (base, other))
    gt = root / other['test_ann_file']
    inputs = dict(gt=_file_signature(gt), a=_file_signature(pred_a), b=_file_signature(pred_b),
                  n_boot=n_boot, seed=0, ap_at='max_dets')
    return _cached_gains(pred_b.with_name(f'bootstrap_{prefix}vs_{base["setting"]}.json'),
                         inputs, lambda: paired_bootstrap(gt, pred_a, pred_b, n_boot,
                                                          iou_type=iou_type))


def _pooled_pair_gains(bases, others, root, n_boot, iou_type):
    """Cached ``pooled_bootstrap`` of one setting against the baseline over their common
    seeds (result dicts in seed order) -> {metric: BootstrapGain as dict}; the cache sits
    beside the setting's first-seed predictions."""
    key, prefix = _IOU_TYPES[iou_type]
    gt = root / others[0]['test_ann_file']
    preds = [(root / a[key], root / b[key]) for a, b in zip(bases, others)]
    inputs = dict(gt=_file_signature(gt), pairs=[[_file_signature(a), _file_signature(b)]
                                                 for a, b in preds],
                  n_boot=n_boot, seed=0, method='BCa')
    cache = preds[0][1].with_name(f'pooled_bootstrap_{prefix}vs_{bases[0]["setting"]}.json')
    return _cached_gains(cache, inputs,
                         lambda: pooled_bootstrap(gt, preds, n_boot, iou_type=iou_type))


def run_pooled_gains(results, baseline, root, n_boot=1000):
    """``pooled_bootstrap`` of every setting against ``baseline`` in each group, over the
    seeds both have finished with test predictions; boxes, then masks where both kept
    mask predictions.

    Returns rows like ``run_bootstrap_gains``'s with ``seed='pooled'`` and ``n_seeds``.
    """
    root = Path(root)
    rows = []
    for iou_type, (key, prefix) in _IOU_TYPES.items():
        by_key = {(r['group'], r['setting'], r['seed']): r for r in _usable(results, root, key)}
        for group, setting in dict.fromkeys((g, s) for g, s, _ in by_key):
            if setting == baseline:
                continue
            seeds = sorted(seed for g, s, seed in by_key if (g, s) == (group, setting)
                           and (group, baseline, seed) in by_key)
            if not seeds:
                continue
            gains = _pooled_pair_gains([by_key[(group, baseline, k)] for k in seeds],
                                       [by_key[(group, setting, k)] for k in seeds], root,
                                       n_boot, iou_type)
            rows += [{'group': group, 'setting': setting, 'seed': 'pooled',
                      'n_seeds': len(seeds), **gain, 'metric': prefix + gain['metric']}
                     for gain in gains.values()]
    return rows


def run_bootstrap_gains(results, baseline, root, n_boot=1000):
    """Paired bootstrap of every finished run against the ``baseline`` run of the same
    group and seed, where both kept their test predictions: boxes, then masks where both
    kept mask predictions (``segm_predictions``; metrics ``segm_AP``, ...).

    Args: results (result dicts with ``predictions`` / ``segm_predictions`` /
    ``test_ann_file`` relative to ``root``), baseline setting name, repository root,
    resamples per pair.
    Returns rows ``{group, setting, seed, metric, a, b, gain, low, high, p_not_better,
    n_boot, level}`` (AP points), in results order per kind.
    """
    root = Path(root)
    rows = []
    for iou_type, (key, prefix) in _IOU_TYPES.items():
        usable = _usable(results, root, key)
        bases = {(r['group'], r['seed']): r for r in usable if r['setting'] == baseline}
        for result in usable:
            base = bases.get((result['group'], result['seed']))
            if result['setting'] == baseline or base is None:
                continue
            rows += [{'group': result['group'], 'setting': result['setting'],
                      'seed': result['seed'], **gain, 'metric': prefix + gain['metric']}
                     for gain in _pair_gains(base, result, root, n_boot, iou_type).values()]
    return rows
