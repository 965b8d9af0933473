"""Box bias of trained detectors: are their boxes larger or smaller than the cells?

For every finished run of a ``tools/benchmark.py`` benchmark (its test detections,
``<run>/test/predictions.bbox.json``), the detections are matched to the test ground truth
as COCO does at IoU 0.5 (``COCOeval``, greedy by score, up to 300 detections per image)
and each matched pair gives the growth of the detected box over the ground-truth box per
edge (px, + = the detector's box is larger; the mean of the four edges' outward shifts)
and its IoU. Per setting, over its seeds: the mean growth per edge, the mean |growth| per
edge, the mean IoU of the matches and their share with IoU >= 0.75 (what AP75 counts).
A training set whose boxes are larger than its visible cells (a soft paste, cells that
fade inside their masks) teaches a positive growth.

Usage: python benchmarks/bench_box_bias.py --runs work_dirs/benchmark/fluo_fast \\
    --ann-file ../shared/data/dsb2018_fluo/annotations/test.json \\
    --out benchmarks/results/bench_box_bias_fluo_fast.md
"""
import argparse
import contextlib
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmaug_is.core.io import atomic_open

MAX_DETS = 300
IOU_GOOD = 0.75


def xyxy(box):
    """COCO ``[x, y, w, h]`` -> ``(4,)`` float xyxy."""
    x, y, w, h = box
    return np.array([x, y, x + w, y + h], float)


def box_iou(a, b):
    """IoU of two xyxy boxes."""
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    return float(inter / (np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter))


def matched_growth(gt, predictions):
    """``(growth (n,), iou (n,))`` of the detections COCO matches at IoU 0.5: per matched
    pair, the mean outward shift (px) of the detected box's edges over the ground truth's
    and the pair's IoU. ``gt``: ``COCO``; ``predictions``: list of COCO detections."""
    if not predictions:
        return np.zeros(0), np.zeros(0)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(gt, gt.loadRes(predictions), 'bbox')
        evaluation.params.iouThrs = np.array([0.5])
        evaluation.params.maxDets = [MAX_DETS]
        evaluation.params.areaRng = evaluation.params.areaRng[:1]
        evaluation.params.areaRngLbl = ['all']
        evaluation.evaluate()
    detections = evaluation.cocoDt.anns
    growth, ious = [], []
    for entry in evaluation.evalImgs:
        if entry is None:
            continue
        for det_id, gt_id in zip(entry['dtIds'], entry['dtMatches'][0]):
            if gt_id <= 0:
                continue
            det, truth = xyxy(detections[det_id]['bbox']), xyxy(gt.anns[int(gt_id)]['bbox'])
            growth.append(((truth[:2] - det[:2]).sum() + (det[2:] - truth[2:]).sum()) / 4)
            ious.append(box_iou(det, truth))
    return np.array(growth), np.array(ious)


def finished_runs(root):
    """``{setting: [(seed, predictions path)]}`` of ``root``'s runs with test detections."""
    runs = defaultdict(list)
    for run_file in sorted(Path(root).glob('*/*/seed*/run.json')):
        predictions = run_file.parent / 'test' / 'predictions.bbox.json'
        if predictions.is_file():
            run = json.loads(run_file.read_text())
            runs[run['setting']].append((int(run['seed']), predictions))
    return runs


def setting_row(gt, seeds_and_files):
    """Markdown row cells of one setting: seeds, mean growth, mean |growth|, mean IoU,
    share IoU >= 0.75 (means over the seeds' per-run means)."""
    per_run = []
    for _, path in seeds_and_files:
        growth, ious = matched_growth(gt, json.loads(path.read_text()))
        per_run.append((growth.mean(), np.abs(growth).mean(), ious.mean(),
                        np.mean(ious >= IOU_GOOD), len(growth)))
    values = np.array(per_run)
    seeds = ' '.join(str(seed) for seed, _ in seeds_and_files)
    growths = ' / '.join(f'{g:+.2f}' for g in values[:, 0])
    return (f'{seeds} | {values[:, 0].mean():+.2f} ({growths}) | {values[:, 1].mean():.2f} | '
            f'{values[:, 2].mean():.3f} | {values[:, 3].mean():.1%} | {values[:, 4].mean():.0f}')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', required=True,
                        help='a benchmark folder: work_dirs/benchmark/<--name>')
    parser.add_argument('--ann-file', required=True, help='the test split COCO json')
    parser.add_argument('--out', required=True, help='Markdown results file')
    return parser.parse_args()


def main():
    args = parse_args()
    runs = finished_runs(args.runs)
    if not runs:
        sys.exit(f'error: no finished run with test detections under {args.runs}')
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(args.ann_file)
    lines = ['| setting | seeds | box growth per edge, px: mean (per seed) | mean abs, px | '
             'mean IoU | share IoU >= 0.75 | matches per run |',
             '|---|---|---|---|---|---|---|']
    for setting in sorted(runs):
        lines.append(f'| {setting} | {setting_row(gt, sorted(runs[setting]))} |')
        print(lines[-1], flush=True)
    command = ' '.join(['python benchmarks/bench_box_bias.py', *sys.argv[1:]])
    text = '\n'.join([f'# bench_box_bias: {Path(args.runs).name}\n', f'Command: `{command}`\n',
                      __doc__.split('\n\n', 1)[1].rsplit('\n\nUsage', 1)[0] + '\n',
                      *lines, ''])
    with atomic_open(args.out, 'w', encoding='utf-8') as handle:
        handle.write(text)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
