"""Augmentation operations acting on an image and its instance masks together.

Two layers (torchvision transforms v2 style):

* **Functional ops** (``rotate``, ``shear_x``, ``gaussian_blur``, ...): deterministic
  functions ``fn(image, masks, *arguments) -> (image, masks)`` that take their strength
  explicitly, in the units of their docstrings (degrees, pixels, factors), and draw nothing.
* **The op table** ``OPS`` (name -> ``Op``): maps an integer ``level`` to a magnitude, draws
  the random part of the decision (sign, window position, noise seed) from an ``rng`` and
  calls the functional op. ``register_op`` adds an op to it.

Every op takes ``image`` (``(H, W)`` or ``(H, W, C)``, C = 1 or 3, uint8 or uint16) and
``masks`` (``(N, H, W)`` bool) and returns a new ``(image, masks)`` pair in the same dtype
and channel layout; the inputs are never modified. Geometric ops move image and masks with
the same transform (image: bilinear; masks: nearest neighbour, so they stay binary and
disjoint masks stay disjoint); rotations, shears and translations enlarge the canvas so
nothing is cut, and the new canvas area gets the crop's background level
(``background_value``: median outside the masks), so no cell intensities are smeared
outwards and no dark corners appear on bright backgrounds. Photometric ops never change
the masks.

Geometry modes (keyword ``geometry`` of the geometric functional ops, ``Op.apply``,
``apply_op`` and ``Policy.apply``; the random draws are the same in both):

* ``'legacy'`` (default, the behaviour above): masks nearest neighbour, new canvas area
  ``background_value``. On a tight object crop the pixels outside the masks are the cell's
  rim, so that fill sits about 0.3 of the cell contrast above the real background, and the
  bilinear image loses the cell's outermost pixels that the nearest-neighbour mask keeps.
* ``'consistent'``: the image follows the masks' nearest-neighbour map (every output pixel
  copies one input pixel), so a cell's pixels land exactly on its mask and a warp neither
  dims nor spreads its outermost pixels; new canvas area gets ``background_fill`` (the
  crop's background away from the cell rim). Measured on pasted dev-set cells
  (``benchmarks/bench_edge_fidelity.py``), this keeps the visible box after ``Rotate``
  where it was before the warp; the alternative (masks warped bilinearly like the image
  and re-thresholded at 0.5) leaves the bilinear warp's loss in place.

In the table, an op's strength is an integer ``level`` in ``[0, N_LEVELS)`` mapped linearly
onto the op's magnitude range ``[low, high]``: ``m = low + (high - low) * level /
(N_LEVELS - 1)``. For symmetric ops (+-) the sign of ``m`` is drawn from the ``rng`` (50/50),
e.g. Rotate level 9 turns by +180 or -180 degrees. ``u``, ``v`` are uniform in ``[0, 1)``
and ``seed`` an int, drawn from the ``rng`` too.

============= =========== ============ ==== ================================================
op            kind        magnitude m  sign functional op and its arguments
============= =========== ============ ==== ================================================
Identity      photometric --                ``identity``
FlipLR        geometric   --                ``flip_lr``
FlipUD        geometric   --                ``flip_ud``
Rotate        geometric   0 .. 180      +-  ``rotate``: angle = m degrees
ShearX        geometric   0 .. 0.3      +-  ``shear_x``: factor = m
ShearY        geometric   0 .. 0.3      +-  ``shear_y``: factor = m
TranslateX    geometric   0 .. 0.3      +-  ``translate_x``: shift = round(m * W) px
TranslateY    geometric   0 .. 0.3      +-  ``translate_y``: shift = round(m * H) px
Resize        geometric   0 .. 0.5      +-  ``resize``: scale = 1 + m (0.5x .. 1.5x)
CropBilinear  geometric   0 .. 0.3          ``crop_bilinear``: fraction = m, u, v
AutoContrast  photometric 0 .. 5            ``auto_contrast``: cutoff = m percent
Equalize      photometric 0.1 .. 1          ``equalize``: weight = m
Posterize     photometric 0 .. 0.75         ``posterize``: bits = round(m * bit depth)
                                            (uint8: 0..6 bits, uint16: 0..12 bits)
Solarize      photometric 0 .. 1            ``solarize``: threshold = (1 - m) * (max + 1)
Invert        photometric --                ``invert``
Contrast      photometric 0 .. 0.9      +-  ``contrast``: factor = 1 + m
Brightness    photometric 0 .. 0.9      +-  ``brightness``: factor = 1 + m
Color         photometric 0 .. 0.9      +-  ``color``: factor = 1 + m
Sharpness     photometric 0 .. 0.9      +-  ``sharpness``: factor = 1 + m
Smooth        photometric 0 .. 4.5          ``smooth``: radius = m px
GaussianBlur  photometric 0 .. 3            ``gaussian_blur``: sigma = m px
Gamma         photometric 0 .. 1        +-  ``gamma``: exponent = 2 ** m (0.5 .. 2)
GaussianNoise photometric 0 .. 0.1          ``gaussian_noise``: sigma = m * (max - min of
                                            the image), seed
Cutout        photometric 0 .. 0.5          ``cutout``: side = round(m * min(H, W)) px,
                                            centre (u * W, v * H) px
============= =========== ============ ==== ================================================

Mask-safety decisions (instance ground truth must stay true):

* **cutout** fills only background pixels (outside every instance mask). Erasing a cell's
  pixels while keeping its mask would label empty background as a cell, and cutting the
  mask too would create cells with holes that do not exist in microscopy data.
* **translate_x/y** and **crop_bilinear** never cut an instance: a cut cell in the middle
  of a synthetic image is a partial cell with no biological counterpart. On a tight object
  crop (the usual IAAA input) Translate only pads the canvas and CropBilinear has no
  mask-free margin to remove, so both are (near) no-ops there; the policy search then
  scores them as "no change". They act on full images with background margins.
* An instance that vanishes under nearest-neighbour resampling (possible only for 1-2 px
  fragments at strong downscaling) keeps the single pixel at its mapped centroid, so the
  number of instances never changes and no mask is empty.

Randomness: ``Op.sample(level, rng)`` draws the random decision (signed magnitude, ``u``,
``v``, ``seed``) into a small JSON-able ``params`` dict; ``Op.apply_params`` is deterministic
(it turns ``params`` into the functional op's arguments), so a recorded decision replays
exactly. ``Op.apply`` does both.
"""
import functools
import math
import operator
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

