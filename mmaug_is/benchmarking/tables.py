"""Aggregate benchmark results into tables (Markdown, CSV, JSON) and a bar chart.

Input: result dicts of finished runs (``runs.execute_run``), each with ``group``,
``setting``, ``seed`` and ``metrics`` = COCO bbox AP values (``METRICS``) and, for runs
that evaluated masks, mask AP values (``SEGM_METRICS``) as fractions in [0, 1] (COCO's -1,
"no object of this size in the test split", and a metric a run lacks count as missing).
Everything reported is in **AP points** (fraction x 100).

- cell (group, setting): mean and sample standard deviation (ddof 1) over seeds, with n;
- mean gain of a setting: the average over groups of (setting mean - baseline mean);
- paired gain: per group, the per-seed differences (setting - baseline, same seed), their
  mean, standard deviation and 95% t confidence interval; pooled over all groups too.
  A gain whose interval excludes 0 is unlikely to be seed noise.
- validation: the same cells for the runs' last validation during training
  (``val_metrics``), the numbers a setting is chosen on before its test AP is read.
"""
import csv
import io
import json
import math
import subprocess
from pathlib import Path

import numpy as np
from scipy import stats as sps

from mmaug_is.core.io import atomic_open

from .runs import METRIC_KEYS, SEGM_METRIC_KEYS

__all__ = ['METRICS', 'SEGM_METRICS', 'VAL_METRICS', 'bootstrap_csv', 'bootstrap_markdown',
           'format_cell', 'format_gain', 'mean_std', 'metric_csv', 'metric_markdown', 'paired_gain',
           'paired_gains_csv', 'plot_bars', 'render_markdown', 'runs_csv', 'summarize',
           'table_metrics', 'to_points', 'validation_markdown', 'write_report']

METRICS = tuple(METRIC_KEYS)  # AP, AP50, AP75, APs of boxes
SEGM_METRICS = tuple(SEGM_METRIC_KEYS)  # segm_AP, segm_AP50, segm_AP75: masks, where evaluated
VAL_METRICS = ('AP', 'AP75')  # read from the last validation of each training
UNIT = ('AP points (COCO AP x 100 on the TEST split: boxes, and masks in the `segm_*` '
        'metrics of instance-segmentation runs; every AP read at the last of '
        'proposal_nums detections per image: 300 with NucleiCocoMetric; runs recorded with '
        'mmdet\'s stock CocoMetric read the headline AP at 100)')


def table_metrics(results):
    """The metrics to tabulate: ``METRICS``, then ``SEGM_METRICS`` if any result has them."""
    with_masks = any(SEGM_METRICS[0] in r['metrics'] for r in results)
    return METRICS + (SEGM_METRICS if with_masks else ())


def to_points(value):
    """COCO fraction -> AP points; ``None`` or negative (COCO's -1) -> ``nan``."""
    if value is None or value < 0:
        return math.nan
    return 100.0 * float(value)


def _clean(value):
    """``nan`` -> ``None`` (valid JSON); floats rounded to 4 decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 4)


def mean_std(values):
    """``{'n', 'mean', 'std'}`` of the finite ``values``; std is the sample std (ddof 1),
    ``None`` for n < 2; mean ``None`` for n = 0."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
    n = int(arr.size)
    return {'n': n, 'mean': _clean(arr.mean()) if n else None,
            'std': _clean(arr.std(ddof=1)) if n > 1 else None}


def paired_gain(baseline, other):
    """Per-seed paired difference ``other - baseline`` over the seeds both have.

    Args:
        baseline, other: ``{seed: AP points}`` (non-finite values are ignored).

    Returns:
        ``{'n', 'mean', 'std', 'ci95', 'seeds'}``; ``ci95`` is ``[low, high]`` of the
        95% t interval of the mean difference (``None`` for n < 2).
    """
    seeds = sorted(s for s in set(baseline) & set(other)
                   if math.isfinite(baseline[s]) and math.isfinite(other[s]))
    diffs = [other[s] - baseline[s] for s in seeds]
    out = mean_std(diffs)
    out['seeds'] = seeds
    out['ci95'] = None
    if out['n'] > 1:
        half = sps.t.ppf(0.975, out['n'] - 1) * np.std(diffs, ddof=1) / math.sqrt(out['n'])
        mean = float(np.mean(diffs))
        out['ci95'] = [_clean(mean - half), _clean(mean + half)]
    return out


