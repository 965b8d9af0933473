"""``OutlineVisualizer``: mmdet's ``DetLocalVisualizer`` drawing every instance as a thin
outline and nothing else.

mmdet draws a label box ("nucleus: 87.5") on every instance and fills its mask; on
microscopy images with ~200 nuclei the labels cover the cells. Here each instance is the
contour of its mask (all of its borders, holes included), or its box when it has no mask,
in the colour of its class: no text, no fill.
"""
import cv2
import numpy as np
import torch
from mmdet.registry import VISUALIZERS
from mmdet.structures.bbox import BaseBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmdet.visualization import DetLocalVisualizer, get_palette

__all__ = ['OutlineVisualizer', 'draw_outlines']


def _as_numpy(data):
    """Masks or boxes of any mmdet form as a numpy array."""
    if isinstance(data, (BitmapMasks, PolygonMasks)):
        return data.to_ndarray()
    if isinstance(data, BaseBoxes):
        data = data.tensor
    if isinstance(data, torch.Tensor):
        return data.cpu().numpy()
    return np.asarray(data)


def draw_outlines(image, colors, masks=None, boxes=None, thickness=1):
    """A copy of ``image`` with one outline per instance.

    Args:
        image: ``(H, W, 3)`` uint8.
        colors: one colour per instance, in ``image``'s channel order.
        masks: ``(N, H, W)`` masks (bool / 0-1 array, tensor, ``BitmapMasks`` or
            ``PolygonMasks``); drawn as their contours. ``None``: draw ``boxes``.
        boxes: ``(N, 4)`` x1, y1, x2, y2 in pixels (x2, y2 exclusive, as COCO boxes of
            masks; array, tensor or mmdet boxes); drawn as rectangles on their outermost
            pixels.
        thickness: line width in pixels.
    """
    canvas = np.ascontiguousarray(image, dtype=np.uint8).copy()
    if masks is not None:
        for mask, color in zip(_as_numpy(masks), colors):
            contours, _ = cv2.findContours(np.asarray(mask, dtype=np.uint8), cv2.RETR_LIST,
                                           cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(canvas, contours, -1, tuple(int(c) for c in color), thickness)
    elif boxes is not None:
        boxes = np.round(_as_numpy(boxes)).astype(np.int64)
        for (x1, y1, x2, y2), color in zip(boxes, colors):
            cv2.rectangle(canvas, (int(x1), int(y1)), (int(x2) - 1, int(y2) - 1),
                          tuple(int(c) for c in color), thickness)
    return canvas


@VISUALIZERS.register_module()
class OutlineVisualizer(DetLocalVisualizer):
    """``DetLocalVisualizer`` whose instances are outlines only (``draw_outlines``).

    Args: as ``DetLocalVisualizer``; ``line_width`` (pixels, default 1) is the outline
    width and ``bbox_color`` (default: the dataset palette) its colour; ``text_color``,
    ``mask_color`` and ``alpha`` are unused. Ground truth and predictions are drawn side
    by side as mmdet does (``add_datasample``).
    """

    def __init__(self, name='visualizer', line_width=1, **kwargs):
        super().__init__(name=name, line_width=line_width, **kwargs)

    def _draw_instances(self, image, instances, classes, palette):
        """``image`` (RGB) with the outlines of ``instances`` (masks, else boxes)."""
        labels = instances.labels if 'labels' in instances else []
        if len(labels) == 0:
            return np.array(image, dtype=np.uint8)
        labels = [int(label) for label in labels]
        colors = get_palette(self.bbox_color if self.bbox_color is not None else palette,
                             max(labels) + 1)
        return draw_outlines(image, [colors[label] for label in labels],
                             masks=instances.masks if 'masks' in instances else None,
                             boxes=instances.bboxes if 'bboxes' in instances else None,
                             thickness=int(self.line_width))
