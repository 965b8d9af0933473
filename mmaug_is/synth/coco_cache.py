"""Synthetic samples as a COCO instance dataset on disk: atomic, resumable, keyed.

Layout of a cache folder::

    images/000000.png ...      generated images (dtype and channels as generated)
    parts/000000.json ...      the annotations of each image, written with it
    annotations.json           the COCO file: written last, so its presence = complete
    contact_sheet.png          images beside their instance-mask overlays

Every file is written through a temporary file and ``os.replace``. An interrupted run
leaves images and parts that a rerun keeps (sample i depends only on the seed and i),
and readers only trust a folder whose ``annotations.json`` exists.
"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
from tqdm import tqdm

from ..core.io import atomic_open, encode_masks, read_image, write_image
from .contact_sheet import write_contact_sheet

ANNOTATIONS_FILE = 'annotations.json'
CONTACT_SHEET_FILE = 'contact_sheet.png'
CATEGORY = dict(id=1, name='nucleus', supercategory='cell')


@dataclass
class SyntheticSample:
    """One generated image and its exact instance masks.

    Attributes:
        image: ``(H, W[, C])`` uint8/uint16. masks: ``(N, H, W)`` bool, disjoint.
    """

    image: np.ndarray
    masks: np.ndarray

    def __post_init__(self):
        self.masks = np.asarray(self.masks, dtype=bool).reshape(-1, *self.image.shape[:2])


def _rle_json(rle):
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def sample_to_instances(masks):
    """mmdet ``instances`` (xyxy box, label 0, RLE mask) for ``(N, H, W)`` bool masks."""
    rles = encode_masks(masks)
    instances = []
    for rle in rles:
        x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
        instances.append(dict(bbox=[x, y, x + w, y + h], bbox_label=0, ignore_flag=0,
                              mask=_rle_json(rle)))
    return instances


def _coco_annotations(masks, image_id):
    rles = encode_masks(masks)
    anns = []
    for rle in rles:
        anns.append(dict(image_id=image_id, category_id=CATEGORY['id'], iscrowd=0,
                         segmentation=_rle_json(rle),
                         area=int(mask_utils.area(rle)),
                         bbox=[float(v) for v in mask_utils.toBbox(rle)]))
    return anns


def _write_part(folder, index, sample):
    name = f'{index:06d}.png'
    write_image(folder / 'images' / name, sample.image)
    height, width = sample.image.shape[:2]
    part = dict(image=dict(id=index + 1, file_name=name, height=height, width=width),
                annotations=_coco_annotations(sample.masks, index + 1))
    with atomic_open(folder / 'parts' / f'{index:06d}.json', 'w', encoding='utf-8') as handle:
        json.dump(part, handle)


def _merge_parts(folder, n_samples, meta):
    images, annotations = [], []
    for index in range(n_samples):
        part = json.loads((folder / 'parts' / f'{index:06d}.json').read_text())
        images.append(part['image'])
        annotations.extend(part['annotations'])
    for ann_id, ann in enumerate(annotations, start=1):
        ann['id'] = ann_id
    coco = dict(info=dict(description='mmaug_is synthetic dataset', **meta),
                images=images, annotations=annotations, categories=[CATEGORY])
    with atomic_open(folder / ANNOTATIONS_FILE, 'w', encoding='utf-8') as handle:
        json.dump(coco, handle)


def _write_sheet(folder, n_samples, max_images=12):
    coco = json.loads((folder / ANNOTATIONS_FILE).read_text())
    by_image = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann['segmentation'])
    items = []
    for info in coco['images'][:min(max_images, n_samples)]:
        rles = [dict(size=r['size'], counts=r['counts'].encode()) for r in
                by_image.get(info['id'], [])]
        masks = (mask_utils.decode(rles).transpose(2, 0, 1).astype(bool) if rles
                 else np.zeros((0, info['height'], info['width']), bool))
        items.append((read_image(folder / 'images' / info['file_name']), masks))
    write_contact_sheet(folder / CONTACT_SHEET_FILE, items)


def ensure_coco_cache(folder, n_samples, make_sample, meta=None, progress=True):
    """Make ``folder`` hold ``n_samples`` generated samples as a COCO dataset.

    Args:
        folder: the cache folder (its name should carry the key of all inputs).
        n_samples: number of images.
        make_sample: ``f(index) -> SyntheticSample``; must depend on ``index`` only (and
            the generator's fixed settings), so a resumed run writes identical files.
        meta: JSON-able description stored in the COCO ``info`` (settings, key).
    Returns the path of ``annotations.json``. A complete cache is returned untouched.
    """
    folder = Path(folder)
    ann_file = folder / ANNOTATIONS_FILE
    if ann_file.is_file():
        return ann_file
    (folder / 'parts').mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(n_samples) if not (folder / 'parts' / f'{i:06d}.json').is_file()]
    for index in tqdm(todo, desc=f'generate {folder.name}', disable=not progress):
        _write_part(folder, index, make_sample(index))
    _merge_parts(folder, n_samples, dict(meta or {}, n_samples=n_samples))
    _write_sheet(folder, n_samples)
    return ann_file
