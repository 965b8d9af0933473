"""What the in-pipeline paste transforms share (``IAAAPaste``, ``SAAAPaste``).

``PasteTransform`` draws whether and how many cells to paste into the current real image,
finds its annotated cells, and appends the pasted cells to the annotations; a subclass
only composes (``paste``). Randomness: one seed per call from numpy's global state, which
mmengine seeds per worker and epoch, so a training run is reproducible from its seed.
"""
import numbers
from abc import abstractmethod

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

from ..core import masks_to_boxes, style_descriptor


def loaded_style(image, where=None):
    """``core.style_descriptor`` of a pipeline image (BGR channel order when 3 channels)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        image = image[..., ::-1]
    return style_descriptor(image, where)


def existing_cells(results):
    """``(H, W)`` bool map of the annotated cells (masks if loaded, else their boxes)."""
    height, width = results['img'].shape[:2]
    masks = results.get('gt_masks')
    if masks is not None and len(masks):
        return np.asarray(masks.to_ndarray(), dtype=bool).any(axis=0)
    occupied = np.zeros((height, width), dtype=bool)
    boxes = results.get('gt_bboxes')
    if boxes is not None:
        for x1, y1, x2, y2 in np.asarray(boxes.tensor if hasattr(boxes, 'tensor') else boxes):
            occupied[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = True
    return occupied


def add_instances(results, composed, labels):
    """Put ``composed.image`` into ``results`` and append its cells (boxes from their masks,
    ``labels``, not ignored; masks when ``gt_masks`` is loaded)."""
    results['img'] = composed.image
    new_boxes = masks_to_boxes(composed.masks).astype(np.float32)
    results['gt_bboxes'] = results['gt_bboxes'].cat(
        [results['gt_bboxes'], HorizontalBoxes(new_boxes)])
    results['gt_bboxes_labels'] = np.concatenate(
        [results['gt_bboxes_labels'],
         np.asarray(labels, dtype=results['gt_bboxes_labels'].dtype)])
    results['gt_ignore_flags'] = np.concatenate(
        [results['gt_ignore_flags'], np.zeros(len(new_boxes), dtype=bool)])
    if results.get('gt_masks') is not None:
        height, width = composed.image.shape[:2]
        old = results['gt_masks'].to_ndarray().astype(np.uint8).reshape(-1, height, width)
        results['gt_masks'] = BitmapMasks(
            np.concatenate([old, composed.masks.astype(np.uint8)]), height, width)


class PasteTransform(BaseTransform):
    """Base of the transforms that paste new cells into the current real image.

    Required keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``.
    Modified keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``,
    ``gt_masks`` (when present; keep ``with_mask=True`` in ``LoadAnnotations`` so the
    pasted cells also avoid annotated cells pixel-exactly, not just their boxes).

    Args:
        max_cells: cells pasted per image are drawn uniformly from ``[1, max_cells]``.
        prob: probability of pasting anything into an image.
    A subclass sets ``cat2label`` (category id -> label) and implements ``paste``.
    """

    def __init__(self, max_cells, prob):
        name = type(self).__name__
        if not isinstance(max_cells, numbers.Integral) or isinstance(max_cells, bool) \
                or max_cells < 1:
            raise ValueError(f'{name}: max_cells must be >= 1 (an integer), got {max_cells!r}')
        if not isinstance(prob, numbers.Real) or not 0 <= prob <= 1:
            raise ValueError(f'{name}: prob must be in [0, 1], got {prob!r}')
        self.max_cells, self.prob = int(max_cells), float(prob)

    @cache_randomness
    def _draw_seed(self):
        """A seed from numpy's global state (seeded by mmengine per worker and epoch)."""
        if np.random.rand() >= self.prob:
            return None
        return int(np.random.randint(0, 2**31 - 1))

    @abstractmethod
    def paste(self, results, occupied, n_cells, rng):
        """``core.ComposedImage`` of ``n_cells`` new cells on ``results['img']`` (its cells:
        ``occupied``), drawn from ``rng``."""

    def transform(self, results):
        seed = self._draw_seed()
        if seed is None:
            return results
        rng = np.random.default_rng(seed)
        occupied = existing_cells(results)
        n_cells = int(rng.integers(1, self.max_cells + 1))
        composed = self.paste(results, occupied, n_cells, rng)
        if composed.n_cells:
            add_instances(results, composed, [self.cat2label[c] for c in composed.category_ids])
        return results
