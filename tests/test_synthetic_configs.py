"""configs/iaaa, configs/iaaa_paper, configs/saaa and the configs/cpu synthetic variants: the
baseline with only the training data changed; the CPU variants train a detector on real + synthetic images;
configs/fast: every setting changes only the training data, and every mask_rcnn_r18_* config
is its faster_rcnn_r18_* namesake plus the mask branch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from mmaug_is.core.policy import read_policy_file
from mmaug_is.datasets import synthetic_configs

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
IAAA_CONFIGS = sorted((REPO_ROOT / 'configs' / 'iaaa').glob('*.py'))
IAAA_BASE = REPO_ROOT / 'configs' / '_base_' / 'synthetic' / 'iaaa.py'
IAAA_PAPER_CONFIGS = sorted((REPO_ROOT / 'configs' / 'iaaa_paper').glob('*.py'))
SAAA_CONFIGS = sorted((REPO_ROOT / 'configs' / 'saaa').glob('*.py'))
SYNTHETIC_CONFIGS = IAAA_PAPER_CONFIGS + SAAA_CONFIGS
# variant -> its synthetic dataset type, or the training dataset type of online variants
CPU_VARIANTS = {'iaaa': 'IAAADataset', 'iaaastyle': 'IAAADataset', 'iaaaown': 'IAAADataset',
                'iaaadense': 'IAAADataset', 'iaaanoaug': 'IAAADataset',
                'saaa': 'SAAADataset', 'copypaste': 'CopyPasteDataset',
                'iaaa_paste': 'CocoDataset', 'copypaste_online': 'MultiImageMixDataset'}
CPU_SYNTHETIC_CONFIGS = sorted(p for p in (REPO_ROOT / 'configs' / 'cpu').glob('*.py')
                               if p.stem.split('_', 4)[4:] and p.stem.split('_', 4)[4]
                               in CPU_VARIANTS)  # faster_rcnn_r18_<data>_<variant>
ONLINE_TYPES = ('CocoDataset', 'MultiImageMixDataset')
SAAA_TINY = REPO_ROOT / 'tests' / 'data' / 'saaa_tiny'
SAAA_MODELS = REPO_ROOT / 'configs' / 'saaa' / 'models'
FAST_VARIANTS = {'iaaa': 'RealPlusSyntheticDataset', 'copypaste': 'RealPlusSyntheticDataset',
                 'copypaste_online': 'MultiImageMixDataset', 'iaaa_paste': 'CocoDataset',
                 'iaaa_default': 'CocoDataset',
                 'saaa': 'RealPlusSyntheticDataset', 'iaaa_saaa': 'RealPlusSyntheticDataset',
                 'saaa_paste': 'CocoDataset', 'iaaa_saaa_paste': 'CocoDataset'}
PASTE_STEPS = ('IAAAPaste', 'SAAAPaste', 'RandomChoice')
FAST_CONFIGS = sorted(p for p in (REPO_ROOT / 'configs' / 'fast').glob('*.py')
                      if p.stem.split('_', 4)[4:])  # {faster,mask}_rcnn_r18_<data>_<variant>
FAST_MASK_CONFIGS = sorted((REPO_ROOT / 'configs' / 'fast').glob('mask_rcnn_r18_*.py'))


def _without_training_data(cfg):
    data = cfg.to_dict()
    for key in list(data):
        if key == 'train_dataloader' or key.startswith(('iaaa_', 'saaa_', 'copy_paste_')):
            data.pop(key)
    return data


def _real_and_synthetic(cfg):
    """The real dataset config and the one filled-in synthetic config of a mixed config."""
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'RealPlusSyntheticDataset'
    (synthetic, ) = synthetic_configs(dataset.real, dataset.synthetic)
    return dataset.real, synthetic


def _check_online_variant(dataset, expected):
    """An online variant's training ``dataset`` holds the real set ``expected``: IAAAPaste
    or SAAAPaste (or a RandomChoice of both) as one more step of its pipeline, right after
    LoadAnnotations and taking from that real set, or mmdet's CopyPaste around it."""
    if dataset.type == 'CocoDataset':  # the real set, one paste step in its pipeline
        steps = [step for step in dataset.pipeline if step.type not in PASTE_STEPS]
        assert len(steps) == len(dataset.pipeline) - 1 and steps == expected.pipeline
        paste = dataset.pipeline[2]
        assert dataset.pipeline[1].type == 'LoadAnnotations' and paste.type in PASTE_STEPS
        pastes = [paste]
        if paste.type == 'RandomChoice':
            pastes = [step for (step, ) in paste.transforms]
            assert [step.type for step in pastes] == ['IAAAPaste', 'SAAAPaste']
        for paste in pastes:
            assert Path(paste.source['ann_file']).resolve() == \
                Path(expected.data_root, expected.ann_file).resolve()
        assert {k: v for k, v in dataset.items() if k != 'pipeline'} == \
            {k: v for k, v in expected.items() if k != 'pipeline'}
        return
    real = dataset.real if 'real' in dataset else dataset.dataset
    assert (real.data_root, real.ann_file) == (expected.data_root, expected.ann_file)


