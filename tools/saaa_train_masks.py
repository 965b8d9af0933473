"""Train the SAAA mask generator: an unconditional DDPM over canonical SCO masks.

Writes to --work-dir: ``mask_ddpm.pth`` (atomic; EMA weights, optimiser, RNG states, real
SCO sizes), ``train_masks.log`` and ``samples/masks_iter_XXXXXX.png`` (real masks | raw
DDIM samples | post-processed masks, with the acceptance rate in the title).

CPU setting (dsb2018_fluo train, ~1000 SCOs, 2 cores; see benchmarks/results/bench_saaa.md):
    OMP_NUM_THREADS=2 python tools/saaa_train_masks.py \
        --ann-file ../shared/data/dsb2018_fluo/annotations/train.json \
        --img-dir ../shared/data/dsb2018_fluo/images --work-dir work_dirs/saaa_fluo \
        --size 32 --channels 16,32,64 --batch-size 32 --iters 1500
GPU users: --size 64 --channels 64,128,128 --epochs 200.
"""
import argparse
import os.path as osp
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmaug_is.saaa.mask_data import build_sco_dataset  # noqa: E402
from mmaug_is.saaa.mask_ddpm import MaskDDPMConfig, MaskFilter  # noqa: E402
from mmaug_is.saaa.train_loop import (add_common_args, configure_threads,  # noqa: E402
                                      contact_sheet, get_logger, load_checkpoint, plan_run,
                                      resolve_resume, run_iterations, save_checkpoint)
from mmaug_is.saaa.trainers import MASK_KIND, MaskDDPMTrainer  # noqa: E402

CKPT_NAME = 'mask_ddpm.pth'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, default_size=32, default_batch=32)
    parser.add_argument('--channels', default='16,32,64',
                        help='UNet block_out_channels, comma separated')
    parser.add_argument('--layers-per-block', type=int, default=1)
    parser.add_argument('--attention-levels', default='2',
                        help='UNet levels with self-attention, comma separated ("" = none)')
    parser.add_argument('--lr', type=float, default=5e-4)
    parser.add_argument('--ema-decay', type=float, default=0.995)
    parser.add_argument('--sample-steps', type=int, default=25,
                        help='DDIM steps for the sample sheets')
    return parser.parse_args(argv)


def _ints(text):
    return tuple(int(v) for v in text.split(',') if v.strip())


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
        contact_sheet([('real', list(ds.masks[real_idx])), ('DDIM raw', list(raw)),
                       ('cleaned', ok)], path,
                      title=f'iter {it}: {accepted}/{n} accepted')
        logger.info('samples at iter %d: %d/%d masks accepted -> %s', it, accepted, n, path)

    return sample


def main(argv=None):
    args = parse_args(argv)
    threads = configure_threads()
    logger = get_logger('masks', args.work_dir, 'train_masks')
    logger.info('command: %s', ' '.join(shlex.quote(a) for a in sys.argv))
    logger.info('torch threads: %d', threads)
    resume_path = resolve_resume(args.resume, args.work_dir, CKPT_NAME)
    state = load_checkpoint(resume_path, MASK_KIND) if resume_path else None
    size = state['config']['image_size'] if state else args.size
    fill = state['fill'] if state else args.fill
    ds = build_sco_dataset(args.ann_file, args.img_dir, size=size, fill=fill,
                           with_images=False, progress=not args.no_progress)
    logger.info('%d canonical SCO masks at %dx%d px (fill %.2f)', len(ds), size, size, fill)
    if state:
        trainer = MaskDDPMTrainer.from_checkpoint(state, ds)
        logger.info('resumed from %s at iteration %d', resume_path, state['iter'])
    else:
        cfg = MaskDDPMConfig(image_size=args.size, block_out_channels=_ints(args.channels),
                             layers_per_block=args.layers_per_block,
                             attention_levels=_ints(args.attention_levels))
        trainer = MaskDDPMTrainer(ds, cfg, batch_size=args.batch_size, lr=args.lr,
                                  ema_decay=args.ema_decay, seed=args.seed)
    trainer.sample_steps = args.sample_steps
    logger.info('UNet %s, %d parameters', trainer.cfg.to_dict(),
                sum(p.numel() for p in trainer.model.parameters()))
    start, total, per_epoch = plan_run(args, len(ds), trainer.batch_size, state, logger)
    ckpt_path = Path(args.work_dir) / CKPT_NAME

    def checkpoint(it):
        save_checkpoint(trainer.state_dict(it, total), ckpt_path)
        logger.info('checkpoint (iteration %d) -> %s', it, ckpt_path)

    run_iterations(trainer.step, start, total, logger, per_epoch=per_epoch,
                   log_interval=args.log_interval, checkpoint=checkpoint,
                   ckpt_interval=args.ckpt_interval,
                   sample=make_sampler(trainer, args.work_dir, logger, trainer.seed),
                   sample_interval=args.sample_interval, desc='mask DDPM',
                   progress=not args.no_progress)
    logger.info('done: %s', ckpt_path)


if __name__ == '__main__':
    main()
