"""Augmentation operations acting on an image and its instance masks together.

Every op takes ``image`` (``(H, W)`` or ``(H, W, C)``, C = 1 or 3, uint8 or uint16) and
``masks`` (``(N, H, W)`` bool) and returns a new ``(image, masks)`` pair in the same dtype
and channel layout. Geometric ops move image and masks with the same transform (image:
bilinear; masks: nearest neighbour, so they stay binary and disjoint masks stay disjoint);
rotations, shears and translations enlarge the canvas so nothing is cut, and the new
canvas area gets the crop's background level (median outside the masks), so no cell
intensities are smeared outwards and no dark corners appear on bright backgrounds.
Photometric ops never change the masks.

An op's strength is an integer ``level`` in ``[0, N_LEVELS)`` mapped linearly onto the
op's magnitude range ``[low, high]``: ``magnitude = low + (high - low) * level /
(N_LEVELS - 1)``. For symmetric ops the sign of the magnitude is drawn from the ``rng``
(50/50), e.g. Rotate level 9 turns by +180 or -180 degrees.

============= =========== ============ ==== ===============================================
op            kind        magnitude    sign meaning
============= =========== ============ ==== ===============================================
Identity      photometric --                no change (a baseline for the policy search)
FlipLR        geometric   --                mirror left-right (``np.fliplr``)
FlipUD        geometric   --                mirror up-down (``np.flipud``)
Rotate        geometric   0 .. 180 deg  +-  counter-clockwise rotation, canvas enlarged
ShearX        geometric   0 .. 0.3      +-  x' = x + s * y, canvas enlarged
ShearY        geometric   0 .. 0.3      +-  y' = y + s * x, canvas enlarged
TranslateX    geometric   0 .. 0.3      +-  shift by m * W px; the canvas grows by the
                                            shift, so nothing is cut
TranslateY    geometric   0 .. 0.3      +-  shift by m * H px, likewise
Resize        geometric   0 .. 0.5      +-  scale factor 1 + m (0.5x .. 1.5x)
CropBilinear  geometric   0 .. 0.3          crop a random window of (1 - m) of each side,
                                            enlarged to contain every mask, and resize it
                                            back bilinearly
AutoContrast  photometric 0 .. 5 %          stretch the [m, 100 - m] percentiles of each
                                            channel to the full dtype range
Equalize      photometric 0.1 .. 1          blend weight of the histogram-equalised image
                                            (PIL rule on 256 or 65536 bins)
Posterize     photometric 0 .. 0.75         clear the round(m * bits) low bits
                                            (uint8: 0..6 bits, uint16: 0..12 bits)
Solarize      photometric 0 .. 1            invert pixels >= (1 - m) * (max + 1)
Invert        photometric --                max - x
Contrast      photometric 0 .. 0.9      +-  factor 1 + m around the mean grey level
Brightness    photometric 0 .. 0.9      +-  multiply by 1 + m
Color         photometric 0 .. 0.9      +-  saturation factor 1 + m (identity on grey)
Sharpness     photometric 0 .. 0.9      +-  factor 1 + m against the 3x3 PIL
                                            SMOOTH-filtered image
Smooth        photometric 0 .. 4.5 px       box (mean) filter radius; fractional radii blend
                                            the two neighbouring odd box sizes
GaussianBlur  photometric 0 .. 3 px         Gaussian sigma
Gamma         photometric 0 .. 1        +-  x' = max * (x / max) ** (2 ** m)  (0.5 .. 2)
GaussianNoise photometric 0 .. 0.1          sigma = m * (max - min of the image); one
                                            noise field for all channels of grey images
Cutout        photometric 0 .. 0.5          square of side m * min(H, W) set to the
                                            background median; only outside every mask
============= =========== ============ ==== ===============================================

Mask-safety decisions (instance ground truth must stay true):

* **Cutout** fills only background pixels (outside every instance mask). Erasing a cell's
  pixels while keeping its mask would label empty background as a cell, and cutting the
  mask too would create cells with holes that do not exist in microscopy data.
* **TranslateX/Y** and **CropBilinear** never cut an instance: a cut cell in the middle of
  a synthetic image is a partial cell with no biological counterpart. On a tight object
  crop (the usual IAAA input) Translate only pads the canvas and CropBilinear has no mask-free
  margin to remove, so both are (near) no-ops there; the policy search then scores them as
  "no change". They act on full images with background margins.
* An instance that vanishes under nearest-neighbour resampling (possible only for 1-2 px
  fragments at strong downscaling) keeps the single pixel at its mapped centroid, so the
  number of instances never changes and no mask is empty.

Randomness: ``Op.sample(level, rng)`` draws the random decision (sign, positions, noise
seed) into a small JSON-able ``params`` dict; ``Op.apply_params`` is deterministic, so a
recorded decision replays exactly. ``Op.apply`` does both.
"""
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

