"""The README's "Add IAAAPaste to your own config" snippet trains with mmdet's own tools.

The snippet is read from the README, so the documented config is the tested one: mmdet's
``mask-rcnn_r50_fpn_1x_coco.py`` (ImageNet-pretrained backbone from ``torchvision://``)
with ``IAAAPaste`` on the bundled sample, 2 iterations of mmdet's ``tools/train.py`` with
``MMAUG_OFFLINE=1`` (the download skipped because the plugin is imported).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import mmdet
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
HEADING = '### Add IAAAPaste to your own config'


def readme_snippet():
    text = (REPO_ROOT / 'README.md').read_text()
    section = text[text.index(HEADING):]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_snippet_uses_the_transform_defaults_and_mmdets_own_config():
    snippet = readme_snippet()
    assert "_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'" in snippet
    paste = snippet[snippet.index("dict(type='IAAAPaste'"):snippet.index("type='RandomResize'")]
    assert 'max_cells' not in paste and 'prob' not in paste and 'edge' not in paste


@pytest.mark.slow
def test_snippet_trains_two_iterations_with_mmdets_train_tool(tmp_path):
    config = tmp_path / 'mask_rcnn_iaaa.py'
    config.write_text(readme_snippet())
    train_tool = Path(mmdet.__file__).parent / '.mim/tools/train.py'
    work_dir = tmp_path / 'work'
    env = dict(os.environ, MMAUG_OFFLINE='1', OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, str(train_tool), str(config), '--work-dir', str(work_dir),
         '--cfg-options', 'train_dataloader.dataset.indices=4', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'default_hooks.checkpoint.interval=2',
         'default_hooks.logger.interval=1'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'MMAUG_OFFLINE=1: not downloading torchvision://resnet50' in log
    assert re.search(r'Epoch\(train\) +\[1\]\[2/2\].*loss_mask', log), log[-4000:]
    assert 'IAAAPaste' in log  # the pipeline as mmdet printed it
