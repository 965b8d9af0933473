"""SAAA appearance conditioning: do synthetic cells take the look of their image?

For every test image the cells are removed (``core.remove_cells``, the clean background
SAAA composes on) and each real SCO mask of the image is painted by every Pix2Pix model
given (``--model LABEL=pix2pix.pth``, any condition). A conditioned model gets the code it
was trained with: ``background_style`` of the clean background, or ``image_style``, which
adds the statistics of the image's real cells (``core.style.cell_statistics``; SAAA has
them at generation for the real image each background came from). Each synthetic cell is
resized to its real cell's size and pasted (Gaussian feather 1 px, as the composer does)
centred on the real cell, so synthetic and real cells share sizes and positions.

``--metric colour`` (mixed stains, dsb2018_brightfield), per image type (decided by the
mean HSV saturation of the clean background: grey tiles are exactly unsaturated):

- dE image: CIE76 distance (Lab) between the mean colour of all pasted synthetic cell
  pixels of an image and that of its real SCO pixels, averaged over the images;
- dE cell: the same per cell (synthetic vs its real counterpart), averaged over cells;
- reference: dE image between the real cells of two different test images of the same
  type (how much real cells of one type differ from image to image).

``--metric brightness`` (grey fluorescence, dsb2018_fluo), grey level = channel mean in
8-bit units:

- brightness error: per image |mean grey level of its pasted synthetic cells - that of its
  real SCOs|, averaged over images (and per cell, averaged over cells);
- texture error: per image |mean within-cell standard deviation, synthetic - real|;
- r: Pearson correlation over images of synthetic and real mean cell brightness;
- reference: the error of painting every cell at the mean brightness of all training
  cells (a model that ignores the image).

Results go into one section (per metric) of benchmarks/results/bench_saaa_conditioning.md;
the other metric's section is kept. Usage:
    OMP_NUM_THREADS=1 python benchmarks/bench_saaa_conditioning.py \\
        --data-root ../shared/data/dsb2018_brightfield \\
        --model conditioned=work_dirs/saaa_cond_bf/cond/pix2pix.pth \\
        --model unconditioned=work_dirs/saaa_cond_bf/plain/pix2pix.pth
    OMP_NUM_THREADS=1 python benchmarks/bench_saaa_conditioning.py --metric brightness \\
        --data-root ../shared/data/dsb2018_fluo \\
        --model image_style=work_dirs/saaa_cond_fluo/image_style/pix2pix.pth \\
        --model background_style=work_dirs/saaa_cond_fluo/background_style/pix2pix.pth
The first model is the candidate (bold in the tables). The checkpoints come from
tools/saaa_train_pix2pix.py (see the .md for the commands).
"""
import argparse
import re
import shlex
import sys
from pathlib import Path

import cv2
import numpy as np

from mmaug_is.core import feathered_paste, load_coco_instances, read_image, remove_cells
from mmaug_is.core.io import atomic_open
from mmaug_is.core.objects import extract_objects
from mmaug_is.core.style import cell_statistics
from mmaug_is.saaa.generator import CellSynthesizer
from mmaug_is.saaa.mask_data import build_sco_dataset, restore_scale
from mmaug_is.saaa.texture import CellTexture
from mmaug_is.saaa.train_loop import configure_threads, load_checkpoint
from mmaug_is.saaa.trainers import PIX2PIX_KIND
from mmaug_is.synth.contact_sheet import Tile, save_sheet

SATURATION_THRESHOLD = 0.01  # mean HSV saturation of the clean background: above = H&E
SHEET_CROP = 128              # px window of each image shown in the contact sheet
METRICS = ('colour', 'brightness')
DEFAULT_MODELS = {
    'colour': ['conditioned=work_dirs/saaa_cond_bf/cond/pix2pix.pth',
               'unconditioned=work_dirs/saaa_cond_bf/plain/pix2pix.pth'],
    'brightness': ['image_style=work_dirs/saaa_cond_fluo/image_style/pix2pix.pth',
                   'background_style=work_dirs/saaa_cond_fluo/background_style/pix2pix.pth']}
DEFAULT_DATA = {'colour': '../shared/data/dsb2018_brightfield',
                'brightness': '../shared/data/dsb2018_fluo'}
DEFAULT_PNG = {'colour': 'benchmarks/results/bench_saaa_conditioning.png',
               'brightness': 'benchmarks/results/bench_saaa_conditioning_fluo.png'}
