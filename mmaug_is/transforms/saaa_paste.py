"""``SAAAPaste``: paste new SAAA cells into the current real image inside the mmdet pipeline.

SAAA's counterpart of ``IAAAPaste`` (beyond the paper, which composes SAAA cells on empty
backgrounds only): cell shapes from the mask DDPM, cell pixels from Pix2Pix, placed at free
spots of the real training image being loaded, never over an annotated cell. A conditioned
Pix2Pix paints the cells for that image's own background (the background made from it by
``RealAssets``; for an image outside the source, the source background of most similar
style). The new instances carry their exact masks (``gt_mask``: the generated mask, or the
part of it where the cell shows).
"""
import dataclasses
from pathlib import Path

from mmdet.registry import TRANSFORMS

from ..core import compose_image, rank_by_style, rescale
from ..core.categories import category_labels, pick_category, read_categories
from ..datasets.saaa_dataset import saaa_checkpoints
from ..datasets.synthetic_coco import real_source
from ..synth import RealAssets
from .paste_base import (PasteTransform, index_by_file_name, layout_styles, loaded_style,
                         warn_color_type)
from .pipeline_inputs import object_in_layout


@TRANSFORMS.register_module()
class SAAAPaste(PasteTransform):
    """Paste SAAA-generated cells into ``results['img']`` and extend its annotations
    (keys: ``paste_base.PasteTransform``).

    Args:
        source: ``dict(ann_file=..., img_dir=...)``: the real training set whose images the
            pipeline loads. Its backgrounds (cells removed) give each image's style and
            grey level; its cell sizes give the new cells' sizes.
        mask_checkpoint, pix2pix_checkpoint: the SAAA models (as ``SAAADataset``).
        max_cells, prob: cells per image drawn from ``[1, max_cells]``; probability of
            pasting anything (``PasteTransform``).
        category: name of the source category every new cell gets (``None``: the source
            must declare exactly one).
        classes: ``metainfo['classes']`` of the dataset whose pipeline this is (``None``:
            every source category in file order); ``category`` must be one of them.
        color_type: deprecated, no effect (cells follow the image the pipeline hands in).
        cache_root: where the real-data assets and the mask bank are cached.
        **generator: ``SAAAGenerator.from_checkpoints`` options: ``sampler``, ``steps``,
            ``smooth_sigma``, ``mask_bank``, ``mask_bank_seed``, ``spacing``, ``sigma``,
            ``n_candidates``, ``edge``, ``gt_mask``, ``texture``, ``tone``, ``size``
            (``mask_bank_dir`` defaults to ``cache_root/saaa_mask_banks``; ``texture='real'``
            fits the grain of the source's real SCOs, ``saaa.texture.resolve_texture``;
            ``tone='real'`` the contrasts of its real cells, ``saaa.tone.resolve_tone``;
            ``size='real'`` their sizes, ``saaa.size.resolve_size``).
    """

    def __init__(self, source, mask_checkpoint, pix2pix_checkpoint, max_cells=25, prob=1.0,
                 category=None, classes=None, color_type=None,
                 cache_root='work_dirs/mmaug_cache', **generator):
        super().__init__(max_cells, prob)
        warn_color_type('SAAAPaste', color_type)
        from ..saaa.generator import SAAAGenerator, resolve_cell_models  # torch, diffusers

        for name in ('count_mode', 'category_id', 'cell_stats'):
            if name in generator:
                raise ValueError(f'SAAAPaste: the generator option {name} does not apply to '
                                 'pasting into a real image (max_cells sets how many cells '
                                 'are pasted, category their class)')
        self.source = real_source(source, 'SAAAPaste')
        checkpoints = saaa_checkpoints(mask_checkpoint, pix2pix_checkpoint, 'SAAAPaste')
        categories = read_categories(self.source['ann_file'])
        self.category = pick_category(categories, category, 'SAAAPaste')
        self.classes = tuple(cat['name'] for cat in categories) if classes is None \
            else tuple(classes)
        self.cat2label = category_labels(categories, self.classes, 'SAAAPaste')
        if self.category['id'] not in self.cat2label:
            raise ValueError(f'SAAAPaste: the generated cells\' category '
                             f'{self.category["name"]!r} is not among the classes '
                             f'{self.classes}, so none would be annotated')
        self.cache_root = Path(cache_root)
        assets, _ = RealAssets.cached(self.source['ann_file'], self.source['img_dir'],
                                      cache_root, with_cell_stats=True, progress=False)
        generator.setdefault('mask_bank_dir', self.cache_root / 'saaa_mask_banks')
        self.options = {k: v for k, v in generator.items() if k != 'mask_bank_dir'}
        generator = resolve_cell_models(generator, assets)
        self.generator = SAAAGenerator.from_checkpoints(
            checkpoints['masks'], checkpoints['pix2pix'], assets.stats, assets.backgrounds,
            category_id=self.category['id'], cell_stats=assets.cell_stats, **generator)
        self.background_of = index_by_file_name(assets.background_sources)
        self._style_descriptors = {}  # CanvasLayout -> the backgrounds' style descriptors

    def background_index(self, target):
        """Index of the source background of ``target``'s image: the one made from it, or
        (an image outside the source) the one of most similar style outside its cells."""
        name = Path(target.img_path).name
        if name in self.background_of:
            return self.background_of[name]
        layout = target.layout
        if layout not in self._style_descriptors:
            self._style_descriptors[layout] = layout_styles(self.generator.backgrounds,
                                                            layout)
        return int(rank_by_style(loaded_style(target.canvas, ~target.occupied),
                                 self._style_descriptors[layout])[0])

    def _in_target(self, cell, target):
        """``cell`` in ``target``'s layout and at its scale."""
        image, mask = object_in_layout(cell.image, target.layout), cell.masks
        if target.scale != (1.0, 1.0):
            image, mask = rescale(image, mask, *target.scale)
        return dataclasses.replace(cell, image=image, masks=mask)

    def paste(self, target, n_cells, rng):
        canvas = target.canvas
        side = max(target.scale)
        cells = self.generator.cells_for(self.background_index(target), n_cells, rng,
                                         max_side=int((min(canvas.shape[:2]) - 2) / side))
        cells = [self._in_target(c, target) for c in cells]
        gen = self.generator
        return compose_image(canvas, cells, rng, n_candidates=gen.n_candidates, sigma=gen.sigma,
                             spacing=gen.spacing, occupied=target.occupied, edge=gen.edge)

    def __repr__(self):
        options = ', '.join(f'{k}={v!r}' for k, v in self.options.items())
        return (f'{type(self).__name__}(source={self.source}, max_cells={self.max_cells}, '
                f'prob={self.prob}, category={self.category["name"]!r}, '
                f'classes={self.classes}, {options})')
