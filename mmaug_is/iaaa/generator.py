"""IAAA image generator (paper 2.4): augmented real cells on empty real backgrounds.

For synthetic image ``index`` under ``seed`` (rng = ``synth.sample_rng(seed, index)``):
draw a background; draw the cell count (the real per-image distribution, or its mode as
in the paper); choose SCOs/MCOs with the real SCO/MCO ratio; augment each object with one
of the top-b policies; place it corner-matched and feathered, without overlaps. The
ground truth is the unfiltered augmented masks, one instance per cell, each with the
category of the real cell it shows (the real class mix is kept; no class balancing).

With ``style_neighbours = k > 0`` (not in the paper) the objects of a sample come only
from the ``k`` real images whose backgrounds look most like the drawn one
(``core.style``), so stained cells stay on stained backgrounds in mixed datasets.

``paste_cells`` (object choice, policy augmentation, paste) is shared with the in-pipeline
transform ``IAAAPaste``.
"""
import math
import numbers
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..core import (EDGES, GEOMETRY_MODES, choose_objects, compose_image, rescale, resize,
                    style_bank, style_descriptor, style_neighbours)
from ..core.policy import Policy, read_policy_file
from ..synth import SampleGenerator, SyntheticSample

COUNT_MODES = ('distribution', 'mode', 'background')
# settings beyond the paper: in the cache key only when they differ from their default, so
# the keys of caches made before they existed stay valid
_BEYOND_PAPER = ('style_neighbours', 'count_scale', 'edge', 'geometry', 'border_margin',
                 'scale_jitter', 'occlusion')


# numeric settings: (type, lowest value, whether the lowest value itself is excluded)
_NUMERIC_FIELDS = dict(n_candidates=(int, 1, False), sigma=(float, 0, False),
                       spacing=(int, 0, False), style_neighbours=(int, 0, False),
                       count_scale=(float, 0, True), border_margin=(int, 0, False))


def _check_number(name, value, kind, low, strict):
    """Raise ``ValueError`` naming ``name`` and ``value`` unless ``value`` is a finite
    ``kind`` (int: an integer; float: any real number) ``>= low`` (``> low`` if
    ``strict``)."""
    if kind is int:
        valid = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    else:
        valid = (isinstance(value, numbers.Real) and not isinstance(value, bool)
                 and math.isfinite(value))
    valid = valid and (value > low if strict else value >= low)
    if not valid:
        what = 'an integer' if kind is int else 'a number'
        raise ValueError(f'IAAASettings: {name} must be {">" if strict else ">="} {low} '
                         f'({what}), got {value!r}')


