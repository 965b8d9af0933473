"""Unconditional DDPM over canonical SCO masks (paper section 4.1), built on ``diffusers``.

Masks live in ``(B, 1, S, S)`` float tensors with values in {-1, 1}. The model is a
``diffusers.UNet2DModel`` predicting the noise (epsilon); training uses ``DDPMScheduler``'s
forward process, sampling uses either the full ancestral DDPM chain or DDIM with a few
dozen steps. Nothing is fetched from a model hub: networks and schedulers are built
from plain config dicts stored in the checkpoint.
"""
import copy
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F

SAMPLERS = ('ddim', 'ddpm')


@dataclass
class MaskDDPMConfig:
    """UNet and noise-schedule settings (stored in checkpoints).

    Attributes:
        image_size: side S of the canonical masks (px).
        block_out_channels: UNet widths per resolution level.
        layers_per_block: ResNet layers per level.
        attention_levels: indices of the levels that get self-attention.
        num_train_timesteps / beta_schedule: the DDPM forward process.
    """
    image_size: int = 64
    block_out_channels: tuple = (32, 64, 64)
    layers_per_block: int = 1
    attention_levels: tuple = (2,)
    norm_num_groups: int = 8
    num_train_timesteps: int = 1000
    beta_schedule: str = 'squaredcos_cap_v2'
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.block_out_channels = tuple(int(c) for c in self.block_out_channels)
        self.attention_levels = tuple(int(i) for i in self.attention_levels)
        levels = len(self.block_out_channels)
        if self.image_size % (2 ** (levels - 1)):
            raise ValueError(f'image_size {self.image_size} is not divisible by '
                             f'2**{levels - 1} ({levels} UNet levels)')
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError(f'block_out_channels {self.block_out_channels} must be '
                             f'multiples of norm_num_groups={self.norm_num_groups}')
        if any(not 0 <= i < levels for i in self.attention_levels):
            raise ValueError(f'attention_levels {self.attention_levels} outside 0..{levels - 1}')

    def to_dict(self):
        return asdict(self)


def build_unet(cfg: MaskDDPMConfig):
    """Return the ``diffusers.UNet2DModel`` described by ``cfg`` (random initialisation)."""
    from diffusers import UNet2DModel

    levels = len(cfg.block_out_channels)
    down = tuple('AttnDownBlock2D' if i in cfg.attention_levels else 'DownBlock2D'
                 for i in range(levels))
    up = tuple('AttnUpBlock2D' if i in cfg.attention_levels else 'UpBlock2D'
               for i in reversed(range(levels)))
    return UNet2DModel(
        sample_size=cfg.image_size, in_channels=1, out_channels=1,
        block_out_channels=cfg.block_out_channels, layers_per_block=cfg.layers_per_block,
        down_block_types=down, up_block_types=up, norm_num_groups=cfg.norm_num_groups,
        attention_head_dim=min(cfg.block_out_channels[-1], 32), **cfg.extra)


def build_scheduler(cfg: MaskDDPMConfig, sampler='ddpm'):
    """Return a ``DDPMScheduler`` or ``DDIMScheduler`` over the same noise schedule."""
    from diffusers import DDIMScheduler, DDPMScheduler

    kwargs = dict(num_train_timesteps=cfg.num_train_timesteps,
                  beta_schedule=cfg.beta_schedule, clip_sample=True,
                  prediction_type='epsilon')
    if sampler == 'ddpm':
        return DDPMScheduler(**kwargs)
    if sampler == 'ddim':
        return DDIMScheduler(**kwargs, timestep_spacing='trailing', set_alpha_to_one=False)
    raise ValueError(f'unknown sampler {sampler!r}; choose one of {SAMPLERS}')


