"""Shape fidelity of SAAA's generated masks per smoothing ``smooth_sigma`` (issue 15).

A short-trained mask DDPM leaves pixel noise on its outlines. ``smooth_sigma`` (px, at the
canonical size) Gaussian-smooths each raw DDIM sample before it is thresholded
(``saaa.mask_ddpm.MaskFilter``). This draws ``--n`` raw samples once (DDIM 25 steps, one
noise stream per sample: seeds 0..n-1), cleans them at every ``--sigmas`` value, and
compares the accepted masks with the real single-cell masks (SCOs) of ``--real`` splits,
all in the canonical frame (``build_sco_dataset``: longer side = fill x S):

- ``solidity``: contour area / convex-hull area (1 = convex; ragged outlines lower it);
- ``roughness``: contour length / convex-hull contour length (1 = smooth and convex);
- ``W``: 1-D Wasserstein distance of each statistic's distribution to the real one, in
  units of the real standard deviation; ``score`` = their mean (0 = indistinguishable).

Choose ``smooth_sigma`` on the val split's score; the test split's is reported beside it.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/bench_saaa_mask_shapes.py \
        --mask-ckpt configs/saaa/models/dsb2018_fluo/mask_ddpm.pth \
        --data-root ../shared/data/dsb2018_fluo --out benchmarks/results/bench_saaa_mask_shapes.md
"""
import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.stats import wasserstein_distance

from mmaug_is.saaa.generator import MaskGenerator
from mmaug_is.saaa.mask_data import build_sco_dataset
from mmaug_is.saaa.mask_ddpm import MaskFilter, mask_generators

STATISTICS = ('solidity', 'roughness')


def shape_statistics(masks):
    """``{'solidity': (N,), 'roughness': (N,)}`` of ``(N, S, S)`` bool masks (one
    8-connected shape each: the largest external contour is measured)."""
    out = {name: [] for name in STATISTICS}
    for mask in masks:
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        contour = max(contours, key=cv2.contourArea)
        hull = cv2.convexHull(contour)
        out['solidity'].append(cv2.contourArea(contour) / max(cv2.contourArea(hull), 1.0))
        out['roughness'].append(cv2.arcLength(contour, True) /
                                max(cv2.arcLength(hull, True), 1.0))
    return {name: np.asarray(values) for name, values in out.items()}


def distances(fake, real):
    """``{statistic: W / std(real)}`` and their mean under ``'score'``."""
    out = {name: wasserstein_distance(fake[name], real[name]) / real[name].std()
           for name in STATISTICS}
    out['score'] = float(np.mean([out[name] for name in STATISTICS]))
    return out


@torch.no_grad()
def raw_samples(masks, n, batch_size=64):
    """``(n, S, S)`` float raw DDIM samples of a ``MaskGenerator``'s model (seeds 0..n-1)."""
    generators = mask_generators(range(n))
    chunks = [masks.model.sample(len(generators[i:i + batch_size]),
                                 generators[i:i + batch_size], sampler='ddim', steps=25)
              for i in range(0, n, batch_size)]
    return torch.cat(chunks)[:, 0].numpy()


def clean_all(raw, mask_filter, sigma):
    """Accepted masks ``(M, S, S)`` of ``raw`` cleaned with smoothing ``sigma``."""
    smoothed = MaskFilter(mask_filter.area_low, mask_filter.area_high, float(sigma))
    kept = [mask for mask, _ in map(smoothed.clean, raw) if mask is not None]
    return np.stack(kept) if kept else np.zeros((0, *raw.shape[1:]), bool)


def markdown(args, rows, real, seconds):
    """The results table (one row per sigma, then the real splits' means)."""
    splits = list(real)
    lines = [f'# bench_saaa_mask_shapes: {args.mask_ckpt}', '',
             'Command: `OMP_NUM_THREADS=1 python ' + ' '.join(sys.argv) + '`', '',
             f'{args.n} raw DDIM samples (25 steps, seeds 0..{args.n - 1}); real SCOs: '
             + ', '.join(f'{s} {len(r["solidity"])}' for s, r in real.items())
             + f'; sampling took {seconds:.0f} s. W = Wasserstein distance / real std.', '',
             '| smooth_sigma (px) | accepted | solidity (mean) | roughness (mean) | '
             + ' | '.join(f'W solidity {s} | W roughness {s} | score {s}' for s in splits)
             + ' |',
             '|---:|---:|---:|---:|' + '---:|' * (3 * len(splits))]
    for row in rows:
        cells = [f'{row["sigma"]:g}', f'{row["accepted"]:.0%}',
                 f'{row["solidity"]:.3f}', f'{row["roughness"]:.3f}']
        for split in splits:
            d = row['distances'][split]
            cells += [f'{d["solidity"]:.2f}', f'{d["roughness"]:.2f}', f'{d["score"]:.2f}']
        lines.append('| ' + ' | '.join(cells) + ' |')
    for split, stats in real.items():
        lines.append(f'| real {split} | | {stats["solidity"].mean():.3f} | '
                     f'{stats["roughness"].mean():.3f} |' + ' |' * (3 * len(splits)))
    best = min(rows, key=lambda row: row['distances'][splits[0]]['score'])
    lines += ['', f'Lowest {splits[0]} score: smooth_sigma = {best["sigma"]:g}.', '']
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mask-ckpt', required=True, help='mask_ddpm.pth (training or release)')
    parser.add_argument('--data-root', type=Path, required=True,
                        help='dataset folder with annotations/<split>.json and images/')
    parser.add_argument('--real', nargs='+', default=['val', 'test'],
                        help='splits to compare with; the first one chooses')
    parser.add_argument('--n', type=int, default=256, help='raw samples')
    parser.add_argument('--sigmas', type=float, nargs='+', default=[0, 0.75, 1.5, 2.25, 3])
    parser.add_argument('--out', type=Path, help='markdown file (else only printed)')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    masks = MaskGenerator.from_checkpoint(args.mask_ckpt)
    real = {}
    for split in args.real:
        scos = build_sco_dataset(args.data_root / 'annotations' / f'{split}.json',
                                 args.data_root / 'images', size=masks.size, fill=masks.fill,
                                 with_images=False, progress=False)
        real[split] = shape_statistics(scos.masks)
    start = time.process_time()
    raw = raw_samples(masks, args.n)
    seconds = time.process_time() - start
    rows = []
    for sigma in args.sigmas:
        kept = clean_all(raw, masks.mask_filter, sigma)
        fake = shape_statistics(kept)
        rows.append(dict(sigma=sigma, accepted=len(kept) / args.n,
                         solidity=fake['solidity'].mean(), roughness=fake['roughness'].mean(),
                         distances={s: distances(fake, r) for s, r in real.items()}))
    text = markdown(args, rows, real, seconds)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == '__main__':
    main()
