"""What a paste transform is handed by the mmdet pipeline it sits in, and how it hands it back.

The image may be uint8, uint16 or float (``LoadImageFromFile(to_float32=True)``), grey
``(H, W)`` / ``(H, W, 1)`` or BGR ``(H, W, 3)``; the boxes ``HorizontalBoxes`` or a plain
``(N, 4)`` array (``LoadAnnotations(box_type=None)``); the masks ``BitmapMasks``,
``PolygonMasks`` or absent; the image may have been resized (``scale_factor``). Cells are
composed on an integer *canvas* of the image and the results are returned in the types
received. A transform in the wrong place gets ``PastePipelineError`` naming what to move.
"""
from dataclasses import dataclass

import cv2
import numpy as np
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from ..synth import as_loaded_image

__all__ = ['PastePipelineError', 'CanvasLayout', 'check_position', 'image_canvas',
           'object_in_layout', 'restore_image', 'cells_map', 'append_instances',
           'current_scale']


class PastePipelineError(ValueError):
    """The transform sits where the pipeline does not give it what it needs."""


def check_position(results, name):
    """Raise ``PastePipelineError`` unless ``results`` hold a loaded image and its boxes."""
    if 'img' not in results:
        where = ('it comes after PackDetInputs' if 'inputs' in results
                 else 'no image is loaded yet')
        raise PastePipelineError(
            f'{name} needs results["img"] but {where}: put {name} after LoadImageFromFile '
            'and LoadAnnotations and before PackDetInputs')
    missing = [k for k in ('gt_bboxes', 'gt_bboxes_labels') if k not in results]
    if missing:
        raise PastePipelineError(
            f'{name} needs {" and ".join(missing)} but no annotations are loaded yet: put '
            f'{name} after LoadAnnotations(with_bbox=True) (with_mask=True too, so pasted '
            'cells get masks)')


@dataclass(frozen=True)
class CanvasLayout:
    """The integer form cells are composed in: ``dtype`` ``'uint8'``/``'uint16'``;
    ``grey``: 2-D canvas (else 3-channel BGR)."""
    dtype: str
    grey: bool


def image_canvas(image, name):
    """``(canvas, layout)``: ``image`` as the uint8/uint16 ``(H, W)`` or ``(H, W, 3)`` array
    cells are composed on. A float image (0..65535) is rounded to uint8 when its values fit
    0..255, else uint16. Raises ``PastePipelineError`` for other dtypes, channels or values.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise PastePipelineError(
            f'{name} pastes into grey (H, W) or 3-channel (H, W, 3) images, got shape '
            f'{image.shape}: load the image with color_type "color", "grayscale" or '
            '"unchanged" of a grey/RGB file')
    if image.dtype in (np.uint8, np.uint16):
        return image, CanvasLayout(image.dtype.name, image.ndim == 2)
    if not np.issubdtype(image.dtype, np.floating):
        raise PastePipelineError(f'{name} pastes into uint8, uint16 or float images, got '
                                 f'{image.dtype}')
    low, high = (float(image.min()), float(image.max())) if image.size else (0.0, 0.0)
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 65535:
        raise PastePipelineError(
            f'{name} got a float image with values in [{low:g}, {high:g}]; it pastes into '
            'images of pixel values 0..255 or 0..65535: put it before Normalize and any '
            'transform that rescales pixel values')
    dtype = np.uint8 if high <= 255 else np.uint16
    canvas = np.rint(image).astype(dtype)
    return canvas, CanvasLayout(np.dtype(dtype).name, canvas.ndim == 2)


def restore_image(image, canvas, composed):
    """``composed`` (the canvas with cells) in the dtype and shape of the pipeline's
    ``image``; pixels no cell touched keep ``image``'s exact values."""
    image = np.asarray(image)
    if image.dtype == composed.dtype and image.shape == composed.shape:
        return composed
    changed = composed != canvas
    out = image.copy()
    view = out[..., 0] if out.ndim == 3 and out.shape[2] == 1 else out
    view[changed] = composed[changed]
    return out


