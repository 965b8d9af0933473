"""IAAA generator options beyond the paper (style_neighbours, count_mode='background',
count_scale) on dsb2018_brightfield (grey tiles + stained)."""
import json

import numpy as np
import pytest

from mmaug_is.iaaa.generator import IAAAGenerator, IAAASettings
from mmaug_is.synth import RealAssets


@pytest.fixture(scope='module')
def brightfield_assets(brightfield_root):
    """RealAssets of brightfield train and the modality of each image file."""
    ann = brightfield_root / 'annotations' / 'train.json'
    info = json.loads(ann.read_text())
    modality = {image['file_name']: image['modality'] for image in info['images']}
    return RealAssets.build(ann, brightfield_root / 'images', progress=False), modality


def test_objects_come_from_images_of_the_same_style(brightfield_assets):
    assets, modality = brightfield_assets
    generator = IAAAGenerator(assets, [], IAAASettings(style_neighbours=8))
    for index, source in enumerate(assets.background_sources):
        bank = generator.bank_for(index)
        sources = {obj.source for obj in bank.objects}
        assert len(bank) and 1 <= len(sources) <= 8
        assert {modality[s] for s in sources} == {modality[source]}
    unmatched = IAAAGenerator(assets, [], IAAASettings())
    assert unmatched.bank_for(0) is assets.bank


def test_grey_backgrounds_stay_grey(brightfield_assets):
    """Without colour ops a sample on a grey tile keeps 3 equal channels only if its cells
    come from grey images too (the paper's unmatched choice paints purple cells on it)."""
    assets, modality = brightfield_assets
    matched = IAAAGenerator(assets, [], IAAASettings(style_neighbours=8))
    unmatched = IAAAGenerator(assets, [], IAAASettings())
    grey_samples, unmatched_colour = 0, 0
    for index in range(16):
        rng = np.random.default_rng([0, index])
        source = assets.background_sources[matched.draw_frame(rng)]
        if modality[source] != 'brightfield_grey':
            continue
        grey_samples += 1
        image = matched.generate(0, index).image
        assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
        other = unmatched.generate(0, index).image
        unmatched_colour += int((other[..., 0] != other[..., 2]).any())
    assert grey_samples >= 3 and unmatched_colour >= 1


def test_style_matching_is_reproducible(brightfield_assets):
    assets, _ = brightfield_assets
    settings = IAAASettings(style_neighbours=4)
    first = IAAAGenerator(assets, [], settings).generate(3, 5)
    second = IAAAGenerator(assets, [], settings).generate(3, 5)
    assert first.image.tobytes() == second.image.tobytes()
    assert np.array_equal(first.masks, second.masks)


def test_negative_neighbours_are_refused():
    with pytest.raises(ValueError, match='style_neighbours'):
        IAAASettings(style_neighbours=-1)


def test_cache_key_changes_only_when_style_matching_is_used():
    plain = IAAASettings().to_dict()
    assert 'style_neighbours' not in plain  # keys of caches made before the option hold
    assert IAAASettings(style_neighbours=8).to_dict() == dict(plain, style_neighbours=8)


def _load_real(root, split, modality):
    """Pipeline results (image + cell masks) of the first ``split`` image of ``modality``."""
    from mmcv.transforms import Compose

    real = json.loads((root / 'annotations' / f'{split}.json').read_text())
    info = next(i for i in real['images'] if i['modality'] == modality)
    anns = [a for a in real['annotations'] if a['image_id'] == info['id']]
    load = Compose([dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', with_bbox=True, with_mask=True)])
    return load(dict(
        img_path=str(root / 'images' / info['file_name']),
        instances=[dict(bbox=[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                              a['bbox'][1] + a['bbox'][3]],
                        bbox_label=0, ignore_flag=0, mask=a['segmentation']) for a in anns]))


def test_iaaa_paste_keeps_grey_images_grey(brightfield_root, tmp_path):
    """IAAAPaste into a held-out grey tile: style-matched cells keep it grey."""
    from mmaug_is.transforms import IAAAPaste

    source = dict(ann_file=str(brightfield_root / 'annotations' / 'train.json'),
                  img_dir=str(brightfield_root / 'images'))
    matched = IAAAPaste(source, max_cells=10, prob=1.0, cache_root=str(tmp_path),
                        style_neighbours=8)
    unmatched = IAAAPaste(source, max_cells=10, prob=1.0, cache_root=str(tmp_path),
                          style_neighbours=0)
    unmatched_colour = 0
    for seed in range(6):
        np.random.seed(seed)
        results = _load_real(brightfield_root, 'val', 'brightfield_grey')
        n_real = len(results['gt_bboxes'])
        out = matched(results)
        image = out['img']
        assert len(out['gt_bboxes']) > n_real
        assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
        np.random.seed(seed)
        other = unmatched(_load_real(brightfield_root, 'val', 'brightfield_grey'))['img']
        unmatched_colour += int((other[..., 0] != other[..., 2]).any())
    assert unmatched_colour >= 1
    assert 'style_neighbours=8' in repr(matched)
    with pytest.raises(ValueError, match='style_neighbours'):
        IAAAPaste(source, cache_root=str(tmp_path), style_neighbours=-2)


def test_background_count_mode_uses_the_background_images_count(brightfield_assets):
    assets, _ = brightfield_assets
    generator = IAAAGenerator(assets, [], IAAASettings(count_mode='background',
                                                       style_neighbours=1))
    rng = np.random.default_rng(0)
    for index in (0, 7, 41):
        assert generator._cell_count(index, rng) == assets.stats.cell_counts[index]
    sample = generator.generate(0, 2)
    background = generator.draw_frame(np.random.default_rng([0, 2]))
    assert 0 < len(sample.masks) <= assets.stats.cell_counts[background]
    broken = RealAssets(assets.bank, assets.backgrounds[:-1], assets.background_sources[:-1],
                        assets.stats)
    with pytest.raises(ValueError, match='one cell count per background'):
        IAAAGenerator(broken, [], IAAASettings(count_mode='background')).generate(0, 0)


def test_count_scale_multiplies_the_drawn_count_and_densifies_images(brightfield_assets):
    assets, _ = brightfield_assets
    plain = IAAAGenerator(assets, [], IAAASettings(count_mode='background'))
    dense = IAAAGenerator(assets, [], IAAASettings(count_mode='background', count_scale=1.6))
    for index in (0, 7, 41):
        assert dense._cell_count(index, None) == round(1.6 * plain._cell_count(index, None))
    n_plain = sum(len(plain.generate(0, i).masks) for i in range(4))
    n_dense = sum(len(dense.generate(0, i).masks) for i in range(4))
    assert n_dense > 1.3 * n_plain  # same backgrounds (same rng stream), more cells
    assert IAAASettings(count_scale=1.6).to_dict() == dict(IAAASettings().to_dict(),
                                                             count_scale=1.6)
    with pytest.raises(ValueError, match='count_scale'):
        IAAASettings(count_scale=0)
