"""Each baseline config (the paper's 11 detectors and the two instance-segmentation
detectors beside them) builds, trains one step and predicts on real data; the mask
detectors keep the detectors' data, schedule and evaluation conventions."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmaug_is.utils import prepare_config

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINES = sorted((REPO_ROOT / 'configs' / 'baselines').glob('*.py'))
# the paper's Table 1 (boxes)
PAPER_DETECTORS = ('atss_r101', 'cascade_rcnn_r101', 'faster_rcnn_r101', 'freeanchor_r101',
                   'fsaf_x101', 'gfl_x101', 'grid_rcnn_x101', 'libra_rcnn_x101', 'paa_r101',
                   'reppoints_r101', 'reppoints_x101')
MASK_DETECTORS = ('cascade_mask_rcnn_r101', 'mask_rcnn_r101')  # instance segmentation
SMOKE_SCALE = (128, 128)  # small images keep 13 steps affordable on CPU


def test_baselines_are_the_papers_eleven_detectors_and_two_mask_detectors():
    assert sorted(p.stem for p in BASELINES) == sorted(PAPER_DETECTORS + MASK_DETECTORS)


def test_every_baseline_draws_outlines_without_labels():
    for path in BASELINES:
        assert Config.fromfile(str(path)).visualizer.type == 'OutlineVisualizer', path.name


@pytest.mark.parametrize('name', MASK_DETECTORS)
def test_mask_detector_keeps_the_detector_conventions(name):
    """One class everywhere, 300 detections, masks loaded for training, box and mask AP;
    all else as the paper's Faster R-CNN R-101."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'baselines' / f'{name}.py'))
    reference = Config.fromfile(str(REPO_ROOT / 'configs' / 'baselines' / 'faster_rcnn_r101.py'))
    roi_head = cfg.model.roi_head
    heads = roi_head.bbox_head if isinstance(roi_head.bbox_head, list) else [roi_head.bbox_head]
    assert len(heads) == (3 if name.startswith('cascade') else 1)
    assert [head.num_classes for head in heads + [roi_head.mask_head]] == [1] * (len(heads) + 1)
    assert cfg.model.test_cfg.rcnn.max_per_img == 300
    for key in ('train_cfg', 'param_scheduler', 'auto_scale_lr', 'default_hooks', 'optim_wrapper',
                'val_dataloader', 'test_dataloader', 'visualizer'):
        assert cfg[key] == reference[key], key
    train, expected = cfg.train_dataloader.to_dict(), reference.train_dataloader.to_dict()
    pipeline, expected_pipeline = train['dataset'].pop('pipeline'), \
        expected['dataset'].pop('pipeline')
    assert train == expected
    assert pipeline == [dict(s, with_mask=True) if s['type'] == 'LoadAnnotations' else s
                        for s in expected_pipeline]
    for key in ('val_evaluator', 'test_evaluator'):
        assert cfg[key] == dict(reference[key], metric=['bbox', 'segm']), key


def _smoke_config(path):
    cfg = Config.fromfile(str(path))
    prepare_config(cfg, offline=True)
    for loader in ('train_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = SMOKE_SCALE
    return cfg


@pytest.mark.parametrize('config_path', BASELINES, ids=[p.stem for p in BASELINES])
def test_baseline_one_step_and_inference(config_path, fluo_root):
    from mmdet.registry import DATASETS, MODELS

    cfg = _smoke_config(config_path)
    assert cfg.train_cfg.max_epochs == 12
    assert Path(cfg.train_dataloader.dataset.data_root).resolve() == fluo_root.resolve()
    assert cfg.model.backbone.get('init_cfg') is None  # offline switch removed the download
    torch.manual_seed(0)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[0], dataset[1]])
    model = MODELS.build(cfg.model)
    model.init_weights()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    model.train()
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k and torch.is_tensor(v))
    total = total + sum(sum(x.sum() for x in v) for k, v in losses.items()
                        if 'loss' in k and isinstance(v, (list, tuple)))
    assert torch.isfinite(total)
    optimizer.zero_grad()
    total.backward()
    optimizer.step()

    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    model.eval()
    with torch.no_grad():
        results = model.test_step(pseudo_collate([test_set[0]]))
    pred = results[0].pred_instances
    assert pred.bboxes.shape[-1] == 4
    assert len(pred.bboxes) <= 300
    assert (pred.labels == 0).all()  # one class: nucleus
    if config_path.stem in MASK_DETECTORS:
        assert 'loss_mask' in ''.join(losses) and len(pred.masks) == len(pred.bboxes)