class MaskDDPM(torch.nn.Module):
    """The mask diffusion model: a UNet plus its noise schedule.

    ``loss`` is the epsilon-prediction MSE of one training batch; ``sample`` runs the
    reverse process. All randomness comes from the (CPU) ``torch.Generator`` passed in; the
    noise is drawn on the CPU and moved to the model's device, so a seed gives the same
    noise on every device (results then agree up to floating point).
    """

    def __init__(self, cfg: MaskDDPMConfig):
        super().__init__()
        self.cfg = cfg
        self.unet = build_unet(cfg)
        self.train_scheduler = build_scheduler(cfg, 'ddpm')

    @property
    def device(self):
        """The device the UNet's weights are on."""
        return next(self.unet.parameters()).device

    def loss(self, masks, generator):
        """Epsilon MSE for ``masks`` ``(B,1,S,S)`` in {-1,1}; noise/timesteps from ``generator``."""
        noise = torch.randn(masks.shape, generator=generator).to(masks.device)
        steps = torch.randint(0, self.cfg.num_train_timesteps, (masks.shape[0],),
                              generator=generator).to(masks.device)
        noisy = self.train_scheduler.add_noise(masks, noise, steps)
        pred = self.unet(noisy, steps).sample
        return F.mse_loss(pred, noise)

    @torch.no_grad()
    def sample(self, n, generator, sampler='ddim', steps=50):
        """Draw ``n`` raw samples ``(n,1,S,S)`` in [-1, 1] (not yet thresholded; on the CPU).

        Args:
            generator: one ``torch.Generator`` for the whole batch, or a list of ``n``
                (sample ``i`` draws all its noise from ``generator[i]``: it is then the
                same sample whatever batch it is drawn in, up to floating point, see
                ``sample_clean_masks``).
            sampler: ``'ddim'`` (deterministic, eta=0, ``steps`` steps) or ``'ddpm'``
                (ancestral; ``steps`` ignored, all ``num_train_timesteps`` are used).
        """
        scheduler = build_scheduler(self.cfg, sampler)
        scheduler.set_timesteps(self.cfg.num_train_timesteps if sampler == 'ddpm' else steps)
        size = self.cfg.image_size
        if isinstance(generator, (list, tuple)):
            if len(generator) != n:
                raise ValueError(f'MaskDDPM.sample: {len(generator)} generators for {n} samples')
            generator = list(generator)
            x = torch.cat([torch.randn((1, 1, size, size), generator=g) for g in generator]
                          or [torch.zeros((0, 1, size, size))])
        else:
            x = torch.randn((n, 1, size, size), generator=generator)
        x = x.to(self.device)
        was_training = self.unet.training
        self.unet.eval()
        for t in scheduler.timesteps:
            eps = self.unet(x, t).sample
            if sampler == 'ddpm':
                # diffusers' randn_tensor draws sample i's noise from generator[i] of a list
                x = scheduler.step(eps, t, x, generator=generator).prev_sample
            else:  # eta=0: DDIMScheduler.step draws no noise at all
                x = scheduler.step(eps, t, x, eta=0.0).prev_sample
        self.unet.train(was_training)
        return x.clamp_(-1, 1).cpu()


class EMA:
    """Exponential moving average of a module's parameters (used for sampling).

    The decay warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so short
    runs are not dominated by the random initial weights.
    """

    def __init__(self, module, decay=0.995):
        self.decay = decay
        self.updates = 0
        self.shadow = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module):
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for ema_p, p in zip(self.shadow.parameters(), module.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - decay)
        for ema_b, b in zip(self.shadow.buffers(), module.buffers()):
            ema_b.copy_(b)
        self.updates += 1

    def state_dict(self):
        return self.shadow.state_dict()

    def load_state_dict(self, state, updates):
        self.shadow.load_state_dict(state)
        self.updates = int(updates)


