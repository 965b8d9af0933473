"""Two-class sources: every synthetic cell keeps the category of the real cell it shows.

The source is data/sample_fluo train with the cells larger than the median area relabelled
'dead' (category 2). Without augmentation policies a pasted cell keeps its exact mask, so
its area tells its real category.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from mmaug_is.core import AnnotationError, load_coco_instances
from mmaug_is.core.categories import category_labels
from mmaug_is.core.io import decode_rles
from mmaug_is.datasets import CopyPasteDataset, IAAADataset, SAAADataset
from mmaug_is.synth import sample_rng
from mmaug_is.transforms import IAAAPaste

CATEGORIES = [dict(id=1, name='nucleus', supercategory='cell'),
              dict(id=2, name='dead', supercategory='cell')]
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs'),
]
SAAA_TINY = Path(__file__).resolve().parents[1] / 'data' / 'saaa_tiny'


@pytest.fixture(scope='module')
def two_class(sample_root, tmp_path_factory):
    """``(source, area threshold)``: cells of more than ``threshold`` px are 'dead'."""
    ann_file, img_dir = sample_root / 'annotations' / 'train.json', sample_root / 'images'
    areas = {int(a): int(m.sum()) for r in load_coco_instances(ann_file, img_dir)
             for a, m in zip(r.ann_ids, r.masks)}
    threshold = float(np.median(list(areas.values())))
    coco = json.loads(ann_file.read_text())
    coco['categories'] = CATEGORIES
    for ann in coco['annotations']:
        ann['category_id'] = 2 if areas[ann['id']] > threshold else 1
    path = tmp_path_factory.mktemp('two_class') / 'two_class.json'
    path.write_text(json.dumps(coco))
    return dict(ann_file=str(path), img_dir=str(img_dir)), threshold


@pytest.fixture(scope='module')
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp('cache')


@pytest.fixture(scope='module')
def iaaa_cached(two_class, cache_root):
    return IAAADataset(source=two_class[0], policies=[], num_samples=3,
                       cache_root=str(cache_root), pipeline=PIPELINE)


def _coco_masks(coco, info):
    anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
    rles = [dict(a['segmentation'], counts=a['segmentation']['counts'].encode()) for a in anns]
    return anns, decode_rles(rles, info['height'], info['width'])


def _cache(root, name):
    (folder, ) = Path(root).glob(f'{name}-*')
    return json.loads((folder / 'annotations.json').read_text())


def test_iaaa_cache_declares_the_source_categories_and_keeps_each_cells(two_class, iaaa_cached,
                                                                        cache_root):
    _, threshold = two_class
    coco = _cache(cache_root, 'iaaa')
    assert coco['categories'] == CATEGORIES
    assert iaaa_cached.metainfo['classes'] == ('nucleus', 'dead')
    seen = set()
    for info in coco['images']:
        anns, masks = _coco_masks(coco, info)
        expected = np.where(masks.sum(axis=(1, 2)) > threshold, 2, 1)
        assert [a['category_id'] for a in anns] == expected.tolist()
        seen.update(expected.tolist())
    assert seen == {1, 2}


def test_iaaa_labels_follow_the_category_in_cache_and_online(two_class, iaaa_cached, cache_root):
    source, threshold = two_class
    online = IAAADataset(source=source, policies=[], num_samples=3, mode='online',
                         cache_root=str(cache_root), pipeline=PIPELINE)
    seen = set()
    for idx in range(3):
        cached = iaaa_cached[idx]['data_samples'].gt_instances
        live = online[idx]['data_samples'].gt_instances
        areas = cached.masks.masks.sum(axis=(1, 2))
        assert cached.labels.tolist() == (areas > threshold).astype(int).tolist()
        assert torch.equal(cached.labels, live.labels)
        assert np.array_equal(cached.masks.masks, live.masks.masks)
        seen.update(cached.labels.tolist())
    assert seen == {0, 1}


def _real_category(mask, dst, src):
    """Category of the real cell a copy-paste instance shows: a pasted source cell (same
    mask), else the destination cell it is what is left of."""
    for real, category in zip(src.masks, src.category_ids):
        if np.array_equal(real, mask):
            return category
    (category, ) = [c for real, c in zip(dst.masks, dst.category_ids) if not (mask & ~real).any()]
    return category


def test_copy_paste_keeps_each_instances_category(two_class, cache_root):
    dataset = CopyPasteDataset(source=two_class[0], num_samples=4, cache_root=str(cache_root),
                               pipeline=PIPELINE)
    coco = _cache(cache_root, 'copypaste')
    assert coco['categories'] == CATEGORIES
    generator, seen = dataset.generator, set()
    for info in coco['images']:
        dst, src = generator.draw_frame(sample_rng(0, info['id'] - 1))
        anns, masks = _coco_masks(coco, info)
        for ann, mask in zip(anns, masks):
            assert ann['category_id'] == _real_category(mask, generator.records[dst],
                                                        generator.records[src])
            seen.add(ann['category_id'])
    assert seen == {1, 2}


def test_an_undeclared_category_is_named(two_class, tmp_path):
    source, _ = two_class
    coco = json.loads(Path(source['ann_file']).read_text())
    bad = coco['annotations'][5]
    bad['category_id'] = 7
    path = tmp_path / 'undeclared.json'
    path.write_text(json.dumps(coco))
    for cls, extra in ((IAAADataset, dict(policies=[])), (CopyPasteDataset, {})):
        with pytest.raises(AnnotationError, match=rf'undeclared.json: annotation id {bad["id"]} '
                                                  r'.*category_id 7'):
            cls(source=dict(source, ann_file=str(path)), num_samples=1,
                cache_root=str(tmp_path), **extra)


def test_labels_follow_mmdet_file_order_and_refuse_other_class_orders():
    reordered = CATEGORIES[::-1]  # declared 'dead' (2) first: mmdet labels it 0
    assert category_labels(reordered, ('dead', 'nucleus'), 'x') == {2: 0, 1: 1}
    assert category_labels(CATEGORIES, ('nucleus', ), 'x') == {1: 0}  # dead: not annotated
    with pytest.raises(ValueError, match='x: metainfo classes .* in the order'):
        category_labels(CATEGORIES, ('dead', 'nucleus'), 'x')
    with pytest.raises(ValueError, match='x: none of the metainfo classes'):
        category_labels(CATEGORIES, ('cell', ), 'x')


def test_saaa_takes_one_chosen_class(two_class, tmp_path):
    kwargs = dict(source=two_class[0], mask_checkpoint=SAAA_TINY / 'mask_ddpm.pth',
                  pix2pix_checkpoint=SAAA_TINY / 'pix2pix.pth', num_samples=1,
                  cache_root=str(tmp_path), lazy_init=True)
    with pytest.raises(ValueError, match=r"declares 2 categories \['nucleus', 'dead'\]; "
                                         'choose the class'):
        SAAADataset(**kwargs)
    dataset = SAAADataset(category='dead', **kwargs)
    assert dataset.category == CATEGORIES[1] and dataset.cat2label == {1: 0, 2: 1}
    with pytest.raises(ValueError, match="'dead' is not among the metainfo classes"):
        SAAADataset(category='dead', metainfo=dict(classes=('nucleus', )), **kwargs)


def test_iaaa_paste_labels_pasted_cells_by_their_category(two_class, sample_root, cache_root):
    source, threshold = two_class
    val = json.loads((sample_root / 'annotations' / 'val.json').read_text())
    load = Compose(PIPELINE[:2])
    image = str(sample_root / 'images' / val['images'][0]['file_name'])
    paste = IAAAPaste(source=source, max_cells=12, prob=1.0, cache_root=str(cache_root))
    np.random.seed(0)
    out = paste(load(dict(img_path=image, instances=[])))
    areas = out['gt_masks'].to_ndarray().sum(axis=(1, 2))
    assert out['gt_bboxes_labels'].tolist() == (areas > threshold).astype(int).tolist()
    assert set(out['gt_bboxes_labels'].tolist()) == {0, 1}
    with pytest.raises(ValueError, match='label=0 is no longer supported'):
        IAAAPaste(source=source, label=0, cache_root=str(cache_root))
    with pytest.warns(FutureWarning, match='label is deprecated'):
        nuclei_only = IAAAPaste(source=source, classes=('nucleus', ), label=0, max_cells=12,
                                prob=1.0, cache_root=str(cache_root))
    out = nuclei_only(load(dict(img_path=image, instances=[])))
    areas = out['gt_masks'].to_ndarray().sum(axis=(1, 2))
    assert len(areas) and (areas <= threshold).all() and not out['gt_bboxes_labels'].any()
