"""The fast protocol fitted to a user's own COCO data, for an A/B of augmentations on it.

``tools/compare_augmentations.py`` trains real-only, mmdet's online copy-paste and the
``IAAAPaste`` default on the user's data at equal iterations with this module's configs.
The fast protocol (``configs/fast/``) was built for dsb2018 nuclei (median cell side
``REFERENCE_CELL_SIDE`` px in 256 px images, 128 px crops, 16 px anchors); here every
image is first rescaled so the data's median cell has that side (within ``RATIO_LIMITS``;
beyond them the anchors follow the cells), so 8 px and 40 px nuclei both fit. Evaluation
runs on the same rescaled images and is scored against the native annotations.
"""
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# median sqrt(mask area) of dsb2018_fluo train, the cells the fast protocol was tuned on
REFERENCE_CELL_SIDE = 12.7
REFERENCE_ANCHOR_SCALE = 4  # configs/cpu: 4 x stride 4 = 16 px anchors on P2
RATIO_LIMITS = (0.125, 4.0)  # image rescaling allowed before anchors change instead
REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ('original', 'copypaste_online', 'iaaa_default')


def read_coco(path, what):
    """The COCO dict of ``path``; ``ValueError`` naming ``what`` and the file if unusable."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{what}: annotation file not found: {path.resolve()}')
    try:
        coco = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{what}: {path} is not a JSON file: {err}') from None
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(coco.get(key), list):
            raise ValueError(f'{what}: {path} is not a COCO instances file (no {key!r} list)')
    if not coco['images'] or not coco['categories']:
        raise ValueError(f'{what}: {path} holds no images or no categories')
    return coco


@dataclass(frozen=True)
class OwnDataProtocol:
    """The fast protocol for one dataset.

    ``cell_side``: median sqrt(mask area) of its training cells (px); ``ratio``: image
    rescaling factor; ``train_scale`` / ``test_scale``: ``(w, h)`` the median image is
    resized to (train: before the x0.75-1.5 jitter); ``crop``: training crop side (px);
    ``anchor_scale``: RPN anchor scale (x stride).
    """
    cell_side: float
    ratio: float
    train_scale: tuple
    test_scale: tuple
    crop: int
    anchor_scale: float

    def describe(self):
        return (f'median cell side {self.cell_side:.1f} px -> images x{self.ratio:.3g} '
                f'({self.test_scale[0]}x{self.test_scale[1]} px), {self.crop} px crops, '
                f'anchor scale {self.anchor_scale:g}')


def derive_protocol(coco, crop=128):
    """``OwnDataProtocol`` of a COCO dict (its images and cell areas)."""
    areas = np.array([a.get('area', 0) for a in coco['annotations']], dtype=float)
    areas = areas[areas > 0]
    if not len(areas):
        raise ValueError('the training annotations hold no cell with a positive area')
    cell_side = float(np.median(np.sqrt(areas)))
    wanted = REFERENCE_CELL_SIDE / cell_side
    ratio = float(np.clip(wanted, *RATIO_LIMITS))
    width = float(np.median([i['width'] for i in coco['images']]))
    height = float(np.median([i['height'] for i in coco['images']]))
    scale = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    anchor_scale = round(REFERENCE_ANCHOR_SCALE * ratio / wanted, 3)
    return OwnDataProtocol(cell_side, ratio, scale, scale, min(crop, *scale), anchor_scale)


def nested_subset(coco, n_images, seed=0):
    """``coco`` restricted to its first ``n_images`` images in an order drawn by ``seed``.

    Subsets of one seed are nested (the 10 images are among the 20) and the same for every
    setting. ``n_images`` ``None``: all images.
    """
    ids = sorted(image['id'] for image in coco['images'])
    if n_images is None:
        return coco
    if not 1 <= n_images <= len(ids):
        raise ValueError(f'--subset must be in 1..{len(ids)} (images in the training file), '
                         f'got {n_images}')
    order = np.random.default_rng(seed).permutation(len(ids))
    kept = {ids[i] for i in order[:n_images]}
    return dict(coco, images=[i for i in coco['images'] if i['id'] in kept],
                annotations=[a for a in coco['annotations'] if a['image_id'] in kept])


def _dataset(ann_file, img_dir, classes, pipeline, test_mode=False):
    dataset = dict(type='CocoDataset', data_root='', ann_file=str(ann_file),
                   data_prefix=dict(img=str(img_dir).rstrip('/') + '/'),
                   metainfo=dict(classes=tuple(classes)), pipeline=pipeline)
    if test_mode:
        dataset['test_mode'] = True
    else:
        dataset['filter_cfg'] = dict(filter_empty_gt=True, min_size=0)
    return dataset


def _fitted(pipeline, protocol):
    """``pipeline`` with its resize and crop steps set to ``protocol``."""
    fitted = []
    for step in pipeline:
        step = dict(step)
        if step['type'] in ('RandomResize', 'Resize'):
            step['scale'] = protocol.train_scale
        elif step['type'] == 'RandomCrop':
            step['crop_size'] = (protocol.crop, protocol.crop)
        elif step['type'] == 'Pad':
            step['size'] = (protocol.crop, protocol.crop)
        fitted.append(step)
    return fitted


def setting_configs(protocol, classes, train, val, test, img_dir, out_dir, iters=None,
                    cache_root=None):
    """Write one config per setting of ``SETTINGS`` for the user's data; returns
    ``{setting: path}``.

    ``classes``: category names of the training file, in file order; ``train`` / ``val`` /
    ``test``: annotation files (``train``: the labelled subset);
    ``img_dir``: the folder of every image; ``iters``: training iterations (default: the
    fast protocol's); ``cache_root``: IAAAPaste's asset cache.
    """
    import copy

    from mmengine.config import Config
    fast = Config.fromfile(str(REPO_ROOT / 'configs/fast/faster_rcnn_r18_fluo.py'))
    copy_paste = Config.fromfile(str(REPO_ROOT / 'configs/_base_/synthetic/copy_paste_online.py'))
    iaaa = Config.fromfile(str(REPO_ROOT / 'configs/_base_/synthetic/iaaa.py'))
    iters = int(iters or fast.fast_iters)
    test_pipeline = [dict(s, scale=protocol.test_scale) if s['type'] == 'Resize' else s
                     for s in fast.test_dataloader.dataset.pipeline]
    train_pipeline = _fitted(fast.fast_train_pipeline, protocol)
    paste = dict(iaaa.iaaa_paste, source=dict(ann_file=str(train), img_dir=str(img_dir)),
                 cache_root=str(cache_root or Path(out_dir) / 'cache'))
    datasets = {
        'original': _dataset(train, img_dir, classes, train_pipeline),
        'copypaste_online': dict(
            type='MultiImageMixDataset', pipeline=copy_paste.copy_paste_online_pipeline,
            dataset=_dataset(train, img_dir, classes, _fitted(
                copy_paste.copy_paste_online_image_pipeline, protocol))),
        'iaaa_default': _dataset(train, img_dir, classes,
                                 train_pipeline[:2] + [paste] + train_pipeline[2:]),
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for setting, dataset in datasets.items():
        cfg = copy.deepcopy(fast)
        cfg.model.rpn_head.anchor_generator.scales = [protocol.anchor_scale]
        cfg.model.roi_head.bbox_head.num_classes = len(classes)
        cfg.train_dataloader.dataset = dataset
        for split, ann_file in (('val', val), ('test', test)):
            cfg[f'{split}_dataloader'].dataset = _dataset(ann_file, img_dir, classes,
                                                          test_pipeline, test_mode=True)
            cfg[f'{split}_evaluator'].ann_file = str(ann_file)
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
        cfg.param_scheduler[1].update(end=iters,
                                      milestones=[int(iters * 0.75), int(iters * 0.9)])
        cfg.param_scheduler[0].end = min(cfg.param_scheduler[0].end, max(1, iters // 10))
        cfg.default_hooks.checkpoint.interval = max(1, iters // 2)
        for helper in [k for k in cfg if k.startswith(('cpu_', 'fast_', 'nuclei_'))]:
            cfg.pop(helper)  # the base files' building blocks, set for dsb2018: not used
        cfg.fitted_protocol = asdict(protocol)
        paths[setting] = out_dir / f'{setting}.py'
        cfg.dump(str(paths[setting]))
    return paths


def recommendation(bootstrap_csv, metric='AP'):
    """One line for the user from the benchmark's ``bootstrap.csv`` (gains over
    ``original``, pooled over seeds where there are several)."""
    import csv
    rows = [r for r in csv.DictReader(open(bootstrap_csv)) if r['metric'] == metric]
    pooled = {r['setting']: r for r in rows if r['seed'] == 'pooled'}
    single = {r['setting']: r for r in rows if r['seed'] != 'pooled'}
    gains = {s: pooled.get(s) or single.get(s) for s in SETTINGS[1:]}
    gains = {s: r for s, r in gains.items() if r is not None}
    if not gains:
        return 'no result to recommend from yet'
    parts = [f'{s} {float(r["gain"]):+.1f} {metric} [{float(r["low"]):+.1f}, '
             f'{float(r["high"]):+.1f}] over real-only ({r["n_seeds"]} seed(s))'
             for s, r in gains.items()]
    best, row = max(gains.items(), key=lambda item: float(item[1]['gain']))
    if float(row['low']) > 0:
        verdict = f'use {best}: its gain over real-only is above test-set and seed noise'
    elif float(row['gain']) > 0:
        verdict = (f'{best} looks best, but its interval includes 0: add seeds (--seeds) '
                   'before relying on it')
    else:
        verdict = 'neither augmentation beat real-only on this data'
    return f'{verdict}. ' + '; '.join(parts)


def curve_points(runs):
    """Mean AP and 95 % t-interval over seeds per ``(labelled images, setting)``.

    ``runs``: dicts with ``n_images``, ``setting``, ``AP`` (one per finished run). Returns
    ``[dict(n_images, setting, n_seeds, mean, low, high)]`` sorted by images, setting.
    """
    from scipy import stats
    grouped = {}
    for run in runs:
        grouped.setdefault((int(run['n_images']), run['setting']), []).append(float(run['AP']))
    points = []
    for (n_images, setting), values in sorted(grouped.items()):
        mean = float(np.mean(values))
        half = (float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1)
                      / np.sqrt(len(values))) if len(values) > 1 else float('nan'))
        points.append(dict(n_images=n_images, setting=setting, n_seeds=len(values),
                           mean=mean, low=mean - half, high=mean + half))
    return points


def images_for_ap(points, setting, ap):
    """Labelled images ``setting`` needs to reach mean ``ap``, interpolated linearly between
    its measured points (``None`` above its best, the fewest measured below its first)."""
    curve = sorted((p['n_images'], p['mean']) for p in points if p['setting'] == setting)
    if not curve or ap > max(mean for _, mean in curve):
        return None
    if ap <= curve[0][1]:
        return float(curve[0][0])
    for (n0, ap0), (n1, ap1) in zip(curve, curve[1:]):
        if ap0 < ap <= ap1:
            return n0 + (n1 - n0) * (ap - ap0) / (ap1 - ap0)
    return float(curve[-1][0])  # reached earlier but the curve dips: its last point


def savings_lines(points, setting='iaaa_default', baseline='original'):
    """For each labelled-set size: how many images ``baseline`` needs to match ``setting``."""
    lines = []
    for point in (p for p in points if p['setting'] == setting):
        needed = images_for_ap(points, baseline, point['mean'])
        n = point['n_images']
        if needed is None:
            lines.append(f'{setting} with {n} labelled images ({point["mean"]:.1f} AP) beats '
                         f'{baseline} with every labelled set measured')
        else:
            lines.append(f'{setting} with {n} labelled images ({point["mean"]:.1f} AP) is '
                         f'matched by {baseline} with ~{needed:.0f}')
    return lines


def write_curve(out_dir, points, title):
    """``curve.md``, ``curve.csv`` and ``curve.png`` (mean AP against labelled images, 95 %
    intervals) of ``curve_points`` in ``out_dir``; returns the Markdown path."""
    import csv

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from ..core.io import atomic_open
    out_dir = Path(out_dir)
    settings = sorted({p['setting'] for p in points},
                      key=lambda s: (SETTINGS.index(s) if s in SETTINGS else len(SETTINGS), s))
    sizes = sorted({p['n_images'] for p in points})
    with atomic_open(out_dir / 'curve.csv', 'w', encoding='utf-8') as handle:
        writer = csv.DictWriter(handle, ['n_images', 'setting', 'n_seeds', 'mean', 'low',
                                         'high'])
        writer.writeheader()
        writer.writerows(points)
    figure, axis = plt.subplots(figsize=(6, 4))
    for setting in settings:
        mine = [p for p in points if p['setting'] == setting]
        axis.errorbar([p['n_images'] for p in mine], [p['mean'] for p in mine],
                      yerr=np.nan_to_num([[p['mean'] - p['low'] for p in mine],
                                          [p['high'] - p['mean'] for p in mine]]),
                      marker='o', capsize=3, label=setting)
    axis.set(xscale='log', xlabel='labelled training images', ylabel='AP (x100)', title=title)
    axis.set_xticks(sizes, [str(s) for s in sizes])
    axis.minorticks_off()
    axis.legend()
    figure.tight_layout()
    with atomic_open(out_dir / 'curve.png', 'wb') as handle:
        figure.savefig(handle, format='png', dpi=120)
    plt.close(figure)
    cell = {(p['n_images'], p['setting']): p for p in points}
    rows = [f'# {title}', '', 'Mean AP over seeds [95 % t-interval] by labelled training '
            'images (val and test unchanged; subsets nested, the same for every setting).',
            '', '| labelled images | ' + ' | '.join(settings) + ' |',
            '|---:|' + '---:|' * len(settings)]
    for size in sizes:
        values = []
        for setting in settings:
            p = cell.get((size, setting))
            if p is None:
                values.append('—')
            elif p['n_seeds'] == 1:
                values.append(f'{p["mean"]:.1f} (n=1)')
            else:
                values.append(f'{p["mean"]:.1f} [{p["low"]:.1f}, {p["high"]:.1f}] '
                              f'(n={p["n_seeds"]})')
        rows.append(f'| {size} | ' + ' | '.join(values) + ' |')
    rows += ['', *[f'- {line}' for line in savings_lines(points)], '', '![curve](curve.png)']
    with atomic_open(out_dir / 'curve.md', 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(rows) + '\n')
    return out_dir / 'curve.md'