N_LEVELS = 10

GEOMETRIC = 'geometric'
PHOTOMETRIC = 'photometric'
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


def _warp_affine(image, masks, matrix, size):
    """Warp image (bilinear) and masks (nearest) by a 2x3 matrix; ``size`` = ``(width, height)``.

    New canvas area is filled with the image's background level (``background_value``).
    """
    matrix = np.asarray(matrix, np.float64)
    fill = tuple(float(v) for v in background_value(image, masks))
    out = _cv_apply(lambda im: cv2.warpAffine(im, matrix, size, flags=cv2.INTER_LINEAR,
                                               borderMode=cv2.BORDER_CONSTANT,
                                               borderValue=fill), image)
    out_masks = _labels_resample(masks, lambda lab: cv2.warpAffine(
        lab, matrix, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
        borderValue=0))
    return out, _keep_vanished(masks, out_masks, lambda x, y: matrix[:, :2] @ (x, y) + matrix[:, 2])


def _affine_enlarged(image, masks, linear):
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
    return _warp_affine(image, masks, matrix, (int(size[0]), int(size[1])))


def _resize_pair(image, masks, width, height):
    """Resize image (area when shrinking, bilinear otherwise) and masks (exact nearest)."""
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    out = _cv_apply(lambda im: cv2.resize(im, (width, height), interpolation=interp), image)
    out_masks = _labels_resample(masks, lambda lab: cv2.resize(
        lab, (width, height), interpolation=cv2.INTER_NEAREST_EXACT))
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


# ------------------------------------------------------------------- geometric ops
def _identity(image, masks, p):
    return image.copy(), masks.copy()


def _flip_lr(image, masks, p):
    return np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(masks[:, :, ::-1])


def _flip_ud(image, masks, p):
    return np.ascontiguousarray(image[::-1]), np.ascontiguousarray(masks[:, ::-1])


def _rotate(image, masks, p):
    theta = np.deg2rad(p['magnitude'])
    c, s = np.cos(theta), np.sin(theta)
    # Counter-clockwise on screen (y axis points down), like cv2.getRotationMatrix2D.
    return _affine_enlarged(image, masks, [[c, s], [-s, c]])


def _shear_x(image, masks, p):
    return _affine_enlarged(image, masks, [[1.0, p['magnitude']], [0.0, 1.0]])


def _shear_y(image, masks, p):
    return _affine_enlarged(image, masks, [[1.0, 0.0], [p['magnitude'], 1.0]])


def _translate(image, masks, shift, axis):
    """Shift by ``shift`` px along ``axis`` (1 = x, 0 = y) on a canvas grown by ``|shift|``."""
    if shift == 0:
        return image.copy(), masks.copy()
    before, after = (shift, 0) if shift > 0 else (0, -shift)
    shape = list(image.shape)
    shape[axis] += abs(shift)
    out = np.empty(shape, image.dtype)
    _channels(out)[...] = background_value(image, masks)
    index = [slice(None)] * image.ndim
    index[axis] = slice(before, before + image.shape[axis])
    out[tuple(index)] = image
    mpad = [(0, 0)] * 3
    mpad[axis + 1] = (before, after)
    return out, np.pad(masks, mpad, mode='constant', constant_values=False)


