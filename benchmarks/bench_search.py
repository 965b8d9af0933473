"""Speed of the IAAA policy search: ops, WAE training, candidate scoring, a whole search.

Data: dsb2018_fluo train objects (SCOs + MCOs). Steps timed (wall-clock and process CPU,
because the 2 cores are shared): every op at level 5 on 200 real objects; WAE training per
epoch; scoring one candidate on the 64-object evaluation sample; the greedy search of the
fast setting (Table S1 ops, n_p=2, n_m=3, l_max=2) and, with ``--default-ops``, of the
default op set; the CLI end to end with the fast setting. Prints a markdown report and
writes benchmarks/results/bench_search.md.

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_search.py [--default-ops]
"""
import argparse
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch

from mmaug_is.benchmarking.timing import Timer
from mmaug_is.core.io import atomic_open
from mmaug_is.core.objects import ObjectBank
from mmaug_is.core.ops import DEFAULT_SEARCH_OPS, OPS, TABLE_S1_OPS
from mmaug_is.core.policy import Policy, SubPolicy
from mmaug_is.iaaa.pipeline import SearchSettings, run_search
from mmaug_is.iaaa.scoring import PolicyScorer, split_objects
from mmaug_is.iaaa.search import SearchConfig, applicable_ops, greedy_search
from mmaug_is.iaaa.wae import WAEConfig, infer_channels, objects_to_array, train_wae

REPO = Path(__file__).resolve().parents[1]


def time_ops(objects):
    """Rows ``(op, wall ms/object, cpu ms/object)`` at level 5."""
    rows = []
    for name, op in OPS.items():
        rng = np.random.default_rng(0)
        with Timer() as t:
            for obj in objects:
                op.apply(obj.image, obj.masks, 5, rng)
        rows.append((name, 1000 * t.wall / len(objects), 1000 * t.cpu / len(objects)))
    return rows


def time_search(scorer, ops, label, lines):
    config = SearchConfig(ops=ops, n_prob=2, n_levels=3, l_max=2, top_b=5, seed=0)
    with tempfile.TemporaryDirectory() as work_dir, Timer() as t:
        result = greedy_search(scorer, config, work_dir=work_dir, progress=False)
    lines.append(f'| {label} ({len(ops)} ops) | {result.n_evaluated} | '
                 f'{result.search_space_size:,} | {t.wall:.1f} / {t.cpu:.1f} | '
                 f'{1000 * t.wall / result.n_evaluated:.0f} / '
                 f'{1000 * t.cpu / result.n_evaluated:.0f} |')
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', default=str(REPO.parent / 'shared' / 'data' / 'dsb2018_fluo'))
    parser.add_argument('--wae-epochs', type=int, default=20)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--default-ops', action='store_true',
                        help='also time a search over the default op set')
    parser.add_argument('--out', default=str(REPO / 'benchmarks' / 'results' / 'bench_search.md'))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    bank = ObjectBank.from_coco(data / 'annotations' / 'train.json', data / 'images',
                                progress=False)
    objects = bank.objects
    train, eval_sample, ref = split_objects(objects, 64, 200, seed=0)
    channels = infer_channels(objects)

    out = ['# bench_search: IAAA policy search speed', '',
           f'Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_search.py'
           f'{" --default-ops" if args.default_ops else ""}`  ',
           f'Data: `{data.name}` train ({bank}); WAE on {len(train)} objects, '
           f'{len(eval_sample)} evaluation / {len(ref)} reference objects held out  ',
           f'Machine: {platform.machine()}, 2 logical CPUs shared with other jobs, torch '
           f'{args.threads} thread(s); Python {platform.python_version()}, numpy '
           f'{np.__version__}, torch {torch.__version__}', '',
           'Times are wall-clock / process CPU: the cores were shared, so wall time can be '
           'much longer than CPU time.', '', '## Ops (level 5, 200 real objects)', '',
           '| op | ms/object (wall / CPU) |', '|---|---|']
    for name, wall, cpu in time_ops(objects[:200]):
        out.append(f'| {name} | {wall:.3f} / {cpu:.3f} |')

    config = WAEConfig(in_channels=channels, epochs=args.wae_epochs)
    crops = objects_to_array(train, config.crop_size, channels)
    with Timer() as t:
        trained = train_wae(crops, config, seed=0, progress=False)
    params = sum(p.numel() for p in trained.model.parameters())
    out += ['', '## WAE', '',
            f'{params:,} parameters, {len(crops)} crops of 64x64, batch {config.batch_size}: '
            f'{args.wae_epochs} epochs in {t.wall:.1f} s wall / {t.cpu:.1f} s CPU '
            f'({t.wall / args.wae_epochs:.2f} / {t.cpu / args.wae_epochs:.2f} s per epoch); '
            f'loss {trained.history[0]["loss"]:.2f} -> {trained.history[-1]["loss"]:.2f}.']

    scorer = PolicyScorer(trained.model, eval_sample, ref)
    policy = Policy((SubPolicy('Rotate', 1.0, 4), SubPolicy('Brightness', 0.5, 3)))
    with Timer() as t:
        for k in range(20):
            scorer.score(policy, np.random.default_rng(k))
    out += ['', f'Scoring one candidate (Rotate > Brightness on 64 objects): '
            f'{1000 * t.wall / 20:.0f} ms wall / {1000 * t.cpu / 20:.0f} ms CPU.', '',
            '## Greedy search (n_p = 2, n_m = 3, l_max = 2)', '',
            '| setting | candidates evaluated | search space (eq. 1) | seconds (wall / CPU) '
            '| ms per candidate (wall / CPU) |', '|---|---:|---:|---:|---:|']
    searches = [('Table S1', TABLE_S1_OPS)]
    if args.default_ops:
        searches.append(('default', applicable_ops(DEFAULT_SEARCH_OPS, channels)))
    results = [(label, time_search(scorer, ops, label, out)) for label, ops in searches]
    for label, result in results:
        out += ['', f'Top 5 policies ({label}):', '']
        out += [f'{k}. `{p}` score {s:.3f}' for k, (p, s) in
                enumerate(zip(result.policies, result.scores), 1)]
    out += ['', '## End to end: `tools/iaaa_search.py` (`iaaa.pipeline.run_search`), fast '
            'setting', '']
    ann_file, img_dir = data / 'annotations' / 'train.json', data / 'images'
    fast = SearchSettings(ops=TABLE_S1_OPS, n_prob=2, n_levels=3, l_max=2, top_b=10,
                          wae_epochs=20)
    with tempfile.TemporaryDirectory() as work_dir, Timer() as t:
        run_search(ann_file, img_dir, work_dir, fast, progress=False)
    argv = ['--ann-file', str(ann_file), '--img-dir', str(img_dir), '--ops', *TABLE_S1_OPS,
            '--n-prob', '2', '--n-levels', '3', '--l-max', '2', '--top-b', '10',
            '--wae-epochs', '20', '--threads', str(args.threads), '--no-progress']
    shown = ' '.join(os.path.relpath(a, REPO) if os.path.isabs(a) else a for a in argv)
    out += ['```', f'OMP_NUM_THREADS=1 python tools/iaaa_search.py {shown} '
            '--work-dir work_dirs/iaaa_search_fluo', '```', '',
            f'Object extraction + WAE (20 epochs) + search + policies.json + contact sheet: '
            f'**{t.wall:.0f} s wall / {t.cpu:.0f} s CPU**.']
    report = '\n'.join(out) + '\n'
    print(report)
    with atomic_open(args.out, 'w', encoding='utf-8') as handle:
        handle.write(report)


if __name__ == '__main__':
    main()