@dataclass(frozen=True)
class IAAASettings:
    """Generator settings (JSON-able; part of every cache key).

    Attributes:
        count_mode: ``'distribution'`` (draw the cell count from the real images),
            ``'mode'`` (always the most frequent count, as in the paper) or
            ``'background'`` (the count of the real image the background came from).
        n_candidates: random positions tried per object (paper 2.3's n).
        sigma: Gaussian feather of the pasted object, pixels.
        spacing: free pixels kept around every placed cell.
        style_neighbours: ``0`` (the paper): any cell on any background; ``k > 0``: cells
            only from the ``k`` real images of most similar background style (the
            background's own image included; more when those ``k`` hold no object).
        count_scale: factor on every drawn cell count (rounded; not in the paper): ``1``
            keeps the real density, ``> 1`` makes denser images (cells that find no free
            place are left out, so a crowded background caps it).
        edge: ``'blur'`` (the paper: the feather blurs the mask edge, so a pasted cell
            looks smaller than its mask) or ``'inside'`` (alpha 1 on every mask pixel,
            feathered only outside it: the visible cell fills its mask).
        geometry: ``'legacy'`` (geometric ops warp the image bilinearly, the masks
            nearest-neighbour) or ``'consistent'`` (masks follow the image's warp, and the
            uncovered area is filled from the crop's background).
        border_margin: ``0`` (the paper: cells lie inside the frame) or ``m > 0`` pixels:
            positions may reach ``m`` px beyond every image border, so cells are cut by
            it as in real crops (masks clipped; cells left with < ``MIN_CUT_PIXELS``
            pixels dropped).
        scale_jitter: ``(low, high)``: each object is resized by a factor drawn uniformly
            from it after its policy; ``(1, 1)`` (default) keeps real sizes.
        occlusion: ``0`` (the paper: cells never touch) or ``f`` in ``(0, 1)``: cells may
            touch and overlap, a later cell on top, the earlier masks losing what it covers
            (at most ``f`` of a cell's area, and at most ``f`` of the later cell over
            others; ``spacing`` then applies to real cells only).
    """

    count_mode: str = 'distribution'
    n_candidates: int = 50
    sigma: float = 1.0
    spacing: int = 1
    style_neighbours: int = 0
    count_scale: float = 1.0
    edge: str = 'blur'
    geometry: str = 'legacy'
    border_margin: int = 0
    scale_jitter: tuple = (1.0, 1.0)
    occlusion: float = 0.0

    def __post_init__(self):
        if self.count_mode not in COUNT_MODES:
            raise ValueError(f'count_mode must be one of {COUNT_MODES}, got {self.count_mode!r}')
        for name, (kind, low, strict) in _NUMERIC_FIELDS.items():
            _check_number(name, getattr(self, name), kind, low, strict)
        if self.edge not in EDGES:
            raise ValueError(f'edge must be one of {EDGES}, got {self.edge!r}')
        if self.geometry not in GEOMETRY_MODES:
            raise ValueError(f'geometry must be one of {GEOMETRY_MODES}, got '
                             f'{self.geometry!r}')
        try:
            jitter = tuple(float(v) for v in self.scale_jitter)
        except (TypeError, ValueError):
            jitter = ()
        if len(jitter) != 2 or not 0 < jitter[0] <= jitter[1] < math.inf:
            raise ValueError(f'scale_jitter must be (low, high) with 0 < low <= high, got '
                             f'{self.scale_jitter!r}')
        object.__setattr__(self, 'scale_jitter', jitter)
        if not (isinstance(self.occlusion, numbers.Real) and not isinstance(self.occlusion, bool)
                and 0 <= self.occlusion < 1):
            raise ValueError(f'IAAASettings: occlusion must be in [0, 1), got '
                             f'{self.occlusion!r}')

    @property
    def jitters_scale(self):
        """Whether objects are resized by a random factor."""
        return self.scale_jitter != (1.0, 1.0)

    def to_dict(self):
        """Plain dict of the settings; the settings beyond the paper only when they differ
        from their default, so the cache keys of samples made before they existed stay
        valid."""
        settings = asdict(self)
        for field in fields(self):
            if field.name in _BEYOND_PAPER and settings[field.name] == field.default:
                del settings[field.name]
        return settings


def as_policies(policies):
    """Policies given as a ``policies.json`` path, or a list of ``Policy`` / policy dicts
    -> list of ``Policy`` (``[]``: no augmentation)."""
    if isinstance(policies, (str, Path)):
        return read_policy_file(policies)['policies']
    return [p if isinstance(p, Policy) else Policy.from_dict(p) for p in policies]


