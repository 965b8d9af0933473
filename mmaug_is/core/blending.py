"""Gaussian-feathered pasting of an object crop onto a canvas (paper 2.3).

The alpha map is the object's union mask filtered with a Gaussian of ``sigma`` pixels
inside the crop box, as in the paper. Outside the mask, alpha is also ramped down to 0
over ``3 sigma`` pixels towards the crop border, so the crop's own background never ends
in a visible rectangular seam. The ground-truth masks stay unfiltered (composer's job).

Edge modes (``edge``): ``'blur'`` (the paper's, default) filters the whole mask, so alpha
is below 1 on the mask's outer pixels (sigma 1 on dsb2018_fluo cells: mean 0.72 on the edge
pixels, 0.64 on the rows and columns that set the box): the visible cell is smaller than
its ground-truth box. ``'inside'`` keeps alpha 1 on every mask pixel and feathers only
outside the mask (Gaussian of the mask, crop-border ramp), so the paste hides no mask pixel.
"""
import cv2
import numpy as np

BLUR = 'blur'
INSIDE = 'inside'
EDGES = (BLUR, INSIDE)


def feather_alpha(mask, sigma, edge=BLUR):
    """``(h, w)`` float32 alpha in [0, 1] of a crop's union ``mask``; ``sigma`` 0 = hard.

    Gaussian-filtered mask (``sigma`` px); off the mask it is scaled by
    ``min(1, (d + 0.5) / (3 sigma))``, ``d`` being the pixel's distance (pixels) to the
    nearest crop border row/column. ``edge='inside'``: 1 on every mask pixel.
    """
    if edge not in EDGES:
        raise ValueError(f'feather_alpha: edge must be one of {EDGES}, got {edge!r}')
    mask = np.asarray(mask, dtype=bool)
    alpha = mask.astype(np.float32)
    if sigma <= 0:
        return alpha
    blurred = cv2.GaussianBlur(alpha, (0, 0), float(sigma), borderType=cv2.BORDER_CONSTANT)
    h, w = mask.shape
    rows = np.minimum(np.arange(h), np.arange(h)[::-1])[:, None]
    cols = np.minimum(np.arange(w), np.arange(w)[::-1])[None, :]
    ramp = np.minimum(1.0, (np.minimum(rows, cols) + 0.5) / (3.0 * sigma)).astype(np.float32)
    on_mask = alpha if edge == INSIDE else blurred
    return np.where(mask, on_mask, blurred * ramp)


def feathered_paste(canvas, obj_image, obj_mask_union, x, y, sigma, protect=None, edge=BLUR):
    """Blend ``obj_image`` into ``canvas`` IN PLACE at top-left ``(x, y)``; return ``canvas``.

    Args:
        canvas: ``(H, W)`` or ``(H, W, C)`` uint8/uint16, modified in place.
        obj_image: crop with the same dtype and channels, fully inside the canvas.
        obj_mask_union: ``(h, w)`` bool cells of the crop (alpha source).
        sigma: Gaussian feather in pixels (0 = hard paste of the mask pixels).
        protect: optional ``(H, W)`` bool canvas pixels that must not change (alpha forced
            to 0 there, e.g. cells already placed).
        edge: ``'blur'`` (default) or ``'inside'`` (alpha 1 on every mask pixel), see
            ``feather_alpha``.
    Output pixels are ``round(alpha * obj + (1 - alpha) * canvas)`` in the canvas dtype.
    """
    obj_image = np.asarray(obj_image)
    if obj_image.dtype != canvas.dtype:
        raise ValueError(f'object dtype {obj_image.dtype} differs from canvas {canvas.dtype}')
    if obj_image.shape[2:] != canvas.shape[2:]:
        raise ValueError(f'object channels {obj_image.shape} differ from canvas {canvas.shape}')
    h, w = obj_image.shape[:2]
    if np.shape(obj_mask_union) != (h, w):
        raise ValueError(f'mask {np.shape(obj_mask_union)} does not match the crop {(h, w)}')
    if x < 0 or y < 0 or x + w > canvas.shape[1] or y + h > canvas.shape[0]:
        raise ValueError(f'crop {h}x{w} at (x={x}, y={y}) leaves the canvas {canvas.shape[:2]}')
    alpha = feather_alpha(obj_mask_union, sigma, edge)
    if protect is not None:
        alpha = alpha * ~protect[y:y + h, x:x + w]
    if obj_image.ndim == 3:
        alpha = alpha[:, :, None]
    region = canvas[y:y + h, x:x + w]
    blended = alpha * obj_image.astype(np.float32) + (1.0 - alpha) * region.astype(np.float32)
    region[...] = np.clip(np.rint(blended), 0, np.iinfo(canvas.dtype).max).astype(canvas.dtype)
    return canvas
