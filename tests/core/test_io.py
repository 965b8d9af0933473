"""read_image / write_image / load_coco_instances on real data and on broken inputs."""
import json

import cv2
import numpy as np
import pytest

from mmaug_is.core import (AnnotationError, ImageReadError, extract_objects,
                           load_coco_instances, read_image, write_image)
from mmaug_is.core.io import atomic_open, encode_masks, write_json


def _coco(images, annotations):
    return {'images': images, 'annotations': annotations,
            'categories': [{'id': 1, 'name': 'nucleus'}]}


def _write_json(path, data):
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def tiny_dataset(tmp_path):
    """A 20x30 grey image with two square cells as compressed RLE, and its folder."""
    img_dir = tmp_path / 'images'
    img_dir.mkdir()
    image = np.full((20, 30), 10, np.uint8)
    image[3:8, 4:9] = 200
    image[10:15, 18:26] = 180
    cv2.imwrite(str(img_dir / 'a.png'), image)
    masks = np.zeros((2, 20, 30), bool)
    masks[0, 3:8, 4:9] = True
    masks[1, 10:15, 18:26] = True
    rles = encode_masks(masks)
    anns = [{'id': 7 + i, 'image_id': 1, 'category_id': 1, 'iscrowd': 0,
             'segmentation': {'size': r['size'], 'counts': r['counts'].decode()}}
            for i, r in enumerate(rles)]
    data = _coco([{'id': 1, 'file_name': 'a.png', 'height': 20, 'width': 30}], anns)
    return tmp_path, img_dir, data, masks


def test_real_masks_match_label_images(fluo_root, fluo_records):
    assert len(fluo_records) == 79
    assert sum(len(r) for r in fluo_records) == 1959
    data = json.loads((fluo_root / 'annotations' / 'train.json').read_text())
    bbox_by_id = {a['id']: a['bbox'] for a in data['annotations']}
    for record in fluo_records[::10]:
        labels = read_image(fluo_root / 'labels' / record.file_name)
        assert labels.dtype == np.uint16
        masks = record.masks
        assert masks.shape == (len(record), 256, 256) and masks.dtype == bool
        expected = labels[None] == np.arange(1, len(record) + 1)[:, None, None]
        np.testing.assert_array_equal(masks, expected)
        for ann_id, box in zip(record.ann_ids, record.boxes):
            x, y, w, h = bbox_by_id[int(ann_id)]
            np.testing.assert_allclose(box, [x, y, x + w, y + h])


def test_read_real_image_is_rgb_uint8(fluo_records):
    image = read_image(fluo_records[0].path)
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8


def test_read_image_channel_order_and_dtypes(tmp_path):
    bgr = np.zeros((6, 7, 3), np.uint16)
    bgr[..., 0] = 1000  # blue
    bgr[..., 2] = 60000  # red
    cv2.imwrite(str(tmp_path / 'c.tif'), bgr)
    rgb = read_image(tmp_path / 'c.tif')
    assert rgb.dtype == np.uint16 and rgb[0, 0].tolist() == [60000, 0, 1000]

    grey16 = (np.arange(42, dtype=np.uint16) * 1500).reshape(6, 7)
    for name in ('g.png', 'g.tif'):
        cv2.imwrite(str(tmp_path / name), grey16)
        np.testing.assert_array_equal(read_image(tmp_path / name), grey16)

    bgra = np.dstack([bgr[..., :3].astype(np.uint8), np.full((6, 7), 9, np.uint8)])
    cv2.imwrite(str(tmp_path / 'a.png'), bgra)
    out = read_image(tmp_path / 'a.png')
    assert out.shape == (6, 7, 3)


def test_write_image_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for image in (rng.integers(0, 256, (5, 8, 3), dtype=np.uint8),
                  rng.integers(0, 65536, (5, 8), dtype=np.uint16)):
        write_image(tmp_path / 'x.png', image)
        np.testing.assert_array_equal(read_image(tmp_path / 'x.png'), image)
    assert [p.name for p in tmp_path.iterdir()] == ['x.png']  # no temp file left


def test_atomic_open_leaves_no_half_file_on_an_exception(tmp_path):
    path = tmp_path / 'sub' / 'out.json'
    write_json(path, {'a': [1, 2]})
    assert json.loads(path.read_text()) == {'a': [1, 2]} and path.read_text().endswith('\n')
    with pytest.raises(RuntimeError, match='crash'):
        with atomic_open(path, 'w', encoding='utf-8') as handle:
            handle.write('{"half": ')
            raise RuntimeError('crash')
    assert json.loads(path.read_text()) == {'a': [1, 2]}  # the old file, untouched
    assert [p.name for p in path.parent.iterdir()] == ['out.json']  # no temporary left
    with pytest.raises(TypeError):  # not JSON-serialisable: nothing is written
        write_json(tmp_path / 'new.json', {'x': object()})
    assert not (tmp_path / 'new.json').exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['sub']


@pytest.mark.parametrize('content, reason', [
    (None, 'file not found'),
    (b'', 'file is empty'),
    (b'\x89PNG garbage bytes, not an image' * 20, 'not a decodable image'),
])
def test_read_image_errors_name_the_path(tmp_path, content, reason):
    path = tmp_path / 'broken.png'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason) as err:
        read_image(path)
    assert str(path) in str(err.value)