def _translate_x(image, masks, p):
    return _translate(image, masks, int(round(p['magnitude'] * image.shape[1])), axis=1)


def _translate_y(image, masks, p):
    return _translate(image, masks, int(round(p['magnitude'] * image.shape[0])), axis=0)


def _resize(image, masks, p):
    scale = 1.0 + p['magnitude']
    h, w = image.shape[:2]
    width, height = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    if (width, height) == (w, h):
        return image.copy(), masks.copy()
    return _resize_pair(image, masks, width, height)


def _crop_window(length, keep_lo, keep_hi, window, u):
    """Start of a window of ``window`` px in ``[0, length)`` that contains [keep_lo, keep_hi)."""
    window = max(window, keep_hi - keep_lo)
    start_lo, start_hi = max(0, keep_hi - window), min(keep_lo, length - window)
    return int(round(start_lo + u * (start_hi - start_lo))), window


def _crop_bilinear(image, masks, p):
    h, w = image.shape[:2]
    union = masks.any(axis=0)
    if union.any():
        ys, xs = np.nonzero(union.any(axis=1))[0], np.nonzero(union.any(axis=0))[0]
        ky, kx = (ys[0], ys[-1] + 1), (xs[0], xs[-1] + 1)
    else:
        ky, kx = (h, 0), (w, 0)  # no instance: any window is allowed
    rel = 1.0 - p['magnitude']
    x0, win_w = _crop_window(w, kx[0], kx[1], max(1, int(round(rel * w))), p['u'])
    y0, win_h = _crop_window(h, ky[0], ky[1], max(1, int(round(rel * h))), p['v'])
    if (win_w, win_h) == (w, h):
        return image.copy(), masks.copy()
    crop, crop_masks = image[y0:y0 + win_h, x0:x0 + win_w], masks[:, y0:y0 + win_h, x0:x0 + win_w]
    out = _cv_apply(lambda im: cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR), crop)
    out_masks = _labels_resample(crop_masks, lambda lab: cv2.resize(
        lab, (w, h), interpolation=cv2.INTER_NEAREST_EXACT))
    sx, sy = w / win_w, h / win_h
    return out, _keep_vanished(crop_masks, out_masks,
                               lambda x, y: ((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5))


# ----------------------------------------------------------------- photometric ops
def _auto_contrast(image, masks, p):
    top = dtype_max(image)
    chans = _channels(image)
    values = np.arange(top + 1, dtype=np.float32)
    luts = []
    for c in range(chans.shape[2]):
        lo, hi = np.percentile(chans[..., c], [p['magnitude'], 100.0 - p['magnitude']])
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


def _equalize(image, masks, p):
    top = dtype_max(image)
    chans = _channels(image)
    luts = np.stack([_equalize_lut(chans[..., c], top) for c in range(chans.shape[2])])
    equalised = _lut_apply(image, luts).astype(np.float32)
    alpha = p['magnitude']
    return _to_dtype((1 - alpha) * image.astype(np.float32) + alpha * equalised, image), \
        masks.copy()


def _posterize(image, masks, p):
    bits = 8 * image.dtype.itemsize
    drop = int(round(p['magnitude'] * bits))
    keep = np.array(~((1 << drop) - 1) & dtype_max(image), image.dtype)
    return image & keep, masks.copy()


def _solarize(image, masks, p):
    top = dtype_max(image)
    threshold = (1.0 - p['magnitude']) * (top + 1)
    return np.where(image >= threshold, top - image, image).astype(image.dtype), masks.copy()


def _invert(image, masks, p):
    return (dtype_max(image) - image).astype(image.dtype), masks.copy()


def _contrast(image, masks, p):
    mean = float(_grey_float(image).mean())
    return _blend(np.float32(mean), image, 1.0 + p['magnitude']), masks.copy()


def _brightness(image, masks, p):
    return _to_dtype(image.astype(np.float32) * (1.0 + p['magnitude']), image), masks.copy()


def _color(image, masks, p):
    if is_grey(image):
        return image.copy(), masks.copy()
    return _blend(_grey_float(image)[..., None], image, 1.0 + p['magnitude']), masks.copy()


def _sharpness(image, masks, p):
    img = image.astype(np.float32)
    smooth = _cv_apply(lambda im: cv2.filter2D(im, -1, _SMOOTH_KERNEL,
                                               borderType=cv2.BORDER_REFLECT_101), img)
    return _blend(smooth, image, 1.0 + p['magnitude']), masks.copy()


def _box(img, radius):
    if radius == 0:
        return img
    size = 2 * radius + 1
    return _cv_apply(lambda im: cv2.blur(im, (size, size), borderType=cv2.BORDER_REFLECT_101),
                     img)


def _smooth(image, masks, p):
    radius = p['magnitude']
    low = int(np.floor(radius))
    frac = radius - low
    img = image.astype(np.float32)
    out = _box(img, low)
    if frac > 0:
        out = (1 - frac) * out + frac * _box(img, low + 1)
    return _to_dtype(out, image), masks.copy()


def _gaussian_blur(image, masks, p):
    sigma = p['magnitude']
    if sigma <= 0:
        return image.copy(), masks.copy()
    img = image.astype(np.float32)
    out = _cv_apply(lambda im: cv2.GaussianBlur(im, (0, 0), sigmaX=sigma, sigmaY=sigma,
                                                borderType=cv2.BORDER_REFLECT_101), img)
    return _to_dtype(out, image), masks.copy()


def _gamma(image, masks, p):
    top = dtype_max(image)
    gamma = 2.0 ** p['magnitude']
    lut = _lut_cast(top * (np.arange(top + 1, dtype=np.float64) / top) ** gamma, image.dtype)
    return lut[image], masks.copy()


def _gaussian_noise(image, masks, p):
    sigma = p['magnitude'] * float(int(image.max()) - int(image.min()))
    if sigma <= 0:
        return image.copy(), masks.copy()
    noise_rng = np.random.default_rng(p['seed'])
    shape = image.shape[:2] + ((1,) if is_grey(image) else image.shape[2:])
    noise = noise_rng.normal(0.0, sigma, size=shape).astype(np.float32)
    if image.ndim == 2:
        noise = noise[..., 0]
    return _to_dtype(image.astype(np.float32) + noise, image), masks.copy()


def _cutout(image, masks, p):
    h, w = image.shape[:2]
    side = int(round(p['magnitude'] * min(h, w)))
    out = image.copy()
    if side == 0:
        return out, masks.copy()
    cx, cy = p['u'] * w, p['v'] * h
    x0, y0 = int(np.clip(round(cx - side / 2), 0, w)), int(np.clip(round(cy - side / 2), 0, h))
    x1, y1 = min(w, x0 + side), min(h, y0 + side)
    background = ~masks.any(axis=0)
    chans = _channels(out)
    fill = (np.median(chans[background], axis=0) if background.any()
            else np.zeros(chans.shape[2]))
    region = np.zeros((h, w), bool)
    region[y0:y1, x0:x1] = True
    region &= background
    chans[region] = np.rint(fill).astype(image.dtype)
    return out, masks.copy()


# --------------------------------------------------------------------- op registry
def _sample_uv(rng):
    return {'u': float(rng.random()), 'v': float(rng.random())}


def _sample_seed(rng):
    return {'seed': int(rng.integers(0, 2 ** 31 - 1))}


@dataclass(frozen=True)
class Op:
    """One augmentation operation; see the module docstring for the magnitude table.

    Attributes:
        name: registry key. kind: ``'geometric'`` or ``'photometric'``.
        low, high: magnitude of level 0 and level ``N_LEVELS - 1`` (equal: no magnitude).
        unit: unit of the magnitude. symmetric: the sign is drawn at random.
    """

    name: str
    kind: str
    fn: Callable = field(repr=False)
    low: float = 0.0
    high: float = 0.0
    unit: str = ''
    symmetric: bool = False
    sample_extra: Callable = field(default=None, repr=False)

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

    def apply_params(self, image, masks, params):
        """Deterministically apply a decision drawn by ``sample``; returns new arrays."""
        check_pair(image, masks, self.name)
        return self.fn(image, masks, params)

    def apply(self, image, masks, level, rng):
        """Draw a decision from ``rng`` and apply it: ``(image, masks) -> (image, masks)``."""
        return self.apply_params(image, masks, self.sample(level, rng))


def check_level(level, where='level'):
    """Raise if ``level`` is not an int in ``[0, N_LEVELS)``."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, np.integer)):
        raise TypeError(f'{where}: level must be an int, got {level!r}')
    if not 0 <= level < N_LEVELS:
        raise ValueError(f'{where}: level must be in [0, {N_LEVELS}), got {level}')


def _op(name, kind, fn, low=0.0, high=0.0, unit='', symmetric=False, sample_extra=None):
    return Op(name, kind, fn, float(low), float(high), unit, symmetric, sample_extra)


OPS = {op.name: op for op in [
    _op('Identity', PHOTOMETRIC, _identity),
    _op('FlipLR', GEOMETRIC, _flip_lr),
    _op('FlipUD', GEOMETRIC, _flip_ud),
    _op('Rotate', GEOMETRIC, _rotate, 0, 180, 'degrees', True),
    _op('ShearX', GEOMETRIC, _shear_x, 0, 0.3, 'shear factor', True),
    _op('ShearY', GEOMETRIC, _shear_y, 0, 0.3, 'shear factor', True),
    _op('TranslateX', GEOMETRIC, _translate_x, 0, 0.3, 'fraction of width', True),
    _op('TranslateY', GEOMETRIC, _translate_y, 0, 0.3, 'fraction of height', True),
    _op('Resize', GEOMETRIC, _resize, 0, 0.5, 'scale - 1', True),
    _op('CropBilinear', GEOMETRIC, _crop_bilinear, 0, 0.3, 'cropped fraction per side',
        sample_extra=_sample_uv),
    _op('AutoContrast', PHOTOMETRIC, _auto_contrast, 0, 5, 'percent clipped per side'),
    _op('Equalize', PHOTOMETRIC, _equalize, 0.1, 1.0, 'blend weight'),
    _op('Posterize', PHOTOMETRIC, _posterize, 0, 0.75, 'fraction of bits cleared'),
    _op('Solarize', PHOTOMETRIC, _solarize, 0, 1, 'fraction of range inverted'),
    _op('Invert', PHOTOMETRIC, _invert),
    _op('Contrast', PHOTOMETRIC, _contrast, 0, 0.9, 'factor - 1', True),
    _op('Brightness', PHOTOMETRIC, _brightness, 0, 0.9, 'factor - 1', True),
    _op('Color', PHOTOMETRIC, _color, 0, 0.9, 'factor - 1', True),
    _op('Sharpness', PHOTOMETRIC, _sharpness, 0, 0.9, 'factor - 1', True),
    _op('Smooth', PHOTOMETRIC, _smooth, 0, 4.5, 'box radius px'),
    _op('GaussianBlur', PHOTOMETRIC, _gaussian_blur, 0, 3, 'sigma px'),
    _op('Gamma', PHOTOMETRIC, _gamma, 0, 1, 'log2 gamma', True),
    _op('GaussianNoise', PHOTOMETRIC, _gaussian_noise, 0, 0.1, 'sigma / image range',
        sample_extra=_sample_seed),
    _op('Cutout', PHOTOMETRIC, _cutout, 0, 0.5, 'side / min(H, W)', sample_extra=_sample_uv),
]}

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


def apply_op(name, image, masks, level, rng):
    """Functional form: ``OPS[name].apply(image, masks, level, rng)``."""
    return get_op(name).apply(image, masks, level, rng)
