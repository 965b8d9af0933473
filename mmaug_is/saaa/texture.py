"""Cell texture matched to real cells (beyond the paper): grain for Pix2Pix cells.

Pix2Pix cells trained on a few hundred small crops come out smooth: on ``dsb2018_fluo``
their fine-scale variation is a third to a half of real nuclei's, whose chromatin and
camera noise give them grain at every brightness. Inception features see it
(benchmarks/results/fid_kid_fluo_saaa_texture.md). ``CellTexture`` fits, on the real SCOs,
how strong that variation is in spatial frequency bands as a function of a cell's
brightness, and adds to each painted cell the part it lacks, as smoothed Gaussian noise
(matching a texture's energy per band).

Bands: ``BAND_SIGMAS`` (1 px): the one band ``grey - G(1 px)``, ``G(s)`` a Gaussian blur and
``grey`` the channel mean in the image's own units; a second, coarser band (``G(1) -
G(3)``, noise smoothed at 2 px) was measured and gave the same FID, so it is left out. A
cell's *grain* is the standard deviation of each band over its mask eroded by 1 px. The
fitted model is linear per band: ``grain = offset + slope * mean grey``.
"""
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import nnls

BAND_SIGMAS = (1.0, )  # px: band k = G(BAND_SIGMAS[k - 1]) - G(BAND_SIGMAS[k]), G(0) = id
NOISE_SIGMAS = (0.7, )  # px, the smoothing of the white-noise field(s) added, one per band
MIN_PIXELS = 9  # eroded-mask pixels a cell needs to count in a fit


def grey_mean(image):
    """``(h, w)`` float32 channel mean of an ``(h, w[, C])`` image, in its own units."""
    image = np.asarray(image, dtype=np.float32)
    return image.mean(axis=2) if image.ndim == 3 else image


def _bands(grey, border=cv2.BORDER_REFLECT_101):
    """The band images of ``grey`` (float), fine to coarse."""
    levels = [grey] + [cv2.GaussianBlur(grey, (0, 0), s, borderType=border)
                       for s in BAND_SIGMAS]
    return [finer - coarser for finer, coarser in zip(levels[:-1], levels[1:])]


def mask_core(mask):
    """The mask eroded by 1 px (3x3; outside the array counts as background), or the mask
    itself when that leaves too little."""
    mask = np.asarray(mask, dtype=bool)
    core = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8),
                     borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return core if core.sum() >= MIN_PIXELS else mask


def cell_grain(image, mask):
    """``(mean grey, (n_bands,) grain)`` of one cell: ``image`` ``(h, w[, C])``, ``mask``
    ``(h, w)`` bool; in the image's units (channel mean). Raises ``ValueError`` for an
    empty mask."""
    grey = grey_mean(image)
    core = mask_core(mask)
    if not core.any():
        raise ValueError('cell_grain: the cell mask is empty')
    return float(grey[core].mean()), np.array([band[core].std() for band in _bands(grey)])


