"""Policy score: realistic augmented objects that are not copies of their sources.

The WAE reconstructs best exactly the objects it was trained on, so "closest to the
original data" alone is maximised by the identity policy. The score therefore measures
realism as the *increase* of two WAE distances caused by the policy on objects the WAE has
never seen, and requires a minimum change. Objects are split three ways
(``split_objects``): the WAE trains on ``train``; policies are applied to a fixed held-out
evaluation sample ``x_1..x_K``; a second held-out set ``r_1..r_M`` is the real reference.
For a policy ``A``:

* reconstruction excess ``E = max(0, mean_i e(A(x_i)) / mean_i e(x_i) - 1)``, where ``e`` is
  the WAE's mean squared reconstruction error per pixel: unreal objects reconstruct worse
  than unseen real ones. Being easier to reconstruct (e.g. darker) earns nothing.
* latent MMD excess ``D = MMD^2(Z_A, Z_r) - MMD^2(Z_x, Z_r)`` with the WAE's unbiased
  IMQ-kernel MMD between the latent codes of the augmented sample ``Z_A``, the reference
  ``Z_r`` and the unaugmented sample ``Z_x``: how much the policy moves the sample away
  from (D > 0) or towards (D < 0) the real distribution. It is signed, so it also ranks
  the many policies that are realistic enough to reach the change cap.
* change ``c = mean_i ||z(A(x_i)) - z(x_i)|| / d_r`` where ``d_r`` is the median distance
  from a reference code to its nearest other reference code (the typical gap between two
  distinct real cells).

* edge loss ``G = max(0, 1 - s(A) / s(x))``: the WAE sees only masked crops and cannot
  judge a cell's edge, and a blurred crop reconstructs well, so without this term blur
  scores as a realistic change. ``s`` is the mean, over the sample, of the gradient
  magnitude on the cell outline (``edge_sharpness``, contrast-normalised): blurring
  lowers it; sharpening earns nothing.

``score = w_change * min(1, c / c_min) - w_rec * E - w_mmd * D - w_edge * G`` (higher is
better). The identity and every probability-0 policy have ``c = E = D = G = 0`` and score
exactly 0; a policy that changes objects by at least ``c_min`` typical cell gaps without
leaving the real distribution or softening the cell outlines scores about ``w_change``.
"""
import json
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch

from mmaug_is.synth.hashing import bytes_digest

from .wae import as_pair, embed, imq_mmd, model_fingerprint, objects_to_array


@dataclass(frozen=True)
class ScoreConfig:
    """Weights of the score (see module docstring).

    Attributes:
        min_change: ``c_min``, change in units of the typical real nearest-neighbour gap.
        change_weight: ``w_change``. recon_weight: ``w_rec``. mmd_weight: ``w_mmd``.
        edge_weight: ``w_edge`` (``0``: the score before the edge term).
        batch_size: crops per WAE forward pass.
    """

    min_change: float = 0.5
    change_weight: float = 1.0
    recon_weight: float = 2.0
    mmd_weight: float = 10.0
    edge_weight: float = 2.0
    batch_size: int = 256

    def __post_init__(self):
        if self.min_change <= 0:
            raise ValueError(f'ScoreConfig.min_change must be > 0, got {self.min_change}')
        if min(self.change_weight, self.recon_weight, self.mmd_weight, self.edge_weight) < 0:
            raise ValueError('ScoreConfig weights must be >= 0')


@dataclass(frozen=True)
class PolicyScore:
    """A policy's score and its terms (all floats; see the module docstring)."""

    score: float
    recon_ratio: float
    recon_excess: float
    mmd: float
    mmd_excess: float
    change: float
    edge_ratio: float
    edge_loss: float

    def to_dict(self):
        """Plain dict of the fields."""
        return asdict(self)