@dataclass
class MaskFilter:
    """Post-processing and rejection rules for generated canonical masks.

    A sample is optionally smoothed (Gaussian, ``smooth_sigma`` px: removes single-pixel
    noise of short-trained models from the boundary), thresholded at 0, reduced to its
    largest 8-connected component, hole-filled, and rejected when empty, touching the
    crop border, or when its area (px at canonical size) lies outside
    ``[area_low, area_high]``.
    """
    area_low: float
    area_high: float
    smooth_sigma: float = 0.0

    @classmethod
    def from_areas(cls, areas, quantiles=(0.005, 0.995), tolerance=0.25, smooth_sigma=0.0):
        """Accept areas within the real areas' quantile range widened by ``tolerance``."""
        areas = np.asarray(areas, dtype=np.float64)
        if areas.size == 0:
            raise ValueError('MaskFilter.from_areas: no real mask areas given')
        low, high = np.quantile(areas, quantiles)
        return cls(float(low * (1 - tolerance)), float(high * (1 + tolerance)),
                   float(smooth_sigma))

    def clean(self, raw):
        """Return ``(mask bool (S,S) or None, reason)`` for one raw sample ``(S,S)`` float."""
        if self.smooth_sigma > 0:
            raw = ndi.gaussian_filter(np.asarray(raw, np.float32), self.smooth_sigma,
                                      mode='nearest')
        binary = raw > 0
        labels, n = ndi.label(binary, structure=np.ones((3, 3), bool))
        if n == 0:
            return None, 'empty'
        sizes = np.bincount(labels.ravel())[1:]
        mask = ndi.binary_fill_holes(labels == (int(np.argmax(sizes)) + 1))
        if mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any():
            return None, 'touches border'
        area = int(mask.sum())
        if not self.area_low <= area <= self.area_high:
            return None, f'area {area} outside [{self.area_low:.0f}, {self.area_high:.0f}]'
        return mask, 'ok'


class MaskSamplingError(RuntimeError):
    """Raised when too few generated masks pass the filter within the retry budget."""


def mask_generators(seeds):
    """One CPU ``torch.Generator`` per seed (the per-mask noise streams)."""
    return [torch.Generator().manual_seed(int(seed)) for seed in seeds]


def sample_clean_masks(model, mask_filter, n, generator, sampler='ddim', steps=50,
                       max_retries=10, batch_size=64):
    """Generate ``n`` accepted canonical masks, resampling rejected ones.

    Mask ``i`` has its own noise stream (``generator[i]`` of a list of ``n``; a single
    ``torch.Generator`` first draws ``n`` seeds for them): its first accepted draw is
    mask ``i``. So a mask does not depend on the other masks, the batch size or how many
    of the others were rejected: sampling ``k`` masks in one batch gives the masks of ``k``
    one-at-a-time calls with the same streams. DDIM (eta=0) is deterministic after the
    initial noise; what may differ between batch compositions is the UNet's floating
    point (oneDNN/BLAS pick kernels by batch shape): ~1e-6 per UNet pass, ~1e-4 on the
    raw samples of a trained model after 25 DDIM steps (more for random weights), which
    very rarely moves a pixel across the threshold.

    Returns:
        np.ndarray ``(n, S, S)`` bool.

    Raises:
        MaskSamplingError: when after ``max_retries`` rounds some mask still has no
            accepted draw; the message lists the rejection reasons.
    """
    if isinstance(generator, torch.Generator):
        generator = mask_generators(torch.randint(0, 2 ** 62, (n,), generator=generator))
    generators = list(generator)
    if len(generators) != n:
        raise ValueError(f'sample_clean_masks: {len(generators)} generators for {n} masks')
    masks, pending, reasons = [None] * n, list(range(n)), {}
    for _ in range(max_retries + 1):
        if not pending:
            break
        rejected = []
        for start in range(0, len(pending), batch_size):
            slots = pending[start:start + batch_size]
            raw = model.sample(len(slots), [generators[i] for i in slots], sampler=sampler,
                               steps=steps)
            for i, sample in zip(slots, raw[:, 0].numpy()):
                mask, reason = mask_filter.clean(sample)
                if mask is None:
                    count_rejection(reasons, reason)
                    rejected.append(i)
                else:
                    masks[i] = mask
        pending = rejected
    if pending:
        raise MaskSamplingError(
            f'mask DDPM produced only {n - len(pending)}/{n} valid masks after {max_retries} '
            f'retries (rejections: {reasons}); the model is probably under-trained — train '
            f'longer, or raise max_retries')
    if n == 0:
        size = model.cfg.image_size if hasattr(model, 'cfg') else 0
        return np.zeros((0, size, size), dtype=bool)
    return np.stack(masks)


def count_rejection(reasons, reason):
    """Add one ``MaskFilter.clean`` rejection ``reason`` to the ``reasons`` counts."""
    key = reason.split(' ')[0] if reason.startswith('area') else reason
    reasons[key] = reasons.get(key, 0) + 1
