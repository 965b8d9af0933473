"""Fréchet Inception Distance (FID) and Kernel Inception Distance (KID) on feature arrays.

Inputs are feature matrices ``(N, D)`` (one row per image, e.g. the 2048-d Inception pool
features of ``features.InceptionFeatureExtractor``); all statistics are computed in float64.

* FID (Heusel et al. 2017): ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` with the
  sample means and the unbiased (``ddof=1``) covariances. The matrix square root is
  ``scipy.linalg.sqrtm``; if it is not finite or has a noticeable imaginary part,
  ``eps * I`` is added to both covariances and it is retried, and tiny imaginary parts are
  dropped. When ``N_a + N_b - 2 < D`` (fewer images than feature dimensions) both covariances
  live in the span of the centred samples; they are expressed in an orthonormal basis of
  that span first. This is exact (the traces and the spectrum of ``S_a S_b`` are unchanged)
  and turns a 2048x2048 ``sqrtm`` into an ``r x r`` one.
* KID (Bińkowski et al. 2018): the unbiased estimator of the squared MMD with the cubic
  polynomial kernel ``k(x, y) = (x.y / D + 1)^3``, averaged over ``n_subsets`` random subsets
  of ``subset_size`` rows drawn without replacement from each set (seeded). KID can be
  slightly negative when the two distributions are equal.
"""
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import scipy.linalg

# A diagonal imaginary part of sqrtm larger than this (relative to max(1, |trace|)) is an error.
IMAG_TOLERANCE = 1e-3
# Below this many rows the feature matrices are too small for a covariance.
MIN_ROWS = 2


def _as_features(feats, name):
    """Validate a feature matrix and return it as float64 ``(N, D)``."""
    arr = np.asarray(feats)
    if arr.ndim != 2:
        raise ValueError(f'{name}: features must be a 2-D (N, D) array, got shape {arr.shape}')
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f'{name}: features must be real numbers, got dtype {arr.dtype}')
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f'{name}: row {bad} holds NaN or infinite features')
    return arr


def _check_pair(feats_a, feats_b, min_rows):
    a, b = _as_features(feats_a, 'feats_a'), _as_features(feats_b, 'feats_b')
    if a.shape[1] != b.shape[1]:
        raise ValueError(f'feature dimensions differ: feats_a has {a.shape[1]}, '
                         f'feats_b has {b.shape[1]}')
    for name, arr in (('feats_a', a), ('feats_b', b)):
        if len(arr) < min_rows:
            raise ValueError(f'{name}: needs at least {min_rows} rows, got {len(arr)}')
    return a, b


def feature_stats(feats):
    """Return ``(mu (D,), sigma (D, D))``: the mean and unbiased covariance of ``(N, D)`` rows."""
    arr = _as_features(feats, 'feats')
    if len(arr) < MIN_ROWS:
        raise ValueError(f'feats: needs at least {MIN_ROWS} rows for a covariance, got {len(arr)}')
    return arr.mean(axis=0), np.atleast_2d(np.cov(arr, rowvar=False))


