"""Assets of a real COCO dataset that the generators draw from (paper 2.2-2.4).

``RealAssets`` holds the SCO/MCO ``ObjectBank``, one empty background per real image
(cells removed) and the ``DatasetStats`` (cells per image, SCO/MCO ratio). Building them
reads every image once; ``RealAssets.cached`` keeps them in a folder keyed by the
content of the real set (annotation file and images, ``hashing.source_digest``) and the
settings, written atomically and reused later. Objects keep their cells' categories.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core import DatasetStats, ObjectBank, extract_objects, read_image, remove_cells
from ..core.categories import load_categorised
from ..core.io import atomic_open
from .hashing import source_digest, stable_hash

ASSETS_VERSION = 2  # 2: objects keep their cells' category ids
BACKGROUNDS_FILE = 'backgrounds.npz'
STATS_FILE = 'stats.json'
SETTINGS_FILE = 'settings.json'


@dataclass
class RealAssets:
    """Object bank, backgrounds and statistics of one real dataset.

    Attributes:
        bank: ``ObjectBank`` of SCOs and MCOs (border objects excluded).
        backgrounds: list of ``(H, W[, C])`` images with every annotated cell removed.
        background_sources: file name of the real image each background came from.
        stats: ``DatasetStats`` of the real images.
        settings: how the assets were built (JSON-able; its build options are part of the
            cache key, its paths are not: they record where the first build read from).
    """

    bank: ObjectBank
    backgrounds: list
    background_sources: list
    stats: DatasetStats
    settings: dict = field(default_factory=dict)

    @classmethod
    def build(cls, ann_file, img_dir, seed=0, background_method='corner',
              background_candidates=10, background_sigma=2.0, progress=True):
        """Extract objects, remove cells from every image and compute the statistics.

        Args:
            ann_file, img_dir: the real COCO instance set.
            seed: seeds the background synthesis (image i uses ``[seed, i]``).
            background_method, background_candidates, background_sigma: see
                ``core.remove_cells``.
        """
        settings = dict(ann_file=str(ann_file), img_dir=str(img_dir), seed=int(seed),
                        background_method=background_method,
                        background_candidates=int(background_candidates),
                        background_sigma=float(background_sigma))
        records = load_categorised(ann_file, img_dir)
        scos, mcos, backgrounds = [], [], []
        for i, record in enumerate(tqdm(records, desc='objects + backgrounds',
                                        disable=not progress)):
            image = read_image(record.path)
            for obj in extract_objects(record, image):
                (scos if obj.kind == 'sco' else mcos).append(obj)
            rng = np.random.default_rng([int(seed), i])
            backgrounds.append(remove_cells(image, record.masks, rng,
                                            n_candidates=background_candidates,
                                            sigma=background_sigma,
                                            method=background_method))
        bank = ObjectBank(scos, mcos)
        if len(bank) == 0:
            raise ValueError(f'{ann_file}: no cell lies clear of the image border, so there '
                             'are no objects to paste')
        stats = DatasetStats.from_records(records, bank)
        return cls(bank, backgrounds, [r.file_name for r in records], stats, settings)

    @staticmethod
    def folder_for(ann_file, img_dir, cache_root, **build_kwargs):
        """``cache_root/assets-<key>``: the key hashes the real set's content
        (``source_digest``: the annotation file and every image it lists; not their paths
        or mtimes) and every build setting."""
        key_settings = dict(build_kwargs, version=ASSETS_VERSION,
                            source=source_digest(ann_file, img_dir))
        return Path(cache_root) / f'assets-{stable_hash(key_settings)}'

    @classmethod
    def cached(cls, ann_file, img_dir, cache_root, progress=True, **build_kwargs):
        """Load the assets from ``folder_for(...)`` or build and save them there.

        Returns ``(assets, folder)``.
        """
        folder = cls.folder_for(ann_file, img_dir, cache_root, **build_kwargs)
        if (folder / SETTINGS_FILE).is_file():
            return cls.load(folder), folder
        assets = cls.build(ann_file, img_dir, progress=progress, **build_kwargs)
        assets.save(folder)
        return assets, folder

    def save(self, folder):
        """Write bank, backgrounds, statistics and settings; settings last (= complete)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.bank.save(folder)
        arrays = {f'bg_{i:05d}': bg for i, bg in enumerate(self.backgrounds)}
        arrays['sources'] = np.array(json.dumps(self.background_sources))
        with atomic_open(folder / BACKGROUNDS_FILE, 'wb') as handle:
            np.savez_compressed(handle, **arrays)
        self.stats.save(folder / STATS_FILE)
        with atomic_open(folder / SETTINGS_FILE, 'w', encoding='utf-8') as handle:
            json.dump(self.settings, handle, indent=1)

    @classmethod
    def load(cls, folder):
        """Read assets written by ``save``; a folder without its settings file is incomplete."""
        folder = Path(folder)
        if not (folder / SETTINGS_FILE).is_file():
            raise FileNotFoundError(f'{folder} holds no complete assets ({SETTINGS_FILE} '
                                    'is written last and is missing)')
        with np.load(folder / BACKGROUNDS_FILE) as data:
            names = sorted(k for k in data.files if k.startswith('bg_'))
            backgrounds = [data[k] for k in names]
            sources = json.loads(str(data['sources']))
        settings = json.loads((folder / SETTINGS_FILE).read_text(encoding='utf-8'))
        return cls(ObjectBank.load(folder), backgrounds, sources,
                   DatasetStats.load(folder / STATS_FILE), settings)

    @property
    def image_layout(self):
        """``(dtype, channel shape)`` shared by the backgrounds and the objects."""
        first = self.backgrounds[0]
        return first.dtype, first.shape[2:]
