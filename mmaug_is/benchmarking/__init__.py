"""Detector benchmarks: train/test every (detector, setting, seed) and tabulate AP gains.

runs: plan, execute and resume runs (one ``tools/train.py`` + ``tools/test.py``
subprocess each); tables: mean ± std per cell, gains over the baseline setting, paired
per-seed gains, Markdown / CSV / JSON / bar chart, box AP and (for instance-segmentation
configs) mask AP; recorded: the runs a report recorded whose work dirs are gone.
CLI: ``tools/benchmark.py``.
"""
from .runs import (METRIC_KEYS, SEGM_METRIC_KEYS, PlanError, Run, RunFailed, Setting,
                   ToolRunner, check_work_dirs, describe_plan, detector_groups, execute_run,
                   execute_runs, explicit_groups, find_test_metrics, finished_results,
                   plan_runs, run_state)
from .tables import METRICS, SEGM_METRICS, mean_std, paired_gain, summarize, write_report

__all__ = [
    'METRICS', 'METRIC_KEYS', 'PlanError', 'Run', 'RunFailed', 'SEGM_METRICS',
    'SEGM_METRIC_KEYS', 'Setting', 'ToolRunner', 'check_work_dirs', 'describe_plan',
    'detector_groups', 'execute_run', 'execute_runs', 'explicit_groups', 'find_test_metrics',
    'finished_results', 'mean_std', 'paired_gain', 'plan_runs', 'run_state', 'summarize',
    'write_report',
]
