"""IAAA paste options of issue 17 (edge, geometry, border_margin, scale_jitter) through the
generator and IAAAPaste, on the bundled real sample."""
from pathlib import Path

import numpy as np
import pytest

from mmaug_is.core.policy import read_policy_file
from mmaug_is.core.composer import MIN_CUT_PIXELS
from mmaug_is.iaaa.generator import IAAAGenerator, IAAASettings
from mmaug_is.synth import RealAssets

FLUO_POLICIES = Path(__file__).resolve().parents[2] / 'configs/iaaa/policies/dsb2018_fluo.json'


@pytest.fixture(scope='module')
def sample_assets(sample_root):
    return RealAssets.build(sample_root / 'annotations' / 'train.json', sample_root / 'images',
                            progress=False)


@pytest.fixture(scope='module')
def policies():
    return read_policy_file(FLUO_POLICIES)['policies']


def _samples(assets, policies, n=3, **settings):
    generator = IAAAGenerator(assets, policies, IAAASettings(**settings))
    return [generator.generate(0, index) for index in range(n)]


def test_defaults_keep_the_cache_key_and_options_enter_it():
    plain = IAAASettings().to_dict()
    assert set(plain) == {'count_mode', 'n_candidates', 'sigma', 'spacing'}
    for option in (dict(edge='inside'), dict(geometry='consistent'), dict(border_margin=8),
                   dict(scale_jitter=(0.8, 1.25)), dict(occlusion=0.3)):
        assert IAAASettings(**option).to_dict() == dict(plain, **option)
    assert IAAASettings(scale_jitter=[0.8, 1.25]).scale_jitter == (0.8, 1.25)


@pytest.mark.parametrize('option, message', [
    (dict(edge='soft'), 'edge must be one of'),
    (dict(geometry='bilinear'), 'geometry must be one of'),
    (dict(border_margin=-1), 'border_margin must be >= 0'),
    (dict(scale_jitter=(1.5, 0.5)), 'scale_jitter must be'),
    (dict(scale_jitter=(1.0, )), 'scale_jitter must be'),
    (dict(occlusion=1.0), r'occlusion must be in \[0, 1\)'),
    (dict(occlusion=-0.1), r'occlusion must be in \[0, 1\)'),
])
def test_bad_options_are_named(option, message):
    with pytest.raises(ValueError, match=message):
        IAAASettings(**option)


def test_edge_inside_changes_pixels_not_masks(sample_assets, policies):
    blur = _samples(sample_assets, policies)
    inside = _samples(sample_assets, policies, edge='inside')
    for a, b in zip(blur, inside):
        assert np.array_equal(a.masks, b.masks)  # the same draws, placements and cells
        assert not np.array_equal(a.image, b.image)


def test_consistent_geometry_keeps_the_draws(sample_assets, policies):
    legacy = _samples(sample_assets, policies)
    consistent = _samples(sample_assets, policies, geometry='consistent')
    assert [len(s.masks) for s in legacy] == [len(s.masks) for s in consistent]
    assert any(not np.array_equal(a.image, b.image) for a, b in zip(legacy, consistent))


def test_border_margin_cuts_cells_by_the_image_border(sample_assets, policies):
    samples = _samples(sample_assets, policies, n=4, border_margin=12)
    touching = 0
    for sample in samples:
        masks = sample.masks
        assert (masks.sum(axis=(1, 2)) >= MIN_CUT_PIXELS).all()
        assert masks.sum(axis=0).max() <= 1
        touching += int((masks[:, 0].any(1) | masks[:, -1].any(1) | masks[:, :, 0].any(1)
                         | masks[:, :, -1].any(1)).sum())
    assert touching >= 4
    plain = _samples(sample_assets, policies, n=4)
    assert sum(int(s.masks[:, 0].any(1).sum()) for s in plain) == 0  # the paper's rule


def test_scale_jitter_resizes_objects(sample_assets):
    plain = _samples(sample_assets, [], n=4)
    jittered = _samples(sample_assets, [], n=4, scale_jitter=(1.3, 1.5))
    mean_area = [np.mean([m.sum() for s in group for m in s.masks]) for group in
                 (plain, jittered)]
    assert mean_area[1] > 1.4 * mean_area[0]


def test_occlusion_lets_cells_touch_with_disjoint_masks(sample_assets, policies):
    plain = _samples(sample_assets, policies, n=4, count_scale=2.0)
    stacked = _samples(sample_assets, policies, n=4, count_scale=2.0, occlusion=0.3)
    for sample in stacked:
        assert sample.masks.sum(axis=0).max() <= 1 and sample.masks.any(axis=(1, 2)).all()

    def touching_pairs(sample):  # 4-neighbour pixel pairs of two different cells
        labels = np.argmax(sample.masks, axis=0) + sample.masks.any(axis=0)
        right = (labels[:, 1:] != labels[:, :-1]) & (labels[:, 1:] > 0) & (labels[:, :-1] > 0)
        down = (labels[1:] != labels[:-1]) & (labels[1:] > 0) & (labels[:-1] > 0)
        return int(right.sum() + down.sum())

    # the paper's rule: only the cells of a real cluster touch; stacked cells touch more
    assert sum(map(touching_pairs, stacked)) > 1.5 * sum(map(touching_pairs, plain))


def test_iaaa_paste_takes_the_options_and_refuses_count_settings(sample_root, tmp_path):
    from mmaug_is.transforms import IAAAPaste

    source = dict(ann_file=str(sample_root / 'annotations/train.json'),
                  img_dir=str(sample_root / 'images'))
    paste = IAAAPaste(source, cache_root=str(tmp_path), edge='inside', border_margin=8)
    assert paste.settings.edge == 'inside' and "border_margin=8" in repr(paste)
    with pytest.raises(ValueError, match='max_cells must be >= 1'):
        IAAAPaste(source, max_cells=0, cache_root=str(tmp_path))
    with pytest.raises(ValueError, match='count_mode does not apply'):
        IAAAPaste(source, cache_root=str(tmp_path), count_mode='mode')
