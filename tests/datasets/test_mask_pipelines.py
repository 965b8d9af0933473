"""Instance masks through the mask configs' training data.

- A synthetic IAAA sample's exact masks reach ``PackDetInputs``' ``gt_instances.masks``
  pixel for pixel (online and from the COCO cache), through the loading and packing steps
  of the mask baselines' training pipeline.
- The fast mask protocol's synthetic settings (copy-paste cache, copy-paste online,
  IAAAPaste, SAAAPaste) on the bundled sample: every packed instance has a mask whose box is its box.
"""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from mmaug_is.datasets import IAAADataset

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICIES = REPO_ROOT / 'configs' / 'iaaa' / 'policies' / 'dsb2018_fluo.json'
LOAD_AND_PACK = ('LoadImageFromFile', 'LoadAnnotations', 'PackDetInputs')


def _load_and_pack_steps():
    """The mask baselines' training pipeline without its geometric / photometric steps."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'baselines' / 'mask_rcnn_r101.py'))
    steps = [s.to_dict() for s in cfg.train_dataloader.dataset.pipeline
             if s.type in LOAD_AND_PACK]
    assert [s['type'] for s in steps] == list(LOAD_AND_PACK) and steps[1]['with_mask']
    return steps


@pytest.mark.parametrize('mode', ['online', 'cache'])
def test_synthetic_masks_reach_the_packed_sample_unchanged(sample_root, tmp_path, mode):
    dataset = IAAADataset(
        source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                    img_dir=str(sample_root / 'images')),
        policies=str(POLICIES), num_samples=2, seed=3, mode=mode, cache_root=str(tmp_path),
        pipeline=_load_and_pack_steps())
    for index in range(len(dataset)):
        expected = dataset.generator.generate(3, index).masks
        packed = dataset[index]['data_samples'].gt_instances
        assert len(expected) > 5
        assert packed.masks.masks.dtype == np.uint8
        np.testing.assert_array_equal(packed.masks.masks.astype(bool), expected)
        assert len(packed.bboxes) == len(expected)


def _on_sample(config, sample_root, cache_root):
    """The training dataset config of ``configs/fast/<config>`` on the bundled sample, its
    synthetic data (2 images) cached under ``cache_root``."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'fast' / config)).train_dataloader.dataset
    real = cfg.get('real', cfg.get('dataset', cfg))
    real.data_root = str(sample_root) + '/'
    if 'synthetic' in cfg:
        cfg.synthetic.update(num_samples=2, cache_root=str(cache_root))
    pipeline = cfg.get('pipeline', [])
    steps = list(pipeline) + [branch[0] for step in pipeline if step.type == 'RandomChoice'
                              for branch in step.transforms]
    for step in steps:
        if step.type in ('IAAAPaste', 'SAAAPaste'):
            step.update(source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                                    img_dir=str(sample_root / 'images')),
                        cache_root=str(cache_root))
        if step.type == 'SAAAPaste':
            step.update(mask_bank=64)  # a short first build
    return cfg


@pytest.mark.parametrize('config', ['mask_rcnn_r18_fluo_copypaste.py',
                                    'mask_rcnn_r18_fluo_copypaste_online.py',
                                    'mask_rcnn_r18_fluo_iaaa_paste.py',
                                    'mask_rcnn_r18_fluo_saaa_paste.py',
                                    'mask_rcnn_r18_fluo_iaaa_saaa_paste.py'])
def test_fast_mask_settings_pack_one_mask_per_box(config, sample_root, tmp_path):
    from mmdet.registry import DATASETS

    np.random.seed(0)
    dataset = DATASETS.build(_on_sample(config, sample_root, tmp_path))
    for index in (0, len(dataset) - 1, 5):
        gt = dataset[index]['data_samples'].gt_instances
        assert len(gt) > 0 and len(gt.masks) == len(gt.bboxes)
        assert gt.masks.masks.any(axis=(1, 2)).all()
        np.testing.assert_array_equal(gt.masks.get_bboxes(type(gt.bboxes)).tensor,
                                      gt.bboxes.tensor)
