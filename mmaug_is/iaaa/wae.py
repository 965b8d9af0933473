"""Wasserstein autoencoder (WAE-MMD, Tolstikhin et al. 2018) trained on real cell objects.

The WAE is the realism model of the IAAA policy search (paper 2.1): it learns to
reconstruct real object crops through a small latent code whose aggregate distribution is
pushed towards the prior N(0, sigma_z^2 I) by an MMD penalty with an inverse-multiquadric
kernel. Augmented objects that look unlike real ones reconstruct badly and land in other
parts of the latent space; ``scoring.py`` turns that into a policy score.

Input crops: ``objects_to_array`` masks every object to its instances (pixels outside all
masks are 0), crops the union box, shrinks it to fit ``crop_size`` if larger (area
interpolation; smaller objects keep their native scale so size stays visible), centres it
on a ``crop_size`` square, and scales intensities from the dtype's range to [0, 1]:
``x / 255`` or ``x / 65535``. Grey objects (1 channel, or 3 equal channels) give 1
channel, colour objects 3.

Training is deterministic under a seed (model init, shuffling and prior samples all come
from seeded torch generators; CPU kernels), checkpointed atomically after every epoch,
and resumable: a resumed run produces the same weights as an uninterrupted one.
"""
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mmaug_is.core.ops import is_grey
from mmaug_is.synth.hashing import bytes_digest
from mmaug_is.utils.checkpoint_io import load_checkpoint, save_checkpoint

CHECKPOINT_FORMAT = 'mmaug_is.wae/1'
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class WAEConfig:
    """Architecture and training settings.

    Attributes:
        in_channels: 1 (grey) or 3. crop_size: input side in px (multiple of 16).
        z_dim: latent size. width: channels of the first conv (doubled twice).
        prior_var: sigma_z^2 of the Gaussian prior. mmd_weight: lambda of the MMD penalty.
        recon_scale: factor on the per-image sum of squared errors.
        lr: Adam learning rate. batch_size: crops per step. epochs: passes over the data.
    """

    in_channels: int = 1
    crop_size: int = 64
    z_dim: int = 16
    width: int = 8
    prior_var: float = 1.0
    mmd_weight: float = 10.0
    recon_scale: float = 1.0
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 30

    def __post_init__(self):
        if self.in_channels not in (1, 3):
            raise ValueError(f'WAEConfig.in_channels must be 1 or 3, got {self.in_channels}')
        if self.crop_size < 16 or self.crop_size % 16:
            raise ValueError(f'WAEConfig.crop_size must be a multiple of 16 >= 16, '
                             f'got {self.crop_size}')
        for name in ('z_dim', 'width', 'batch_size'):
            if getattr(self, name) < 1:
                raise ValueError(f'WAEConfig.{name} must be >= 1, got {getattr(self, name)}')
        if self.epochs < 0:
            raise ValueError(f'WAEConfig.epochs must be >= 0, got {self.epochs}')

    def architecture(self):
        """The settings that define the network and its training objective (not its length)."""
        arch = asdict(self)
        arch.pop('epochs')
        return arch


