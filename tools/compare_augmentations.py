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
among the 20); `--subsets 10 20 40 all` runs one comparison per size (W/n10, ..., W/all)
and draws the label-efficiency curve (W/curve.md, .csv, .png: AP against labelled images,
and how many images real-only needs to match IAAAPaste). Without --test the table reads
val: choose with it, but report on a held-out test set.
"""
import argparse
import csv
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
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument('--subset', type=int, help='train on this many labelled images only')
    sizes.add_argument('--subsets', nargs='+', metavar='N|all',
                       help='a label-efficiency curve over these labelled-set sizes')
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
    if args.subsets:
        try:
            args.subsets = [None if s == 'all' else int(s) for s in args.subsets]
        except ValueError:
            parser.error(f'argument --subsets: numbers of images or "all", got {args.subsets}')
        if any(s is not None and s < 1 for s in args.subsets):
            parser.error(f'argument --subsets: sizes must be >= 1, got {args.subsets}')
    return args


def prepare(args, subset, work_dir):
    """Write the labelled subset (``subset`` images, ``None``: all) and the setting configs
    under ``work_dir``; returns ``(configs, protocol, labelled images)``."""
    from mmaug_is.benchmarking.own_data import (derive_protocol, nested_subset, read_coco,
                                                setting_configs)
    from mmaug_is.core.io import atomic_open
    coco = read_coco(args.train, '--train')
    for option in ('val', 'test'):
        if getattr(args, option):
            read_coco(getattr(args, option), f'--{option}')
    labelled = nested_subset(coco, subset, args.subset_seed)
    train = work_dir / 'data' / 'train.json'
    with atomic_open(train, 'w', encoding='utf-8') as handle:
        json.dump(labelled, handle)
    protocol = derive_protocol(labelled)
    classes = [category['name'] for category in labelled['categories']]
    configs = setting_configs(protocol, classes, train.resolve(), Path(args.val).resolve(),
                              Path(args.test or args.val).resolve(),
                              Path(args.img_dir).resolve(), work_dir / 'configs',
                              iters=args.iters, cache_root=(work_dir / 'cache').resolve())
    return configs, protocol, len(labelled['images'])


def compare(args, subset, work_dir):
    """Train and report the three settings on ``subset`` labelled images; returns
    ``(exit status, labelled images, report folder)``."""
    from mmaug_is.benchmarking.own_data import recommendation
    configs, protocol, n_images = prepare(args, subset, work_dir)
    print(f'{n_images} labelled training images; protocol: {protocol.describe()}')
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
    return status, n_images, report


def main(argv=None):
    args = parse_args(argv)
    from mmaug_is.benchmarking.own_data import curve_points, write_curve
    if not args.test:
        print('no --test: the tables read the val split (choose with it; report on a '
              'held-out test set)')
    root = Path(args.work_dir or f'work_dirs/compare/{Path(args.train).stem}'
                + (f'_n{args.subset}' if args.subset else ''))
    try:
        if not args.subsets:
            return compare(args, args.subset, root)[0]
        statuses, runs = [], []
        for subset in args.subsets:
            status, n_images, report = compare(args, subset, root / f'n{subset or "all"}')
            statuses.append(status)
            if (report / 'runs.csv').is_file():
                runs += [dict(row, n_images=n_images)
                         for row in csv.DictReader(open(report / 'runs.csv'))]
    except (OSError, ValueError) as err:
        print(f'compare_augmentations: error: {err}', file=sys.stderr)
        return 2
    if runs:
        curve = write_curve(root, curve_points(runs),
                            f'Label efficiency on {Path(args.train).name}')
        print(f'label-efficiency curve: {curve}')
    return max(statuses)


if __name__ == '__main__':
    sys.exit(main())
