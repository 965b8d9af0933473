"""Assets of a real COCO dataset that the generators draw from (paper 2.2-2.4).

``RealAssets`` holds the SCO/MCO ``ObjectBank``, one empty background per real image
(cells removed), the ``DatasetStats`` (cells per image, SCO/MCO ratio) and, per
background, the pixel statistics of its real image's cells (``core.style.cell_statistics``:
what SAAA's ``'image_style'`` Pix2Pix paints with). Building them reads every image once;
``RealAssets.cached`` keeps them in a folder keyed by the content of the real set
(annotation file and images, ``hashing.source_digest``) and the settings, written
atomically and reused later. Objects keep their cells' categories.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core import DatasetStats, ObjectBank, extract_objects, read_image, remove_cells
from ..core.categories import load_categorised
from ..core.io import atomic_open
from ..core.style import CELL_STATS_VERSION, cell_statistics
from .hashing import source_digest, stable_hash

ASSETS_VERSION = 2  # 2: objects keep their cells' category ids
BACKGROUNDS_FILE = 'backgrounds.npz'
STATS_FILE = 'stats.json'
SETTINGS_FILE = 'settings.json'
# Per-background cell statistics; a file of its own (with CELL_STATS_VERSION), so folders
# written before it existed stay valid and get it added when asked for (``cached``).
CELL_STATS_FILE = 'cell_stats.npz'


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
        cell_stats: ``(n_backgrounds, 4 C)`` float32, per background
            ``core.style.cell_statistics`` of its real image and all the image's cell
            masks (NaN rows: images without cells); None when loaded from a folder written
            before they existed (``cached(..., with_cell_stats=True)`` adds them).
    """

    bank: ObjectBank
    backgrounds: list
    background_sources: list
    stats: DatasetStats
    settings: dict = field(default_factory=dict)
    cell_stats: np.ndarray = None

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
        scos, mcos, backgrounds, cell_stats = [], [], [], []
        for i, record in enumerate(tqdm(records, desc='objects + backgrounds',
                                        disable=not progress)):
            image = read_image(record.path)
            for obj in extract_objects(record, image):
                (scos if obj.kind == 'sco' else mcos).append(obj)
            cell_stats.append(cell_statistics(image, record.masks))
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
        return cls(bank, backgrounds, [r.file_name for r in records], stats, settings,
                   np.stack(cell_stats))

    @staticmethod
    def compute_cell_stats(ann_file, img_dir, sources, progress=True):
        """``cell_stats`` of the real set, in the order of ``sources`` (the
        ``background_sources`` they must match; ``ValueError`` otherwise)."""
        records = load_categorised(ann_file, img_dir)
        names = [r.file_name for r in records]
        if names != list(sources):
            raise ValueError(f'{ann_file}: its images do not match the backgrounds\' sources '
                             '(the assets were built from another set)')
        return np.stack([cell_statistics(read_image(r.path), r.masks)
                         for r in tqdm(records, desc='cell statistics', disable=not progress)])

    @staticmethod
    def folder_for(ann_file, img_dir, cache_root, **build_kwargs):
        """``cache_root/assets-<key>``: the key hashes the real set's content
        (``source_digest``: the annotation file and every image it lists; not their paths
        or mtimes) and every build setting."""
        key_settings = dict(build_kwargs, version=ASSETS_VERSION,
                            source=source_digest(ann_file, img_dir))
        return Path(cache_root) / f'assets-{stable_hash(key_settings)}'

    @classmethod
    def cached(cls, ann_file, img_dir, cache_root, progress=True, with_cell_stats=False,
               **build_kwargs):
        """Load the assets from ``folder_for(...)`` or build and save them there.

        ``with_cell_stats``: a folder written before ``cell_stats`` existed gets them
        computed from the real set and added (they depend on its content alone, which the
        folder's key covers); otherwise such a folder loads with ``cell_stats=None``.
        Returns ``(assets, folder)``.
        """
        folder = cls.folder_for(ann_file, img_dir, cache_root, **build_kwargs)
        if (folder / SETTINGS_FILE).is_file():
            assets = cls.load(folder)
            if with_cell_stats and assets.cell_stats is None:
                assets.cell_stats = cls.compute_cell_stats(
                    ann_file, img_dir, assets.background_sources, progress=progress)
                assets.save_cell_stats(folder)
            return assets, folder
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
        if self.cell_stats is not None:
            self.save_cell_stats(folder)
        with atomic_open(folder / SETTINGS_FILE, 'w', encoding='utf-8') as handle:
            json.dump(self.settings, handle, indent=1)

    def save_cell_stats(self, folder):
        """Write ``cell_stats`` (with ``core.style.CELL_STATS_VERSION``) into ``folder``."""
        with atomic_open(Path(folder) / CELL_STATS_FILE, 'wb') as handle:
            np.savez(handle, cell_stats=np.asarray(self.cell_stats, np.float32),
                     version=np.array(CELL_STATS_VERSION))

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
        cell_stats = None  # absent (older folder) or of another definition: recomputed
        if (folder / CELL_STATS_FILE).is_file():
            with np.load(folder / CELL_STATS_FILE) as data:
                if int(data['version']) == CELL_STATS_VERSION:
                    cell_stats = data['cell_stats']
        return cls(ObjectBank.load(folder), backgrounds, sources,
                   DatasetStats.load(folder / STATS_FILE), settings, cell_stats)

    @property
    def image_layout(self):
        """``(dtype, channel shape)`` shared by the backgrounds and the objects."""
        first = self.backgrounds[0]
        return first.dtype, first.shape[2:]
