"""SAAA generator (paper 4.4): DDPM masks -> Pix2Pix cells -> multi-cell images.

``MaskGenerator`` draws clean canonical masks from a trained mask DDPM (EMA weights),
fresh per image or from a pre-sampled ``MaskBank`` (``mask_bank.py``, the default);
``CellSynthesizer`` turns canonical masks into cell crops with the Pix2Pix generator;
``SAAAGenerator`` restores each cell to a real size drawn from the training SCOs and
composes a synthetic image with ``mmaug_is.core.composer.compose_image`` (corner-matched
placement, spacing, Gaussian-feathered paste; ground truth = the unfiltered masks, or with
``gt_mask='visible'`` the part of each mask where the painted cell shows).
The mask DDPM makes cells of one class: every generated cell gets ``category_id``.

``SAAAGenerator`` follows the generators' protocol (``synth.SampleGenerator``): sample
``index`` of stream ``seed`` is driven by ``sample_rng(seed, index)`` alone (bank draws, or
the seeds of each fresh mask's torch noise, come from it) and the networks run in eval
mode, so it is byte-identical in any process (for a fixed torch thread count and bank).
"""
import inspect
import json
import numbers
from pathlib import Path

import numpy as np
import torch

from mmaug_is.core.blending import BLUR, EDGES
from mmaug_is.core.composer import compose_image
from mmaug_is.core.objects import CellObject
from mmaug_is.core.stats import DatasetStats
from mmaug_is.synth import SampleGenerator, SyntheticSample
from mmaug_is.synth.hashing import bytes_digest, file_digest

from .mask_data import (ImageFormat, SizeDistribution, background_style, canonical_transform,
                        condition_style, masks_to_tensor, restore_scale, tensor_to_images,
                        visible_part, warp_mask)
from .mask_bank import MaskBank, mask_bank_key
from .mask_ddpm import (MaskDDPM, MaskDDPMConfig, MaskFilter, SAMPLERS, mask_generators,
                        sample_clean_masks)
from .pix2pix import Pix2PixConfig, UNetGenerator
from .release import verify_checkpoint
from .size import CellSize, resolve_size
from .texture import CellTexture, resolve_texture
from .tone import CellTone, background_level, resolve_tone
from .train_loop import load_checkpoint
from .trainers import MASK_KIND, PIX2PIX_KIND

SOURCE = 'saaa'
DEFAULT_MASK_BANK = 2048  # masks per bank (from_checkpoints); None / 0: fresh masks
GT_MASKS = ('generated', 'visible')  # SAAAGenerator's gt_mask options


def reframe_masks(masks, size, fill):
    """Map canonical masks ``(n, s, s)`` of any frame into the ``(size, fill)`` frame."""
    out = np.empty((len(masks), size, size), dtype=bool)
    for i, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        out[i] = warp_mask(mask, canonical_transform(box, size, fill), size)
    return out


