"""Mask bank and per-mask noise streams: batched == one by one, bank files, keys, samples.

The mask model is the tiny trained checkpoint of tests/data/saaa_tiny (32 px, ~65 % of
its DDIM samples pass the filter), so rejections and retries really happen.
"""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mmaug_is.datasets import SAAADataset
from mmaug_is.saaa.generator import DEFAULT_MASK_BANK, MaskGenerator, SAAAGenerator
from mmaug_is.saaa.mask_bank import MaskBank, mask_bank_key
from mmaug_is.saaa.mask_data import dihedral
from mmaug_is.saaa.mask_ddpm import MaskSamplingError, mask_generators, sample_clean_masks

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

SAAA_TINY = Path(__file__).resolve().parents[1] / 'data' / 'saaa_tiny'
MASK_CKPT = SAAA_TINY / 'mask_ddpm.pth'
STEPS = 10


@pytest.fixture(scope='module')
def tiny_masks():
    torch.set_num_threads(1)
    return MaskGenerator.from_checkpoint(MASK_CKPT, steps=STEPS)


def test_batched_masks_equal_one_by_one(tiny_masks):
    """Mask i depends only on its own noise stream: not on the batch it is drawn in, nor
    on the other masks' rejections. Raw DDIM samples agree up to the UNet's floating
    point (oneDNN/BLAS pick kernels by batch shape; ~1e-4 after 10 steps), thresholded
    and post-processed masks exactly (for these seeds; a pixel whose raw value lies within
    that tolerance of 0 could flip)."""
    model, seeds = tiny_masks.model, list(range(40, 52))
    batched = model.sample(len(seeds), mask_generators(seeds), 'ddim', STEPS)
    single = torch.cat([model.sample(1, mask_generators([s]), 'ddim', STEPS) for s in seeds])
    assert torch.allclose(batched, single, rtol=0, atol=2e-3)
    assert torch.equal(batched > 0, single > 0)

    def clean(batch_size):
        return sample_clean_masks(model, tiny_masks.mask_filter, len(seeds),
                                  mask_generators(seeds), sampler='ddim', steps=STEPS,
                                  batch_size=batch_size)

    in_one_batch = clean(64)
    assert np.array_equal(in_one_batch, clean(1)) and np.array_equal(in_one_batch, clean(5))
    # The first masks do not depend on how many follow them.
    first = sample_clean_masks(model, tiny_masks.mask_filter, 4, mask_generators(seeds[:4]),
                               steps=STEPS)
    assert np.array_equal(first, in_one_batch[:4])
    # numpy rng -> one seed per mask: the same image rng gives the same masks.
    a = tiny_masks.sample(3, np.random.default_rng(5))
    assert np.array_equal(a, tiny_masks.sample(3, np.random.default_rng(5)))


class CountingModel:
    """Wraps a ``MaskDDPM``: counts samples, raises after ``fail_after`` calls."""

    def __init__(self, model, fail_after=None):
        self.model, self.cfg, self.fail_after, self.calls, self.samples = (
            model, model.cfg, fail_after, 0, 0)

    def eval(self):
        return self

    def sample(self, n, generator, sampler='ddim', steps=50):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt
        self.calls, self.samples = self.calls + 1, self.samples + n
        return self.model.sample(n, generator, sampler=sampler, steps=steps)


def _with_model(masks, model):
    return MaskGenerator(model, masks.mask_filter, masks.sizes, masks.fill, steps=masks.steps,
                         batch_size=8, digest=masks.digest)


def test_bank_build_load_round_trip_and_resume(tiny_masks, tmp_path):
    bank = MaskBank.cached(tiny_masks, 20, tmp_path, seed=3, chunk=16, progress=False)
    path = tmp_path / f'mask_bank-{tiny_masks.bank_key(20, 3)}.npz'
    assert path.is_file() and not path.with_name(path.name + '.parts').exists()
    assert bank.masks.shape == (20, 32, 32) and bank.masks.dtype == bool
    assert bank.meta['n'] == 20 and bank.meta['steps'] == STEPS and bank.meta['seed'] == 3
    assert 0 < bank.meta['acceptance'] <= 1 and len(bank.meta['slots']) == 20
    for mask in bank.masks:  # every bank mask is an accepted mask
        cleaned, reason = tiny_masks.mask_filter.clean(np.where(mask, 1.0, -1.0))
        assert reason == 'ok' and np.array_equal(cleaned, mask)
    loaded = MaskBank.cached(tiny_masks, 20, tmp_path, seed=3)  # from the file
    assert np.array_equal(loaded.masks, bank.masks) and loaded.meta == bank.meta
    with pytest.raises(ValueError, match='mask bank key'):
        MaskBank.load(path, key='0' * 16)
    # Chunk and batch sizes do not change the bank.
    other = MaskBank.build(tiny_masks, 20, seed=3, chunk=7, progress=False)
    assert np.array_equal(other.masks, bank.masks)
    assert not np.array_equal(MaskBank.build(tiny_masks, 20, seed=4, progress=False).masks,
                              bank.masks)
    # An interrupted build resumes from its finished chunks and ends with the same bank.
    parts = tmp_path / 'resume' / 'bank.npz.parts'
    broken = _with_model(tiny_masks, CountingModel(tiny_masks.model, fail_after=2))
    with pytest.raises(KeyboardInterrupt):
        MaskBank.build(broken, 20, seed=3, chunk=8, progress=False, parts_dir=parts)
    assert len(list(parts.glob('slots_*.npz'))) == 2
    counting = CountingModel(tiny_masks.model)
    resumed = MaskBank.build(_with_model(tiny_masks, counting), 20, seed=3, chunk=8,
                             progress=False, parts_dir=parts)
    assert np.array_equal(resumed.masks, bank.masks)
    assert counting.samples == resumed.meta['slots_sampled'] - 16


