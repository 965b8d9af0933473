"""Plan, run and resume detector benchmark runs (one subprocess per train / test).

A *run* is one (group, setting, seed): a detector group (a row of the result table, e.g.
``faster_rcnn_r101``), a setting (a column: ``original``, ``iaaa``, ``saaa``, ...) given
by a config file plus optional cfg options, and a training seed. Each run lives in
``work_root/<name>/<group>/<setting>/seed<k>/``:

- ``run.json``        what the directory holds (config, options, seed); a directory that
                      holds a different run is refused instead of being mixed up
- ``train.log``       stdout + stderr of ``tools/train.py`` (appended on resume)
- ``last_checkpoint`` written by mmengine: the path of the final checkpoint
- ``train_done.json`` training finished (checkpoint, seconds, command)
- ``test/``, ``test.log``  ``tools/test.py`` on the config's TEST split; its COCO
                      detections in ``test/predictions.bbox.json`` (and the masks of an
                      instance-segmentation config in ``test/predictions.segm.json``)
- ``result.json``     the finished run's COCO metrics (written atomically, last): box AP,
                      and mask AP (``segm_*``) when the config evaluates ``segm``; and
                      ``val_metrics``, the same read from the last validation the training
                      logged (the split settings are chosen on)

Restarting the same plan skips runs with a ``result.json``, only tests runs whose
training finished, and resumes training (``--resume``) where a checkpoint exists.
"""
import contextlib
import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mmengine.config import Config
from tqdm import tqdm

from mmaug_is.core.io import write_json

__all__ = ['METRIC_KEYS', 'SEGM_METRIC_KEYS', 'PlanError', 'Run', 'RunFailed', 'Setting',
           'ToolRunner', 'check_work_dirs', 'describe_plan', 'detector_groups',
           'execute_run', 'execute_runs', 'explicit_groups', 'find_test_metrics',
           'finished_results', 'last_checkpoint', 'parse_setting', 'plan_runs', 'read_json',
           'read_result', 'run_metrics', 'run_state', 'test_outputs', 'validation_metrics',
           'write_json']

# metric name in the tables -> key of mmdet's CocoMetric (bbox) in the metrics json
METRIC_KEYS = {
    'AP': 'coco/bbox_mAP',
    'AP50': 'coco/bbox_mAP_50',
    'AP75': 'coco/bbox_mAP_75',
    'APs': 'coco/bbox_mAP_s',
}
# the same for masks, reported when a run evaluated `segm` (instance-segmentation configs)
SEGM_METRIC_KEYS = {
    'segm_AP': 'coco/segm_mAP',
    'segm_AP50': 'coco/segm_mAP_50',
    'segm_AP75': 'coco/segm_mAP_75',
}
# test/predictions.bbox.json (and .segm.json): the test split's COCO detections (and masks)
PREDICTIONS = 'predictions'
_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.+-]*$')
_LOG_TAIL_LINES = 40


class PlanError(ValueError):
    """The benchmark plan is invalid (bad setting, missing config, clashing work dir)."""


class RunFailed(RuntimeError):
    """A run's train or test stage failed; carries the log file and its last lines."""

    def __init__(self, run, stage, reason, log=None):
        self.run, self.stage, self.reason, self.log = run, stage, reason, log
        self.tail = tail_lines(log) if log is not None else ''
        where = f' (log: {log})' if log is not None else ''
        super().__init__(f'{run.name}: {stage} failed: {reason}{where}')


@dataclass(frozen=True)
class Setting:
    """A column of the benchmark: ``name``, its config file and extra cfg options."""

    name: str
    config: Path
    cfg_options: tuple = ()


@dataclass(frozen=True)
class Run:
    """One training + test of ``config`` with ``seed`` in ``work_dir``.

    ``cfg_options`` are the ``key=value`` strings passed to both tools (global options,
    then the setting's own, with ``{seed}`` replaced); the seed options are added to
    training only.
    """

    group: str
    setting: str
    seed: int
    config: Path
    cfg_options: tuple
    work_dir: Path

    @property
    def name(self):
        return f'{self.group}/{self.setting}/seed{self.seed}'

    def signature(self):
        """Plain-data description stored in ``run.json`` (what this directory holds)."""
        return {'group': self.group, 'setting': self.setting, 'seed': self.seed,
                'config': str(self.config), 'cfg_options': list(self.cfg_options)}