TEXTURE_SUFFIX = '+texture'  # label of a model's cells given real grain (--texture)
TITLE = '# bench_saaa_conditioning: appearance-conditioned vs mask-only Pix2Pix'


def saturation(image):
    """Mean HSV saturation in [0, 1] of an RGB uint8/uint16 image (grey: 0)."""
    rgb = image.astype(np.float32) / np.iinfo(image.dtype).max
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1].mean())


def lab(pixels):
    """``(n, 3)`` RGB pixels (uint8/uint16) -> ``(n, 3)`` CIE Lab (L in [0, 100])."""
    rgb = pixels.astype(np.float32).reshape(-1, 1, 3) / np.iinfo(pixels.dtype).max
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3)


def delta_e(pixels_a, pixels_b):
    """CIE76 distance between the mean Lab colours of two pixel sets."""
    return float(np.linalg.norm(lab(pixels_a).mean(axis=0) - lab(pixels_b).mean(axis=0)))


def grey(pixels):
    """Grey levels (channel mean) of ``(n[, C])`` pixels in 8-bit units (uint16 scaled)."""
    values = pixels.astype(np.float64).reshape(len(pixels), -1).mean(axis=1)
    return values * 255.0 / np.iinfo(pixels.dtype).max


def paste_cells(background, canonical, sizes, centres, cells, style, texture, rng):
    """Paint ``canonical`` masks with ``cells`` (a ``CellSynthesizer``; grain added by
    ``texture``, a ``CellTexture`` or None, drawn from ``rng``) and paste each at its real
    size centred on ``centres`` (y, x). Returns ``(image, (n, H, W) bool masks)``."""
    frames, images = cells.synthesize(canonical, style=style)  # masks in the model's frame
    canvas = background.copy()
    masks = np.zeros((len(canonical),) + background.shape[:2], bool)
    for i, (mask, image) in enumerate(zip(frames, images)):
        mask, image = restore_scale(mask, int(sizes[i].max()), image)
        if texture is not None:
            image = texture.apply(image, mask, rng)
        h, w = mask.shape
        y = int(np.clip(round(centres[i][0] - (h - 1) / 2), 0, canvas.shape[0] - h))
        x = int(np.clip(round(centres[i][1] - (w - 1) / 2), 0, canvas.shape[1] - w))
        feathered_paste(canvas, image, mask, x, y, sigma=1.0)
        masks[i, y:y + h, x:x + w] = mask
    return canvas, masks


def repaste_real(background, image, masks):
    """The real cells cut from ``image`` and pasted back in place over ``background`` the
    way ``paste_cells`` pastes (feather 1 px): what pasting alone changes."""
    canvas = background.copy()
    for mask in masks:
        ys, xs = np.nonzero(mask)
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        feathered_paste(canvas, np.ascontiguousarray(image[box]), mask[box], int(xs.min()),
                        int(ys.min()), sigma=1.0)
    return canvas