def test_read_image_rejects_multipage_and_float(tmp_path):
    cv2.imwritemulti(str(tmp_path / 'm.tif'), [np.zeros((4, 4), np.uint16)] * 3)
    with pytest.raises(ImageReadError, match='multi-page'):
        read_image(tmp_path / 'm.tif')
    cv2.imwrite(str(tmp_path / 'f.tif'), np.zeros((4, 4), np.float32))
    with pytest.raises(ImageReadError, match='float32'):
        read_image(tmp_path / 'f.tif')


def test_load_tiny_dataset_exact(tiny_dataset):
    root, img_dir, data, masks = tiny_dataset
    records = load_coco_instances(_write_json(root / 'ann.json', data), img_dir)
    assert len(records) == 1 and records[0].ann_ids.tolist() == [7, 8]
    np.testing.assert_array_equal(records[0].masks, masks)
    np.testing.assert_array_equal(records[0].boxes, [[4, 3, 9, 8], [18, 10, 26, 15]])


def _uncompressed_rle(mask):
    """COCO uncompressed RLE: column-major run lengths, starting with a run of zeros."""
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.r_[0, edges, flat.size]).tolist()
    return [0] + runs if flat[0] else runs


def test_polygon_and_uncompressed_rle(tiny_dataset):
    root, img_dir, data, masks = tiny_dataset
    # Pixels x 4..8, y 3..7: the polygon follows pixel edges (integers) around them.
    data['annotations'][0]['segmentation'] = [[4, 3, 9, 3, 9, 8, 4, 8]]
    data['annotations'][1]['segmentation'] = {'size': [20, 30],
                                              'counts': _uncompressed_rle(masks[1])}
    record = load_coco_instances(_write_json(root / 'ann.json', data), img_dir)[0]
    np.testing.assert_array_equal(record.masks, masks)


def test_polygon_covering_no_pixel_is_skipped_with_a_warning(tiny_dataset):
    root, img_dir, data, masks = tiny_dataset
    data['annotations'][0]['segmentation'] = [[4.1, 3.1, 4.3, 3.1, 4.3, 3.3]]  # a sliver
    with pytest.warns(UserWarning, match=r'skipped 1 polygon annotation.*ids \[7\]'):
        record = load_coco_instances(_write_json(root / 'ann.json', data), img_dir)[0]
    np.testing.assert_array_equal(record.masks, masks[1:])


def test_image_without_annotations_gives_empty_record(tiny_dataset):
    root, img_dir, data, _ = tiny_dataset
    cv2.imwrite(str(img_dir / 'b.png'), np.zeros((20, 30), np.uint8))
    data['images'].append({'id': 2, 'file_name': 'b.png', 'height': 20, 'width': 30})
    records = load_coco_instances(_write_json(root / 'ann.json', data), img_dir)
    empty = records[1]
    assert len(empty) == 0 and empty.masks.shape == (0, 20, 30)
    assert extract_objects(empty, read_image(empty.path)) == []


def _broken(data, case):
    if case == 'unknown image':
        data['annotations'][1]['image_id'] = 99
    elif case == 'size mismatch':
        data['annotations'][0]['segmentation']['size'] = [20, 31]
    elif case == 'polygon outside':
        data['annotations'][0]['segmentation'] = [[4, 3, 40, 3, 40, 7, 4, 7]]
    elif case == 'rle too long':
        data['annotations'][0]['segmentation'] = {'size': [20, 30], 'counts': [500, 200]}
    elif case == 'rle corrupt':
        data['annotations'][0]['segmentation']['counts'] = 'a~~~'
    elif case == 'empty mask':
        data['annotations'][0]['segmentation'] = {'size': [20, 30], 'counts': [600]}
    elif case == 'no annotations':
        data['annotations'] = []
    elif case == 'no images key':
        del data['images']
    elif case == 'missing file':
        data['images'][0]['file_name'] = 'nope.png'
    return data


@pytest.mark.parametrize('case, message', [
    ('unknown image', r'annotation id 8 refers to unknown image id 99'),
    ('size mismatch', r'annotation id 7 .*size 20x31 does not match'),
    ('polygon outside', r'annotation id 7 .*polygon runs outside'),
    ('rle too long', r'annotation id 7 .*RLE runs cover 700'),
    ('rle corrupt', r'annotation id 7 .*malformed compressed RLE'),
    ('empty mask', r'annotation id 7 .*mask is empty'),
    ('no annotations', r'zero annotations'),
    ('no images key', r'missing or non-list "images"'),
    ('missing file', r'nope.png does not exist'),
])
def test_annotation_errors(tiny_dataset, case, message):
    root, img_dir, data, _ = tiny_dataset
    ann_file = _write_json(root / 'ann.json', _broken(data, case))
    with pytest.raises(AnnotationError, match=message) as err:
        load_coco_instances(ann_file, img_dir)
    assert str(ann_file) in str(err.value)


@pytest.mark.parametrize('text, message', [('', 'empty'), ('   \n', 'empty'),
                                           ('{"images": [', 'malformed JSON'),
                                           ('[1, 2]', 'JSON object')])
def test_empty_and_malformed_files(tmp_path, text, message):
    path = tmp_path / 'bad.json'
    path.write_text(text)
    with pytest.raises(AnnotationError, match=message):
        load_coco_instances(path, tmp_path)


def test_extract_rejects_wrong_image_size(tiny_dataset):
    root, img_dir, data, _ = tiny_dataset
    record = load_coco_instances(_write_json(root / 'ann.json', data), img_dir)[0]
    with pytest.raises(ValueError, match='a.png: image is 21x30'):
        extract_objects(record, np.zeros((21, 30), np.uint8))