def _ordered(items):
    return list(dict.fromkeys(items))


def column_order(planned, earlier_results, baseline='original'):
    """Setting columns of a report: ``baseline`` first (if present), then the settings of
    ``earlier_results`` (result dicts of earlier commands) in the order their first run
    finished (``finished``, ISO time), then the other ``planned`` settings in plan order."""
    first_finished = {}
    for r in earlier_results:
        finished = r.get('finished', '')
        first_finished[r['setting']] = min(first_finished.get(r['setting'], finished), finished)
    names = sorted(first_finished, key=lambda s: (first_finished[s], s)) + list(planned)
    return _ordered(([baseline] if baseline in names else []) + names)


def summarize(results, baseline='original', groups=None, settings=None, metrics=None):
    """Aggregate run results into the summary dict written to ``summary.json``.

    Args:
        results: result dicts (``group``, ``setting``, ``seed``, ``metrics``).
        baseline: the setting gains are measured against.
        groups, settings: row / column order (default: order of first appearance).
        metrics: metric names to tabulate (default ``table_metrics(results)``); a result
            without one of them is a missing value.

    Returns:
        ``{'unit', 'baseline', 'groups', 'settings', 'metrics': {metric: {'cells':
        {group: {setting: {n, mean, std, values}}}, 'mean_gain': {setting: {mean,
        n_groups}}, 'paired_gain': {group: {setting: {...}}}, 'paired_gain_all':
        {setting: {...}}}}, 'validation': {group: {setting: {metric: {n, mean, std}}}},
        'runs': [...]}``.
    """
    groups = list(groups) if groups is not None else _ordered(r['group'] for r in results)
    metrics = tuple(metrics) if metrics is not None else table_metrics(results)
    settings = (list(settings) if settings is not None
                else _ordered(r['setting'] for r in results))
    values = {}  # (metric, group, setting) -> {seed: points}
    for r in results:
        for metric in metrics:
            cell = values.setdefault((metric, r['group'], r['setting']), {})
            if r['seed'] in cell:
                raise ValueError(f'two results for {r["group"]}/{r["setting"]}/seed{r["seed"]}')
            cell[r['seed']] = to_points(r['metrics'].get(metric))
    others = [s for s in settings if s != baseline] if baseline in settings else []
    out = {'unit': UNIT, 'baseline': baseline, 'groups': groups, 'settings': settings,
           'metrics': {}}
    for metric in metrics:
        cells = {g: {s: dict(mean_std(values.get((metric, g, s), {}).values()),
                             values={str(k): _clean(v) for k, v in
                                     sorted(values.get((metric, g, s), {}).items())})
                     for s in settings} for g in groups}
        mean_gain, paired, pooled = {}, {g: {} for g in groups}, {}
        for s in others:
            diffs = [cells[g][s]['mean'] - cells[g][baseline]['mean'] for g in groups
                     if cells[g][s]['mean'] is not None
                     and cells[g][baseline]['mean'] is not None]
            mean_gain[s] = {'mean': _clean(np.mean(diffs)) if diffs else None,
                            'n_groups': len(diffs)}
            base_all, other_all = {}, {}
            for g in groups:
                base = values.get((metric, g, baseline), {})
                other = values.get((metric, g, s), {})
                paired[g][s] = paired_gain(base, other)
                base_all.update({(g, k): v for k, v in base.items()})
                other_all.update({(g, k): v for k, v in other.items()})
            pooled[s] = paired_gain(base_all, other_all)
            pooled[s]['seeds'] = [f'{g}/seed{k}' for g, k in pooled[s]['seeds']]
        out['metrics'][metric] = {'cells': cells, 'mean_gain': mean_gain,
                                  'paired_gain': paired, 'paired_gain_all': pooled}
    out['validation'] = {g: {s: {m: mean_std(
        to_points(r.get('val_metrics', {}).get(m)) for r in results
        if r['group'] == g and r['setting'] == s) for m in VAL_METRICS} for s in settings}
        for g in groups}
    out['runs'] = [run_row(r, metrics) for r in results]
    return out


