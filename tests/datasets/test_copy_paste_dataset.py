"""CopyPasteDataset / CopyPasteGenerator (mmdet CopyPaste baseline) on real nuclei images."""
import json

import numpy as np
import pytest
import torch

from mmaug_is.core.io import decode_rles
from mmaug_is.datasets import CopyPasteDataset
from mmaug_is.synth import sample_rng
from mmaug_is.synth.copy_paste import CopyPasteGenerator

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs'),
]


def make_dataset(sample_root, cache_root, mode='cache', seed=0):
    return CopyPasteDataset(
        source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                    img_dir=str(sample_root / 'images')),
        num_samples=4, seed=seed, mode=mode, cache_root=str(cache_root), pipeline=PIPELINE)


@pytest.fixture(scope='module')
def cached(sample_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('cache')
    dataset = make_dataset(sample_root, root)
    (folder, ) = root.glob('copypaste-*')
    return dataset, folder


def test_cache_holds_exact_disjoint_masks_and_a_sheet(cached):
    dataset, folder = cached
    coco = json.loads((folder / 'annotations.json').read_text())
    assert len(coco['images']) == 4 == len(dataset)
    assert (folder / 'contact_sheet.png').is_file()
    for info in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
        masks = decode_rles([dict(a['segmentation'], counts=a['segmentation']['counts'].encode())
                             for a in anns], info['height'], info['width'])
        assert len(masks) and masks.any(axis=(1, 2)).all()
        assert masks.sum(axis=0).max() == 1, 'instances overlap'
    item = dataset[0]
    assert item['inputs'].dtype == torch.uint8 and len(item['data_samples'].gt_instances) > 0


def test_pixels_come_from_destination_or_source(sample_root):
    generator = CopyPasteGenerator(sample_root / 'annotations/train.json',
                                   sample_root / 'images')
    pasted_any = False
    for index in range(6):
        sample = generator.generate(3, index)
        dst, src = generator.draw_frame(sample_rng(3, index))
        dst_image, src_image = generator.images[dst], generator.images[src]
        assert dst != src and sample.image.dtype == dst_image.dtype
        assert sample.image.shape == dst_image.shape
        from_src = sample.image != dst_image
        assert np.array_equal(sample.image[from_src], src_image[from_src])
        if from_src.ndim == 3:
            from_src = from_src.any(axis=2)
        # every changed pixel lies under an instance pasted from the source image
        src_masks = generator.records[src].masks
        pasted = [m for m in sample.masks if any(np.array_equal(m, s) for s in src_masks)]
        covered = np.any(pasted, axis=0) if pasted else np.zeros(dst_image.shape[:2], bool)
        assert not (from_src & ~covered).any()
        pasted_any |= bool(pasted)
    assert pasted_any


def test_same_seed_same_bytes_and_online_equals_cache(cached, sample_root, tmp_path):
    dataset, folder = cached
    make_dataset(sample_root, tmp_path)
    (again, ) = tmp_path.glob('copypaste-*')
    assert again.name == folder.name
    for name in ('000000.png', '000003.png', 'annotations.json'):
        part = name if name.endswith('.json') else f'images/{name}'
        assert (again / part).read_bytes() == (folder / part).read_bytes()
    online = make_dataset(sample_root, tmp_path / 'unused', mode='online')
    for idx in range(4):
        a, b = dataset[idx], online[idx]
        assert torch.equal(a['inputs'], b['inputs'])
        assert np.array_equal(a['data_samples'].gt_instances.masks.masks,
                              b['data_samples'].gt_instances.masks.masks)


def test_images_without_a_same_size_partner_are_refused(sample_root, tmp_path):
    coco = json.loads((sample_root / 'annotations/train.json').read_text())
    first = coco['images'][0]
    coco['images'] = [first]
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] == first['id']]
    ann = tmp_path / 'one.json'
    ann.write_text(json.dumps(coco))
    with pytest.raises(ValueError, match='same size'):
        CopyPasteGenerator(ann, sample_root / 'images')
