"""Empty backgrounds: remove every annotated cell from a real image (paper 2.2).

``method='corner'`` (the paper's): cell boxes, padded by a ``halo`` (the dim rim around a
cell), are merged until no two overlap. Every pixel of a merged box (and of a feather
band of ``ceil(3 sigma)`` pixels around it) gets the best of ``n_candidates`` random
pixels from outside all merged boxes, "best" meaning the smallest mean Euclidean distance
to the box's four corner colours. The filled patch is blended back with
``alpha = min(1, 2 * G_sigma * rect)``: the box itself is fully replaced and the patch
fades into the image over the feather band.
Refinements over the paper, all for natural texture: (1) the mean over the corners is
weighted bilinearly by the pixel's position (equal weights at the box centre, so pixels
near a corner match that corner most: no salt-and-pepper where corners differ);
(2) candidates come from background pixels within ``context`` pixels of the box (local
illumination); (3) each corner colour is the median of the background pixels around the
pixel diagonally outside the corner (robust to a neighbouring cell on the corner).
``method='inpaint'`` uses OpenCV's Telea inpainting on the halo-dilated cell masks.
"""
import math

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .objects import masks_to_boxes

METHODS = ('corner', 'inpaint')
# Below this many outside-box pixels, sample from outside the (halo-dilated) cells instead.
MIN_POOL = 64


def merge_boxes(boxes):
    """Merge boxes until no two overlap (positive-area intersection).

    Args: boxes ``(N, 4)`` int xyxy (exclusive ``x2``/``y2``).
    Returns ``(M, 4)`` int64 union boxes, sorted by ``(y1, x1)``.
    """
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    while len(boxes) > 1:
        x1, y1, x2, y2 = boxes.T
        overlap = ((x1[:, None] < x2[None]) & (x1[None] < x2[:, None])
                   & (y1[:, None] < y2[None]) & (y1[None] < y2[:, None]))
        if overlap.sum() == len(boxes):  # only the diagonal
            break
        rows, cols = np.nonzero(overlap)
        graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)),
                           shape=(len(boxes), len(boxes)))
        n_groups, labels = connected_components(graph, directed=False)
        merged = np.empty((n_groups, 4), dtype=np.int64)
        merged[:, :2] = np.iinfo(np.int64).max
        merged[:, 2:] = np.iinfo(np.int64).min
        np.minimum.at(merged[:, 0], labels, x1)
        np.minimum.at(merged[:, 1], labels, y1)
        np.maximum.at(merged[:, 2], labels, x2)
        np.maximum.at(merged[:, 3], labels, y2)
        boxes = merged
    order = np.lexsort((boxes[:, 0], boxes[:, 1]))
    return boxes[order]


