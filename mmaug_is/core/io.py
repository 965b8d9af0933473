"""Image and COCO-annotation input/output with exact instance masks.

Images are returned in the dtype (uint8 / uint16) and channel layout they were stored in
(grey ``(H, W)``, colour ``(H, W, 3)`` in RGB order); alpha channels are dropped.
Instance masks are exact: COCO RLE (compressed or uncompressed) and polygons are decoded
with pycocotools and validated against the image size before anything is decoded.
"""
import contextlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import pycocotools.mask as mask_utils

SUPPORTED_DTYPES = (np.uint8, np.uint16)
# Polygon vertices may lie this far (pixels) outside [0, width] x [0, height] (float noise).
POLYGON_TOLERANCE = 0.5


class ImageReadError(ValueError):
    """An image file is missing, unreadable, or in an unsupported format."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f'cannot read image {self.path}: {reason}')


class AnnotationError(ValueError):
    """A COCO annotation file is empty, malformed or inconsistent with its images."""


@contextlib.contextmanager
def atomic_open(path, mode='wb', encoding=None):
    """Open a temporary file beside ``path``; on success move it onto ``path`` atomically.

    The one atomic writer of the package: anything that can write to a file object
    (``json.dump``, ``torch.save``, ``np.savez``) writes through it. Parent folders are
    created. If the ``with`` block raises, the temporary file is removed and ``path`` is
    untouched (a reader never sees half a file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file ordinary permissions
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_json(path, data, indent=2):
    """Write ``data`` as ``indent``-indented JSON plus a final newline, atomically."""
    with atomic_open(path, 'w', encoding='utf-8') as handle:
        json.dump(data, handle, indent=indent)
        handle.write('\n')
    return Path(path)


def read_image(path):
    """Read an image file in its stored dtype and channels (PNG, TIFF, JPEG, ...).

    Returns ``(H, W)`` for grey or ``(H, W, 3)`` RGB arrays of dtype uint8 or uint16;
    an alpha channel is dropped. An EXIF orientation tag (JPEG, TIFF, ...) is applied, as
    mmcv's ``imread`` / mmdet's ``LoadImageFromFile`` do, so cells are cut from the pixels
    the detector sees.
    Raises ``ImageReadError`` naming the path for missing, empty, corrupt, multi-page or
    unsupported (dtype) files.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise ImageReadError(path, 'file not found') from None
    except IsADirectoryError:
        raise ImageReadError(path, 'is a directory') from None
    except OSError as err:
        raise ImageReadError(path, str(err)) from None
    if data.size == 0:
        raise ImageReadError(path, 'file is empty')
    # not IMREAD_UNCHANGED: with that flag (only) OpenCV ignores the EXIF orientation
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        raise ImageReadError(path, 'not a decodable image (corrupt or unsupported format)')
    if path.suffix.lower() in ('.tif', '.tiff'):
        n_pages = cv2.imcount(str(path))
        if n_pages > 1:
            raise ImageReadError(
                path, f'multi-page TIFF with {n_pages} pages; store one image per file')
    if image.dtype not in SUPPORTED_DTYPES:
        raise ImageReadError(path, f'unsupported dtype {image.dtype} (uint8 or uint16 only)')
    if image.ndim == 3:  # IMREAD_ANYCOLOR: 3 channels (BGR), alpha dropped
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def write_image(path, image):
    """Write a grey or RGB uint8/uint16 image atomically; the format follows the suffix."""
    path = Path(path)
    image = np.asarray(image)
    if image.dtype not in SUPPORTED_DTYPES:
        raise ValueError(f'cannot write {path}: dtype {image.dtype} is not uint8/uint16')
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1)):
        raise ValueError(f'cannot write {path}: shape {image.shape} is not (H, W[, 1|3])')
    ok, buf = cv2.imencode(path.suffix or '.png', image)
    if not ok:
        raise ValueError(f'cannot encode {path} as {path.suffix}')
    with atomic_open(path, 'wb') as handle:
        handle.write(buf.tobytes())


class ImageRecord:
    """One annotated image: its file and its instances (compact RLE, decoded on demand).

    Attributes:
        file_name (str): file name as given in the annotation file.
        path (str): full path of the image file.
        height, width (int): image size in pixels.
        rles (list[dict]): compressed COCO RLE per instance.
        boxes (np.ndarray): ``(N, 4)`` float32 ``x1, y1, x2, y2`` in pixels, ``x2``/``y2``
            exclusive (the tight box of each mask).
        image_id (int | None), ann_ids (np.ndarray (N,) int64), category_ids (np.ndarray).
    ``masks`` decodes to ``(N, H, W)`` bool each time it is read (records stay small).
    """

    def __init__(self, file_name, path, height, width, masks=None, boxes=None, *,
                 rles=None, image_id=None, ann_ids=None, category_ids=None):
        self.file_name = str(file_name)
        self.path = str(path)
        self.height, self.width = int(height), int(width)
        if (masks is None) == (rles is None):
            raise ValueError('give exactly one of masks or rles')
        if masks is not None:
            masks = np.asarray(masks, dtype=bool)
            if masks.ndim != 3 or masks.shape[1:] != (self.height, self.width):
                raise ValueError(f'{self.file_name}: masks of shape {masks.shape} do not '
                                 f'match the image size {(self.height, self.width)}')
            rles = encode_masks(masks)
        self.rles = list(rles)
        n = len(self.rles)
        if boxes is None:
            boxes = rle_boxes(self.rles)
        self.boxes = np.asarray(boxes, dtype=np.float32).reshape(n, 4)
        self.image_id = image_id
        self.ann_ids = (np.arange(n, dtype=np.int64) if ann_ids is None
                        else np.asarray(ann_ids, dtype=np.int64).reshape(n))
        self.category_ids = (np.ones(n, dtype=np.int64) if category_ids is None
                             else np.asarray(category_ids, dtype=np.int64).reshape(n))

    def __len__(self):
        return len(self.rles)

    @property
    def masks(self):
        """``(N, H, W)`` bool instance masks (freshly decoded)."""
        return decode_rles(self.rles, self.height, self.width)

    def __repr__(self):
        return (f'ImageRecord(file_name={self.file_name!r}, size={self.height}x{self.width}, '
                f'instances={len(self)})')


def encode_masks(masks):
    """Encode ``(N, H, W)`` bool masks as a list of compressed COCO RLE dicts."""
    masks = np.asarray(masks, dtype=bool)
    if len(masks) == 0:
        return []
    return mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))


def decode_rles(rles, height, width):
    """Decode compressed RLEs to ``(N, H, W)`` bool masks."""
    if len(rles) == 0:
        return np.zeros((0, height, width), dtype=bool)
    with warnings.catch_warnings():  # pycocotools' own numpy-2 copy-keyword warning
        warnings.simplefilter('ignore', DeprecationWarning)
        decoded = mask_utils.decode(list(rles))  # (H, W, N) uint8, Fortran order
    return np.ascontiguousarray(decoded.transpose(2, 0, 1)).astype(bool)


def rle_boxes(rles):
    """Tight ``(N, 4)`` float32 xyxy boxes (exclusive ``x2``/``y2``) of compressed RLEs."""
    if len(rles) == 0:
        return np.zeros((0, 4), dtype=np.float32)
    xywh = mask_utils.toBbox(list(rles)).astype(np.float32)
    xywh[:, 2:] += xywh[:, :2]
    return xywh


def _rle_string_counts(counts):
    """Run lengths encoded in a compressed COCO RLE string (pycocotools' rleFrString)."""
    data = counts.encode('ascii') if isinstance(counts, str) else bytes(counts)
    runs, pos = [], 0
    while pos < len(data):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(data):
                raise ValueError('truncated RLE string')
            char = data[pos] - 48
            if char < 0 or char > 63:
                raise ValueError(f'invalid character {chr(data[pos])!r} in RLE string')
            value |= (char & 0x1F) << (5 * shift)
            more = bool(char & 0x20)
            pos += 1
            shift += 1
            if not more and char & 0x10:
                value |= -1 << (5 * shift)
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def _segmentation_to_rle(seg, height, width, where):
    """Validate one COCO ``segmentation`` and return it as a compressed RLE dict."""
    if isinstance(seg, dict):
        if 'counts' not in seg or 'size' not in seg:
            raise AnnotationError(f'{where}: RLE needs "size" and "counts"')
        size = [int(v) for v in seg['size']]
        if size != [height, width]:
            raise AnnotationError(f'{where}: mask size {size[0]}x{size[1]} does not match '
                                  f'the image size {height}x{width}')
        counts = seg['counts']
        if isinstance(counts, list):
            runs = counts
        else:
            try:
                runs = _rle_string_counts(counts)
            except ValueError as err:
                raise AnnotationError(f'{where}: malformed compressed RLE ({err})') from None
        if any(r < 0 for r in runs) or sum(runs) != height * width:
            raise AnnotationError(f'{where}: RLE runs cover {sum(runs)} pixels (with '
                                  f'negatives: {any(r < 0 for r in runs)}), the image has '
                                  f'{height * width}')
        if isinstance(counts, list):
            return mask_utils.frPyObjects(seg, height, width)
        return {'size': size, 'counts': counts.encode('ascii') if isinstance(counts, str)
                else counts}
    if isinstance(seg, list) and seg:
        polygons = []
        for poly in seg:
            xy = np.asarray(poly, dtype=np.float64)
            if xy.ndim != 1 or xy.size < 6 or xy.size % 2:
                raise AnnotationError(f'{where}: a polygon needs >= 3 (x, y) pairs, got '
                                      f'{xy.size} numbers')
            xs, ys = xy[0::2], xy[1::2]
            tol = POLYGON_TOLERANCE
            if (xs.min() < -tol or ys.min() < -tol or xs.max() > width + tol
                    or ys.max() > height + tol):
                raise AnnotationError(
                    f'{where}: polygon runs outside the {width}x{height} image '
                    f'(x in [{xs.min():g}, {xs.max():g}], y in [{ys.min():g}, {ys.max():g}])')
            polygons.append(xy.tolist())
        return mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    raise AnnotationError(f'{where}: segmentation must be an RLE dict or a non-empty list '
                          f'of polygons, got {type(seg).__name__}')


def _load_json(ann_file):
    path = Path(ann_file)
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise AnnotationError(f'{path}: annotation file not found') from None
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f'{path}: cannot read annotation file ({err})') from None
    if not text.strip():
        raise AnnotationError(f'{path}: annotation file is empty')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise AnnotationError(f'{path}: malformed JSON ({err})') from None
    if not isinstance(data, dict):
        raise AnnotationError(f'{path}: top level must be a JSON object')
    for key in ('images', 'annotations'):
        if not isinstance(data.get(key), list):
            raise AnnotationError(f'{path}: missing or non-list "{key}"')
    return data


def load_coco_instances(ann_file, img_dir, check_files=True):
    """Load a COCO instance file into one ``ImageRecord`` per image (file order kept).

    Args:
        ann_file: COCO json path. img_dir: folder holding the images' ``file_name``s.
        check_files: also check every image file exists.
    Crowd annotations (``iscrowd: 1``) are skipped. Images without annotations give
    records with zero instances (``extract_objects`` then yields no objects).
    Raises ``AnnotationError`` (naming the file and image/annotation id) for an empty or
    malformed file, a file with zero annotations or only crowd ones, duplicate image ids,
    unknown image ids, masks whose size differs from the image, polygons outside the
    image, empty RLE masks and (if ``check_files``) missing image files. Polygons that
    cover no pixel centre once rasterised (cells of a few pixels) are skipped with one
    warning naming them.
    """
    data = _load_json(ann_file)
    if not data['annotations']:
        raise AnnotationError(f'{ann_file}: file has zero annotations')
    if all(isinstance(ann, dict) and ann.get('iscrowd', 0) for ann in data['annotations']):
        raise AnnotationError(f'{ann_file}: all {len(data["annotations"])} annotations are '
                              'iscrowd (crowd regions are skipped), so there are no cells')
    images, order = {}, []
    for info in data['images']:
        try:
            image_id, file_name = info['id'], info['file_name']
            height, width = int(info['height']), int(info['width'])
        except (KeyError, TypeError, ValueError) as err:
            raise AnnotationError(f'{ann_file}: image entry {info!r:.120} lacks a valid '
                                  f'id/file_name/height/width ({err!r})') from None
        if image_id in images:
            raise AnnotationError(f'{ann_file}: duplicate image id {image_id}')
        if height <= 0 or width <= 0:
            raise AnnotationError(f'{ann_file}: image id {image_id} has size {height}x{width}')
        images[image_id] = dict(file_name=file_name, height=height, width=width,
                                rles=[], ann_ids=[], cat_ids=[])
        order.append(image_id)
    empty_polygons = []
    for index, ann in enumerate(data['annotations']):
        ann_id = ann.get('id', f'#{index}') if isinstance(ann, dict) else f'#{index}'
        where = f'{ann_file}: annotation id {ann_id}'
        if not isinstance(ann, dict) or 'image_id' not in ann:
            raise AnnotationError(f'{where}: not an object with an "image_id"')
        if ann['image_id'] not in images:
            raise AnnotationError(f'{where} refers to unknown image id {ann["image_id"]}')
        if ann.get('iscrowd', 0):
            continue
        if 'segmentation' not in ann:
            raise AnnotationError(f'{where}: no "segmentation"')
        img = images[ann['image_id']]
        where = f'{where} (image {img["file_name"]})'
        rle = _segmentation_to_rle(ann['segmentation'], img['height'], img['width'], where)
        if mask_utils.area(rle) == 0:
            if not isinstance(ann['segmentation'], list):
                raise AnnotationError(f'{where}: mask is empty')
            empty_polygons.append(ann_id)  # a cell too thin to cover a pixel centre
            continue
        img['rles'].append(rle)
        img['ann_ids'].append(ann_id if isinstance(ann_id, int) else -1 - index)
        img['cat_ids'].append(int(ann.get('category_id', 1)))
    if empty_polygons:
        warnings.warn(f'{ann_file}: skipped {len(empty_polygons)} polygon annotation(s) that '
                      f'cover no pixel once rasterised (ids {empty_polygons[:5]}'
                      f'{" ..." if len(empty_polygons) > 5 else ""})', stacklevel=2)
    img_dir = Path(img_dir)
    records = []
    for image_id in order:
        img = images[image_id]
        path = img_dir / img['file_name']
        if check_files and not path.is_file():
            raise AnnotationError(f'{ann_file}: image id {image_id}: file {path} does not '
                                  'exist (check img_dir)')
        records.append(ImageRecord(img['file_name'], path, img['height'], img['width'],
                                   rles=img['rles'], image_id=image_id,
                                   ann_ids=img['ann_ids'], category_ids=img['cat_ids']))
    return records
