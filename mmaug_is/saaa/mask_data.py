"""Canonical SCO training data for the SAAA models, and image/tensor conversions.

Every single-cell object (SCO) is mapped to a square ``S x S`` canonical frame by a
similarity transform: the centre of its box goes to the frame centre and its longer box
side is scaled to ``fill * S`` px. The mask is resampled (bilinear, threshold 0.5); the
image window is resampled from the full image with the same transform, so each canonical
crop shows the cell in its real surroundings. With ``context='clean'`` the surroundings
come from the image with all cells removed (``mmaug_is.core.background.remove_cells``),
so neighbours never appear in Pix2Pix targets. The real box size ``(h, w)`` in px is kept
per cell so generated cells can be restored to a real scale. ``background_style`` is the
appearance code of a clean background and ``image_style`` that code followed by the
statistics of the image's real cells (conditioned Pix2Pix; ``condition_style`` picks one
by the model's condition): the same functions give the training code of each SCO (its
source image) and, at generation, the code of the background a new cell is pasted on
(with the cells of the real image that background came from).
"""
import logging
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.ndimage as ndi
import torch
from tqdm import tqdm

from mmaug_is.core.io import load_coco_instances, read_image
from mmaug_is.core.objects import extract_objects
from mmaug_is.core.style import STYLE_STATS, cell_statistics, channel_statistics

CONTEXTS = ('clean', 'raw')
# Appearance codes of the conditioned Pix2Pix and the parts each is made of; every part is
# ``len(STYLE_STATS)`` statistics per channel (``core.style.channel_statistics``).
STYLE_PARTS = {'background_style': ('background', ),
               'image_style': ('background', 'cells')}
LOGGER = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- formats
@dataclass(frozen=True)
class ImageFormat:
    """dtype and channel count of a dataset's images (1 channel = 2-D ``(H, W)`` arrays)."""
    dtype: str
    channels: int

    @classmethod
    def of(cls, image):
        image = np.asarray(image)
        if image.dtype not in (np.uint8, np.uint16):
            raise ValueError(f'images must be uint8 or uint16, got {image.dtype}')
        channels = 1 if image.ndim == 2 else image.shape[2]
        if channels not in (1, 3):
            raise ValueError(f'images must have 1 or 3 channels, got shape {image.shape}')
        return cls(np.dtype(image.dtype).name, channels)

    @property
    def max_value(self):
        return float(np.iinfo(np.dtype(self.dtype)).max)

    def describe(self):
        """E.g. ``'uint8 grey'`` or ``'uint16 RGB'``."""
        return f'{self.dtype} {"grey" if self.channels == 1 else "RGB"}'


