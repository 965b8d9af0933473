"""Will it help on my data? Real-only vs copy-paste vs IAAAPaste on your own COCO set.

Usage:
    python tools/compare_augmentations.py --train A.json --val B.json --img-dir DIR
        [--test C.json] [--subset N] [--seeds K] [--iters N] [--work-dir W]

Fits the fast CPU protocol to the data (images rescaled so the median cell has the side the
protocol was tuned on; crops and anchors follow: mmaug_is.benchmarking.own_data), writes
one config per setting (real-only `original`, mmdet's online `copypaste_online`, the
`iaaa_default` IAAAPaste), and trains them at equal iterations for K seeds with
tools/benchmark.py (resumable: rerun the same command; progress as it goes). Then prints
and writes the table (W/report/compare.md, .csv, bars.png), the gains over real-only with
their bootstrap intervals, and a one-line recommendation (W/report/recommendation.txt).
`--subset N` trains on N labelled images only (drawn by --subset-seed, nested: the 10 are
among the 20), to see how many images you need to label. Without --test the table reads
val: choose with it, but report on a held-out test set.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--train', required=True, help='COCO annotations of the training set')
    parser.add_argument('--val', required=True, help='COCO annotations of the validation set')
    parser.add_argument('--test', help='COCO annotations of a held-out test set (default: val)')
    parser.add_argument('--img-dir', required=True, help='folder holding every image')
    parser.add_argument('--subset', type=int, help='train on this many labelled images only')
    parser.add_argument('--subset-seed', type=int, default=0, help='draws the subset order')
    parser.add_argument('--seeds', type=int, default=3, help='training seeds (0..K-1)')
    parser.add_argument('--iters', type=int, default=300, help='training iterations per run')
    parser.add_argument('--work-dir', help='configs, runs and report '
                        '(default: work_dirs/compare/<train file stem>[_n<subset>])')
    args = parser.parse_args(argv)
    for option, value, low in (('--seeds', args.seeds, 1), ('--iters', args.iters, 2),
                               ('--subset', args.subset, 1)):
        if value is not None and value < low:
            parser.error(f'{option} must be >= {low}, got {value}')
    if not Path(args.img_dir).is_dir():
        parser.error(f'--img-dir is not a folder: {Path(args.img_dir).resolve()}')
    return args


def prepare(args):
    """Write the labelled subset and the setting configs; returns ``(configs, protocol,
    work_dir, labelled images)``."""
    from mmaug_is.benchmarking.own_data import (derive_protocol, nested_subset, read_coco,
                                                setting_configs)
    from mmaug_is.core.io import atomic_open
    coco = read_coco(args.train, '--train')
    for option in ('val', 'test'):
        if getattr(args, option):
            read_coco(getattr(args, option), f'--{option}')
    suffix = f'_n{args.subset}' if args.subset else ''
    work_dir = Path(args.work_dir or f'work_dirs/compare/{Path(args.train).stem}{suffix}')
    labelled = nested_subset(coco, args.subset, args.subset_seed)
    train = work_dir / 'data' / 'train.json'
    with atomic_open(train, 'w', encoding='utf-8') as handle:
        json.dump(labelled, handle)
    protocol = derive_protocol(labelled)
    configs = setting_configs(protocol, train.resolve(), Path(args.val).resolve(),
                              Path(args.test or args.val).resolve(),
                              Path(args.img_dir).resolve(), work_dir / 'configs',
                              iters=args.iters, cache_root=(work_dir / 'cache').resolve())
    return configs, protocol, work_dir, len(labelled['images'])


def main(argv=None):
    args = parse_args(argv)
    from mmaug_is.benchmarking.own_data import recommendation
    try:
        configs, protocol, work_dir, n_images = prepare(args)
    except (OSError, ValueError) as err:
        print(f'compare_augmentations: error: {err}', file=sys.stderr)
        return 2
    print(f'{n_images} labelled training images; protocol: {protocol.describe()}')
    if not args.test:
        print('no --test: the table reads the val split (choose with it; report on a '
              'held-out test set)')
    report = work_dir / 'report'
    command = [sys.executable, str(REPO_ROOT / 'tools/benchmark.py'), '--offline',
               '--name', 'compare', '--group', 'own_data',
               '--work-root', str(work_dir / 'runs'), '--out-dir', str(report),
               '--seeds', *map(str, range(args.seeds))]
    for setting, path in configs.items():
        command += ['--setting', f'{setting}={path}']
    status = subprocess.call(command, cwd=REPO_ROOT, env=dict(os.environ, MMAUG_OFFLINE='1'))
    bootstrap = report / 'bootstrap.csv'
    if bootstrap.is_file():
        line = recommendation(bootstrap)
        (report / 'recommendation.txt').write_text(line + '\n')
        print(f'recommendation: {line}')
    return status


if __name__ == '__main__':
    sys.exit(main())
