"""SAAA generator (paper 4.4): DDPM masks -> Pix2Pix cells -> multi-cell images.

``MaskGenerator`` draws clean canonical masks from a trained mask DDPM (EMA weights);
``CellSynthesizer`` turns canonical masks into cell crops with the Pix2Pix generator;
``SAAAGenerator`` restores each cell to a real size drawn from the training SCOs and
composes a synthetic image with ``mmaug_is.core.composer.compose_image`` (corner-matched
placement, spacing, Gaussian-feathered paste; ground truth = the unfiltered masks).
The mask DDPM makes cells of one class: every generated cell gets ``category_id``.

``SAAAGenerator`` follows the generators' protocol (``synth.SampleGenerator``): sample
``index`` of stream ``seed`` is driven by ``sample_rng(seed, index)`` alone, torch noise is
seeded from it and the networks run in eval mode, so it is byte-identical in any process.
"""
import json
from pathlib import Path

import numpy as np
import torch

from mmaug_is.core.composer import compose_image
from mmaug_is.core.objects import CellObject
from mmaug_is.core.stats import DatasetStats
from mmaug_is.synth import SampleGenerator, SyntheticSample

from .mask_data import (ImageFormat, SizeDistribution, canonical_transform, masks_to_tensor,
                        restore_scale, tensor_to_images, warp_mask)
from .mask_ddpm import MaskDDPM, MaskDDPMConfig, MaskFilter, SAMPLERS, sample_clean_masks
from .pix2pix import Pix2PixConfig, UNetGenerator
from .train_loop import load_checkpoint
from .trainers import MASK_KIND, PIX2PIX_KIND

SOURCE = 'saaa'


def torch_generator(rng):
    """A ``torch.Generator`` seeded from (and advancing) a numpy ``rng``."""
    return torch.Generator().manual_seed(int(rng.integers(0, 2 ** 63 - 1)))


def reframe_masks(masks, size, fill):
    """Map canonical masks ``(n, s, s)`` of any frame into the ``(size, fill)`` frame."""
    out = np.empty((len(masks), size, size), dtype=bool)
    for i, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        out[i] = warp_mask(mask, canonical_transform(box, size, fill), size)
    return out


class MaskGenerator:
    """Clean canonical SCO masks from a trained mask DDPM.

    Args:
        model: ``MaskDDPM`` (EMA weights). mask_filter: ``MaskFilter``.
        sizes: ``SizeDistribution`` of the real SCO boxes (px). fill: canonical fill.
        sampler: ``'ddim'`` or ``'ddpm'``. steps: DDIM steps. max_retries: rejection rounds.
    """

    def __init__(self, model, mask_filter, sizes, fill, sampler='ddim', steps=25,
                 max_retries=10, batch_size=64):
        if sampler not in SAMPLERS:
            raise ValueError(f'sampler must be one of {SAMPLERS}, got {sampler!r}')
        self.model = model.eval()
        self.mask_filter, self.sizes, self.fill = mask_filter, sizes, float(fill)
        self.sampler, self.steps = sampler, int(steps)
        self.max_retries, self.batch_size = int(max_retries), int(batch_size)

    @property
    def size(self):
        return self.model.cfg.image_size

    @classmethod
    def from_checkpoint(cls, path, smooth_sigma=0.0, **kwargs):
        """Load ``mask_ddpm.pth`` (EMA weights, real sizes, area filter).

        ``smooth_sigma``: Gaussian smoothing (px) of raw samples before thresholding.
        """
        state = load_checkpoint(path, MASK_KIND)
        model = MaskDDPM(MaskDDPMConfig(**state['config']))
        model.load_state_dict(state['ema'])
        mask_filter = MaskFilter.from_areas(state['canonical_areas'], smooth_sigma=smooth_sigma)
        return cls(model, mask_filter, SizeDistribution(state['sizes']), state['fill'],
                   **kwargs)

    def sample(self, n, generator):
        """``(n, S, S)`` bool accepted canonical masks (see ``sample_clean_masks``)."""
        if n <= 0:
            return np.zeros((0, self.size, self.size), dtype=bool)
        return sample_clean_masks(self.model, self.mask_filter, n, generator,
                                  sampler=self.sampler, steps=self.steps,
                                  max_retries=self.max_retries, batch_size=self.batch_size)


class CellSynthesizer:
    """Pix2Pix generator: canonical masks -> canonical cell images of the data's format."""

    def __init__(self, net, cfg, fmt, fill, batch_size=64):
        self.net = net.eval()
        self.cfg, self.fmt, self.fill, self.batch_size = cfg, fmt, float(fill), batch_size

    @property
    def size(self):
        return self.cfg.image_size

    @classmethod
    def from_checkpoint(cls, path, **kwargs):
        """Load ``pix2pix.pth`` (generator weights and the image format it produces)."""
        state = load_checkpoint(path, PIX2PIX_KIND)
        cfg = Pix2PixConfig(**state['config'])
        net = UNetGenerator(cfg)
        net.load_state_dict(state['generator'])
        return cls(net, cfg, ImageFormat(**state['image_format']), state['fill'], **kwargs)

    @torch.no_grad()
    def synthesize(self, masks):
        """Canonical masks ``(n, s, s)`` bool (any frame) -> ``(masks, images)`` in this frame.

        Returns ``(n, S, S)`` bool masks and ``(n, S, S[, C])`` images of ``fmt.dtype``.
        """
        masks = reframe_masks(np.asarray(masks, dtype=bool), self.size, self.fill)
        images = [tensor_to_images(self.net(masks_to_tensor(masks[i:i + self.batch_size])),
                                   self.fmt)
                  for i in range(0, len(masks), self.batch_size)]
        shape = (0, self.size, self.size) + ((self.fmt.channels,) if self.fmt.channels > 1
                                             else ())
        return masks, (np.concatenate(images) if images else np.zeros(shape, self.fmt.dtype))