def object_in_layout(image, layout):
    """A stored cell crop (RGB or grey, uint8/uint16) converted to ``layout`` as
    ``LoadImageFromFile`` would decode it (8-bit values scaled by 257 into a uint16 canvas)."""
    if layout.dtype == 'uint8':
        return as_loaded_image(image, 'grayscale' if layout.grey else 'color')
    out = as_loaded_image(image, 'unchanged')
    if out.ndim == 3 and layout.grey:
        weights = np.array([0.114, 0.587, 0.299])  # BGR -> luma, as cv2
        scale = 257 if out.dtype == np.uint8 else 1
        return np.clip(out @ weights * scale + 0.5, 0, 65535).astype(np.uint16)
    if out.ndim == 2 and not layout.grey:
        out = np.repeat(out[..., None], 3, axis=2)
    return out.astype(np.uint16) * 257 if out.dtype == np.uint8 else out


def _boxes_array(boxes):
    return np.asarray(boxes.tensor if hasattr(boxes, 'tensor') else boxes,
                      dtype=np.float32).reshape(-1, 4)


def cells_map(results):
    """``(H, W)`` bool map of the annotated cells: the union of their masks and boxes, so an
    empty or missing mask never leaves a real cell free to paste over."""
    height, width = results['img'].shape[:2]
    occupied = np.zeros((height, width), dtype=bool)
    masks = results.get('gt_masks')
    if masks is not None and len(masks):
        held = masks.masks if isinstance(masks, BitmapMasks) else masks.to_ndarray()
        occupied |= held.any(axis=0)
    for x1, y1, x2, y2 in _boxes_array(results['gt_bboxes']):
        occupied[max(int(y1), 0):int(np.ceil(y2)), max(int(x1), 0):int(np.ceil(x2))] = True
    return occupied


def current_scale(results):
    """``(scale_x, scale_y)`` of the image against the file it was loaded from
    (``scale_factor`` of mmdet's resizes; ``(1, 1)`` when none ran)."""
    factor = results.get('scale_factor')
    if factor is None:
        return 1.0, 1.0
    factor = np.asarray(factor, dtype=float).ravel()
    return (float(factor[0]), float(factor[1] if factor.size > 1 else factor[0]))


def _polygons(mask):
    """Outer contours of a bool mask as mmdet polygons (flat x, y lists of pixel centres)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    polygons = [c.reshape(-1).astype(np.float64) for c in contours if len(c) >= 3]
    if not polygons:  # a line of pixels: its box as a polygon
        ys, xs = np.nonzero(mask)
        x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        polygons = [np.array([x1, y1, x2, y1, x2, y2, x1, y2], dtype=np.float64)]
    return polygons


def _append_masks(masks, new_masks, height, width):
    if isinstance(masks, PolygonMasks):
        return PolygonMasks(list(masks.masks) + [_polygons(m) for m in new_masks],
                            height, width)
    old = masks.masks.reshape(-1, height, width)
    dtype = old.dtype if len(old) else np.uint8
    out = BitmapMasks([], height, width)  # filled below: BitmapMasks(array) copies it twice
    out.masks = np.concatenate([old, new_masks.astype(dtype)])
    return out


def append_instances(results, new_masks, new_boxes, labels):
    """Append cells (``new_masks`` ``(N, H, W)`` bool, ``new_boxes`` ``(N, 4)`` xyxy,
    ``labels``) to ``results``' annotations, each key in the type it holds."""
    boxes = results['gt_bboxes']
    new_boxes = np.asarray(new_boxes, dtype=np.float32).reshape(-1, 4)
    if isinstance(boxes, HorizontalBoxes):
        results['gt_bboxes'] = boxes.cat([boxes, HorizontalBoxes(new_boxes)])
    else:
        boxes = np.asarray(boxes).reshape(-1, 4)
        results['gt_bboxes'] = np.concatenate([boxes, new_boxes.astype(boxes.dtype)])
    labels_held = results['gt_bboxes_labels']
    results['gt_bboxes_labels'] = np.concatenate(
        [labels_held, np.asarray(labels, dtype=labels_held.dtype)])
    if 'gt_ignore_flags' in results:
        results['gt_ignore_flags'] = np.concatenate(
            [results['gt_ignore_flags'], np.zeros(len(new_boxes), dtype=bool)])
    if results.get('gt_masks') is not None:
        height, width = results['img'].shape[:2]
        results['gt_masks'] = _append_masks(results['gt_masks'], new_masks, height, width)
