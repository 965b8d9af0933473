"""WAE scorer and Greedy AutoAugment on real dsb2018_fluo objects (torch, CPU, seconds)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mmaug_is.core.objects import ObjectBank
from mmaug_is.core.ops import N_LEVELS
from mmaug_is.core.policy import Policy, SubPolicy, read_policy_file
from mmaug_is.iaaa.pipeline import run_search
from mmaug_is.iaaa.scoring import PolicyScorer, ScoreConfig, edge_sharpness, split_objects
from mmaug_is.iaaa.search import (CACHE_FILE, STATE_FILE, SearchConfig, candidate_rng,
                                  greedy_candidate_count, greedy_search, is_identity,
                                  level_grid, probability_grid, search_space_size)
from mmaug_is.iaaa.wae import (WAEConfig, embed, imq_mmd, infer_channels, load_wae,
                               model_fingerprint, object_to_array, objects_to_array,
                               train_wae)

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
FAST = dict(width=4, z_dim=8, batch_size=64)


def _policy(*subs):
    return Policy(tuple(SubPolicy(*s) for s in subs))


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def fluo_objects(fluo_root):
    bank = ObjectBank.from_coco(fluo_root / 'annotations' / 'train.json', fluo_root / 'images',
                                progress=False)
    return bank.objects


@pytest.fixture(scope='module')
def split(fluo_objects):
    return split_objects(fluo_objects, n_eval=32, n_ref=96, seed=0)


@pytest.fixture(scope='module')
def trained(split):
    train, _, _ = split
    crops = objects_to_array(train[:400], 64, 1)
    return train_wae(crops, WAEConfig(in_channels=1, epochs=8), seed=0, progress=False).model


@pytest.fixture(scope='module')
def scorer(trained, split):
    _, eval_sample, ref = split
    return PolicyScorer(trained, eval_sample, ref)


def test_crops_are_masked_centred_and_scaled_from_the_dtype_range(fluo_objects):
    obj = fluo_objects[0]
    x8 = object_to_array(obj.image, obj.masks, 64, 1)
    x16 = object_to_array(obj.image.astype(np.uint16) * 257, obj.masks, 64, 1)
    np.testing.assert_allclose(x8, x16, atol=1e-6)  # same picture in 8 and 16 bit
    assert x8.shape == (1, 64, 64) and 0 <= x8.min() and x8.max() <= 1
    assert (x8 > 0).sum() <= obj.masks.any(0).sum()  # only mask pixels are non-zero
    big = max(fluo_objects, key=lambda o: max(o.image.shape[:2]))
    assert max(big.image.shape[:2]) > 64
    xb = object_to_array(big.image, big.masks, 64, 3)
    assert xb.shape == (3, 64, 64) and (xb > 0).any()
    assert infer_channels(fluo_objects) == 1  # grey nuclei stored as equal RGB channels
    colour = (np.dstack([obj.image[..., 0], obj.image[..., 0] // 2, obj.image[..., 0]]), obj.masks)
    assert infer_channels([colour]) == 3


def test_imq_mmd_separates_distributions():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 8, generator=gen), torch.randn(200, 8, generator=gen)
    same, shifted = float(imq_mmd(a, b)), float(imq_mmd(a, b + 1.0))
    assert abs(same) < 0.05 and shifted > 0.3 and shifted > 10 * abs(same)


def test_wae_training_reduces_loss_and_is_deterministic(split, tmp_path):
    crops = objects_to_array(split[0][:160], 64, 1)
    config = WAEConfig(in_channels=1, epochs=3, **FAST)
    first = train_wae(crops, config, seed=3, progress=False)
    losses = [h['loss'] for h in first.history]
    assert losses[-1] < 0.8 * losses[0] and losses == sorted(losses, reverse=True)
    again = train_wae(crops, config, seed=3, progress=False)
    assert model_fingerprint(first.model) == model_fingerprint(again.model)
    untrained = [train_wae(crops, WAEConfig(in_channels=1, epochs=0, **FAST), seed=s,
                           progress=False).model for s in (3, 4)]
    assert model_fingerprint(untrained[0]) != model_fingerprint(untrained[1])
    # interrupted after 1 epoch, then resumed to 3: identical to the uninterrupted run
    ckpt = tmp_path / 'wae.pth'
    train_wae(crops, WAEConfig(in_channels=1, epochs=1, **FAST), seed=3, checkpoint=ckpt,
              progress=False)
    resumed = train_wae(crops, config, seed=3, checkpoint=ckpt, progress=False)
    assert resumed.resumed_from_epoch == 1
    assert model_fingerprint(resumed.model) == model_fingerprint(first.model)
    loaded, info = load_wae(ckpt)
    assert info['epoch'] == 3 and model_fingerprint(loaded) == model_fingerprint(first.model)
    assert [p.name for p in tmp_path.iterdir()] == ['wae.pth']  # atomic: no temp files
    with pytest.raises(ValueError, match='another seed or other crops'):
        train_wae(crops, config, seed=5, checkpoint=ckpt, progress=False)
    with pytest.raises(ValueError, match='differ'):
        train_wae(crops, WAEConfig(in_channels=1, epochs=3, width=8), seed=3, checkpoint=ckpt,
                  progress=False)
    with pytest.raises(ValueError, match='crops must be'):
        train_wae(crops[:, :, :32, :32], config, progress=False)


def test_model_size_and_batch_independent_codes(trained, split):
    assert 5_000 < sum(p.numel() for p in trained.parameters()) < 500_000
    crops = objects_to_array(split[1], 64, 1)
    z_all, err_all = embed(trained, crops, batch_size=32)
    z_one, err_one = embed(trained, crops[:3], batch_size=1)
    torch.testing.assert_close(z_all[:3], z_one, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(err_all[:3], err_one, rtol=1e-5, atol=1e-6)


def test_split_is_disjoint_and_seeded(fluo_objects):
    train, eval_sample, ref = split_objects(fluo_objects, 20, 30, seed=1)
    ids = [{id(o) for o in part} for part in (train, eval_sample, ref)]
    assert len(ids[1]) == 20 and len(ids[2]) == 30
    assert len(ids[0]) + 50 == len(fluo_objects) and not (ids[0] & ids[1] or ids[0] & ids[2])
    again = split_objects(fluo_objects, 20, 30, seed=1)
    assert [id(o) for o in again[1]] == [id(o) for o in eval_sample]
    with pytest.raises(ValueError, match='cannot split'):
        split_objects(fluo_objects[:10], 5, 5, seed=0)


def test_score_rewards_realistic_change_not_copying(scorer, split):
    def score(*subs):
        return scorer.score(_policy(*subs), np.random.default_rng(0))

    identity = score()
    assert identity.change == 0 and identity.score == 0
    assert score(('FlipLR', 0.0, 0), ('Rotate', 0.0, 9)).score == 0  # probability 0
    mild = [score(('FlipLR', 1.0, 0)), score(('Rotate', 1.0, 3)), score(('Rotate', 1.0, 9))]
    absurd = [score(('Invert', 1.0, 0)), score(('Solarize', 1.0, N_LEVELS - 1)),
              score(('Posterize', 1.0, N_LEVELS - 1))]
    assert min(s.score for s in mild) > identity.score + 0.5
    assert max(s.score for s in absurd) < min(s.score for s in mild) - 1.0
    assert max(s.score for s in absurd) < identity.score
    assert all(s.recon_ratio > 2 for s in absurd[:2])  # inverted nuclei reconstruct badly
    with pytest.raises(ValueError, match='min_change'):
        ScoreConfig(min_change=0)
    # the change term saturates at c_min: with an unreachable c_min it shrinks to c / c_min
    strict = PolicyScorer(scorer.model, split[1], split[2], ScoreConfig(min_change=100.0))
    normal = mild[0]
    flip = strict.score(_policy(('FlipLR', 1.0, 0)), np.random.default_rng(0))
    assert normal.change >= ScoreConfig().min_change
    assert flip.score == pytest.approx(normal.score - (1 - normal.change / 100.0), abs=1e-9)


def test_score_does_not_reward_soft_edges(scorer, split):
    """Blur lowers the outline gradient: the edge term costs it what the WAE gives it."""
    def score(config, *subs):
        judge = PolicyScorer(scorer.model, split[1], split[2], config)
        return judge.score(_policy(*subs), np.random.default_rng(0))

    blur = ('Smooth', 1.0, N_LEVELS - 1)
    plain, edged = score(ScoreConfig(edge_weight=0.0), blur), score(ScoreConfig(), blur)
    assert plain.edge_ratio == edged.edge_ratio < 0.8
    assert edged.score == pytest.approx(plain.score - 2.0 * (1 - edged.edge_ratio), abs=1e-9)
    flip = score(ScoreConfig(), ('FlipLR', 1.0, 0))
    assert flip.edge_loss == pytest.approx(0, abs=1e-6)
    # a cell whose outline is blurred is sharper than the same cell blurred twice
    image, masks = split[1][0].image, split[1][0].masks
    once = Policy((SubPolicy(*blur),)).apply(image, masks, np.random.default_rng(0))
    twice = Policy((SubPolicy(*blur),)).apply(*once, np.random.default_rng(0))
    assert edge_sharpness(image, masks) > edge_sharpness(*once) > edge_sharpness(*twice)
    assert edge_sharpness(np.zeros_like(image), masks) == 0.0
    with pytest.raises(ValueError, match='weights'):
        ScoreConfig(edge_weight=-1)


def test_search_space_and_grids():
    assert search_space_size(3, 2, 2, 2) == 144 == (3 * 2 * 2) ** 2
    assert greedy_candidate_count(3, 2, 2, 2) == 12 + 3 * 2 * 4
    assert probability_grid(3) == (1 / 3, 2 / 3, 1.0)
    assert level_grid(3) == (3, 6, 9) and level_grid(1) == (9,)
    assert level_grid(N_LEVELS) == tuple(range(N_LEVELS))
    assert len(set(level_grid(N_LEVELS - 1))) == N_LEVELS - 1
    assert SearchConfig(ops=('FlipLR', 'Rotate'), n_prob=2, n_levels=3).sub_policies('FlipLR') \
        == [SubPolicy('FlipLR', 0.5, 0), SubPolicy('FlipLR', 1.0, 0)]
    with pytest.raises(ValueError, match='unknown op|prob'):
        SearchConfig(probs=(1.5,))
    with pytest.raises(KeyError, match='Twirl'):
        SearchConfig(ops=('Twirl',))
    assert is_identity(Policy()) and is_identity(_policy(('Rotate', 1.0, 0), ('FlipLR', 0.0, 0)))
    assert not is_identity(_policy(('Equalize', 1.0, 0)))


class _CountingScorer:
    """Wraps a scorer and counts the candidates it really evaluates."""

    def __init__(self, scorer):
        self.scorer, self.calls = scorer, 0
        self.fingerprint = scorer.fingerprint

    def score(self, policy, rng):
        self.calls += 1
        return self.scorer.score(policy, rng)


SMALL = SearchConfig(ops=('Identity', 'FlipLR', 'Rotate', 'Invert', 'Brightness'),
                     probs=(0.0, 1.0), levels=(0, 9), l_max=2, top_b=4, seed=0)


def test_greedy_search_is_deterministic_resumable_and_avoids_identity(scorer, tmp_path):
    counting = _CountingScorer(scorer)
    result = greedy_search(counting, SMALL, work_dir=tmp_path / 'a', progress=False)
    assert len(result.policies) == 4 and result.scores == sorted(result.scores, reverse=True)
    assert not any(is_identity(p) for p in result.policies)
    assert not any('Invert' in str(p) for p in result.policies[:2])
    assert result.search_space_size == search_space_size(5, 2, 2, 2)
    stage1 = 2 * 2 + 3 * 2  # Identity, FlipLR, Invert: level 0 only
    assert len(result.stages) == 2 and len(result.stages[0]) == 5
    assert counting.calls == result.n_evaluated > stage1
    # the same search elsewhere gives the same policies and scores
    again = greedy_search(scorer, SMALL, work_dir=tmp_path / 'b', progress=False)
    assert [p.key for p in again.policies] == [p.key for p in result.policies]
    assert again.scores == result.scores
    # resume: nothing is evaluated again, even after a torn last line in the cache
    with open(tmp_path / 'a' / CACHE_FILE, 'a') as handle:
        handle.write('{"key": "Rotate(p=1,l=3)", "sco')
    counting.calls = 0
    resumed = greedy_search(counting, SMALL, work_dir=tmp_path / 'a', resume=True,
                            progress=False)
    assert counting.calls == 0 and resumed.scores == result.scores
    state = json.loads((tmp_path / 'a' / STATE_FILE).read_text())
    assert state['done'] and len(state['stages']) == 2
    with pytest.raises(ValueError, match='other settings'):
        greedy_search(scorer, SearchConfig(ops=SMALL.ops, probs=SMALL.probs, levels=SMALL.levels,
                                           l_max=2, top_b=4, seed=1),
                      work_dir=tmp_path / 'a', resume=True, progress=False)


def test_candidate_rng_depends_only_on_seed_and_key():
    a = candidate_rng(0, 'Rotate(p=1,l=3)').random(3)
    np.testing.assert_array_equal(a, candidate_rng(0, 'Rotate(p=1,l=3)').random(3))
    assert not np.array_equal(a, candidate_rng(1, 'Rotate(p=1,l=3)').random(3))
    assert not np.array_equal(a, candidate_rng(0, 'Rotate(p=1,l=6)').random(3))
    # the seeds are SHA-256 words of the key: these draws must never change
    assert candidate_rng(0, 'Rotate(p=1,l=3)').integers(0, 1000, 5).tolist() == [
        510, 907, 660, 414, 512]
    assert candidate_rng(7, 'FlipLR(p=0.5,l=0) > Rotate(p=1,l=9)').integers(
        0, 1000, 5).tolist() == [394, 873, 808, 180, 190]


def test_cli_end_to_end(fluo_root, tmp_path):
    spec = importlib.util.spec_from_file_location('iaaa_search', REPO / 'tools' / 'iaaa_search.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    argv = ['--ann-file', str(fluo_root / 'annotations' / 'train.json'),
            '--img-dir', str(fluo_root / 'images'), '--work-dir', str(tmp_path),
            '--ops', 'FlipLR', 'Rotate', 'Invert', '--n-prob', '1', '--n-levels', '2',
            '--l-max', '2', '--top-b', '3', '--wae-epochs', '1', '--wae-width', '4',
            '--n-eval', '16', '--n-ref', '32', '--sheet-objects', '4', '--no-progress']
    tool.main(argv)
    doc = read_policy_file(tmp_path / 'policies.json')
    assert len(doc['policies']) == 3 and doc['meta']['objects']['eval'] == 16
    sheet = tmp_path / 'policies_contact_sheet.png'
    assert sheet.stat().st_size > 1000
    tool.main(argv + ['--resume'])  # everything cached: same answer
    assert read_policy_file(tmp_path / 'policies.json')['policies'] == doc['policies']
    assert load_wae(tmp_path / 'wae.pth')[1]['epoch'] == 1
    (tmp_path / 'wae.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='wae.pth is not a readable'):
        load_wae(tmp_path / 'wae.pth')


def test_run_search_names_a_dataset_with_too_few_objects(fluo_root, tmp_path):
    coco = json.loads((fluo_root / 'annotations' / 'train.json').read_text())
    image = next(im for im in coco['images'] if im['file_name'] == 'fluo_16c3d5935ba94b72.png')
    few = dict(coco, images=[image],
               annotations=[a for a in coco['annotations'] if a['image_id'] == image['id']])
    ann_file = tmp_path / 'few.json'
    ann_file.write_text(json.dumps(few))
    with pytest.raises(ValueError, match=r'few.json: only \d+ objects .* at least 12'):
        run_search(ann_file, fluo_root / 'images', tmp_path / 'work', progress=False)