class MaskGenerator:
    """Clean canonical SCO masks from a trained mask DDPM, fresh or from a ``MaskBank``.

    Args:
        model: ``MaskDDPM`` (EMA weights). mask_filter: ``MaskFilter``.
        sizes: ``SizeDistribution`` of the real SCO boxes (px). fill: canonical fill.
        sampler: ``'ddim'`` or ``'ddpm'``. steps: DDIM steps. max_retries: rejection rounds.
        digest: SHA-256 of the checkpoint file (``from_checkpoint`` sets it); ``None``:
            computed from the weights, filter and sizes when a bank key needs it.
    ``use_bank`` switches ``sample`` from fresh DDPM masks to draws from a mask bank.
    """

    def __init__(self, model, mask_filter, sizes, fill, sampler='ddim', steps=25,
                 max_retries=10, batch_size=64, digest=None):
        if sampler not in SAMPLERS:
            raise ValueError(f'sampler must be one of {SAMPLERS}, got {sampler!r}')
        self.model = model.eval()
        self.mask_filter, self.sizes, self.fill = mask_filter, sizes, float(fill)
        self.sampler, self.steps = sampler, int(steps)
        self.max_retries, self.batch_size = int(max_retries), int(batch_size)
        self._digest = digest
        self.bank = None

    @property
    def size(self):
        return self.model.cfg.image_size

    @property
    def digest(self):
        """SHA-256 identifying the model: the checkpoint file's, else of the weights."""
        if self._digest is None:
            head = json.dumps(dict(config=self.model.cfg.to_dict(), fill=self.fill,
                                   filter=[self.mask_filter.area_low,
                                           self.mask_filter.area_high]), sort_keys=True)
            state = self.model.state_dict()
            self._digest = bytes_digest(
                head.encode(), np.ascontiguousarray(self.sizes.sizes),
                *(np.ascontiguousarray(state[k].detach().cpu().numpy()) for k in sorted(state)))
        return self._digest

    def sampling_settings(self):
        """The settings a mask's content depends on, besides the model (bank keys)."""
        return dict(sampler=self.sampler, steps=self.steps,
                    smooth_sigma=self.mask_filter.smooth_sigma)

    @classmethod
    def from_checkpoint(cls, path, smooth_sigma=0.0, **kwargs):
        """Load ``mask_ddpm.pth`` (EMA weights, real sizes, area filter).

        ``smooth_sigma``: Gaussian smoothing (px) of raw samples before thresholding.
        """
        state = load_checkpoint(path, MASK_KIND)
        model = MaskDDPM(MaskDDPMConfig(**state['config']))
        model.load_state_dict(state['ema'])
        mask_filter = MaskFilter.from_areas(state['canonical_areas'], smooth_sigma=smooth_sigma)
        kwargs.setdefault('digest', file_digest(path))
        return cls(model, mask_filter, SizeDistribution(state['sizes']), state['fill'],
                   **kwargs)

    def bank_key(self, n, seed=0):
        """Key of the bank of ``n`` masks of ``seed`` of this model and settings."""
        return mask_bank_key(self.digest, n, seed, **self.sampling_settings())

    def use_bank(self, n, folder, seed=0, progress=True):
        """Load (or build and save) the bank of ``n`` masks in ``folder`` and draw from it;
        ``n`` of ``None`` / 0: back to fresh masks. Returns the ``MaskBank`` or None."""
        self.bank = MaskBank.cached(self, n, folder, seed, progress=progress) if n else None
        return self.bank

    def sample(self, n, generator):
        """``(n, S, S)`` bool accepted canonical masks.

        ``generator``: a numpy ``Generator`` (the image's rng: draws the bank masks and
        their symmetries, or one noise seed per fresh mask), a list of ``n``
        ``torch.Generator`` (fresh masks: one noise stream each) or one
        ``torch.Generator`` (draws the ``n`` streams' seeds). Fresh masks: see
        ``sample_clean_masks`` (mask ``i`` does not depend on the batch it is drawn in).
        """
        if n <= 0:
            return np.zeros((0, self.size, self.size), dtype=bool)
        if self.bank is not None:
            if isinstance(generator, torch.Generator):
                generator = np.random.default_rng(
                    int(torch.randint(0, 2 ** 62, (1, ), generator=generator)))
            if not isinstance(generator, np.random.Generator):
                raise TypeError('MaskGenerator.sample from a bank needs a numpy or torch '
                                f'Generator, got {type(generator).__name__}')
            return self.bank.draw(n, generator)
        if isinstance(generator, np.random.Generator):
            generator = mask_generators(generator.integers(0, 2 ** 62, size=n))
        return sample_clean_masks(self.model, self.mask_filter, n, generator,
                                  sampler=self.sampler, steps=self.steps,
                                  max_retries=self.max_retries, batch_size=self.batch_size)


