"""mmdet's own tools/analysis_tools/browse_dataset.py on a config that trains on real + IAAA
data: it draws every training image, real and synthetic, and stops."""
import os
import subprocess
import sys
from pathlib import Path

import mmdet

REPO_ROOT = Path(__file__).resolve().parents[1]
BROWSE = Path(mmdet.__file__).parent / '.mim' / 'tools' / 'analysis_tools' / 'browse_dataset.py'


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