def _band_variances():
    """``(n_bands, n_noises)``: variance of band i of unit white noise smoothed by
    ``NOISE_SIGMAS[j]`` (kernel norms)."""
    delta = np.zeros((81, 81), np.float64)
    delta[40, 40] = 1.0
    columns = []
    for sigma in NOISE_SIGMAS:
        kernel = cv2.GaussianBlur(delta, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
        columns.append([(band ** 2).sum() for band in _bands(kernel, cv2.BORDER_CONSTANT)])
    return np.array(columns).T


BAND_VARIANCES = _band_variances()


@dataclass(frozen=True)
class CellTexture:
    """Grain model ``grain_k = offsets[k] + slopes[k] * mean grey`` (image units) of real
    cells, one per band. ``n_cells``: how many real cells the fit used (provenance)."""

    offsets: tuple
    slopes: tuple
    n_cells: int = 0

    def __post_init__(self):
        for name in ('offsets', 'slopes'):
            values = tuple(float(v) for v in getattr(self, name))
            if len(values) != len(BAND_SIGMAS):
                raise ValueError(f'CellTexture: {name} needs {len(BAND_SIGMAS)} values (one '
                                 f'per band), got {values}')
            object.__setattr__(self, name, values)

    @classmethod
    def fit(cls, objects):
        """Least-squares fit on real SCOs (``CellObject``s with one mask each, e.g.
        ``ObjectBank.scos``). Raises ``ValueError`` with fewer than 2 usable cells."""
        points = [cell_grain(obj.image, obj.masks[0]) for obj in objects
                  if obj.masks[0].sum() >= MIN_PIXELS]
        if len(points) < 2:
            raise ValueError(f'CellTexture.fit needs at least 2 real cells of >= {MIN_PIXELS} '
                             f'px, got {len(points)}')
        means = np.array([mean for mean, _ in points])
        grains = np.stack([grain for _, grain in points])
        design = np.stack([np.ones_like(means), means], axis=1)
        (offsets, slopes) = np.linalg.lstsq(design, grains, rcond=None)[0]
        return cls(tuple(offsets), tuple(slopes), len(points))

    @classmethod
    def from_dict(cls, values):
        missing = {'offsets', 'slopes'} - set(values)
        unknown = set(values) - {'offsets', 'slopes', 'n_cells'}
        if missing or unknown:
            raise ValueError(f'CellTexture: missing {sorted(missing)}, unknown '
                             f'{sorted(unknown)} in {values!r}')
        return cls(**values)

    def to_dict(self):
        return dict(offsets=list(self.offsets), slopes=list(self.slopes),
                    n_cells=self.n_cells)

    def target(self, mean_grey):
        """``(n_bands,)`` real cells' grain at ``mean_grey`` (never below 0)."""
        return np.maximum(np.add(self.offsets, np.multiply(self.slopes, float(mean_grey))), 0)

    def apply(self, image, mask, rng):
        """``image`` ``(h, w[, C])`` uint8/uint16 with the grain it lacks added inside
        ``mask`` ``(h, w)`` bool (the same noise in every channel; the band variances
        missing are matched by non-negative least squares, so a cell already as grainy as
        real cells of its brightness is left as it is). ``rng``: numpy ``Generator`` (one
        ``(h, w)`` normal draw per noise field). Returns a new array of the image's dtype."""
        image = np.asarray(image)
        mean, grain = cell_grain(image, mask)
        fields = rng.standard_normal((len(NOISE_SIGMAS),) + mask.shape).astype(np.float32)
        missing = np.maximum(self.target(mean) ** 2 - grain ** 2, 0.0)
        amplitudes = np.sqrt(nnls(BAND_VARIANCES, missing)[0])
        if not amplitudes.any():
            return image.copy()
        noise = sum(np.float32(a) * cv2.GaussianBlur(field, (0, 0), sigma)
                    for a, field, sigma in zip(amplitudes, fields, NOISE_SIGMAS))
        noise[~np.asarray(mask, bool)] = 0.0
        if image.ndim == 3:
            noise = noise[..., None]
        limit = np.iinfo(image.dtype).max
        return np.clip(np.rint(image + noise), 0, limit).astype(image.dtype)


TEXTURE_FROM_REAL = 'real'  # the ``texture`` option that fits a CellTexture on real SCOs


def resolve_texture(spec, bank):
    """A ``texture`` option -> ``CellTexture`` or None.

    ``spec``: None (no grain added: the paper), ``'real'`` (fit on ``bank.scos``, the real
    SCOs of the source, an ``ObjectBank``), a ``CellTexture`` or its ``to_dict()``.
    Raises ``ValueError`` for anything else."""
    if spec is None or isinstance(spec, CellTexture):
        return spec
    if spec == TEXTURE_FROM_REAL:
        return CellTexture.fit(bank.scos)
    if isinstance(spec, dict):
        return CellTexture.from_dict(spec)
    raise ValueError(f"texture must be None, {TEXTURE_FROM_REAL!r}, a CellTexture or its dict, "
                     f'got {spec!r}')