class CellSynthesizer:
    """Pix2Pix generator: canonical masks -> canonical cell images of the data's format.

    A conditioned model (``cfg.condition`` ``'background_style'`` or ``'image_style'``)
    paints a cell to suit the background it goes on: ``synthesize`` then needs that
    background's style vector (``style_of``).
    """

    def __init__(self, net, cfg, fmt, fill, batch_size=64):
        self.net = net.eval()
        self.cfg, self.fmt, self.fill, self.batch_size = cfg, fmt, float(fill), batch_size

    @property
    def size(self):
        return self.cfg.image_size

    @property
    def conditioned(self):
        """True when ``synthesize`` needs a background style."""
        return self.cfg.conditioned

    def style_of(self, background, cell_stats=None):
        """Style vector ``(D,)`` of a clean background, as the model was trained with, or
        None for a mask-only model. ``'image_style'`` models also need ``cell_stats``: the
        ``core.style.cell_statistics`` of the real image the background came from."""
        return condition_style(self.cfg.condition, background, cell_stats, self.fmt)

    def _style_tensor(self, style, n):
        """``style`` (``(D,)`` for all cells or ``(n, D)``) as a float tensor, or None."""
        if style is None:
            self.cfg.check_style(None, n, 'CellSynthesizer.synthesize')  # raises if needed
            return None
        if not self.conditioned:
            raise ValueError("CellSynthesizer.synthesize: this Pix2Pix model is unconditioned "
                             "(condition='none'); it takes no style")
        style = np.asarray(style, dtype=np.float32)
        if style.ndim == 1:
            style = np.broadcast_to(style, (n, style.shape[0]))
        self.cfg.check_style(style, n, 'CellSynthesizer.synthesize')
        return torch.tensor(style)  # a copy: style may be a read-only (broadcast) view

    @classmethod
    def from_checkpoint(cls, path, **kwargs):
        """Load ``pix2pix.pth`` (generator weights, the image format it produces and its
        condition; checkpoints without one are unconditioned)."""
        state = load_checkpoint(path, PIX2PIX_KIND)
        cfg = Pix2PixConfig(**state['config'])
        net = UNetGenerator(cfg)
        net.load_state_dict(state['generator'])
        return cls(net, cfg, ImageFormat(**state['image_format']), state['fill'], **kwargs)

    @torch.no_grad()
    def synthesize(self, masks, style=None):
        """Canonical masks ``(n, s, s)`` bool (any frame) -> ``(masks, images)`` in this frame.

        ``style``: conditioned models only (required there): ``(D,)`` style vector of the
        background every cell goes on (``style_of(background)``), or ``(n, D)`` per cell.
        Returns ``(n, S, S)`` bool masks and ``(n, S, S[, C])`` images of ``fmt.dtype``.
        Raises ``ValueError`` for a missing, unexpected or mis-shaped style.
        """
        masks = reframe_masks(np.asarray(masks, dtype=bool), self.size, self.fill)
        styles = self._style_tensor(style, len(masks))
        images = [tensor_to_images(
            self.net(masks_to_tensor(masks[i:i + self.batch_size]),
                     None if styles is None else styles[i:i + self.batch_size]), self.fmt)
                  for i in range(0, len(masks), self.batch_size)]
        shape = (0, self.size, self.size) + ((self.fmt.channels,) if self.fmt.channels > 1
                                             else ())
        return masks, (np.concatenate(images) if images else np.zeros(shape, self.fmt.dtype))


def _bank_size(mask_bank):
    """``mask_bank`` option -> bank size (0: fresh masks). Raises ``ValueError``."""
    if mask_bank is None:
        return 0
    if isinstance(mask_bank, bool) or not isinstance(mask_bank, numbers.Integral) \
            or mask_bank < 0:
        raise ValueError(f'mask_bank must be None or an integer >= 0, got {mask_bank!r}')
    return int(mask_bank)


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


def _cell_model(value, cls, name, hint):
    """A ``texture`` / ``tone`` / ``size`` option as given to ``SAAAGenerator``: None, a
    ``cls`` or its ``to_dict()`` -> None or a ``cls``; anything else raises ``ValueError``."""
    if isinstance(value, dict):
        value = cls.from_dict(value)
    if value is not None and not isinstance(value, cls):
        raise ValueError(f'SAAAGenerator: {name} must be None, a {cls.__name__} or its dict, '
                         f'got {value!r} ({hint})')
    return value


def resolve_cell_models(options, assets):
    """``SAAAGenerator`` keyword ``options`` with their ``texture``, ``tone`` and ``size``
    specs (``'real'``, dicts; ``resolve_texture`` / ``resolve_tone`` / ``resolve_size``)
    fitted on ``RealAssets`` ``assets``. Returns a new dict."""
    options = dict(options)
    options['texture'] = resolve_texture(options.get('texture'), assets.bank)
    options['tone'] = resolve_tone(options.get('tone'), assets)
    options['size'] = resolve_size(options.get('size'), assets)
    return options


