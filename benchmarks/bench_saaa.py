"""SAAA speed on CPU: mask sampling, mask bank, cell synthesis, composed images, training.

Usage (figures recorded in benchmarks/results/bench_saaa.md):
    OMP_NUM_THREADS=1 python benchmarks/bench_saaa.py \
        --data-root ../shared/data/dsb2018_fluo --work-dir work_dirs/saaa_fluo

Sampling and synthesis are timed with the checkpoints in --work-dir (``mask_ddpm.pth``,
``pix2pix.pth``) when they exist, else with freshly initialised networks of the CPU
setting (speed does not depend on the weights): the mask DDPM of ``--mask-size`` (64:
``tools/saaa_train_masks.py``'s default, (16,16,32,64) with attention at 8x8; 32: the
former (16,32,64)), Pix2Pix 32 px ngf/ndf 32. An untrained DDPM yields no valid masks, so
there every sample goes through the real post-processing and a rejected one is replaced
by a fixed ellipse (``TimingFilter``: acceptance 100 %; divide by a trained model's
acceptance for its cost per accepted mask). Composed images are timed with masks drawn
from a mask bank (``MaskBank``, built here, its build timed) and with fresh masks.
Training speed is measured on the same settings, extrapolated to one epoch of the SCOs.
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mmaug_is.core import (DatasetStats, ObjectBank, load_coco_instances, read_image,
                           remove_cells)
from mmaug_is.core.style import cell_statistics
from mmaug_is.saaa.generator import CellSynthesizer, MaskGenerator, SAAAGenerator
from mmaug_is.saaa.mask_data import ImageFormat, SizeDistribution, build_sco_dataset
from mmaug_is.saaa.mask_ddpm import MaskDDPM, MaskDDPMConfig, MaskFilter, mask_generators
from mmaug_is.saaa.pix2pix import Pix2PixConfig, UNetGenerator
from mmaug_is.saaa.train_loop import configure_threads, iters_per_epoch
from mmaug_is.saaa.trainers import MaskDDPMTrainer, Pix2PixTrainer

CPU_DDPM = {
    64: MaskDDPMConfig(image_size=64, block_out_channels=(16, 16, 32, 64),
                       attention_levels=(3, )),
    32: MaskDDPMConfig(image_size=32, block_out_channels=(16, 32, 64), attention_levels=(2, )),
}
CPU_P2P = dict(image_size=32, ngf=32, ndf=32, n_down=3, n_layers_d=2)
FILL = 0.75


def timed(fn, repeat, warmup=True):
    """Median ``(wall, process CPU)`` seconds of ``repeat`` calls (after one warm-up call).

    The process CPU time is what the work costs on an idle machine with one thread; the
    wall time also holds waiting for cores shared with other jobs.
    """
    if warmup:
        fn()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), float(np.median(cpus))


def report(name, seconds, per=1):
    """Print one table row (wall and CPU time divided by ``per``) as soon as it is measured."""
    def fmt(value):
        value /= per
        return f'{value * 1000:.1f} ms' if value < 1 else f'{value:.2f} s'
    print(f'| {name} | {fmt(seconds[0])} | {fmt(seconds[1])} |', flush=True)


class TimingFilter(MaskFilter):
    """``MaskFilter`` for untrained models: the real post-processing runs, then a rejected
    sample is replaced by a centred ellipse (the canonical frame's fill), so every sample
    is accepted and composed cells have plausible shapes."""

    def __init__(self, size):
        super().__init__(area_low=0.0, area_high=float(size * size))
        yy, xx = np.mgrid[:size, :size] - (size - 1) / 2.0
        self.ellipse = (xx / (FILL * size / 2)) ** 2 + (yy / (0.55 * size / 2)) ** 2 <= 1

    def clean(self, raw):
        mask, _ = super().clean(raw)
        return (self.ellipse.copy() if mask is None else mask), 'ok'


def bench_sampling(masks, cells, batches, ddpm_batch, repeat):
    """Per-sample times of raw mask sampling (DDIM per batch size, DDPM) and of Pix2Pix."""
    model, steps = masks.model, masks.steps
    cfg = model.cfg
    arch = f'{cfg.image_size} px {cfg.block_out_channels}'
    for batch in batches:
        report(f'mask sampling, {arch}, DDIM {steps} steps, batch {batch} (per mask)',
               timed(lambda: model.sample(batch, mask_generators(range(batch)), 'ddim',
                                          steps), repeat), batch)
    if ddpm_batch:
        report(f'mask sampling, {arch}, DDPM {cfg.num_train_timesteps} steps, batch '
               f'{ddpm_batch} (per mask)',
               timed(lambda: model.sample(ddpm_batch, torch.Generator().manual_seed(0),
                                          'ddpm'), 1, warmup=False), ddpm_batch)
    batch = max(batches)
    canonical = np.zeros((batch, 32, 32), bool)
    canonical[:, 8:24, 10:22] = True
    report(f'cell synthesis, Pix2Pix {cells.size} px, batch {batch} (per cell)',
           timed(lambda: cells.synthesize(canonical), repeat), batch)


def bench_bank(masks, n, folder):
    """Build a mask bank of ``n`` masks (timed once) and use it for ``masks``."""
    cfg = masks.model.cfg
    wall, cpu = time.perf_counter(), time.process_time()
    bank = masks.use_bank(n, folder, seed=0, progress=False)
    times = (time.perf_counter() - wall, time.process_time() - cpu)
    label = (f'mask bank build, {n} masks, {cfg.image_size} px {cfg.block_out_channels}, '
             f'DDIM {masks.steps}, batch {masks.batch_size}, acceptance '
             f'{bank.meta["acceptance"]:.0%}')
    report(f'{label} (total)', times)
    report(f'{label} (per bank mask)', times, n)
    report('mask bank draw, 25 masks with dihedral transforms (per image)',
           timed(lambda: bank.draw(25, np.random.default_rng(0)), 5))
    return bank


def bench_composed(gen, n_images, label, first_index=0):
    """Median time of ``n_images`` composed images (indices from ``first_index``)."""
    indices, counts = iter(range(first_index, first_index + 10 ** 6)), []
    times = timed(lambda: counts.append(len(gen.generate(0, next(indices)).masks)),
                  n_images, warmup=False)
    report(f'composed 256x256 image, {label} (mean {np.mean(counts):.0f} cells placed; '
           f'median of {n_images})', times)


def bench_training(mask_ds, p2p_ds, mask_cfg, n_iters):
    """Seconds per iteration and per epoch of both trainers in the CPU setting."""
    arch = f'{mask_cfg.image_size} px {mask_cfg.block_out_channels}'
    for name, ds, trainer in (
            (f'mask DDPM {arch}', mask_ds, MaskDDPMTrainer(mask_ds, mask_cfg, batch_size=32)),
            ('Pix2Pix 32 px', p2p_ds,
             Pix2PixTrainer(p2p_ds, Pix2PixConfig(out_channels=p2p_ds.fmt.channels,
                                                  **CPU_P2P),
                            batch_size=16, lambda_vgg=0))):
        counter = iter(range(10 ** 9))
        wall, cpu = timed(lambda: trainer.step(next(counter)), n_iters)
        per_epoch = iters_per_epoch(len(ds), trainer.batch_size)
        report(f'{name} training, batch {trainer.batch_size} (per iteration)', (wall, cpu))
        report(f'{name} training, one epoch ({per_epoch} iterations, {len(ds)} SCOs)',
               (wall * per_epoch, cpu * per_epoch))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', type=Path, default=Path('../shared/data/dsb2018_fluo'))
    parser.add_argument('--work-dir', type=Path, default=Path('work_dirs/saaa_fluo'))
    parser.add_argument('--mask-size', type=int, choices=sorted(CPU_DDPM), default=64,
                        help='untrained mask DDPM setting (and the trained DDPM of training)')
    parser.add_argument('--batch', type=int, nargs='+', default=[16, 64],
                        help='DDIM sampling batch sizes to time')
    parser.add_argument('--ddpm-batch', type=int, default=0,
                        help='batch of the (slow, 1000-step) DDPM sampling measurement; 0: skip')
    parser.add_argument('--ddim-steps', type=int, default=25)
    parser.add_argument('--repeat', type=int, default=2)
    parser.add_argument('--bank', type=int, default=256, help='mask bank size to build')
    parser.add_argument('--images', type=int, default=5, help='composed images with the bank')
    parser.add_argument('--fresh-images', type=int, default=2,
                        help='composed images with fresh masks (0: skip)')
    parser.add_argument('--train-iters', type=int, default=3, help='0: skip training')
    args = parser.parse_args()
    threads = configure_threads()
    ann_file = args.data_root / 'annotations' / 'train.json'
    img_dir = args.data_root / 'images'
    mask_ckpt, p2p_ckpt = args.work_dir / 'mask_ddpm.pth', args.work_dir / 'pix2pix.pth'
    trained = mask_ckpt.is_file() and p2p_ckpt.is_file()
    print(f'torch {torch.__version__}, threads {threads}; checkpoints: '
          f'{"trained" if trained else "untrained"}; load average {os.getloadavg()[0]:.1f}')
    if trained:
        masks = MaskGenerator.from_checkpoint(mask_ckpt, steps=args.ddim_steps)
        cells = CellSynthesizer.from_checkpoint(p2p_ckpt)
        mask_cfg = masks.model.cfg
    else:
        mask_cfg = CPU_DDPM[args.mask_size]
    mask_ds = build_sco_dataset(ann_file, img_dir, size=mask_cfg.image_size, fill=FILL,
                                with_images=False, progress=False)
    if not trained:
        torch.manual_seed(0)
        cfg = mask_cfg
        masks = MaskGenerator(MaskDDPM(cfg), TimingFilter(cfg.image_size),
                              SizeDistribution(mask_ds.sizes), FILL, steps=args.ddim_steps,
                              digest=f'untrained-{cfg.image_size}')
        p2p_cfg = Pix2PixConfig(out_channels=3, **CPU_P2P)
        cells = CellSynthesizer(UNetGenerator(p2p_cfg), p2p_cfg, ImageFormat('uint8', 3),
                                FILL)
    print('| measurement | wall | process CPU |\n|---|---|---|', flush=True)
    bench_sampling(masks, cells, args.batch, args.ddpm_batch, args.repeat)
    records = load_coco_instances(ann_file, img_dir)
    stats = DatasetStats.from_records(records, ObjectBank.from_records(records,
                                                                      progress=False))
    images = [read_image(r.path) for r in records[:4]]
    backgrounds = [remove_cells(image, r.masks, np.random.default_rng(i))
                   for i, (image, r) in enumerate(zip(images, records))]
    cell_stats = [cell_statistics(image, r.masks) for image, r in zip(images, records)]
    gen = SAAAGenerator(masks, cells, stats, backgrounds, cell_stats=cell_stats)
    if args.fresh_images:
        bench_composed(gen, args.fresh_images, f'fresh masks (DDIM {args.ddim_steps})',
                       first_index=1000)
    if args.bank:
        with tempfile.TemporaryDirectory() as folder:
            bench_bank(masks, args.bank, folder)
        bench_composed(gen, args.images, f'masks from a {args.bank}-mask bank')
    if args.train_iters:
        p2p_ds = build_sco_dataset(ann_file, img_dir, size=32, fill=FILL, context='raw',
                                   progress=False)
        bench_training(mask_ds, p2p_ds, mask_cfg, args.train_iters)


if __name__ == '__main__':
    main()