def run_row(result, metrics):
    """One run of ``summary.json``'s ``runs``: names, ``metrics`` and ``val_<metric>`` in
    AP points (4 decimals; ``None`` where missing), training and test seconds."""
    r = result
    return {'run': r.get('run', f'{r["group"]}/{r["setting"]}/seed{r["seed"]}'),
            'group': r['group'], 'setting': r['setting'], 'seed': r['seed'],
            **{m: _clean(to_points(r['metrics'].get(m))) for m in metrics},
            **{f'val_{m}': _clean(to_points(r.get('val_metrics', {}).get(m)))
               for m in VAL_METRICS},
            'train_seconds': r.get('train_seconds'), 'test_seconds': r.get('test_seconds')}


# ------------------------------------------------------------------------------ formats

def _fmt(value, sign=False):
    if value is None:
        return '—'
    return f'{value:+.2f}' if sign else f'{value:.2f}'


def format_cell(cell):
    """``'19.70 ± 0.50 (n=3)'``; one seed: ``'19.70 (n=1)'``; none: ``'—'``."""
    if not cell['n']:
        return '—'
    spread = f' ± {cell["std"]:.2f}' if cell['std'] is not None else ''
    return f'{cell["mean"]:.2f}{spread} (n={cell["n"]})'


def format_gain(gain):
    """``'+1.20 ± 0.30 (n=3; 95% CI +0.45 … +1.95) *'``; ``*`` = the CI excludes 0."""
    if not gain['n']:
        return '—'
    if gain['std'] is None:
        return f'{gain["mean"]:+.2f} (n=1)'
    low, high = gain['ci95']
    star = ' *' if low > 0 or high < 0 else ''
    return (f'{gain["mean"]:+.2f} ± {gain["std"]:.2f} (n={gain["n"]}; 95% CI '
            f'{low:+.2f} … {high:+.2f}){star}')


def _md_table(header, rows, align):
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(':---' if a == 'l' else '---:' for a in align) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return lines


def metric_markdown(summary, metric):
    """Markdown lines of one metric: the mean ± std table and the paired-gain table."""
    base, settings, groups = summary['baseline'], summary['settings'], summary['groups']
    data = summary['metrics'][metric]
    others = [s for s in settings if s != base]
    rows = [[f'`{g}`'] + [format_cell(data['cells'][g][s]) for s in settings] for g in groups]
    if base in settings and others:
        rows.append([f'**mean gain vs {base}**'] + [
            '—' if s == base else
            (_fmt(data['mean_gain'][s]['mean'], sign=True)
             + (f' ({data["mean_gain"][s]["n_groups"]} groups)' if len(groups) > 1 else ''))
            for s in settings])
    lines = [f'## {metric}', ''] + _md_table(['detector', *settings], rows,
                                            'l' + 'r' * len(settings))
    if base in settings and others:
        gain_rows = [[f'`{g}`'] + [format_gain(data['paired_gain'][g][s]) for s in others]
                     for g in groups]
        if len(groups) > 1:
            gain_rows.append(['**all detectors (pooled pairs)**']
                             + [format_gain(data['paired_gain_all'][s]) for s in others])
        lines += ['', f'Paired per-seed gain over `{base}` (same detector and seed, '
                  f'setting − {base}; mean ± std of the differences):', '']
        lines += _md_table(['detector', *others], gain_rows, 'l' + 'r' * len(others))
    return lines + ['']


def validation_markdown(summary):
    """Markdown lines: mean val AP / AP75 per group and setting (``summary['validation']``);
    [] when no run logged a validation."""
    validation, settings = summary.get('validation', {}), summary['settings']

    def cell(metrics):
        ap, ap75 = metrics['AP'], metrics['AP75']
        if not ap['n']:
            return '—'
        spread = f' ± {ap["std"]:.2f}' if ap['std'] is not None else ''
        return f'{ap["mean"]:.2f}{spread} / {ap75["mean"]:.2f} (n={ap["n"]})'

    rows = [[f'`{g}`'] + [cell(validation[g][s]) for s in settings] for g in validation]
    if not any(c != '—' for row in rows for c in row[1:]):
        return []
    lines = ['## Validation split: AP / AP75', '',
             'Box AP (mean ± std over seeds) / AP75 of the last validation logged during '
             'training: the split a setting is chosen on; the tables above are the test '
             'split.', '']
    return lines + _md_table(['detector', *settings], rows, 'l' + 'r' * len(settings)) + ['']