class WAE(nn.Module):
    """Conv encoder (4 stride-2 convs + linear) and a mirrored sub-pixel decoder.

    The decoder upsamples with 3x3 convs + ``PixelShuffle(2)`` (about twice as fast on CPU
    as transposed convolutions). Per-sample normalisation (``GroupNorm(1, C)``) and
    LeakyReLU keep training stable without batch statistics, so a crop's code never
    depends on the other crops in a batch. The output bias starts at -3 (sigmoid ~0.05)
    because masked crops are mostly dark.
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        c, w, s = config.in_channels, config.width, config.crop_size // 16
        self._feat = (4 * w, s, s)

        def act():
            return nn.LeakyReLU(0.2, inplace=True)

        def down(cin, cout):
            return [nn.Conv2d(cin, cout, 4, 2, 1), nn.GroupNorm(1, cout), act()]

        def up(cin, cout):
            return [nn.Conv2d(cin, 4 * cout, 3, 1, 1), nn.PixelShuffle(2),
                    nn.GroupNorm(1, cout), act()]

        self.encoder = nn.Sequential(
            nn.Conv2d(c, w, 4, 2, 1), act(), *down(w, 2 * w), *down(2 * w, 4 * w),
            *down(4 * w, 4 * w), nn.Flatten(), nn.Linear(4 * w * s * s, config.z_dim))
        self.decoder_fc = nn.Sequential(nn.Linear(config.z_dim, 4 * w * s * s), act())
        self.decoder = nn.Sequential(
            *up(4 * w, 4 * w), *up(4 * w, 2 * w), *up(2 * w, w),
            nn.Conv2d(w, 4 * c, 3, 1, 1), nn.PixelShuffle(2), nn.Sigmoid())
        nn.init.constant_(self.decoder[-3].bias, -3.0)

    def encode(self, x):
        """``(B, C, S, S)`` in [0, 1] -> ``(B, z_dim)``."""
        return self.encoder(x)

    def decode(self, z):
        """``(B, z_dim)`` -> ``(B, C, S, S)`` in [0, 1]."""
        return self.decoder(self.decoder_fc(z).view(-1, *self._feat))

    def forward(self, x):
        """Returns ``(reconstruction, z)``."""
        z = self.encode(x)
        return self.decode(z), z


def imq_mmd(x, y, prior_var=1.0, scales=IMQ_SCALES):
    """Unbiased MMD^2 between samples ``x (n, d)`` and ``y (m, d)`` (n, m >= 2).

    Kernel: sum over ``scales`` of the inverse multiquadric ``C / (C + ||a - b||^2)`` with
    ``C = 2 * d * prior_var * scale`` (Tolstikhin et al. 2018).
    """
    n, m, d = x.shape[0], y.shape[0], x.shape[1]
    dxx = torch.cdist(x, x).pow(2)
    dyy = torch.cdist(y, y).pow(2)
    dxy = torch.cdist(x, y).pow(2)
    total = x.new_zeros(())
    for scale in scales:
        c = 2.0 * d * prior_var * scale
        kxx, kyy, kxy = c / (c + dxx), c / (c + dyy), c / (c + dxy)
        total = total + (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
        total = total + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
        total = total - 2.0 * kxy.mean()
    return total


# ------------------------------------------------------------------ preprocessing
def as_pair(obj):
    """``(image, masks)`` of a ``CellObject`` or of a 2-tuple."""
    if hasattr(obj, 'image') and hasattr(obj, 'masks'):
        return obj.image, obj.masks
    image, masks = obj
    return image, masks


def infer_channels(objects):
    """1 if every object image is grey (1 channel or 3 equal channels), else 3."""
    return 1 if all(is_grey(as_pair(o)[0]) for o in objects) else 3


def object_to_array(image, masks, crop_size=64, channels=1):
    """One object -> ``(channels, crop_size, crop_size)`` float32 in [0, 1] (see module doc)."""
    scale_max = float(np.iinfo(image.dtype).max)
    img = image.astype(np.float32) / scale_max
    img = img if img.ndim == 3 else img[..., None]
    if channels == 1 and img.shape[2] == 3:
        img = (img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114)[..., None]
    elif channels == 3 and img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    out = np.zeros((crop_size, crop_size, channels), np.float32)
    union = masks.any(axis=0)
    if not union.any():
        return out.transpose(2, 0, 1)
    ys, xs = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    crop = img[y0:y1, x0:x1] * union[y0:y1, x0:x1, None]
    h, w = crop.shape[:2]
    if max(h, w) > crop_size:
        f = crop_size / max(h, w)
        h, w = max(1, min(crop_size, round(h * f))), max(1, min(crop_size, round(w * f)))
        crop = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, channels)
    top, left = (crop_size - h) // 2, (crop_size - w) // 2
    # the luma weights and area resizing can round saturated pixels to 1 + 1e-7
    out[top:top + h, left:left + w] = np.clip(crop, 0.0, 1.0)
    return out.transpose(2, 0, 1)


def objects_to_array(objects, crop_size=64, channels=1):
    """Objects (``CellObject`` or ``(image, masks)``) -> ``(N, channels, S, S)`` float32."""
    arrays = [object_to_array(*as_pair(o), crop_size, channels) for o in objects]
    if not arrays:
        return np.zeros((0, channels, crop_size, crop_size), np.float32)
    return np.stack(arrays)


@torch.no_grad()
def embed(model, crops, batch_size=256):
    """Latent codes and reconstruction errors of crops ``(N, C, S, S)`` in [0, 1].

    Returns ``(z (N, z_dim) float32 tensor, err (N,) float32 tensor)``; ``err`` is the mean
    squared error per pixel and channel.
    """
    model.eval()
    x_all = torch.as_tensor(np.asarray(crops, np.float32))
    zs, errs = [], []
    for start in range(0, len(x_all), batch_size):
        x = x_all[start:start + batch_size]
        recon, z = model(x)
        zs.append(z)
        errs.append((recon - x).pow(2).flatten(1).mean(dim=1))
    if not zs:
        return torch.zeros(0, model.config.z_dim), torch.zeros(0)
    return torch.cat(zs), torch.cat(errs)


# ------------------------------------------------------------------ checkpoints
def data_fingerprint(crops):
    """SHA-256 hex of the training crops (their shape, then their float32 bytes)."""
    arr = np.ascontiguousarray(np.asarray(crops, np.float32))
    return bytes_digest(repr(arr.shape).encode(), arr)


def model_fingerprint(model):
    """SHA-256 hex of a model's parameters (name, shape, bytes of each, in key order)."""
    chunks = []
    for name, tensor in sorted(model.state_dict().items()):
        chunks += [name.encode(), repr(tuple(tensor.shape)).encode(),
                   np.ascontiguousarray(tensor.detach().cpu().numpy())]
    return bytes_digest(*chunks)


