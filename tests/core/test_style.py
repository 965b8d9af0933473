"""Style descriptors and neighbours on real brightfield images (grey tiles + stained)."""
import json

import numpy as np
import pytest

from mmaug_is.core import (ObjectBank, rank_by_style, read_image, remove_cells, style_bank,
                           style_descriptor, style_neighbours)


@pytest.fixture(scope='module')
def brightfield_styles(brightfield_root, brightfield_records):
    """(descriptors of the cell-free backgrounds, modality of each image) of train."""
    info = json.loads((brightfield_root / 'annotations' / 'train.json').read_text())
    modality = {image['file_name']: image['modality'] for image in info['images']}
    descriptors = np.stack([
        style_descriptor(remove_cells(read_image(r.path), r.masks, np.random.default_rng(0)))
        for r in brightfield_records])
    return descriptors, [modality[r.file_name] for r in brightfield_records]


def test_grey_images_have_no_chroma(brightfield_styles):
    descriptors, modalities = brightfield_styles
    grey = np.array([m == 'brightfield_grey' for m in modalities])
    assert grey.any() and (~grey).any()
    assert np.abs(descriptors[grey][:, [1, 2, 4, 5]]).max() < 0.05  # float Lab rounding
    assert np.abs(descriptors[~grey][:, [1, 2]]).max(axis=1).min() > 0.5


def test_neighbours_share_the_modality(brightfield_styles):
    descriptors, modalities = brightfield_styles
    neighbours = style_neighbours(descriptors, 8)
    assert neighbours.shape == (len(descriptors), 8)
    assert (neighbours[:, 0] == np.arange(len(descriptors))).all()
    same = [[modalities[j] == modalities[i] for j in row] for i, row in enumerate(neighbours)]
    assert np.mean(same) >= 0.95  # 1.0 measured on dsb2018_brightfield train


def test_neighbours_are_deterministic_with_ties():
    descriptors = np.zeros((4, 6))  # all identical: itself first, then by index
    assert style_neighbours(descriptors, 3).tolist() == [[0, 1, 2], [1, 0, 2], [2, 0, 1],
                                                        [3, 0, 1]]
    assert style_neighbours(descriptors, 10).shape == (4, 4)


def test_grey_layouts_agree():
    rng = np.random.default_rng(0)
    grey8 = rng.integers(0, 256, size=(32, 32), dtype=np.uint8)
    rgb8 = np.repeat(grey8[..., None], 3, axis=2)
    grey16 = grey8.astype(np.uint16) * 257  # same intensities on the 16-bit scale
    np.testing.assert_allclose(style_descriptor(grey8), style_descriptor(rgb8), atol=1e-4)
    np.testing.assert_allclose(style_descriptor(grey8), style_descriptor(grey16), atol=1e-3)
    assert style_descriptor(np.repeat(grey8[..., None], 2, axis=2)).shape == (6,)


def test_bad_inputs():
    with pytest.raises(ValueError, match='dtype'):
        style_descriptor(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match='k must'):
        style_neighbours(np.zeros((2, 6)), 0)
    with pytest.raises(ValueError, match='descriptors'):
        style_neighbours(np.zeros((0, 6)), 1)


def test_style_bank_widens_and_clips(fluo_bank):
    sources = sorted({obj.source for obj in fluo_bank.objects})
    first = style_bank(fluo_bank, sources, 1)
    assert {obj.source for obj in first.objects} == {sources[0]}
    ranked = ['no_such_image.png'] + sources  # the nearest image holds no object: widen
    assert {obj.source for obj in style_bank(fluo_bank, ranked, 1).objects} == {sources[0]}
    everything = style_bank(fluo_bank, sources, 10 * len(sources))  # k above N: all images
    assert len(everything) == len(fluo_bank)
    with pytest.raises(ValueError, match='no object'):
        style_bank(fluo_bank, ['no_such_image.png'], 1)
    with pytest.raises(ValueError, match='no object'):
        style_bank(ObjectBank(), [], 1)


def test_rank_by_style_and_where():
    image = np.zeros((8, 8, 3), np.uint8)
    image[:4] = 255  # top half white, bottom half black
    top, bottom = np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    top[:4], bottom[4:] = True, True
    assert style_descriptor(image, top)[0] > 99 and style_descriptor(image, bottom)[0] < 1
    np.testing.assert_allclose(style_descriptor(image, np.zeros((8, 8), bool)),
                               style_descriptor(image))  # empty selection: all pixels
    descriptors = np.array([[50.0] * 6, [0.0] * 6, [100.0] * 6, [0.0] * 6])
    assert rank_by_style(np.zeros(6), descriptors).tolist() == [1, 3, 0, 2]