def _runs_section(results, metrics):
    rows = []
    for r in results:
        pts = [_fmt(_clean(to_points(r['metrics'].get(m)))) for m in metrics]
        train_min = r.get('train_seconds')
        rows.append([f'`{r["run"]}`' + (' (recorded)' if r.get('recorded') else ''), *pts,
                     '—' if train_min is None else f'{train_min / 60:.1f}'
                     + (' (resumed)' if r.get('resumed_training') else ''),
                     '—' if r.get('test_seconds') is None else f'{r["test_seconds"]:.0f}'])
    lines = ['## Runs', '']
    lines += _md_table(['run', *metrics, 'train min', 'test s'], rows,
                       'l' + 'r' * (len(metrics) + 2))
    lines += ['', '<details><summary>Commands of every run (from the repository root)'
              '</summary>', '', '```bash']
    for r in results:
        lines += ([f'# {r["run"]}: recorded (see the commands at the top)'] if r.get('recorded')
                  else [f'# {r["run"]}', r['commands']['train'], r['commands']['test']])
    return lines + ['```', '', '</details>', '']


def _git_revision(cwd):
    """``'<commit>'`` plus ``' (uncommitted changes)'``, or ``None`` outside git."""
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=cwd, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=cwd, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + (' (uncommitted changes)' if dirty else '')


def render_markdown(summary, results, name, invocations, failures=(), environment=None,
                    chart=None, cwd=None, bootstrap_rows=()):
    """The benchmark report as Markdown text; exact commands first.

    Args:
        summary: ``summarize`` output.
        results: the finished runs' result dicts (for the runs table and commands).
        name: benchmark name (title).
        invocations: the ``tools/benchmark.py`` command lines that produced the results.
        failures: ``RunFailed`` exceptions (listed with their logs).
        environment: ``{variable: value}`` worth recording (e.g. MMAUG_OFFLINE).
        chart: file name of the bar chart beside the Markdown file.
        cwd: repository root (for the git revision).
        bootstrap_rows: ``bootstrap.run_bootstrap_gains`` rows (a section if any).
    """
    lines = [f'# Detector benchmark: {name}', '',
             'Reproduce (from the repository root; finished runs are skipped, interrupted '
             'ones resume):', '', '```bash']
    env = ' '.join(f'{k}={v}' for k, v in (environment or {}).items() if v)
    lines += [f'{env} {cmd}' if env else cmd for cmd in invocations] + ['```', '']
    revision = _git_revision(cwd) if cwd is not None else None
    if revision:
        lines += [f'Code revision: `{revision}`', '']
    n_cells = len(summary['groups']) * len(summary['settings'])
    lines += [f'{len(results)} finished run(s) in {n_cells} cell(s); {UNIT}. Cells: mean ± '
              'sample std over training seeds (n = seeds). Each run trains from its '
              'config with `randomness.seed=<seed>` and evaluates its final checkpoint '
              '(`last_checkpoint`). `*`: the 95% confidence interval of the paired gain '
              'excludes 0.', '']
    recorded = sum(bool(r.get('recorded')) for r in results)
    if recorded:
        lines += [f'{recorded} run(s) marked "(recorded)" come from this report\'s earlier '
                  '`summary.json`: their work dirs are gone, so they keep their metrics and '
                  'the bootstrap intervals computed then, but no new interval can pair with '
                  'them.', '']
    if failures:
        lines += ['**Failed runs (not in the tables):**', '']
        lines += [f'- `{f.run.name}` ({f.stage}): {f.reason}'
                  + (f'; log `{f.log}`' if f.log else '') for f in failures]
        lines.append('')
    for metric in summary['metrics']:
        lines += metric_markdown(summary, metric)
    if chart:
        lines += [f'![AP per setting]({chart})', '']
    lines += validation_markdown(summary)
    lines += bootstrap_markdown(bootstrap_rows, summary['settings'], summary['baseline'])
    lines += _runs_section(results, list(summary['metrics']))
    return '\n'.join(lines)


