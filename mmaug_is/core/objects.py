"""Cell objects (paper 2.4): isolated cells (SCOs) and touching clusters (MCOs).

An object is the crop of its instances' union box with one exact mask per instance in
crop coordinates. ``ObjectBank`` collects the objects of a dataset and stores them in a
single ``.npz`` file.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm import tqdm

from .io import atomic_open, load_coco_instances, read_image

KINDS = ('sco', 'mco')
BANK_FILE = 'object_bank.npz'
BANK_FORMAT = 2  # 2: objects keep their cells' category ids


@dataclass
class CellObject:
    """One SCO or MCO cut from a real image.

    Attributes:
        image: ``(h, w)`` or ``(h, w, C)`` crop (dtype of the source image).
        masks: ``(n, h, w)`` bool, one exact mask per cell, in crop coordinates.
        kind: ``'sco'`` (n == 1) or ``'mco'`` (n >= 2).
        source: file name of the source image.
        bbox_xyxy: ``(4,)`` int64 crop box in the source image (``x2``/``y2`` exclusive).
        ann_ids: annotation ids of the cells (provenance).
        category_ids: COCO category id of each cell (default: 1 for every cell, as
            ``ImageRecord``).
    """

    image: np.ndarray
    masks: np.ndarray
    kind: str
    source: str
    bbox_xyxy: np.ndarray
    ann_ids: tuple = field(default=())
    category_ids: tuple = None

    def __post_init__(self):
        self.masks = np.asarray(self.masks, dtype=bool)
        self.bbox_xyxy = np.asarray(self.bbox_xyxy, dtype=np.int64).reshape(4)
        self.ann_ids = tuple(int(a) for a in self.ann_ids)
        self.category_ids = tuple(int(c) for c in (
            (1, ) * len(self.masks) if self.category_ids is None else self.category_ids))
        if len(self.category_ids) != len(self.masks):
            raise ValueError(f'{self.source}: {len(self.category_ids)} category ids for '
                             f'{len(self.masks)} cells')
        if self.kind not in KINDS:
            raise ValueError(f'{self.source}: kind must be one of {KINDS}, got {self.kind!r}')
        if self.masks.ndim != 3 or self.masks.shape[1:] != self.image.shape[:2]:
            raise ValueError(f'{self.source}: masks {self.masks.shape} do not match the crop '
                             f'{self.image.shape}')
        expected = 'sco' if len(self.masks) == 1 else 'mco'
        if self.kind != expected:
            raise ValueError(f'{self.source}: an object with {len(self.masks)} cells must be '
                             f'{expected!r}, got {self.kind!r}')

    @property
    def n_cells(self):
        """Number of cells (instances) in the object."""
        return len(self.masks)

    @property
    def mask_union(self):
        """``(h, w)`` bool union of the cell masks."""
        return self.masks.any(axis=0)


def masks_to_boxes(masks):
    """Tight ``(N, 4)`` int64 xyxy boxes (exclusive ``x2``/``y2``) of ``(N, H, W)`` masks.

    Empty masks get ``[0, 0, 0, 0]``.
    """
    masks = np.asarray(masks, dtype=bool)
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    boxes = np.stack([cols.argmax(axis=1), rows.argmax(axis=1),
                      cols.shape[1] - cols[:, ::-1].argmax(axis=1),
                      rows.shape[1] - rows[:, ::-1].argmax(axis=1)], axis=1).astype(np.int64)
    boxes[~rows.any(axis=1)] = 0
    return boxes


def group_instances(masks, boxes):
    """Group instances whose masks touch (8-connectivity) or whose boxes overlap.

    Args:
        masks: ``(N, H, W)`` bool. boxes: ``(N, 4)`` xyxy, exclusive ``x2``/``y2``.
    Returns ``(N,)`` int group label per instance (0..G-1, ordered by first member).
    """
    n = len(masks)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64)
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    overlap = ((x1[:, None] < x2[None]) & (x1[None] < x2[:, None])
               & (y1[:, None] < y2[None]) & (y1[None] < y2[:, None]))
    rows, cols = np.nonzero(overlap)
    # Touching masks: compare a label image with itself shifted by the four half-neighbours
    # of 8-connectivity. Overlapping masks always have overlapping boxes, so the label
    # image (last instance wins) loses no edge.
    labels = np.zeros(masks.shape[1:], dtype=np.int32)
    for i in range(n):
        labels[masks[i]] = i + 1
    pairs = [(labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :]),
             (labels[:-1, :-1], labels[1:, 1:]), (labels[:-1, 1:], labels[1:, :-1])]
    a = np.concatenate([p[0].ravel() for p in pairs])
    b = np.concatenate([p[1].ravel() for p in pairs])
    touch = (a > 0) & (b > 0) & (a != b)
    rows = np.concatenate([rows, a[touch] - 1])
    cols = np.concatenate([cols, b[touch] - 1])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels_cc = connected_components(graph, directed=False)
    # Renumber groups by their first member so the order is stable.
    _, first = np.unique(labels_cc, return_index=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[labels_cc]


def extract_objects(record, image, border_margin=1):
    """Cut the SCOs and MCOs of one annotated image.

    Args:
        record: ``ImageRecord``. image: its pixels (``read_image(record.path)``).
        border_margin: objects whose union box comes closer than this many pixels to the
            image border are dropped (cells cut by the border are partial, paper 2.4).
    Returns a list of ``CellObject`` in order of their first instance. Records without
    instances give an empty list.
    """
    height, width = image.shape[:2]
    if (height, width) != (record.height, record.width):
        raise ValueError(f'{record.path}: image is {height}x{width} but the annotation says '
                         f'{record.height}x{record.width}')
    if len(record) == 0:
        return []
    masks = record.masks
    boxes = record.boxes.astype(np.int64)
    groups = group_instances(masks, boxes)
    objects = []
    for g in range(groups.max() + 1):
        members = np.flatnonzero(groups == g)
        x1, y1 = boxes[members, :2].min(axis=0)
        x2, y2 = boxes[members, 2:].max(axis=0)
        if (x1 < border_margin or y1 < border_margin or x2 > width - border_margin
                or y2 > height - border_margin):
            continue
        objects.append(CellObject(
            image=image[y1:y2, x1:x2].copy(),
            masks=masks[members, y1:y2, x1:x2].copy(),
            kind='sco' if len(members) == 1 else 'mco',
            source=record.file_name,
            bbox_xyxy=np.array([x1, y1, x2, y2]),
            ann_ids=tuple(record.ann_ids[members]),
            category_ids=tuple(record.category_ids[members])))
    return objects


def _layout(image):
    """``'<dtype> grey'`` or ``'<dtype> <C>-channel'`` of an image."""
    return f'{image.dtype} {"grey" if image.ndim == 2 else f"{image.shape[2]}-channel"}'


class ObjectBank:
    """The SCOs and MCOs of a dataset; all share one image dtype and channel layout.

    ``scos`` and ``mcos`` are lists of ``CellObject``. Save/load keeps every pixel and
    mask bit exactly.
    """

    def __init__(self, scos=(), mcos=()):
        self.scos = list(scos)
        self.mcos = list(mcos)
        for kind, objs in (('sco', self.scos), ('mco', self.mcos)):
            bad = [o.source for o in objs if o.kind != kind]
            if bad:
                raise ValueError(f'ObjectBank.{kind}s holds objects of another kind from {bad[:3]}')
        first_of = {}  # layout -> source image of its first object
        for obj in self.scos + self.mcos:
            first_of.setdefault(_layout(obj.image), obj.source)
        if len(first_of) > 1:
            kinds = ', '.join(f'{layout} (e.g. {source})' for layout, source in first_of.items())
            raise ValueError(f'ObjectBank objects mix image dtypes/channel layouts: {kinds}; '
                             'the source images must share one')

    def __len__(self):
        return len(self.scos) + len(self.mcos)

    def __repr__(self):
        return f'ObjectBank(scos={len(self.scos)}, mcos={len(self.mcos)}, cells={self.n_cells})'

    @property
    def n_cells(self):
        """Total number of cells over all objects."""
        return len(self.scos) + sum(o.n_cells for o in self.mcos)

    @property
    def objects(self):
        """All objects, SCOs first."""
        return self.scos + self.mcos

    def subset(self, keep):
        """New bank with the objects for which ``keep(obj)`` is true (e.g. one modality)."""
        return ObjectBank([o for o in self.scos if keep(o)], [o for o in self.mcos if keep(o)])

    @classmethod
    def from_records(cls, records, border_margin=1, progress=True):
        """Extract the objects of every record (reads each image once)."""
        scos, mcos = [], []
        for record in tqdm(records, desc='extract objects', disable=not progress):
            for obj in extract_objects(record, read_image(record.path), border_margin):
                (scos if obj.kind == 'sco' else mcos).append(obj)
        return cls(scos, mcos)

    @classmethod
    def from_coco(cls, ann_file, img_dir, border_margin=1, progress=True):
        """Load a COCO instance file and extract its objects."""
        records = load_coco_instances(ann_file, img_dir)
        return cls.from_records(records, border_margin, progress)

    def save(self, directory):
        """Write the bank to ``directory/object_bank.npz`` atomically; returns the path."""
        objs = self.objects
        path = Path(directory) / BANK_FILE
        meta = [dict(kind=o.kind, source=o.source, ann_ids=list(o.ann_ids),
                     category_ids=list(o.category_ids)) for o in objs]
        mask_bits = [o.masks.ravel() for o in objs]
        arrays = dict(
            format=np.array(BANK_FORMAT),
            meta=np.array(json.dumps(meta)),
            image_shapes=np.array([o.image.shape[:2] for o in objs], dtype=np.int64
                                  ).reshape(-1, 2),
            n_cells=np.array([o.n_cells for o in objs], dtype=np.int64),
            bboxes=np.array([o.bbox_xyxy for o in objs], dtype=np.int64).reshape(-1, 4),
            pixels=(np.concatenate([o.image.ravel() for o in objs]) if objs
                    else np.zeros(0, np.uint8)),
            channel_shape=np.array(objs[0].image.shape[2:] if objs else (), dtype=np.int64),
            mask_bits=np.packbits(np.concatenate(mask_bits) if objs else np.zeros(0, bool)),
            n_mask_bits=np.array(sum(m.size for m in mask_bits)),
        )
        with atomic_open(path, 'wb') as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, directory):
        """Read a bank written by ``save``."""
        path = Path(directory) / BANK_FILE
        if not path.is_file():
            raise FileNotFoundError(f'no object bank at {path}')
        with np.load(path) as data:
            if int(data['format']) != BANK_FORMAT:
                raise ValueError(f'{path}: unsupported bank format {int(data["format"])} '
                                 f'(this version reads {BANK_FORMAT}); rebuild the bank')
            meta = json.loads(str(data['meta']))
            shapes, n_cells = data['image_shapes'], data['n_cells']
            bboxes, pixels = data['bboxes'], data['pixels']
            channel_shape = tuple(int(c) for c in data['channel_shape'])
            bits = np.unpackbits(data['mask_bits'], count=int(data['n_mask_bits'])).astype(bool)
        n_channels = int(np.prod(channel_shape)) if channel_shape else 1
        scos, mcos = [], []
        pix_at = bit_at = 0
        for info, (h, w), n, bbox in zip(meta, shapes, n_cells, bboxes):
            size = h * w
            image = pixels[pix_at:pix_at + size * n_channels].reshape((h, w) + channel_shape)
            masks = bits[bit_at:bit_at + n * size].reshape(n, h, w)
            pix_at += size * n_channels
            bit_at += n * size
            obj = CellObject(image.copy(), masks.copy(), info['kind'], info['source'], bbox,
                             tuple(info['ann_ids']), tuple(info['category_ids']))
            (scos if obj.kind == 'sco' else mcos).append(obj)
        if pix_at != len(pixels) or bit_at != len(bits):
            raise ValueError(f'{path}: corrupt bank (sizes do not add up)')
        return cls(scos, mcos)
