"""Speed of FID/KID evaluation on CPU: Inception feature extraction and the two estimators.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/bench_fid.py [--data ../shared/data/dsb2018_fluo]
        [--n-images 32] [--threads 1]

Prints markdown tables (CPU time of this process, robust to other load; plus wall time):
ms per image (preprocessing + forward) for full 256x256 images and
SCO crops at several batch sizes, and seconds for FID / KID on random 2048-d features.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch

from mmaug_is.evaluation import InceptionFeatureExtractor, LevelImages, fid, kid
from mmaug_is.evaluation.features import preprocess

REPO = Path(__file__).resolve().parents[1]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', type=Path,
                        default=REPO.parent / 'shared' / 'data' / 'dsb2018_fluo')
    parser.add_argument('--n-images', type=int, default=32, help='images per timing')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8, 32])
    parser.add_argument('--threads', type=int, default=1)
    return parser.parse_args()


def time_extraction(extractor, images):
    """(wall, cpu) seconds of preprocessing and of the forward passes for ``images``."""
    w0, c0 = time.perf_counter(), time.process_time()
    tensors = [preprocess(im, extractor.image_size, extractor.input_range) for im in images]
    w1, c1 = time.perf_counter(), time.process_time()
    for start in range(0, len(tensors), extractor.batch_size):
        extractor.forward_batch(tensors[start:start + extractor.batch_size])
    w2, c2 = time.perf_counter(), time.process_time()
    return (w1 - w0, c1 - c0), (w2 - w1, c2 - c1)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    spec = f'{args.data / "annotations" / "train.json"}:{args.data / "images"}'
    sets = LevelImages(spec, levels=('sco', 'full'))
    pools = {'sco': [], 'full': []}
    for level, image in sets.iter_items():
        if len(pools[level]) < args.n_images:
            pools[level].append(image)
        if all(len(v) >= args.n_images for v in pools.values()):
            break
    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'{args.n_images} images per row\n')
    print('| images | mean size | batch | preprocess ms/img (cpu) | forward ms/img (cpu) '
          '| total ms/img (cpu) | total ms/img (wall) |')
    print('|---|---|---:|---:|---:|---:|---:|')
    for batch in args.batch_sizes:
        extractor = InceptionFeatureExtractor(batch_size=batch)
        warm = [preprocess(pools['full'][0])] * batch
        extractor.forward_batch(warm)  # warm-up: TorchScript profiles the first calls
        extractor.forward_batch(warm)
        for level in ('full', 'sco'):
            images = pools[level]
            size = np.mean([im.shape[:2] for im in images], axis=0)
            pre, fwd = time_extraction(extractor, images)
            ms = 1e3 / len(images)
            print(f'| {level} | {size[0]:.0f}x{size[1]:.0f} | {batch} | {pre[1] * ms:.1f} | '
                  f'{fwd[1] * ms:.1f} | {(pre[1] + fwd[1]) * ms:.1f} | '
                  f'{(pre[0] + fwd[0]) * ms:.1f} |')

    print('\n| estimator | features | cpu seconds |')
    print('|---|---|---:|')
    rng = np.random.default_rng(0)
    for n in (100, 1000, 3000):
        a = rng.gamma(2.0, 0.2, size=(n, 2048))
        b = rng.gamma(2.0, 0.2, size=(n, 2048)) + 0.01
        t0 = time.process_time()
        fid(a, b)
        t1 = time.process_time()
        kid(a, b, n_subsets=100, subset_size=1000)
        t2 = time.process_time()
        print(f'| FID | 2 x {n} x 2048 | {t1 - t0:.2f} |')
        print(f'| KID (100 subsets of <= 1000) | 2 x {n} x 2048 | {t2 - t1:.2f} |')


if __name__ == '__main__':
    main()
