"""Benchmark detectors trained on original vs. synthetic-augmented data over several seeds.

Every (detector group, setting, seed) is trained with tools/train.py in its own work dir
(work_root/name/<group>/<setting>/seed<k>) and its final checkpoint is evaluated on the
TEST split with tools/test.py; the table (mean ± std over seeds, gains over `original`,
paired per-seed gains, per seed a paired bootstrap of the gain over the test images, and a
BCa bootstrap pooled over the seeds) is written as Markdown, CSV, JSON and a bar chart.
Restarting the same command skips finished runs and resumes interrupted ones. Two copies
of one command share the work (each run is locked by the copy training it; the other moves
on), and `--report-only` rewrites the tables from the runs finished so far without training.
The tables list every finished run of the benchmark NAME, also those of earlier commands
that this one does not plan, so seeds or settings can be added by a later command (give
it the same --group); another --name starts a separate table. Runs whose work dirs are
gone (a new machine, a purged scratch disk) stay in the tables from the report's own
summary.json, with the bootstrap intervals that still hold. Runs of instance-segmentation
configs (evaluating `segm`, e.g. configs/fast/mask_rcnn_r18_*.py) add mask AP (segm_AP,
segm_AP50, segm_AP75) beside the box AP in every table, CSV and bootstrap.

Usage:
    # explicit configs (one table row, named after the first config or --group)
    python tools/benchmark.py --name fluo_cpu --offline --seeds 0 1 2 \
        --setting original=configs/cpu/faster_rcnn_r18_fluo.py \
        --setting iaaa=configs/cpu/faster_rcnn_r18_fluo_iaaa.py
    # later: one more setting and seed in the same table
    python tools/benchmark.py --name fluo_cpu --offline --seeds 3 --group faster_rcnn_r18_fluo \
        --setting copypaste=configs/cpu/faster_rcnn_r18_fluo_copypaste.py
    # the paper's detectors: original -> configs/baselines/<d>.py, s -> configs/s/<d>.py
    python tools/benchmark.py --name paper --detectors faster_rcnn_r101 atss_r101 \
        --settings original iaaa saaa --seeds 0 1 2

    A setting may carry its own cfg options after `::`, e.g.
    `--setting lr01=configs/cpu/faster_rcnn_r18_fluo.py::optim_wrapper.optimizer.lr=0.01`;
    `{seed}` in any cfg option is replaced by the run's seed (e.g. to vary the synthetic
    data: `iaaa::train_dataloader.dataset.synthetic.seed={seed}`).

Exit code: 0 all runs finished (or --report-only), 1 some run failed (others still ran),
2 invalid plan.
"""
import argparse
import os
import shlex
import sys
from pathlib import Path

from mmaug_is.benchmarking import (PlanError, ToolRunner, check_work_dirs, describe_plan,
                                   detector_groups, execute_runs, explicit_groups,
                                   finished_results, plan_runs, run_state, write_report)
from mmaug_is.benchmarking.bootstrap import run_bootstrap_gains, run_pooled_gains
from mmaug_is.benchmarking.recorded import carried_over, read_record
from mmaug_is.benchmarking.runs import check_name, read_result
from mmaug_is.benchmarking.tables import column_order, metric_markdown

REPO_ROOT = Path(__file__).resolve().parents[1]

