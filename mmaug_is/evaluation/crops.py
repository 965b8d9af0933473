"""Image sets at the paper's three evaluation levels: SCO crops, MCO crops, full images.

A source is either

* a COCO dataset, written ``ann.json:img_dir``: full images are the dataset's images; SCO
  and MCO crops are cut with ``mmaug_is.core.objects.extract_objects`` (crop = union box of
  the object's instances, objects touching the border dropped), or
* a folder of images: a plain folder holds full images only; a folder with ``sco/``,
  ``mco/`` and/or ``full/`` sub-folders holds one image set per level (e.g. generated
  crops). Images are found recursively with the suffixes in ``IMAGE_SUFFIXES``.

``max_images`` keeps a seeded random subset of the *source* images (COCO images, or the
files of each level folder) so long evaluations can be subsampled reproducibly.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmaug_is.core.io import load_coco_instances, read_image
from mmaug_is.core.objects import extract_objects
from mmaug_is.synth.hashing import file_digest

LEVELS = ('sco', 'mco', 'full')
IMAGE_SUFFIXES = ('.png', '.tif', '.tiff', '.jpg', '.jpeg', '.bmp')


@dataclass(frozen=True)
class CocoSource:
    """A COCO instance-annotation file and the folder of its images."""

    ann_file: Path
    img_dir: Path

    def __str__(self):
        return f'{self.ann_file}:{self.img_dir}'


@dataclass(frozen=True)
class FolderSource:
    """A folder of images (optionally with ``sco``/``mco``/``full`` sub-folders)."""

    root: Path

    def __str__(self):
        return str(self.root)


def parse_source(spec):
    """Parse ``'ann.json:img_dir'`` into a ``CocoSource`` or a folder path into a ``FolderSource``.

    Raises ``FileNotFoundError`` naming what is missing.
    """
    spec = str(spec)
    marker = spec.lower().find('.json:')
    if marker >= 0:
        ann_file = Path(spec[:marker + len('.json')])
        img_dir = Path(spec[marker + len('.json:'):])
        if not ann_file.is_file():
            raise FileNotFoundError(f'source {spec!r}: annotation file {ann_file} not found')
        if not img_dir.is_dir():
            raise FileNotFoundError(f'source {spec!r}: image folder {img_dir} not found')
        return CocoSource(ann_file, img_dir)
    root = Path(spec)
    if root.is_dir():
        return FolderSource(root)
    raise FileNotFoundError(f'source {spec!r} is neither a folder of images nor '
                            "'ann.json:img_dir' with both parts existing")


def list_images(folder):
    """Sorted image files (``IMAGE_SUFFIXES``, any case) under ``folder``, recursively."""
    return sorted(p for p in Path(folder).rglob('*')
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _subsample(items, max_images, seed):
    """A seeded random subset of ``max_images`` items, kept in their original order."""
    if max_images is None or len(items) <= max_images:
        return list(items)
    keep = np.sort(np.random.default_rng(seed).choice(len(items), max_images, replace=False))
    return [items[i] for i in keep]


class LevelImages:
    """The selected images of one source, turned into per-level image sets on demand.

    Args:
        source: ``CocoSource``, ``FolderSource`` or a spec string for ``parse_source``.
        levels: levels to provide (subset of ``LEVELS``).
        border_margin: passed to ``extract_objects`` (COCO sources).
        max_images: keep at most this many source images (seeded subset), ``None`` = all.
        seed: seed of that subset.
    Raises ``ValueError`` for unknown levels or levels a folder source cannot provide.
    """

    def __init__(self, source, levels=LEVELS, border_margin=1, max_images=None, seed=0):
        if not isinstance(source, (CocoSource, FolderSource)):
            source = parse_source(source)
        self.source = source
        self.levels = tuple(levels)
        unknown = [lv for lv in self.levels if lv not in LEVELS]
        if unknown or not self.levels:
            raise ValueError(f'levels must be a non-empty subset of {LEVELS}, got {levels}')
        if max_images is not None and max_images < 1:
            raise ValueError(f'max_images must be >= 1 or None, got {max_images}')
        self.border_margin = int(border_margin)
        self.max_images = max_images
        self.seed = int(seed)
        if isinstance(self.source, CocoSource):
            records = load_coco_instances(self.source.ann_file, self.source.img_dir)
            self.records = _subsample(records, max_images, seed)
            self.n_available = {level: len(records) for level in self.levels}
        else:
            self.files, self.n_available = self._level_files()

    def _level_files(self):
        root = self.source.root
        level_dirs = {lv: root / lv for lv in LEVELS if (root / lv).is_dir()}
        files, available = {}, {}
        for level in self.levels:
            if level_dirs:
                if level not in level_dirs:
                    raise ValueError(f'{root}: has level sub-folders {sorted(level_dirs)} but '
                                     f'no {level!r} sub-folder')
                folder = level_dirs[level]
            elif level == 'full':
                folder = root
            else:
                raise ValueError(f'{root}: a plain image folder holds full images only; put '
                                 f'{level.upper()} crops in {root / level} or use a COCO '
                                 "'ann.json:img_dir' source")
            found = list_images(folder)
            if not found:
                raise ValueError(f'{folder}: no images with suffixes {IMAGE_SUFFIXES}')
            files[level] = _subsample(found, self.max_images, self.seed)
            available[level] = len(found)
        return files, available

    @property
    def n_source_images(self):
        """``{level: number of selected source images}`` (COCO images or level-folder files).

        ``n_available`` holds the same counts before ``max_images`` subsampling.
        """
        if isinstance(self.source, CocoSource):
            return {level: len(self.records) for level in self.levels}
        return {level: len(files) for level, files in self.files.items()}

    def fingerprint(self, level):
        """JSON-serialisable description of the inputs of ``level`` (file content hashes)."""
        base = dict(level=level, max_images=self.max_images, seed=self.seed)
        if isinstance(self.source, CocoSource):
            return dict(base, kind='coco', border_margin=self.border_margin,
                        ann_sha256=file_digest(self.source.ann_file),
                        images=[[r.file_name, file_digest(r.path)] for r in self.records])
        root = self.source.root
        return dict(base, kind='folder',
                    images=[[str(p.relative_to(root)), file_digest(p)]
                            for p in self.files[level]])

    def count_hint(self, levels):
        """Number of images ``iter_items(levels)`` yields when known without cropping, else None."""
        if isinstance(self.source, FolderSource):
            return sum(len(self.files[level]) for level in levels)
        return len(self.records) if tuple(levels) == ('full',) else None

    def iter_items(self, levels=None):
        """Yield ``(level, image)`` for the requested levels in a deterministic order.

        COCO sources read each image once and yield its full image and then its objects.
        """
        levels = self.levels if levels is None else tuple(levels)
        bad = [lv for lv in levels if lv not in self.levels]
        if bad:
            raise ValueError(f'levels {bad} were not selected for {self.source}')
        if isinstance(self.source, FolderSource):
            for level in levels:
                for path in self.files[level]:
                    yield level, read_image(path)
            return
        want_objects = {lv for lv in levels if lv != 'full'}
        for record in self.records:
            image = read_image(record.path)
            if 'full' in levels:
                yield 'full', image
            if want_objects:
                for obj in extract_objects(record, image, self.border_margin):
                    if obj.kind in want_objects:
                        yield obj.kind, obj.image

    def samples(self, k):
        """Up to ``k`` images per level (the first ones in ``iter_items`` order)."""
        found = {level: [] for level in self.levels}
        for level, image in self.iter_items():
            if len(found[level]) < k:
                found[level].append(image)
            if all(len(v) >= k for v in found.values()):
                break
        return found

    def __repr__(self):
        return (f'{type(self).__name__}(source={str(self.source)!r}, levels={self.levels}, '
                f'border_margin={self.border_margin}, max_images={self.max_images}, '
                f'seed={self.seed})')