def _corner_weights(outer, rect):
    """``(h*w, 4)`` float32 bilinear weights of the rect's corners (TL, TR, BL, BR).

    For each pixel of the ``outer`` box; positions outside ``rect`` are clamped onto it.
    """
    ox1, oy1, ox2, oy2 = outer
    x1, y1, x2, y2 = rect
    u = np.clip((np.arange(ox1, ox2) - x1) / max(x2 - 1 - x1, 1), 0, 1).astype(np.float32)
    v = np.clip((np.arange(oy1, oy2) - y1) / max(y2 - 1 - y1, 1), 0, 1).astype(np.float32)
    u, v = np.meshgrid(u, v)
    return np.stack([(1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v], axis=2).reshape(-1, 4)


def _fill_values(flat, pool, corners, weights, n_candidates, rng):
    """Pick, for each pixel, the best of ``n_candidates`` random pool pixels.

    ``flat``: ``(H*W, C)`` image; ``pool``: allowed flat indices; ``corners``: ``(4, C)``
    float32 corner colours; ``weights``: ``(n_pixels, 4)`` corner weights of each pixel.
    A candidate's score is the weighted mean of its Euclidean distances to the corners;
    ties go to the earlier candidate. Returns ``(n_pixels, C)`` float32.
    """
    n_pixels = len(weights)
    idx = rng.integers(0, len(pool), size=(n_candidates, n_pixels),
                       dtype=np.int32 if len(pool) < 2**31 else np.int64)
    weights_t = np.ascontiguousarray(weights.T)  # (4, n_pixels)
    if len(pool) <= n_pixels * n_candidates:  # cheaper to measure every pool pixel once
        pool_dist = np.linalg.norm(flat[pool].astype(np.float32)[None] - corners[:, None],
                                   axis=2)  # (4, P)

        def distances(j):
            return np.take(pool_dist, idx[j], axis=1)
    else:
        def distances(j):
            vals = flat[pool[idx[j]]].astype(np.float32)
            return np.linalg.norm(vals[None] - corners[:, None], axis=2)

    best = idx[0].copy()
    best_score = np.einsum('kp,kp->p', weights_t, distances(0))
    for j in range(1, n_candidates):
        score = np.einsum('kp,kp->p', weights_t, distances(j))
        better = score < best_score
        np.minimum(score, best_score, out=best_score)
        np.copyto(best, idx[j], where=better)
    return flat[pool[best]].astype(np.float32)


def _local_pool(free, box, context):
    """Flat indices of free pixels within ``context`` pixels of ``box``; ``None`` if too few."""
    if context is None:
        return None
    height, width = free.shape
    x1, y1, x2, y2 = box
    wx1, wy1 = max(x1 - context, 0), max(y1 - context, 0)
    wx2, wy2 = min(x2 + context, width), min(y2 + context, height)
    rows, cols = np.nonzero(free[wy1:wy2, wx1:wx2])
    if len(rows) < MIN_POOL:
        return None
    return (rows + wy1) * width + (cols + wx1)


def _corner_references(image3, free, box, radius=2):
    """``(4, C)`` float32 reference colours of the box corners.

    Each is the per-channel median of the free (background) pixels in the
    ``(2 radius + 1)^2`` patch centred on the pixel diagonally outside the corner; the
    corner pixel itself when that patch has none.
    """
    height, width = free.shape
    x1, y1, x2, y2 = box
    refs = []
    for cx, cy, ix, iy in ((x1 - 1, y1 - 1, x1, y1), (x2, y1 - 1, x2 - 1, y1),
                           (x1 - 1, y2, x1, y2 - 1), (x2, y2, x2 - 1, y2 - 1)):
        px1, py1 = max(cx - radius, 0), max(cy - radius, 0)
        px2, py2 = min(cx + radius + 1, width), min(cy + radius + 1, height)
        values = image3[py1:py2, px1:px2][free[py1:py2, px1:px2]]
        refs.append(np.median(values, axis=0) if len(values) else image3[iy, ix])
    return np.asarray(refs, dtype=np.float32)


def _inpaint(image, region, radius):
    """Telea inpainting of ``region`` (bool), any of uint8/uint16 and 1/3 channels."""
    mask = region.astype(np.uint8)
    if image.ndim == 2 or (image.dtype == np.uint8 and image.shape[2] == 3):
        return cv2.inpaint(image, mask, radius, cv2.INPAINT_TELEA).reshape(image.shape)
    channels = [cv2.inpaint(np.ascontiguousarray(image[..., c]), mask, radius,
                            cv2.INPAINT_TELEA) for c in range(image.shape[2])]
    return np.stack(channels, axis=2)


def remove_cells(image, masks, rng, n_candidates=8, sigma=2.0, method='corner', halo=4,
                 context=16):
    """Return a copy of ``image`` with every cell of ``masks`` replaced by background.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` uint8/uint16. masks: ``(N, H, W)`` bool.
        rng: ``np.random.Generator`` (unused by ``'inpaint'``).
        n_candidates: random outside pixels tried per filled pixel (``'corner'``).
        sigma: Gaussian feather (pixels); 0 pastes the filled boxes hard.
        method: ``'corner'`` (paper 2.2) or ``'inpaint'`` (OpenCV Telea).
        halo: pixels added around each cell (box for ``'corner'``, mask dilation for
            ``'inpaint'``) so the dim rim around a cell goes too.
        context: candidates come from background pixels within this many pixels of the
            box (keeps local illumination); ``None`` or too few pixels = the whole image.
    Raises ``ValueError`` for mismatched shapes or when no background pixel is left.
    """
    image = np.asarray(image)
    masks = np.asarray(masks, dtype=bool)
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'image dtype must be uint8 or uint16, got {image.dtype}')
    if masks.ndim != 3 or masks.shape[1:] != image.shape[:2]:
        raise ValueError(f'masks of shape {masks.shape} do not match image {image.shape}')
    if n_candidates < 1 or sigma < 0 or halo < 0:
        raise ValueError('need n_candidates >= 1, sigma >= 0 and halo >= 0')
    boxes = masks_to_boxes(masks)
    boxes = boxes[(boxes[:, 2] > boxes[:, 0])]  # drop empty masks
    if len(boxes) == 0:
        return image.copy()
    height, width = image.shape[:2]
    union = masks.any(axis=0)
    if halo:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * halo + 1, 2 * halo + 1))
        union = cv2.dilate(union.astype(np.uint8), kernel).astype(bool)
    if method == 'inpaint':
        return _inpaint(image, union, radius=max(3, math.ceil(3 * sigma)))

    rects = boxes + np.array([-halo, -halo, halo, halo])
    rects = np.clip(rects, 0, [width, height, width, height])
    rects = merge_boxes(rects)
    covered = np.zeros((height, width), dtype=bool)
    for x1, y1, x2, y2 in rects:
        covered[y1:y2, x1:x2] = True
    pool = np.flatnonzero(~covered)
    if len(pool) < MIN_POOL:
        pool = np.flatnonzero(~union)
    if len(pool) == 0:
        raise ValueError(f'cells cover the whole {height}x{width} image: no background '
                         'pixel left to sample')

    n_channels = 1 if image.ndim == 2 else image.shape[2]
    image3 = image.reshape(height, width, n_channels)
    out = image3.copy()
    free = np.zeros((height, width), dtype=bool)
    free.flat[pool] = True
    feather = math.ceil(3 * sigma)
    max_value = np.iinfo(image.dtype).max
    for x1, y1, x2, y2 in rects:
        ox1, oy1 = max(x1 - feather, 0), max(y1 - feather, 0)
        ox2, oy2 = min(x2 + feather, width), min(y2 + feather, height)
        hh, ww = oy2 - oy1, ox2 - ox1
        local = _local_pool(free, (x1, y1, x2, y2), context)
        corners = _corner_references(image3, free, (x1, y1, x2, y2))
        weights = _corner_weights((ox1, oy1, ox2, oy2), (x1, y1, x2, y2))
        fill = _fill_values(image3.reshape(-1, n_channels), local if local is not None
                            else pool, corners, weights, n_candidates, rng)
        fill = fill.reshape(hh, ww, n_channels)
        rect = np.zeros((hh, ww), dtype=np.float32)
        rect[y1 - oy1:y2 - oy1, x1 - ox1:x2 - ox1] = 1.0
        if sigma > 0:
            alpha = np.minimum(1.0, 2.0 * cv2.GaussianBlur(
                rect, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE))
        else:
            alpha = rect
        alpha = alpha[:, :, None]
        patch = out[oy1:oy2, ox1:ox2].astype(np.float32)
        blended = alpha * fill + (1.0 - alpha) * patch
        out[oy1:oy2, ox1:ox2] = np.clip(np.rint(blended), 0, max_value).astype(image.dtype)
    return out.reshape(image.shape)
