"""Cell tone matched to real cells (beyond the paper): how far each painted cell stands
out from its background.

A Pix2Pix trained with an L1 term paints every cell near the average brightness of the
cells it saw: on ``dsb2018_fluo`` the painted cells' mean grey spans about half the range
of real nuclei, whose brightness varies strongly from image to image and within one.
``CellTone`` keeps, for every background, the *contrasts* of the real cells of the image it
was made from (mean grey of a cell's core minus the background's median grey) and gives
each painted cell one of them, drawn at random, by scaling the cell's difference from the
background level (``apply``). The cell's shape, its inner pattern and its visible part
(``mask_data.visible_part``, a relative threshold) are unchanged.
"""
from dataclasses import dataclass

import numpy as np

from .per_background import checked_per_background, collect_per_background, draw_per_background
from .texture import grey_mean, mask_core

GAIN_LIMITS = (0.25, 4.0)  # a cell's brightness is scaled by at most these factors
MIN_CONTRAST = 0.005  # of the dtype's range: a painted cell fainter than this is left as is


def background_level(background):
    """Per-channel median grey level of a background ``(H, W[, C])`` (``(C,)`` or scalar)."""
    background = np.asarray(background)
    return np.median(background.reshape(-1, *background.shape[2:]), axis=0)


def cell_contrast(image, mask, level):
    """Mean grey of the 1-px-eroded ``mask`` of ``image`` minus the grey of ``level``
    (image units; negative for cells darker than the background)."""
    return float(grey_mean(image)[mask_core(mask)].mean() - np.mean(level))


@dataclass(frozen=True)
class CellTone:
    """Real cell contrasts per background. ``contrasts``: ``{background index: tuple of
    contrasts}`` for the backgrounds whose real image has cells, plus ``POOLED``: all of
    them (what a background without real cells draws from)."""

    contrasts: dict

    def __post_init__(self):
        object.__setattr__(self, 'contrasts',
                           checked_per_background(self.contrasts, 'CellTone', 'contrast'))

    @classmethod
    def fit(cls, bank, backgrounds, background_sources):
        """Contrasts of every real cell of ``bank`` (``ObjectBank``: each mask of its SCOs
        and MCOs) against the median level of the background made from its source image
        (``backgrounds[i]`` from ``background_sources[i]``, e.g. ``RealAssets``). Raises
        ``ValueError`` when no cell comes from one of the backgrounds' images."""
        levels = [background_level(bg) for bg in backgrounds]
        return cls(collect_per_background(
            bank, background_sources, lambda obj, i: [
                cell_contrast(obj.image, m, levels[i]) for m in obj.masks if m.any()],
            'CellTone.fit'))

    @classmethod
    def from_dict(cls, values):
        if set(values) != {'contrasts'}:
            raise ValueError(f'CellTone: expected the one key "contrasts", got {sorted(values)}')
        return cls(values['contrasts'])

    def to_dict(self):
        return dict(contrasts={k: list(v) for k, v in self.contrasts.items()})

    def draw(self, background_index, rng, n):
        """``(n,)`` real contrasts for cells on background ``background_index`` (its image's
        cells, or the pooled ones), drawn with replacement by ``rng``."""
        return draw_per_background(self.contrasts, background_index, rng, n)

    @staticmethod
    def apply(image, mask, level, contrast):
        """``image`` ``(h, w[, C])`` uint8/uint16 with its difference from ``level`` scaled so
        that the cell's contrast (``cell_contrast`` over ``mask``) becomes ``contrast``.
        The gain is limited to ``GAIN_LIMITS``; a cell fainter than ``MIN_CONTRAST`` of the
        dtype's range, or standing out the other way (darker where real cells are
        brighter), is returned unchanged. Returns a new array of the image's dtype."""
        image = np.asarray(image)
        limit = np.iinfo(image.dtype).max
        painted = cell_contrast(image, mask, level)
        if abs(painted) < MIN_CONTRAST * limit or painted * contrast <= 0:
            return image.copy()
        gain = np.float32(np.clip(contrast / painted, *GAIN_LIMITS))
        level = np.asarray(level, np.float32)
        return np.clip(np.rint(level + (image - level) * gain), 0, limit).astype(image.dtype)


TONE_FROM_REAL = 'real'  # the ``tone`` option that fits a CellTone on the real cells


def resolve_tone(spec, assets):
    """A ``tone`` option -> ``CellTone`` or None.

    ``spec``: None (cells as painted: the paper), ``'real'`` (``CellTone.fit`` on the
    ``RealAssets`` ``assets``: its bank, backgrounds and their sources), a ``CellTone`` or
    its ``to_dict()``. Raises ``ValueError`` for anything else."""
    if spec is None or isinstance(spec, CellTone):
        return spec
    if spec == TONE_FROM_REAL:
        return CellTone.fit(assets.bank, assets.backgrounds, assets.background_sources)
    if isinstance(spec, dict):
        return CellTone.from_dict(spec)
    raise ValueError(f"tone must be None, {TONE_FROM_REAL!r}, a CellTone or its dict, "
                     f'got {spec!r}')
