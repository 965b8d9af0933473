"""Speed of the IAAA core: background synthesis and image composition, 256^2 and 1024^2.

256^2: real dsb2018_fluo train images as they are. 1024^2: real images with 25-35 nuclei
upscaled 4x (bicubic image, nearest-neighbour masks), their objects extracted from the
upscaled images, 30 cells per composed image. Single thread; prints a markdown table and
writes it to benchmarks/results/bench_core.md.

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_core.py [--data ../shared/data/dsb2018_fluo]
"""
import argparse
import os
import platform
from pathlib import Path

import cv2
import numpy as np

from mmaug_is.benchmarking.timing import Timer
from mmaug_is.core import (DatasetStats, ImageRecord, ObjectBank, choose_objects, compose_image,
                           extract_objects, load_coco_instances, read_image, remove_cells)
from mmaug_is.core.io import atomic_open

REPO = Path(__file__).resolve().parents[1]


def upscale(record, image, factor):
    """A record/image pair scaled by ``factor`` (image bicubic, masks nearest)."""
    size = (record.width * factor, record.height * factor)
    big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    masks = np.stack([cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
                      for m in record.masks]).astype(bool)
    return ImageRecord(record.file_name, record.path, size[1], size[0], masks), big


def time_backgrounds(pairs, method):
    """``(wall, cpu)`` mean milliseconds per ``remove_cells`` call over (record, image) pairs."""
    rng = np.random.default_rng(0)
    masks = [r.masks for r, _ in pairs]
    with Timer() as timer:
        for (_, image), m in zip(pairs, masks):
            remove_cells(image, m, rng, method=method)
    return 1000 * timer.wall / len(pairs), 1000 * timer.cpu / len(pairs)


def time_compose(backgrounds, bank, counts, sco_fraction, n_images):
    """``(wall, cpu)`` composed images per second, mean cells placed, objects skipped."""
    rng = np.random.default_rng(1)
    placed = skipped = 0
    with Timer() as timer:
        for i in range(n_images):
            objects = choose_objects(bank, counts[i % len(counts)], sco_fraction, rng)
            result = compose_image(backgrounds[i % len(backgrounds)], objects, rng)
            placed += result.n_cells
            skipped += len(result.skipped)
    return (n_images / timer.wall, n_images / timer.cpu), placed / n_images, skipped / n_images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default=str(REPO.parent / 'shared' / 'data' / 'dsb2018_fluo'))
    parser.add_argument('--out', default=str(REPO / 'benchmarks' / 'results' / 'bench_core.md'))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    root = Path(args.data)
    records = load_coco_instances(root / 'annotations' / 'train.json', root / 'images')
    images = [read_image(r.path) for r in records]
    bank = ObjectBank.from_records(records, progress=False)
    stats = DatasetStats.from_records(records, bank)

    rows = []
    pairs = list(zip(records, images))
    for method in ('corner', 'inpaint'):
        wall, cpu = time_backgrounds(pairs, method)
        rows.append(('256x256', f'remove_cells ({method})', f'{wall:.1f} / {cpu:.1f} ms/image',
                     f'{len(pairs)} real images, {np.mean([len(r) for r in records]):.1f} '
                     'cells on average'))
    rng = np.random.default_rng(0)
    backgrounds = [remove_cells(im, r.masks, rng) for r, im in pairs[:20]]
    counts = [stats.sample_cell_count(rng) for _ in range(50)]
    ips, placed, skipped = time_compose(backgrounds, bank, counts, stats.sco_fraction, 50)
    rows.append(('256x256', 'compose_image (no transform)', f'{ips[0]:.1f} / {ips[1]:.1f} images/s',
                 f'cells/image from the real distribution: {np.mean(counts):.1f} asked, '
                 f'{placed:.1f} placed, {skipped:.2f} objects skipped'))

    chosen = [i for i, r in enumerate(records) if 25 <= len(r) <= 35][:8]
    big_pairs = [upscale(records[i], images[i], 4) for i in chosen]
    n_cells = np.mean([len(r) for r, _ in big_pairs])
    for method in ('corner', 'inpaint'):
        wall, cpu = time_backgrounds(big_pairs, method)
        rows.append(('1024x1024', f'remove_cells ({method})', f'{wall:.0f} / {cpu:.0f} ms/image',
                     f'{len(big_pairs)} real images upscaled 4x, {n_cells:.1f} cells on '
                     'average'))
    scos, mcos = [], []
    for record, image in big_pairs:
        for obj in extract_objects(record, image):
            (scos if obj.kind == 'sco' else mcos).append(obj)
    big_bank = ObjectBank(scos, mcos)
    big_backgrounds = [remove_cells(im, r.masks, rng) for r, im in big_pairs]
    ips, placed, skipped = time_compose(big_backgrounds, big_bank, [30], stats.sco_fraction, 10)
    rows.append(('1024x1024', 'compose_image (no transform)',
                 f'{ips[0]:.2f} / {ips[1]:.2f} images/s',
                 f'30 cells asked (objects 4x upscaled), {placed:.1f} placed, '
                 f'{skipped:.2f} objects skipped'))

    table = ['| size | step | speed (wall / CPU) | workload |', '|---|---|---|---|']
    table += [f'| {a} | {b} | {c} | {d} |' for a, b, c, d in rows]
    command = 'OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_core.py'
    text = '\n'.join([
        '# bench_core: background synthesis and composition speed', '',
        f'Command: `{command}`  ',
        f'Data: `{root.name}` train ({len(records)} images, {len(bank.scos)} SCOs, '
        f'{len(bank.mcos)} MCOs)  ',
        f'Machine: {platform.processor() or platform.machine()}, '
        f'{os.cpu_count()} logical CPUs shared, one thread (cv2.setNumThreads(1)); '
        f'Python {platform.python_version()}, numpy {np.__version__}, opencv {cv2.__version__}',
        '', 'Speeds are given as wall-clock / process-CPU time: the 2 cores are shared with '
        'other jobs, so wall time can be much longer than CPU time.', '', *table, '',
        'Defaults: remove_cells(n_candidates=8, sigma=2, halo=4, context=16); '
        'compose_image(n_candidates=50, sigma=1, spacing=0).', ''])
    print(text)
    with atomic_open(args.out, 'w', encoding='utf-8') as handle:
        handle.write(text)


if __name__ == '__main__':
    main()
