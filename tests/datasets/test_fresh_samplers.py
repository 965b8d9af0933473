"""Fresh online samples per epoch: the epoch-passing samplers and the datasets that take them,
on the bundled real sample."""
import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmdet.datasets import CocoDataset
from mmengine.dataset import DefaultSampler, InfiniteSampler

from mmaug_is.datasets import (CopyPasteDataset, EpochIndex, FreshEpochSampler,
                               FreshInfiniteSampler, IAAADataset, RealPlusSyntheticDataset,
                               split_epoch)

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs'),
]
POLICIES = [{'sub_policies': [{'op': 'Rotate', 'prob': 0.8, 'level': 3}]}]


def _source(sample_root):
    return dict(ann_file=str(sample_root / 'annotations/train.json'),
                img_dir=str(sample_root / 'images'))


def _iaaa(sample_root, cache_root, mode='online'):
    return IAAADataset(source=_source(sample_root), policies=POLICIES, num_samples=3, seed=4,
                       mode=mode, cache_root=str(cache_root), pipeline=PIPELINE)


def _real(sample_root):
    return dict(type='CocoDataset', data_root=str(sample_root) + '/',
                ann_file='annotations/train.json', data_prefix=dict(img='images/'),
                metainfo=dict(classes=('nucleus', ), palette=[(220, 20, 60)]),
                filter_cfg=dict(filter_empty_gt=True, min_size=0), pipeline=PIPELINE)


def _image(item):
    return item['inputs'].numpy()


def test_epoch_index_is_an_int_that_keeps_its_epoch_through_pickle():
    index = EpochIndex(3, 2)
    assert index == 3 and [10, 11, 12, 13][index] == 13 and split_epoch(index) == (2, 3)
    assert split_epoch(4) == (0, 4) and split_epoch(-1) == (0, -1)
    again = pickle.loads(pickle.dumps(index))
    assert type(again) is EpochIndex and split_epoch(again) == (2, 3)
    with pytest.raises(ValueError, match='epoch'):
        EpochIndex(1, -1)


@pytest.fixture(scope='module')
def online(sample_root, tmp_path_factory):
    return _iaaa(sample_root, tmp_path_factory.mktemp('cache'))


def test_infinite_sampler_keeps_the_order_and_counts_passes(online):
    plain = iter(InfiniteSampler(online, shuffle=True, seed=3))
    fresh = iter(FreshInfiniteSampler(online, shuffle=True, seed=3))
    size = len(online)
    for position in range(4 * size):
        assert split_epoch(next(fresh)) == (position // size, next(plain))


def test_epoch_sampler_carries_set_epoch(online):
    plain = DefaultSampler(online, shuffle=True, seed=3)
    fresh = FreshEpochSampler(online, shuffle=True, seed=3)
    for sampler in (plain, fresh):
        sampler.set_epoch(2)
    assert [split_epoch(i) for i in fresh] == [(2, i) for i in plain]


def test_samplers_refuse_datasets_that_ignore_the_epoch(sample_root):
    real = CocoDataset(**{k: v for k, v in _real(sample_root).items() if k != 'type'})
    for sampler in (FreshEpochSampler, FreshInfiniteSampler):
        with pytest.raises(TypeError, match='CocoDataset'):
            sampler(real, seed=0)


def test_online_epochs_differ_and_epoch_zero_is_the_plain_sample(online):
    for index in range(len(online)):
        plain, epoch0 = _image(online[index]), _image(online[EpochIndex(index, 0)])
        epoch1, epoch2 = (_image(online[EpochIndex(index, e)]) for e in (1, 2))
        assert np.array_equal(plain, epoch0)
        assert epoch1.shape == plain.shape, 'the frame (and its shape) is kept'
        assert not np.array_equal(epoch1, plain) and not np.array_equal(epoch2, epoch1)
        assert np.array_equal(epoch1, _image(online[EpochIndex(index, 1)])), 'replayable'
    assert len(list(online)) == len(online), 'iteration still ends'


def test_copy_paste_online_epochs_differ(sample_root, tmp_path):
    dataset = CopyPasteDataset(source=_source(sample_root), num_samples=2, seed=1,
                               mode='online', cache_root=str(tmp_path), pipeline=PIPELINE)
    assert not np.array_equal(_image(dataset[0]), _image(dataset[EpochIndex(0, 1)]))


def test_cache_mode_ignores_the_epoch(sample_root, tmp_path):
    cached = _iaaa(sample_root, tmp_path, mode='cache')
    assert np.array_equal(_image(cached[1]), _image(cached[EpochIndex(1, 3)]))


def test_real_plus_synthetic_passes_the_epoch_to_synthetic_parts_only(sample_root, tmp_path):
    mixed = RealPlusSyntheticDataset(
        real=_real(sample_root),
        synthetic=dict(type='IAAADataset', policies=POLICIES, num_samples=2, seed=4,
                       mode='online', cache_root=str(tmp_path)))
    n_real = len(mixed.datasets[0])
    assert np.array_equal(_image(mixed[0]), _image(mixed[EpochIndex(0, 1)]))
    assert not np.array_equal(_image(mixed[n_real]), _image(mixed[EpochIndex(n_real, 1)]))
    assert np.array_equal(_image(mixed[EpochIndex(n_real, 1)]),
                          _image(mixed.datasets[1][EpochIndex(0, 1)]))
    assert len(list(mixed)) == len(mixed), 'iteration still ends'


def test_aspect_ratio_batches_keep_the_epoch_past_the_first_pass(online):
    from mmdet.datasets.samplers import AspectRatioBatchSampler

    batches = iter(AspectRatioBatchSampler(FreshInfiniteSampler(online, seed=0),
                                           batch_size=2))
    epochs = {split_epoch(index)[0] for _ in range(4 * len(online)) for index in next(batches)}
    assert epochs >= {0, 1, 2}


def _digest_in_new_process(sample_root, cache_root, index, epoch):
    code = ('import hashlib, sys\n'
            'from pathlib import Path\n'
            'sys.path.insert(0, sys.argv[1])\n'
            'from mmdet.utils import register_all_modules\n'
            'register_all_modules()\n'
            'from mmaug_is.datasets import EpochIndex\n'
            'from test_fresh_samplers import _iaaa\n'
            'index = EpochIndex(int(sys.argv[4]), int(sys.argv[5]))\n'
            'item = _iaaa(Path(sys.argv[2]), Path(sys.argv[3]))[index]\n'
            'print(hashlib.sha256(item["inputs"].numpy().tobytes()).hexdigest())\n')
    done = subprocess.run([sys.executable, '-c', code, str(Path(__file__).parent),
                           str(sample_root), str(cache_root), str(index), str(epoch)],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    return done.stdout.split()[-1]


def test_same_seed_epoch_index_same_bytes_in_a_new_process(online, sample_root):
    here = hashlib.sha256(online[EpochIndex(1, 2)]['inputs'].numpy().tobytes()).hexdigest()
    assert _digest_in_new_process(sample_root, online.cache_root, 1, 2) == here