@dataclass
class ToolRunner:
    """How runs are executed: interpreter, tool scripts, working directory, environment.

    Commands are built with paths relative to ``cwd`` where possible, so the commands
    recorded in the results can be pasted into a shell at the repository root.
    """

    tools_dir: Path
    cwd: Path
    python: str
    offline: bool = False
    invocation: str = ''
    env: dict = field(default_factory=dict)

    def rel(self, path):
        """``path`` relative to ``cwd`` when inside it, else absolute (as a string)."""
        path = Path(path).resolve()
        try:
            return str(path.relative_to(self.cwd.resolve()))
        except ValueError:
            return str(path)

    def environment(self):
        env = dict(os.environ, PYTHONUNBUFFERED='1', **self.env)
        if self.offline:
            env['MMAUG_OFFLINE'] = '1'
        return env

    def train_command(self, run, resume):
        """``tools/train.py`` argv; ``resume`` adds ``--resume`` (latest checkpoint)."""
        cmd = [self.python, self.rel(self.tools_dir / 'train.py'), self.rel(run.config),
               '--work-dir', self.rel(run.work_dir)]
        if self.offline:
            cmd.append('--offline')
        if resume:
            cmd.append('--resume')
        return cmd + ['--cfg-options', *run.cfg_options, f'randomness.seed={run.seed}',
                      'randomness.deterministic=False']

    def test_command(self, run, checkpoint):
        """``tools/test.py`` argv evaluating ``checkpoint`` on the TEST split; the COCO
        detections are kept as ``test/predictions.bbox.json`` (masks: ``.segm.json``)."""
        test_dir = run.work_dir / 'test'
        cmd = [self.python, self.rel(self.tools_dir / 'test.py'), self.rel(run.config),
               str(checkpoint), '--work-dir', self.rel(test_dir)]
        if self.offline:
            cmd.append('--offline')
        return cmd + ['--cfg-options', *run.cfg_options,
                      f'test_evaluator.outfile_prefix={self.rel(test_dir / PREDICTIONS)}']


# ----------------------------------------------------------------------------- planning

def check_name(kind, name):
    """Raise ``PlanError`` unless ``name`` can be a directory name (letters, digits, _.+-)."""
    if not _NAME_RE.match(name):
        raise PlanError(f'invalid {kind} name {name!r}: use letters, digits and _ . + - '
                        '(it becomes a directory name)')
    return name


def check_cfg_option(option, where):
    """Validate one ``key=value`` cfg option; seeds are the harness's to set."""
    key, sep, _ = option.partition('=')
    if not sep or not key.strip():
        raise PlanError(f'{where}: cfg option {option!r} is not key=value')
    if key.strip() in ('randomness.seed', 'randomness'):
        raise PlanError(f'{where}: {option!r} would override the run seed; use --seeds')
    return option


def parse_setting(text, with_config=True):
    """Parse ``NAME=CONFIG[::KEY=VALUE[::KEY=VALUE ...]]`` (or ``NAME[::...]``).

    Returns ``(name, config or None, cfg_options tuple)``. ``::`` separates the setting's
    own cfg options, which may contain ``{seed}`` (replaced by the run seed).
    """
    head, *options = text.split('::')
    if with_config:
        name, sep, config = head.partition('=')
        if not sep or not config:
            raise PlanError(f'--setting {text!r}: expected NAME=CONFIG[::KEY=VALUE...]')
    else:
        name, config = head, None
        if '=' in head:
            raise PlanError(f'--settings {text!r}: expected NAME[::KEY=VALUE...] '
                            '(the config comes from configs/<setting>/<detector>.py)')
    check_name('setting', name)
    options = tuple(check_cfg_option(opt, f'setting {name!r}') for opt in options if opt)
    return name, config, options


