"""IAAA image generator (paper 2.4): augmented real cells on empty real backgrounds.

For synthetic image ``index`` under ``seed`` (rng = ``np.random.default_rng([seed, index])``):
draw a background; draw the cell count (the real per-image distribution, or its mode as
in the paper); choose SCOs/MCOs with the real SCO/MCO ratio; augment each object with one
of the top-b policies; place it corner-matched and feathered, without overlaps. The
ground truth is the unfiltered augmented masks, one instance per cell.

With ``style_neighbours = k > 0`` (not in the paper) the objects of a sample come only
from the ``k`` real images whose backgrounds look most like the drawn one
(``core.style``), so stained cells stay on stained backgrounds in mixed datasets.
"""
from dataclasses import asdict, dataclass

import numpy as np

from ..core import (choose_objects, compose_image, style_bank, style_descriptor,
                     style_neighbours)
from ..synth import SyntheticSample

COUNT_MODES = ('distribution', 'mode', 'background')


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
    """

    count_mode: str = 'distribution'
    n_candidates: int = 50
    sigma: float = 1.0
    spacing: int = 1
    style_neighbours: int = 0
    count_scale: float = 1.0

    def __post_init__(self):
        if self.count_mode not in COUNT_MODES:
            raise ValueError(f'count_mode must be one of {COUNT_MODES}, got {self.count_mode!r}')
        if self.style_neighbours < 0:
            raise ValueError(f'style_neighbours must be >= 0, got {self.style_neighbours}')
        if not self.count_scale > 0:
            raise ValueError(f'count_scale must be > 0, got {self.count_scale}')

    def to_dict(self):
        """Plain dict of the settings; ``style_neighbours`` and ``count_scale`` only when
        used, so the cache keys of samples made before they existed stay valid."""
        settings = asdict(self)
        if not self.style_neighbours:
            del settings['style_neighbours']
        if self.count_scale == 1.0:
            del settings['count_scale']
        return settings


class IAAAGenerator:
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

    def _augment(self, image, masks, rng):
        policy = self.policies[rng.integers(len(self.policies))]
        return policy.apply(image, masks, rng)

    def _background_index(self, rng):
        """The first draw of every sample: which background it is built on."""
        return int(rng.integers(len(self.assets.backgrounds)))

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

    def output_shape(self, seed, index):
        """``(H, W)`` of sample ``index`` without generating it."""
        rng = np.random.default_rng([int(seed), int(index)])
        return self.assets.backgrounds[self._background_index(rng)].shape[:2]

    def generate(self, seed, index):
        """Return the ``SyntheticSample`` number ``index`` of the stream ``seed``."""
        rng = np.random.default_rng([int(seed), int(index)])
        assets, settings = self.assets, self.settings
        background_index = self._background_index(rng)
        background = assets.backgrounds[background_index]
        n_cells = self._cell_count(background_index, rng)
        objects = choose_objects(self.bank_for(background_index), n_cells,
                                 assets.stats.sco_fraction, rng)
        composed = compose_image(background, objects, rng,
                                 transform=self._augment if self.policies else None,
                                 n_candidates=settings.n_candidates, sigma=settings.sigma,
                                 spacing=settings.spacing)
        return SyntheticSample(composed.image, composed.masks)
