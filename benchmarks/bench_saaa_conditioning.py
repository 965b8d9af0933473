"""SAAA appearance conditioning: do synthetic cells take the colour of their background?

For every test image of a mixed dataset (dsb2018_brightfield: grey brightfield tiles and
H&E-stained tiles) the cells are removed (``core.remove_cells``, the clean background
SAAA composes on) and each real SCO mask of the image is painted by two Pix2Pix models,
one conditioned on the background style (``condition='background_style'``) and one
mask-only (the paper's). Each synthetic cell is resized to its real cell's size and pasted
(Gaussian feather 1 px, as the composer does) centred on the real cell, so synthetic and
real cells share sizes and positions. Reported per image type (decided by the mean HSV
saturation of the clean background: grey tiles are exactly unsaturated):

- dE image: CIE76 distance (Lab) between the mean colour of all pasted synthetic cell
  pixels of an image and that of its real SCO pixels, averaged over the images;
- dE cell: the same per cell (synthetic vs its real counterpart), averaged over cells;
- reference: dE image between the real cells of two different test images of the same
  type (how much real cells of one type differ from image to image).

Usage (results in benchmarks/results/bench_saaa_conditioning.md and .png):
    OMP_NUM_THREADS=1 python benchmarks/bench_saaa_conditioning.py \\
        --data-root ../shared/data/dsb2018_brightfield \\
        --cond-ckpt work_dirs/saaa_cond_bf/cond/pix2pix.pth \\
        --plain-ckpt work_dirs/saaa_cond_bf/plain/pix2pix.pth
Both checkpoints come from tools/saaa_train_pix2pix.py (see the .md for the commands).
"""
import argparse
import shlex
import sys
from pathlib import Path

import cv2
import numpy as np

from mmaug_is.core import feathered_paste, load_coco_instances, read_image, remove_cells
from mmaug_is.core.io import atomic_open
from mmaug_is.saaa.generator import CellSynthesizer
from mmaug_is.saaa.mask_data import build_sco_dataset, restore_scale
from mmaug_is.saaa.train_loop import configure_threads, load_checkpoint
from mmaug_is.saaa.trainers import PIX2PIX_KIND
from mmaug_is.synth.contact_sheet import Tile, save_sheet

SATURATION_THRESHOLD = 0.01  # mean HSV saturation of the clean background: above = H&E
MODELS = ('conditioned', 'unconditioned')
SHEET_CROP = 128              # px window of each image shown in the contact sheet


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


def paste_cells(background, canonical, sizes, centres, cells, style):
    """Paint ``canonical`` masks with ``cells`` (a ``CellSynthesizer``) and paste each at its
    real size centred on ``centres`` (y, x). Returns ``(image, (n, H, W) bool masks)``."""
    frames, images = cells.synthesize(canonical, style=style)  # masks in the model's frame
    canvas = background.copy()
    masks = np.zeros((len(canonical),) + background.shape[:2], bool)
    for i, (mask, image) in enumerate(zip(frames, images)):
        mask, image = restore_scale(mask, int(sizes[i].max()), image)
        h, w = mask.shape
        y = int(np.clip(round(centres[i][0] - (h - 1) / 2), 0, canvas.shape[0] - h))
        x = int(np.clip(round(centres[i][1] - (w - 1) / 2), 0, canvas.shape[1] - w))
        feathered_paste(canvas, image, mask, x, y, sigma=1.0)
        masks[i, y:y + h, x:x + w] = mask
    return canvas, masks


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