def images_to_tensor(images, fmt: ImageFormat):
    """``(N, S, S[, C])`` uint8/uint16 -> float32 tensor ``(N, C, S, S)`` in [-1, 1]."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.shape[-1] != fmt.channels:
        raise ValueError(f'expected {fmt.channels} channels, got array {arr.shape}')
    arr = arr / fmt.max_value * 2.0 - 1.0
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))


def tensor_to_images(tensor, fmt: ImageFormat):
    """Float tensor ``(N, C, S, S)`` in [-1, 1] -> ``(N, S, S[, C])`` array of ``fmt.dtype``."""
    arr = tensor.detach().cpu().float().numpy().transpose(0, 2, 3, 1)
    arr = np.rint((np.clip(arr, -1.0, 1.0) + 1.0) / 2.0 * fmt.max_value)
    arr = arr.astype(fmt.dtype)
    return arr[..., 0] if fmt.channels == 1 else arr


def background_style(background, fmt=None):
    """Appearance code of a clean (cell-free) background image, in the models' [-1, 1] scale.

    Args:
        background: ``(H, W[, C])`` uint8/uint16, e.g. a ``core.remove_cells`` output.
        fmt: its ``ImageFormat`` (default: read from the array).
    Returns:
        ``(len(STYLE_STATS) * C,)`` float32: per channel the mean, standard deviation,
        10th and 90th percentile of the pixels scaled as ``images_to_tensor`` scales them,
        ordered ``[mean_0..mean_C-1, std_0.., p10_0.., p90_0..]``.
    """
    background = np.asarray(background)
    fmt = fmt or ImageFormat.of(background)
    if ImageFormat.of(background) != fmt:
        raise ValueError(f'background is {ImageFormat.of(background).describe()}, expected '
                         f'{fmt.describe()}')
    return channel_statistics(background)


def image_style(background, cell_stats, fmt=None):
    """Appearance code of a source image: ``background_style(background)`` followed by
    ``cell_stats``, the statistics of the image's real cells.

    Args:
        background: the image's clean background (as for ``background_style``).
        cell_stats: ``core.style.cell_statistics(image, masks)`` of the real image the
            background was made from and all its cell masks (``(len(STYLE_STATS) * C,)``;
            ``RealAssets.cell_stats`` holds it per background).
        fmt: the images' ``ImageFormat`` (default: read from ``background``).
    Returns ``(2 * len(STYLE_STATS) * C,)`` float32. Raises ``ValueError`` when
    ``cell_stats`` is missing, mis-shaped or NaN (an image without cells).
    """
    style = background_style(background, fmt)
    if cell_stats is None:
        raise ValueError('image_style needs the statistics of the real cells of the '
                         "background's image (core.style.cell_statistics)")
    cell_stats = np.asarray(cell_stats, dtype=np.float32)
    if cell_stats.shape != style.shape:
        raise ValueError(f'cell statistics have shape {cell_stats.shape}, expected '
                         f'{style.shape}')
    if not np.isfinite(cell_stats).all():
        raise ValueError('cell statistics are NaN: the image has no cell pixels')
    return np.concatenate([style, cell_stats])


def style_dim(condition, channels):
    """Length of the appearance code of ``condition`` for ``channels`` channels (0: none)."""
    return len(STYLE_PARTS.get(condition, ())) * len(STYLE_STATS) * channels


def condition_style(condition, background, cell_stats=None, fmt=None):
    """The code a Pix2Pix model of ``condition`` takes for cells on ``background``:
    ``background_style`` or ``image_style`` (``cell_stats`` needed), None for ``'none'``."""
    if condition == 'none':
        return None
    if condition == 'background_style':
        return background_style(background, fmt)
    if condition == 'image_style':
        return image_style(background, cell_stats, fmt)
    raise ValueError(f'unknown condition {condition!r}')


def masks_to_tensor(masks):
    """``(N, S, S)`` bool -> float32 tensor ``(N, 1, S, S)`` with values in {-1, 1}."""
    arr = np.asarray(masks, dtype=np.float32) * 2.0 - 1.0
    return torch.from_numpy(np.ascontiguousarray(arr[:, None]))


def dihedral(arrays, k):
    """Apply the ``k``-th (0..7) of the 8 square symmetries to axes 1, 2 of each array."""
    out = []
    for arr in arrays:
        arr = np.rot90(arr, k % 4, axes=(1, 2))
        out.append(np.ascontiguousarray(arr[:, :, ::-1] if k >= 4 else arr))
    return out


# ------------------------------------------------------------------------ canonical frame
def canonical_transform(bbox_xyxy, size, fill):
    """2x3 affine matrix mapping image px to the canonical frame of a box (x2/y2 exclusive)."""
    x1, y1, x2, y2 = (float(v) for v in bbox_xyxy)
    scale = fill * size / max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2 - 1) / 2.0, (y1 + y2 - 1) / 2.0
    centre = (size - 1) / 2.0
    return np.array([[scale, 0.0, centre - scale * cx],
                     [0.0, scale, centre - scale * cy]])


def warp_mask(mask, matrix, size):
    """Resample a bool mask with ``matrix`` into ``size x size`` (bilinear, threshold 0.5)."""
    warped = cv2.warpAffine(mask.astype(np.float32), matrix, (size, size),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return warped >= 0.5


def warp_image(image, matrix, size):
    """Resample an image window with ``matrix`` (bilinear; reflect beyond the image)."""
    scale = matrix[0, 0]
    flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    if flags == cv2.INTER_AREA:  # warpAffine has no area filter: pre-blur to avoid aliasing
        sigma = 0.5 / scale
        image = cv2.GaussianBlur(image, (0, 0), sigma)
        flags = cv2.INTER_LINEAR
    return cv2.warpAffine(image, matrix, (size, size), flags=flags,
                          borderMode=cv2.BORDER_REFLECT_101)


def restore_scale(canonical_mask, long_side, canonical_image=None):
    """Resize a canonical cell so its mask box's longer side becomes ``long_side`` px.

    The mask's tight box (and the same box of the image) is resized to
    ``round(h * k) x round(w * k)`` with ``k = long_side / max(h, w)``; the mask is
    resampled bilinearly (and, when enlarged more than 1.5x, smoothed with a Gaussian of
    ``0.4 k`` px against pixel staircases) and thresholded at 0.5, so the final tight box
    can be 1 px smaller than requested.

    Args:
        canonical_mask: ``(S, S)`` bool. long_side: target size in px (>= 1).
        canonical_image: optional ``(S, S[, C])`` image resampled with the mask.
    Returns:
        ``(mask (h, w) bool, image (h, w[, C]) or None)``: the tight box of the resized mask.
    """
    ys, xs = np.nonzero(canonical_mask)
    if ys.size == 0:
        raise ValueError('restore_scale: the canonical mask is empty')
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    scale = float(long_side) / float(max(h, w))
    new_h, new_w = max(int(round(h * scale)), 1), max(int(round(w * scale)), 1)
    mask = cv2.resize(canonical_mask[box].astype(np.float32), (new_w, new_h),
                      interpolation=cv2.INTER_LINEAR)
    if scale > 1.5:  # enlarging: smooth the pixel staircase of the small canonical mask
        mask = cv2.GaussianBlur(mask, (0, 0), 0.4 * scale, borderType=cv2.BORDER_CONSTANT)
    mask = mask >= 0.5
    if not mask.any():  # tiny targets: keep at least the centre pixel of the shape
        mask[new_h // 2, new_w // 2] = True
    mask = _largest_component(mask)
    ys, xs = np.nonzero(mask)
    tight = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    image = None
    if canonical_image is not None:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(np.ascontiguousarray(canonical_image[box]), (new_w, new_h),
                           interpolation=interp)
        image = np.ascontiguousarray(image.reshape((new_h, new_w) + image.shape[2:])[tight])
    return np.ascontiguousarray(mask[tight]), image


def visible_part(mask, image, level):
    """The pixels of a painted cell that show: ``mask`` where the cell differs from the
    background ``level`` by at least half its contrast.

    Args:
        mask: ``(h, w)`` bool cell mask. image: ``(h, w[, C])`` painted cell crop.
        level: background level, scalar or per channel ``(C,)`` (grey levels).
    Contrast is the median over ``mask`` of the channel-mean ``|image - level|`` (the rule
    of ``benchmarks/bench_edge_fidelity.py``). Returns ``(h, w)`` bool: the hole-filled
    largest 8-connected part of the shown pixels, or ``mask`` itself when no pixel of it
    differs from ``level`` (a cell that does not show at all).
    """
    diff = np.abs(image.astype(np.float32) - np.asarray(level, np.float32))
    diff = diff if diff.ndim == 2 else diff.mean(axis=2)
    shown = mask & (diff > np.median(diff[mask]) / 2)
    if not shown.any():
        return mask
    return ndi.binary_fill_holes(_largest_component(shown))


def _single_shape(mask, min_component):
    """Hole-filled largest 8-connected part of a crop mask, cut to its box.

    Returns ``(mask, (dy, dx) offset of the new box in the crop)``, or ``(None, None)``
    when the largest part holds less than ``min_component`` of the mask's pixels (an
    annotation split into several cells or fragments, which is no single-cell shape).
    """
    main = _largest_component(mask)
    if main.sum() < min_component * mask.sum():
        return None, None
    ys, xs = np.nonzero(main)
    y0, x0 = ys.min(), xs.min()
    main = ndi.binary_fill_holes(main[y0:ys.max() + 1, x0:xs.max() + 1])
    return main, (int(y0), int(x0))


def _largest_component(mask):
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    if n <= 1:
        return mask
    return labels == (int(np.argmax(np.bincount(labels.ravel())[1:])) + 1)


# ------------------------------------------------------------------------------ dataset
@dataclass
class SCODataset:
    """Canonical SCO masks (and optionally image windows) with their real sizes.

    Attributes:
        masks: ``(N, S, S)`` bool canonical masks.
        images: ``(N, S, S[, C])`` canonical windows (dtype of the data) or None.
        sizes: ``(N, 2)`` int real box ``(h, w)`` in px.
        sources: ``N`` strings ``'<file_name>#<ann_id>'`` (provenance).
        fmt: ``ImageFormat`` of the source images.
        fill: fraction of ``S`` taken by the longer mask side.
        styles: optional ``(N, D)`` float32 appearance codes of each SCO's source image
            (conditioned Pix2Pix only): ``background_style`` of its clean background, or
            ``image_style`` (that and the statistics of all the image's real cells).
    """
    masks: np.ndarray
    images: np.ndarray
    sizes: np.ndarray
    sources: list
    fmt: ImageFormat
    fill: float
    styles: np.ndarray = None

    def __len__(self):
        return len(self.masks)

    @property
    def size(self):
        return self.masks.shape[1]

    @property
    def canonical_areas(self):
        """``(N,)`` mask areas in canonical px."""
        return self.masks.reshape(len(self.masks), -1).sum(axis=1)


def _clean_background(image, masks, seed):
    from mmaug_is.core.background import remove_cells

    return remove_cells(image, masks, np.random.default_rng(seed))


def _cached_background(image, masks, seed, clean_cache):
    """The image's clean background, computed once per image (``clean_cache``)."""
    if 'bg' not in clean_cache:
        clean_cache['bg'] = _clean_background(image, masks, seed)
    return clean_cache['bg']


def _context_image(image, masks, own, context, seed, clean_cache):
    """The image window source for one SCO: raw image, or own cell over a clean background."""
    if context == 'raw':
        return image
    background = _cached_background(image, masks, seed, clean_cache)
    alpha = cv2.GaussianBlur(ndi.binary_dilation(own, iterations=2).astype(np.float32),
                             (0, 0), 1.0)
    alpha = alpha[..., None] if image.ndim == 3 else alpha
    blended = alpha * image.astype(np.float32) + (1 - alpha) * background.astype(np.float32)
    return np.rint(blended).astype(image.dtype)


def build_sco_dataset(ann_file, img_dir, size=64, fill=0.75, min_side=4, min_area=12,
                      min_component=0.9, with_images=True, context='clean', seed=0,
                      progress=True, with_styles=False, style='background_style'):
    """Extract every SCO (single-cell object; MCOs are left out) of a COCO dataset into a
    canonical ``SCODataset``.

    Args:
        ann_file, img_dir: COCO instance file and image folder.
        size: canonical side S (px). fill: fraction of S given to the longer mask side.
        min_side, min_area: SCOs with a shorter longer-side (px) or fewer pixels are
            skipped (they are too small to carry a shape).
        min_component: SCOs whose largest connected part holds less than this fraction
            of the mask are skipped; smaller specks are dropped and holes filled.
        with_images: also build the image windows (needed by Pix2Pix only).
        context: ``'clean'`` (neighbours removed) or ``'raw'`` (image as is).
        seed: seed of the cell-removal randomness (``context='clean'``).
        with_styles: also store each SCO's appearance code (``styles``), of the kind
            ``style`` names: ``'background_style'`` of its image's clean background (the
            same one ``context='clean'`` uses; with ``'raw'`` it is computed for this
            alone), or ``'image_style'``: that followed by the ``cell_statistics`` of
            all the image's annotated cells.
    Raises:
        ValueError: no SCO, no usable SCO, mixed image formats (naming the first image
            of each format), bad arguments.
    """
    if context not in CONTEXTS:
        raise ValueError(f'context must be one of {CONTEXTS}, got {context!r}')
    if not 0.2 <= fill <= 0.95:
        raise ValueError(f'fill must be in [0.2, 0.95], got {fill}')
    if with_styles and style not in STYLE_PARTS:
        raise ValueError(f'style must be one of {tuple(STYLE_PARTS)}, got {style!r}')
    records = load_coco_instances(ann_file, img_dir)
    masks, images, sizes, sources, fmt, first_path = [], [], [], [], None, None
    styles = []
    n_fragmented = n_scos = 0
    for index, record in enumerate(tqdm(records, desc='canonical SCOs', disable=not progress)):
        image = read_image(record.path)
        this_fmt = ImageFormat.of(image)
        if fmt is None:
            fmt, first_path = this_fmt, record.path
        elif this_fmt != fmt:
            raise ValueError(f'{ann_file}: image {record.path} is {this_fmt.describe()} but '
                             f'the first image {first_path} is {fmt.describe()}; SAAA needs '
                             'one dtype/channel layout')
        all_masks, clean_cache = None, {}
        for obj in extract_objects(record, image):
            if obj.kind != 'sco':
                continue
            n_scos += 1
            mask, offset = _single_shape(obj.masks[0], min_component)
            if mask is None:
                n_fragmented += 1
                continue
            h, w = mask.shape
            if max(h, w) < min_side or mask.sum() < min_area:
                continue
            matrix = canonical_transform((0, 0, w, h), size, fill)
            canon = warp_mask(mask, matrix, size)
            if not canon.any():
                continue
            masks.append(canon)
            sizes.append((h, w))
            sources.append(f'{record.file_name}#{obj.ann_ids[0] if obj.ann_ids else "?"}')
            if all_masks is None and (with_images or with_styles):
                all_masks = record.masks
            if with_styles:
                if 'style' not in clean_cache:
                    clean_cache['style'] = condition_style(
                        style, _cached_background(image, all_masks, seed + index, clean_cache),
                        cell_statistics(image, all_masks) if style == 'image_style' else None,
                        fmt)
                styles.append(clean_cache['style'])
            if with_images:
                x1 = int(obj.bbox_xyxy[0]) + offset[1]
                y1 = int(obj.bbox_xyxy[1]) + offset[0]
                own = np.zeros(image.shape[:2], bool)
                own[y1:y1 + h, x1:x1 + w] = mask
                src = _context_image(image, all_masks, own, context, seed + index, clean_cache)
                images.append(warp_image(src, canonical_transform((x1, y1, x1 + w, y1 + h),
                                                                  size, fill), size))
    if n_fragmented:
        LOGGER.info('%s: skipped %d SCOs whose mask is split into several parts',
                    ann_file, n_fragmented)
    if not n_scos:
        raise ValueError(f'{ann_file}: the source has no single-cell objects (SCOs: cells '
                         'clear of the image border that touch no other cell); SAAA learns '
                         'cell shapes from them')
    if not masks:
        raise ValueError(f'{ann_file}: no single-cell object with longer side >= {min_side} px '
                         f'and area >= {min_area} px')
    return SCODataset(np.stack(masks), np.stack(images) if with_images else None,
                      np.asarray(sizes, dtype=np.int64), sources, fmt, float(fill),
                      np.stack(styles) if with_styles else None)


# ------------------------------------------------------------------------- real sizes
@dataclass
class SizeDistribution:
    """Empirical real SCO sizes; ``sample_long_side`` draws the px size of a new cell."""
    sizes: np.ndarray  # (N, 2) int (h, w) px

    def __post_init__(self):
        self.sizes = np.asarray(self.sizes, dtype=np.int64).reshape(-1, 2)
        if len(self.sizes) == 0 or (self.sizes <= 0).any():
            raise ValueError('SizeDistribution needs at least one positive (h, w) size')

    def sample_long_side(self, rng, n):
        """``(n,)`` int longer sides (px) drawn with replacement from the real cells."""
        idx = rng.integers(0, len(self.sizes), size=n)
        return self.sizes[idx].max(axis=1)

    def to_list(self):
        return self.sizes.tolist()
