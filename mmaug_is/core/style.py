"""Image style: which real images look alike (stain, illumination), from their backgrounds.

Heterogeneous sets (e.g. grey brightfield tiles beside purple H&E sections) make
unrealistic images when a cell of one kind is pasted on a background of the other. A
style descriptor per real image lets a generator keep cells on backgrounds of images that
look like the cell's own source image. ``channel_statistics`` / ``cell_statistics`` give
the appearance codes of SAAA's conditioned Pix2Pix (``saaa.mask_data.image_style``): the
pixel statistics of a background, and of an image's real cells.
"""
import cv2
import numpy as np
from scipy.spatial.distance import cdist


def style_descriptor(background, where=None):
    """Colour statistics of one (cell-free) background image.

    Args:
        background: ``(H, W)`` or ``(H, W, C)`` uint8/uint16 image (RGB order when C = 3).
        where: optional ``(H, W)`` bool map of the pixels to use (e.g. outside the cells
            of an image that still has them); all pixels when ``None`` or empty.
    Returns ``(6,)`` float64: mean and standard deviation of CIE L*a*b* (L in 0..100,
    a/b roughly -128..127) over those pixels. Grey images (1 channel, or 3 equal
    channels) have a = b = 0; other channel counts use the mean channel as grey.
    """
    image = np.asarray(background)
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'background dtype must be uint8 or uint16, got {image.dtype}')
    scaled = image.astype(np.float32) / np.iinfo(image.dtype).max
    if scaled.ndim == 3 and scaled.shape[2] == 3:
        lab = cv2.cvtColor(scaled, cv2.COLOR_RGB2LAB)
    else:
        grey = scaled.mean(axis=2) if scaled.ndim == 3 else scaled
        lab = cv2.cvtColor(np.repeat(grey[..., None], 3, axis=2), cv2.COLOR_RGB2LAB)
    pixels = lab.reshape(-1, 3).astype(np.float64)
    if where is not None and np.any(where):
        pixels = pixels[np.asarray(where, dtype=bool).reshape(-1)]
    return np.concatenate([pixels.mean(axis=0), pixels.std(axis=0)])


def style_neighbours(descriptors, k):
    """The ``k`` images of most similar style to each image, itself first.

    Args:
        descriptors: ``(N, D)`` style descriptors (``style_descriptor``).
        k: neighbours per image, ``1 <= k``; clipped to ``N``.
    Returns ``(N, min(k, N))`` int64 image indices sorted by Euclidean distance (ties by
    index, so the result is deterministic); column 0 is the image itself.
    """
    descriptors = np.asarray(descriptors, dtype=np.float64)
    if descriptors.ndim != 2 or len(descriptors) == 0:
        raise ValueError(f'need (N, D) descriptors with N >= 1, got {descriptors.shape}')
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    distances = cdist(descriptors, descriptors)  # (N, N) Euclidean
    np.fill_diagonal(distances, -1.0)  # itself first, even among identical descriptors
    order = np.argsort(distances, axis=1, kind='stable')
    return order[:, :min(k, len(descriptors))]


def rank_by_style(query, descriptors):
    """``(N,)`` int64 indices of ``descriptors`` by Euclidean distance to ``query`` (ties
    by index)."""
    distances = np.linalg.norm(np.asarray(descriptors, np.float64) - query, axis=1)
    return np.argsort(distances, kind='stable')


def style_bank(bank, ranked_sources, k):
    """The objects of ``bank`` cut from the first ``k`` image names of ``ranked_sources``.

    Widens past ``k`` until the named images hold an object (e.g. when the nearest images
    only have cells on their border). Returns an ``ObjectBank``; raises ``ValueError`` if
    no object comes from any of ``ranked_sources``.
    """
    for n in range(min(max(int(k), 1), len(ranked_sources)), len(ranked_sources) + 1):
        names = set(ranked_sources[:n])
        subset = bank.subset(lambda obj: obj.source in names)
        if len(subset):
            return subset
    raise ValueError(f'no object of {bank} comes from the {len(ranked_sources)} ranked images')


# Per-channel statistics of an appearance code (``channel_statistics``), in this order.
STYLE_STATS = ('mean', 'std', 'p10', 'p90')
# Version of the ``cell_statistics`` definition (caches of it record it).
CELL_STATS_VERSION = 1


def channel_statistics(image, where=None):
    """Per-channel pixel statistics of an image in [-1, 1] (0 -> -1, the dtype's max -> 1).

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` uint8/uint16 image.
        where: optional ``(H, W)`` bool map of the pixels to use; ``None``: all of them.
    Returns:
        ``(len(STYLE_STATS) * C,)`` float32 ordered stat-major, ``[mean_0..mean_C-1,
        std_0.., p10_0.., p90_0..]`` (C = 1 for 2-D images); all NaN when ``where`` holds
        no pixel.
    """
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'image dtype must be uint8 or uint16, got {image.dtype}')
    channels = 1 if image.ndim == 2 else image.shape[2]
    pixels = image.reshape(-1, channels)
    if where is not None:
        where = np.asarray(where, dtype=bool)
        if where.shape != image.shape[:2]:
            raise ValueError(f'where {where.shape} does not match the image {image.shape[:2]}')
        pixels = pixels[where.reshape(-1)]
        if not len(pixels):
            return np.full(len(STYLE_STATS) * channels, np.nan, np.float32)
    pixels = pixels.astype(np.float64) / np.iinfo(image.dtype).max * 2 - 1
    p10, p90 = np.percentile(pixels, [10, 90], axis=0)
    return np.concatenate([pixels.mean(axis=0), pixels.std(axis=0), p10, p90]).astype(
        np.float32)


def cell_statistics(image, masks):
    """``channel_statistics`` of the pixels of ``image`` inside any of its cell ``masks``
    (``(N, H, W)`` bool, e.g. ``ImageRecord.masks``): how bright and textured the image's
    real cells are. All NaN for an image without cell pixels."""
    masks = np.asarray(masks, dtype=bool)
    where = masks.any(axis=0) if len(masks) else np.zeros(np.shape(image)[:2], bool)
    return channel_statistics(image, where)