RECORDED_ENV = ('MMAUG_OFFLINE', 'OMP_NUM_THREADS')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train + test detectors per (setting, seed) and tabulate AP gains',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('Usage:')[1])
    parser.add_argument('--name', required=True, help='benchmark name (directory, title)')
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument('--setting', action='append', metavar='NAME=CONFIG[::KEY=VALUE...]',
                      help='a setting (table column) and its config; repeat it')
    what.add_argument('--detectors', nargs='+', metavar='DETECTOR',
                      help='config stems in configs/baselines (the table rows)')
    parser.add_argument('--settings', nargs='+', metavar='NAME[::KEY=VALUE...]',
                        help='with --detectors: settings (default: original iaaa saaa)')
    parser.add_argument('--group', help='with --setting: the row name (default: the first '
                        "setting's config file stem)")
    parser.add_argument('--baseline', default='original',
                        help='the setting gains are measured against (default: original)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0], help='training seeds')
    parser.add_argument('--offline', action='store_true',
                        help='train from scratch, no weight downloads (MMAUG_OFFLINE=1)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='config overrides for every run (train and test)')
    parser.add_argument('--work-root', default='work_dirs/benchmark',
                        help='runs go to WORK_ROOT/NAME/<group>/<setting>/seed<k>')
    parser.add_argument('--out-dir', help='tables and chart (default: '
                        'benchmarks/results/NAME in the repository)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the runs and their commands, run nothing')
    parser.add_argument('--report-only', action='store_true',
                        help='write the tables from the finished runs; train nothing')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if args.settings and not args.detectors:
        parser.error('--settings goes with --detectors (use --setting NAME=CONFIG)')
    if args.group and not args.setting:
        parser.error('--group goes with --setting')
    return args


def _python_command(cwd):
    """The interpreter, relative to ``cwd`` if inside it (a venv's symlink is kept)."""
    python = os.path.abspath(sys.executable)
    inside = python.startswith(str(cwd) + os.sep)
    return os.path.relpath(python, cwd) if inside else python


def _invocation(argv):
    cmd = shlex.join(['python', os.path.relpath(__file__), *argv])
    cwd = Path.cwd().resolve()
    return cmd if cwd == REPO_ROOT else f'cd {shlex.quote(str(cwd))} && {cmd}'


def build_plan(args):
    """``(runs, groups, settings)`` for the parsed arguments; ``PlanError`` if invalid."""
    check_name('benchmark', args.name)
    if args.detectors:
        groups = detector_groups(args.detectors, args.settings or ['original', 'iaaa', 'saaa'],
                                 REPO_ROOT / 'configs')
    else:
        groups = explicit_groups(args.setting, args.group)
    settings = list(dict.fromkeys(s.name for group in groups.values() for s in group))
    runs = plan_runs(groups, args.seeds, Path(args.work_root) / args.name, args.cfg_options)
    check_work_dirs(runs)
    return runs, list(groups), settings


def _report_finished(runs, states, results, report, out_dir, name, n_earlier):
    """Write the tables of the finished runs' ``results`` and ``n_earlier`` runs of earlier
    commands (if there are any), list the unfinished runs; returns the exit code 0."""
    pending = [f'{run.name} ({state})' for run, state in zip(runs, states) if state != 'done']
    print(f'{name}: {len(results)} of {len(runs)} runs finished; not finished: '
          f'{", ".join(pending) or "none"}')
    if results or n_earlier:
        print('\n'.join(metric_markdown(report(results), 'AP')))
        print(f'report: {out_dir / (name + ".md")}')
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        runs, groups, settings = build_plan(args)
    except PlanError as err:
        print(f'benchmark: error: {err}', file=sys.stderr)
        return 2
    # the command that trains what the tables show (without flags that change no result)
    invocation = _invocation([a for a in argv if a not in ('--report-only', '--no-progress')])
    runner = ToolRunner(tools_dir=REPO_ROOT / 'tools', cwd=REPO_ROOT,
                    python=_python_command(REPO_ROOT), offline=args.offline,
                    invocation=invocation)
    if args.dry_run:
        print(describe_plan(runs, runner))
        return 0
    out_dir = Path(args.out_dir) if args.out_dir else REPO_ROOT / 'benchmarks/results' / args.name
    environment = {k: os.environ[k] for k in RECORDED_ENV if os.environ.get(k)}
    if args.offline:
        environment['MMAUG_OFFLINE'] = '1'

    unplanned = finished_results(Path(args.work_root) / args.name,
                                 exclude=[run.work_dir for run in runs])
    if unplanned:
        print(f'{args.name}: the tables also list {len(unplanned)} finished run(s) of earlier '
              f'commands: {", ".join(r["run"] for r in unplanned)}')
    states = [run_state(run) for run in runs]
    try:
        record = read_record(out_dir, args.name)
    except ValueError as err:
        print(f'benchmark: error: {err}', file=sys.stderr)
        return 2
    finished = [read_result(run.work_dir) for run, state in zip(runs, states) if state == 'done']
    kept, _ = carried_over(record, finished + unplanned, args.baseline, [])
    if kept:
        print(f'{args.name}: the tables keep {len(kept)} run(s) recorded in '
              f'{out_dir / "summary.json"} whose work dirs are gone: '
              f'{", ".join(r["run"] for r in kept)}')
    all_groups = list(dict.fromkeys(groups + [r['group'] for r in unplanned + kept]))
    all_settings = column_order(record.settings + settings, unplanned, args.baseline)

    def report(results, failures=()):
        results = list(results) + unplanned
        earlier = [r.get('invocation') for r in results if r.get('invocation')]
        invocations = list(dict.fromkeys(record.invocations + earlier + [invocation]))
        gains = (run_bootstrap_gains(results, args.baseline, REPO_ROOT)
                 + run_pooled_gains(results, args.baseline, REPO_ROOT))
        recorded, recorded_gains = carried_over(record, results, args.baseline, gains)
        return write_report(out_dir, args.name, results + recorded, args.baseline, all_groups,
                            all_settings, invocations, failures, environment, cwd=REPO_ROOT,
                            bootstrap_rows=gains + recorded_gains)

    if args.report_only:
        return _report_finished(runs, states, finished, report, out_dir, args.name,
                                len(unplanned) + len(kept))
    print(f'{args.name}: {len(runs)} runs ({states.count("done")} finished earlier, '
          f'{states.count("resume") + states.count("test")} to resume, '
          f'{states.count("new")} new); results -> {out_dir}')
    try:
        results, failures = execute_runs(runs, runner, on_result=report,
                                         progress=not args.no_progress)
    except KeyboardInterrupt:
        print('\ninterrupted: run the same command again to resume (finished runs are '
              'kept, training continues from its last checkpoint)', file=sys.stderr)
        return 130
    if results:
        summary = report(results, failures)
        print('\n'.join(metric_markdown(summary, 'AP')))
        print(f'report: {out_dir / (args.name + ".md")}')
    if failures:
        print(f'{len(failures)} of {len(runs)} run(s) failed:', file=sys.stderr)
        for err in failures:
            print(f'  {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