def evaluate(args):
    ann_file = args.data_root / 'annotations' / f'{args.split}.json'
    img_dir = args.data_root / 'images'
    cells = {'conditioned': CellSynthesizer.from_checkpoint(args.cond_ckpt),
             'unconditioned': CellSynthesizer.from_checkpoint(args.plain_ckpt)}
    if not cells['conditioned'].conditioned or cells['unconditioned'].conditioned:
        raise SystemExit('--cond-ckpt must be a conditioned and --plain-ckpt an unconditioned '
                         'Pix2Pix checkpoint')
    ref = cells['conditioned']
    scos = build_sco_dataset(ann_file, img_dir, size=ref.size, fill=ref.fill,
                             with_images=False, progress=False)
    rows = []
    for index, record in enumerate(load_coco_instances(ann_file, img_dir)):
        idx, centres = image_scos(scos, record)
        if not len(idx):
            continue
        image = read_image(record.path)
        clean = remove_cells(image, record.masks, np.random.default_rng(args.seed + index))
        sat = saturation(clean)
        real_masks = record.masks[[{int(a): k for k, a in enumerate(record.ann_ids)}[
            int(scos.sources[i].rsplit('#', 1)[1])] for i in idx]]
        row = dict(name=record.file_name, saturation=sat,
                   kind='H&E' if sat > SATURATION_THRESHOLD else 'grey', n=len(idx),
                   image=image, real_masks=real_masks,
                   real_pixels=image[real_masks.any(axis=0)])
        for model, synth in cells.items():
            style = synth.style_of(clean) if synth.conditioned else None
            pasted, masks = paste_cells(clean, scos.masks[idx], scos.sizes[idx], centres,
                                        synth, style)
            row[model] = dict(image=pasted, masks=masks,
                              de_image=delta_e(pasted[masks.any(axis=0)], row['real_pixels']),
                              de_cell=float(np.mean([delta_e(pasted[m], image[r])
                                                     for m, r in zip(masks, real_masks)])))
        rows.append(row)
        print(f"{record.file_name}: {row['kind']} (saturation {sat:.3f}), {len(idx)} SCOs, "
              f"dE image cond {row['conditioned']['de_image']:.1f} / "
              f"plain {row['unconditioned']['de_image']:.1f}", flush=True)
    return rows


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


def mean_rgb(pixels):
    return '(' + ', '.join(f'{v:.0f}' for v in pixels.reshape(-1, 3).mean(axis=0)) + ')'


def write_sheet(path, rows, per_type):
    sheet = []
    for kind in ('H&E', 'grey'):
        group, sources = [], set()  # the images with most SCOs, one per source image
        for r in sorted((r for r in rows if r['kind'] == kind), key=lambda r: -r['n']):
            source = r['name'].rsplit('_t', 1)[0]
            if source not in sources and len(group) < per_type:
                group.append(r)
                sources.add(source)
        real, cond, plain = [], [], []
        for r in group:
            y, x = crop_window(r['real_masks'], r['image'].shape, SHEET_CROP)
            window = (slice(y, y + SHEET_CROP), slice(x, x + SHEET_CROP))
            real.append(Tile(r['image'][window], caption=r['name'][:20]))
            for model, out in (('conditioned', cond), ('unconditioned', plain)):
                out.append(Tile(r[model]['image'][window],
                                caption=f"dE {r[model]['de_image']:.1f}"))
        sheet += [(f'{kind}: real', real), (f'{kind}: conditioned', cond),
                  (f'{kind}: unconditioned\n(mask only)', plain)]
    save_sheet(path, sheet, tile=256, title='SAAA Pix2Pix: synthetic cells pasted on each '
                                            'test image\'s clean background, at the real cells\' '
                                            'places (128 px windows)')


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