N_LEVELS = 10

GEOMETRIC = 'geometric'
PHOTOMETRIC = 'photometric'
LEGACY = 'legacy'
CONSISTENT = 'consistent'
GEOMETRY_MODES = (LEGACY, CONSISTENT)
# background_fill: pixels at least RIM_PX from every mask are background; a tight crop with
# fewer than MIN_FAR_PIXELS of them uses the FILL_PERCENTILE on the side away from the cells.
RIM_PX = 4
MIN_FAR_PIXELS = 16
FILL_PERCENTILE = 5
_SMOOTH_KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13.0


# ----------------------------------------------------------------------------- helpers
def check_pair(image, masks, where='ops'):
    """Validate an ``(image, masks)`` pair; raise ``ValueError``/``TypeError`` naming ``where``."""
    if not isinstance(image, np.ndarray) or image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f'{where}: image must be a uint8 or uint16 numpy array, got '
                        f'{type(image).__name__} {getattr(image, "dtype", "")}')
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise ValueError(f'{where}: image must be (H, W), (H, W, 1) or (H, W, 3), '
                         f'got shape {image.shape}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'{where}: image is empty, shape {image.shape}')
    if not isinstance(masks, np.ndarray) or masks.dtype != bool or masks.ndim != 3:
        raise TypeError(f'{where}: masks must be a bool (N, H, W) array, got '
                        f'{type(masks).__name__} {getattr(masks, "dtype", "")} '
                        f'{getattr(masks, "shape", "")}')
    if masks.shape[1:] != image.shape[:2]:
        raise ValueError(f'{where}: masks {masks.shape} do not match image {image.shape}')


def dtype_max(image):
    """Largest value of the image's integer dtype (255 or 65535)."""
    return int(np.iinfo(image.dtype).max)


def is_grey(image):
    """True for (H, W), (H, W, 1) and 3-channel images whose channels are all equal."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    return bool(np.array_equal(image[..., 0], image[..., 1])
                and np.array_equal(image[..., 0], image[..., 2]))


def _to_dtype(values, like):
    """Round, clip to the dtype range of ``like`` and cast; keep ``like``'s channel layout."""
    out = np.clip(np.rint(values), 0, dtype_max(like)).astype(like.dtype)
    return out.reshape(out.shape[:2] + like.shape[2:])


def _lut_cast(values, dtype):
    """Round and clip a 1-D float lookup table to an integer dtype."""
    return np.clip(np.rint(values), 0, np.iinfo(dtype).max).astype(dtype)


def _channels(image):
    """View an image as (H, W, C) without copying."""
    return image if image.ndim == 3 else image[..., None]


def _cv_apply(fn, image):
    """Apply an OpenCV filter and restore a trailing 1-channel axis that cv2 drops."""
    out = fn(image)
    return out.reshape(out.shape[:2] + image.shape[2:])


def check_geometry(geometry, where='ops'):
    """Raise ``ValueError`` naming ``where`` unless ``geometry`` is in ``GEOMETRY_MODES``."""
    if geometry not in GEOMETRY_MODES:
        raise ValueError(f'{where}: geometry must be one of {GEOMETRY_MODES}, got {geometry!r}')


def _labels_resample(masks, resample):
    """Resample instance masks with a nearest-neighbour function of a 2-D array.

    Disjoint masks go through one label image (fast, and they stay disjoint); overlapping
    masks are resampled one by one.
    """
    n = len(masks)
    if n and masks.sum(axis=0, dtype=np.int32).max() <= 1:
        dtype = np.uint16 if n < 65535 else np.float32  # float32 labels are exact to 2**24
        labels = np.zeros(masks.shape[1:], dtype)
        for i in range(n):
            labels[masks[i]] = i + 1
        out = resample(labels)
        return out[None] == np.arange(1, n + 1, dtype=dtype)[:, None, None]
    if n == 0:
        out = resample(np.zeros(masks.shape[1:], np.uint8))
        return np.zeros((0,) + out.shape, bool)
    return np.stack([resample(m.astype(np.uint8)) > 0 for m in masks])


def _keep_vanished(masks_in, masks_out, point_map):
    """Give every instance that vanished under resampling the pixel at its mapped centroid."""
    lost = np.flatnonzero(masks_in.any(axis=(1, 2)) & ~masks_out.any(axis=(1, 2)))
    h, w = masks_out.shape[1:]
    for i in lost:
        ys, xs = np.nonzero(masks_in[i])
        x, y = point_map(xs.mean(), ys.mean())
        masks_out[i, int(np.clip(np.rint(y), 0, h - 1)), int(np.clip(np.rint(x), 0, w - 1))] = True
    return masks_out


def background_value(image, masks):
    """Per-channel median of the pixels outside every mask (of the outer pixel ring if the
    masks cover everything): the fill for canvas area that a transform adds."""
    chans = _channels(image)
    outside = ~masks.any(axis=0)
    if not outside.any():
        outside = np.ones(outside.shape, bool)
        outside[1:-1, 1:-1] = False
    return np.rint(np.median(chans[outside], axis=0)).astype(image.dtype)


def background_fill(image, masks):
    """Per-channel background level of a crop away from its cells' rim (geometry
    'consistent'): the median of the pixels at least ``RIM_PX`` px from every mask; with
    fewer than ``MIN_FAR_PIXELS`` of them (a tight object crop), the ``FILL_PERCENTILE``-th
    percentile of the pixels outside the masks on the side away from the cells (low for
    bright cells, high for dark ones). Masks covering everything: ``background_value``."""
    cells = masks.any(axis=0)
    if cells.all():
        return background_value(image, masks)
    chans = _channels(image)
    distance = cv2.distanceTransform((~cells).astype(np.uint8), cv2.DIST_L2,
                                     cv2.DIST_MASK_PRECISE)
    far = distance >= RIM_PX
    if far.sum() >= MIN_FAR_PIXELS:
        return np.rint(np.median(chans[far], axis=0)).astype(image.dtype)
    outside = chans[~cells]
    bright_cells = np.median(chans[cells], axis=0) > np.median(outside, axis=0)
    low, high = np.percentile(outside, [FILL_PERCENTILE, 100 - FILL_PERCENTILE], axis=0)
    return np.rint(np.where(bright_cells, low, high)).astype(image.dtype)


def _canvas_fill(image, masks, geometry):
    """Level of the canvas area a geometric op adds: ``background_value`` (legacy) or
    ``background_fill`` (consistent)."""
    fill = background_fill if geometry == CONSISTENT else background_value
    return fill(image, masks)


def _image_interpolation(smooth, nearest, geometry):
    """OpenCV flag for the image: ``smooth`` (legacy) or the masks' ``nearest`` (consistent)."""
    return nearest if geometry == CONSISTENT else smooth


def _source_coordinates(matrix, size):
    """Source-pixel coordinates ``(x, y)`` (float64, each (H', W')) of every output pixel of
    the forward 2x3 ``matrix`` on a ``size`` = ``(width, height)`` canvas."""
    (a, b, tx), (c, d, ty) = matrix
    det = a * d - b * c
    x = (np.arange(size[0], dtype=np.float64) - tx) / det
    y = (np.arange(size[1], dtype=np.float64) - ty) / det
    return (d * x)[None, :] - (b * y)[:, None], (a * y)[:, None] - (c * x)[None, :]


def _remap_tables(coords, shape):
    """``cv2.remap`` maps of source ``coords`` on a ``shape`` (H, W) canvas, rounded to
    1/``INTER_TAB_SIZE`` px in numpy so that every machine maps every pixel alike
    (``cv2.warpAffine`` rounds in CPU-specific code). Returns ``(nearest, bilinear)``:
    ``(map1, None)`` and ``(map1, map2)``, map1 int16 (H', W', 2) whole source pixels
    (clipped just beyond the canvas), map2 uint16 ``y_step * INTER_TAB_SIZE + x_step``."""
    steps = cv2.INTER_TAB_SIZE
    bits = steps.bit_length() - 1
    nearest, whole, parts = [], [], []
    for v, limit in zip(coords, shape[1::-1]):
        fixed = np.floor(v * steps + 0.5).clip(-4 * steps, (limit + 2) * steps).astype(np.int32)
        nearest.append(((fixed + steps // 2) >> bits).astype(np.int16))
        whole.append((fixed >> bits).astype(np.int16))
        parts.append((fixed & (steps - 1)).astype(np.uint16))
    return ((np.stack(nearest, axis=-1), None),
            (np.stack(whole, axis=-1), parts[1] * np.uint16(steps) + parts[0]))


def _warp_affine(image, masks, matrix, size, geometry):
    """Warp image (bilinear; nearest for geometry 'consistent') and masks (nearest) by a
    2x3 matrix; ``size`` = ``(width, height)``. New canvas area gets ``_canvas_fill``."""
    matrix = np.asarray(matrix, np.float64)
    coords = _source_coordinates(matrix, size)
    nearest, smooth = _remap_tables(coords, image.shape)

    def warp(array, tables, interpolation, border_value):
        return cv2.remap(array, *tables, interpolation, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=border_value)

    fill = tuple(float(v) for v in _canvas_fill(image, masks, geometry))
    tables, interp = (nearest, cv2.INTER_NEAREST) if geometry == CONSISTENT else (
        smooth, cv2.INTER_LINEAR)
    out = _cv_apply(lambda im: warp(im, tables, interp, fill), image)
    out_masks = _labels_resample(masks, lambda labels: warp(labels, nearest, cv2.INTER_NEAREST,
                                                            0))
    return out, _keep_vanished(masks, out_masks, lambda x, y: matrix[:, :2] @ (x, y) + matrix[:, 2])


def _affine_enlarged(image, masks, linear, geometry):
    """Apply a 2x2 linear map about the image centre on a canvas that holds the whole result."""
    h, w = image.shape[:2]
    linear = np.asarray(linear, np.float64)
    # Pixel centres are integers, so the image spans [-0.5, w - 0.5] x [-0.5, h - 0.5].
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])
    mapped = corners @ linear.T
    lo, hi = mapped.min(axis=0), mapped.max(axis=0)
    size = np.maximum(np.ceil(hi - lo - 1e-6), 1).astype(int)
    shift = -0.5 - lo + (size - (hi - lo)) / 2  # centre the result on the integer canvas
    matrix = np.hstack([linear, shift[:, None]])
    return _warp_affine(image, masks, matrix, (int(size[0]), int(size[1])), geometry)


def _resize_pair(image, masks, width, height, geometry):
    """Resize image (area when shrinking, bilinear otherwise; exact nearest for geometry
    'consistent') and masks (exact nearest)."""
    h, w = image.shape[:2]
    smooth = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    interp = _image_interpolation(smooth, cv2.INTER_NEAREST_EXACT, geometry)

    def scale(array, interpolation):
        return cv2.resize(array, (width, height), interpolation=interpolation)

    out = _cv_apply(lambda im: scale(im, interp), image)
    out_masks = _labels_resample(masks, lambda labels: scale(labels, cv2.INTER_NEAREST_EXACT))
    sx, sy = width / w, height / h
    return out, _keep_vanished(masks, out_masks,
                               lambda x, y: ((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5))


def _lut_apply(image, luts):
    """Apply one lookup table per channel (``luts``: (C, max + 1) or (max + 1,))."""
    luts = np.asarray(luts)
    if luts.ndim == 1:
        return luts[image]
    chans = _channels(image)
    out = np.stack([luts[c][chans[..., c]] for c in range(chans.shape[2])], axis=-1)
    return out.reshape(image.shape)


def _grey_float(image):
    """Luma (ITU-R 601) of a 3-channel image, or the single channel, as float32 (H, W)."""
    chans = _channels(image).astype(np.float32)
    if chans.shape[2] == 1:
        return chans[..., 0]
    return chans[..., 0] * 0.299 + chans[..., 1] * 0.587 + chans[..., 2] * 0.114


def _blend(base, image, factor):
    """``base + factor * (image - base)`` in float32, cast back to the image dtype."""
    img = image.astype(np.float32)
    return _to_dtype(base + factor * (img - base), image)


def _require(ok, where, what, value):
    """Raise ``ValueError`` ``'<where>: <what>, got <value>'`` unless ``ok``."""
    if not ok:
        raise ValueError(f'{where}: {what}, got {value!r}')


def _functional(fn):
    """Make ``fn(image, masks, ...)`` a public functional op: validate the pair first."""
    @functools.wraps(fn)
    def op(image, masks, *args, **kwargs):
        check_pair(image, masks, fn.__name__)
        return fn(image, masks, *args, **kwargs)
    return op


def _geometric(fn):
    """Make ``fn(image, masks, ..., geometry)`` a public geometric op: validate the pair and
    the keyword ``geometry`` (``'legacy'`` by default, or ``'consistent'``)."""
    @functools.wraps(fn)
    def op(image, masks, *args, geometry=LEGACY, **kwargs):
        check_pair(image, masks, fn.__name__)
        check_geometry(geometry, fn.__name__)
        return fn(image, masks, *args, geometry=geometry, **kwargs)
    return op


# ------------------------------------------------------------ geometric functional ops
@_functional
def identity(image, masks):
    """Copies of ``image`` and ``masks`` (a baseline for the policy search)."""
    return image.copy(), masks.copy()


@_geometric
def flip_lr(image, masks, geometry):
    """Mirror left-right, like ``np.fliplr`` (whole pixels move: both geometries agree)."""
    return np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(masks[:, :, ::-1])


@_geometric
def flip_ud(image, masks, geometry):
    """Mirror up-down, like ``np.flipud`` (whole pixels move: both geometries agree)."""
    return np.ascontiguousarray(image[::-1]), np.ascontiguousarray(masks[:, ::-1])


@_geometric
def rotate(image, masks, angle, geometry):
    """Rotate by ``angle`` degrees counter-clockwise on screen about the centre; the canvas
    grows to hold the whole result (90 degrees equals ``np.rot90``)."""
    theta = np.deg2rad(angle)
    c, s = np.cos(theta), np.sin(theta)
    # Counter-clockwise on screen (y axis points down), like cv2.getRotationMatrix2D.
    return _affine_enlarged(image, masks, [[c, s], [-s, c]], geometry)


@_geometric
def shear_x(image, masks, factor, geometry):
    """Shear ``x' = x + factor * y`` about the centre; the canvas grows to hold the result."""
    return _affine_enlarged(image, masks, [[1.0, factor], [0.0, 1.0]], geometry)


@_geometric
def shear_y(image, masks, factor, geometry):
    """Shear ``y' = y + factor * x`` about the centre; the canvas grows to hold the result."""
    return _affine_enlarged(image, masks, [[1.0, 0.0], [factor, 1.0]], geometry)


def _translate(image, masks, shift, axis, geometry):
    """Shift by ``shift`` px along ``axis`` (1 = x, 0 = y) on a canvas grown by ``|shift|``."""
    shift = operator.index(shift)
    if shift == 0:
        return image.copy(), masks.copy()
    before, after = (shift, 0) if shift > 0 else (0, -shift)
    shape = list(image.shape)
    shape[axis] += abs(shift)
    out = np.empty(shape, image.dtype)
    _channels(out)[...] = _canvas_fill(image, masks, geometry)
    index = [slice(None)] * image.ndim
    index[axis] = slice(before, before + image.shape[axis])
    out[tuple(index)] = image
    mpad = [(0, 0)] * 3
    mpad[axis + 1] = (before, after)
    return out, np.pad(masks, mpad, mode='constant', constant_values=False)


@_geometric
def translate_x(image, masks, shift, geometry):
    """Shift right by the int ``shift`` px (left if negative); the canvas grows by ``|shift|``
    px of background level, so nothing is cut."""
    return _translate(image, masks, shift, 1, geometry)


@_geometric
def translate_y(image, masks, shift, geometry):
    """Shift down by the int ``shift`` px (up if negative); the canvas grows by ``|shift|``
    px of background level, so nothing is cut."""
    return _translate(image, masks, shift, 0, geometry)


@_geometric
def resize(image, masks, scale, geometry):
    """Scale both sides by ``scale`` (> 0; sides rounded, at least 1 px): image by area when
    shrinking, bilinear otherwise (geometry 'consistent': nearest-exact); masks nearest-exact."""
    _require(scale > 0, 'resize', 'scale must be > 0', scale)
    return _rescale_pair(image, masks, scale, scale, geometry)


@_geometric
def rescale(image, masks, scale_x, scale_y, geometry):
    """Scale the width by ``scale_x`` and the height by ``scale_y`` (> 0; sides rounded, at
    least 1 px), interpolated as ``resize``. Returns ``(image, masks)``."""
    _require(scale_x > 0 and scale_y > 0, 'rescale', 'scales must be > 0', (scale_x, scale_y))
    return _rescale_pair(image, masks, scale_x, scale_y, geometry)


def _rescale_pair(image, masks, scale_x, scale_y, geometry):
    """``image`` and ``masks`` with their sides scaled (rounded, at least 1 px)."""
    h, w = image.shape[:2]
    width, height = max(1, int(round(w * scale_x))), max(1, int(round(h * scale_y)))
    if (width, height) == (w, h):
        return image.copy(), masks.copy()
    return _resize_pair(image, masks, width, height, geometry)


def _crop_window(length, keep_lo, keep_hi, window, u):
    """Start of a window of ``window`` px in ``[0, length)`` that contains [keep_lo, keep_hi)."""
    window = max(window, keep_hi - keep_lo)
    start_lo, start_hi = max(0, keep_hi - window), min(keep_lo, length - window)
    return int(round(start_lo + u * (start_hi - start_lo))), window


@_geometric
def crop_bilinear(image, masks, fraction, u, v, geometry):
    """Crop a window of ``1 - fraction`` of each side and resize it back to ``(H, W)``
    bilinearly (as ``resize``: masks exact nearest; geometry 'consistent': image too).

    The window is enlarged to contain every mask; ``u``, ``v`` in ``[0, 1]`` place it between
    its leftmost/topmost (0) and rightmost/bottommost (1) allowed position.
    """
    _require(0 <= fraction < 1, 'crop_bilinear', 'fraction must be in [0, 1)', fraction)
    _require(0 <= u <= 1 and 0 <= v <= 1, 'crop_bilinear', 'u, v must be in [0, 1]', (u, v))
    h, w = image.shape[:2]
    union = masks.any(axis=0)
    if union.any():
        ys, xs = np.nonzero(union.any(axis=1))[0], np.nonzero(union.any(axis=0))[0]
        ky, kx = (ys[0], ys[-1] + 1), (xs[0], xs[-1] + 1)
    else:
        ky, kx = (h, 0), (w, 0)  # no instance: any window is allowed
    rel = 1.0 - fraction
    x0, win_w = _crop_window(w, kx[0], kx[1], max(1, int(round(rel * w))), u)
    y0, win_h = _crop_window(h, ky[0], ky[1], max(1, int(round(rel * h))), v)
    if (win_w, win_h) == (w, h):
        return image.copy(), masks.copy()
    crop, crop_masks = image[y0:y0 + win_h, x0:x0 + win_w], masks[:, y0:y0 + win_h, x0:x0 + win_w]
    return _resize_pair(crop, crop_masks, w, h, geometry)  # enlarging: bilinear (legacy)


# ---------------------------------------------------------- photometric functional ops
@_functional
def auto_contrast(image, masks, cutoff):
    """Stretch the ``[cutoff, 100 - cutoff]`` percentiles (``cutoff`` in percent, ``[0, 50)``)
    of each channel linearly to the full dtype range; constant channels are kept."""
    _require(0 <= cutoff < 50, 'auto_contrast', 'cutoff must be in [0, 50) percent', cutoff)
    top = dtype_max(image)
    chans = _channels(image)
    values = np.arange(top + 1, dtype=np.float32)
    luts = []
    for c in range(chans.shape[2]):
        lo, hi = np.percentile(chans[..., c], [cutoff, 100.0 - cutoff])
        if hi <= lo:
            luts.append(np.arange(top + 1, dtype=image.dtype))
        else:
            luts.append(_lut_cast((values - lo) * (top / (hi - lo)), image.dtype))
    return _lut_apply(image, np.stack(luts)), masks.copy()


def _equalize_lut(channel, top):
    """Histogram-equalisation lookup table for one channel on ``top + 1`` bins.

    PIL's ``ImageOps.equalize`` rule with a real-valued step: PIL's integer step is 0 (a
    no-op) whenever an image has fewer pixels than bins, as small 16-bit crops do.
    """
    hist = np.bincount(channel.ravel(), minlength=top + 1).astype(np.int64)
    nonzero = hist[hist > 0]
    step = (nonzero.sum() - nonzero[-1]) / top
    if step == 0:
        return np.arange(top + 1, dtype=np.int64)
    before = np.concatenate([[0], np.cumsum(hist)[:-1]])
    return np.minimum(np.floor(before / step + 0.5), top).astype(np.int64)


@_functional
def equalize(image, masks, weight):
    """Blend ``(1 - weight) * image + weight * equalised`` (1 = fully equalised), where each
    channel is histogram-equalised by PIL's rule on 256 or 65536 bins."""
    top = dtype_max(image)
    chans = _channels(image)
    luts = np.stack([_equalize_lut(chans[..., c], top) for c in range(chans.shape[2])])
    equalised = _lut_apply(image, luts).astype(np.float32)
    return _to_dtype((1 - weight) * image.astype(np.float32) + weight * equalised, image), \
        masks.copy()


@_functional
def posterize(image, masks, bits):
    """Clear the ``bits`` lowest bits of every pixel (int, 0 .. 8 or 16 by dtype)."""
    depth = 8 * image.dtype.itemsize
    bits = operator.index(bits)
    _require(0 <= bits <= depth, 'posterize', f'bits must be in [0, {depth}]', bits)
    keep = np.array(~((1 << bits) - 1) & dtype_max(image), image.dtype)
    return image & keep, masks.copy()


@_functional
def solarize(image, masks, threshold):
    """Invert (``max - x``) the pixels ``>= threshold`` (an intensity in dtype units)."""
    top = dtype_max(image)
    return np.where(image >= threshold, top - image, image).astype(image.dtype), masks.copy()


@_functional
def invert(image, masks):
    """``max - x`` with ``max`` the dtype maximum (255 or 65535)."""
    return (dtype_max(image) - image).astype(image.dtype), masks.copy()


@_functional
def contrast(image, masks, factor):
    """Scale the distance to the mean grey level (ITU-R 601 luma) by ``factor``
    (0 = flat grey, 1 = unchanged)."""
    mean = float(_grey_float(image).mean())
    return _blend(np.float32(mean), image, factor), masks.copy()


@_functional
def brightness(image, masks, factor):
    """Multiply every pixel by ``factor`` (0 = black, 1 = unchanged), clipped to the dtype."""
    return _to_dtype(image.astype(np.float32) * factor, image), masks.copy()


@_functional
def color(image, masks, factor):
    """Scale the saturation (distance to the luma) by ``factor``; grey images are returned
    unchanged."""
    if is_grey(image):
        return image.copy(), masks.copy()
    return _blend(_grey_float(image)[..., None], image, factor), masks.copy()


@_functional
def sharpness(image, masks, factor):
    """Blend against the 3x3 PIL SMOOTH-filtered image: 0 = smoothed, 1 = unchanged,
    > 1 = sharpened."""
    img = image.astype(np.float32)
    smoothed = _cv_apply(lambda im: cv2.filter2D(im, -1, _SMOOTH_KERNEL,
                                                 borderType=cv2.BORDER_REFLECT_101), img)
    return _blend(smoothed, image, factor), masks.copy()


def _box(img, radius):
    if radius == 0:
        return img
    size = 2 * radius + 1
    return _cv_apply(lambda im: cv2.blur(im, (size, size), borderType=cv2.BORDER_REFLECT_101),
                     img)


@_functional
def smooth(image, masks, radius):
    """Box (mean) filter of ``radius`` px (size ``2 * radius + 1``); a fractional radius
    blends the two neighbouring odd box sizes. 0 = unchanged."""
    _require(radius >= 0, 'smooth', 'radius must be >= 0 px', radius)
    low = int(np.floor(radius))
    frac = radius - low
    img = image.astype(np.float32)
    out = _box(img, low)
    if frac > 0:
        out = (1 - frac) * out + frac * _box(img, low + 1)
    return _to_dtype(out, image), masks.copy()


@_functional
def gaussian_blur(image, masks, sigma):
    """Gaussian filter of standard deviation ``sigma`` px (reflected borders); 0 = unchanged."""
    _require(sigma >= 0, 'gaussian_blur', 'sigma must be >= 0 px', sigma)
    if sigma == 0:
        return image.copy(), masks.copy()
    img = image.astype(np.float32)
    out = _cv_apply(lambda im: cv2.GaussianBlur(im, (0, 0), sigmaX=sigma, sigmaY=sigma,
                                                borderType=cv2.BORDER_REFLECT_101), img)
    return _to_dtype(out, image), masks.copy()


@_functional
def gamma(image, masks, exponent):
    """``x' = max * (x / max) ** exponent`` (``exponent`` > 0; < 1 brightens, > 1 darkens)."""
    _require(exponent > 0, 'gamma', 'exponent must be > 0', exponent)
    top = dtype_max(image)
    lut = _lut_cast(top * (np.arange(top + 1, dtype=np.float64) / top) ** exponent, image.dtype)
    return lut[image], masks.copy()


@_functional
def gaussian_noise(image, masks, sigma, seed):
    """Add Gaussian noise of standard deviation ``sigma`` (intensity, dtype units) drawn from
    ``np.random.default_rng(seed)``; grey images get one field for all channels."""
    _require(sigma >= 0, 'gaussian_noise', 'sigma must be >= 0', sigma)
    if sigma == 0:
        return image.copy(), masks.copy()
    noise_rng = np.random.default_rng(seed)
    shape = image.shape[:2] + ((1,) if is_grey(image) else image.shape[2:])
    noise = noise_rng.normal(0.0, sigma, size=shape).astype(np.float32)
    if image.ndim == 2:
        noise = noise[..., 0]
    return _to_dtype(image.astype(np.float32) + noise, image), masks.copy()


@_functional
def cutout(image, masks, side, cx, cy):
    """Set a square of ``side`` px centred at ``(cx, cy)`` px (clipped to the image) to the
    ``background_value``, but only outside every mask; masks are unchanged."""
    side = operator.index(side)
    _require(side >= 0, 'cutout', 'side must be >= 0 px', side)
    h, w = image.shape[:2]
    out = image.copy()
    if side == 0:
        return out, masks.copy()
    x0, y0 = int(np.clip(round(cx - side / 2), 0, w)), int(np.clip(round(cy - side / 2), 0, h))
    x1, y1 = min(w, x0 + side), min(h, y0 + side)
    region = np.zeros((h, w), bool)
    region[y0:y1, x0:x1] = True
    region &= ~masks.any(axis=0)
    _channels(out)[region] = background_value(image, masks)
    return out, masks.copy()


# ------------------------------------------------------------------------ op table
def _sample_uv(rng):
    return {'u': float(rng.random()), 'v': float(rng.random())}


def _sample_seed(rng):
    return {'seed': int(rng.integers(0, 2 ** 31 - 1))}


def check_level(level, where='level'):
    """Raise if ``level`` is not an int in ``[0, N_LEVELS)``."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, np.integer)):
        raise TypeError(f'{where}: level must be an int, got {level!r}')
    if not 0 <= level < N_LEVELS:
        raise ValueError(f'{where}: level must be in [0, {N_LEVELS}), got {level}')


def _check_result(name, kind, image, masks, result):
    """Raise ``TypeError``/``ValueError`` naming op ``name`` if ``result`` breaks the op
    contract (an ``(image, masks)`` pair, same dtype/layout/instances, photometric: same size)."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f'op {name} must return an (image, masks) tuple, got '
                         f'{type(result).__name__}')
    out, out_masks = result
    check_pair(out, out_masks, f'op {name} output')
    if out.dtype != image.dtype or out.shape[2:] != image.shape[2:] or out.ndim != image.ndim:
        raise ValueError(f'op {name} changed the image layout {image.dtype} {image.shape} '
                         f'-> {out.dtype} {out.shape}')
    if len(out_masks) != len(masks):
        raise ValueError(f'op {name} changed the number of instances {len(masks)} -> '
                         f'{len(out_masks)}')
    if kind == PHOTOMETRIC and out.shape[:2] != image.shape[:2]:
        raise ValueError(f'photometric op {name} changed the image size {image.shape[:2]} '
                         f'-> {out.shape[:2]}')


@dataclass(frozen=True)
class Op:
    """One entry of the op table; see the module docstring for the built-in entries.

    Attributes:
        name: table key. kind: ``'geometric'`` or ``'photometric'``.
        fn: the functional op, ``fn(image, masks, *arguments) -> (image, masks)``.
        low, high: magnitude of level 0 and level ``N_LEVELS - 1`` (equal: no magnitude).
        unit: unit of the magnitude. symmetric: the sign is drawn at random.
        sample_extra: ``rng -> dict`` of further JSON-able draws (e.g. ``u``, ``v``, ``seed``).
        arguments: ``(image, params) -> tuple`` of ``fn``'s arguments from the drawn
            ``params``; None: ``(params['magnitude'],)``, or ``()`` without a magnitude.
    """

    name: str
    kind: str
    fn: Callable = field(repr=False)
    low: float = 0.0
    high: float = 0.0
    unit: str = ''
    symmetric: bool = False
    sample_extra: Callable = field(default=None, repr=False)
    arguments: Callable = field(default=None, repr=False)

    @property
    def has_magnitude(self):
        """False for ops whose level has no effect (flips, Invert, Identity)."""
        return self.low != self.high

    def magnitude(self, level):
        """Unsigned magnitude of an integer level in ``[0, N_LEVELS)``."""
        check_level(level, self.name)
        return self.low + (self.high - self.low) * int(level) / (N_LEVELS - 1)

    def sample(self, level, rng):
        """Draw the random decision for ``level``: a JSON-able params dict."""
        magnitude = self.magnitude(level)
        if self.symmetric and rng.random() < 0.5:
            magnitude = -magnitude
        params = {'magnitude': float(magnitude)}
        if self.sample_extra is not None:
            params.update(self.sample_extra(rng))
        return params

    def apply_params(self, image, masks, params, geometry=LEGACY):
        """Deterministically apply a decision drawn by ``sample``; returns new arrays.

        ``geometry`` (``'legacy'`` or ``'consistent'``, see the module docstring) reaches a
        geometric op's ``fn`` as a keyword only when it is not ``'legacy'``.
        """
        check_pair(image, masks, self.name)
        check_geometry(geometry, self.name)
        if self.arguments is not None:
            args = self.arguments(image, params)
        else:
            args = (params['magnitude'],) if self.has_magnitude else ()
        options = {'geometry': geometry} if self.kind == GEOMETRIC and geometry != LEGACY else {}
        result = self.fn(image, masks, *args, **options)
        _check_result(self.name, self.kind, image, masks, result)
        return result

    def apply(self, image, masks, level, rng, geometry=LEGACY):
        """Draw a decision from ``rng`` and apply it: ``(image, masks) -> (image, masks)``;
        the draws do not depend on ``geometry``."""
        return self.apply_params(image, masks, self.sample(level, rng), geometry)


OPS = {}


def register_op(name, fn, kind=PHOTOMETRIC, low=0.0, high=0.0, unit='', symmetric=False,
                sample_extra=None, arguments=None):
    """Add op ``name`` to the table ``OPS`` and return its ``Op``.

    ``fn(image, masks, *arguments) -> (image, masks)`` must be deterministic, leave its
    inputs unmodified and return new arrays: the image in the input's dtype and channel
    layout, masks ``(N, H', W')`` bool with the same instances in the same order, aligned
    with the output image (geometric ops) or unchanged (``kind='photometric'``, same size).
    Its randomness comes only from the drawn params: ``m`` (level mapped onto
    ``[low, high]``, sign drawn if ``symmetric``) and ``sample_extra(rng) -> dict`` of
    JSON-able numbers. By default ``fn`` gets ``m`` as its one argument (none if
    ``low == high``); ``arguments(image, params) -> tuple`` overrides this. The result is
    checked (dtype, layout, instance count) on every application. A geometric ``fn`` that
    supports ``geometry='consistent'`` takes it as a keyword ``geometry``; it is passed only
    when a caller asks for it (so a geometric ``fn`` without it works in legacy mode).

    Raises ``ValueError`` for a name already in the table and for a bad kind or range.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f'register_op: name must be a non-empty str, got {name!r}')
    if name in OPS:
        raise ValueError(f'register_op: an op named {name!r} is already registered')
    if not callable(fn):
        raise TypeError(f'register_op {name}: fn must be callable, got {fn!r}')
    if kind not in (GEOMETRIC, PHOTOMETRIC):
        raise ValueError(f'register_op {name}: kind must be {GEOMETRIC!r} or '
                         f'{PHOTOMETRIC!r}, got {kind!r}')
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f'register_op {name}: low and high must be finite, got {low}, {high}')
    OPS[name] = Op(name, kind, fn, float(low), float(high), unit, bool(symmetric),
                   sample_extra, arguments)
    return OPS[name]


def _fraction_px(fraction, length):
    """``round(fraction * length)`` as an int number of pixels."""
    return int(round(fraction * length))


def _factor(image, params):
    """``(1 + m,)``: the argument of the ops whose magnitude is ``factor - 1``."""
    return (1.0 + params['magnitude'],)


register_op('Identity', identity)
register_op('FlipLR', flip_lr, GEOMETRIC)
register_op('FlipUD', flip_ud, GEOMETRIC)
register_op('Rotate', rotate, GEOMETRIC, 0, 180, 'degrees', True)
register_op('ShearX', shear_x, GEOMETRIC, 0, 0.3, 'shear factor', True)
register_op('ShearY', shear_y, GEOMETRIC, 0, 0.3, 'shear factor', True)
register_op('TranslateX', translate_x, GEOMETRIC, 0, 0.3, 'fraction of width', True,
            arguments=lambda image, p: (_fraction_px(p['magnitude'], image.shape[1]),))
register_op('TranslateY', translate_y, GEOMETRIC, 0, 0.3, 'fraction of height', True,
            arguments=lambda image, p: (_fraction_px(p['magnitude'], image.shape[0]),))
register_op('Resize', resize, GEOMETRIC, 0, 0.5, 'scale - 1', True,
            arguments=_factor)
register_op('CropBilinear', crop_bilinear, GEOMETRIC, 0, 0.3, 'cropped fraction per side',
            sample_extra=_sample_uv,
            arguments=lambda image, p: (p['magnitude'], p['u'], p['v']))
register_op('AutoContrast', auto_contrast, PHOTOMETRIC, 0, 5, 'percent clipped per side')
register_op('Equalize', equalize, PHOTOMETRIC, 0.1, 1.0, 'blend weight')
register_op('Posterize', posterize, PHOTOMETRIC, 0, 0.75, 'fraction of bits cleared',
            arguments=lambda image, p: (_fraction_px(p['magnitude'], 8 * image.itemsize),))
register_op('Solarize', solarize, PHOTOMETRIC, 0, 1, 'fraction of range inverted',
            arguments=lambda image, p: ((1.0 - p['magnitude']) * (dtype_max(image) + 1),))
register_op('Invert', invert)
register_op('Contrast', contrast, PHOTOMETRIC, 0, 0.9, 'factor - 1', True,
            arguments=_factor)
register_op('Brightness', brightness, PHOTOMETRIC, 0, 0.9, 'factor - 1', True,
            arguments=_factor)
register_op('Color', color, PHOTOMETRIC, 0, 0.9, 'factor - 1', True,
            arguments=_factor)
register_op('Sharpness', sharpness, PHOTOMETRIC, 0, 0.9, 'factor - 1', True,
            arguments=_factor)
register_op('Smooth', smooth, PHOTOMETRIC, 0, 4.5, 'box radius px')
register_op('GaussianBlur', gaussian_blur, PHOTOMETRIC, 0, 3, 'sigma px')
register_op('Gamma', gamma, PHOTOMETRIC, 0, 1, 'log2 gamma', True,
            arguments=lambda image, p: (2.0 ** p['magnitude'],))
register_op('GaussianNoise', gaussian_noise, PHOTOMETRIC, 0, 0.1, 'sigma / image range',
            sample_extra=_sample_seed,
            arguments=lambda image, p: (
                p['magnitude'] * float(int(image.max()) - int(image.min())), p['seed']))
register_op('Cutout', cutout, PHOTOMETRIC, 0, 0.5, 'side / min(H, W)', sample_extra=_sample_uv,
            arguments=lambda image, p: (_fraction_px(p['magnitude'], min(image.shape[:2])),
                                        p['u'] * image.shape[1], p['v'] * image.shape[0]))

# Paper Table S1 (the IAAA selection).
TABLE_S1_OPS = ('FlipLR', 'FlipUD', 'AutoContrast', 'Equalize', 'Rotate', 'Posterize',
                'Contrast', 'Brightness', 'Sharpness', 'Smooth', 'Resize')
# Default search space: Table S1 plus the Fig. S11 / illumination ops that change a tight
# object crop (Translate, CropBilinear and Cutout are no-ops there, Identity is a baseline).
DEFAULT_SEARCH_OPS = TABLE_S1_OPS + ('ShearX', 'ShearY', 'Solarize', 'Invert', 'Color',
                                     'Gamma', 'GaussianNoise', 'GaussianBlur')


def get_op(name):
    """Return ``OPS[name]`` or raise ``KeyError`` listing the known ops."""
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f'unknown augmentation op {name!r}; known ops: {sorted(OPS)}') from None


def apply_op(name, image, masks, level, rng, geometry=LEGACY):
    """Table form: ``OPS[name].apply(image, masks, level, rng, geometry)`` (``level`` ->
    magnitude)."""
    return get_op(name).apply(image, masks, level, rng, geometry)
