"""Pix2Pix networks for mask -> cell image synthesis (paper section 4.2).

``UNetGenerator``: pix2pix U-Net (4x4 stride-2 convolutions, skip connections, tanh output)
with a SAGAN self-attention block at the bottleneck and a squeeze-and-excitation block
after every decoder up-sampling. The decoder up-samples with nearest-neighbour x2 + 3x3
convolution instead of pix2pix's transposed convolutions, which left checkerboard
artefacts on the smooth nuclei in our CPU runs. ``PatchDiscriminator``: pix2pix PatchGAN on the
(mask, image) pair. Instance normalisation is used throughout so that a sample's output
never depends on the other samples of its batch (generation is then reproducible however
cells are batched).

Tensors: masks ``(B, 1, S, S)`` in {-1, 1}; images ``(B, C, S, S)`` in [-1, 1], C = 1 or 3.
"""
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn


@dataclass
class Pix2PixConfig:
    """Architecture of the generator and discriminator (stored in checkpoints).

    Attributes:
        image_size: side S of the square mask/image crops (px, power of two).
        out_channels: image channels C (1 or 3).
        ngf / ndf: base widths of generator / discriminator.
        n_down: generator down-samplings; the bottleneck is ``S / 2**n_down`` px.
        n_layers_d: stride-2 layers of the PatchGAN (3 -> 70 px receptive field).
        dropout: dropout probability of the decoder block next to the bottleneck.
    """
    image_size: int = 64
    out_channels: int = 3
    ngf: int = 32
    ndf: int = 32
    n_down: int = 3
    n_layers_d: int = 3
    dropout: float = 0.5

    def __post_init__(self):
        size = self.image_size
        if size < 16 or size & (size - 1):
            raise ValueError(f'image_size must be a power of two >= 16, got {size}')
        if self.out_channels not in (1, 3):
            raise ValueError(f'out_channels must be 1 or 3, got {self.out_channels}')
        if not 1 <= self.n_down or size >> self.n_down < 2:
            raise ValueError(f'n_down={self.n_down} leaves a bottleneck below 2 px '
                             f'for image_size={size}')

    def to_dict(self):
        return asdict(self)


class SelfAttention(nn.Module):
    """SAGAN self-attention: ``x + gamma * softmax(q^T k) v`` with ``gamma`` starting at 0."""

    def __init__(self, channels):
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)          # (B, HW, c')
        k = self.key(x).flatten(2)                             # (B, c', HW)
        attn = torch.softmax(torch.bmm(q, k), dim=-1)          # (B, HW, HW)
        v = self.value(x).flatten(2)                           # (B, C, HW)
        out = torch.bmm(v, attn.transpose(1, 2)).view(b, c, h, w)
        return x + self.gamma * out


class SqueezeExcitation(nn.Module):
    """Channel re-weighting: global average pool -> FC -> ReLU -> FC -> sigmoid -> scale."""

    def __init__(self, channels, reduction=8):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x):
        weights = self.fc(x.mean(dim=(2, 3)))
        return x * weights[:, :, None, None]


def _norm(channels):
    return nn.InstanceNorm2d(channels, affine=True)


class _Down(nn.Module):
    def __init__(self, in_ch, out_ch, norm=True):
        super().__init__()
        layers = [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=not norm)]
        if norm:
            layers.append(_norm(out_ch))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


def _upsample(in_ch, out_ch, bias):
    """x2 nearest-neighbour up-sampling + 3x3 convolution (no transposed-conv checkerboard)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode='nearest'),
                         nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=bias))


class _Up(nn.Module):
    def __init__(self, in_ch, out_ch, dropout=0.0):
        super().__init__()
        layers = [_upsample(in_ch, out_ch, bias=False), _norm(out_ch)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReLU(inplace=True), SqueezeExcitation(out_ch)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class UNetGenerator(nn.Module):
    """Mask ``(B,1,S,S)`` -> image ``(B,C,S,S)`` in [-1, 1]."""

    def __init__(self, cfg: Pix2PixConfig):
        super().__init__()
        widths = [cfg.ngf * min(2 ** i, 8) for i in range(cfg.n_down)]
        self.downs = nn.ModuleList()
        in_ch = 1
        for i, width in enumerate(widths):
            self.downs.append(_Down(in_ch, width, norm=i > 0))
            in_ch = width
        bottom = widths[-1]
        self.bottleneck = nn.Sequential(
            nn.Conv2d(bottom, bottom, 3, 1, 1, bias=False), _norm(bottom),
            nn.ReLU(inplace=True), SelfAttention(bottom))
        self.ups = nn.ModuleList()
        in_ch = bottom
        for i in range(cfg.n_down - 1, 0, -1):  # up to the resolution of downs[i - 1]
            out_ch = widths[i - 1]
            drop = cfg.dropout if i == cfg.n_down - 1 else 0.0
            self.ups.append(_Up(in_ch + widths[i], out_ch, dropout=drop))
            in_ch = out_ch
        self.head = nn.Sequential(_upsample(in_ch + widths[0], cfg.out_channels, bias=True),
                                  nn.Tanh())

    def forward(self, mask):
        skips, x = [], mask
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.bottleneck(x)
        for up, skip in zip(self.ups, reversed(skips[1:])):
            x = up(torch.cat([x, skip], dim=1))
        return self.head(torch.cat([x, skips[0]], dim=1))


class PatchDiscriminator(nn.Module):
    """PatchGAN on ``cat(mask, image)``: returns a logit map ``(B, 1, h, w)``."""

    def __init__(self, cfg: Pix2PixConfig):
        super().__init__()
        ndf, ch = cfg.ndf, 1 + cfg.out_channels
        layers = [nn.Conv2d(ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        width = ndf
        for i in range(1, cfg.n_layers_d + 1):
            stride = 2 if i < cfg.n_layers_d else 1
            out = ndf * min(2 ** i, 8)
            layers += [nn.Conv2d(width, out, 4, stride, 1, bias=False), _norm(out),
                       nn.LeakyReLU(0.2, inplace=True)]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, mask, image):
        return self.net(torch.cat([mask, image], dim=1))


def init_weights(module, std=0.02):
    """pix2pix initialisation: N(0, std) convolutions, N(1, std) norm scales, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.InstanceNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
