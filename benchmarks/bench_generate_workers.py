"""Speed-up of parallel synthetic-data generation (``tools/generate.py --workers N``).

Usage (run it on otherwise idle cores, or the figure means nothing):
    OMP_NUM_THREADS=1 python benchmarks/bench_generate_workers.py [--num 40] [--workers 1 2]

For each worker count, in a fresh temporary cache root: the IAAA dataset of dsb2018_fluo
train (committed policies) is built, its real-data assets (objects, backgrounds) are made
(timed apart: one process either way), one sample is made untimed (warm-up), then
``write_cache(workers=N)`` is timed: N forked processes make the samples, the parent merges
them and draws the contact sheet. Checks that every worker count writes the same bytes, and
writes a Markdown table (wall seconds, samples/s, speed-up over the first worker count).
"""
import argparse
import hashlib
import os
import platform
import tempfile
from pathlib import Path

from mmaug_is.benchmarking.timing import Timer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / 'shared' / 'data' / 'dsb2018_fluo'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=40, help='synthetic images per run')
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2],
                        help='worker counts to time (the first is the reference)')
    parser.add_argument('--data', default=str(DATA), help='COCO set root (annotations/train.json)')
    parser.add_argument('--policies',
                        default=str(REPO / 'configs/iaaa/policies/dsb2018_fluo.json'))
    parser.add_argument('--out', default=str(REPO / 'benchmarks/results/'
                                             'bench_generate_workers.md'))
    return parser.parse_args()


def digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob('*')) if p.is_file()}


def timed_run(args, workers):
    """``(assets seconds, generation Timer, file digests)`` of one run in a fresh root."""
    from mmaug_is.datasets import IAAADataset

    with tempfile.TemporaryDirectory(prefix='bench_generate_workers_') as root:
        dataset = IAAADataset(
            source=dict(ann_file=str(Path(args.data) / 'annotations/train.json'),
                        img_dir=str(Path(args.data) / 'images')),
            policies=args.policies, num_samples=args.num, cache_root=root, lazy_init=True)
        with Timer() as assets:
            dataset.prepare_generator()
        dataset.generator.generate(dataset.seed, 0)  # warm-up, untimed
        with Timer() as generation:
            ann_file = dataset.write_cache(Path(root) / 'out', workers=workers, progress=False)
        return assets.wall, generation, digests(Path(ann_file).parent)


def main():
    args = parse_args()
    import cv2
    import torch
    from mmdet.utils import register_all_modules

    import mmaug_is  # noqa: F401
    register_all_modules()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    load = os.getloadavg()
    rows, reference = [], None
    for workers in args.workers:
        assets, timer, files = timed_run(args, workers)
        reference = reference or files
        same = files == reference
        rows.append((workers, timer.wall, args.num / timer.wall, assets, same))
        print(f'{workers} worker(s): {timer.wall:6.1f} s, {args.num / timer.wall:5.2f} '
              f'images/s (assets {assets:.1f} s; same bytes as {args.workers[0]}: {same})')
    base = rows[0][1]
    lines = [
        '# bench_generate_workers: tools/generate.py --workers N', '',
        f'Command: `OMP_NUM_THREADS=1 python benchmarks/bench_generate_workers.py --num '
        f'{args.num} --workers {" ".join(map(str, args.workers))}`  ',
        f'Data: IAAA on {Path(args.data).name} train (policies '
        f'`{Path(args.policies).name}`), {args.num} images per run, each run in a fresh '
        f'cache root; {os.cpu_count()} CPUs, load average {load[0]:.2f} at the start; '
        f'{platform.machine()}, Python {platform.python_version()}.', '',
        'Timed: `write_cache(workers=N)` (fork, generation, merge, contact sheet); the '
        'real-data assets are built before it in one process either way and shown apart.', '',
        '| workers | wall s | images/s | speed-up | assets s | same bytes |',
        '|---|---|---|---|---|---|',
        *[f'| {w} | {t:.1f} | {r:.2f} | {base / t:.2f} | {a:.1f} | {"yes" if s else "NO"} |'
          for w, t, r, a, s in rows],
    ]
    Path(args.out).write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')
    if not all(row[4] for row in rows):
        raise SystemExit('the worker counts wrote different files')


if __name__ == '__main__':
    main()
