"""Each of the paper's 11 detector configs builds, trains one step and predicts on real data."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmaug_is.utils import prepare_config

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINES = sorted((REPO_ROOT / 'configs' / 'baselines').glob('*.py'))
SMOKE_SCALE = (128, 128)  # small images keep 11 steps affordable on CPU


def test_there_are_eleven_baselines():
    assert len(BASELINES) == 11, [p.name for p in BASELINES]


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