def image_scos(scos, record):
    """Indices (into ``scos``) of the record's SCOs and the centres (y, x) of their real masks."""
    ann_index = {int(a): k for k, a in enumerate(record.ann_ids)}
    idx, centres = [], []
    for i, source in enumerate(scos.sources):
        name, ann = source.rsplit('#', 1)
        if name != record.file_name:
            continue
        ys, xs = np.nonzero(record.masks[ann_index[int(ann)]])
        idx.append(i)
        centres.append(((ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2))
    return np.array(idx, int), centres


def crop_window(masks, shape, size):
    """Top-left (y, x) of the ``size`` px window holding the most mask pixels (coarse grid)."""
    density = masks.any(axis=0).astype(np.float32)
    best, where = -1.0, (0, 0)
    for y in range(0, max(shape[0] - size, 0) + 1, 16):
        for x in range(0, max(shape[1] - size, 0) + 1, 16):
            value = density[y:y + size, x:x + size].sum()
            if value > best:
                best, where = value, (y, x)
    return where


def parse_models(specs, texture=False):
    """``['LABEL=PATH', ...]`` -> ``{label: Path}`` (order kept); with ``texture`` each
    model is followed by ``LABEL+texture`` (the same checkpoint, cells given real grain)."""
    models = {}
    for spec in specs:
        label, sep, path = spec.partition('=')
        if not sep or not label or not path:
            raise SystemExit(f'--model wants LABEL=PATH, got {spec!r}')
        if label in models:
            raise SystemExit(f'--model label {label!r} given twice')
        models[label] = Path(path)
    if len(models) < 2 and not texture:
        raise SystemExit('give at least two --model LABEL=PATH to compare (or --texture)')
    if texture:
        models = {name: path for label, path in models.items()
                  for name in (label, label + TEXTURE_SUFFIX)}
    return models


def fit_texture(data_root):
    """``CellTexture`` of the real SCOs of ``data_root``'s train split (as ``SAAADataset``
    with ``texture='real'`` fits it on its source)."""
    scos = [obj for record in load_coco_instances(data_root / 'annotations' / 'train.json',
                                                  data_root / 'images')
            for obj in extract_objects(record, read_image(record.path)) if obj.kind == 'sco']
    return CellTexture.fit(scos)


def colour_scores(pasted, masks, image, real_masks, real_pixels):
    return dict(de_image=delta_e(pasted[masks.any(axis=0)], real_pixels),
                de_cell=float(np.mean([delta_e(pasted[m], image[r])
                                       for m, r in zip(masks, real_masks)])))


def within_cell_std(image, masks):
    """Mean over cells of the standard deviation of their grey levels."""
    return float(np.mean([grey(image[m]).std() for m in masks]))


def brightness_scores(pasted, masks, image, real_masks, real_pixels):
    synthetic = grey(pasted[masks.any(axis=0)]).mean()
    real = grey(real_pixels).mean()
    return dict(mean=float(synthetic), err_image=float(abs(synthetic - real)),
                err_cell=float(np.mean([abs(grey(pasted[m]).mean() - grey(image[r]).mean())
                                        for m, r in zip(masks, real_masks)])),
                std=within_cell_std(pasted, masks),
                err_std=float(abs(within_cell_std(pasted, masks)
                                  - within_cell_std(image, real_masks))))


def evaluate(args, models):
    ann_file = args.data_root / 'annotations' / f'{args.split}.json'
    img_dir = args.data_root / 'images'
    cells = {label: CellSynthesizer.from_checkpoint(path) for label, path in models.items()}
    texture = fit_texture(args.data_root) if args.texture else None
    if texture is not None:
        print(f'texture (train SCOs): {texture}', flush=True)
    ref = next(iter(cells.values()))
    scores = colour_scores if args.metric == 'colour' else brightness_scores
    scos = build_sco_dataset(ann_file, img_dir, size=ref.size, fill=ref.fill,
                             with_images=False, progress=False)
    rows = []
    for index, record in enumerate(load_coco_instances(ann_file, img_dir)):
        idx, centres = image_scos(scos, record)
        if not len(idx):
            continue
        image = read_image(record.path)
        clean = remove_cells(image, record.masks, np.random.default_rng(args.seed + index))
        cell_stats = cell_statistics(image, record.masks)  # what an image_style model gets
        sat = saturation(clean)
        real_masks = record.masks[[{int(a): k for k, a in enumerate(record.ann_ids)}[
            int(scos.sources[i].rsplit('#', 1)[1])] for i in idx]]
        row = dict(name=record.file_name, saturation=sat,
                   kind='H&E' if sat > SATURATION_THRESHOLD else 'grey', n=len(idx),
                   image=image, real_masks=real_masks,
                   real_pixels=image[real_masks.any(axis=0)])
        repasted = repaste_real(clean, image, real_masks)
        if args.export_coco:
            export_image(args.export_coco / 'real_repasted', record, repasted, real_masks)
        if args.metric == 'brightness':  # code_mean: all cells' mean, as the code has it
            row.update(real_mean=float(grey(row['real_pixels']).mean()),
                       real_std=within_cell_std(image, real_masks),
                       code_mean=float(grey(image[record.masks.any(axis=0)]).mean()),
                       repasted_mean=float(grey(repasted[real_masks.any(axis=0)]).mean()))
        for label, synth in cells.items():
            pasted, masks = paste_cells(clean, scos.masks[idx], scos.sizes[idx], centres,
                                        synth, synth.style_of(clean, cell_stats),
                                        texture if label.endswith(TEXTURE_SUFFIX) else None,
                                        np.random.default_rng([args.seed, index]))
            row[label] = dict(image=pasted, masks=masks,
                              **scores(pasted, masks, image, real_masks, row['real_pixels']))
            if args.export_coco:
                export_image(args.export_coco / label, record, pasted, masks)
        rows.append(row)
        key = 'de_image' if args.metric == 'colour' else 'err_image'
        print(f"{record.file_name}: {row['kind']}, {len(idx)} SCOs, {key} " +
              ' / '.join(f'{label} {row[label][key]:.1f}' for label in cells), flush=True)
    if args.export_coco:
        for label in [*cells, 'real_repasted']:
            export_annotations(args.export_coco / label)
    return rows


def export_image(folder, record, image, masks):
    """Add one painted image and its (pasted) SCO masks to the COCO set in ``folder``."""
    from mmaug_is.core import write_image
    from mmaug_is.core.io import encode_masks

    (folder / 'images').mkdir(parents=True, exist_ok=True)
    write_image(folder / 'images' / record.file_name, image)
    coco = EXPORTS.setdefault(folder, dict(images=[], annotations=[],
                                           categories=[dict(id=1, name='nucleus')]))
    image_id = len(coco['images']) + 1
    coco['images'].append(dict(id=image_id, file_name=record.file_name,
                               height=image.shape[0], width=image.shape[1]))
    for mask, rle in zip(masks, encode_masks(masks)):
        ys, xs = np.nonzero(mask)
        coco['annotations'].append(dict(
            id=len(coco['annotations']) + 1, image_id=image_id, category_id=1, iscrowd=0,
            area=int(mask.sum()), segmentation=dict(size=rle['size'],
                                                    counts=rle['counts'].decode()),
            bbox=[int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]))


def export_annotations(folder):
    import json

    with atomic_open(folder / 'annotations.json', 'w', encoding='utf-8') as handle:
        json.dump(EXPORTS[folder], handle)


EXPORTS = {}  # export folder -> COCO dict being built


def modalities(ann_file):
    import json

    with open(ann_file) as handle:
        return {im['file_name']: im.get('modality', '?') for im in json.load(handle)['images']}


def reference_de(rows):
    """Mean dE image between the real cells of two different images of the same type."""
    out = {}
    for kind in ('H&E', 'grey'):
        group = [r for r in rows if r['kind'] == kind]
        pairs = [delta_e(a['real_pixels'], b['real_pixels'])
                 for i, a in enumerate(group) for b in group[i + 1:]]
        out[kind] = float(np.mean(pairs)) if pairs else float('nan')
    return out


def training_cell_brightness(args):
    """Mean grey level of the pixels of all real cells of the training split."""
    total = count = 0.0
    for record in load_coco_instances(args.data_root / 'annotations' / 'train.json',
                                      args.data_root / 'images'):
        if len(record.masks):
            values = grey(read_image(record.path)[record.masks.any(axis=0)])
            total, count = total + values.sum(), count + len(values)
    return total / count


def mean_rgb(pixels):
    return '(' + ', '.join(f'{v:.0f}' for v in pixels.reshape(-1, 3).mean(axis=0)) + ')'


def _window(row):
    y, x = crop_window(row['real_masks'], row['image'].shape, SHEET_CROP)
    return slice(y, y + SHEET_CROP), slice(x, x + SHEET_CROP)


def write_colour_sheet(path, rows, models, per_type):
    sheet = []
    for kind in ('H&E', 'grey'):
        group, sources = [], set()  # the images with most SCOs, one per source image
        for r in sorted((r for r in rows if r['kind'] == kind), key=lambda r: -r['n']):
            source = r['name'].rsplit('_t', 1)[0]
            if source not in sources and len(group) < per_type:
                group.append(r)
                sources.add(source)
        tiles = {label: [] for label in ['real', *models]}
        for r in group:
            window = _window(r)
            tiles['real'].append(Tile(r['image'][window], caption=r['name'][:20]))
            for label in models:
                tiles[label].append(Tile(r[label]['image'][window],
                                         caption=f"dE {r[label]['de_image']:.1f}"))
        sheet += [(f'{kind}: {label}', items) for label, items in tiles.items()]
    save_sheet(path, sheet, tile=256, title='SAAA Pix2Pix: synthetic cells pasted on each '
                                            'test image\'s clean background, at the real cells\' '
                                            'places (128 px windows)')


def write_brightness_sheet(path, rows, models, n_images, split):
    """``n_images`` images of ``split`` spread over the real cell brightness (dim to bright)."""
    ordered = sorted(rows, key=lambda r: r['real_mean'])
    picks = np.unique(np.linspace(0, len(ordered) - 1, min(n_images, len(ordered))).round())
    tiles = {label: [] for label in ['real', *models]}
    for r in (ordered[int(i)] for i in picks):
        window = _window(r)
        tiles['real'].append(Tile(r['image'][window],
                                  caption=f"{r['name'][:14]} cells {r['real_mean']:.0f}"))
        for label in models:
            tiles[label].append(Tile(r[label]['image'][window],
                                     caption=f"cells {r[label]['mean']:.0f}, "
                                             f"err {r[label]['err_image']:.0f}"))
    save_sheet(path, list(tiles.items()), tile=176,
               title=f'SAAA Pix2Pix on dsb2018_fluo {split}: synthetic cells pasted on each '
                     'image\'s clean background at the real cells\' places (128 px windows; '
                     'captions: mean grey level of the cells, error vs real)')


def training_record(work_dir):
    """The training command (from the tool's log) and the CPU time the run took (from
    ``cpu_time.txt``, written by ``/usr/bin/time``), when present in ``work_dir``."""
    out = []
    log = work_dir / 'train_pix2pix.log'
    if log.is_file():
        commands = [line.split('command: ', 1)[1] for line in log.read_text().splitlines()
                    if 'command: ' in line]
        out += ['training command (`OMP_NUM_THREADS=1`):', '', '  ```',
                f'  python {commands[0]}' if commands else '  (not in the log)', '  ```']
    times = work_dir / 'cpu_time.txt'
    if times.is_file():
        user = sum(float(line.split()[0]) + float(line.split()[2])
                   for line in times.read_text().splitlines() if line.strip())
        out.append(f'training CPU time (user + sys, one thread): {user / 60:.1f} min')
    return out


def model_lines(models):
    lines = []
    for label, ckpt in models.items():
        state = load_checkpoint(ckpt, PIX2PIX_KIND)
        cfg = state['config']
        lines.append(f"- {label}: `{ckpt}`, condition `{cfg.get('condition', 'none')}`, "
                     f"{cfg['image_size']} px, ngf {cfg['ngf']} / ndf {cfg['ndf']}, "
                     f"{state['iter']} iterations of batch {state['train']['batch_size']}, "
                     f"perceptual term {state.get('perceptual')}")
        lines += [f'  {line}' for line in training_record(Path(ckpt).parent)]
    return lines


def colour_section(rows, args, models, command):
    ref = reference_de(rows)
    first, labels = next(iter(models)), list(models)
    lines = ['## Colour on dsb2018_brightfield (mixed stains)', '',
             f'Data: `{args.data_root}` ({args.split} split). Command:', '', '```',
             command, '```', '', *model_lines(models)]
    lines += ['', 'Each real SCO mask of a test image is painted by every model, resized to the '
              'real cell\'s size and pasted (feather 1 px) centred on the real cell over the '
              'image\'s clean background (`core.remove_cells`). A conditioned model gets '
              'the code of its condition for that image (`background_style` of the clean '
              'background). dE = CIE76 distance of mean Lab colours (about 2.3 is a '
              'just-noticeable difference).', '',
              '| image type | images | SCOs | real cell RGB | ' +
              ' | '.join(f'dE image, {m}' for m in labels) + ' | ' +
              ' | '.join(f'dE cell, {m}' for m in labels) +
              ' | reference: real vs real, other image of the type |',
              '|---|---|---|---|' + '---|' * (2 * len(labels)) + '---|']
    for kind in ('H&E', 'grey'):
        group = [r for r in rows if r['kind'] == kind]
        if not group:
            continue
        real = np.concatenate([r['real_pixels'] for r in group])

        def cell(model, key):
            value = f"{np.mean([r[model][key] for r in group]):.1f}"
            return f'**{value}**' if model == first else value
        lines.append(f"| {kind} | {len(group)} | {sum(r['n'] for r in group)} | "
                     f"{mean_rgb(real)} | " + ' | '.join(cell(m, 'de_image') for m in labels) +
                     ' | ' + ' | '.join(cell(m, 'de_cell') for m in labels) +
                     f" | {ref[kind]:.1f} |")
    lines += ['', 'Mean RGB of the pasted synthetic cells:', '',
              '| image type | real | ' + ' | '.join(labels) + ' |',
              '|---|---|' + '---|' * len(labels)]
    for kind in ('H&E', 'grey'):
        group = [r for r in rows if r['kind'] == kind]
        if not group:
            continue
        pix = {m: np.concatenate([r[m]['image'][r[m]['masks'].any(axis=0)] for r in group])
               for m in labels}
        real = np.concatenate([r['real_pixels'] for r in group])
        lines.append(f"| {kind} | {mean_rgb(real)} | " +
                     ' | '.join(mean_rgb(pix[m]) for m in labels) + ' |')
    lines += ['', f'Per image (type: clean-background HSV saturation > {SATURATION_THRESHOLD}; '
              'the dataset\'s `modality` field for comparison):', '',
              '| image | modality | saturation | type | SCOs | ' +
              ' | '.join(f'dE image {m}' for m in labels) + ' |',
              '|---|---|---|---|---|' + '---|' * len(labels)]
    for r in rows:
        lines.append(f"| {r['name']} | {r['modality']} | {r['saturation']:.3f} | {r['kind']} | "
                     f"{r['n']} | " + ' | '.join(f"{r[m]['de_image']:.1f}" for m in labels) +
                     ' |')
    lines += ['', f'Contact sheet: `{Path(args.out_png).name}` (rows: real image, then each '
              'model; H&E then grey; captions: dE image). Reading: docs/saaa.md, '
              '"Appearance conditioning (beyond the paper)".']
    return lines


def pearson(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def brightness_section(rows, args, models, command):
    first, labels = next(iter(models)), list(models)
    average = training_cell_brightness(args)
    real = np.array([r['real_mean'] for r in rows])
    lines = ['## Brightness on dsb2018_fluo (one dark background, cells of many brightnesses)',
             '', f'Data: `{args.data_root}` ({args.split} split). Command:', '', '```',
             command, '```', '', *model_lines(models)]
    lines += ['', 'Each real SCO mask of a test image is painted by every model, resized to the '
              'real cell\'s size and pasted (feather 1 px) centred on the real cell over the '
              'image\'s clean background (`core.remove_cells`). A conditioned model gets the '
              'code of its condition for that image: `background_style` of the clean '
              'background, or `image_style` = that + `cell_statistics` of the image\'s real '
              'cells (what SAAA gives it at generation for the real image each background '
              'comes from). Grey level = channel mean, 0-255. Brightness error = |mean grey '
              'level of the synthetic cells - that of the real SCOs|; texture error = |mean '
              'within-cell standard deviation, synthetic - real|; r = Pearson correlation '
              'over images of synthetic and real mean cell brightness.', '',
              f'{len(rows)} {args.split} images, {sum(r["n"] for r in rows)} SCOs; real mean '
              f'cell grey level per image: median {np.median(real):.0f}, range {real.min():.0f}-'
              f'{real.max():.0f}.', '',
              '| model | brightness error, per image (mean) | per image (median) | per cell | '
              'texture error | r (synthetic vs real brightness) | synthetic cell grey, '
              'mean over images |', '|---|---|---|---|---|---|---|']
    for label in labels:
        err = np.array([r[label]['err_image'] for r in rows])
        syn = np.array([r[label]['mean'] for r in rows])

        def bold(text, model=label):
            return f'**{text}**' if model == first else text
        lines.append(f"| {label} | {bold(f'{err.mean():.1f}')} | {np.median(err):.1f} | "
                     f"{np.mean([r[label]['err_cell'] for r in rows]):.1f} | "
                     f"{np.mean([r[label]['err_std'] for r in rows]):.1f} | "
                     f"{pearson(syn, real):.2f} | {syn.mean():.0f} |")
    const = np.abs(real - average)
    lines.append(f'| reference: every cell at the training-cell mean ({average:.0f}) | '
                 f'{const.mean():.1f} | {np.median(const):.1f} | | | | {average:.0f} |')
    code = np.array([r['code_mean'] for r in rows])
    repasted = np.array([r['repasted_mean'] for r in rows])
    lines.append(f'| reference: the real cells, cut out and pasted back the same way (feather '
                 f'1 px; the error pasting alone adds) | {np.abs(repasted - real).mean():.1f} | '
                 f'{np.median(np.abs(repasted - real)):.1f} | | | '
                 f'{pearson(repasted, real):.2f} | {repasted.mean():.0f} |')
    lines.append(f'| reference: every cell at the mean of all the image\'s cells (the '
                 f'`image_style` code\'s mean) | {np.abs(code - real).mean():.1f} | '
                 f'{np.median(np.abs(code - real)):.1f} | | | {pearson(code, real):.2f} | '
                 f'{code.mean():.0f} |')
    lines += ['', 'Per image (sorted by real cell brightness; grey levels of the cells, '
              'within-cell std in brackets):', '',
              '| image | SCOs | real | ' + ' | '.join(labels) + ' |',
              '|---|---|---|' + '---|' * len(labels)]
    for r in sorted(rows, key=lambda r: r['real_mean']):
        lines.append(f"| {r['name']} | {r['n']} | {r['real_mean']:.0f} ({r['real_std']:.0f}) | "
                     + ' | '.join(f"{r[m]['mean']:.0f} ({r[m]['std']:.0f})" for m in labels)
                     + ' |')
    lines += ['', f'Contact sheet: `{Path(args.out_png).name}` (rows: real image, then each '
              f'model; columns: {args.split} images from dim to bright cells). Reading: '
              'docs/saaa.md, "Appearance conditioning (beyond the paper)".']
    return lines


def replace_section(path, metric, lines):
    """Write ``lines`` as the ``metric`` section of the markdown file ``path``, keeping the
    other sections (a file without section markers is the colour section of old)."""
    sections = {}
    if Path(path).is_file():
        text = Path(path).read_text()
        found = re.findall(r'<!-- section: (\w+) -->\n(.*?)\n<!-- end section: \1 -->', text,
                           flags=re.S)
        sections = dict(found)
        if not found and text.startswith(TITLE):  # written before the sections existed
            sections['colour'] = '## Colour on dsb2018_brightfield (mixed stains)\n' + \
                text[len(TITLE):].strip()
    sections[metric] = '\n'.join(lines)
    out = [TITLE, '']
    for name in METRICS:
        if name in sections:
            out += [f'<!-- section: {name} -->', sections[name].strip(),
                    f'<!-- end section: {name} -->', '']
    with atomic_open(path, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(out))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--metric', choices=METRICS, default='colour',
                        help="'colour': per image type CIE dE (brightfield); 'brightness': "
                             'grey-level error (fluorescence)')
    parser.add_argument('--data-root', type=Path, help='default: brightfield for colour, '
                                                       'fluo for brightness')
    parser.add_argument('--split', default='test')
    parser.add_argument('--model', action='append', metavar='LABEL=PATH',
                        help='a pix2pix.pth to compare (repeat; the first is the candidate); '
                             'default: the checkpoints of the .md for the metric')
    parser.add_argument('--seed', type=int, default=0, help='cell-removal seed')
    parser.add_argument('--export-coco', type=Path,
                        help='also write each model\'s painted images and their SCO masks as a '
                             'COCO set DIR/<label>/{images,annotations.json} (e.g. --split '
                             'train, for tools/eval_fid_kid.py --levels sco), and the real '
                             'cells pasted back the same way as DIR/real_repasted')
    parser.add_argument('--texture', action='store_true',
                        help='also paint with each model + the grain of real cells '
                             '(saaa.texture.CellTexture fitted on the train split), labelled '
                             f'LABEL{TEXTURE_SUFFIX}')
    parser.add_argument('--per-type', type=int, default=4,
                        help='images per type (colour) in the sheet; brightness: 1.5x as many')
    parser.add_argument('--out-md', type=Path,
                        default=Path('benchmarks/results/bench_saaa_conditioning.md'))
    parser.add_argument('--out-png', type=Path, help='default: bench_saaa_conditioning.png '
                                                     '(colour) / _fluo.png (brightness)')
    args = parser.parse_args(argv)
    args.data_root = args.data_root or Path(DEFAULT_DATA[args.metric])
    args.out_png = args.out_png or Path(DEFAULT_PNG[args.metric])
    models = parse_models(args.model or DEFAULT_MODELS[args.metric], args.texture)
    configure_threads()
    command = ' '.join(shlex.quote(a) for a in ['python', *(sys.argv if argv is None else
                                                            [sys.argv[0], *argv])])
    rows = evaluate(args, models)
    if args.metric == 'colour':
        names = modalities(args.data_root / 'annotations' / f'{args.split}.json')
        for r in rows:
            r['modality'] = names.get(r['name'], '?')
        write_colour_sheet(args.out_png, rows, models, args.per_type)
        lines = colour_section(rows, args, models, command)
    else:
        write_brightness_sheet(args.out_png, rows, models, int(round(1.5 * args.per_type)),
                               args.split)
        lines = brightness_section(rows, args, models, command)
    replace_section(args.out_md, args.metric, lines)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
