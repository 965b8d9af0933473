"""Browsing training data: mmdet's own tools/analysis_tools/browse_dataset.py on a config
that trains on real + IAAA data (it draws every training image, real and synthetic), and
the package's tools/browse_dataset.py (outlines only, pasted cells apart from real ones)."""
import os
import subprocess
import sys
from pathlib import Path

import mmdet
import numpy as np
import pytest

from mmaug_is.core.io import read_image
from mmaug_is.visualization import draw_training_sample, mark_pasted
from mmaug_is.visualization.browse import PASTED_RGB, REAL_RGB

REPO_ROOT = Path(__file__).resolve().parents[1]
BROWSE = Path(mmdet.__file__).parent / '.mim' / 'tools' / 'analysis_tools' / 'browse_dataset.py'


@pytest.mark.slow
def test_browse_dataset_draws_real_and_synthetic_images(tmp_path):
    out = tmp_path / 'browse'
    result = subprocess.run(
        [sys.executable, str(BROWSE), 'configs/cpu/faster_rcnn_r18_sample_iaaa.py',
         '--output-dir', str(out), '--not-show', '--cfg-options',
         f'train_dataloader.dataset.synthetic.cache_root={tmp_path / "cache"}',
         'train_dataloader.dataset.synthetic.num_samples=2'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, MMAUG_OFFLINE='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = sorted(p.name for p in out.glob('*.png'))
    assert len(drawn) == 16 + 2  # the sample's real training images + the synthetic ones
    assert {'000000.png', '000001.png'} <= set(drawn)


@pytest.mark.slow
def test_package_browser_outlines_real_and_pasted_cells_apart(tmp_path):
    out = tmp_path / 'browse'
    result = subprocess.run(
        [sys.executable, 'tools/browse_dataset.py',
         'configs/fast/faster_rcnn_r18_fluo_iaaa_paste.py',
         '--out-dir', str(out), '--num', '4', '--cfg-options',
         f'train_dataloader.dataset.pipeline.2.cache_root={tmp_path / "cache"}'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, MMAUG_OFFLINE='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    assert '1 paste transform(s)' in result.stdout
    drawn = [read_image(out / f'{i:04d}.png') for i in range(4)]
    assert (out / 'contact_sheet.png').is_file()
    colours = np.concatenate([d.reshape(-1, 3) for d in drawn])
    assert (colours == REAL_RGB).all(axis=1).any() and (colours == PASTED_RGB).all(axis=1).any()


def test_mark_pasted_shifts_only_the_paste_transforms_labels(sample_root, tmp_path):
    from mmdet.registry import DATASETS
    paste = dict(type='IAAAPaste', cache_root=str(tmp_path),
                 source=dict(ann_file=str(sample_root / 'annotations/train.json'),
                             img_dir=str(sample_root / 'images')))
    dataset = DATASETS.build(dict(
        type='CocoDataset', data_root=str(sample_root) + '/', ann_file='annotations/train.json',
        data_prefix=dict(img='images/'), metainfo=dict(classes=('nucleus', )),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True, with_mask=True), paste,
                  dict(type='PackDetInputs')]))
    assert mark_pasted(dataset, 1) == 1
    np.random.seed(0)
    image, n_real, n_pasted = draw_training_sample(dataset[0], 1)
    labels = dataset[0]['data_samples'].gt_instances.labels
    assert n_pasted > 0 and n_real == int((labels == 0).sum()) > 0
    assert image.dtype == np.uint8 and image.shape[2] == 3