def _baseline_of(path):
    return REPO_ROOT / 'configs' / 'baselines' / path.name.replace('_500.py', '.py')


def test_every_baseline_has_two_iaaa_and_two_saaa_variants():
    baselines = sorted(p.name for p in (REPO_ROOT / 'configs' / 'baselines').glob('*.py'))
    assert len(baselines) == 13  # the paper's 11 detectors + 2 mask detectors
    assert [p.name for p in IAAA_CONFIGS] == baselines
    assert [p.name for p in IAAA_PAPER_CONFIGS] == baselines
    assert sorted({_baseline_of(p).name for p in SAAA_CONFIGS}) == baselines
    # 100 and 500 synthetic images (paper Tables 1 and 2)
    assert len(SAAA_CONFIGS) == 2 * len(baselines)


@pytest.mark.parametrize('path', SYNTHETIC_CONFIGS,
                         ids=[f'{p.parent.name}/{p.stem}' for p in SYNTHETIC_CONFIGS])
def test_synthetic_config_changes_only_the_training_data(path):
    cfg = Config.fromfile(str(path))
    baseline = Config.fromfile(str(_baseline_of(path)))
    assert _without_training_data(cfg) == _without_training_data(baseline)
    assert cfg.model == baseline.model
    real, synthetic = _real_and_synthetic(cfg)
    assert real == baseline.train_dataloader.dataset.to_dict()
    assert synthetic['pipeline'] == real.pipeline
    assert Path(synthetic['source']['ann_file']).resolve() == \
        Path(real.data_root, real.ann_file).resolve()
    assert cfg.train_dataloader.batch_size == baseline.train_dataloader.batch_size
    if path.parent.name == 'iaaa_paper':
        assert synthetic['type'] == 'IAAADataset'
        assert read_policy_file(synthetic['policies'])['policies']
    else:
        assert synthetic['type'] == 'SAAADataset'
        assert synthetic['num_samples'] == (500 if path.stem.endswith('_500') else 100)
        # the shipped models of the baselines' data: no SAAA training step first
        for key in ('mask_checkpoint', 'pix2pix_checkpoint'):
            assert Path(synthetic[key]).resolve().parent == SAAA_MODELS / 'dsb2018_fluo'


@pytest.mark.parametrize('path', IAAA_CONFIGS, ids=[p.stem for p in IAAA_CONFIGS])
def test_iaaa_config_pastes_cells_of_the_training_set_into_it(path):
    """configs/iaaa: the baseline with ``_base_.iaaa_paste`` (the default chosen on val)
    right after ``LoadAnnotations``, its cells from the baseline's own training set."""
    cfg = Config.fromfile(str(path))
    baseline = Config.fromfile(str(_baseline_of(path)))
    assert _without_training_data(cfg) == _without_training_data(baseline)
    assert cfg.model == baseline.model and cfg.train_dataloader.dataset.type == 'CocoDataset'
    expected = baseline.train_dataloader.dataset
    _check_online_variant(cfg.train_dataloader.dataset, expected)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [step.type for step in pipeline[1:3]] == ['LoadAnnotations', 'IAAAPaste']
    paste = pipeline[2].to_dict()
    assert Path(paste.pop('source')['ann_file']).resolve() == \
        Path(expected.data_root, expected.ann_file).resolve()
    assert paste == Config.fromfile(str(IAAA_BASE)).iaaa_paste.to_dict()


@pytest.mark.parametrize('path', CPU_SYNTHETIC_CONFIGS,
                         ids=[p.stem for p in CPU_SYNTHETIC_CONFIGS])
def test_cpu_synthetic_variant_changes_only_the_training_data(path):
    prefix = path.stem.split('_', 4)
    variant = prefix[4]
    cfg = Config.fromfile(str(path))
    baseline = Config.fromfile(str(path.with_name('_'.join(prefix[:4]) + '.py')))
    assert _without_training_data(cfg) == _without_training_data(baseline)
    if CPU_VARIANTS[variant] in ONLINE_TYPES:
        assert cfg.train_dataloader.dataset.type == CPU_VARIANTS[variant]
        _check_online_variant(cfg.train_dataloader.dataset, baseline.train_dataloader.dataset)
        return
    real, synthetic = _real_and_synthetic(cfg)
    assert real == baseline.train_dataloader.dataset.to_dict()
    assert synthetic['type'] == CPU_VARIANTS[variant] and synthetic['pipeline'] == real.pipeline


@pytest.mark.parametrize('path', FAST_CONFIGS, ids=[p.stem for p in FAST_CONFIGS])
def test_fast_variant_changes_only_the_training_data(path):
    """Every setting of the fast protocol: the same model, iterations, schedule and
    evaluation as real-only training; the same real set inside its training data."""
    prefix = path.stem.split('_', 4)
    variant = prefix[4]
    cfg = Config.fromfile(str(path))
    baseline = Config.fromfile(str(path.with_name('_'.join(prefix[:4]) + '.py')))
    assert _without_training_data(cfg) == _without_training_data(baseline)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == FAST_VARIANTS[variant]
    _check_online_variant(dataset, baseline.train_dataloader.dataset)


