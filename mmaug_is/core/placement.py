"""Where to put an object on a background (paper 2.3): corner-matched, never overlapping.

``Occupancy`` records the canvas pixels already taken by placed cells (optionally grown by
a spacing margin). ``find_position`` draws random top-left corners, drops those where the
object's mask would hit a taken pixel, and keeps the one whose background corner pixels
best match the object crop's corner pixels (smallest mean Euclidean distance).
``Layers`` (not in the paper) lets cells touch and overlap instead: a later cell lies on
top; it may not lie more than a set fraction over earlier cells, nor take more than that
fraction of any earlier cell's area.
"""
import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class Occupancy:
    """Bool map of taken canvas pixels.

    Args:
        height, width: canvas size in pixels.
        spacing: every added mask is grown by this many pixels (elliptic dilation), so a
            later object keeps at least ``spacing + 1`` pixels' distance from it.
    """

    def __init__(self, height, width, spacing=0):
        if spacing < 0:
            raise ValueError(f'spacing must be >= 0, got {spacing}')
        self.taken = np.zeros((int(height), int(width)), dtype=bool)
        self.spacing = int(spacing)
        self._kernel = (cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * self.spacing + 1,) * 2) if self.spacing else None)

    @classmethod
    def from_masks(cls, masks, spacing=0):
        """Occupancy of a canvas that already holds ``(N, H, W)`` bool ``masks``."""
        masks = np.asarray(masks, dtype=bool)
        occ = cls(masks.shape[1], masks.shape[2], spacing)
        if len(masks):
            occ.add(masks.any(axis=0), 0, 0)
        return occ

    @property
    def shape(self):
        """``(height, width)`` of the canvas."""
        return self.taken.shape

    def add(self, mask, x, y):
        """Mark ``mask`` (``(h, w)`` bool) placed with its top-left corner at ``(x, y)``."""
        mask = np.asarray(mask, dtype=bool)
        h, w = mask.shape
        s = self.spacing
        if s:
            grown = cv2.dilate(np.pad(mask, s).astype(np.uint8), self._kernel).astype(bool)
        else:
            grown = mask
        x0, y0 = x - s, y - s
        cx1, cy1 = max(x0, 0), max(y0, 0)
        cx2 = min(x0 + w + 2 * s, self.taken.shape[1])
        cy2 = min(y0 + h + 2 * s, self.taken.shape[0])
        if cx2 <= cx1 or cy2 <= cy1:
            return
        self.taken[cy1:cy2, cx1:cx2] |= grown[cy1 - y0:cy2 - y0, cx1 - x0:cx2 - x0]

    def fits(self, mask, xs, ys):
        """``(n,)`` bool: does ``mask`` at each top-left ``(xs[i], ys[i])`` avoid taken pixels?

        Every position must keep the mask inside the canvas.
        """
        mask = np.asarray(mask, dtype=bool)
        xs, ys = np.asarray(xs, dtype=np.int64), np.asarray(ys, dtype=np.int64)
        windows = sliding_window_view(self.taken, mask.shape)  # (H-h+1, W-w+1, h, w) view
        return ~(windows[ys, xs] & mask).any(axis=(1, 2))


