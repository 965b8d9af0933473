"""Synthetic samples as a COCO instance dataset on disk: atomic, resumable, keyed.

Layout of a cache folder::

    images/000000.png ...      generated images (dtype and channels as generated)
    parts/000000.json ...      the annotations of each image, written with it
    contact_sheet.png          images beside their instance-mask overlays
    annotations.json           the COCO file: written last, so its presence = complete

Every file is written through a temporary file and ``os.replace``. An interrupted run
leaves images and parts that a rerun keeps (sample i depends only on the seed and i),
and readers only trust a folder whose ``annotations.json`` exists. The steps
(``missing_indices`` -> ``write_parts`` -> ``finish_coco_cache``) are public so that
several processes can share the parts (``shard_indices``; see ``parallel_cache``).
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
from tqdm import tqdm

from ..core.io import atomic_open, decode_rles, encode_masks, read_image, write_image
from .contact_sheet import write_contact_sheet

ANNOTATIONS_FILE = 'annotations.json'
CONTACT_SHEET_FILE = 'contact_sheet.png'


@dataclass
class SyntheticSample:
    """One generated image and its exact instance masks.

    Attributes:
        image: ``(H, W[, C])`` uint8/uint16. masks: ``(N, H, W)`` bool, disjoint.
        category_ids: ``(N,)`` int64 COCO category id of each mask (that of the real
            cell it shows, or the generator's one class).
    """

    image: np.ndarray
    masks: np.ndarray
    category_ids: np.ndarray

    def __post_init__(self):
        self.masks = np.asarray(self.masks, dtype=bool).reshape(-1, *self.image.shape[:2])
        self.category_ids = np.asarray(self.category_ids, dtype=np.int64).reshape(-1)
        if len(self.category_ids) != len(self.masks):
            raise ValueError(f'SyntheticSample: {len(self.category_ids)} category ids for '
                             f'{len(self.masks)} masks')


def _rle_json(rle):
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def sample_to_instances(sample, cat2label):
    """mmdet ``instances`` (xyxy box, label, RLE mask) of a ``SyntheticSample``.

    ``cat2label``: ``{category id: label}`` (``core.categories.category_labels``); masks
    of other categories are left out, as ``CocoDataset`` leaves out their annotations.
    """
    instances = []
    for rle, cat_id in zip(encode_masks(sample.masks), sample.category_ids):
        if cat_id not in cat2label:
            continue
        x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
        instances.append(dict(bbox=[x, y, x + w, y + h], bbox_label=cat2label[cat_id],
                              ignore_flag=0, mask=_rle_json(rle)))
    return instances


def _coco_annotations(sample, image_id):
    anns = []
    for rle, cat_id in zip(encode_masks(sample.masks), sample.category_ids):
        anns.append(dict(image_id=image_id, category_id=int(cat_id), iscrowd=0,
                         segmentation=_rle_json(rle),
                         area=int(mask_utils.area(rle)),
                         bbox=[float(v) for v in mask_utils.toBbox(rle)]))
    return anns


def part_path(folder, index):
    """``folder/parts/NNNNNN.json``: the annotations of sample ``index``, written with it."""
    return Path(folder) / 'parts' / f'{index:06d}.json'


def _write_part(folder, index, sample):
    name = f'{index:06d}.png'
    write_image(folder / 'images' / name, sample.image)
    height, width = sample.image.shape[:2]
    part = dict(image=dict(id=index + 1, file_name=name, height=height, width=width),
                annotations=_coco_annotations(sample, index + 1))
    with atomic_open(part_path(folder, index), 'w', encoding='utf-8') as handle:
        json.dump(part, handle)


def shard_indices(indices, shard):
    """The share of ``indices`` of process ``k`` of ``m`` (``shard=(k, m)``): every
    ``m``-th from the ``k``-th (of ``range(n)``: the ``i`` with ``i % m == k``)."""
    rank, world_size = shard
    if not 0 <= rank < world_size:
        raise ValueError(f'shard must be (k, m) with 0 <= k < m, got {shard!r}')
    return list(indices)[rank::world_size]


def missing_indices(folder, n_samples, shard=(0, 1)):
    """Sample indices of ``shard`` (see ``shard_indices``) in ``range(n_samples)`` whose
    part is not in ``folder`` yet."""
    return [i for i in shard_indices(range(n_samples), shard)
            if not part_path(folder, i).is_file()]


def write_parts(folder, indices, make_sample, progress=True):
    """Generate sample ``i`` with ``make_sample(i)`` for each of ``indices`` and write its
    image and part (each atomically)."""
    folder = Path(folder)
    (folder / 'parts').mkdir(parents=True, exist_ok=True)
    for index in tqdm(indices, desc=f'generate {folder.name}', disable=not progress):
        _write_part(folder, index, make_sample(index))


def is_complete(folder):
    """Whether ``folder`` holds a finished cache (its ``annotations.json``, written last)."""
    return (Path(folder) / ANNOTATIONS_FILE).is_file()


def _merge_parts(folder, n_samples, meta, categories):
    """The COCO dict of the ``n_samples`` parts of ``folder`` (annotation ids from 1)."""
    images, annotations = [], []
    for index in range(n_samples):
        part = json.loads(part_path(folder, index).read_text())
        images.append(part['image'])
        annotations.extend(part['annotations'])
    for ann_id, ann in enumerate(annotations, start=1):
        ann['id'] = ann_id
    return dict(info=dict(description='mmaug_is synthetic dataset', **meta),
                images=images, annotations=annotations, categories=list(categories))


def _write_sheet(folder, coco, max_images=12):
    """Contact sheet of the first ``max_images`` images of ``coco`` (images without
    instances drawn plain) to ``folder/contact_sheet.png``."""
    by_image = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann['segmentation'])
    items = []
    for info in coco['images'][:max_images]:
        rles = [dict(size=r['size'], counts=r['counts'].encode()) for r in
                by_image.get(info['id'], [])]
        items.append((read_image(folder / 'images' / info['file_name']),
                      decode_rles(rles, info['height'], info['width'])))
    write_contact_sheet(folder / CONTACT_SHEET_FILE, items)


def finish_coco_cache(folder, n_samples, categories, meta=None):
    """Merge the ``n_samples`` parts of ``folder``, draw its contact sheet, then write
    ``annotations.json`` (last). A finished cache is kept as it is (its contact sheet
    redrawn if it was deleted). Returns the path of ``annotations.json``.

    ``categories``, ``meta``: as ``ensure_coco_cache``. Raises ``FileNotFoundError`` naming
    the first missing part.
    """
    folder = Path(folder)
    ann_file = folder / ANNOTATIONS_FILE
    if is_complete(folder):
        if not (folder / CONTACT_SHEET_FILE).is_file():
            _write_sheet(folder, json.loads(ann_file.read_text()))
        return ann_file
    missing = missing_indices(folder, n_samples)
    if missing:
        raise FileNotFoundError(f'{part_path(folder, missing[0])} not written: '
                                f'{len(missing)} of {n_samples} samples are missing')
    coco = _merge_parts(folder, n_samples, dict(meta or {}, n_samples=n_samples), categories)
    _write_sheet(folder, coco)
    with atomic_open(ann_file, 'w', encoding='utf-8') as handle:
        json.dump(coco, handle)
    return ann_file


def ensure_coco_cache(folder, n_samples, make_sample, categories, meta=None, progress=True):
    """Make ``folder`` hold ``n_samples`` generated samples as a COCO dataset, in this
    process (``parallel_cache`` shares the work among several).

    Args:
        folder: the cache folder (its name should carry the key of all inputs).
        n_samples: number of images.
        make_sample: ``f(index) -> SyntheticSample``; must depend on ``index`` only (and
            the generator's fixed settings), so a resumed run writes identical files.
        categories: the COCO category dicts the samples' ``category_ids`` refer to, in
            the order of the real file (mmdet labels them in that order).
        meta: JSON-able description stored in the COCO ``info`` (settings, key).
    Returns the path of ``annotations.json``. A complete cache is returned untouched
    (its contact sheet is redrawn if it was deleted). ``annotations.json`` is written last,
    after the contact sheet, so its presence means every file of the cache exists.
    """
    if not is_complete(folder):
        write_parts(folder, missing_indices(folder, n_samples), make_sample, progress)
    return finish_coco_cache(folder, n_samples, categories, meta)
