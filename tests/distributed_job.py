"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node=2`` (gloo, CPU).

    python -m torch.distributed.run --nproc_per_node=2 tests/distributed_job.py \
        SAMPLE_ROOT CACHE_ROOT OUT_DIR

Each rank builds the cache-mode IAAA and copy-paste datasets of ``CACHE_DATASETS`` (the
test builds the same ones in one process) and an online IAAA dataset read through a
``FreshEpochSampler`` in epoch 1. It writes ``OUT_DIR/rank<r>.json``: the sample indices
it generated per cache, whether it built the real-data assets, and the sha256 of each
online sample it was given.
"""
import hashlib
import json
import sys
from pathlib import Path

import torch.distributed as dist
from mmdet.utils import register_all_modules

from mmaug_is.datasets import CopyPasteDataset, FreshEpochSampler, IAAADataset
from mmaug_is.synth import RealAssets

NUM_SAMPLES = 5
POLICIES = [{'sub_policies': [{'op': 'Rotate', 'prob': 0.8, 'level': 3}]}]
CACHE_DATASETS = {'iaaa': (IAAADataset, dict(policies=POLICIES)),
                  'copypaste': (CopyPasteDataset, {})}


def source(sample_root):
    return dict(ann_file=str(Path(sample_root) / 'annotations/train.json'),
                img_dir=str(Path(sample_root) / 'images'))


def build(name, sample_root, cache_root, **kwargs):
    """The cache dataset ``name`` of ``CACHE_DATASETS`` (the test builds the same)."""
    cls, extra = CACHE_DATASETS[name]
    return cls(source=source(sample_root), num_samples=NUM_SAMPLES, seed=3,
               cache_root=str(cache_root), **extra, **kwargs)


def online_digests(sample_root, cache_root, epoch):
    """``{index: sha256 of the image}`` of the online samples this rank's sampler gives."""
    dataset = IAAADataset(source=source(sample_root), policies=POLICIES,
                          num_samples=NUM_SAMPLES, seed=3, mode='online',
                          cache_root=str(cache_root), pipeline=[dict(type='LoadImageFromFile')])
    sampler = FreshEpochSampler(dataset, shuffle=True, seed=0)
    sampler.set_epoch(epoch)
    return {int(idx) % NUM_SAMPLES: hashlib.sha256(dataset[idx]['img'].tobytes()).hexdigest()
            for idx in sampler}


def recording(make_sample, made):
    """``make_sample`` that also appends each index it makes to ``made``."""
    def make(index, epoch=None):
        made.append(index)
        return make_sample(index, epoch)
    return make


def main(sample_root, cache_root, out_dir):
    register_all_modules(init_default_scope=True)
    dist.init_process_group('gloo')
    rank = dist.get_rank()
    built_assets = []
    build_assets = RealAssets.build.__func__

    def recording_build(cls, *args, **kwargs):
        built_assets.append(True)
        return build_assets(cls, *args, **kwargs)

    RealAssets.build = classmethod(recording_build)
    generated = {}
    for name in CACHE_DATASETS:
        dataset = build(name, sample_root, cache_root, lazy_init=True)
        dataset._make_sample = recording(dataset._make_sample, generated.setdefault(name, []))
        dataset.full_init()
        assert len(dataset) == NUM_SAMPLES
    result = dict(generated=generated, built_assets=bool(built_assets),
                  online=online_digests(sample_root, cache_root, epoch=1))
    Path(out_dir, f'rank{rank}.json').write_text(json.dumps(result))
    dist.destroy_process_group()


if __name__ == '__main__':
    main(*sys.argv[1:4])
