"""One synthetic image: objects placed on an empty background (paper 2.3-2.4).

For each object: optional transform of (crop, masks) -> corner-matched position that
overlaps no placed cell -> Gaussian-feathered paste; its unfiltered (transformed) masks
become the ground truth. Objects that find no free position are skipped and reported.
With a border margin (not in the paper), positions may reach beyond the image borders, so
cells are cut by them as in real crops. With occlusion (not in the paper), cells may touch
and overlap: a later cell lies on top and the earlier masks lose the pixels it covers.
"""
from dataclasses import dataclass, field

import cv2
import numpy as np

from .blending import feathered_paste
from .placement import Layers, Occupancy, find_position

MIN_CUT_PIXELS = 4  # a cell cut by the border keeps at least this many pixels (as DSB2018)


@dataclass
class ComposedImage:
    """Result of ``compose_image``.

    Attributes:
        image: ``(H, W[, C])`` composed image (background dtype/layout).
        masks: ``(N, H, W)`` bool, one per placed cell; no two overlap.
        object_indices: ``(N,)`` int64 index into the input ``objects`` of each mask.
        category_ids: ``(N,)`` int64 category id of each mask (that of its real cell).
        placements: ``[(object_index, x, y), ...]`` top-left corners of placed crops.
        skipped: indices of objects that did not fit (or lost all cells to the transform).
    """

    image: np.ndarray
    masks: np.ndarray
    object_indices: np.ndarray
    category_ids: np.ndarray
    placements: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    @property
    def n_cells(self):
        """Number of cell instances in the image."""
        return len(self.masks)


def _first_owner(masks):
    """Make ``(n, h, w)`` masks disjoint: a contested pixel stays with the lowest index."""
    if len(masks) < 2:
        return masks
    owner = masks.argmax(axis=0)
    return masks & (owner[None] == np.arange(len(masks))[:, None, None])


def _transformed(obj, index, transform, rng):
    """Apply ``transform`` to a copy of the object's crop and masks, and validate the result."""
    image, masks = obj.image, obj.masks
    if transform is None:
        return image, masks
    image, masks = transform(image.copy(), masks.copy(), rng)
    image, masks = np.asarray(image), np.asarray(masks)
    where = f'transform of object {index} (from {obj.source})'
    if image.dtype != obj.image.dtype or image.shape[2:] != obj.image.shape[2:]:
        raise ValueError(f'{where} changed the image layout {obj.image.dtype}'
                         f'{obj.image.shape} -> {image.dtype}{image.shape}')
    if masks.ndim != 3 or masks.shape[1:] != image.shape[:2] or len(masks) != obj.n_cells:
        raise ValueError(f'{where} returned masks {masks.shape} for an image {image.shape} '
                         f'and {obj.n_cells} cells')
    return image, masks.astype(bool, copy=False)


def _crop_margin(composed, margin, n_objects):
    """``composed`` (made on a background padded by ``margin`` px) cut back to the frame:
    masks clipped, cells with fewer than ``MIN_CUT_PIXELS`` pixels left out, placements
    moved to frame coordinates (negative where a crop starts outside)."""
    frame = (slice(margin, -margin), slice(margin, -margin))
    masks = composed.masks[(slice(None), ) + frame]
    keep = masks.sum(axis=(1, 2)) >= MIN_CUT_PIXELS
    object_indices = composed.object_indices[keep]
    kept_objects = set(object_indices.tolist())
    placements = [(i, x - margin, y - margin) for i, x, y in composed.placements
                  if i in kept_objects]
    skipped = sorted(set(range(n_objects)) - kept_objects)
    return ComposedImage(np.ascontiguousarray(composed.image[frame]),
                         np.ascontiguousarray(masks[keep]), object_indices,
                         composed.category_ids[keep], placements, skipped)