def _as_stats(bank_or_stats):
    if isinstance(bank_or_stats, DatasetStats):
        return bank_or_stats
    if isinstance(bank_or_stats, dict):
        return DatasetStats.from_dict(bank_or_stats)
    if isinstance(bank_or_stats, (str, Path)):
        path = Path(bank_or_stats)
        if not path.is_file():
            raise FileNotFoundError(f'dataset statistics JSON not found: {path}')
        return DatasetStats.load(path)
    raise TypeError('SAAAGenerator needs the real cells-per-image distribution: a '
                    'DatasetStats, its to_dict() or a stats JSON path (an ObjectBank alone '
                    f'has no per-image counts), got {type(bank_or_stats).__name__}')


class SAAAGenerator(SampleGenerator):
    """Synthetic multi-cell images with exact instance masks from the SAAA models.

    Args:
        masks: ``MaskGenerator``. cells: ``CellSynthesizer``.
        stats: ``DatasetStats`` (cells-per-image distribution).
        backgrounds: list of ``(H, W[, C])`` empty backgrounds (``core.remove_cells``
            outputs) in the format the Pix2Pix model produces.
        count_mode: ``'distribution'`` or ``'mode'`` (``DatasetStats.sample_cell_count``).
        max_cells: optional cap on cells per image. spacing: free px kept between cells.
        sigma: paste feather (px). n_candidates: positions tried per cell.
        category_id: COCO category id of every generated cell.
    """

    def __init__(self, masks, cells, stats, backgrounds, count_mode='distribution',
                 max_cells=None, spacing=2, sigma=1.0, n_candidates=50, category_id=1):
        self.masks, self.cells, self.stats = masks, cells, stats
        self.backgrounds = [np.asarray(b) for b in backgrounds]
        if not self.backgrounds:
            raise ValueError('SAAAGenerator needs at least one background image')
        for i, bg in enumerate(self.backgrounds):
            fmt = ImageFormat.of(bg)
            if fmt != cells.fmt:
                raise ValueError(f'background {i} is {fmt}, but the Pix2Pix model produces '
                                 f'{cells.fmt}')
        self.count_mode, self.max_cells = count_mode, max_cells
        self.spacing, self.sigma, self.n_candidates = spacing, sigma, n_candidates
        self.category_id = int(category_id)

    @classmethod
    def from_checkpoints(cls, mask_ckpt, pix2pix_ckpt, bank_or_stats, backgrounds,
                         sampler='ddim', steps=25, max_retries=10, smooth_sigma=0.0,
                         **kwargs):
        """Build from ``mask_ddpm.pth``, ``pix2pix.pth``, statistics and backgrounds.

        ``bank_or_stats``: ``DatasetStats``, its dict, or a path to its JSON.
        ``sampler``/``steps``/``max_retries``/``smooth_sigma`` configure mask sampling
        (``MaskGenerator``); other keyword arguments go to ``SAAAGenerator``.
        """
        masks = MaskGenerator.from_checkpoint(mask_ckpt, smooth_sigma=smooth_sigma,
                                              sampler=sampler, steps=steps,
                                              max_retries=max_retries)
        cells = CellSynthesizer.from_checkpoint(pix2pix_ckpt)
        return cls(masks, cells, _as_stats(bank_or_stats), backgrounds, **kwargs)

    def settings(self):
        """JSON-ready generator settings (for cache keys)."""
        return dict(sampler=self.masks.sampler, steps=self.masks.steps,
                    smooth_sigma=self.masks.mask_filter.smooth_sigma,
                    count_mode=self.count_mode, max_cells=self.max_cells,
                    spacing=self.spacing, sigma=self.sigma, n_candidates=self.n_candidates,
                    n_backgrounds=len(self.backgrounds), category_id=self.category_id)

    def sample_cells(self, n, rng, max_side=None):
        """``n`` synthetic SCOs as ``CellObject``s at real scale (tight crops)."""
        canonical = self.masks.sample(n, torch_generator(rng))
        masks, images = self.cells.synthesize(canonical)
        long_sides = self.masks.sizes.sample_long_side(rng, n)
        if max_side is not None:
            long_sides = np.minimum(long_sides, max_side)
        objects = []
        for i in range(n):
            mask, image = restore_scale(masks[i], int(long_sides[i]), images[i])
            objects.append(CellObject(image, mask[None], 'sco', SOURCE,
                                      np.array([0, 0, mask.shape[1], mask.shape[0]]),
                                      category_ids=(self.category_id, )))
        return objects

    def draw_frame(self, rng):
        """The first draw of every sample: the index of its background."""
        return int(rng.integers(len(self.backgrounds)))

    def frame_shape(self, background_index):
        return self.backgrounds[background_index].shape[:2]

    def compose_cells(self, background_index, rng):
        """New cells on background ``background_index`` as a ``core.ComposedImage`` (with
        placements)."""
        background = self.backgrounds[background_index]
        n = self.stats.sample_cell_count(rng, self.count_mode)
        if self.max_cells is not None:
            n = min(n, int(self.max_cells))
        max_side = min(background.shape[:2]) - 2
        objects = self.sample_cells(n, rng, max_side=max_side)
        return compose_image(background, objects, rng, n_candidates=self.n_candidates,
                             sigma=self.sigma, spacing=self.spacing)

    def compose(self, background_index, rng):
        """``SyntheticSample``: image in the data's dtype/channels, ``(N, H, W)`` bool masks."""
        composed = self.compose_cells(background_index, rng)
        return SyntheticSample(composed.image, composed.masks, composed.category_ids)

    def __repr__(self):
        return f'SAAAGenerator({json.dumps(self.settings())})'