def resolve_config(config, where):
    """Return the absolute path of an existing config file or raise ``PlanError``."""
    path = Path(config).expanduser().resolve()
    if not path.is_file():
        raise PlanError(f'{where}: config not found: {path}')
    return path


def explicit_groups(setting_texts, group=None):
    """``{group: [Setting, ...]}`` for ``--setting NAME=CONFIG[::opts]`` arguments.

    The group (table row) defaults to the file stem of the first setting's config.
    """
    settings = []
    for text in setting_texts:
        name, config, options = parse_setting(text, with_config=True)
        settings.append(Setting(name, resolve_config(config, f'setting {name!r}'), options))
    _check_unique('setting', [s.name for s in settings])
    group = check_name('group', group or settings[0].config.stem)
    return {group: settings}


def detector_groups(detectors, setting_texts, configs_root):
    """``{detector: [Setting, ...]}`` for ``--detectors D ... --settings S ...``.

    ``original`` maps to ``configs/baselines/<detector>.py``, any other setting ``s`` to
    ``configs/<s>/<detector>.py``. Every missing config is listed in one ``PlanError``.
    """
    configs_root = Path(configs_root)
    parsed = [parse_setting(text, with_config=False) for text in setting_texts]
    _check_unique('setting', [name for name, _, _ in parsed])
    _check_unique('detector', list(detectors))
    groups, missing = {}, []
    for detector in detectors:
        check_name('detector', detector)
        groups[detector] = []
        for name, _, options in parsed:
            folder = 'baselines' if name == 'original' else name
            path = configs_root / folder / f'{detector}.py'
            if not path.is_file():
                missing.append(str(path))
                continue
            groups[detector].append(Setting(name, path.resolve(), options))
    if missing:
        raise PlanError('config(s) not found (original -> configs/baselines/, '
                        'setting s -> configs/s/):\n  ' + '\n  '.join(missing))
    return groups


def _check_unique(kind, names):
    seen = set()
    for name in names:
        if name in seen:
            raise PlanError(f'{kind} {name!r} given twice')
        seen.add(name)


def plan_runs(groups, seeds, run_root, cfg_options=()):
    """Return the runs of ``groups`` x ``seeds``, seed-major.

    Seed-major order (all groups and settings of the first seed first) makes a partial
    benchmark already compare every setting. ``cfg_options`` (global) come before each
    setting's own; ``{seed}`` in any option is replaced by the run seed.
    """
    if not seeds:
        raise PlanError('no seeds given')
    _check_unique('seed', [str(s) for s in seeds])
    for seed in seeds:
        if int(seed) < 0:
            raise PlanError(f'seeds must be >= 0, got {seed}')
    cfg_options = tuple(check_cfg_option(opt, '--cfg-options') for opt in cfg_options)
    run_root = Path(run_root).resolve()
    runs = []
    for seed in seeds:
        for group, settings in groups.items():
            for setting in settings:
                options = tuple(opt.replace('{seed}', str(seed))
                                for opt in cfg_options + setting.cfg_options)
                runs.append(Run(group, setting.name, int(seed), setting.config, options,
                                run_root / group / setting.name / f'seed{seed}'))
    return runs


def check_work_dirs(runs):
    """Raise ``PlanError`` if a run's directory already holds a different run."""
    for run in runs:
        stored = read_json(run.work_dir / 'run.json')
        if stored is not None and stored != run.signature():
            raise PlanError(
                f'{run.work_dir} holds another run than planned:\n  stored:  {stored}\n'
                f'  planned: {run.signature()}\nuse another --name / --work-root or '
                'delete that directory')


# ------------------------------------------------------------------------ run state / IO

