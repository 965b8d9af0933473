"""``IAAAPaste``: paste IAAA cells into the current real image inside the mmdet pipeline.

Like mmdet's ``CopyPaste``, but the pasted objects are real SCOs/MCOs of the training
set, augmented by searched policies, placed where their corner pixels match the image
(paper 2.3), Gaussian-feathered, and never over an annotated cell. The new instances
carry their exact (unfiltered) masks and the label of their real cell's category. With
``style_neighbours = k > 0`` the cells come only from the ``k`` source images whose
backgrounds look most like the current image outside its cells (``core.style``).
"""
import dataclasses
import warnings

import numpy as np
from mmdet.registry import TRANSFORMS

from ..core import ObjectBank, rank_by_style, style_bank
from ..core.categories import category_labels, read_categories
from ..datasets.synthetic_coco import real_source
from ..iaaa.generator import IAAASettings, as_policies, paste_cells
from ..synth import RealAssets, as_loaded_image
from .paste_base import PasteTransform, loaded_style


def _bank_as_loaded(bank, color_type):
    """The bank's objects with crops converted like ``LoadImageFromFile`` images."""
    def convert(obj):
        return dataclasses.replace(obj, image=as_loaded_image(obj.image, color_type))
    return ObjectBank([convert(o) for o in bank.scos], [convert(o) for o in bank.mcos])


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


@TRANSFORMS.register_module()
class IAAAPaste(PasteTransform):
    """Paste augmented real cells into ``results['img']`` and extend its annotations
    (keys: ``paste_base.PasteTransform``).

    Args:
        source: ``dict(ann_file=..., img_dir=...)``: the real set the cells come from.
        policies: ``policies.json`` path or list of policy dicts (``[]``: no augmentation).
        max_cells, prob: cells per image drawn from ``[1, max_cells]``; probability of
            pasting anything (``PasteTransform``).
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
        super().__init__(max_cells, prob)
        self.source = real_source(source, 'IAAAPaste')
        self.policies = as_policies(policies)
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
            loaded_style(as_loaded_image(bg, color_type)) for bg in assets.backgrounds
        ]) if self.settings.style_neighbours else None

    def _bank_for(self, image, occupied):
        """The objects that may go into ``image`` (its cells: ``occupied``)."""
        if not self.settings.style_neighbours:
            return self.bank
        order = rank_by_style(loaded_style(image, ~occupied), self.style_descriptors)
        return style_bank(self.bank, [self.style_sources[i] for i in order],
                          self.settings.style_neighbours)

    def paste(self, results, occupied, n_cells, rng):
        return paste_cells(results['img'], self._bank_for(results['img'], occupied), n_cells,
                           self.sco_fraction, self.policies, self.settings, rng,
                           occupied=occupied)

    def __repr__(self):
        paste = ', '.join(f'{k}={v!r}' for k, v in self.settings.to_dict().items()
                          if k not in ('count_mode', 'count_scale'))
        return (f'{type(self).__name__}(source={self.source}, policies={len(self.policies)}, '
                f'max_cells={self.max_cells}, prob={self.prob}, classes={self.classes}, '
                f'color_type={self.color_type!r}, {paste})')

