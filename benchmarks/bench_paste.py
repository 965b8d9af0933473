"""Throughput of the IAAAPaste and SAAAPaste transforms beside mmdet's CopyPaste.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/bench_paste.py [--n-images 200] [--out FILE]

Both run on dsb2018_fluo train images through mmdet's MultiImageMixDataset (which
CopyPaste needs for its second image): load image + masks -> paste -> PackDetInputs.
Reported: images/s and pasted cells per image for no paste, CopyPaste (hard paste of the
other image's cells), IAAAPaste (policy-augmented, corner-matched, feathered, no
overlap) and SAAAPaste (new cells of the shipped SAAA models: mask bank draws painted by
Pix2Pix, as configs/_base_/synthetic/saaa.py), and each paste's speed over CopyPaste's. The
real-data assets and the SAAA mask bank are built first and not timed (they are cached on
disk in use; the bank in --saaa-bank-dir, the one the fast configs use).
"""
import argparse
import platform
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / 'shared' / 'data' / 'dsb2018_fluo'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n-images', type=int, default=200)
    parser.add_argument('--max-cells', type=int, default=10,
                        help='IAAAPaste: up to this many cells per image')
    parser.add_argument('--policies', default=str(REPO / 'configs/iaaa/policies/dsb2018_fluo.json'))
    parser.add_argument('--cache-root', default='/tmp/mmaug_bench_paste')
    parser.add_argument('--saaa-bank-dir',
                        default=str(REPO / 'work_dirs/mmaug_cache/saaa_mask_banks'),
                        help='SAAAPaste mask bank folder (built there on first use)')
    parser.add_argument('--out', default=str(REPO / 'benchmarks/results/bench_paste.md'))
    return parser.parse_args()


def build_dataset(paste_cfg):
    from mmdet.registry import DATASETS
    load = [dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
    inner = dict(type='CocoDataset', data_root=str(DATA) + '/',
                 ann_file='annotations/train.json', data_prefix=dict(img='images/'),
                 metainfo=dict(classes=('nucleus', )), pipeline=load,
                 filter_cfg=dict(filter_empty_gt=True))
    pipeline = ([paste_cfg] if paste_cfg else []) + [dict(type='PackDetInputs')]
    return DATASETS.build(dict(type='MultiImageMixDataset', dataset=inner, pipeline=pipeline))


def measure(dataset, n_images):
    """Return (images/s, mean instances per image) over ``n_images`` samples."""
    np.random.seed(0)
    dataset[0]  # warm-up (lazy init)
    counts = []
    start = time.perf_counter()
    for i in range(n_images):
        item = dataset[i % len(dataset)]
        counts.append(len(item['data_samples'].gt_instances))
    return n_images / (time.perf_counter() - start), float(np.mean(counts))


def main():
    args = parse_args()
    import cv2
    import torch
    from mmdet.utils import register_all_modules

    import mmaug_is  # noqa: F401
    from mmengine.config import Config
    register_all_modules()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    source = dict(ann_file=str(DATA / 'annotations/train.json'), img_dir=str(DATA / 'images'))
    saaa_paste = Config.fromfile(str(REPO / 'configs/_base_/synthetic/saaa.py')).saaa_paste
    variants = [
        ('no paste', None),
        ('CopyPaste (mmdet)', dict(type='CopyPaste', max_num_pasted=100)),
        ('IAAAPaste', dict(type='IAAAPaste', source=source, policies=args.policies,
                           max_cells=args.max_cells, prob=1.0, cache_root=args.cache_root)),
        ('SAAAPaste', dict(saaa_paste, source=source, max_cells=args.max_cells,
                           cache_root=args.cache_root, mask_bank_dir=args.saaa_bank_dir)),
    ]
    rows = []
    for name, cfg in variants:
        speed, cells = measure(build_dataset(cfg), args.n_images)
        rows.append((name, speed, cells))
        print(f'{name:20s} {speed:7.1f} images/s  {cells:6.1f} instances/image')
    ratios = {name: speed / rows[1][1] for name, speed, _ in rows[2:]}
    for name, ratio in ratios.items():
        print(f'{name} / CopyPaste speed ratio: {ratio:.2f}')
    lines = [
        '# bench_paste: IAAAPaste and SAAAPaste vs mmdet CopyPaste in the same pipeline', '',
        f'Command: `OMP_NUM_THREADS=1 python benchmarks/bench_paste.py --n-images {args.n_images}'
        f' --max-cells {args.max_cells}`  ',
        f'Data: dsb2018_fluo train, {args.n_images} samples; one thread; '
        f'{platform.machine()}, Python {platform.python_version()}; the 2 cores may be shared '
        'with other jobs, so absolute rates are noisy; the variants run back to back.', '',
        '| pipeline | images/s | instances/image after paste |', '|---|---|---|',
        *[f'| {n} | {s:.1f} | {c:.1f} |' for n, s, c in rows], '',
        *[f'{name} / CopyPaste throughput ratio: **{ratio:.2f}**  '
          for name, ratio in ratios.items()], '',
        'CopyPaste pastes all cells of a second image hard (no blending, real cells under '
        'them are occluded and their masks cut); IAAAPaste pastes up to '
        f'{args.max_cells} policy-augmented cells per image at corner-matched free '
        'positions with Gaussian feathering, never over an annotated cell; SAAAPaste '
        f'pastes up to {args.max_cells} new cells (DDPM mask bank draws painted by the '
        'shipped Pix2Pix for the image\'s own background) at free positions, alpha 1 on '
        'the visible ground truth (`edge=inside`, `gt_mask=visible`).',
    ]
    Path(args.out).write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