def read_json(path):
    """Load a json file; ``None`` if it does not exist; ``ValueError`` naming a bad one."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as err:
        raise ValueError(f'corrupt json file {path}: {err}') from None


def tail_lines(path, n=_LOG_TAIL_LINES, max_bytes=65536):
    """The last ``n`` lines of a text file ('' if it does not exist)."""
    path = Path(path)
    if not path.is_file():
        return ''
    with open(path, 'rb') as handle:
        handle.seek(max(0, path.stat().st_size - max_bytes))
        text = handle.read().decode('utf-8', errors='replace')
    return '\n'.join(text.splitlines()[-n:])


def run_state(run):
    """``'done'`` (has result.json), ``'test'`` (trained), ``'resume'`` (has a
    checkpoint) or ``'new'``."""
    if (run.work_dir / 'result.json').is_file():
        return 'done'
    if (run.work_dir / 'train_done.json').is_file():
        return 'test'
    if (run.work_dir / 'last_checkpoint').is_file():
        return 'resume'
    return 'new'


def finished_results(run_root, exclude=()):
    """``read_result`` of the finished runs under ``run_root/<group>/<setting>/seed<k>/``
    whose work dir is not in ``exclude``, ordered by directory path."""
    exclude = {Path(d).resolve() for d in exclude}
    found = sorted(Path(run_root).glob('*/*/seed*/result.json'))
    return [read_result(path.parent) for path in found if path.parent.resolve() not in exclude]


def read_result(work_dir):
    """A finished run's ``result.json`` content; a result written before ``val_metrics``
    existed gets them from the run's training logs (the file is not changed)."""
    result = read_json(Path(work_dir) / 'result.json')
    if 'val_metrics' not in result:
        result['val_metrics'] = validation_metrics(work_dir)
    return result


def validation_metrics(work_dir):
    """The table metrics of the last validation the training of ``work_dir`` logged
    (mmengine's ``<timestamp>/vis_data/scalars.json``; the test's folder is not searched):
    as ``run_metrics``; ``{}`` when no validation was logged."""
    last = {}
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for line in path.read_text(encoding='utf-8').splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and METRIC_KEYS['AP'] in entry:
                last = entry
    try:
        return run_metrics(last) if last else {}
    except KeyError:
        return {}


def last_checkpoint(work_dir, cwd):
    """Path of the checkpoint named in mmengine's ``work_dir/last_checkpoint`` file."""
    marker = Path(work_dir) / 'last_checkpoint'
    if not marker.is_file():
        raise FileNotFoundError(f'no last_checkpoint file in {work_dir}: training saved '
                                'no checkpoint')
    ckpt = Path(marker.read_text(encoding='utf-8').strip())
    if not ckpt.is_absolute():
        ckpt = Path(cwd) / ckpt
    if not ckpt.is_file():
        raise FileNotFoundError(f'{marker} names a missing checkpoint: {ckpt}')
    return ckpt


def find_test_metrics(test_dir, since=0.0):
    """Return ``(path, metrics)`` of the newest mmengine test metrics json in ``test_dir``.

    mmengine writes ``<test_dir>/<timestamp>/<timestamp>.json``; only files modified at or
    after ``since`` (a ``time.time()`` value) that hold ``coco/bbox_mAP`` count, so stale
    results of an earlier attempt are never picked up.
    """
    candidates = []
    for path in Path(test_dir).glob('*/*.json'):
        if path.stem != path.parent.name or path.stat().st_mtime < since - 1.0:
            continue
        data = read_json(path)
        if isinstance(data, dict) and METRIC_KEYS['AP'] in data:
            candidates.append((path.stat().st_mtime, path, data))
    if not candidates:
        raise FileNotFoundError(f'no metrics json with {METRIC_KEYS["AP"]} under '
                                f'{test_dir}/<timestamp>/<timestamp>.json')
    _, path, data = max(candidates, key=lambda item: item[0])
    return path, data