def write_markdown(path, rows, args, command):
    ref = reference_de(rows)
    states = {m: load_checkpoint(p, PIX2PIX_KIND) for m, p in
              (('conditioned', args.cond_ckpt), ('unconditioned', args.plain_ckpt))}
    lines = ['# bench_saaa_conditioning: appearance-conditioned vs mask-only Pix2Pix', '',
             f'Data: `{args.data_root}` ({args.split} split). Command:', '', '```',
             command, '```', '']
    for model, state in states.items():
        cfg = state['config']
        ckpt = args.cond_ckpt if model == 'conditioned' else args.plain_ckpt
        lines.append(f"- {model}: `{ckpt}`, condition `{cfg.get('condition', 'none')}`, "
                     f"{cfg['image_size']} px, ngf {cfg['ngf']} / ndf {cfg['ndf']}, "
                     f"{state['iter']} iterations of batch {state['train']['batch_size']}, "
                     f"perceptual term {state.get('perceptual')}")
        lines += [f'  {line}' for line in training_record(Path(ckpt).parent)]
    lines += ['', 'Each real SCO mask of a test image is painted by both models, resized to the '
              'real cell\'s size and pasted (feather 1 px) centred on the real cell over the '
              'image\'s clean background (`core.remove_cells`). The conditioned model gets '
              '`background_style` of that clean background. dE = CIE76 distance of mean Lab '
              'colours (about 2.3 is a just-noticeable difference).', '',
              '| image type | images | SCOs | real cell RGB | dE image, conditioned | '
              'dE image, unconditioned | dE cell, conditioned | dE cell, unconditioned | '
              'reference: real vs real, other image of the type |',
              '|---|---|---|---|---|---|---|---|---|']
    for kind in ('H&E', 'grey'):
        group = [r for r in rows if r['kind'] == kind]
        if not group:
            continue
        real = np.concatenate([r['real_pixels'] for r in group])

        def avg(model, key):
            return np.mean([r[model][key] for r in group])
        lines.append(f"| {kind} | {len(group)} | {sum(r['n'] for r in group)} | "
                     f"{mean_rgb(real)} | **{avg('conditioned', 'de_image'):.1f}** | "
                     f"{avg('unconditioned', 'de_image'):.1f} | "
                     f"**{avg('conditioned', 'de_cell'):.1f}** | "
                     f"{avg('unconditioned', 'de_cell'):.1f} | {ref[kind]:.1f} |")
    lines += ['', 'Mean RGB of the pasted synthetic cells:', '',
              '| image type | real | conditioned | unconditioned |', '|---|---|---|---|']
    for kind in ('H&E', 'grey'):
        group = [r for r in rows if r['kind'] == kind]
        if not group:
            continue
        pix = {m: np.concatenate([r[m]['image'][r[m]['masks'].any(axis=0)] for r in group])
               for m in MODELS}
        real = np.concatenate([r['real_pixels'] for r in group])
        lines.append(f"| {kind} | {mean_rgb(real)} | {mean_rgb(pix['conditioned'])} | "
                     f"{mean_rgb(pix['unconditioned'])} |")
    lines += ['', f'Per image (type: clean-background HSV saturation > {SATURATION_THRESHOLD}; '
              'the dataset\'s `modality` field for comparison):', '',
              '| image | modality | saturation | type | SCOs | dE image cond. | dE image uncond. |',
              '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['name']} | {r['modality']} | {r['saturation']:.3f} | {r['kind']} | "
                     f"{r['n']} | {r['conditioned']['de_image']:.1f} | "
                     f"{r['unconditioned']['de_image']:.1f} |")
    lines += ['', f'Contact sheet: `{Path(args.out_png).name}` (rows: real image, conditioned, '
              'unconditioned; H&E then grey; captions: dE image). Reading: docs/saaa.md, '
              '"Appearance conditioning (beyond the paper)".', '']
    with atomic_open(path, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', type=Path,
                        default=Path('../shared/data/dsb2018_brightfield'))
    parser.add_argument('--split', default='test')
    parser.add_argument('--cond-ckpt', type=Path,
                        default=Path('work_dirs/saaa_cond_bf/cond/pix2pix.pth'))
    parser.add_argument('--plain-ckpt', type=Path,
                        default=Path('work_dirs/saaa_cond_bf/plain/pix2pix.pth'))
    parser.add_argument('--seed', type=int, default=0, help='cell-removal seed')
    parser.add_argument('--per-type', type=int, default=4, help='images per type in the sheet')
    parser.add_argument('--out-md', type=Path,
                        default=Path('benchmarks/results/bench_saaa_conditioning.md'))
    parser.add_argument('--out-png', type=Path,
                        default=Path('benchmarks/results/bench_saaa_conditioning.png'))
    args = parser.parse_args(argv)
    configure_threads()
    command = ' '.join(shlex.quote(a) for a in ['python', *sys.argv])
    rows = evaluate(args)
    names = modalities(args.data_root / 'annotations' / f'{args.split}.json')
    for r in rows:
        r['modality'] = names.get(r['name'], '?')
    write_sheet(args.out_png, rows, args.per_type)
    write_markdown(args.out_md, rows, args, command)
    print(Path(args.out_md).read_text())


if __name__ == '__main__':
    main()
