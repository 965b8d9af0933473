"""Sub-policies and policies: validation, seeded application, replay, JSON files."""
import json

import numpy as np
import pytest

from mmaug_is.core.ops import N_LEVELS
from mmaug_is.core.policy import (Policy, SubPolicy, load_policies, read_policy_file,
                                  save_policies)


def _policy(*subs):
    return Policy(tuple(SubPolicy(*s) for s in subs))


def _pair():
    masks = np.zeros((2, 30, 24), bool)
    masks[0, 3:20, 2:6] = True
    masks[0, 16:20, 6:14] = True
    masks[1, 22:28, 10:20] = True
    image = np.where(masks.any(0), 180, 30).astype(np.uint8)
    return image, masks


@pytest.mark.parametrize('args, error, match', [
    (('Twirl', 0.5, 1), ValueError, 'unknown op'),
    (('Rotate', -0.1, 1), ValueError, r'prob must be in \[0, 1\]'),
    (('Rotate', 1.5, 1), ValueError, r'prob must be in \[0, 1\]'),
    (('Rotate', float('nan'), 1), ValueError, 'prob'),
    (('Rotate', '0.5', 1), TypeError, 'prob must be a number'),
    (('Rotate', 0.5, N_LEVELS), ValueError, 'level must be in'),
    (('Rotate', 0.5, -1), ValueError, 'level must be in'),
    (('Rotate', 0.5, 2.0), TypeError, 'level must be an int'),
])
def test_sub_policy_validation(args, error, match):
    with pytest.raises(error, match=match):
        SubPolicy(*args)


def test_policy_rejects_non_sub_policies():
    with pytest.raises(TypeError, match='SubPolicy'):
        Policy(({'op': 'FlipLR', 'prob': 1.0, 'level': 0},))


def test_probability_zero_and_one():
    image, masks = _pair()
    out, out_masks = _policy(('FlipLR', 0.0, 0), ('Invert', 0.0, 0)).apply(
        image, masks, np.random.default_rng(0))
    np.testing.assert_array_equal(out, image)
    np.testing.assert_array_equal(out_masks, masks)
    out, out_masks = _policy(('FlipLR', 1.0, 0)).apply(image, masks, np.random.default_rng(0))
    np.testing.assert_array_equal(out, np.fliplr(image))
    np.testing.assert_array_equal(out_masks, masks[:, :, ::-1])


def test_seeded_application_is_deterministic_and_replayable():
    image, masks = _pair()
    policy = _policy(('Rotate', 0.5, 6), ('GaussianNoise', 0.7, 9), ('FlipUD', 0.5, 0))
    results = [policy.apply(image, masks, np.random.default_rng(s)) for s in (7, 7)]
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    decisions = policy.decide(np.random.default_rng(7))
    replayed = Policy.replay(image, masks, json.loads(json.dumps(decisions)))  # JSON-able
    np.testing.assert_array_equal(replayed[0], results[0][0])
    np.testing.assert_array_equal(replayed[1], results[0][1])
    outcomes = {policy.apply(image, masks, np.random.default_rng(s))[0].tobytes()
                for s in range(12)}
    assert len(outcomes) > 3  # the probabilities and signs really are random


def test_policy_on_real_objects_keeps_masks_binary_and_aligned(fluo_bank):
    policy = _policy(('Rotate', 1.0, 4), ('ShearX', 1.0, 9), ('Resize', 1.0, 5))
    rng = np.random.default_rng(0)
    for obj in fluo_bank.mcos[:10]:
        image = np.where(obj.masks.any(0), 255, 0).astype(np.uint8)
        out, out_masks = policy.apply(image, obj.masks, rng)
        assert out_masks.dtype == bool and len(out_masks) == obj.n_cells
        assert out_masks.any(axis=(1, 2)).all()
        union, bright = out_masks.any(0), out > 127
        assert (union & bright).sum() / (union | bright).sum() > 0.85


def test_json_round_trip(tmp_path):
    policies = [_policy(('Rotate', 0.5, 3), ('Brightness', 1.0, 2)), _policy(('FlipLR', 1, 0)),
                Policy()]
    path = save_policies(tmp_path / 'p' / 'policies.json', policies, [0.9, 0.8, 0.0],
                         meta={'seed': 3})
    assert load_policies(path) == policies
    doc = read_policy_file(path)
    assert doc['scores'] == [0.9, 0.8, 0.0] and doc['meta'] == {'seed': 3}
    assert [Policy.from_dict(p.to_dict()) for p in policies] == policies
    assert sorted(f.name for f in path.parent.iterdir()) == ['policies.json']  # no temp files
    save_policies(path, policies[:1])
    assert read_policy_file(path)['scores'] is None
    assert str(policies[0]) == 'Rotate(p=0.5,l=3) > Brightness(p=1,l=2)'


def test_policy_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load_policies(tmp_path / 'missing.json')
    bad = tmp_path / 'bad.json'
    bad.write_text('{not json')
    with pytest.raises(ValueError, match='bad.json: not valid JSON'):
        load_policies(bad)
    path = save_policies(tmp_path / 'ok.json', [_policy(('FlipLR', 1.0, 0))])
    doc = json.loads(path.read_text())
    doc['policies'].append({'sub_policies': [{'op': 'Twirl', 'prob': 1.0, 'level': 0}]})
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r'ok.json: policy 1: .*Twirl'):
        load_policies(path)
    doc['policies'] = doc['policies'][:1]
    doc['n_levels'] = N_LEVELS + 1
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match='levels'):
        load_policies(path)
    with pytest.raises(ValueError, match='2 scores'):
        save_policies(tmp_path / 'x.json', [Policy()], [1.0, 2.0])
    with pytest.raises(ValueError, match='keys op, prob, level'):
        Policy.from_dict({'sub_policies': [{'op': 'FlipLR', 'prob': 1.0}]})


def test_geometry_reaches_the_ops_and_leaves_the_draws_alone():
    image, masks = _pair()
    policy = _policy(('Rotate', 0.8, 4), ('Brightness', 0.6, 5), ('ShearX', 0.7, 6),
                     ('Resize', 0.9, 7))
    for seed in range(6):
        rngs = {g: np.random.default_rng(seed) for g in ('legacy', 'consistent')}
        outs = {g: policy.apply(image, masks, rngs[g], geometry=g) for g in rngs}
        assert rngs['legacy'].random() == rngs['consistent'].random()  # same consumption
        decisions = policy.decide(np.random.default_rng(seed))
        replayed = Policy.replay(image, masks, decisions, geometry='consistent')
        np.testing.assert_array_equal(replayed[0], outs['consistent'][0])
        np.testing.assert_array_equal(replayed[1], outs['consistent'][1])
        assert outs['legacy'][0].shape == outs['consistent'][0].shape
        out, out_masks = outs['consistent']  # two grey levels, cells the brighter
        np.testing.assert_array_equal(out > (int(out.min()) + int(out.max())) / 2,
                                      out_masks.any(0))


def test_policy_refuses_an_unknown_geometry():
    image, masks = _pair()
    with pytest.raises(ValueError, match='Policy: geometry must be one of'):
        Policy().apply(image, masks, np.random.default_rng(0), geometry='bilinear')
