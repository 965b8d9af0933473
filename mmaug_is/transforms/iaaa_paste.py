"""``IAAAPaste``: paste IAAA cells into the current real image inside the mmdet pipeline.

Like mmdet's ``CopyPaste``, but the pasted objects are real SCOs/MCOs of the training
set, augmented by searched policies, placed where their corner pixels match the image
(paper 2.3), Gaussian-feathered, and never over an annotated cell. The new instances
carry their exact (unfiltered) masks and the label of their real cell's category. With
``style_neighbours = k > 0`` the cells come only from the ``k`` source images whose
backgrounds look most like the current image outside its cells (``core.style``).
"""
import dataclasses
import numbers
import warnings

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

from ..core import ObjectBank, masks_to_boxes, rank_by_style, style_bank, style_descriptor
from ..core.categories import category_labels, read_categories
from ..datasets.synthetic_coco import real_source
from ..iaaa.generator import IAAASettings, as_policies, paste_cells
from ..synth import RealAssets, as_loaded_image


def _bank_as_loaded(bank, color_type):
    """The bank's objects with crops converted like ``LoadImageFromFile`` images."""
    def convert(obj):
        return dataclasses.replace(obj, image=as_loaded_image(obj.image, color_type))
    return ObjectBank([convert(o) for o in bank.scos], [convert(o) for o in bank.mcos])