class Layers:
    """Cells stacked in placement order: which one shows at each canvas pixel.

    Args:
        height, width: canvas size in pixels.
        occlusion: in ``[0, 1)``: the largest fraction of a cell's area that the cells
            placed after it may cover, and of a new cell group's area that may lie over
            earlier cells.
    """

    def __init__(self, height, width, occlusion):
        if not 0 <= occlusion < 1:
            raise ValueError(f'occlusion must be in [0, 1), got {occlusion!r}')
        self.owner = np.full((int(height), int(width)), -1, dtype=np.int64)
        self.occlusion = float(occlusion)
        self.areas, self.visible = np.zeros(0, np.int64), np.zeros(0, np.int64)

    def fits(self, union, xs, ys):
        """``(n,)`` bool: may a cell group of mask ``union`` (``(h, w)`` bool) lie at each
        top-left ``(xs[i], ys[i])`` (inside the canvas), with at most ``occlusion`` of
        ``union`` over placed cells and every placed cell keeping at least
        ``1 - occlusion`` of its area? (So cells overlap at their edges; none lands inside
        another.)"""
        union = np.asarray(union, dtype=bool)
        xs, ys = np.asarray(xs, dtype=np.int64), np.asarray(ys, dtype=np.int64)
        n_cells = len(self.areas)
        if n_cells == 0:
            return np.ones(len(xs), dtype=bool)
        under = sliding_window_view(self.owner, union.shape)[ys, xs][:, union]  # (n, k)
        slots = under + 1 + (n_cells + 1) * np.arange(len(xs))[:, None]
        covered = np.bincount(slots.ravel(), minlength=len(xs) * (n_cells + 1))
        covered = covered.reshape(len(xs), n_cells + 1)[:, 1:]
        keep = np.ceil((1.0 - self.occlusion) * self.areas)
        on_top = covered.sum(axis=1) <= self.occlusion * np.count_nonzero(union)
        return on_top & ((self.visible - covered) >= keep).all(axis=1)

    def add(self, masks, x, y):
        """Put the cells ``masks`` (``(n, h, w)`` bool, disjoint) on top at ``(x, y)``."""
        masks = np.asarray(masks, dtype=bool)
        n, h, w = masks.shape
        region = self.owner[y:y + h, x:x + w]
        union = masks.any(axis=0)
        lost = np.bincount(region[union & (region >= 0)], minlength=len(self.areas))
        self.visible = self.visible - lost[:len(self.areas)]
        first = len(self.areas)
        region[union] = first + np.argmax(masks, axis=0)[union]
        areas = masks.sum(axis=(1, 2))
        self.areas = np.concatenate([self.areas, areas])
        self.visible = np.concatenate([self.visible, areas])

    def masks(self):
        """``(N, H, W)`` bool visible part of every cell, in placement order."""
        return self.owner[None] == np.arange(len(self.areas))[:, None, None]


def corner_pixels(image, xs, ys, h, w):
    """``(4, n, C)`` float32 pixels at the corners of the ``h x w`` boxes at ``(xs, ys)``.

    Order: top-left, top-right, bottom-left, bottom-right (the last row/column inside).
    """
    image = image.reshape(image.shape[:2] + (-1,))
    rows = np.stack([ys, ys, ys + h - 1, ys + h - 1])
    cols = np.stack([xs, xs + w - 1, xs, xs + w - 1])
    return image[rows, cols].astype(np.float32)


def find_position(background, obj_image, obj_mask, occupancy, rng, n_candidates=50,
                  layers=None):
    """Best top-left ``(x, y)`` for an object, or ``None`` if no candidate fits.

    Args:
        background: ``(H, W[, C])`` image whose texture the corners are matched against.
        obj_image: ``(h, w[, C])`` crop. obj_mask: ``(h, w)`` bool union of its cells.
        occupancy: ``Occupancy`` of the canvas (same ``H, W``).
        rng: ``np.random.Generator``; exactly ``2 * n_candidates`` integers are drawn.
        n_candidates: random top-left corners tried (uniform over the frame).
        layers: optional ``Layers`` of the canvas: positions must also pass its ``fits``.
    The winner minimises the mean over the four box corners of the Euclidean (over
    channels) distance between background and crop corner pixels.
    """
    height, width = background.shape[:2]
    h, w = obj_image.shape[:2]
    if occupancy.shape != (height, width):
        raise ValueError(f'occupancy {occupancy.shape} does not match the background '
                         f'{(height, width)}')
    if np.asarray(obj_mask).shape != (h, w):
        raise ValueError(f'object mask {np.shape(obj_mask)} does not match its crop {(h, w)}')
    if h > height or w > width or h == 0 or w == 0:
        return None
    xs = rng.integers(0, width - w + 1, size=n_candidates)
    ys = rng.integers(0, height - h + 1, size=n_candidates)
    ok = occupancy.fits(obj_mask, xs, ys)
    if layers is not None:
        ok &= layers.fits(obj_mask, xs, ys)
    if not ok.any():
        return None
    bg = corner_pixels(background, xs, ys, h, w)  # (4, n, C)
    zero = np.zeros(1, dtype=np.int64)
    obj = corner_pixels(obj_image, zero, zero, h, w)  # (4, 1, C)
    score = np.linalg.norm(bg - obj, axis=2).mean(axis=0)
    score[~ok] = np.inf
    best = int(np.argmin(score))
    return int(xs[best]), int(ys[best])
