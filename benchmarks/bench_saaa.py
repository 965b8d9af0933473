"""SAAA speed on CPU: mask sampling, cell synthesis, composed images, training per epoch.

Usage (figures recorded in benchmarks/results/bench_saaa.md):
    OMP_NUM_THREADS=2 python benchmarks/bench_saaa.py \
        --data-root ../shared/data/dsb2018_fluo --work-dir work_dirs/saaa_fluo

Sampling and synthesis are timed with the checkpoints in --work-dir (``mask_ddpm.pth``,
``pix2pix.pth``) when they exist, else with freshly initialised networks of the CPU
setting (speed does not depend on the weights); composed images need trained checkpoints
(an untrained DDPM yields no valid masks) and are skipped without them. Training speed
is measured on the CPU setting (masks 32 px (16,32,64) batch 32; Pix2Pix 32 px ngf/ndf 32
batch 16) and extrapolated to one epoch over the dataset's SCOs.
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from mmaug_is.core import (DatasetStats, ObjectBank, load_coco_instances, read_image,
                           remove_cells)
from mmaug_is.saaa.generator import CellSynthesizer, MaskGenerator, SAAAGenerator
from mmaug_is.saaa.mask_data import ImageFormat, build_sco_dataset
from mmaug_is.saaa.mask_ddpm import MaskDDPM, MaskDDPMConfig
from mmaug_is.saaa.pix2pix import Pix2PixConfig, UNetGenerator
from mmaug_is.saaa.train_loop import configure_threads, iters_per_epoch
from mmaug_is.saaa.trainers import MaskDDPMTrainer, Pix2PixTrainer

CPU_DDPM = MaskDDPMConfig(image_size=32, block_out_channels=(16, 32, 64))
CPU_P2P = dict(image_size=32, ngf=32, ndf=32, n_down=3, n_layers_d=2)


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


def bench_sampling(mask_model, cells, batch, ddpm_batch, steps, repeat):
    """Per-sample times of raw mask sampling (DDIM, DDPM) and of Pix2Pix synthesis."""
    gen = torch.Generator().manual_seed(0)
    report(f'mask sampling, DDIM {steps} steps, batch {batch} (per mask)',
           timed(lambda: mask_model.sample(batch, gen, 'ddim', steps), repeat), batch)
    ddpm_steps = mask_model.cfg.num_train_timesteps
    report(f'mask sampling, DDPM {ddpm_steps} steps, batch {ddpm_batch} (per mask)',
           timed(lambda: mask_model.sample(ddpm_batch, gen, 'ddpm'), 1, warmup=False),
           ddpm_batch)
    masks = np.zeros((batch, 32, 32), bool)
    masks[:, 8:24, 10:22] = True
    report(f'cell synthesis, Pix2Pix {cells.size} px, batch {batch} (per cell)',
           timed(lambda: cells.synthesize(masks), repeat), batch)


def bench_training(ds, n_iters):
    """Seconds per iteration and per epoch of both trainers in the CPU setting."""
    for name, trainer in (
            ('mask DDPM', MaskDDPMTrainer(ds, CPU_DDPM, batch_size=32)),
            ('Pix2Pix', Pix2PixTrainer(ds, Pix2PixConfig(out_channels=ds.fmt.channels,
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
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--ddpm-batch', type=int, default=4,
                        help='batch of the (slow, 1000-step) DDPM sampling measurement')
    parser.add_argument('--ddim-steps', type=int, default=25)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--train-iters', type=int, default=10)
    parser.add_argument('--images', type=int, default=5, help='composed images to time')
    args = parser.parse_args()
    threads = configure_threads()
    ann_file = args.data_root / 'annotations' / 'train.json'
    img_dir = args.data_root / 'images'
    mask_ckpt, p2p_ckpt = args.work_dir / 'mask_ddpm.pth', args.work_dir / 'pix2pix.pth'
    trained = mask_ckpt.is_file() and p2p_ckpt.is_file()
    print(f'torch threads {threads}; checkpoints: {"trained" if trained else "untrained"}; '
          f'load average {os.getloadavg()[0]:.1f}')
    print('| measurement | wall | process CPU |\n|---|---|---|', flush=True)
    if trained:
        masks = MaskGenerator.from_checkpoint(mask_ckpt, steps=args.ddim_steps)
        cells = CellSynthesizer.from_checkpoint(p2p_ckpt)
        bench_sampling(masks.model, cells, args.batch, args.ddpm_batch, args.ddim_steps,
                       args.repeat)
        records = load_coco_instances(ann_file, img_dir)
        stats = DatasetStats.from_records(records, ObjectBank.from_records(records,
                                                                          progress=False))
        backgrounds = [remove_cells(read_image(r.path), r.masks, np.random.default_rng(i))
                       for i, r in enumerate(records[:4])]
        gen = SAAAGenerator(masks, cells, stats, backgrounds)
        indices, counts = iter(range(10 ** 9)), []
        times = timed(lambda: counts.append(len(gen.generate(0, next(indices)).masks)),
                      args.images, warmup=False)
        report(f'composed 256x256 image (mean {np.mean(counts):.0f} cells placed, DDIM '
               f'{args.ddim_steps}; median of {args.images})', times)
    else:
        torch.manual_seed(0)
        model = MaskDDPM(CPU_DDPM).eval()
        cfg = Pix2PixConfig(out_channels=3, **CPU_P2P)
        cells = CellSynthesizer(UNetGenerator(cfg), cfg, ImageFormat('uint8', 3), 0.75)
        bench_sampling(model, cells, args.batch, args.ddpm_batch, args.ddim_steps,
                       args.repeat)
    ds = build_sco_dataset(ann_file, img_dir, size=32, context='raw', progress=False)
    bench_training(ds, args.train_iters)


if __name__ == '__main__':
    main()
