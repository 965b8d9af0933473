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

import numpy as np
from mmdet.registry import TRANSFORMS

from ..core import compose_image, rank_by_style
from ..core.categories import category_labels, pick_category, read_categories
from ..datasets.saaa_dataset import saaa_checkpoints
from ..datasets.synthetic_coco import real_source
from ..synth import RealAssets, as_loaded_image
from .paste_base import PasteTransform, loaded_style

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
        color_type: the ``LoadImageFromFile`` color_type of the pipeline.
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
                 category=None, classes=None, color_type='color',
                 cache_root='work_dirs/mmaug_cache', **generator):
        super().__init__(max_cells, prob)
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
        self.color_type, self.cache_root = color_type, Path(cache_root)
        assets, _ = RealAssets.cached(self.source['ann_file'], self.source['img_dir'],
                                      cache_root, with_cell_stats=True, progress=False)
        generator.setdefault('mask_bank_dir', self.cache_root / 'saaa_mask_banks')
        self.options = {k: v for k, v in generator.items() if k != 'mask_bank_dir'}
        generator = resolve_cell_models(generator, assets)
        self.generator = SAAAGenerator.from_checkpoints(
            checkpoints['masks'], checkpoints['pix2pix'], assets.stats, assets.backgrounds,
            category_id=self.category['id'], cell_stats=assets.cell_stats, **generator)
        self.background_of = {Path(name).name: i
                              for i, name in enumerate(assets.background_sources)}
        self.style_descriptors = np.stack([
            loaded_style(as_loaded_image(bg, color_type)) for bg in assets.backgrounds])

    def background_index(self, results, occupied):
        """Index of the source background of ``results``' image: the one made from it, or
        (an image outside the source) the one of most similar style outside its cells."""
        name = Path(results.get('img_path') or '').name
        if name in self.background_of:
            return self.background_of[name]
        return int(rank_by_style(loaded_style(results['img'], ~occupied),
                                 self.style_descriptors)[0])

    def paste(self, results, occupied, n_cells, rng):
        image = results['img']
        cells = self.generator.cells_for(self.background_index(results, occupied), n_cells,
                                         rng, max_side=min(image.shape[:2]) - 2)
        cells = [dataclasses.replace(c, image=as_loaded_image(c.image, self.color_type))
                 for c in cells]
        gen = self.generator
        return compose_image(image, cells, rng, n_candidates=gen.n_candidates, sigma=gen.sigma,
                             spacing=gen.spacing, occupied=occupied, edge=gen.edge)

    def __repr__(self):
        options = ', '.join(f'{k}={v!r}' for k, v in self.options.items())
        return (f'{type(self).__name__}(source={self.source}, max_cells={self.max_cells}, '
                f'prob={self.prob}, category={self.category["name"]!r}, '
                f'classes={self.classes}, color_type={self.color_type!r}, {options})')