def _loaded_style(image, where=None):
    """``core.style_descriptor`` of a pipeline image (BGR channel order when 3 channels)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        image = image[..., ::-1]
    return style_descriptor(image, where)


def _check_legacy_label(label, cat2label):
    """``label`` (deprecated) is accepted, with a ``FutureWarning``, only where it is the
    label every pasted cell gets anyway; otherwise ``ValueError``."""
    if label is None:
        return
    labels = sorted(set(cat2label.values()))
    if labels != [label]:
        raise ValueError(f'IAAAPaste: label={label} is no longer supported: pasted cells get '
                         f'the label of their own category (here {labels}); remove label '
                         '(choose the classes with classes=...)')
    warnings.warn('IAAAPaste: label is deprecated and has no effect: pasted cells get the '
                  'label of their own category; remove it', FutureWarning, stacklevel=3)


def _existing_cells(results):
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


@TRANSFORMS.register_module()
class IAAAPaste(BaseTransform):
    """Paste augmented real cells into ``results['img']`` and extend its annotations.

    Required keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``.
    Modified keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``,
    ``gt_masks`` (when present; keep ``with_mask=True`` in ``LoadAnnotations`` so the
    pasted cells also avoid annotated cells pixel-exactly, not just their boxes).

    Args:
        source: ``dict(ann_file=..., img_dir=...)``: the real set the cells come from.
        policies: ``policies.json`` path or list of policy dicts (``[]``: no augmentation).
        max_cells: cells pasted per image are drawn uniformly from ``[1, max_cells]``.
        prob: probability of pasting anything into an image.
        classes: ``metainfo['classes']`` of the dataset whose pipeline this is; ``None``:
            every category of ``source`` in file order (the default ``metainfo`` of the
            synthetic datasets). Each pasted cell gets its category's label under them
            (mmdet's rule, ``core.categories.category_labels``); cells of categories not
            named are not pasted.
        label: deprecated (pasted cells get their own category's label): accepted with a
            warning only where it equals that label for every cell.
        color_type: the ``LoadImageFromFile`` color_type of the pipeline.
        cache_root: where the real-data assets are cached.
        **paste: the ``iaaa.IAAASettings`` of the paste: ``n_candidates``, ``sigma``,
            ``spacing`` (placement tries, feather px, free margin px), ``style_neighbours``
            (``k > 0``: cells only from the ``k`` source images of most similar background
            style, for mixed stains), ``edge``, ``geometry``, ``border_margin``,
            ``scale_jitter``, ``occlusion``. The cell-count settings do not apply (``max_cells``
            does).
    """

    def __init__(self, source, policies=(), max_cells=10, prob=0.5, classes=None, label=None,
                 color_type='color', cache_root='work_dirs/mmaug_cache', **paste):
        if not isinstance(max_cells, numbers.Integral) or isinstance(max_cells, bool) \
                or max_cells < 1:
            raise ValueError(f'IAAAPaste: max_cells must be >= 1 (an integer), got {max_cells!r}')
        if not isinstance(prob, numbers.Real) or not 0 <= prob <= 1:
            raise ValueError(f'IAAAPaste: prob must be in [0, 1], got {prob!r}')
        self.source = real_source(source, 'IAAAPaste')
        self.policies = as_policies(policies)
        self.max_cells, self.prob = int(max_cells), float(prob)
        for name in ('count_mode', 'count_scale'):
            if name in paste:
                raise ValueError(f'IAAAPaste: {name} does not apply to pasting into a real '
                                 'image (max_cells sets how many cells are pasted)')
        self.settings = IAAASettings(**paste)
        self.color_type, self.cache_root = color_type, cache_root
        assets, _ = RealAssets.cached(self.source['ann_file'], self.source['img_dir'],
                                      cache_root, progress=False)
        self.sco_fraction = assets.stats.sco_fraction
        categories = read_categories(self.source['ann_file'])
        self.classes = tuple(cat['name'] for cat in categories) if classes is None \
            else tuple(classes)
        self.cat2label = category_labels(categories, self.classes, 'IAAAPaste')
        _check_legacy_label(label, self.cat2label)
        labelled = assets.bank.subset(lambda o: all(c in self.cat2label for c in o.category_ids))
        self.bank = _bank_as_loaded(labelled, color_type)
        self.style_sources = assets.background_sources
        self.style_descriptors = np.stack([
            _loaded_style(as_loaded_image(bg, color_type)) for bg in assets.backgrounds
        ]) if self.settings.style_neighbours else None

    @cache_randomness
    def _draw_seed(self):
        """A seed from numpy's global state (seeded by mmengine per worker and epoch)."""
        if np.random.rand() >= self.prob:
            return None
        return int(np.random.randint(0, 2**31 - 1))

    def _bank_for(self, image, occupied):
        """The objects that may go into ``image`` (its cells: ``occupied``)."""
        if not self.settings.style_neighbours:
            return self.bank
        order = rank_by_style(_loaded_style(image, ~occupied), self.style_descriptors)
        return style_bank(self.bank, [self.style_sources[i] for i in order],
                          self.settings.style_neighbours)

    def transform(self, results):
        seed = self._draw_seed()
        if seed is None:
            return results
        rng = np.random.default_rng(seed)
        occupied = _existing_cells(results)
        n_cells = int(rng.integers(1, self.max_cells + 1))
        composed = paste_cells(results['img'], self._bank_for(results['img'], occupied),
                               n_cells, self.sco_fraction, self.policies, self.settings, rng,
                               occupied=occupied)
        if composed.n_cells == 0:
            return results
        results['img'] = composed.image
        new_boxes = masks_to_boxes(composed.masks).astype(np.float32)
        results['gt_bboxes'] = results['gt_bboxes'].cat(
            [results['gt_bboxes'], HorizontalBoxes(new_boxes)])
        results['gt_bboxes_labels'] = np.concatenate(
            [results['gt_bboxes_labels'],
             np.array([self.cat2label[c] for c in composed.category_ids],
                      dtype=results['gt_bboxes_labels'].dtype)])
        results['gt_ignore_flags'] = np.concatenate(
            [results['gt_ignore_flags'], np.zeros(len(new_boxes), dtype=bool)])
        if results.get('gt_masks') is not None:
            height, width = composed.image.shape[:2]
            old = results['gt_masks'].to_ndarray().astype(np.uint8).reshape(-1, height, width)
            results['gt_masks'] = BitmapMasks(
                np.concatenate([old, composed.masks.astype(np.uint8)]), height, width)
        return results

    def __repr__(self):
        paste = ', '.join(f'{k}={v!r}' for k, v in self.settings.to_dict().items()
                          if k not in ('count_mode', 'count_scale'))
        return (f'{type(self).__name__}(source={self.source}, policies={len(self.policies)}, '
                f'max_cells={self.max_cells}, prob={self.prob}, classes={self.classes}, '
                f'color_type={self.color_type!r}, {paste})')

