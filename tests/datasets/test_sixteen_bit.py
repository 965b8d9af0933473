"""16-bit microscopy end to end: a uint16 grey source gives uint16 synthetic images, in the
cache (16-bit PNG) and online, unchanged for a ``color_type='unchanged'`` pipeline, 8-bit
for ``'color'`` as mmcv decodes the PNG; byte-reproducible."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile

from mmaug_is.core import read_image
from mmaug_is.datasets import CopyPasteDataset, IAAADataset

UNCHANGED = [dict(type='LoadImageFromFile', color_type='unchanged'),
             dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
COLOR = [dict(type='LoadImageFromFile'),
         dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
POLICIES = [{'sub_policies': [{'op': 'Brightness', 'prob': 0.8, 'level': 2},
                              {'op': 'Rotate', 'prob': 0.5, 'level': 2}]}]


@pytest.fixture(scope='module')
def grey16_source(sample_root, tmp_path_factory):
    """The bundled sample as 16-bit grey PNGs (values spread over the full 16-bit range)."""
    root = tmp_path_factory.mktemp('grey16')
    (root / 'images').mkdir()
    coco = json.loads((sample_root / 'annotations/train.json').read_text())
    for info in coco['images']:
        grey = read_image(sample_root / 'images' / info['file_name'])[..., 1]
        grey16 = grey.astype(np.uint16) * 257 + np.uint16(101)
        assert cv2.imwrite(str(root / 'images' / info['file_name']), grey16)
    (root / 'train.json').write_text(json.dumps(coco))
    return dict(ann_file=str(root / 'train.json'), img_dir=str(root / 'images'))


def _iaaa(source, cache_root, mode, pipeline=UNCHANGED, seed=0):
    return IAAADataset(source=source, policies=POLICIES, num_samples=3, seed=seed, mode=mode,
                       cache_root=str(cache_root), pipeline=pipeline)


def test_cache_holds_16_bit_pngs_and_an_unchanged_pipeline_gets_them(grey16_source, tmp_path):
    cached = _iaaa(grey16_source, tmp_path, 'cache')
    files = sorted(tmp_path.glob('iaaa-*/images/*.png'))
    assert len(files) == 3
    for path in files:
        stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert stored.dtype == np.uint16 and stored.ndim == 2
        assert stored.max() > 255  # real 16-bit values, not 8-bit ones widened
    online = _iaaa(grey16_source, tmp_path / 'unused', 'online')
    for index in range(3):
        a, b = cached[index]['img'], online[index]['img']
        assert a.dtype == np.uint16 and np.array_equal(a, b)
        assert len(cached[index]['gt_masks']) > 0
    again = _iaaa(grey16_source, tmp_path / 'again', 'cache')
    assert all(np.array_equal(again[i]['img'], cached[i]['img']) for i in range(3))


def test_color_pipeline_gets_what_mmcv_decodes_from_the_16_bit_png(grey16_source, tmp_path):
    cached = _iaaa(grey16_source, tmp_path, 'cache', pipeline=COLOR)
    online = _iaaa(grey16_source, tmp_path / 'unused', 'online', pipeline=COLOR)
    for index in range(2):
        path = cached.get_data_info(index)['img_path']
        decoded = LoadImageFromFile()(dict(img_path=path))['img']
        assert decoded.dtype == np.uint8 and decoded.shape[2] == 3
        assert np.array_equal(cached[index]['img'], decoded)
        assert np.array_equal(online[index]['img'], decoded)


def test_copy_paste_keeps_16_bit(grey16_source, tmp_path):
    dataset = CopyPasteDataset(source=grey16_source, num_samples=2, seed=0, mode='online',
                               cache_root=str(tmp_path), pipeline=UNCHANGED)
    image = dataset[0]['img']
    assert image.dtype == np.uint16 and image.max() > 255



def test_iaaa_paste_keeps_16_bit(grey16_source, tmp_path):
    from mmdet.structures.bbox import HorizontalBoxes

    from mmaug_is.transforms import IAAAPaste

    paste = IAAAPaste(source=grey16_source, policies=POLICIES, max_cells=5,
                      cache_root=str(tmp_path))
    first = sorted(Path(grey16_source['img_dir']).glob('*.png'))[0]
    results = LoadImageFromFile(color_type='unchanged')(dict(img_path=str(first)))
    results.update(gt_bboxes=HorizontalBoxes(np.zeros((0, 4), np.float32)),
                   gt_bboxes_labels=np.zeros(0, np.int64), gt_ignore_flags=np.zeros(0, bool))
    shape = results['img'].shape
    np.random.seed(0)
    pasted = paste(results)
    assert pasted['img'].dtype == np.uint16 and pasted['img'].shape == shape
    assert len(pasted['gt_bboxes']) > 0
