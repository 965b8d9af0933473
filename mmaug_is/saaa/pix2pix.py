"""Pix2Pix networks for mask -> cell image synthesis (paper section 4.2).

``UNetGenerator``: pix2pix U-Net (4x4 stride-2 convolutions, skip connections, tanh output)
with a SAGAN self-attention block at the bottleneck and a squeeze-and-excitation block
after every decoder up-sampling. The decoder up-samples with nearest-neighbour x2 + 3x3
convolution instead of pix2pix's transposed convolutions, which left checkerboard
artefacts on the smooth nuclei in our CPU runs. ``PatchDiscriminator``: pix2pix PatchGAN on the
(mask, image) pair. Instance normalisation is used throughout so that a sample's output
never depends on the other samples of its batch (generation is then reproducible however
cells are batched).

Appearance conditioning (beyond the paper; ``Pix2PixConfig.condition``): both networks also
take a style vector ``(B, D)``: with ``'background_style'`` that of the clean background the
cell goes on (``mask_data.background_style``, D = 4 C); with ``'image_style'`` that followed
by the statistics of the real cells of the background's image (``mask_data.image_style``,
D = 8 C), which tells brightness and texture apart where backgrounds look alike
(fluorescence: all near-black). The generator receives it by FiLM (a small MLP
maps it to a per-channel scale and shift applied right after the instance norm of the
bottleneck and of every decoder block): constant input planes would be mostly cancelled,
since every instance norm removes per-channel constants. The discriminator gets it as D
constant planes next to (mask, image): its first layer has no norm, so it can relate the
image's colours to the code before anything is normalised. ``'none'`` (default) is the
paper's mask-only model, with exactly the parameters it always had.

Tensors: masks ``(B, 1, S, S)`` in {-1, 1}; images ``(B, C, S, S)`` in [-1, 1], C = 1 or 3;
styles ``(B, D)`` float32.
"""
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn

from .mask_data import STYLE_PARTS, style_dim

