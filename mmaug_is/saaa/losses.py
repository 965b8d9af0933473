"""Pix2Pix losses: adversarial (LSGAN / BCE), L1 and a VGG16 perceptual term.

The perceptual network is VGG16's ``features`` stack written in plain torch with exactly
torchvision's layer layout (``features.<index>.weight``), so torchvision's ImageNet state
dict (``vgg16-397923af.pth``) loads into it without torchvision being installed.

Offline policy (no weights available): the perceptual term is **disabled** — ``PerceptualLoss``
is not built, a warning is logged, and the checkpoint records ``perceptual: False``. A
randomly initialised VGG is deliberately not used: its features carry no learnt notion of
texture, so it would add a loss term whose effect nobody could interpret.
"""
import logging
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaug_is.utils.checkpoint_io import read_torch_file

LOGGER = logging.getLogger(__name__)

# torchvision's VGG16 configuration 'D': conv widths, 'M' = 2x2 max-pool.
_VGG16_CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M',
              512, 512, 512, 'M', 512, 512, 512, 'M')
# Indices (in ``features``) of relu1_2, relu2_2, relu3_3, relu4_3.
VGG16_DEFAULT_LAYERS = (3, 8, 15, 22)
# File name torchvision uses for the ImageNet VGG16 weights in the torch hub cache.
TORCHVISION_VGG16_FILE = 'vgg16-397923af.pth'
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class GANLoss(nn.Module):
    """Adversarial loss on discriminator logits.

    Args:
        mode: ``'lsgan'`` (mean squared error to 1/0) or ``'bce'`` (binary cross-entropy
            with logits), as in pix2pix.
    """

    def __init__(self, mode='lsgan'):
        super().__init__()
        if mode not in ('lsgan', 'bce'):
            raise ValueError(f"GANLoss mode must be 'lsgan' or 'bce', got {mode!r}")
        self.mode = mode

    def forward(self, logits, target_is_real):
        target = torch.full_like(logits, 1.0 if target_is_real else 0.0)
        if self.mode == 'lsgan':
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)


def build_vgg16_features(max_index=max(VGG16_DEFAULT_LAYERS)):
    """Return ``nn.Sequential`` of VGG16 ``features`` layers 0..max_index (torchvision layout)."""
    layers, in_ch = [], 3
    for item in _VGG16_CFG:
        if item == 'M':
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, item, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            in_ch = item
    return nn.Sequential(*layers[:max_index + 1])


def load_vgg16_state_dict(path):
    """Load a torchvision VGG16 state dict file and return its ``features.*`` entries.

    Accepts the plain state dict torchvision saves (keys ``features.N.weight`` ...,
    ``classifier.*`` ignored) or a dict wrapping it under ``'state_dict'``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError (naming the file): not a torch file, or no VGG16 ``features`` weights.
    """
    path = Path(path)
    state = read_torch_file(path, 'VGG16 weights file')
    if isinstance(state, dict) and 'state_dict' in state:
        state = state['state_dict']
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a state dict, got {type(state).__name__}')
    feats = {k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')}
    if not feats:
        raise ValueError(f'{path}: no "features.*" keys: not a torchvision VGG16 state dict '
                         f'(first keys: {list(state)[:5]})')
    return feats


def find_vgg16_weights(explicit_path=None):
    """Locate VGG16 ImageNet weights without any network access.

    Order: ``explicit_path`` (must exist), ``$MMAUG_VGG16_WEIGHTS``, then torch's hub
    cache ``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth`` (present when torchvision
    downloaded it before on this machine).

    Returns:
        Path or None when no weights are available.
    """
    if explicit_path:
        path = Path(explicit_path)
        if not path.is_file():
            raise FileNotFoundError(f'--vgg-weights file not found: {path}')
        return path
    env_path = os.environ.get('MMAUG_VGG16_WEIGHTS')
    if env_path and Path(env_path).is_file():
        return Path(env_path)
    torch_home = Path(os.environ.get('TORCH_HOME', Path.home() / '.cache' / 'torch'))
    cached = torch_home / 'hub' / 'checkpoints' / TORCHVISION_VGG16_FILE
    return cached if cached.is_file() else None


class PerceptualLoss(nn.Module):
    """Mean L1 distance between frozen VGG16 feature maps of two images.

    Inputs are tensors ``(B, C, H, W)`` in ``[-1, 1]`` with C = 1 (repeated to RGB) or 3;
    they are mapped to ImageNet-normalised RGB before the network.

    Args:
        features_state: ``features.*`` state dict (see ``load_vgg16_state_dict``).
        layers: feature indices whose activations are compared (default relu1_2..relu4_3).
    """

    def __init__(self, features_state, layers=VGG16_DEFAULT_LAYERS):
        super().__init__()
        self.layers = tuple(sorted(layers))
        self.features = build_vgg16_features(self.layers[-1])
        own = self.features.state_dict()
        state = {k: v for k, v in features_state.items() if k in own}
        missing = sorted(set(own) - set(state))
        if missing:
            raise ValueError(f'VGG16 weights lack layers {missing}: not a VGG16 state dict')
        self.features.load_state_dict(state)
        self.features.requires_grad_(False).eval()
        self.register_buffer('mean', torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode=True):
        """Keep the VGG in eval mode whatever the parent does."""
        super().train(mode)
        self.features.eval()
        return self

    def _normalise(self, x):
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        elif x.shape[1] != 3:
            raise ValueError(f'PerceptualLoss takes 1 or 3 channels, got {x.shape[1]}')
        return ((x + 1) / 2 - self.mean) / self.std

    def forward(self, fake, real):
        x, y = self._normalise(fake), self._normalise(real)
        loss = fake.new_zeros(())
        for idx, layer in enumerate(self.features):
            x, y = layer(x), layer(y.detach())
            if idx in self.layers:
                loss = loss + F.l1_loss(x, y)
            if idx == self.layers[-1]:
                break
        return loss / len(self.layers)


def build_perceptual_loss(vgg_weights=None, lambda_vgg=10.0):
    """Build the perceptual loss, or return None (with a warning) when it cannot be used.

    Args:
        vgg_weights: path to torchvision VGG16 weights, or None to search offline caches.
        lambda_vgg: its weight; 0 disables the term without looking for weights.

    Returns:
        ``PerceptualLoss`` or None.
    """
    if lambda_vgg <= 0:
        return None
    path = find_vgg16_weights(vgg_weights)
    if path is None:
        LOGGER.warning(
            'VGG16 ImageNet weights not found (no --vgg-weights, $MMAUG_VGG16_WEIGHTS or '
            'torch hub cache %s): the perceptual loss term is DISABLED; training uses '
            'adversarial + L1 only.', TORCHVISION_VGG16_FILE)
        return None
    LOGGER.info('perceptual loss: VGG16 weights from %s', path)
    return PerceptualLoss(load_vgg16_state_dict(path))