def _cell_stats_per_background(cell_stats, backgrounds, cells):
    """``(n_backgrounds, D / 2)`` float32 cell statistics an ``'image_style'`` model paints
    with (``cell_stats`` as given for other models). A background whose real image has no
    cell pixels (a NaN row) borrows the row of the background of nearest
    ``background_style``. Raises ``ValueError`` for missing or mis-shaped statistics."""
    if cells.cfg.condition != 'image_style':
        return cell_stats
    if cell_stats is None:
        raise ValueError("SAAAGenerator: the Pix2Pix model is conditioned on 'image_style' "
                         "and needs cell_stats, the statistics of each background's real "
                         'cells (core.style.cell_statistics; RealAssets.cell_stats)')
    stats = np.array(cell_stats, dtype=np.float32)
    expected = (len(backgrounds), cells.cfg.style_dim // 2)
    if stats.shape != expected:
        raise ValueError(f'SAAAGenerator: cell_stats has shape {stats.shape}, expected '
                         f'{expected} (one row per background)')
    known = np.isfinite(stats).all(axis=1)
    if not known.any():
        raise ValueError('SAAAGenerator: no background comes from an image with cells, so '
                         "an 'image_style' model has no cell statistics to paint with")
    if not known.all():
        codes = np.stack([background_style(bg, cells.fmt) for bg in backgrounds])
        donors = np.flatnonzero(known)
        for i in np.flatnonzero(~known):
            stats[i] = stats[donors[np.argmin(np.linalg.norm(codes[donors] - codes[i],
                                                             axis=1))]]
    return stats


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
        edge: ``'blur'`` (the paper's feathered paste) or ``'inside'`` (alpha 1 on every
            mask pixel, so a cell's visible box is its ground-truth box; beyond the paper,
            as IAAA's ``edge``): see ``core.blending.feather_alpha``.
        category_id: COCO category id of every generated cell.
        gt_mask: ``'generated'`` (the paper: a cell's ground truth is its DDPM mask) or
            ``'visible'`` (the mask's pixels where the painted cell differs from the
            background's median level by at least half its contrast, ``visible_part``;
            the cell is scaled so that this part gets the drawn real size, and the faded
            rest of the mask is still pasted). Pix2Pix cells fade inside their masks, so
            with ``'generated'`` the boxes they teach are larger than the cells shown.
        cell_stats: per background, ``core.style.cell_statistics`` of the real image it
            was made from (``(n_backgrounds, 4 C)``, e.g. ``RealAssets.cell_stats``); needed
            by an ``'image_style'`` Pix2Pix (ignored by others). A NaN row (image without
            cells) borrows the row of the background of nearest ``background_style``.
        texture: None (the paper) or a ``texture.CellTexture`` (or its dict): every painted
            cell gets the grain real cells of its brightness have (beyond the paper;
            ``texture.resolve_texture`` fits one on the real SCOs).
        tone: None (the paper) or a ``tone.CellTone`` (or its dict): every painted cell
            gets the contrast to its background of a real cell of the background's image,
            drawn at random (beyond the paper; ``tone.resolve_tone`` fits one on the real
            cells). Applied before ``texture``.
        size: None (the paper: every cell's size drawn from all real SCOs) or a
            ``size.CellSize`` (or its dict): every cell gets the size of a real cell of the
            background's image, drawn at random (beyond the paper; ``size.resolve_size``
            fits one on the real cells).
    """

    def __init__(self, masks, cells, stats, backgrounds, count_mode='distribution',
                 max_cells=None, spacing=2, sigma=1.0, n_candidates=50, edge=BLUR,
                 category_id=1, gt_mask='generated', cell_stats=None, texture=None,
                 tone=None, size=None):
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
        if edge not in EDGES:
            raise ValueError(f'SAAAGenerator: edge must be one of {EDGES}, got {edge!r}')
        self.edge = edge
        self.category_id = int(category_id)
        if gt_mask not in GT_MASKS:
            raise ValueError(f'SAAAGenerator: gt_mask must be one of {GT_MASKS}, '
                             f'got {gt_mask!r}')
        self.gt_mask = gt_mask
        self.cell_stats = _cell_stats_per_background(cell_stats, self.backgrounds, cells)
        self.texture = _cell_model(texture, CellTexture, 'texture',
                                   'texture.resolve_texture fits one on real SCOs')
        self.tone = _cell_model(tone, CellTone, 'tone',
                                'tone.resolve_tone fits one on the real cells')
        self.size = _cell_model(size, CellSize, 'size',
                                'size.resolve_size fits one on the real cells')
        self._styles = {}  # background index -> style vector (conditioned Pix2Pix)

    @classmethod
    def from_checkpoints(cls, mask_ckpt, pix2pix_ckpt, bank_or_stats, backgrounds,
                         sampler='ddim', steps=25, max_retries=10, smooth_sigma=0.0,
                         mask_bank=DEFAULT_MASK_BANK, mask_bank_seed=0, mask_bank_dir=None,
                         **kwargs):
        """Build from ``mask_ddpm.pth``, ``pix2pix.pth``, statistics and backgrounds.

        ``bank_or_stats``: ``DatasetStats``, its dict, or a path to its JSON.
        ``sampler``/``steps``/``max_retries``/``smooth_sigma`` configure mask sampling
        (``MaskGenerator``). ``mask_bank``: draw every image's masks from a bank of this
        many masks sampled once (``MaskBank``, seed ``mask_bank_seed``, loaded from or
        built into ``mask_bank_dir``, default ``<mask checkpoint folder>/mask_banks``);
        ``None`` or 0: sample fresh masks for every image (the paper's way, seconds of
        CPU per image). A checkpoint in a release folder (``saaa.release``: a
        ``manifest.json`` beside it) is checked against the manifest first. Other keyword
        arguments go to ``SAAAGenerator``.
        """
        verify_checkpoint(mask_ckpt)
        verify_checkpoint(pix2pix_ckpt)
        n_bank, stats = _bank_size(mask_bank), _as_stats(bank_or_stats)
        masks = MaskGenerator.from_checkpoint(mask_ckpt, smooth_sigma=smooth_sigma,
                                              sampler=sampler, steps=steps,
                                              max_retries=max_retries)
        cells = CellSynthesizer.from_checkpoint(pix2pix_ckpt)
        generator = cls(masks, cells, stats, backgrounds, **kwargs)
        if n_bank:  # last: every argument is checked before the bank is built
            folder = mask_bank_dir if mask_bank_dir is not None else \
                Path(mask_ckpt).parent / 'mask_banks'
            masks.use_bank(n_bank, folder, seed=mask_bank_seed)
        return generator

    @classmethod
    def mask_bank_key(cls, mask_ckpt, **options):
        """Key of the mask bank ``from_checkpoints(mask_ckpt, ..., **options)`` uses (its
        defaults for the options not given), or None when it samples fresh masks. Reads
        only the checkpoint's bytes (for cache keys)."""
        params = inspect.signature(cls.from_checkpoints).parameters
        opts = {name: options.get(name, params[name].default)
                for name in ('sampler', 'steps', 'smooth_sigma', 'mask_bank', 'mask_bank_seed')}
        n = _bank_size(opts['mask_bank'])
        if not n:
            return None
        return mask_bank_key(file_digest(mask_ckpt), n, opts['mask_bank_seed'],
                             opts['sampler'], opts['steps'], opts['smooth_sigma'])

    def settings(self):
        """JSON-ready generator settings (for cache keys)."""
        return dict(sampler=self.masks.sampler, steps=self.masks.steps,
                    smooth_sigma=self.masks.mask_filter.smooth_sigma,
                    mask_bank=None if self.masks.bank is None else self.masks.bank.key,
                    count_mode=self.count_mode, max_cells=self.max_cells,
                    spacing=self.spacing, sigma=self.sigma, n_candidates=self.n_candidates,
                    edge=self.edge, n_backgrounds=len(self.backgrounds),
                    category_id=self.category_id, gt_mask=self.gt_mask,
                    texture=None if self.texture is None else self.texture.to_dict(),
                    tone=None if self.tone is None else self.tone.to_dict(),
                    size=None if self.size is None else self.size.to_dict())

    def sample_cells(self, n, rng, max_side=None, style=None, level=None, contrasts=None,
                     long_sides=None):
        """``n`` synthetic SCOs as ``CellObject``s at real scale (tight crops of the
        generated masks).

        ``style``: the destination background's style (conditioned Pix2Pix only).
        ``level``: its median grey level, per channel (``gt_mask='visible'`` and
        ``contrasts`` need it). ``contrasts``: optional ``(n,)`` contrast each cell gets
        (``CellTone.apply``; image units). ``long_sides``: optional ``(n,)`` longer box side
        (px) of each cell (default: drawn from all real SCOs, ``SizeDistribution``)."""
        if level is None and (self.gt_mask == 'visible' or contrasts is not None):
            raise ValueError('SAAAGenerator.sample_cells needs the background level the '
                             "cells go on (level=) for gt_mask='visible' and for contrasts")
        canonical = self.masks.sample(n, rng)  # bank draws, or one noise seed per mask
        masks, images = self.cells.synthesize(canonical, style=style)
        if long_sides is None:
            long_sides = self.masks.sizes.sample_long_side(rng, n)
        if max_side is not None:
            long_sides = np.minimum(long_sides, max_side)
        objects = []
        for i in range(n):
            mask, image = restore_scale(masks[i], int(long_sides[i]), images[i])
            truth = mask
            if self.gt_mask == 'visible':
                mask, image, truth = self._visible_cell(masks[i], images[i], mask, image,
                                                        level, max_side)
            if contrasts is not None:
                image = CellTone.apply(image, mask, level, contrasts[i])
            if self.texture is not None:
                image = self.texture.apply(image, mask, rng)
            objects.append(CellObject(image, truth[None], 'sco', SOURCE,
                                      np.array([0, 0, mask.shape[1], mask.shape[0]]),
                                      category_ids=(self.category_id, )))
        return objects

    @staticmethod
    def _visible_cell(canonical_mask, canonical_image, mask, image, level, max_side):
        """``(mask, image, visible)`` of a cell restored at ``mask``'s size, enlarged once so
        that its visible part's long side is the drawn size (at most ``max_side``)."""
        target = max(mask.shape)
        visible = visible_part(mask, image, level)
        ys, xs = np.nonzero(visible)
        shown = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
        if shown < target:
            side = int(round(target * target / shown))
            side = side if max_side is None else min(side, max_side)
            mask, image = restore_scale(canonical_mask, side, canonical_image)
            visible = visible_part(mask, image, level)
        return mask, image, visible

    def draw_frame(self, rng):
        """The first draw of every sample: the index of its background."""
        return int(rng.integers(len(self.backgrounds)))

    def frame_shape(self, background_index):
        return self.backgrounds[background_index].shape[:2]

    def background_style(self, background_index):
        """Style vector of background ``background_index`` (cached), or None when the
        Pix2Pix model is unconditioned; an ``'image_style'`` model's includes the cell
        statistics of the background's real image (``cell_stats``)."""
        if not self.cells.conditioned:
            return None
        if background_index not in self._styles:
            cell_stats = None if self.cell_stats is None else self.cell_stats[background_index]
            self._styles[background_index] = self.cells.style_of(
                self.backgrounds[background_index], cell_stats)
        return self._styles[background_index]

    def cells_for(self, background_index, n, rng, max_side):
        """``n`` new cells (``sample_cells``) painted for background ``background_index``: its
        style (conditioned Pix2Pix), its median grey level (``gt_mask='visible'``) and its
        real cells' contrasts (``tone``) and sizes (``size``)."""
        contrasts = None if self.tone is None else self.tone.draw(background_index, rng, n)
        long_sides = None if self.size is None else self.size.draw(background_index, rng, n)
        return self.sample_cells(n, rng, max_side=max_side,
                                 style=self.background_style(background_index),
                                 level=background_level(self.backgrounds[background_index]),
                                 contrasts=contrasts, long_sides=long_sides)

    def compose_cells(self, background_index, rng):
        """New cells on background ``background_index`` as a ``core.ComposedImage`` (with
        placements); a conditioned Pix2Pix paints them for that background's style."""
        background = self.backgrounds[background_index]
        n = self.stats.sample_cell_count(rng, self.count_mode)
        if self.max_cells is not None:
            n = min(n, int(self.max_cells))
        objects = self.cells_for(background_index, n, rng, min(background.shape[:2]) - 2)
        return compose_image(background, objects, rng, n_candidates=self.n_candidates,
                             sigma=self.sigma, spacing=self.spacing, edge=self.edge)

    def compose(self, background_index, rng):
        """``SyntheticSample``: image in the data's dtype/channels, ``(N, H, W)`` bool masks."""
        composed = self.compose_cells(background_index, rng)
        return SyntheticSample(composed.image, composed.masks, composed.category_ids)

    def __repr__(self):
        return f'SAAAGenerator({json.dumps(self.settings())})'
