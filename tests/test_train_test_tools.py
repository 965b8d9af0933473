"""End to end: tools/train.py trains, resumes and checkpoints; tools/test.py evaluates it;
an instance-segmentation config trains and is evaluated on boxes and masks; a diverging
run stops with an error."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CFG = REPO_ROOT / 'configs' / 'cpu' / 'faster_rcnn_r18_sample.py'
MASK_CFG = REPO_ROOT / 'configs' / 'fast' / 'mask_rcnn_r18_fluo.py'
FAST_CFG = REPO_ROOT / 'configs' / 'fast' / 'faster_rcnn_r18_fluo.py'
SAMPLE_ROOT = REPO_ROOT / 'data' / 'sample_fluo'
ON_SAMPLE = [f'{loader}.dataset.data_root={SAMPLE_ROOT}/'
             for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
    f'{split}_evaluator.ann_file={SAMPLE_ROOT}/annotations/{split}.json'
    for split in ('val', 'test')]


def run_tool(*args):
    env = dict(os.environ, MMAUG_OFFLINE='1')
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope='module')
def trained_work_dir(tmp_path_factory):
    """Train the CPU config for one epoch on the bundled sample, then resume for a second."""
    work_dir = tmp_path_factory.mktemp('train')
    common = ['tools/train.py', SAMPLE_CFG, '--work-dir', work_dir, '--cfg-options',
              'default_hooks.logger.interval=1', 'train_cfg.val_interval=2']
    first = run_tool(*common, 'train_cfg.max_epochs=1')
    assert first.returncode == 0, first.stderr[-3000:]
    assert (work_dir / 'epoch_1.pth').is_file()
    resumed = run_tool(*common, 'train_cfg.max_epochs=2', '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1' in (resumed.stdout + resumed.stderr)
    return work_dir


def test_resume_continues_from_saved_epoch(trained_work_dir):
    assert (trained_work_dir / 'epoch_2.pth').is_file()


def test_test_tool_reports_coco_metrics(trained_work_dir, tmp_path):
    out = tmp_path / 'preds.pkl'
    result = run_tool('tools/test.py', SAMPLE_CFG, trained_work_dir / 'epoch_2.pth',
                      '--work-dir', tmp_path, '--out', out, '--show-dir', 'vis')
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'coco/bbox_mAP_50' in log
    assert out.is_file()
    metrics_files = list(tmp_path.rglob('*.json'))
    metrics = [json.loads(p.read_text()) for p in metrics_files]
    assert any('coco/bbox_mAP' in m for m in metrics if isinstance(m, dict))
    assert list((tmp_path).rglob('vis/*.png')) or list(tmp_path.rglob('vis/*.jpg'))


def test_missing_annotation_file_is_named(tmp_path):
    result = run_tool('tools/train.py', SAMPLE_CFG, '--work-dir', tmp_path, '--cfg-options',
                      'train_dataloader.dataset.ann_file=annotations/nope.json')
    assert result.returncode != 0
    assert 'annotation file not found' in result.stderr
    assert 'nope.json' in result.stderr


def test_missing_image_folder_is_named(tmp_path):
    result = run_tool('tools/test.py', SAMPLE_CFG, SAMPLE_CFG, '--work-dir', tmp_path,
                      '--cfg-options', 'test_dataloader.dataset.data_prefix.img=no_images/')
    assert result.returncode != 0
    assert 'image folder not found' in result.stderr
    assert 'no_images' in result.stderr


def test_missing_checkpoint_is_named(tmp_path):
    result = run_tool('tools/test.py', SAMPLE_CFG, tmp_path / 'missing.pth')
    assert result.returncode != 0
    assert 'checkpoint not found' in result.stderr


def test_mask_config_trains_and_evaluates_masks(tmp_path):
    """The fast instance-segmentation config on the bundled sample: 2 training iterations
    (validated at the end), then tools/test.py: box and mask AP, the mask predictions kept,
    drawings of every test image."""
    trained = run_tool('tools/train.py', MASK_CFG, '--work-dir', tmp_path / 'train',
                       '--cfg-options', *ON_SAMPLE, 'train_cfg.max_iters=2',
                       'default_hooks.logger.interval=1')
    assert trained.returncode == 0, trained.stderr[-3000:]
    log = trained.stdout + trained.stderr
    assert 'Iter(train) [2/2]' in log and 'loss_mask' in log and 'coco/segm_mAP' in log
    test_dir = tmp_path / 'test'
    tested = run_tool('tools/test.py', MASK_CFG, tmp_path / 'train' / 'iter_2.pth',
                      '--work-dir', test_dir, '--show-dir', 'vis', '--cfg-options', *ON_SAMPLE,
                      f'test_evaluator.outfile_prefix={test_dir / "predictions"}')
    assert tested.returncode == 0, tested.stderr[-3000:]
    (metrics, ) = [json.loads(p.read_text()) for p in test_dir.glob('*/*.json')
                   if p.stem == p.parent.name]
    for key in ('bbox_mAP', 'segm_mAP', 'segm_mAP_50', 'segm_mAP_75'):
        assert -1 <= metrics[f'coco/{key}'] <= 1, key
    masks = json.loads((test_dir / 'predictions.segm.json').read_text())
    assert masks and {'segmentation', 'score', 'image_id'} <= set(masks[0])
    assert len(list(test_dir.glob('*/vis/*.png'))) == 4  # the sample's test images


def test_diverging_training_stops_with_an_error(tmp_path):
    """The CPU/fast configs check the loss every iteration: a learning rate of 1e6 blows the
    loss up within a few iterations, and training stops there (exit code != 0, the log
    says why) instead of running on to a final checkpoint that would be tested."""
    result = run_tool('tools/train.py', FAST_CFG, '--work-dir', tmp_path, '--cfg-options',
                      *ON_SAMPLE, 'train_cfg.max_iters=6', 'default_hooks.logger.interval=1',
                      'optim_wrapper.optimizer.lr=1000000.0')
    assert result.returncode != 0
    assert 'loss become infinite or NaN' in result.stdout + result.stderr
    assert not (tmp_path / 'iter_6.pth').exists()