def bootstrap_markdown(rows, settings, baseline):
    """Markdown lines: per (group, seed) the gain of each setting over ``baseline`` on the
    full test split with its paired-bootstrap interval: AP, AP50, AP75 and, where the rows
    hold them, their mask counterparts ``segm_*``; [] without rows."""
    if not rows:
        return []
    level, n_boot = rows[0]['level'], rows[0]['n_boot']
    columns = [s for s in settings if s != baseline and any(r['setting'] == s for r in rows)]
    shown = [m for m in METRICS[:3] + SEGM_METRICS if any(r['metric'] == m for r in rows)]
    lines = ['## Paired bootstrap over test images', '',
             f'Gain over `{baseline}` of the same detector and seed on the same test images '
             f'(AP points), with the {100 * level:.0f}% percentile interval over {n_boot} '
             'resamples of the test images with replacement (resampling seed 0). It measures '
             'test-set sampling noise, not training noise (the seeds above do that); `*`: the '
             'interval excludes 0.' + (' `segm_*`: the same for masks (mask IoU).'
                                        if set(shown) & set(SEGM_METRICS) else ''), '']
    if any(r['seed'] == 'pooled' for r in rows):
        lines += ['Seed `pooled`: the mean gain over the seeds both settings have (n below), '
                  'with the BCa interval (`scipy.stats.bootstrap`) of resamples that draw the '
                  'test images *and* the seeds with replacement: test-set and training noise '
                  'together.', '']
    cells = {(r['group'], r['seed'], r['setting'], r['metric']): r for r in rows}
    keys = sorted(dict.fromkeys((r['group'], r['seed']) for r in rows),
                  key=lambda key: (key[0], key[1] == 'pooled', str(key[1])))
    n_seeds = {(r['group'], r['setting']): r['n_seeds'] for r in rows if 'n_seeds' in r}
    for metric in shown:
        lines += [f'{metric}:', '', '| detector | seed | ' + ' | '.join(columns) + ' |',
                  '|:---|---:|' + '---:|' * len(columns)]
        for group, seed in keys:
            values = []
            for setting in columns:
                r = cells.get((group, seed, setting, metric))
                values.append('—' if r is None else
                              f'{r["gain"]:+.2f} [{r["low"]:+.2f}, {r["high"]:+.2f}]'
                              + ('*' if r['low'] > 0 or r['high'] < 0 else '')
                              + (f' (n={n_seeds[(group, setting)]})' if seed == 'pooled'
                                 else ''))
            lines.append(f'| `{group}` | {seed} | ' + ' | '.join(values) + ' |')
        lines.append('')
    return lines


def bootstrap_csv(rows):
    """Tidy CSV of the paired-bootstrap rows (AP points)."""
    keys = ['metric', 'group', 'setting', 'seed', 'n_seeds', 'a', 'b', 'gain', 'low', 'high',
            'p_not_better', 'n_boot', 'level']
    return _csv_text([keys] + [[r.get(k, 1 if k == 'n_seeds' else None) for k in keys]
                               for r in rows])


def _csv_text(rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator='\n').writerows(rows)
    return buf.getvalue()


def metric_csv(summary, metric):
    """CSV text of one metric: a row per group, mean/std/n columns per setting, and the
    mean-gain row."""
    settings, base = summary['settings'], summary['baseline']
    data = summary['metrics'][metric]
    header = ['detector'] + [f'{s} {k}' for s in settings for k in ('mean', 'std', 'n')]
    rows = [header]
    for g in summary['groups']:
        cells = data['cells'][g]
        rows.append([g] + [_csv_value(cells[s][k]) for s in settings
                           for k in ('mean', 'std', 'n')])
    if base in settings and len(settings) > 1:
        rows.append([f'mean gain vs {base}'] + [
            _csv_value(data['mean_gain'][s]['mean'] if s != base else None) if k == 'mean'
            else (_csv_value(data['mean_gain'][s]['n_groups']) if k == 'n' and s != base
                  else '') for s in settings for k in ('mean', 'std', 'n')])
    return _csv_text(rows)


def _csv_value(value):
    return '' if value is None else value


