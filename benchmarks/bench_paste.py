"""Cost per sample of IAAAPaste (and SAAAPaste) beside no paste and mmdet's CopyPaste.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/bench_paste.py [--n-images 150] [--sizes 256 1024]
        [--saaa] [--out FILE]

Every variant runs on dsb2018_fluo train images through mmdet's MultiImageMixDataset (which
CopyPaste needs for its second image): load image + masks -> resize to SIZE x SIZE (the
256 px images as they are, or x4 for 1024) -> paste -> PackDetInputs. IAAAPaste runs with
its class defaults (the recommended settings: up to 25 cells, style-matched, inside edge,
no policies) and pastes its cells at the current scale. Reported per size: milliseconds
per sample, pasted instances per image, and each paste's cost over no paste (the bar:
<= 1.5x) and over CopyPaste. ``--saaa`` adds SAAAPaste (new cells of the shipped SAAA
models, as configs/_base_/synthetic/saaa.py; its mask bank is built first, minutes, in
--saaa-bank-dir). The real-data assets are built first and not timed (cached on disk in use).
"""
import argparse
import platform
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / 'shared' / 'data' / 'dsb2018_fluo'


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--n-images', type=int, default=150, help='samples per variant')
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 1024],
                        help='image sides (px) the images are resized to before the paste')
    parser.add_argument('--saaa', action='store_true', help='also time SAAAPaste')
    parser.add_argument('--cache-root', default='/tmp/mmaug_bench_paste')
    parser.add_argument('--saaa-bank-dir',
                        default=str(REPO / 'work_dirs/mmaug_cache/saaa_mask_banks'),
                        help='SAAAPaste mask bank folder (built there on first use)')
    parser.add_argument('--out', default=str(REPO / 'benchmarks/results/bench_paste.md'))
    args = parser.parse_args()
    if args.n_images < 1 or min(args.sizes) < 16:
        parser.error(f'--n-images must be >= 1 and --sizes >= 16, got {args.n_images} and '
                     f'{args.sizes}')
    return args


def build_dataset(paste_cfg, size):
    from mmdet.registry import DATASETS
    load = [dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='Resize', scale=(size, size), keep_ratio=True)]
    inner = dict(type='CocoDataset', data_root=str(DATA) + '/',
                 ann_file='annotations/train.json', data_prefix=dict(img='images/'),
                 metainfo=dict(classes=('nucleus', )), pipeline=load,
                 filter_cfg=dict(filter_empty_gt=True))
    pipeline = ([paste_cfg] if paste_cfg else []) + [dict(type='PackDetInputs')]
    return DATASETS.build(dict(type='MultiImageMixDataset', dataset=inner, pipeline=pipeline))


def measure(dataset, n_images):
    """Return (ms per sample, mean instances per image) over ``n_images`` samples."""
    np.random.seed(0)
    dataset[0]  # warm-up (lazy init)
    counts = []
    start = time.perf_counter()
    for i in range(n_images):
        item = dataset[i % len(dataset)]
        counts.append(len(item['data_samples'].gt_instances))
    return 1000 * (time.perf_counter() - start) / n_images, float(np.mean(counts))


def variants(args):
    """``(name, transform config or None)`` of every pipeline timed."""
    from mmengine.config import Config
    source = dict(ann_file=str(DATA / 'annotations/train.json'), img_dir=str(DATA / 'images'))
    listed = [('no paste', None),
              ('CopyPaste (mmdet)', dict(type='CopyPaste', max_num_pasted=100)),
              ('IAAAPaste (defaults)', dict(type='IAAAPaste', source=source,
                                            cache_root=args.cache_root))]
    if args.saaa:
        saaa_paste = Config.fromfile(str(REPO / 'configs/_base_/synthetic/saaa.py')).saaa_paste
        listed.append(('SAAAPaste', dict(saaa_paste, source=source, cache_root=args.cache_root,
                                         mask_bank_dir=args.saaa_bank_dir)))
    return listed


def main():
    args = parse_args()
    import cv2
    import torch
    from mmdet.utils import register_all_modules

    import mmaug_is  # noqa: F401
    register_all_modules()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rows = []  # (size, name, ms, instances, over no paste, over CopyPaste)
    for size in args.sizes:
        timed = {}
        for name, cfg in variants(args):
            timed[name] = measure(build_dataset(cfg, size), args.n_images)
        base, copy_paste = timed['no paste'][0], timed['CopyPaste (mmdet)'][0]
        for name, (ms, cells) in timed.items():
            rows.append((size, name, ms, cells, ms / base, ms / copy_paste))
            print(f'{size:5d} px  {name:22s} {ms:7.1f} ms/sample  {cells:6.1f} instances  '
                  f'x{ms / base:.2f} of no paste')
    saaa = ' --saaa' if args.saaa else ''
    lines = [
        '# bench_paste: the cost of pasting cells in the training pipeline', '',
        f'Command: `OMP_NUM_THREADS=1 python benchmarks/bench_paste.py --n-images '
        f'{args.n_images} --sizes {" ".join(map(str, args.sizes))}{saaa}`  ',
        f'Data: dsb2018_fluo train, {args.n_images} samples per variant, images resized to '
        f'the size before the paste; one thread; {platform.machine()}, Python '
        f'{platform.python_version()}; the 2 cores may be shared with other jobs, so absolute '
        'times are noisy; the variants run back to back.', '',
        '| size | pipeline | ms/sample | instances/image | x no paste | x CopyPaste |',
        '|---:|---|---:|---:|---:|---:|',
        *[f'| {size} | {n} | {ms:.1f} | {c:.1f} | {r:.2f} | {rc:.2f} |'
          for size, n, ms, c, r, rc in rows], '',
        'The bar (issue 33): IAAAPaste with its defaults at most 1.5x the no-paste pipeline. '
        'CopyPaste pastes a random subset of a second image\'s cells hard (no blending; real '
        'cells under them are occluded and their masks cut); IAAAPaste pastes 1-25 real cells '
        'of the 5 source images of most similar background at corner-matched free positions '
        '(never over an annotated cell\'s mask or box), alpha 1 inside the mask, at the '
        'image\'s current scale.',
    ]
    Path(args.out).write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
