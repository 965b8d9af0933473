"""A report rewritten after the work dirs of some of its runs are gone keeps those runs
(from its summary.json) and the bootstrap intervals that still hold (from bootstrap.csv)."""
import copy

import pytest

from mmaug_is.benchmarking import summarize, write_report
from mmaug_is.benchmarking.recorded import carried_over, read_record


def _result(setting, seed, ap, segm_ap=None):
    metrics = {'AP': ap, 'AP50': 0.5, 'AP75': 0.2, 'APs': -1}  # APs: COCO's "none"
    if segm_ap is not None:
        metrics['segm_AP'] = segm_ap
    return {'run': f'det/{setting}/seed{seed}', 'group': 'det', 'setting': setting,
            'seed': seed, 'metrics': metrics, 'val_metrics': {'AP': ap - 0.05, 'AP75': 0.1},
            'train_seconds': 60.0 + seed, 'test_seconds': 5.0,
            'commands': {'train': f'train {setting} {seed}', 'test': f'test {setting} {seed}'}}


def _gain(setting, seed, metric='AP'):
    return {'metric': metric, 'group': 'det', 'setting': setting, 'seed': seed,
            'n_seeds': 2 if seed == 'pooled' else 1, 'a': 20.0, 'b': 21.5, 'gain': 1.5,
            'low': 0.25, 'high': 2.75, 'p_not_better': 0.01, 'n_boot': 1000, 'level': 0.95}


@pytest.fixture
def report_dir(tmp_path):
    """A written report: original and iaaa (seeds 0-1) with masks, bootstrap rows."""
    results = [_result(s, k, ap, ap - 0.01) for k in (0, 1)
               for s, ap in (('original', 0.2 + k / 100), ('iaaa', 0.23 + k / 100))]
    rows = [_gain('iaaa', 0), _gain('iaaa', 1), _gain('iaaa', 'pooled'),
            _gain('iaaa', 'pooled', 'segm_AP')]
    write_report(tmp_path, 'bench', results, invocations=['python tools/benchmark.py x'],
                 bootstrap_rows=rows)
    return tmp_path, results, rows


def test_record_reads_back_the_runs_invocations_and_bootstrap_rows(report_dir):
    out_dir, results, rows = report_dir
    record = read_record(out_dir, 'bench')
    assert record.baseline == 'original' and record.invocations == ['python tools/benchmark.py x']
    assert record.settings == ['original', 'iaaa']
    assert record.bootstrap_rows == rows
    assert all(r['recorded'] for r in record.results)
    # the recorded runs tabulate exactly like the original results
    assert summarize(record.results)['metrics'] == summarize(results)['metrics']
    by_run = {r['run']: r for r in record.results}
    assert by_run['det/iaaa/seed1']['metrics']['segm_AP'] == pytest.approx(0.23)
    assert 'APs' not in by_run['det/iaaa/seed1']['metrics']  # missing stays missing
    assert by_run['det/iaaa/seed1']['val_metrics'] == {'AP': pytest.approx(0.19), 'AP75': 0.1}
    assert read_record(out_dir, 'other_benchmark').results == []
    assert read_record(out_dir / 'nothing_here', 'bench').results == []


def test_bad_record_files_are_named(report_dir):
    out_dir, _, _ = report_dir
    (out_dir / 'bootstrap.csv').write_text('metric,group,setting,seed,gain\nAP,det,iaaa,x,1\n')
    with pytest.raises(ValueError, match='bootstrap.csv: unreadable row'):
        read_record(out_dir, 'bench')
    (out_dir / 'summary.json').write_text('{"name": "bench", ')
    with pytest.raises(ValueError, match='corrupt json file .*summary.json'):
        read_record(out_dir, 'bench')


def test_current_runs_replace_recorded_ones_and_changed_cells_drop_their_intervals(report_dir):
    out_dir, results, rows = report_dir
    record = read_record(out_dir, 'bench')
    # work dirs gone: everything is kept
    assert carried_over(record, [], 'original', []) == (record.results, rows)
    # the original runs still exist, unchanged (retraining reproduced them): all rows hold
    originals = [copy.deepcopy(r) for r in results if r['setting'] == 'original']
    originals[0]['train_seconds'] = 999.0  # timing is not a result
    kept, kept_rows = carried_over(record, originals, 'original', [])
    assert {r['setting'] for r in kept} == {'iaaa'} and kept_rows == rows
    # a recomputed interval replaces the recorded one
    _, kept_rows = carried_over(record, originals, 'original', [_gain('iaaa', 0)])
    assert _gain('iaaa', 0) not in kept_rows and len(kept_rows) == 3
    # a baseline run with other metrics (retrained differently): its cell's rows go
    originals[1]['metrics']['AP'] += 0.01
    kept, kept_rows = carried_over(record, originals, 'original', [])
    assert kept_rows == [] and len(kept) == 2
    # another baseline: the recorded intervals measured something else
    assert carried_over(record, [], 'iaaa', []) == (record.results, [])


def test_rewritten_report_marks_recorded_runs(report_dir):
    out_dir, _, rows = report_dir
    record = read_record(out_dir, 'bench')
    kept, kept_rows = carried_over(record, [], 'original', [])
    write_report(out_dir, 'bench', kept, bootstrap_rows=kept_rows)
    md = (out_dir / 'bench.md').read_text()
    assert '`det/iaaa/seed0` (recorded)' in md and '4 run(s) marked "(recorded)"' in md
    assert '# det/iaaa/seed0: recorded' in md
    assert read_record(out_dir, 'bench').bootstrap_rows == rows  # survives a second rewrite
