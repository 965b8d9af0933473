"""IAAA image generator (paper 2.4): augmented real cells on empty real backgrounds.

For synthetic image ``index`` under ``seed`` (rng = ``np.random.default_rng([seed, index])``):
draw a background; draw the cell count (the real per-image distribution, or its mode as
in the paper); choose SCOs/MCOs with the real SCO/MCO ratio; augment each object with one
of the top-b policies; place it corner-matched and feathered, without overlaps. The
ground truth is the unfiltered augmented masks, one instance per cell.
"""
from dataclasses import asdict, dataclass

import numpy as np

from ..core import choose_objects, compose_image
from ..synth import SyntheticSample

COUNT_MODES = ('distribution', 'mode')


@dataclass(frozen=True)
class IAAASettings:
    """Generator settings (JSON-able; part of every cache key).

    Attributes:
        count_mode: ``'distribution'`` (draw the cell count from the real images) or
            ``'mode'`` (always the most frequent count, as in the paper).
        n_candidates: random positions tried per object (paper 2.3's n).
        sigma: Gaussian feather of the pasted object, pixels.
        spacing: free pixels kept around every placed cell.
    """

    count_mode: str = 'distribution'
    n_candidates: int = 50
    sigma: float = 1.0
    spacing: int = 1

    def __post_init__(self):
        if self.count_mode not in COUNT_MODES:
            raise ValueError(f'count_mode must be one of {COUNT_MODES}, got {self.count_mode!r}')

    def to_dict(self):
        """Plain dict of the settings."""
        return asdict(self)


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

    def _augment(self, image, masks, rng):
        policy = self.policies[rng.integers(len(self.policies))]
        return policy.apply(image, masks, rng)

    def _background(self, rng):
        """The first draw of every sample: which background it is built on."""
        return self.assets.backgrounds[rng.integers(len(self.assets.backgrounds))]

    def output_shape(self, seed, index):
        """``(H, W)`` of sample ``index`` without generating it."""
        return self._background(np.random.default_rng([int(seed), int(index)])).shape[:2]

    def generate(self, seed, index):
        """Return the ``SyntheticSample`` number ``index`` of the stream ``seed``."""
        rng = np.random.default_rng([int(seed), int(index)])
        assets, settings = self.assets, self.settings
        background = self._background(rng)
        n_cells = assets.stats.sample_cell_count(rng, settings.count_mode)
        objects = choose_objects(assets.bank, n_cells, assets.stats.sco_fraction, rng)
        composed = compose_image(background, objects, rng,
                                 transform=self._augment if self.policies else None,
                                 n_candidates=settings.n_candidates, sigma=settings.sigma,
                                 spacing=settings.spacing)
        return SyntheticSample(composed.image, composed.masks)
