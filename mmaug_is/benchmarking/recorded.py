"""Runs that an earlier report recorded but whose work dirs are gone (a new machine, a
purged scratch disk): read back from the report's ``summary.json`` and ``bootstrap.csv``
so that rewriting the report keeps them in the tables instead of dropping them.

A recorded run has its metrics but no test predictions, so no new bootstrap interval can
use it; the intervals it already has are kept while nothing they rest on has changed.
"""
import csv
from dataclasses import dataclass, field
from pathlib import Path

from .runs import read_json
from .tables import VAL_METRICS, run_row

_INT_COLUMNS = ('n_seeds', 'n_boot')
_TEXT_COLUMNS = ('metric', 'group', 'setting')


@dataclass
class Record:
    """What a report recorded: ``results`` (result dicts with ``recorded=True``), the
    ``invocations`` that produced them, its column ``settings``, ``baseline`` and
    ``bootstrap_rows``."""
    results: list = field(default_factory=list)
    invocations: list = field(default_factory=list)
    settings: list = field(default_factory=list)
    baseline: str = None
    bootstrap_rows: list = field(default_factory=list)


def _key(result):
    return result['group'], result['setting'], result['seed']


def _recorded_result(row, metrics):
    """A result dict from one ``summary.json`` run row (AP points -> COCO fractions)."""
    def fractions(names, prefix=''):
        return {m: row[prefix + m] / 100 for m in names if row.get(prefix + m) is not None}
    return {'run': row['run'], 'group': row['group'], 'setting': row['setting'],
            'seed': row['seed'], 'metrics': fractions(metrics),
            'val_metrics': fractions(VAL_METRICS, 'val_'),
            'train_seconds': row.get('train_seconds'),
            'test_seconds': row.get('test_seconds'), 'recorded': True}


def _bootstrap_row(row, where):
    """A ``bootstrap.csv`` row with its numbers parsed; ``ValueError`` naming ``where``."""
    out = {}
    try:
        for key, value in row.items():
            if key in _TEXT_COLUMNS:
                out[key] = value
            elif key == 'seed':
                out[key] = value if value == 'pooled' else int(value)
            else:
                out[key] = int(value) if key in _INT_COLUMNS else float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{where}: unreadable row {row}') from None
    return out


def read_record(out_dir, name):
    """The ``Record`` of the report of benchmark ``name`` in ``out_dir``: empty without a
    ``summary.json`` or when it belongs to another benchmark. ``ValueError`` names a
    corrupt file."""
    out_dir = Path(out_dir)
    summary = read_json(out_dir / 'summary.json')
    if not summary or summary.get('name') != name:
        return Record()
    metrics = list(summary.get('metrics', {}))
    rows = []
    bootstrap = out_dir / 'bootstrap.csv'
    if bootstrap.is_file():
        with open(bootstrap, newline='', encoding='utf-8') as handle:
            rows = [_bootstrap_row(row, bootstrap) for row in csv.DictReader(handle)]
    return Record([_recorded_result(row, metrics) for row in summary.get('runs', [])],
                  list(summary.get('invocations', [])), list(summary.get('settings', [])),
                  summary.get('baseline'), rows)


def carried_over(record, current, baseline, new_rows):
    """What of ``record`` a report of the ``current`` result dicts keeps.

    Returns ``(results, rows)``: the recorded results that no current result replaces (same
    group, setting and seed), and the recorded bootstrap rows that ``new_rows`` do not
    recompute and that rest on unchanged cells (none when ``baseline`` differs from the
    record's): a cell changes when a current run's metrics differ from what was recorded.
    """
    current_by_key = {_key(r): r for r in current}
    results = [r for r in record.results if _key(r) not in current_by_key]
    if record.baseline != baseline:
        return results, []
    metrics = sorted({m for r in record.results for m in r['metrics']})

    def test_points(result):
        row = run_row(result, metrics)
        return [row[m] for m in metrics]

    changed = {_key(r)[:2] for r in record.results if _key(r) in current_by_key
               and test_points(current_by_key[_key(r)]) != test_points(r)}
    recomputed = {(r['metric'], r['group'], r['setting'], r['seed']) for r in new_rows}
    rows = [r for r in record.bootstrap_rows
            if (r['metric'], r['group'], r['setting'], r['seed']) not in recomputed
            and not {(r['group'], r['setting']), (r['group'], baseline)} & changed]
    return results, rows