def test_every_fast_box_config_has_a_mask_namesake():
    boxes = (REPO_ROOT / 'configs' / 'fast').glob('faster_rcnn_r18_*.py')
    assert [p.name for p in FAST_MASK_CONFIGS] == \
        sorted(p.name.replace('faster_rcnn', 'mask_rcnn') for p in boxes)


@pytest.mark.parametrize('path', FAST_MASK_CONFIGS, ids=[p.stem for p in FAST_MASK_CONFIGS])
def test_fast_mask_config_is_its_box_config_plus_the_mask_branch(path):
    """Same data, iterations, schedule, box detector and 300 detections; Mask R-CNN's mask
    branch (one class), half the learning rate with gradient clipping, box + mask AP."""
    cfg = Config.fromfile(str(path)).to_dict()
    box = Config.fromfile(str(path.with_name(path.name.replace('mask_rcnn', 'faster_rcnn'))))
    box = box.to_dict()
    assert {k for k in set(cfg) | set(box) if cfg.get(k) != box.get(k)} == \
        {'model', 'val_evaluator', 'test_evaluator', 'mask_branch', 'mask_optim_wrapper',
         'optim_wrapper'}
    assert cfg['optim_wrapper'] == dict(
        box['optim_wrapper'], optimizer=dict(box['optim_wrapper']['optimizer'], lr=0.01),
        clip_grad=dict(max_norm=35, norm_type=2))
    for key in ('val_evaluator', 'test_evaluator'):
        assert cfg[key] == dict(box[key], metric=['bbox', 'segm'])
    model = cfg['model']
    assert model.pop('type') == 'MaskRCNN' and box['model'].pop('type') == 'FasterRCNN'
    assert model['roi_head'].pop('mask_head')['num_classes'] == 1
    del model['roi_head']['mask_roi_extractor'], model['data_preprocessor']['pad_mask']
    del model['train_cfg']['rcnn']['mask_size'], model['test_cfg']['rcnn']['mask_thr_binary']
    assert model == box['model']


def test_copypaste_online_pastes_real_cells(sample_root):
    from mmdet.registry import DATASETS

    cfg = Config.fromfile(str(REPO_ROOT / 'configs/fast/faster_rcnn_r18_fluo_copypaste_online.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.dataset.data_root = str(sample_root) + '/'
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 16
    for idx in range(3):
        item = dataset[idx]
        assert tuple(item["inputs"].shape) == (3, 128, 128)
        assert len(item['data_samples'].gt_instances) > 0


def train_one_epoch(config, tmp_path, cache_name, *synthetic_options):
    """Train ``configs/cpu/<config>`` for one epoch with its synthetic cache
    (``<cache_name>-<key>``) in tmp_path; return the training log."""
    env = dict(os.environ, MMAUG_OFFLINE='1')
    options = [f'train_dataloader.dataset.synthetic.{option}' for option in
               (f'cache_root={tmp_path / "cache"}', *synthetic_options)]
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(REPO_ROOT / 'configs' / 'cpu' / config),
         '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=5',
         'default_hooks.logger.interval=1', *options],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    (cache, ) = (tmp_path / 'cache').glob(f'{cache_name}-*')
    assert (cache / 'annotations.json').is_file() and (cache / 'contact_sheet.png').is_file()
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    return result.stdout + result.stderr


def test_iaaa_cpu_config_trains_on_real_plus_synthetic(tmp_path):
    log = train_one_epoch('faster_rcnn_r18_sample_iaaa.py', tmp_path, 'iaaa')
    assert 'Epoch(train) [1][8/8]' in log  # 16 real + 16 IAAA images, batch 4


def test_saaa_cpu_config_trains_on_real_plus_synthetic(tmp_path):
    """With the tiny committed checkpoints of tests/data/saaa_tiny (see its README)."""
    log = train_one_epoch(
        'faster_rcnn_r18_sample_saaa.py', tmp_path, 'saaa', 'num_samples=4',
        f'mask_checkpoint={SAAA_TINY / "mask_ddpm.pth"}',
        f'pix2pix_checkpoint={SAAA_TINY / "pix2pix.pth"}')
    assert 'Epoch(train) [1][5/5]' in log  # 16 real + 4 SAAA images, batch 4


def test_generate_tool_writes_the_cache_training_uses(tmp_path):
    cache_root = tmp_path / 'cache'
    result = subprocess.run(
        [sys.executable, 'tools/generate.py',
         str(REPO_ROOT / 'configs' / 'cpu' / 'faster_rcnn_r18_sample_iaaa.py'), '--cfg-options',
         f'train_dataloader.dataset.synthetic.cache_root={cache_root}',
         'train_dataloader.dataset.synthetic.num_samples=2'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (cache, ) = cache_root.glob('iaaa-*')
    assert 'IAAADataset: 2 images' in result.stdout
    assert str(cache / 'contact_sheet.png') in result.stdout
    assert (cache / 'contact_sheet.png').is_file()