def load_wae(path):
    """Load a checkpoint written by ``train_wae``: returns ``(model in eval mode, info)``.

    ``info`` holds ``config``, ``seed``, ``epoch``, ``history`` and ``data_sha256``.
    Raises ``FileNotFoundError`` / ``ValueError`` naming ``path`` for a missing file or one
    that is not a WAE checkpoint (``utils.checkpoint_io.load_checkpoint``).
    """
    ckpt = load_checkpoint(path, CHECKPOINT_FORMAT, field='format')
    config = WAEConfig(**ckpt['config'])
    model = WAE(config)
    model.load_state_dict(ckpt['model'])
    model.eval()
    info = {k: ckpt[k] for k in ('seed', 'epoch', 'history', 'data_sha256')}
    info['config'] = config
    return model, info


# ------------------------------------------------------------------ training
@dataclass
class TrainResult:
    """Output of ``train_wae``: the model (eval mode) and per-epoch mean losses."""

    model: WAE
    history: list
    resumed_from_epoch: int = 0


def _init_model(config, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return WAE(config)


def train_wae(crops, config=WAEConfig(), seed=0, checkpoint=None, resume=True, progress=True):
    """Train a WAE-MMD on crops ``(N, C, S, S)`` float32 in [0, 1] (``objects_to_array``).

    Loss per batch: ``recon_scale * mean_b sum_pixels (x - x_rec)^2
    + mmd_weight * MMD^2_IMQ(z, z_prior)`` with ``z_prior ~ N(0, prior_var I)``.

    Args:
        checkpoint: path written atomically after every epoch (None: no checkpoint).
        resume: continue from ``checkpoint`` if it exists. It must come from the same
            architecture, seed and data (else ``ValueError``); ``config.epochs`` may grow.
    Returns ``TrainResult``; ``history`` holds dicts ``{'loss', 'recon', 'mmd'}`` per epoch.
    """
    crops = np.ascontiguousarray(np.asarray(crops, np.float32))
    expected = (config.in_channels, config.crop_size, config.crop_size)
    if crops.ndim != 4 or crops.shape[1:] != expected:
        raise ValueError(f'train_wae: crops must be (N, {expected[0]}, {expected[1]}, '
                         f'{expected[2]}), got {crops.shape}')
    if len(crops) < 2:
        raise ValueError(f'train_wae: need at least 2 crops, got {len(crops)}')
    if not np.isfinite(crops).all() or crops.min() < 0 or crops.max() > 1:
        raise ValueError('train_wae: crops must be finite and in [0, 1]')
    fingerprint = data_fingerprint(crops)
    model = _init_model(config, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(seed)
    history, start = [], 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        ckpt = load_checkpoint(checkpoint, CHECKPOINT_FORMAT, field='format')
        saved = WAEConfig(**ckpt['config'])
        if saved.architecture() != config.architecture():
            raise ValueError(f'{checkpoint}: saved WAE settings {saved.architecture()} differ '
                             f'from {config.architecture()}; use another checkpoint path')
        if ckpt['seed'] != seed or ckpt['data_sha256'] != fingerprint:
            raise ValueError(f'{checkpoint}: was trained with another seed or other crops; '
                             'use another checkpoint path or resume=False')
        model.load_state_dict(ckpt['model'])
        optimizer.load_state_dict(ckpt['optimizer'])
        generator.set_state(ckpt['generator'])
        history, start = list(ckpt['history']), int(ckpt['epoch'])
    resumed_from = start
    data = torch.from_numpy(crops)
    n = len(data)
    bar = tqdm(range(start, config.epochs), desc='train WAE', disable=not progress,
               initial=start, total=config.epochs)
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=generator)
        sums, seen = np.zeros(3), 0
        for begin in range(0, n, config.batch_size):
            idx = order[begin:begin + config.batch_size]
            if len(idx) < 2:  # the unbiased MMD needs two samples
                continue
            x = data[idx]
            recon, z = model(x)
            rec = config.recon_scale * (recon - x).pow(2).flatten(1).sum(dim=1).mean()
            prior = torch.randn(len(idx), config.z_dim, generator=generator) \
                * config.prior_var ** 0.5
            mmd = imq_mmd(z, prior, config.prior_var)
            loss = rec + config.mmd_weight * mmd
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sums += len(idx) * np.array([loss.item(), rec.item(), mmd.item()])
            seen += len(idx)
        loss_mean, rec_mean, mmd_mean = sums / max(seen, 1)
        history.append({'loss': float(loss_mean), 'recon': float(rec_mean),
                        'mmd': float(mmd_mean)})
        bar.set_postfix(loss=f'{loss_mean:.3f}', recon=f'{rec_mean:.3f}', mmd=f'{mmd_mean:.4f}')
        if checkpoint is not None:
            save_checkpoint({
                'format': CHECKPOINT_FORMAT, 'config': asdict(config), 'seed': seed,
                'epoch': epoch + 1, 'model': model.state_dict(),
                'optimizer': optimizer.state_dict(), 'generator': generator.get_state(),
                'history': history, 'data_sha256': fingerprint}, checkpoint)
    bar.close()
    model.eval()
    return TrainResult(model, history, resumed_from)