def test_bank_draws_and_under_trained_models(tiny_masks):
    masks = np.zeros((3, 8, 8), bool)
    masks[0, 1:3, 1:6], masks[1, 2:7, 3:5], masks[2, 4, 4] = True, True, True
    bank = MaskBank(masks, dict(key='k'))
    drawn = bank.draw(3, np.random.default_rng(0))
    assert np.array_equal(drawn, bank.draw(3, np.random.default_rng(0)))
    variants = [{dihedral([m[None]], k)[0][0].tobytes() for k in range(8)} for m in masks]
    assert sorted(next(i for i, v in enumerate(variants) if d.tobytes() in v)
                  for d in drawn) == [0, 1, 2]  # distinct bank masks within one image
    assert bank.draw(7, np.random.default_rng(1)).shape == (7, 8, 8)  # more than the bank
    strict = MaskGenerator(tiny_masks.model, tiny_masks.mask_filter.__class__(1e9, 2e9),
                           tiny_masks.sizes, tiny_masks.fill, steps=2, digest='x')
    with pytest.raises(MaskSamplingError, match=r'mask bank: only 0/4 ddim samples passed'):
        MaskBank.build(strict, 5, chunk=4, progress=False)


def test_bank_key_follows_checkpoint_bytes_and_settings(tiny_masks, tmp_path):
    ckpt = tmp_path / 'mask_ddpm.pth'
    shutil.copy(MASK_CKPT, ckpt)
    key = SAAAGenerator.mask_bank_key(ckpt)
    assert key == MaskGenerator.from_checkpoint(ckpt).bank_key(DEFAULT_MASK_BANK, 0)
    assert key == SAAAGenerator.mask_bank_key(ckpt, mask_bank=DEFAULT_MASK_BANK, steps=25,
                                              max_cells=3, mask_bank_dir='elsewhere')
    others = {SAAAGenerator.mask_bank_key(ckpt, **change)
              for change in (dict(mask_bank=100), dict(mask_bank_seed=1), dict(steps=10),
                             dict(sampler='ddpm'), dict(smooth_sigma=0.5))}
    assert len(others) == 5 and key not in others
    assert SAAAGenerator.mask_bank_key(ckpt, mask_bank=None) is None
    assert SAAAGenerator.mask_bank_key(ckpt, mask_bank=0) is None
    with pytest.raises(ValueError, match='mask_bank must be'):
        SAAAGenerator.mask_bank_key(ckpt, mask_bank=-1)
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    state['ema'] = {k: v + 1e-3 if v.is_floating_point() else v
                    for k, v in state['ema'].items()}
    torch.save(state, ckpt)
    assert SAAAGenerator.mask_bank_key(ckpt) != key
    # A model built in memory is keyed by its weights.
    copy = MaskGenerator(tiny_masks.model, tiny_masks.mask_filter, tiny_masks.sizes,
                         tiny_masks.fill)
    assert copy.bank_key(8) == mask_bank_key(copy.digest, 8, 0, 'ddim', 25, 0.0)


def _dataset(sample_root, cache_root, **generator):
    return SAAADataset(
        source=dict(ann_file=str(sample_root / 'annotations' / 'train.json'),
                    img_dir=str(sample_root / 'images')),
        mask_checkpoint=MASK_CKPT, pix2pix_checkpoint=SAAA_TINY / 'pix2pix.pth',
        num_samples=3, cache_root=str(cache_root), mode='online',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='PackDetInputs')], lazy_init=True,
        generator=dict(steps=STEPS, **generator))


def test_dataset_samples_with_a_bank_are_reproducible_and_keyed(sample_root, tmp_path):
    dataset = _dataset(sample_root, tmp_path, mask_bank=24)
    generator = dataset.generator
    bank = generator.masks.bank
    assert len(bank) == 24 and generator.settings()['mask_bank'] == bank.key
    assert (tmp_path / 'saaa_mask_banks' / f'mask_bank-{bank.key}.npz').is_file()
    first = generator.generate(0, 1)
    assert len(first.masks) > 0
    again = _dataset(sample_root, tmp_path, mask_bank=24).generator  # bank read from disk
    for other in (generator.generate(0, 1), again.generate(0, 1)):
        assert other.image.tobytes() == first.image.tobytes()
        assert other.masks.tobytes() == first.masks.tobytes()
    assert generator.generate(0, 2).image.tobytes() != first.image.tobytes()
    # The cache key follows the bank, not where the bank is stored.
    keys = {_dataset(sample_root, tmp_path, **opts).cache_key()
            for opts in (dict(mask_bank=24), dict(mask_bank=24, mask_bank_dir=str(tmp_path)))}
    assert len(keys) == 1
    for opts in (dict(mask_bank=25), dict(mask_bank=24, mask_bank_seed=1),
                 dict(mask_bank=None)):
        assert _dataset(sample_root, tmp_path, **opts).cache_key() not in keys