def paired_gains_csv(summary):
    """Tidy CSV of every paired gain: metric, detector, setting, n, mean, std, CI."""
    rows = [['metric', 'detector', 'setting', 'baseline', 'n', 'mean', 'std',
             'ci95_low', 'ci95_high']]
    base = summary['baseline']
    for metric, data in summary['metrics'].items():
        entries = [(g, data['paired_gain'][g]) for g in summary['groups']]
        entries.append(('ALL (pooled)', data['paired_gain_all']))
        for group, gains in entries:
            for setting, g in gains.items():
                ci = g['ci95'] or [None, None]
                rows.append([metric, group, setting, base, g['n'], _csv_value(g['mean']),
                             _csv_value(g['std']), _csv_value(ci[0]), _csv_value(ci[1])])
    return _csv_text(rows)


def runs_csv(summary):
    """CSV of every finished run (test AP points, ``val_*``: the last validation's, and
    seconds)."""
    keys = ['run', 'group', 'setting', 'seed', *summary['metrics'],
            *(f'val_{m}' for m in VAL_METRICS), 'train_seconds', 'test_seconds']
    return _csv_text([keys] + [[_csv_value(r.get(k)) for k in keys] for r in summary['runs']])


def plot_bars(summary, path):
    """Bar chart PNG: one panel per group, bars = settings per metric (every metric of the
    summary), std error bars."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    groups, settings, metrics = summary['groups'], summary['settings'], list(summary['metrics'])
    cols = min(len(groups), 2)
    rows = math.ceil(len(groups) / cols)
    panel_width = max(6.5, 1.6 * len(metrics))
    fig, axes = plt.subplots(rows, cols, figsize=(panel_width * cols, 3.8 * rows),
                             squeeze=False)
    x = np.arange(len(metrics))
    width = 0.8 / max(len(settings), 1)
    colours = plt.get_cmap('tab10')
    for ax, group in zip(axes.flat, groups):
        for i, setting in enumerate(settings):
            cells = [summary['metrics'][m]['cells'][group][setting] for m in metrics]
            means = [c['mean'] if c['mean'] is not None else np.nan for c in cells]
            errs = [c['std'] if c['std'] is not None else np.nan for c in cells]
            n = max(c['n'] for c in cells)
            bars = ax.bar(x + (i - (len(settings) - 1) / 2) * width, means, width, yerr=errs,
                          capsize=3, color=colours(i % 10), label=f'{setting} (n={n})')
            ax.bar_label(bars, labels=['' if np.isnan(m) else f'{m:.1f}' for m in means],
                         fontsize=7, padding=2)
        ax.set_xticks(x, metrics)
        ax.set_ylabel('AP points (test)')
        ax.set_title(f'{group}: mean ± std over seeds')
        ax.set_ylim(bottom=0)
        ax.margins(y=0.15)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=120)
    plt.close(fig)
    with atomic_open(path, 'wb') as handle:
        handle.write(buf.getvalue())


def _write_text(path, text):
    with atomic_open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)


def write_report(out_dir, name, results, baseline='original', groups=None, settings=None,
                 invocations=(), failures=(), environment=None, cwd=None, bootstrap_rows=()):
    """Write ``<name>.md``, ``<metric>.csv``, ``paired_gains.csv``, ``runs.csv``,
    ``bars.png``, ``summary.json`` and, given ``bootstrap_rows``, ``bootstrap.csv`` into
    ``out_dir`` (atomically); return the summary.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(results, baseline, groups, settings)
    summary.update(name=name, invocations=list(invocations), environment=environment or {},
                   failed=[{'run': f.run.name, 'stage': f.stage, 'reason': f.reason,
                            'log': str(f.log) if f.log else None} for f in failures])
    for metric in summary['metrics']:
        _write_text(out_dir / f'{metric}.csv', metric_csv(summary, metric))
    _write_text(out_dir / 'paired_gains.csv', paired_gains_csv(summary))
    _write_text(out_dir / 'runs.csv', runs_csv(summary))
    if bootstrap_rows:
        _write_text(out_dir / 'bootstrap.csv', bootstrap_csv(bootstrap_rows))
    plot_bars(summary, out_dir / 'bars.png')
    _write_text(out_dir / f'{name}.md', render_markdown(
        summary, results, name, invocations, failures, environment, 'bars.png', cwd,
        bootstrap_rows))
    _write_text(out_dir / 'summary.json', json.dumps(summary, indent=2) + '\n')
    return summary
