"""mmengine checkpoints load under torch's weights_only=True once the plugin allow-lists them."""
import subprocess
import sys
import textwrap

import pytest

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow


def _run(code):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)


SAVE_CHECKPOINT = """
    import numpy as np, torch
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('compat')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_scalar('train/lr', 0.01)
    hub.get_scalar('train/loss').statistics('mean')
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), milestones=[8, 11])
    ckpt = dict(state_dict=dict(w=torch.ones(2)),
                meta=dict(seed=np.int64(3), rng=np.random.get_state(),
                          hist=HistoryBuffer([1.0, 2.0], [1, 1]), arr=np.arange(3, dtype=np.float32)),
                message_hub=hub.state_dict(), param_schedulers=[scheduler.state_dict()])
    torch.save(ckpt, PATH)
"""


def test_plain_torch_refuses_mmengine_checkpoint(tmp_path):
    path = tmp_path / 'ckpt.pth'
    code = f"PATH = {str(path)!r}\n" + textwrap.dedent(SAVE_CHECKPOINT) + """
import torch
try:
    torch.load(PATH, weights_only=True)
except Exception as err:
    print('REFUSED', type(err).__name__)
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert 'REFUSED' in result.stdout


def test_allow_listed_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    code = f"PATH = {str(path)!r}\n" + textwrap.dedent(SAVE_CHECKPOINT) + """
import torch
from mmaug_is.utils import allow_mmengine_checkpoints
allow_mmengine_checkpoints()
ckpt = torch.load(PATH, weights_only=True)
assert ckpt['meta']['hist'].mean() == 1.5
assert ckpt['meta']['arr'].tolist() == [0.0, 1.0, 2.0]
assert int(ckpt['meta']['seed']) == 3
print('LOADED')
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'LOADED' in result.stdout
