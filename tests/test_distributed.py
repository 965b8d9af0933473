"""Distributed runs on CPU (torchrun, 2 processes, gloo) on the bundled sample: the ranks share
the synthetic cache (same bytes as one process, nothing made twice), online samples do not
depend on the rank, and tools/dist_train.sh / dist_test.sh train and test a detector."""
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from distributed_job import CACHE_DATASETS, NUM_SAMPLES, build, online_digests

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, MMAUG_OFFLINE='1', OMP_NUM_THREADS='1', PYTHON=sys.executable)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def file_digests(folder):
    """``{relative path: sha256}`` of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}


def run(command, timeout=600):
    """Run ``command`` in the repository (offline, one thread, torchrun on a free port);
    return its output, failing with its end if it fails."""
    env = dict(ENV, PORT=str(free_port()))
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def ranks(sample_root, tmp_path_factory):
    """The two ranks' reports of tests/distributed_job.py and its cache root."""
    root = tmp_path_factory.mktemp('ddp')
    run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={free_port()}', 'tests/distributed_job.py', str(sample_root),
         str(root / 'cache'), str(root)])
    return [json.loads((root / f'rank{r}.json').read_text()) for r in (0, 1)], root / 'cache'


@pytest.mark.parametrize('name', sorted(CACHE_DATASETS))
def test_ranks_write_the_cache_of_one_process(ranks, name, sample_root, tmp_path):
    reports, cache_root = ranks
    single = build(name, sample_root, tmp_path)
    folder = Path(single.ann_file).parent
    ddp_folder = cache_root / folder.name
    assert file_digests(ddp_folder) == file_digests(folder)
    assert len(file_digests(folder)) == 2 * NUM_SAMPLES + 2  # images, parts, sheet, json


@pytest.mark.parametrize('name', sorted(CACHE_DATASETS))
def test_each_sample_is_made_once_by_its_rank(ranks, name):
    reports, _ = ranks
    made = [report['generated'][name] for report in reports]
    assert made == [[0, 2, 4], [1, 3]]


def test_real_assets_are_built_on_rank_0_only(ranks):
    reports, _ = ranks
    assert [report['built_assets'] for report in reports] == [True, False]


def test_online_samples_do_not_depend_on_the_rank(ranks, sample_root, tmp_path):
    """FreshEpochSampler gives each rank its share; sample i of epoch 1 is the same bytes
    as in one process."""
    reports, cache_root = ranks
    shares = [{int(i): digest for i, digest in report['online'].items()} for report in reports]
    assert set(shares[0]) | set(shares[1]) == set(range(NUM_SAMPLES))
    single = online_digests(sample_root, cache_root, epoch=1)
    for share in shares:
        assert share == {i: single[i] for i in share}


def test_dist_train_and_dist_test_on_cpu(tmp_path):
    """tools/dist_train.sh: 2 processes (gloo), real + 4 IAAA images made by the ranks,
    one epoch; tools/dist_test.sh evaluates the checkpoint with 2 processes."""
    config = 'configs/cpu/faster_rcnn_r18_sample_iaaa.py'
    synthetic = 'train_dataloader.dataset.synthetic'
    log = run(['tools/dist_train.sh', config, '2', '--work-dir', str(tmp_path / 'work'),
               '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
               'default_hooks.logger.interval=1', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False', f'{synthetic}.num_samples=4',
               f'{synthetic}.cache_root={tmp_path / "cache"}'])
    assert 'no CUDA: gloo process group on CPU, rank 0 of 2' in log
    assert 'Distributed training: True' in log
    assert 'Epoch(train) [1][3/3]' in log  # (16 real + 4 IAAA) / (2 processes x batch 4)
    (cache, ) = (tmp_path / 'cache').glob('iaaa-*')
    assert len(json.loads((cache / 'annotations.json').read_text())['images']) == 4
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()
    log = run(['tools/dist_test.sh', config, str(checkpoint), '2',
               '--work-dir', str(tmp_path / 'test')])
    assert 'rank 0 of 2' in log and 'coco/bbox_mAP' in log