def _sqrtm_trace(sigma1, sigma2, eps):
    """``tr((sigma1 sigma2)^(1/2))`` via scipy's sqrtm, retrying with ``eps * I`` if needed."""
    def attempt(s1, s2):
        with warnings.catch_warnings():
            # Singular covariances are normal (fewer images than dimensions); the result
            # is checked below instead.
            warnings.simplefilter('ignore', scipy.linalg.LinAlgWarning)
            root = scipy.linalg.sqrtm(s1 @ s2)
        if not np.isfinite(root).all():
            return None
        trace = np.trace(root)
        if np.iscomplexobj(root):
            imag = np.abs(np.diagonal(root).imag).max()
            if imag > IMAG_TOLERANCE * max(1.0, abs(trace.real)):
                return None
        return float(trace.real)

    trace = attempt(sigma1, sigma2)
    if trace is None:
        offset = eps * np.eye(len(sigma1))
        trace = attempt(sigma1 + offset, sigma2 + offset)
    if trace is None:
        raise ValueError('FID: the matrix square root of sigma1 @ sigma2 stays non-finite or '
                         f'complex even with eps={eps} added to the diagonals; the features '
                         'are degenerate')
    return trace


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Fréchet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1, mu2: ``(D,)`` means. sigma1, sigma2: ``(D, D)`` symmetric PSD covariances.
        eps: diagonal offset used only if the plain matrix square root fails.
    Returns the distance (squared feature units) as a float; values of about
    ``-1e-9 * trace`` may occur for identical inputs (rounding).
    """
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    dim = mu1.shape[0]
    if mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(f'shape mismatch: mu1 {mu1.shape}, mu2 {mu2.shape}, '
                         f'sigma1 {sigma1.shape}, sigma2 {sigma2.shape}')
    diff = mu1 - mu2
    covmean_trace = _sqrtm_trace(sigma1, sigma2, eps)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * covmean_trace)


def fid(feats_a, feats_b, eps=1e-6):
    """FID between two feature sets ``(N_a, D)`` and ``(N_b, D)``, each with >= 2 rows.

    When ``N_a + N_b - 2 < D`` the covariances are first written in an orthonormal basis
    of the span of the centred samples (exact; see the module docstring).
    """
    a, b = _check_pair(feats_a, feats_b, MIN_ROWS)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    ca, cb = a - mu_a, b - mu_b
    if len(a) + len(b) - 2 < a.shape[1]:
        stacked = np.concatenate([ca, cb])
        _, sv, vt = np.linalg.svd(stacked, full_matrices=False)
        keep = sv > sv.max() * max(stacked.shape) * np.finfo(np.float64).eps
        basis = vt[keep].T  # (D, r), orthonormal columns spanning every centred row
        ca, cb = ca @ basis, cb @ basis
    sigma_a = np.atleast_2d(ca.T @ ca / (len(a) - 1))
    sigma_b = np.atleast_2d(cb.T @ cb / (len(b) - 1))
    diff = mu_a - mu_b
    if sigma_a.size == 0:  # both sets are constant: only the means differ
        return float(diff @ diff)
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b)
                 - 2.0 * _sqrtm_trace(sigma_a, sigma_b, eps))


@dataclass(frozen=True)
class KIDResult:
    """KID estimate: mean and standard deviation over subsets of the unbiased MMD^2."""

    mean: float
    std: float
    n_subsets: int
    subset_size: int

    def to_dict(self):
        """Plain-dict form (JSON-serialisable)."""
        return asdict(self)


def polynomial_kernel(x, y):
    """Cubic polynomial kernel matrix ``(x @ y.T / D + 1) ** 3`` of ``(n, D)``, ``(m, D)`` rows."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(k_xx, k_yy, k_xy):
    """Unbiased MMD^2 from kernel matrices of two samples of equal size ``m`` (Gretton 2012, eq. 3).

    The within-sample means leave out the diagonal; the cross term averages all ``m^2`` pairs.
    """
    m = k_xx.shape[0]
    off_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    off_yy = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(off_xx + off_yy - 2.0 * k_xy.mean())


def kid(feats_a, feats_b, n_subsets=100, subset_size=1000, seed=0, max_gram_elements=2 ** 25):
    """KID between two feature sets (Bińkowski et al. 2018).

    Args:
        feats_a, feats_b: ``(N_a, D)``, ``(N_b, D)`` features, at least 2 rows each.
        n_subsets: number of random subset pairs averaged.
        subset_size: rows per subset; capped at ``min(N_a, N_b)``.
        seed: seed of the ``np.random.Generator`` that draws the subsets.
        max_gram_elements: if the three full kernel matrices hold at most this many
            numbers in total, they are computed once and the subsets index into them
            (same values, far faster); otherwise each subset computes its own kernels.
    Returns a ``KIDResult`` (``std`` is the standard deviation over the subsets).
    """
    a, b = _check_pair(feats_a, feats_b, MIN_ROWS)
    if n_subsets < 1:
        raise ValueError(f'n_subsets must be >= 1, got {n_subsets}')
    if subset_size < MIN_ROWS:
        raise ValueError(f'subset_size must be >= {MIN_ROWS}, got {subset_size}')
    m = min(int(subset_size), len(a), len(b))
    rng = np.random.default_rng(seed)
    n_elements = len(a) ** 2 + len(b) ** 2 + len(a) * len(b)
    grams = None
    if n_elements <= max_gram_elements:
        grams = polynomial_kernel(a, a), polynomial_kernel(b, b), polynomial_kernel(a, b)
    values = np.empty(n_subsets)
    for i in range(n_subsets):
        ia = rng.choice(len(a), m, replace=False)
        ib = rng.choice(len(b), m, replace=False)
        if grams is not None:
            k_aa, k_bb, k_ab = grams
            values[i] = mmd2_unbiased(k_aa[np.ix_(ia, ia)], k_bb[np.ix_(ib, ib)],
                                      k_ab[np.ix_(ia, ib)])
        else:
            x, y = a[ia], b[ib]
            values[i] = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(y, y),
                                      polynomial_kernel(x, y))
    return KIDResult(float(values.mean()), float(values.std()), int(n_subsets), int(m))
