"""Cell sizes matched to each background's real image (beyond the paper).

The paper draws every synthetic cell's size from all real cells at once. Data sets such as
``dsb2018_fluo`` mix magnifications (nuclei of 10 px beside nuclei of 60 px, in different
images), so one synthetic image then mixes cells of every magnification, and cells of a
size its background's image never shows. ``CellSize`` keeps, for every background, the
box sizes (longer side, px) of the real cells of the image it was made from and gives each
new cell one of them, drawn at random.
"""
from dataclasses import dataclass

import numpy as np

from .per_background import checked_per_background, collect_per_background, draw_per_background


def long_side(mask):
    """Longer side (px) of the bounding box of a non-empty ``(h, w)`` bool ``mask``."""
    ys, xs = np.nonzero(mask)
    return int(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1)


@dataclass(frozen=True)
class CellSize:
    """Real cell sizes per background. ``sides``: ``{background index: tuple of longer box
    sides (px)}`` for the backgrounds whose real image has cells, plus ``POOLED``: all of
    them (what a background without real cells draws from)."""

    sides: dict

    def __post_init__(self):
        sides = checked_per_background(self.sides, 'CellSize', 'size')
        if min(min(v) for v in sides.values()) < 1:
            raise ValueError('CellSize: every size must be at least 1 px')
        object.__setattr__(self, 'sides', sides)

    @classmethod
    def fit(cls, bank, background_sources):
        """Longer box side of every real cell of ``bank`` (``ObjectBank``: each mask of its
        SCOs and MCOs), per background made from its source image (``background_sources[i]``,
        e.g. ``RealAssets``). Raises ``ValueError`` when no cell comes from one of them."""
        return cls(collect_per_background(
            bank, background_sources,
            lambda obj, i: [long_side(m) for m in obj.masks if m.any()], 'CellSize.fit'))

    @classmethod
    def from_dict(cls, values):
        if set(values) != {'sides'}:
            raise ValueError(f'CellSize: expected the one key "sides", got {sorted(values)}')
        return cls(values['sides'])

    def to_dict(self):
        return dict(sides={k: list(v) for k, v in self.sides.items()})

    def draw(self, background_index, rng, n):
        """``(n,)`` int real longer sides (px) for cells on background ``background_index``
        (its image's cells, or the pooled ones), drawn with replacement by ``rng``."""
        return draw_per_background(self.sides, background_index, rng, n).astype(np.int64)


SIZE_FROM_REAL = 'real'  # the ``size`` option that fits a CellSize on the real cells


def resolve_size(spec, assets):
    """A ``size`` option -> ``CellSize`` or None.

    ``spec``: None (sizes drawn from all real SCOs: the paper), ``'real'`` (``CellSize.fit``
    on the ``RealAssets`` ``assets``: its bank and its backgrounds' sources), a ``CellSize``
    or its ``to_dict()``. Raises ``ValueError`` for anything else."""
    if spec is None or isinstance(spec, CellSize):
        return spec
    if spec == SIZE_FROM_REAL:
        return CellSize.fit(assets.bank, assets.background_sources)
    if isinstance(spec, dict):
        return CellSize.from_dict(spec)
    raise ValueError(f"size must be None, {SIZE_FROM_REAL!r}, a CellSize or its dict, "
                     f'got {spec!r}')
