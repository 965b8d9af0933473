"""IAAADataset (cache and online) and the IAAAPaste transform on real nuclei images."""
import json

import numpy as np
import pytest
import torch

from mmaug_is.core.io import decode_rles
from mmaug_is.datasets import IAAADataset
from mmaug_is.synth import ensure_coco_cache

POLICIES = [
    {'sub_policies': [{'op': 'FlipLR', 'prob': 0.5, 'level': 0},
                      {'op': 'Rotate', 'prob': 0.8, 'level': 3}]},
    {'sub_policies': [{'op': 'Brightness', 'prob': 0.7, 'level': 2}]},
]
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs'),
]


def make_dataset(sample_root, cache_root, mode='cache', num_samples=3, seed=0):
    return IAAADataset(
        source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                    img_dir=str(sample_root / 'images')),
        policies=POLICIES, num_samples=num_samples, seed=seed, mode=mode,
        cache_root=str(cache_root), pipeline=PIPELINE)


@pytest.fixture(scope='module')
def cached(sample_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('cache')
    return make_dataset(sample_root, root), root


def cache_folder(root):
    (folder, ) = [p for p in root.iterdir() if p.name.startswith('iaaa-')]
    return folder


def test_cache_is_a_complete_coco_dataset(cached):
    dataset, root = cached
    folder = cache_folder(root)
    coco = json.loads((folder / 'annotations.json').read_text())
    assert len(coco['images']) == 3 == len(dataset)
    assert (folder / 'contact_sheet.png').is_file()
    for info in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
        assert anns, 'every synthetic image holds cells'
        masks = decode_rles([dict(a['segmentation'], counts=a['segmentation']['counts'].encode())
                             for a in anns], info['height'], info['width'])
        assert masks.sum(axis=0).max() == 1, 'instances overlap'
        assert masks.any(axis=(1, 2)).all()


def test_cached_sample_goes_through_the_real_pipeline(cached):
    dataset, _ = cached
    item = dataset[0]
    gt = item['data_samples'].gt_instances
    assert item['inputs'].dtype == torch.uint8 and item['inputs'].shape[0] == 3
    assert len(gt) > 0 and len(gt.masks) == len(gt.bboxes)
    assert (gt.labels == 0).all()


def test_cache_is_reused_not_rewritten(cached, sample_root):
    _, root = cached
    ann = cache_folder(root) / 'annotations.json'
    before = ann.stat().st_mtime_ns
    again = make_dataset(sample_root, root)
    assert len(again) == 3 and ann.stat().st_mtime_ns == before


def test_same_seed_same_bytes_other_seed_differs(cached, sample_root, tmp_path):
    _, root = cached
    other = make_dataset(sample_root, tmp_path)
    first, second = cache_folder(root), cache_folder(tmp_path)
    assert first.name == second.name
    for name in ('000000.png', '000001.png', '000002.png'):
        assert (first / 'images' / name).read_bytes() == (second / 'images' / name).read_bytes()
    assert ((first / 'annotations.json').read_bytes()
            == (second / 'annotations.json').read_bytes())
    reseeded = make_dataset(sample_root, tmp_path, seed=1)
    assert len(other) == len(reseeded)
    (third, ) = [p for p in tmp_path.glob('iaaa-*') if p != second]
    for name in ('000000.png', '000001.png', '000002.png'):
        assert (third / 'images' / name).read_bytes() != (first / 'images' / name).read_bytes()


def test_lazy_init_defers_generation(sample_root, tmp_path):
    lazy = IAAADataset(
        source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                    img_dir=str(sample_root / 'images')),
        policies=POLICIES, num_samples=2, cache_root=str(tmp_path), pipeline=PIPELINE,
        lazy_init=True)
    assert not list(tmp_path.glob('iaaa-*'))
    lazy.full_init()
    assert len(lazy) == 2
    (folder, ) = tmp_path.glob('iaaa-*')
    assert (folder / 'annotations.json').is_file()


def test_online_mode_equals_cache(cached, sample_root):
    dataset, root = cached
    online = make_dataset(sample_root, root / 'unused', mode='online')
    assert not (root / 'unused').exists() or not list((root / 'unused').glob('iaaa-*'))
    for idx in range(3):
        cached_item, online_item = dataset[idx], online[idx]
        assert torch.equal(cached_item['inputs'], online_item['inputs'])
        a, b = cached_item['data_samples'].gt_instances, online_item['data_samples'].gt_instances
        assert torch.equal(a.bboxes.tensor, b.bboxes.tensor)
        assert np.array_equal(a.masks.masks, b.masks.masks)


def test_interrupted_cache_is_not_trusted_and_resumes(cached, tmp_path):
    dataset, root = cached
    generator = dataset.generator
    folder = tmp_path / 'iaaa-interrupted'

    def failing(index):
        if index == 2:
            raise KeyboardInterrupt
        return generator.generate(0, index)

    with pytest.raises(KeyboardInterrupt):
        ensure_coco_cache(folder, 3, failing, dataset.categories)
    assert not (folder / 'annotations.json').exists()
    assert len(list((folder / 'images').glob('*.png'))) == 2
    assert not list(folder.rglob('*.tmp'))
    ensure_coco_cache(folder, 3, lambda i: generator.generate(0, i), dataset.categories)
    reference = cache_folder(root)
    for name in ('000000.png', '000001.png', '000002.png'):
        assert (folder / 'images' / name).read_bytes() == (reference / 'images' / name).read_bytes()


def test_bad_source_is_named(sample_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        IAAADataset(source=dict(ann_file=str(sample_root / 'nope.json'),
                                img_dir=str(sample_root / 'images')),
                    policies=POLICIES, num_samples=1, cache_root=str(tmp_path),
                    pipeline=PIPELINE)


def test_iaaa_paste_adds_exact_non_overlapping_cells(sample_root, tmp_path):
    from mmcv.transforms import Compose

    from mmaug_is.transforms import IAAAPaste

    paste = IAAAPaste(source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                                  img_dir=str(sample_root / 'images')),
                      policies=POLICIES, max_cells=8, prob=1.0, cache_root=str(tmp_path))
    load = Compose([dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', with_bbox=True, with_mask=True)])
    real = json.loads((sample_root / 'annotations/val.json').read_text())
    img_info = real['images'][0]
    anns = [a for a in real['annotations'] if a['image_id'] == img_info['id']]
    results = load(dict(
        img_path=str(sample_root / 'images' / img_info['file_name']),
        instances=[dict(bbox=[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                              a['bbox'][1] + a['bbox'][3]],
                        bbox_label=0, ignore_flag=0, mask=a['segmentation']) for a in anns]))
    n_before = len(results['gt_bboxes'])
    original = results['img'].copy()
    np.random.seed(3)
    out = paste(results)
    masks = out['gt_masks'].to_ndarray().astype(bool)
    n_after = len(out['gt_bboxes'])
    assert n_after > n_before
    assert len(masks) == n_after == len(out['gt_bboxes_labels']) == len(out['gt_ignore_flags'])
    assert masks.sum(axis=0).max() == 1, 'pasted cells overlap annotated cells'
    new = masks[n_before:]
    boxes = out['gt_bboxes'].tensor.numpy()[n_before:]
    for mask, (x1, y1, x2, y2) in zip(new, boxes):
        ys, xs = np.nonzero(mask)
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2)
    old_union = masks[:n_before].any(axis=0)
    assert np.array_equal(out['img'][old_union], original[old_union]), 'real cells were painted'
    assert not np.array_equal(out['img'], original)
    assert 'IAAAPaste' in repr(paste)
