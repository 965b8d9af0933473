"""The offline switch removes every weight download and nothing else."""
from pathlib import Path

from mmengine.config import Config

from mmaug_is.utils import strip_pretrained_weights

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_default_configs_use_imagenet_weights_as_gpu_users_expect():
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/baselines/faster_rcnn_r101.py'))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='torchvision://resnet101')


def test_strip_removes_pretrained_everywhere():
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/baselines/reppoints_x101.py'))
    cfg.load_from = 'https://download.openmmlab.com/x.pth'
    removed = strip_pretrained_weights(cfg)
    assert 'model.backbone.init_cfg' in removed and 'load_from' in removed
    assert cfg.model.backbone.init_cfg is None and cfg.load_from is None
    assert cfg.model.backbone.depth == 101


def test_local_checkpoint_is_kept():
    cfg = Config(dict(model=dict(backbone=dict(init_cfg=None)), load_from='work/epoch_1.pth'))
    assert strip_pretrained_weights(cfg) == []
    assert cfg.load_from == 'work/epoch_1.pth'
