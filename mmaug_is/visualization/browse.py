"""Look at what the detector gets: training samples after the whole pipeline, each instance
an outline, the cells pasted by ``IAAAPaste`` / ``SAAAPaste`` in another colour than the
real ones.

Pasted cells are told apart by their labels: ``mark_pasted`` shifts the labels the paste
transforms give by the number of classes, and labels travel through every later transform
(crops, flips, filters) with their instances. Only for looking: a marked dataset must not
be trained on.
"""
import numpy as np

from ..transforms.paste_base import PasteTransform
from .outlines import draw_outlines

REAL_RGB = (0, 230, 0)  # outline of an annotated (real) cell
PASTED_RGB = (255, 0, 255)  # outline of a pasted cell


def _transforms(dataset):
    """Every built transform of ``dataset`` and of the datasets it wraps."""
    pipeline = getattr(dataset, 'pipeline', None)
    found = list(getattr(pipeline, 'transforms', pipeline or []))
    children = list(getattr(dataset, 'datasets', []) or [])
    if getattr(dataset, 'dataset', None) is not None:
        children.append(dataset.dataset)
    for child in children:
        found += _transforms(child)
    return found


def mark_pasted(dataset, n_classes):
    """Give the cells pasted in ``dataset`` labels ``n_classes`` higher than their class.

    Returns the number of paste transforms marked (``0``: nothing is pasted here).
    """
    marked = 0
    for transform in _transforms(dataset):
        if isinstance(transform, PasteTransform):
            transform.cat2label = {cat: label + n_classes
                                   for cat, label in transform.cat2label.items()}
            marked += 1
    return marked


def draw_training_sample(item, n_classes):
    """``(image, n_real, n_pasted)``: the packed sample ``item`` (``PackDetInputs``
    output) as an RGB uint8 image with its instances outlined (masks, else boxes), pasted
    ones (label >= ``n_classes``) in ``PASTED_RGB``, real ones in ``REAL_RGB``."""
    image = item['inputs'].numpy().transpose(1, 2, 0)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    image = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., ::-1]
    instances = item['data_samples'].gt_instances
    pasted = np.asarray(instances.labels) >= n_classes
    colours = [PASTED_RGB if p else REAL_RGB for p in pasted]
    masks = instances.masks if 'masks' in instances else None
    drawn = draw_outlines(image, colours, masks=masks, boxes=instances.bboxes)
    return drawn, int((~pasted).sum()), int(pasted.sum())
