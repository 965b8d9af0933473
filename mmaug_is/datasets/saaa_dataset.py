"""``SAAADataset``: SAAA synthetic images (paper 4.4) as an mmdet dataset."""
from pathlib import Path

from mmdet.registry import DATASETS

from ..core.categories import pick_category, read_categories
from ..synth import RealAssets, source_digest
from .synthetic_coco import SyntheticCocoDataset, real_source

TRAIN_HINT = ('train the SAAA models first: python tools/saaa_train_masks.py ... and '
              'python tools/saaa_train_pix2pix.py ... (see README, "SAAA")')


def saaa_checkpoints(mask_checkpoint, pix2pix_checkpoint, owner):
    """``dict(masks=Path, pix2pix=Path)`` of two SAAA checkpoints that exist and, for a
    release, match its manifest's SHA-256 (``saaa.release.verify_checkpoint``); else an
    error naming ``owner`` and the file."""
    from ..saaa.release import verify_checkpoint  # torch: only when needed

    checkpoints = dict(masks=Path(mask_checkpoint), pix2pix=Path(pix2pix_checkpoint))
    for what, path in checkpoints.items():
        if not path.is_file():
            raise FileNotFoundError(f'{owner} {what} checkpoint not found: '
                                    f'{path.resolve()}; {TRAIN_HINT}')
        verify_checkpoint(path)  # a released model: its SHA-256 is the manifest's
    return checkpoints


@DATASETS.register_module()
class SAAADataset(SyntheticCocoDataset):
    """New cells (DDPM masks -> Pix2Pix images) composed on empty real backgrounds.

    Args:
        source: ``dict(ann_file=..., img_dir=...)`` of the REAL training set: its
            cells-per-image distribution and its backgrounds (cells removed) are used.
        mask_checkpoint: ``mask_ddpm.pth`` from ``tools/saaa_train_masks.py``, or of a
            release (``configs/saaa/models/<name>/``, ``tools/saaa_release.py``).
        pix2pix_checkpoint: ``pix2pix.pth`` from ``tools/saaa_train_pix2pix.py`` or a
            release. A checkpoint with a release ``manifest.json`` beside it must match
            the manifest's SHA-256 (``saaa.release.verify_checkpoint``; else an error
            naming the file, e.g. a half-downloaded or git-lfs pointer file).
        num_samples, seed, mode, cache_root: see ``SyntheticCocoDataset``.
        generator: ``SAAAGenerator.from_checkpoints`` options (sampler, steps, count_mode,
            max_cells, spacing, sigma, n_candidates, mask_bank, texture, tone, size, ...).
            ``mask_bank_dir`` defaults to ``cache_root/saaa_mask_banks``; ``texture='real'``
            fits the grain of the source's real SCOs (``saaa.texture.resolve_texture``),
            ``tone='real'`` the contrasts of its real cells (``saaa.tone.resolve_tone``),
            ``size='real'`` their sizes (``saaa.size.resolve_size``).
        assets: ``RealAssets.build`` options (background method etc.).
        category: name of the source category every generated cell gets; ``None``: the
            source must declare exactly one. SAAA makes cells of one class (the mask
            DDPM and Pix2Pix learn from every cell of the source whatever its class), so
            a multi-class source needs this choice (e.g. for models trained on one class).
    The cache key includes the checkpoints' content, so retrained models make a new cache,
    and the mask bank's key (``SAAAGenerator.mask_bank_key``), so another bank does too.
    """

    NAME = 'saaa'

    def __init__(self, source, mask_checkpoint, pix2pix_checkpoint, num_samples,
                 generator=None, assets=None, category=None, **kwargs):
        super().__init__(num_samples=num_samples, **kwargs)
        self.source = real_source(source, 'SAAADataset')
        self.checkpoints = saaa_checkpoints(mask_checkpoint, pix2pix_checkpoint, 'SAAADataset')
        self.generator_options = dict(generator or {})
        self.asset_options = dict(assets or {})
        self.category = pick_category(read_categories(self.source['ann_file']), category,
                                      'SAAADataset')

    def _load_categories(self):
        """As the base class; the generated cells' category must be one of the classes."""
        super()._load_categories()
        if self.category['id'] not in self.cat2label:
            raise ValueError(f'SAAADataset: the generated cells\' category '
                             f'{self.category["name"]!r} is not among the metainfo classes '
                             f'{tuple(self.metainfo["classes"])}, so none would be annotated')

    def cache_inputs(self):
        from ..saaa.generator import SAAAGenerator

        options = {k: v for k, v in self.generator_options.items() if k != 'mask_bank_dir'}
        return dict(source=source_digest(**self.source), checkpoints=self.checkpoints,
                    generator=options, assets=self.asset_options,
                    category=self.category['id'],
                    mask_bank=SAAAGenerator.mask_bank_key(self.checkpoints['masks'],
                                                          **options))

    def build_generator(self):
        from ..saaa.generator import SAAAGenerator, resolve_cell_models  # torch, diffusers

        # cell_stats: what an 'image_style' Pix2Pix paints with on each background (they
        # depend on the source's content alone, which the cache key holds).
        assets, _ = RealAssets.cached(self.source['ann_file'], self.source['img_dir'],
                                      self.cache_root, with_cell_stats=True,
                                      **self.asset_options)
        options = resolve_cell_models(self.generator_options, assets)
        options.setdefault('mask_bank_dir', self.cache_root / 'saaa_mask_banks')
        return SAAAGenerator.from_checkpoints(
            self.checkpoints['masks'], self.checkpoints['pix2pix'], assets.stats,
            assets.backgrounds, category_id=self.category['id'],
            cell_stats=assets.cell_stats, **options)