def paste_cells(canvas, bank, n_cells, sco_fraction, policies, settings, rng, occupied=None,
                scale=(1.0, 1.0)):
    """IAAA's paste: choose objects, augment each by one random policy, paste them.

    Args:
        canvas: ``(H, W[, C])`` image the cells go on (an empty background, or a real
            image whose cells are ``occupied``). bank: ``core.ObjectBank`` of the canvas's
            dtype and channels. n_cells: cells to place (MCOs count all their cells).
        sco_fraction: probability that a draw is an SCO. policies: list of ``Policy``
            (``[]``: cells as they are). settings: ``IAAASettings`` (n_candidates, sigma,
            spacing, edge, geometry, border_margin, scale_jitter, occlusion). rng:
            ``np.random.Generator``. occupied: ``(H, W)`` bool or None.
        scale: ``(sx, sy)`` every object is resized by first (the canvas's scale against
            the bank's images, e.g. after a resize in an mmdet pipeline).
    Returns the ``core.ComposedImage`` (``category_ids``: each cell's real category).
    """
    rescaled = tuple(scale) != (1.0, 1.0)

    def augment(image, masks, object_rng):
        if rescaled:
            image, masks = rescale(image, masks, *scale, geometry=settings.geometry)
        if policies:
            policy = policies[object_rng.integers(len(policies))]
            image, masks = policy.apply(image, masks, object_rng, geometry=settings.geometry)
        if settings.jitters_scale:
            image, masks = resize(image, masks, object_rng.uniform(*settings.scale_jitter),
                                  geometry=settings.geometry)
        return image, masks

    objects = choose_objects(bank, n_cells, sco_fraction, rng)
    transform = augment if policies or settings.jitters_scale or rescaled else None
    return compose_image(canvas, objects, rng, transform=transform,
                         n_candidates=settings.n_candidates, sigma=settings.sigma,
                         spacing=settings.spacing, occupied=occupied, edge=settings.edge,
                         border_margin=settings.border_margin,
                         occlusion=settings.occlusion)


class IAAAGenerator(SampleGenerator):
    """Deterministic IAAA samples from real assets and searched policies.

    Args:
        assets: ``synth.RealAssets`` (object bank, backgrounds, statistics).
        policies: list of ``core.Policy`` (the search's top-b); empty = no augmentation.
        settings: ``IAAASettings``.
    """

    def __init__(self, assets, policies, settings=IAAASettings()):
        self.assets = assets
        self.policies = list(policies)
        self.settings = settings
        self._banks = {}  # background index -> ObjectBank it draws from

    def draw_frame(self, rng):
        """The first draw of every sample: the index of the background it is built on."""
        return int(rng.integers(len(self.assets.backgrounds)))

    def frame_shape(self, background_index):
        return self.assets.backgrounds[background_index].shape[:2]

    def bank_for(self, background_index):
        """The ``ObjectBank`` that samples on background ``background_index`` draw from."""
        k = self.settings.style_neighbours
        if not k:
            return self.assets.bank
        if not self._banks:
            self._banks = self._style_banks(k)
        return self._banks[background_index]

    def _style_banks(self, k):
        """``{background index: bank}`` of the objects of the ``k`` most similar images."""
        assets = self.assets
        descriptors = np.stack([style_descriptor(bg) for bg in assets.backgrounds])
        ranking = style_neighbours(descriptors, len(descriptors))
        return {index: style_bank(assets.bank, [assets.background_sources[i] for i in order], k)
                for index, order in enumerate(ranking)}

    def _cell_count(self, background_index, rng):
        """Cells to place on background ``background_index`` (``count_mode`` x
        ``count_scale``)."""
        stats, settings = self.assets.stats, self.settings
        if settings.count_mode != 'background':
            count = stats.sample_cell_count(rng, settings.count_mode)
        elif len(stats.cell_counts) != len(self.assets.backgrounds):
            raise ValueError(f"count_mode='background' needs one cell count per background: "
                             f'{len(stats.cell_counts)} counts, '
                             f'{len(self.assets.backgrounds)} backgrounds')
        else:
            count = stats.cell_counts[background_index]
        return int(round(count * settings.count_scale))

    def compose(self, background_index, rng):
        """Cells of the real count distribution, augmented, on background
        ``background_index``."""
        n_cells = self._cell_count(background_index, rng)
        composed = paste_cells(self.assets.backgrounds[background_index],
                               self.bank_for(background_index), n_cells,
                               self.assets.stats.sco_fraction, self.policies, self.settings,
                               rng)
        return SyntheticSample(composed.image, composed.masks, composed.category_ids)