class PolicyScorer:
    """Scores policies with a trained WAE on a fixed evaluation sample.

    Args:
        model: trained ``WAE`` (its config gives crop size and channels).
        eval_objects: objects (``CellObject`` or ``(image, masks)``) the policies are applied
            to; the same sample is used for every candidate. Not used to train the WAE.
        ref_objects: real reference objects (at least 2), not used to train the WAE.
        config: ``ScoreConfig``.
    """

    def __init__(self, model, eval_objects, ref_objects, config=ScoreConfig()):
        self.model = model.eval()
        self.config = config
        self.crop_size = model.config.crop_size
        self.channels = model.config.in_channels
        self.eval_pairs = [as_pair(o) for o in eval_objects]
        if len(self.eval_pairs) < 2 or len(ref_objects) < 2:
            raise ValueError(f'PolicyScorer needs >= 2 evaluation and >= 2 reference objects, '
                             f'got {len(self.eval_pairs)} and {len(ref_objects)}')
        ref = objects_to_array(ref_objects, self.crop_size, self.channels)
        src = objects_to_array(self.eval_pairs, self.crop_size, self.channels)
        self.z_ref, _ = embed(model, ref, config.batch_size)
        self.z_src, err_src = embed(model, src, config.batch_size)
        self.err_src = float(err_src.mean())
        self.sharpness_src = mean_edge_sharpness(self.eval_pairs)
        dist = torch.cdist(self.z_ref, self.z_ref)
        dist.fill_diagonal_(float('inf'))
        self.gap_ref = float(dist.min(dim=1).values.median())
        self.mmd_base = float(self._mmd(self.z_src))
        self.fingerprint = bytes_digest(model_fingerprint(model).encode(),
                                        json.dumps(asdict(config), sort_keys=True).encode(),
                                        np.ascontiguousarray(ref), np.ascontiguousarray(src))

    def _mmd(self, z):
        return imq_mmd(z, self.z_ref, self.model.config.prior_var)

    def augment(self, policy, rng):
        """Apply ``policy`` to every evaluation object with ``rng``: ``[(image, masks)]``."""
        return [policy.apply(image, masks, rng) for image, masks in self.eval_pairs]

    @torch.no_grad()
    def score(self, policy, rng):
        """Score ``policy`` (random decisions from ``rng``); returns ``PolicyScore``."""
        augmented_pairs = self.augment(policy, rng)
        augmented = objects_to_array(augmented_pairs, self.crop_size, self.channels)
        z_aug, err = embed(self.model, augmented, self.config.batch_size)
        ratio = float(err.mean()) / max(self.err_src, 1e-12)
        mmd = float(self._mmd(z_aug))
        change = float((z_aug - self.z_src).norm(dim=1).mean()) / max(self.gap_ref, 1e-12)
        recon_excess = max(0.0, ratio - 1.0)
        mmd_excess = mmd - self.mmd_base
        edge_ratio = mean_edge_sharpness(augmented_pairs) / max(self.sharpness_src, 1e-12)
        edge_loss = max(0.0, 1.0 - edge_ratio)
        cfg = self.config
        score = (cfg.change_weight * min(1.0, change / cfg.min_change)
                 - cfg.recon_weight * recon_excess - cfg.mmd_weight * mmd_excess
                 - cfg.edge_weight * edge_loss)
        return PolicyScore(float(score), ratio, recon_excess, mmd, mmd_excess, change,
                           edge_ratio, edge_loss)


def edge_sharpness(image, masks):
    """How sharp an object's outline is: the mean Sobel gradient magnitude on the outline
    of the union of ``masks`` (``(N, H, W)`` bool; a 3 px band: dilation minus erosion),
    divided by the standard deviation of the grey image (``(H, W[, C])`` uint), so that
    contrast changes cancel. Returns a float >= 0; ``0`` when there is no outline or the
    image is flat."""
    grey = image.astype(np.float32)
    grey = grey.mean(axis=2) if grey.ndim == 3 else grey
    union = masks.any(axis=0).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    band = (cv2.dilate(union, kernel) - cv2.erode(union, kernel)).astype(bool)
    spread = float(grey.std())
    if not band.any() or spread < 1e-6:
        return 0.0
    magnitude = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3),
                         cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    return float(magnitude[band].mean()) / spread


def mean_edge_sharpness(pairs):
    """``edge_sharpness`` averaged over ``(image, masks)`` pairs (float)."""
    return float(np.mean([edge_sharpness(image, masks) for image, masks in pairs]))


def split_objects(objects, n_eval, n_ref, seed):
    """Seeded disjoint split of objects into ``(train, eval_sample, ref)``.

    ``eval_sample`` (``n_eval`` objects, the policies' inputs) and ``ref`` (``n_ref``, the
    real reference) are both held out from WAE training; ``train`` is the rest, in input
    order. Raises ``ValueError`` if fewer than 2 objects would remain for any part.
    """
    n = len(objects)
    if n_ref < 2 or n_eval < 2 or n - n_ref - n_eval < 2:
        raise ValueError(f'cannot split {n} objects into {n_eval} evaluation, {n_ref} reference '
                         'and >= 2 WAE training objects (need >= 2 in each part)')
    order = np.random.default_rng(np.random.SeedSequence([seed, 1])).permutation(n)
    eval_sample = [objects[i] for i in np.sort(order[:n_eval])]
    ref = [objects[i] for i in np.sort(order[n_eval:n_eval + n_ref])]
    train = [objects[i] for i in np.sort(order[n_eval + n_ref:])]
    return train, eval_sample, ref
