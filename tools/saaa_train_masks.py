"""Train the SAAA mask generator: an unconditional DDPM over canonical SCO masks.

Writes to --work-dir: ``mask_ddpm.pth`` (atomic; EMA weights, optimiser, RNG states, real
SCO sizes, the command and data it was trained with), ``train_masks.log`` and
``samples/masks_iter_XXXXXX.png`` (rows: real masks, raw DDIM samples, post-processed
masks; the acceptance rate in the title).

CPU setting (dsb2018_fluo train, ~1000 SCOs, 2 cores; see benchmarks/results/bench_saaa.md):
64 px masks (the paper's scale; the defaults: --size 64 --channels 16,16,32,64, attention
on the 8x8 level), ~0.8-1.2 s of one core per iteration of batch 32:
    OMP_NUM_THREADS=2 python tools/saaa_train_masks.py \
        --ann-file ../shared/data/dsb2018_fluo/annotations/train.json \
        --img-dir ../shared/data/dsb2018_fluo/images --work-dir work_dirs/saaa_fluo \
        --batch-size 32 --iters 1500
The former 32 px setting (--size 32 --channels 16,32,64) costs ~0.5 s per iteration.
GPU users: --device cuda --channels 64,128,128 --epochs 200.
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from mmaug_is.saaa.mask_data import build_sco_dataset
from mmaug_is.saaa.mask_ddpm import MaskDDPMConfig, MaskFilter
from mmaug_is.saaa.train_loop import TrainingRun, add_common_args, command_line
from mmaug_is.saaa.trainers import MASK_KIND, MaskDDPMTrainer
from mmaug_is.synth.contact_sheet import save_sheet
from mmaug_is.utils.cli import at_least, int_list

CKPT_NAME = 'mask_ddpm.pth'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_common_args(parser, default_size=64, default_batch=32)
    parser.add_argument('--channels', type=int_list(1), default=(16, 16, 32, 64),
                        help='UNet block_out_channels, comma separated (one per level; '
                             'each level halves the resolution)')
    parser.add_argument('--layers-per-block', type=at_least(1), default=1)
    parser.add_argument('--attention-levels', type=int_list(0, allow_empty=True), default=None,
                        help='UNet levels with self-attention, comma separated ("" = none; '
                             'default: the last, lowest-resolution level)')
    parser.add_argument('--lr', type=float, default=5e-4)
    parser.add_argument('--ema-decay', type=float, default=0.995)
    parser.add_argument('--sample-steps', type=at_least(1), default=25,
                        help='DDIM steps for the sample sheets')
    args = parser.parse_args(argv)
    levels = len(args.channels)
    if args.attention_levels and max(args.attention_levels) >= levels:
        parser.error(f'argument --attention-levels: levels must be in 0..{levels - 1} (one '
                     f'per --channels entry), got {args.attention_levels}')
    return args


def make_sampler(trainer, work_dir, logger, seed, n=16):
    """Sample-sheet callback: fixed real masks vs DDIM samples of the EMA model."""
    ds = trainer.dataset
    real_idx = np.random.default_rng([seed, 7]).choice(len(ds), size=min(n, len(ds)),
                                                       replace=False)
    mask_filter = MaskFilter.from_areas(ds.canonical_areas)

    def sample(it):
        raw = trainer.ema.shadow.sample(n, torch.Generator().manual_seed(seed),
                                        sampler='ddim', steps=trainer.sample_steps)
        raw = raw[:, 0].numpy()
        cleaned = [mask_filter.clean(r) for r in raw]
        ok = [m if m is not None else np.zeros_like(r, bool) for (m, _), r in zip(cleaned, raw)]
        accepted = sum(m is not None for m, _ in cleaned)
        path = Path(work_dir) / 'samples' / f'masks_iter_{it:06d}.png'
        save_sheet(path, [('real', list(ds.masks[real_idx])),
                          ('DDIM raw', list((raw + 1.0) / 2.0)), ('cleaned', ok)],
                   title=f'iter {it}: {accepted}/{n} accepted')
        logger.info('samples at iter %d: %d/%d masks accepted -> %s', it, accepted, n, path)

    return sample


def main(argv=None):
    args = parse_args(argv)
    run = TrainingRun(args, 'masks', CKPT_NAME, MASK_KIND,
                      command=command_line(__file__, argv))
    ds = build_sco_dataset(args.ann_file, args.img_dir, size=run.size, fill=run.fill,
                           with_images=False, progress=not args.no_progress)
    run.logger.info('%d canonical SCO masks at %dx%d px (fill %.2f)', len(ds), run.size,
                    run.size, run.fill)
    if run.state:
        trainer = MaskDDPMTrainer.from_checkpoint(run.state, ds, device=run.device)
    else:
        channels = args.channels
        attention = ((len(channels) - 1, ) if args.attention_levels is None
                     else args.attention_levels)
        cfg = MaskDDPMConfig(image_size=args.size, block_out_channels=channels,
                             layers_per_block=args.layers_per_block,
                             attention_levels=attention)
        trainer = MaskDDPMTrainer(ds, cfg, batch_size=args.batch_size, lr=args.lr,
                                  ema_decay=args.ema_decay, seed=args.seed, device=run.device)
    trainer.sample_steps = args.sample_steps
    run.logger.info('UNet %s, %d parameters', trainer.cfg.to_dict(),
                    sum(p.numel() for p in trainer.model.parameters()))
    run.train(trainer, make_sampler(trainer, args.work_dir, run.logger, trainer.seed),
              desc='mask DDPM')


if __name__ == '__main__':
    main()
