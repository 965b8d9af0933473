"""``mmaug_is.saaa``, its training tools and the release tool run with torch + diffusers
alone: no mmdet, mmcv or mmengine on that path (a GPU machine without mmcv must be able to
train SAAA and release its models)."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: mmdet / mmcv / mmengine cannot be imported there, and
# importlib.util.find_spec reports them missing, as on a machine without them.
SCRIPT = textwrap.dedent('''
    import importlib.abc
    import importlib.util
    import json
    import runpy
    import sys

    BLOCKED = ('mmdet', 'mmcv', 'mmengine')


    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition('.')[0] in BLOCKED:
                raise ImportError(f'{name} is not installed (torch-only test)')
            return None


    sys.meta_path.insert(0, Blocker())
    for name in BLOCKED:
        sys.modules[name] = None  # `import` raises ImportError, find_spec returns None
    assert all(importlib.util.find_spec(name) is None for name in BLOCKED)

    import mmaug_is
    import mmaug_is.saaa  # noqa: F401

    assert not mmaug_is.MMDET_INSTALLED
    for tool, argv in json.loads(sys.argv[1]):
        sys.argv = [tool, *argv]
        runpy.run_path(tool, run_name='__main__')
    loaded = sorted(m for m, mod in sys.modules.items()
                    if m.partition('.')[0] in BLOCKED and mod is not None)
    assert not loaded, loaded
    print('TORCH_ONLY_OK')
''')


def test_saaa_tools_run_without_mmdet_mmcv_mmengine(sample_root, tmp_path):
    common = ['--ann-file', str(sample_root / 'annotations' / 'train.json'),
              '--img-dir', str(sample_root / 'images'), '--work-dir', str(tmp_path),
              '--size', '32', '--batch-size', '8', '--iters', '2', '--no-progress',
              '--log-interval', '1', '--ckpt-interval', '2', '--sample-interval', '2']
    runs = [
        ('tools/saaa_train_masks.py', [*common, '--channels', '8,16,16', '--sample-steps', '2']),
        # default perceptual loss: the FID Inception, located through the evaluation package
        ('tools/saaa_train_pix2pix.py', [*common, '--ngf', '8', '--ndf', '8']),
        # a release of the two (2 iterations are too few for masks to pass: no sheet)
        ('tools/saaa_release.py', ['--mask-ckpt', str(tmp_path / 'mask_ddpm.pth'),
                                   '--pix2pix-ckpt', str(tmp_path / 'pix2pix.pth'),
                                   '--out', str(tmp_path / 'release'), '--no-sheet']),
    ]
    env = dict(os.environ, MMAUG_OFFLINE='1', OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, '-c', SCRIPT, json.dumps(runs)], cwd=REPO_ROOT,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'TORCH_ONLY_OK' in result.stdout
    for ckpt in ('mask_ddpm.pth', 'pix2pix.pth'):
        assert (tmp_path / ckpt).is_file()
    assert (tmp_path / 'samples' / 'masks_iter_000002.png').is_file()
    assert (tmp_path / 'samples' / 'pix2pix_iter_000002.png').is_file()
    log = (tmp_path / 'train_pix2pix.log').read_text()
    assert 'iter 2/2' in log and 'perceptual loss inception' in log
    manifest = json.loads((tmp_path / 'release' / 'manifest.json').read_text())
    for name in ('mask_ddpm.pth', 'pix2pix.pth'):
        model = manifest['models'][name]
        assert model['command_source'] == 'checkpoint' and model['iterations'] == 2
        assert model['command'].startswith('OMP_NUM_THREADS=1 python tools/saaa_train_')
        assert (tmp_path / 'release' / name).stat().st_size < (tmp_path / name).stat().st_size
