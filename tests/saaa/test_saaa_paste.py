"""``SAAAPaste``: the shipped SAAA models' cells pasted into real dsb2018_fluo images."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

from mmaug_is.synth import RealAssets
from mmaug_is.transforms import SAAAPaste
from mmaug_is.transforms.paste_base import PasteTarget
from mmaug_is.transforms.pipeline_inputs import image_canvas

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

MODELS = Path(__file__).resolve().parents[2] / 'configs' / 'saaa' / 'models' / 'dsb2018_fluo'
# A small mask bank and few DDIM steps keep the first build short; the rest is as shipped.
FAST_OPTIONS = dict(mask_bank=64, steps=10, smooth_sigma=3.0, edge='inside',
                    gt_mask='visible')


@pytest.fixture(scope='module')
def paste(fluo_subset, tmp_path_factory):
    ann_file, img_dir = fluo_subset
    return SAAAPaste(dict(ann_file=str(ann_file), img_dir=str(img_dir)),
                     MODELS / 'mask_ddpm.pth', MODELS / 'pix2pix.pth', max_cells=8,
                     cache_root=str(tmp_path_factory.mktemp('saaa_paste_cache')),
                     **FAST_OPTIONS)


def _loaded(ann_file, img_dir, index):
    """Pipeline results of real image ``index`` (image, boxes, labels, masks)."""
    coco = json.loads(Path(ann_file).read_text())
    info = coco['images'][index]
    anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
    results = dict(img_path=str(Path(img_dir) / info['file_name']), height=info['height'],
                   width=info['width'],
                   instances=[dict(bbox=[a['bbox'][0], a['bbox'][1],
                                         a['bbox'][0] + a['bbox'][2],
                                         a['bbox'][1] + a['bbox'][3]],
                                   bbox_label=0, ignore_flag=0, mask=a['segmentation'])
                              for a in anns])
    results = LoadImageFromFile()(results)
    return LoadAnnotations(with_bbox=True, with_mask=True)(results)


def test_pastes_exact_new_cells_beside_the_real_ones(paste, fluo_subset):
    before = _loaded(*fluo_subset, 0)
    image, old_masks = before['img'].copy(), before['gt_masks'].to_ndarray().astype(bool)
    np.random.seed(0)
    after = paste(_loaded(*fluo_subset, 0))
    n_old, n_all = len(old_masks), len(after['gt_bboxes'])
    assert 1 <= n_all - n_old <= 8
    assert isinstance(after['gt_masks'], BitmapMasks) and len(after['gt_masks']) == n_all
    masks = after['gt_masks'].to_ndarray().astype(bool)
    np.testing.assert_array_equal(masks[:n_old], old_masks)
    new = masks[n_old:]
    assert new.any(axis=(1, 2)).all()
    assert not (new & old_masks.any(axis=0)).any()  # never over an annotated cell
    assert (new.sum(axis=0) <= 1).all()  # new cells do not overlap each other
    np.testing.assert_array_equal(  # boxes are the exact masks' boxes
        after['gt_masks'][n_old:].get_bboxes(HorizontalBoxes).tensor,
        after['gt_bboxes'][n_old:].tensor)
    assert (after['gt_bboxes_labels'][n_old:] == 0).all()
    assert not after['gt_ignore_flags'][n_old:].any()
    changed = (after['img'] != image).any(axis=2)
    near_new = cv2.dilate(new.any(axis=0).astype(np.uint8), np.ones((7, 7), np.uint8))
    assert changed.any() and not (changed & ~near_new.astype(bool)).any()


def test_same_global_seed_same_bytes(paste, fluo_subset):
    runs = []
    for seed in (5, 5, 6):
        np.random.seed(seed)
        runs.append(paste(_loaded(*fluo_subset, 1)))
    np.testing.assert_array_equal(runs[0]['img'], runs[1]['img'])
    np.testing.assert_array_equal(runs[0]['gt_masks'].masks, runs[1]['gt_masks'].masks)
    assert not np.array_equal(runs[0]['img'], runs[2]['img'])


def _target(results, occupied):
    canvas, layout = image_canvas(results['img'], 'SAAAPaste')
    return PasteTarget(canvas, layout, occupied, (1.0, 1.0), results['img_path'])


def test_cells_are_painted_for_the_image_s_own_background(paste, fluo_subset, fluo_root):
    assets, _ = RealAssets.cached(*fluo_subset, paste.cache_root, progress=False)
    results = _loaded(*fluo_subset, 3)
    occupied = results['gt_masks'].to_ndarray().any(axis=0)
    own = paste.background_index(_target(results, occupied))
    made_from_it = assets.background_sources.index(Path(results['img_path']).name)
    np.testing.assert_array_equal(paste.generator.backgrounds[own],
                                  assets.backgrounds[made_from_it])
    # an image outside the source: a source background of similar style (deterministic)
    renamed = dict(results, img_path=str(fluo_root / 'elsewhere' / 'copy.png'))
    chosen = {paste.background_index(_target(renamed, occupied)) for _ in range(2)}
    assert len(chosen) == 1 and 0 <= chosen.pop() < len(assets.backgrounds)


def test_bad_settings_are_refused(fluo_subset, tmp_path):
    ann_file, img_dir = fluo_subset
    source = dict(ann_file=str(ann_file), img_dir=str(img_dir))
    ckpts = (MODELS / 'mask_ddpm.pth', MODELS / 'pix2pix.pth')
    with pytest.raises(ValueError, match='count_mode does not apply'):
        SAAAPaste(source, *ckpts, count_mode='mode', cache_root=str(tmp_path))
    with pytest.raises(ValueError, match='max_cells must be >= 1'):
        SAAAPaste(source, *ckpts, max_cells=0, cache_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='SAAAPaste pix2pix checkpoint not found'):
        SAAAPaste(source, ckpts[0], tmp_path / 'none.pth', cache_root=str(tmp_path))
    with pytest.raises(ValueError, match='none of the metainfo classes'):
        SAAAPaste(source, *ckpts, classes=('cell', ), cache_root=str(tmp_path))


def test_tone_texture_and_size_from_the_source_s_real_cells(paste, fluo_subset):
    from mmaug_is.saaa.size import CellSize
    from mmaug_is.saaa.texture import CellTexture
    from mmaug_is.saaa.tone import CellTone

    source = dict(ann_file=str(fluo_subset[0]), img_dir=str(fluo_subset[1]))
    toned = SAAAPaste(source, MODELS / 'mask_ddpm.pth', MODELS / 'pix2pix.pth', max_cells=8,
                      cache_root=str(paste.cache_root), tone='real', texture='real',
                      size='real', **FAST_OPTIONS)
    assets, _ = RealAssets.cached(*fluo_subset, paste.cache_root, progress=False)
    assert toned.generator.tone == CellTone.fit(assets.bank, assets.backgrounds,
                                                assets.background_sources)
    assert toned.generator.texture == CellTexture.fit(assets.bank.scos)
    assert toned.generator.size == CellSize.fit(assets.bank, assets.background_sources)
    assert "tone='real'" in repr(toned) and "size='real'" in repr(toned)
    runs = []
    for transform in (paste, toned):
        np.random.seed(3)
        runs.append(transform(_loaded(*fluo_subset, 2)))
    n_real = len(_loaded(*fluo_subset, 2)['gt_bboxes'])
    assert len(runs[1]['gt_bboxes']) > n_real
    assert not np.array_equal(runs[0]['img'], runs[1]['img'])
    np.random.seed(3)
    np.testing.assert_array_equal(toned(_loaded(*fluo_subset, 2))['img'], runs[1]['img'])
