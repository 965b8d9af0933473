"""The detector benchmark harness: table math, planning, resume logic and a real run.

- aggregation / gain math on synthetic numbers with hand-computed results;
- the harness with stand-in train/test scripts (fast): order, failure isolation,
  skipping finished runs, resuming an interrupted training with --resume;
- tools/benchmark.py end to end with mmdet on the bundled sample (two one-epoch settings,
  one seed), then a second invocation that skips both and reports a broken setting.
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import pytest

from mmaug_is.benchmarking import (PlanError, ToolRunner, check_work_dirs, detector_groups,
                                   execute_runs, explicit_groups, find_test_metrics,
                                   mean_std, paired_gain, plan_runs, run_state, summarize,
                                   write_report)
from mmaug_is.benchmarking.runs import (RunFailed, execute_run, finished_results, parse_setting,
                                        run_metrics, validation_metrics)
from mmaug_is.benchmarking.runs import test_outputs as outputs_of_test  # not a test
from mmaug_is.benchmarking.tables import column_order

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CFG = REPO_ROOT / 'configs' / 'cpu' / 'faster_rcnn_r18_sample.py'
T_975_DF2 = 4.302652729911275  # Student t 97.5% quantile, 2 degrees of freedom


# ------------------------------------------------------------------------ table math

def test_mean_std_sample_std_and_missing_values():
    assert mean_std([1.0, 2.0, 3.0]) == {'n': 3, 'mean': 2.0, 'std': 1.0}
    assert mean_std([5.0, math.nan, None]) == {'n': 1, 'mean': 5.0, 'std': None}
    assert mean_std([]) == {'n': 0, 'mean': None, 'std': None}


def test_paired_gain_uses_common_seeds_and_t_interval():
    base = {0: 10.0, 1: 12.0, 2: 14.0, 3: 9.0}
    other = {0: 11.0, 1: 14.0, 2: 15.0, 7: 30.0}  # seeds 3 and 7 are unpaired
    gain = paired_gain(base, other)
    assert gain['seeds'] == [0, 1, 2] and gain['n'] == 3
    assert gain['mean'] == pytest.approx(4 / 3, abs=1e-4)
    assert gain['std'] == pytest.approx(math.sqrt(1 / 3), abs=1e-4)
    half = T_975_DF2 * math.sqrt(1 / 3) / math.sqrt(3)
    assert gain['ci95'] == pytest.approx([4 / 3 - half, 4 / 3 + half], abs=1e-4)
    single = paired_gain({0: 1.0}, {0: 3.0})
    assert (single['n'], single['mean'], single['std'], single['ci95']) == (1, 2.0, None, None)


def _result(group, setting, seed, ap, ap50=0.5, ap75=0.2, aps=0.1):
    return {'run': f'{group}/{setting}/seed{seed}', 'group': group, 'setting': setting,
            'seed': seed, 'metrics': {'AP': ap, 'AP50': ap50, 'AP75': ap75, 'APs': aps},
            'train_seconds': 60.0, 'test_seconds': 5.0,
            'commands': {'train': f'train {group} {setting} {seed}',
                         'test': f'test {group} {setting} {seed}'}}


@pytest.fixture
def synthetic_results():
    """det_a: original 20/22/24, iaaa 21/24/25; det_b: original 30/30, iaaa 33/31.

    APs of det_b/iaaa/seed0 is COCO's -1 (no small objects): it must count as missing.
    """
    rows = []
    for seed, (orig, iaaa) in enumerate([(0.20, 0.21), (0.22, 0.24), (0.24, 0.25)]):
        rows += [_result('det_a', 'original', seed, orig), _result('det_a', 'iaaa', seed, iaaa)]
    for seed, (orig, iaaa) in enumerate([(0.30, 0.33), (0.30, 0.31)]):
        rows += [_result('det_b', 'original', seed, orig),
                 _result('det_b', 'iaaa', seed, iaaa, aps=-1 if seed == 0 else 0.1)]
    return rows


def test_summarize_cells_gains_and_pooled_pairs(synthetic_results):
    summary = summarize(synthetic_results)
    assert summary['groups'] == ['det_a', 'det_b']
    assert summary['settings'] == ['original', 'iaaa']
    ap = summary['metrics']['AP']
    assert ap['cells']['det_a']['original'] == {
        'n': 3, 'mean': 22.0, 'std': 2.0, 'values': {'0': 20.0, '1': 22.0, '2': 24.0}}
    assert ap['cells']['det_a']['iaaa']['mean'] == pytest.approx(70 / 3, abs=1e-4)
    assert ap['cells']['det_b']['original']['std'] == 0.0
    # mean gain = average over detectors of (iaaa mean - original mean) = (4/3 + 2) / 2
    assert ap['mean_gain']['iaaa'] == {'mean': pytest.approx(5 / 3, abs=1e-4), 'n_groups': 2}
    assert ap['paired_gain']['det_a']['iaaa']['mean'] == pytest.approx(4 / 3, abs=1e-4)
    assert ap['paired_gain']['det_b']['iaaa']['std'] == pytest.approx(math.sqrt(2), abs=1e-4)
    pooled = ap['paired_gain_all']['iaaa']  # differences 1, 2, 1, 3, 1
    assert pooled['n'] == 5 and pooled['mean'] == pytest.approx(1.6, abs=1e-4)
    assert pooled['std'] == pytest.approx(math.sqrt(0.8), abs=1e-4)
    aps = summary['metrics']['APs']['cells']['det_b']['iaaa']
    assert aps['n'] == 1 and aps['values'] == {'0': None, '1': 10.0}
    assert 'original' not in ap['mean_gain']


def test_column_order_baseline_then_earlier_runs_by_finish_then_new():
    earlier = [{'setting': 'iaaa', 'finished': '2026-11-22T12:30:00'},
               {'setting': 'original', 'finished': '2026-11-22T11:39:00'},
               {'setting': 'copypaste', 'finished': '2026-11-22T14:21:00'},
               {'setting': 'iaaa', 'finished': '2026-11-22T10:00:00'}]
    assert column_order(['iaaaown', 'copypaste'], earlier) == \
        ['original', 'iaaa', 'copypaste', 'iaaaown']
    assert column_order(['iaaa', 'original'], []) == ['original', 'iaaa']
    assert column_order(['a', 'b'], [], baseline='original') == ['a', 'b']


def test_summarize_rejects_duplicate_runs(synthetic_results):
    with pytest.raises(ValueError, match='det_a/original/seed0'):
        summarize(synthetic_results + [_result('det_a', 'original', 0, 0.5)])


def test_write_report_files(tmp_path, synthetic_results):
    class Failure:  # what the report reads from a RunFailed
        run = type('R', (), {'name': 'det_b/iaaa/seed2'})()
        stage, reason, log = 'train', 'tools/train.py exited with code 1', tmp_path / 'x.log'

    write_report(tmp_path, 'synth', synthetic_results,
                 invocations=['python tools/benchmark.py --name synth'], failures=[Failure()],
                 environment={'MMAUG_OFFLINE': '1'})
    md = (tmp_path / 'synth.md').read_text()
    assert md.index('MMAUG_OFFLINE=1 python tools/benchmark.py --name synth') < md.index('## AP')
    assert '| `det_a` | 22.00 ± 2.00 (n=3) | 23.33 ± 2.08 (n=3) |' in md
    assert '**mean gain vs original** | — | +1.67 (2 groups) |' in md
    assert 'det_b/iaaa/seed2' in md and 'train det_a original 0' in md
    with open(tmp_path / 'AP.csv', newline='') as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]['detector'] == 'det_a' and float(rows[0]['original mean']) == 22.0
    assert rows[-1]['detector'] == 'mean gain vs original'
    assert float(rows[-1]['iaaa mean']) == pytest.approx(5 / 3, abs=1e-3)
    with open(tmp_path / 'paired_gains.csv', newline='') as handle:
        pooled = [r for r in csv.DictReader(handle)
                  if r['metric'] == 'AP' and r['detector'] == 'ALL (pooled)']
    assert int(pooled[0]['n']) == 5 and float(pooled[0]['mean']) == pytest.approx(1.6)
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['failed'][0]['run'] == 'det_b/iaaa/seed2'
    chart = cv2.imread(str(tmp_path / 'bars.png'))
    assert chart is not None and chart.shape[0] > 200 and chart.std() > 0
    assert '## segm_AP' not in md and not (tmp_path / 'segm_AP.csv').exists()  # boxes only


def test_tables_gain_mask_columns_when_runs_have_mask_metrics(tmp_path, synthetic_results):
    """Mask runs (det_a) report segm_AP / segm_AP50 / segm_AP75 beside the box metrics;
    box-only runs (det_b) leave those cells empty."""
    for r in synthetic_results:
        if r['group'] == 'det_a':
            r['metrics'].update(segm_AP=r['metrics']['AP'] - 0.05, segm_AP50=0.45,
                                segm_AP75=0.15)
    summary = write_report(tmp_path, 'masks', synthetic_results)
    assert list(summary['metrics']) == ['AP', 'AP50', 'AP75', 'APs', 'segm_AP', 'segm_AP50',
                                        'segm_AP75']
    segm = summary['metrics']['segm_AP']
    assert segm['cells']['det_a']['original'] == {
        'n': 3, 'mean': 17.0, 'std': 2.0, 'values': {'0': 15.0, '1': 17.0, '2': 19.0}}
    assert segm['cells']['det_b']['iaaa']['n'] == 0
    assert segm['paired_gain']['det_a']['iaaa']['mean'] == pytest.approx(4 / 3, abs=1e-4)
    md = (tmp_path / 'masks.md').read_text()
    assert md.index('## APs') < md.index('## segm_AP\n') < md.index('## segm_AP75')
    assert '| `det_a` | 17.00 ± 2.00 (n=3) | 18.33 ± 2.08 (n=3) |' in md
    assert '| `det_b` | — | — |' in md
    assert '| run | AP | AP50 | AP75 | APs | segm_AP | segm_AP50 | segm_AP75 |' in md
    with open(tmp_path / 'segm_AP50.csv', newline='') as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[0]['original mean']) == 45.0 and rows[1]['original mean'] == ''
    with open(tmp_path / 'runs.csv', newline='') as handle:
        runs = {r['run']: r for r in csv.DictReader(handle)}
    assert float(runs['det_a/iaaa/seed1']['segm_AP']) == pytest.approx(19.0)
    assert runs['det_b/iaaa/seed1']['segm_AP'] == ''
    with open(tmp_path / 'paired_gains.csv', newline='') as handle:
        assert 'segm_AP75' in {r['metric'] for r in csv.DictReader(handle)}


def test_run_metrics_adds_mask_metrics_when_the_test_evaluated_masks():
    box = {'coco/bbox_mAP': 0.3, 'coco/bbox_mAP_50': 0.6, 'coco/bbox_mAP_75': 0.3,
           'coco/bbox_mAP_s': 0.2}
    assert run_metrics(box) == {'AP': 0.3, 'AP50': 0.6, 'AP75': 0.3, 'APs': 0.2}
    masks = dict(box, **{'coco/segm_mAP': 0.25, 'coco/segm_mAP_50': 0.55,
                         'coco/segm_mAP_75': 0.2, 'coco/segm_mAP_s': 0.1})
    assert run_metrics(masks) == {'AP': 0.3, 'AP50': 0.6, 'AP75': 0.3, 'APs': 0.2,
                                  'segm_AP': 0.25, 'segm_AP50': 0.55, 'segm_AP75': 0.2}
    for missing, metrics in (('coco/segm_mAP_75', masks), ('coco/bbox_mAP_s', box)):
        with pytest.raises(KeyError, match=missing):
            run_metrics({k: v for k, v in metrics.items() if k != missing})


def test_test_outputs_list_mask_predictions_when_written(tmp_path):
    runner = ToolRunner(tools_dir=tmp_path, cwd=tmp_path, python=sys.executable)
    (run, ) = plan_runs(explicit_groups([f'a={SAMPLE_CFG}']), [0], tmp_path / 'work')
    test_dir = run.work_dir / 'test'
    test_dir.mkdir(parents=True)
    (tmp_path / 'test.json').write_text('{}')
    (test_dir / SAMPLE_CFG.name).write_text("test_evaluator = dict(ann_file='test.json')\n")
    (test_dir / 'predictions.bbox.json').write_text('[]')
    boxes_only = outputs_of_test(run, runner, since=0)
    assert boxes_only == {'predictions': 'work/faster_rcnn_r18_sample/a/seed0/test/'
                          'predictions.bbox.json', 'test_ann_file': 'test.json'}
    (test_dir / 'predictions.segm.json').write_text('[]')
    assert outputs_of_test(run, runner, since=0) == dict(
        boxes_only, segm_predictions='work/faster_rcnn_r18_sample/a/seed0/test/'
        'predictions.segm.json')


# -------------------------------------------------------------------------- planning

def test_parse_setting_with_options():
    assert parse_setting('b=cfg.py::a.b=1::c=[1,2]') == ('b', 'cfg.py', ('a.b=1', 'c=[1,2]'))
    assert parse_setting('iaaa::x={seed}', with_config=False) == ('iaaa', None, ('x={seed}',))
    for bad in ('nameonly', 'bad/name=cfg.py', 'a=cfg.py::noequals', 'a=cfg.py::randomness.seed=3'):
        with pytest.raises(PlanError):
            parse_setting(bad)


def test_plan_is_seed_major_with_seed_substitution(tmp_path):
    groups = explicit_groups([f'original={SAMPLE_CFG}', f'b={SAMPLE_CFG}::x.seed={{seed}}'])
    runs = plan_runs(groups, [3, 5], tmp_path, cfg_options=['train_cfg.max_epochs=1'])
    assert [r.name for r in runs] == [
        'faster_rcnn_r18_sample/original/seed3', 'faster_rcnn_r18_sample/b/seed3',
        'faster_rcnn_r18_sample/original/seed5', 'faster_rcnn_r18_sample/b/seed5']
    assert runs[3].cfg_options == ('train_cfg.max_epochs=1', 'x.seed=5')
    assert runs[3].work_dir == tmp_path.resolve() / 'faster_rcnn_r18_sample' / 'b' / 'seed5'
    with pytest.raises(PlanError, match='seed'):
        plan_runs(groups, [1, 1], tmp_path)
    with pytest.raises(PlanError, match='config not found'):
        explicit_groups([f'a={tmp_path / "missing.py"}'])


def test_detector_shorthand_maps_and_lists_missing_configs(tmp_path):
    for folder in ('baselines', 'iaaa'):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / 'det.py').write_text('')
    groups = detector_groups(['det'], ['original', 'iaaa'], tmp_path)
    assert [s.config for s in groups['det']] == [tmp_path / 'baselines' / 'det.py',
                                                 tmp_path / 'iaaa' / 'det.py']
    with pytest.raises(PlanError) as err:
        detector_groups(['det', 'other'], ['original', 'saaa'], tmp_path)
    for missing in ('saaa/det.py', 'baselines/other.py', 'saaa/other.py'):
        assert missing in str(err.value)


def test_work_dir_of_another_run_is_refused(tmp_path):
    runs = plan_runs(explicit_groups([f'a={SAMPLE_CFG}']), [0], tmp_path)
    runs[0].work_dir.mkdir(parents=True)
    (runs[0].work_dir / 'run.json').write_text(json.dumps(dict(runs[0].signature(), seed=9)))
    with pytest.raises(PlanError, match='holds another run'):
        check_work_dirs(runs)


def test_find_test_metrics_ignores_stale_and_foreign_json(tmp_path):
    def write(stamp, data, mtime):
        path = tmp_path / stamp / f'{stamp}.json'
        path.parent.mkdir()
        path.write_text(json.dumps(data))
        os.utime(path, (mtime, mtime))
        return path

    write('20240101_000000', {'coco/bbox_mAP': 0.1}, 1000)
    fresh = write('20240101_000100', {'coco/bbox_mAP': 0.3}, 5000)
    write('20240101_000200', {'loss': 1.0}, 6000)
    assert find_test_metrics(tmp_path, since=2000) == (fresh, {'coco/bbox_mAP': 0.3})
    with pytest.raises(FileNotFoundError, match='coco/bbox_mAP'):
        find_test_metrics(tmp_path, since=9000)


# ------------------------------------------------- the harness with stand-in tools

FAKE_TRAIN = '''
import argparse, json, pathlib, sys
p = argparse.ArgumentParser()
p.add_argument('config'); p.add_argument('--work-dir')
p.add_argument('--offline', action='store_true'); p.add_argument('--resume', action='store_true')
p.add_argument('--cfg-options', nargs='+', default=[])
a = p.parse_args()
opts = dict(o.split('=', 1) for o in a.cfg_options)
wd = pathlib.Path(a.work_dir)
with open(wd / 'calls.txt', 'a') as f:
    f.write(' '.join(sys.argv[1:]) + '\\n')
if 'broken' in a.config:
    sys.exit('config is broken: ' + a.config)
ckpt = wd / 'epoch_1.pth'
ckpt.write_text(json.dumps({'seed': int(opts['randomness.seed']), 'config': a.config}))
logs = wd / '20240101_000000' / 'vis_data'
logs.mkdir(parents=True, exist_ok=True)
val = {'coco/bbox_mAP': 0.1 + 0.01 * int(opts['randomness.seed']), 'coco/bbox_mAP_50': 0.3,
       'coco/bbox_mAP_75': 0.05, 'coco/bbox_mAP_s': 0.05}
(logs / 'scalars.json').write_text(json.dumps({'loss': 1.0}) + '\\n' + json.dumps(val) + '\\n')
(wd / 'last_checkpoint').write_text(str(ckpt))
if opts.get('crash') == '1' and not a.resume:
    sys.exit('interrupted after the first checkpoint')
'''
FAKE_TEST = '''
import argparse, json, pathlib, time
p = argparse.ArgumentParser()
p.add_argument('config'); p.add_argument('checkpoint'); p.add_argument('--work-dir')
p.add_argument('--offline', action='store_true'); p.add_argument('--cfg-options', nargs='+')
a = p.parse_args()
ck = json.loads(pathlib.Path(a.checkpoint).read_text())
ap = 0.2 + 0.01 * ck['seed'] + (0.05 if 'better' in ck['config'] else 0.0)
stamp = time.strftime('%Y%m%d_%H%M%S')
out = pathlib.Path(a.work_dir) / stamp
out.mkdir(parents=True)
(out / (stamp + '.json')).write_text(json.dumps({'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': 0.5,
    'coco/bbox_mAP_75': 0.2, 'coco/bbox_mAP_s': 0.1}))
'''


@pytest.fixture
def fake_runner(tmp_path):
    tools = tmp_path / 'tools'
    tools.mkdir()
    (tools / 'train.py').write_text(textwrap.dedent(FAKE_TRAIN))
    (tools / 'test.py').write_text(textwrap.dedent(FAKE_TEST))
    for name in ('base', 'better', 'broken'):
        (tmp_path / f'{name}.py').write_text('# stand-in config\n')
    return ToolRunner(tools_dir=tools, cwd=tmp_path, python=sys.executable, invocation='fake')


def test_harness_isolates_failures_skips_and_resumes(tmp_path, fake_runner):
    groups = explicit_groups([f'original={tmp_path / "base.py"}',
                              f'better={tmp_path / "better.py"}::crash=1',
                              f'broken={tmp_path / "broken.py"}'], group='det')
    runs = plan_runs(groups, [0, 1], tmp_path / 'work')
    results, failures = execute_runs(runs, fake_runner, progress=False)
    # the interrupted 'better' trainings and the broken setting fail; the others finish
    assert [r['run'] for r in results] == ['det/original/seed0', 'det/original/seed1']
    assert sorted(f.run.name for f in failures) == [
        'det/better/seed0', 'det/better/seed1', 'det/broken/seed0', 'det/broken/seed1']
    broken = next(f for f in failures if f.run.name == 'det/broken/seed0')
    assert 'config is broken' in broken.tail and broken.log.name == 'train.log'
    assert [run_state(r) for r in runs[:3]] == ['done', 'resume', 'new']
    assert [r['val_metrics']['AP'] for r in results] == pytest.approx([0.10, 0.11])

    done_result = runs[0].work_dir / 'result.json'
    mtime = done_result.stat().st_mtime_ns
    results, failures = execute_runs(runs, fake_runner, progress=False)
    assert done_result.stat().st_mtime_ns == mtime  # finished runs are not redone
    assert (runs[0].work_dir / 'calls.txt').read_text().count('\n') == 1
    better_calls = (runs[1].work_dir / 'calls.txt').read_text().splitlines()
    assert '--resume' not in better_calls[0] and '--resume' in better_calls[1]
    better = {r['seed']: r for r in results if r['setting'] == 'better'}
    assert better[1]['metrics']['AP'] == pytest.approx(0.26) and better[1]['resumed_training']
    assert len(failures) == 2 and all(f.run.setting == 'broken' for f in failures)
    summary = summarize(results, groups=['det'], settings=['original', 'better', 'broken'])
    gain = summary['metrics']['AP']['paired_gain']['det']['better']
    assert gain['n'] == 2 and gain['mean'] == pytest.approx(5.0) and gain['std'] == 0.0


# ------------------------------------------- end to end with mmdet on the sample data

def _benchmark(*args):
    env = dict(os.environ, MMAUG_OFFLINE='1', OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'tools/benchmark.py', *map(str, args)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200)


def test_benchmark_tool_end_to_end_and_restart(tmp_path):
    pytest.importorskip('mmdet', reason='mmdet is needed for the end-to-end benchmark')
    out_dir, work_root = tmp_path / 'out', tmp_path / 'work'
    common = ['--name', 'e2e', '--seeds', '0', '--offline', '--work-root', work_root,
              '--out-dir', out_dir, '--no-progress', '--cfg-options', 'train_cfg.max_epochs=1',
              # one training iteration (4 images, batch 4) and one validation image
              'train_dataloader.dataset.indices=4', 'val_dataloader.dataset.indices=1',
              '--setting', f'original={SAMPLE_CFG}',
              '--setting', f'lowlr={SAMPLE_CFG}::optim_wrapper.optimizer.lr=0.005']
    first = _benchmark(*common)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    runs = work_root / 'e2e' / 'faster_rcnn_r18_sample'
    results = {s: json.loads((runs / s / 'seed0' / 'result.json').read_text())
               for s in ('original', 'lowlr')}
    for result in results.values():
        assert set(result['metrics']) == {'AP', 'AP50', 'AP75', 'APs'}
        assert all(-1 <= v <= 1 for v in result['metrics'].values())
        assert set(result['val_metrics']) == set(result['metrics'])  # the training's val
        assert (REPO_ROOT / result['checkpoint']).is_file() or Path(result['checkpoint']).is_file()
        predictions = REPO_ROOT / result['predictions']  # test detections are kept
        assert predictions.name == 'predictions.bbox.json'
        assert isinstance(json.loads(predictions.read_text()), list)
        assert Path(result['test_ann_file']).name == 'test.json'
    assert 'optim_wrapper.optimizer.lr=0.005' in results['lowlr']['commands']['train']
    assert 'randomness.seed=0' in results['original']['commands']['train']
    md = (out_dir / 'e2e.md').read_text()
    assert '--name e2e' in md.split('## AP')[0]
    assert '| `faster_rcnn_r18_sample` |' in md and 'mean gain vs original' in md
    assert '## Paired bootstrap over test images' in md and (out_dir / 'bootstrap.csv').is_file()
    for name in ('AP.csv', 'AP50.csv', 'AP75.csv', 'APs.csv', 'bars.png', 'summary.json'):
        assert (out_dir / name).is_file(), name
    summary = json.loads((out_dir / 'summary.json').read_text())
    cell = summary['metrics']['AP']['cells']['faster_rcnn_r18_sample']['original']
    assert cell['n'] == 1
    assert cell['mean'] == pytest.approx(100 * results['original']['metrics']['AP'])

    mtimes = {s: (runs / s / 'seed0' / 'result.json').stat().st_mtime_ns for s in results}
    broken = f'broken={SAMPLE_CFG}::train_dataloader.dataset.ann_file=annotations/nope.json'
    second = _benchmark(*common, '--setting', broken)
    assert second.returncode == 1
    assert second.stdout.count('[skip]') == 2
    assert 'nope.json' in second.stdout  # the failed run's log tail is shown
    assert 'broken/seed0' in second.stderr
    assert {s: (runs / s / 'seed0' / 'result.json').stat().st_mtime_ns for s in results} == mtimes
    assert '`faster_rcnn_r18_sample/broken/seed0` (train)' in (out_dir / 'e2e.md').read_text()

    (out_dir / 'e2e.md').unlink()
    pending = f'pending={SAMPLE_CFG}::optim_wrapper.optimizer.lr=0.001'
    third = _benchmark(*common, '--setting', pending, '--report-only')
    assert third.returncode == 0, third.stderr[-3000:]
    assert '[run ]' not in third.stdout and not (runs / 'pending').exists()
    assert '2 of 3 runs finished' in third.stdout and 'pending/seed0 (new)' in third.stdout
    report_md = (out_dir / 'e2e.md').read_text()
    assert '| `faster_rcnn_r18_sample` |' in report_md and '--report-only' not in report_md

    # a later command planning only part of the benchmark keeps the other runs in the table
    fourth = _benchmark(*common[:-2], '--report-only')  # without the lowlr setting
    assert fourth.returncode == 0, fourth.stderr[-3000:]
    assert '1 finished run(s) of earlier commands: faster_rcnn_r18_sample/lowlr/seed0' \
        in fourth.stdout
    summary = json.loads((out_dir / 'summary.json').read_text())
    assert summary['metrics']['AP']['cells']['faster_rcnn_r18_sample']['lowlr']['n'] == 1

    # the lowlr run's work dir is purged: the rewritten report keeps what it recorded
    bootstrap = (out_dir / 'bootstrap.csv').read_text()
    shutil.rmtree(runs / 'lowlr')
    fifth = _benchmark(*common[:-2], '--report-only')
    assert fifth.returncode == 0, fifth.stderr[-3000:]
    assert 'keep 1 run(s) recorded in' in fifth.stdout and 'lowlr/seed0' in fifth.stdout
    cells = json.loads((out_dir / 'summary.json').read_text())['metrics']['AP']['cells']
    assert cells == summary['metrics']['AP']['cells']  # recorded to 4 decimals of AP points
    assert (out_dir / 'bootstrap.csv').read_text() == bootstrap
    assert '`faster_rcnn_r18_sample/lowlr/seed0` (recorded)' in (out_dir / 'e2e.md').read_text()


def test_run_lock_refuses_a_live_holder_and_takes_over_a_stale_one(tmp_path, fake_runner):
    run = plan_runs(explicit_groups([f'a={tmp_path / "base.py"}']), [0], tmp_path / 'w')[0]
    run.work_dir.mkdir(parents=True)
    (run.work_dir / '.lock').write_text(str(os.getpid()))
    with pytest.raises(RunFailed, match='held by running process'):
        execute_run(run, fake_runner)
    assert run_state(run) == 'new'
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    (run.work_dir / '.lock').write_text(str(gone.pid))
    assert execute_run(run, fake_runner)['metrics']['AP'] == pytest.approx(0.2)
    assert not (run.work_dir / '.lock').exists()