def _run_logged(cmd, log_path, runner):
    """Run ``cmd`` with stdout + stderr appended to ``log_path``; return the exit code.

    On KeyboardInterrupt the child is stopped (its saved checkpoints stay for --resume).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, 'a', encoding='utf-8') as log:
        log.write(f'\n===== {datetime.now().isoformat(timespec="seconds")} '
                  f'(cwd {runner.cwd})\n$ {shlex.join(cmd)}\n')
        log.flush()
        proc = subprocess.Popen(cmd, cwd=runner.cwd, env=runner.environment(), stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            return proc.wait()
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise


# ---------------------------------------------------------------------------- execution

def train(run, runner):
    """Train (or resume) ``run``; write ``train_done.json``; return its content."""
    resume = run_state(run) == 'resume'
    cmd = runner.train_command(run, resume)
    log = run.work_dir / 'train.log'
    start = time.time()
    code = _run_logged(cmd, log, runner)
    if code != 0:
        raise RunFailed(run, 'train', f'tools/train.py exited with code {code}', log)
    try:
        ckpt = last_checkpoint(run.work_dir, runner.cwd)
    except FileNotFoundError as err:
        raise RunFailed(run, 'train', str(err), log) from None
    done = {'checkpoint': str(ckpt), 'seconds': round(time.time() - start, 1),
            'resumed': resume, 'command': shlex.join(cmd)}
    write_json(run.work_dir / 'train_done.json', done)
    return done


def evaluate(run, runner, checkpoint):
    """Test ``checkpoint`` on the TEST split; return ``(command, seconds, path, metrics)``."""
    cmd = runner.test_command(run, runner.rel(checkpoint))
    log = run.work_dir / 'test.log'
    start = time.time()
    code = _run_logged(cmd, log, runner)
    if code != 0:
        raise RunFailed(run, 'test', f'tools/test.py exited with code {code}', log)
    try:
        path, metrics = find_test_metrics(run.work_dir / 'test', since=start)
    except (FileNotFoundError, ValueError) as err:
        raise RunFailed(run, 'test', str(err), log) from None
    return shlex.join(cmd), round(time.time() - start, 1), path, metrics


def test_outputs(run, runner, since):
    """``{'predictions': ..., 'test_ann_file': ...}`` of a finished test (paths as
    ``runner.rel``), plus ``'segm_predictions'`` when it wrote masks, read from mmengine's
    config dump; ``{}`` if the box predictions or the annotation file are missing."""
    test_dir = run.work_dir / 'test'
    written = {key: test_dir / f'{PREDICTIONS}.{iou_type}.json'
               for key, iou_type in (('predictions', 'bbox'), ('segm_predictions', 'segm'))}
    fresh = {key: path for key, path in written.items()
             if path.is_file() and path.stat().st_mtime >= since - 1.0}
    dumped = test_dir / Path(run.config).name
    if 'predictions' not in fresh or not dumped.is_file():
        return {}
    try:
        evaluator = Config.fromfile(dumped, import_custom_modules=False).get('test_evaluator')
    except Exception:  # noqa: BLE001 - the metrics stand without the detections' extras
        return {}
    ann_file = evaluator.get('ann_file') if isinstance(evaluator, dict) else None
    if not ann_file or not (runner.cwd / ann_file).is_file():  # an absolute path stays
        return {}
    return {**{key: runner.rel(path) for key, path in fresh.items()},
            'test_ann_file': runner.rel(runner.cwd / ann_file)}


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def run_lock(run):
    """Hold ``<work_dir>/.lock`` (our pid) while a run executes.

    A second harness working on the same run fails with ``RunFailed``; a lock left by a
    process that no longer exists is taken over.
    """
    lock = run.work_dir / '.lock'
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                raise RunFailed(run, 'lock', f'{lock} is held by running process {pid} '
                                '(another benchmark on the same work root?)') from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, 'w') as handle:
            handle.write(str(os.getpid()))
        break
    else:
        raise RunFailed(run, 'lock', f'cannot take {lock}')
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def execute_run(run, runner):
    """Train and test one run (resuming what is already done); return its result dict."""
    if run_state(run) == 'done':
        return read_result(run.work_dir)
    run.work_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run):
        return _train_and_test(run, runner)


def _train_and_test(run, runner):
    write_json(run.work_dir / 'run.json', run.signature())
    trained = read_json(run.work_dir / 'train_done.json') or train(run, runner)
    if not Path(trained['checkpoint']).is_file():
        raise RunFailed(run, 'test', f'checkpoint {trained["checkpoint"]} (from '
                        f'{run.work_dir / "train_done.json"}) is missing')
    test_start = time.time()
    test_cmd, test_seconds, metrics_path, coco = evaluate(run, runner, trained['checkpoint'])
    try:
        metrics = run_metrics(coco)
    except KeyError as err:
        raise RunFailed(run, 'test', f'{metrics_path} lacks {err.args[0]}',
                        run.work_dir / 'test.log') from None
    result = {
        'run': run.name, **run.signature(),
        'config': runner.rel(run.config),
        'metrics': metrics,
        'coco_metrics': coco,
        'val_metrics': validation_metrics(run.work_dir),
        'checkpoint': runner.rel(trained['checkpoint']),
        'metrics_file': runner.rel(metrics_path),
        **test_outputs(run, runner, test_start),
        'train_seconds': trained['seconds'],
        'resumed_training': trained['resumed'],
        'test_seconds': test_seconds,
        'commands': {'train': trained['command'], 'test': test_cmd},
        'invocation': runner.invocation,
        'finished': datetime.now().isoformat(timespec='seconds'),
    }
    write_json(run.work_dir / 'result.json', result)
    return result


def run_metrics(coco):
    """The table metrics (COCO fractions) of mmengine's test metrics ``coco``: every box
    metric, and every mask metric when the test evaluated ``segm``. ``KeyError`` listing
    the missing keys."""
    keys = dict(METRIC_KEYS, **(SEGM_METRIC_KEYS if SEGM_METRIC_KEYS['segm_AP'] in coco
                                else {}))
    missing = [key for key in keys.values() if key not in coco]
    if missing:
        raise KeyError(missing)
    return {name: float(coco[key]) for name, key in keys.items()}


def format_metrics(metrics):
    """'AP 19.7 | AP50 39.5 | ...' in AP points (COCO fraction x 100)."""
    return ' | '.join(f'{name} {100 * value:.1f}' for name, value in metrics.items())


def execute_runs(runs, runner, on_result=None, progress=True):
    """Execute ``runs`` in order with a progress bar; a failed run does not stop the rest.

    Args:
        runs: planned ``Run`` objects.
        runner: the ``ToolRunner``.
        on_result: called as ``on_result(results)`` after every finished run (e.g. to
            rewrite the tables).
        progress: show the tqdm bar.

    Returns:
        ``(results, failures)``: result dicts of finished runs (plan order) and the
        ``RunFailed`` exceptions.
    """
    results, failures = [], []
    bar = tqdm(runs, unit='run', disable=not progress, dynamic_ncols=True)
    for run in bar:
        bar.set_postfix_str(run.name)
        state = run_state(run)
        if state == 'done':
            tqdm.write(f'[skip] {run.name}: finished earlier ({run.work_dir / "result.json"})')
        else:
            what = {'new': 'train + test', 'resume': 'resume training + test',
                    'test': 'test (training finished earlier)'}[state]
            tqdm.write(f'[run ] {run.name}: {what}; logs in {run.work_dir}')
        try:
            result = execute_run(run, runner)
        except RunFailed as err:
            failures.append(err)
            tail = f'\n----- last lines of {err.log} -----\n{err.tail}\n-----' if err.log else ''
            tqdm.write(f'[FAIL] {err}{tail}')
            continue
        results.append(result)
        if state != 'done':
            tqdm.write(f'[done] {run.name}: {format_metrics(result["metrics"])} '
                       f'(train {result["train_seconds"] / 60:.1f} min, test '
                       f'{result["test_seconds"]:.0f} s)')
            if on_result is not None:
                on_result(results)
    bar.close()
    return results, failures


def describe_plan(runs, runner):
    """Human-readable plan: each run's state and the exact commands it would execute."""
    lines = [f'{len(runs)} run(s); commands run in {runner.cwd}']
    for run in runs:
        state = run_state(run)
        lines.append(f'\n[{state}] {run.name}  ({runner.rel(run.work_dir)})')
        if state == 'done':
            continue
        if state != 'test':
            lines.append('  ' + shlex.join(runner.train_command(run, state == 'resume')))
        ckpt = f'$(cat {runner.rel(run.work_dir / "last_checkpoint")})'
        test_cmd = runner.test_command(run, 'CHECKPOINT')
        lines.append('  ' + shlex.join(test_cmd).replace('CHECKPOINT', ckpt, 1))
    return '\n'.join(lines)

