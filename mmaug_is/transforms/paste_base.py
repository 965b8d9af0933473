"""What the in-pipeline paste transforms share (``IAAAPaste``, ``SAAAPaste``).

``PasteTransform`` draws whether and how many cells to paste into the current real image,
finds its annotated cells, and appends the pasted cells to the annotations in the types
the pipeline gave (``pipeline_inputs``); a subclass only composes (``paste``).
Randomness: one seed per call from numpy's global state, which mmengine seeds per worker
and epoch, so a training run is reproducible from its seed.
"""
import numbers
import warnings
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from ..core import masks_to_boxes, style_descriptor
from .pipeline_inputs import (CanvasLayout, append_instances, cells_map, check_position,
                              current_scale, image_canvas, object_in_layout, restore_image)


def loaded_style(image, where=None):
    """``core.style_descriptor`` of a pipeline image (BGR channel order when 3 channels)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        image = image[..., ::-1]
    return style_descriptor(image, where)


def layout_styles(backgrounds, layout):
    """``(N, D)`` style descriptors of the source ``backgrounds`` converted to ``layout``
    (the form of the pipeline's images), to rank them against a pipeline image."""
    return np.stack([loaded_style(object_in_layout(bg, layout)) for bg in backgrounds])


def index_by_file_name(sources):
    """``{file name: index}`` of the source image names, to find a pipeline image's own."""
    return {Path(name).name: i for i, name in enumerate(sources)}


def warn_color_type(name, color_type):
    """``color_type`` (deprecated: the layout follows the image received) warns if given."""
    if color_type is not None:
        warnings.warn(f'{name}: color_type is deprecated and has no effect: the pasted '
                      'cells follow the dtype and channels of the image the pipeline hands '
                      'it; remove color_type', FutureWarning, stacklevel=3)


@dataclass(frozen=True)
class PasteTarget:
    """The image cells go into: ``canvas`` (uint8/uint16 ``(H, W[, 3])``, BGR), its
    ``layout``, ``occupied`` ``(H, W)`` bool (annotated cells), ``scale`` ``(sx, sy)`` of the
    image against its file, ``img_path`` (``''`` when unknown)."""
    canvas: np.ndarray
    layout: CanvasLayout
    occupied: np.ndarray
    scale: tuple
    img_path: str


class PasteTransform(BaseTransform):
    """Base of the transforms that paste new cells into the current real image.

    Required keys: ``img`` (uint8, uint16 or float 0..65535; grey or BGR), ``gt_bboxes``
    (``HorizontalBoxes`` or an ``(N, 4)`` array), ``gt_bboxes_labels``.
    Optional keys: ``gt_masks`` (``BitmapMasks`` or ``PolygonMasks``), ``gt_ignore_flags``,
    ``scale_factor`` (a resize before the paste: cells are pasted at that scale too),
    ``img_path``.
    Modified keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``,
    ``gt_masks`` (each extended in the type it holds; masks only when loaded). Pasted cells
    avoid the union of the annotated cells' masks and boxes.

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
    def paste(self, target, n_cells, rng):
        """``core.ComposedImage`` of ``n_cells`` new cells on ``target`` (``PasteTarget``),
        drawn from ``rng``."""

    def transform(self, results):
        name = type(self).__name__
        check_position(results, name)
        seed = self._draw_seed()
        if seed is None:
            return results
        rng = np.random.default_rng(seed)
        canvas, layout = image_canvas(results['img'], name)
        target = PasteTarget(canvas, layout, cells_map(results), current_scale(results),
                             str(results.get('img_path') or ''))
        n_cells = int(rng.integers(1, self.max_cells + 1))
        composed = self.paste(target, n_cells, rng)
        if composed.n_cells:
            results['img'] = restore_image(results['img'], canvas, composed.image)
            append_instances(results, composed.masks, masks_to_boxes(composed.masks),
                             [self.cat2label[c] for c in composed.category_ids])
        return results
