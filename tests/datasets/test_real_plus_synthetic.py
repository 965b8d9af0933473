"""The generator protocol (``sample_rng``, ``output_shape``) and ``RealPlusSyntheticDataset``
on the bundled real sample."""
from pathlib import Path

import numpy as np
import pytest

from mmaug_is.datasets import (CopyPasteDataset, IAAADataset, RealPlusSyntheticDataset,
                               SAAADataset, synthetic_configs)
from mmaug_is.synth import sample_rng

SAAA_TINY = Path(__file__).resolve().parents[1] / 'data' / 'saaa_tiny'

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs'),
]


def _source(sample_root):
    return dict(ann_file=str(sample_root / 'annotations/train.json'),
                img_dir=str(sample_root / 'images'))


def _real_cfg(sample_root):
    return dict(type='CocoDataset', data_root=str(sample_root) + '/',
                ann_file='annotations/train.json', data_prefix=dict(img='images/'),
                metainfo=dict(classes=('nucleus', ), palette=[(220, 20, 60)]),
                filter_cfg=dict(filter_empty_gt=True, min_size=0), pipeline=PIPELINE)


def test_sample_rng_keys_and_errors():
    assert np.array_equal(sample_rng(3, 5).random(4), np.random.default_rng([3, 5]).random(4))
    assert np.array_equal(sample_rng(3, 5, epoch=2).random(4),
                          np.random.default_rng([3, 2, 5]).random(4))
    assert not np.array_equal(sample_rng(3, 5, epoch=0).random(4), sample_rng(3, 5).random(4))
    for kwargs, name in ((dict(seed=-1, index=0), 'seed'), (dict(seed='two', index=0), 'seed'),
                         (dict(seed=0, index=True), 'index'),
                         (dict(seed=0, index=1, epoch=-2), 'epoch')):
        with pytest.raises(ValueError, match=f'{name} must be a non-negative integer'):
            sample_rng(**kwargs)


@pytest.mark.parametrize('kind', ['iaaa', 'copypaste', 'saaa'])
def test_output_shape_is_the_generated_shape(kind, sample_root, tmp_path):
    common = dict(source=_source(sample_root), num_samples=4, cache_root=str(tmp_path),
                  mode='online', pipeline=PIPELINE, lazy_init=True)
    dataset = {
        'iaaa': lambda: IAAADataset(policies=[], **common),
        'copypaste': lambda: CopyPasteDataset(**common),
        'saaa': lambda: SAAADataset(mask_checkpoint=SAAA_TINY / 'mask_ddpm.pth',
                                    pix2pix_checkpoint=SAAA_TINY / 'pix2pix.pth',
                                    generator=dict(steps=5, max_cells=3, mask_bank=16),
                                    **common),
    }[kind]()
    generator = dataset.generator
    for index in range(3):
        sample = generator.generate(7, index)
        assert generator.output_shape(7, index) == sample.image.shape[:2]
        assert sample.masks.shape[1:] == sample.image.shape[:2]
    again = generator.generate(7, 2)
    assert np.array_equal(again.image, sample.image) and np.array_equal(again.masks,
                                                                        sample.masks)


def test_synthetic_configs_are_filled_from_the_real_one(sample_root):
    real = _real_cfg(sample_root)
    own_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackDetInputs')]
    filled = synthetic_configs(real, [dict(type='IAAADataset', policies=[], num_samples=2),
                                      dict(type='IAAADataset', policies=[], num_samples=1,
                                           pipeline=own_pipeline)])
    assert filled[0]['source'] == dict(ann_file=str(sample_root / 'annotations/train.json'),
                                       img_dir=str(sample_root) + '/images/')
    assert filled[0]['pipeline'] == PIPELINE and filled[0]['metainfo'] == real['metainfo']
    assert filled[1]['pipeline'] == own_pipeline  # what a synthetic set sets itself stays
    (single, ) = synthetic_configs(real, dict(type='IAAADataset', policies=[]))
    assert single['source'] == filled[0]['source']
    with pytest.raises(KeyError, match='data_prefix'):
        synthetic_configs(dict(type='CocoDataset', ann_file='a.json'), dict(type='IAAADataset'))
    with pytest.raises(ValueError, match='synthetic is empty'):
        synthetic_configs(real, [])


def test_real_plus_synthetic_dataset_concatenates(sample_root, tmp_path):
    dataset = RealPlusSyntheticDataset(
        real=_real_cfg(sample_root),
        synthetic=dict(type='IAAADataset', policies=[], num_samples=2, mode='online',
                       cache_root=str(tmp_path)))
    real, synthetic = dataset.datasets
    assert len(real) == 16 and len(synthetic) == 2 and len(dataset) == 18
    assert dataset.metainfo['classes'] == ('nucleus', )
    item = dataset[17]
    assert len(item['data_samples'].gt_instances) > 0
    assert item['inputs'].shape[1:] == (256, 256)