def compose_image(background, objects, rng, transform=None, n_candidates=50, sigma=1.0,
                  spacing=0, occupied=None, edge='blur', border_margin=0, occlusion=0.0):
    """Place ``objects`` (in order) on a copy of ``background``.

    Args:
        background: ``(H, W[, C])`` uint8/uint16 empty background.
        objects: sequence of ``CellObject`` with the background's dtype and channels.
        rng: ``np.random.Generator`` driving the transform and the placement.
        transform: optional ``f(image, masks, rng) -> (image, masks)`` (e.g. a policy's
            ``apply``); it gets copies and must keep dtype, channels and cell count.
        n_candidates: random positions tried per object. sigma: paste feather (pixels).
        spacing: minimum free pixels kept around placed cells (``Occupancy`` spacing).
        occupied: optional ``(H, W)`` bool map of cells already in ``background`` (pasting
            into a real image): objects avoid them and their pixels are never painted.
        edge: ``'blur'`` or ``'inside'`` (alpha 1 on every mask pixel): see
            ``blending.feather_alpha``.
        border_margin: ``0``: objects lie inside the frame; ``m > 0``: positions are drawn
            on the background mirrored ``m`` px beyond every border, then the frame is cut
            out (masks clipped, cells under ``MIN_CUT_PIXELS`` pixels dropped).
        occlusion: ``0`` (the paper): placed cells never overlap and keep ``spacing``;
            ``f`` in ``(0, 1)``: cells may touch and overlap, a later cell on top (painted
            over the earlier ones, whose masks lose what it covers), as long as no cell
            loses more than ``f`` of its area and no object lies more than ``f`` over
            earlier cells (``placement.Layers``); ``spacing`` then applies to the
            ``occupied`` cells only.
    Returns a ``ComposedImage``; an MCO contributes all of its cells, each with its own
    category. Same inputs and rng state give byte-identical results.
    """
    background = np.asarray(background)
    if border_margin:
        margin = int(border_margin)
        padded = cv2.copyMakeBorder(background, margin, margin, margin, margin,
                                    cv2.BORDER_REFLECT_101).reshape(
            tuple(np.add(background.shape[:2], 2 * margin)) + background.shape[2:])
        padded_occupied = None if occupied is None else np.pad(np.asarray(occupied, bool),
                                                                margin)
        composed = compose_image(padded, objects, rng, transform, n_candidates, sigma,
                                 spacing, padded_occupied, edge, occlusion=occlusion)
        return _crop_margin(composed, margin, len(objects))
    height, width = background.shape[:2]
    canvas = background.copy()
    if occupied is None:
        occupancy = Occupancy(height, width, spacing)
        placed_cells = np.zeros((height, width), dtype=bool)
    else:
        placed_cells = np.array(occupied, dtype=bool)
        if placed_cells.shape != (height, width):
            raise ValueError(f'occupied map {placed_cells.shape} does not match the '
                             f'background {background.shape}')
        occupancy = Occupancy.from_masks(placed_cells[None], spacing)
    layers = Layers(height, width, occlusion) if occlusion else None
    pieces, placements, skipped = [], [], []
    for index, obj in enumerate(objects):
        if obj.image.dtype != background.dtype or obj.image.shape[2:] != background.shape[2:]:
            raise ValueError(f'object {index} (from {obj.source}) is {obj.image.dtype}'
                             f'{obj.image.shape}, the background {background.dtype}'
                             f'{background.shape}')
        image, masks = _transformed(obj, index, transform, rng)
        masks = _first_owner(masks)
        present = masks.any(axis=(1, 2))
        masks, category_ids = masks[present], np.asarray(obj.category_ids)[present]
        if len(masks) == 0:
            skipped.append(index)
            continue
        union = masks.any(axis=0)
        position = find_position(background, image, union, occupancy, rng, n_candidates,
                                 layers)
        if position is None:
            skipped.append(index)
            continue
        x, y = position
        feathered_paste(canvas, image, union, x, y, sigma, protect=placed_cells, edge=edge)
        if layers is None:
            occupancy.add(union, x, y)
            h, w = union.shape
            placed_cells[y:y + h, x:x + w] |= union
        else:  # placed_cells keeps only the ``occupied`` cells: later cells paint on top
            layers.add(masks, x, y)
        pieces.append((index, x, y, masks, category_ids))
        placements.append((index, x, y))
    n_total = sum(len(p[3]) for p in pieces)
    out_masks = (np.zeros((n_total, height, width), dtype=bool) if layers is None
                 else layers.masks())  # the stack: each cell's visible part
    object_indices = np.empty(n_total, dtype=np.int64)
    out_categories = np.empty(n_total, dtype=np.int64)
    at = 0
    for index, x, y, masks, category_ids in pieces:
        n, h, w = masks.shape
        if layers is None:
            out_masks[at:at + n, y:y + h, x:x + w] = masks
        object_indices[at:at + n] = index
        out_categories[at:at + n] = category_ids
        at += n
    return ComposedImage(canvas, out_masks, object_indices, out_categories, placements,
                         skipped)


def choose_objects(bank, n_cells, sco_fraction, rng):
    """Draw objects (with replacement) holding ``n_cells`` cells in total.

    Each draw is an SCO with probability ``sco_fraction``, else an MCO that still fits in
    the remaining cell budget (an SCO when none fits), so the object SCO/MCO ratio follows
    ``sco_fraction`` and the cell count is exact whenever the bank has SCOs.
    Returns a list of ``CellObject`` (shared with the bank: do not modify them).
    """
    if not 0.0 <= sco_fraction <= 1.0:
        raise ValueError(f'sco_fraction must be in [0, 1], got {sco_fraction}')
    if n_cells < 0:
        raise ValueError(f'n_cells must be >= 0, got {n_cells}')
    if n_cells and len(bank) == 0:
        raise ValueError('cannot choose objects from an empty ObjectBank')
    mco_sizes = np.array([o.n_cells for o in bank.mcos], dtype=np.int64)
    chosen, remaining = [], int(n_cells)
    while remaining > 0:
        want_sco = rng.random() < sco_fraction
        fitting = np.flatnonzero(mco_sizes <= remaining)
        if bank.scos and (want_sco or fitting.size == 0):
            obj = bank.scos[rng.integers(len(bank.scos))]
        elif fitting.size:
            obj = bank.mcos[fitting[rng.integers(fitting.size)]]
        else:
            break
        chosen.append(obj)
        remaining -= obj.n_cells
    return chosen
