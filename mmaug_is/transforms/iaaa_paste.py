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
from pathlib import Path

from mmdet.registry import TRANSFORMS

from ..core import ObjectBank, rank_by_style, style_bank
from ..core.categories import category_labels, read_categories
from ..datasets.synthetic_coco import real_source
from ..iaaa.generator import IAAASettings, as_policies, paste_cells
from ..synth import RealAssets
from .paste_base import (PasteTransform, index_by_file_name, layout_styles, loaded_style,
                         warn_color_type)
from .pipeline_inputs import object_in_layout

# The settings chosen on val with the fast protocol (benchmarks/results/fast_protocol.md)
RECOMMENDED_PASTE = dict(edge='inside', style_neighbours=5)


def _bank_in_layout(bank, layout):
    """The bank's objects with crops converted to a pipeline image's ``layout``."""
    def convert(obj):
        return dataclasses.replace(obj, image=object_in_layout(obj.image, layout))
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
        source: ``dict(ann_file=..., img_dir=...)``: the real set the cells come from (the
            training set of the pipeline, or another set at the same pixel scale).
        policies: ``policies.json`` path or list of policy dicts (default ``()``: cells as
            they are; on both dev sets the searched policies scored below none on val).
        max_cells, prob: cells per image drawn from ``[1, max_cells]``; probability of
            pasting anything (``PasteTransform``).
        classes: ``metainfo['classes']`` of the dataset whose pipeline this is; ``None``:
            every category of ``source`` in file order (the default ``metainfo`` of the
            synthetic datasets). Each pasted cell gets its category's label under them
            (mmdet's rule, ``core.categories.category_labels``); cells of categories not
            named are not pasted.
        label: deprecated (pasted cells get their own category's label): accepted with a
            warning only where it equals that label for every cell.
        color_type: deprecated, no effect (cells follow the image the pipeline hands in).
        cache_root: where the real-data assets are cached.
        **paste: the ``iaaa.IAAASettings`` of the paste: ``n_candidates``, ``sigma``,
            ``spacing`` (placement tries, feather px, free margin px), ``style_neighbours``
            (``k > 0``: cells only from the ``k`` source images of most similar background
            style; default 5), ``edge`` (default ``'inside'``), ``geometry``,
            ``border_margin``, ``scale_jitter``, ``occlusion``. The cell-count settings do
            not apply (``max_cells`` does).
    The defaults are the settings recommended by the benchmarks (val-chosen).
    """

    def __init__(self, source, policies=(), max_cells=25, prob=1.0, classes=None, label=None,
                 color_type=None, cache_root='work_dirs/mmaug_cache', **paste):
        super().__init__(max_cells, prob)
        warn_color_type('IAAAPaste', color_type)
        self.source = real_source(source, 'IAAAPaste')
        self.policies = as_policies(policies)
        for name in ('count_mode', 'count_scale'):
            if name in paste:
                raise ValueError(f'IAAAPaste: {name} does not apply to pasting into a real '
                                 'image (max_cells sets how many cells are pasted)')
        self.settings = IAAASettings(**{**RECOMMENDED_PASTE, **paste})
        self.cache_root = cache_root
        assets, _ = RealAssets.cached(self.source['ann_file'], self.source['img_dir'],
                                      cache_root, progress=False)
        self.sco_fraction = assets.stats.sco_fraction
        categories = read_categories(self.source['ann_file'])
        self.classes = tuple(cat['name'] for cat in categories) if classes is None \
            else tuple(classes)
        self.cat2label = category_labels(categories, self.classes, 'IAAAPaste')
        _check_legacy_label(label, self.cat2label)
        self.bank = assets.bank.subset(
            lambda o: all(c in self.cat2label for c in o.category_ids))
        self.style_sources = assets.background_sources
        self.background_of = index_by_file_name(self.style_sources)
        self.backgrounds = assets.backgrounds
        self._in_layout = {}  # CanvasLayout -> (bank, style descriptors) in that layout
        self._neighbour_banks = {}  # (source image index, CanvasLayout) -> its ObjectBank

    def _layout_assets(self, layout):
        """``(bank, style descriptors)`` converted to ``layout`` (made once per layout)."""
        if layout not in self._in_layout:
            descriptors = (layout_styles(self.backgrounds, layout)
                           if self.settings.style_neighbours else None)
            self._in_layout[layout] = (_bank_in_layout(self.bank, layout), descriptors)
        return self._in_layout[layout]

    def _neighbours(self, bank, style, descriptors):
        order = rank_by_style(style, descriptors)
        return style_bank(bank, [self.style_sources[i] for i in order],
                          self.settings.style_neighbours)

    def _bank_for(self, target):
        """The objects that may go into ``target``'s image: with style matching, those of the
        source images whose backgrounds look most like it (for a source image: like its own
        background, ranked once; for another image: like the image outside its cells)."""
        bank, descriptors = self._layout_assets(target.layout)
        if not self.settings.style_neighbours:
            return bank
        own = self.background_of.get(Path(target.img_path).name)
        if own is None:
            return self._neighbours(bank, loaded_style(target.canvas, ~target.occupied),
                                    descriptors)
        key = (own, target.layout)
        if key not in self._neighbour_banks:
            self._neighbour_banks[key] = self._neighbours(bank, descriptors[own], descriptors)
        return self._neighbour_banks[key]

    def paste(self, target, n_cells, rng):
        return paste_cells(target.canvas, self._bank_for(target), n_cells, self.sco_fraction,
                           self.policies, self.settings, rng, occupied=target.occupied,
                           scale=target.scale)

    def __repr__(self):
        paste = ', '.join(f'{k}={v!r}' for k, v in self.settings.to_dict().items()
                          if k not in ('count_mode', 'count_scale'))
        return (f'{type(self).__name__}(source={self.source}, policies={len(self.policies)}, '
                f'max_cells={self.max_cells}, prob={self.prob}, classes={self.classes}, '
                f'{paste})')