CONDITIONS = ('none', ) + tuple(STYLE_PARTS)


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
        condition: ``'none'`` (paper: the mask only), ``'background_style'`` (also the
            style vector of the background the cell lands on) or ``'image_style'`` (that
            and the statistics of the real cells of the background's image); see the
            module docstring.
            Checkpoints written before this field existed load as ``'none'``.
    """
    image_size: int = 64
    out_channels: int = 3
    ngf: int = 32
    ndf: int = 32
    n_down: int = 3
    n_layers_d: int = 3
    dropout: float = 0.5
    condition: str = 'none'

    def __post_init__(self):
        size = self.image_size
        if size < 16 or size & (size - 1):
            raise ValueError(f'image_size must be a power of two >= 16, got {size}')
        if self.out_channels not in (1, 3):
            raise ValueError(f'out_channels must be 1 or 3, got {self.out_channels}')
        if not 1 <= self.n_down or size >> self.n_down < 2:
            raise ValueError(f'n_down={self.n_down} leaves a bottleneck below 2 px '
                             f'for image_size={size}')
        if self.condition not in CONDITIONS:
            raise ValueError(f'condition must be one of {CONDITIONS}, got {self.condition!r}')

    @property
    def conditioned(self):
        """True when the networks take a style vector besides the mask."""
        return self.condition != 'none'

    @property
    def style_dim(self):
        """Length D of the style vector (0 when unconditioned)."""
        return style_dim(self.condition, self.out_channels)

    def check_style(self, style, batch, where):
        """Raise ``ValueError`` unless ``style`` fits this config for a batch of ``batch``."""
        if not self.conditioned:
            if style is not None:
                raise ValueError(f'{where}: this Pix2Pix model is unconditioned '
                                 "(condition='none') and takes no style vector")
            return
        if style is None:
            raise ValueError(f'{where}: this Pix2Pix model is conditioned on '
                             f'{self.condition!r} and needs the style vector of the background '
                             f'the cells go on (mask_data.{self.condition})')
        if tuple(style.shape) != (batch, self.style_dim):
            raise ValueError(f'{where}: style has shape {tuple(style.shape)}, expected '
                             f'{(batch, self.style_dim)}')

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


STYLE_EMBED = 64  # width of the generator's style embedding (conditioned models)


class FiLM(nn.Module):
    """Feature-wise modulation ``x * (1 + gamma) + beta``, ``(gamma, beta)`` linear in a style
    embedding (near identity at initialisation: ``init_weights`` draws small weights)."""

    def __init__(self, embed_dim, channels):
        super().__init__()
        self.proj = nn.Linear(embed_dim, 2 * channels)

    def forward(self, x, embedding):
        gamma, beta = self.proj(embedding)[:, :, None, None].chunk(2, dim=1)
        return x * (1.0 + gamma) + beta


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


def _modulated(block, film, x, embedding):
    """Run a ``Sequential`` whose first two layers are (conv, norm), with FiLM after them."""
    if film is None:
        return block(x)
    return block[2:](film(block[:2](x), embedding))


class _Up(nn.Module):
    def __init__(self, in_ch, out_ch, dropout=0.0, embed_dim=0):
        super().__init__()
        layers = [_upsample(in_ch, out_ch, bias=False), _norm(out_ch)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReLU(inplace=True), SqueezeExcitation(out_ch)]
        self.block = nn.Sequential(*layers)
        self.film = FiLM(embed_dim, out_ch) if embed_dim else None

    def forward(self, x, embedding=None):
        return _modulated(self.block, self.film, x, embedding)


class UNetGenerator(nn.Module):
    """Mask ``(B,1,S,S)`` (and style ``(B,D)`` when conditioned) -> image ``(B,C,S,S)`` in
    [-1, 1]."""

    def __init__(self, cfg: Pix2PixConfig):
        super().__init__()
        self.cfg = cfg
        embed = STYLE_EMBED if cfg.conditioned else 0
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
            self.ups.append(_Up(in_ch + widths[i], out_ch, dropout=drop, embed_dim=embed))
            in_ch = out_ch
        self.head = nn.Sequential(_upsample(in_ch + widths[0], cfg.out_channels, bias=True),
                                  nn.Tanh())
        # Only conditioned models have these modules: unconditioned state dicts are unchanged.
        self.style_mlp = self.bottleneck_film = None
        if cfg.conditioned:
            self.style_mlp = nn.Sequential(nn.Linear(cfg.style_dim, embed), nn.ReLU(inplace=True),
                                           nn.Linear(embed, embed), nn.ReLU(inplace=True))
            self.bottleneck_film = FiLM(embed, bottom)

    def forward(self, mask, style=None):
        self.cfg.check_style(style, len(mask), 'UNetGenerator')
        embedding = None if style is None else self.style_mlp(style)
        skips, x = [], mask
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = _modulated(self.bottleneck, self.bottleneck_film, x, embedding)
        for up, skip in zip(self.ups, reversed(skips[1:])):
            x = up(torch.cat([x, skip], dim=1), embedding)
        return self.head(torch.cat([x, skips[0]], dim=1))


class PatchDiscriminator(nn.Module):
    """PatchGAN on ``cat(mask, image[, style planes])``: returns a logit map ``(B, 1, h, w)``."""

    def __init__(self, cfg: Pix2PixConfig):
        super().__init__()
        self.cfg = cfg
        ndf, ch = cfg.ndf, 1 + cfg.out_channels + cfg.style_dim
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

    def forward(self, mask, image, style=None):
        self.cfg.check_style(style, len(mask), 'PatchDiscriminator')
        planes = [mask, image]
        if style is not None:
            planes.append(style[:, :, None, None].expand(-1, -1, *mask.shape[2:]))
        return self.net(torch.cat(planes, dim=1))


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
