"""The SAAA models shipped in configs/saaa/models: complete releases within the size limit,
trained on the dsb2018 train splits, and what the configs use by default: a 2-image
SAAADataset cache is built from them on real backgrounds."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmaug_is.core.io import decode_rles
from mmaug_is.datasets import synthetic_configs
from mmaug_is.saaa.release import FILES, MAX_FILE_BYTES, SHEET, load_release, verify_release
from mmaug_is.synth import sample_rng
from mmaug_is.synth.hashing import source_digest

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = REPO_ROOT / 'configs' / 'saaa' / 'models'
DATASETS = ('dsb2018_fluo', 'dsb2018_brightfield')
FAST = REPO_ROOT / 'configs' / 'fast'


@pytest.mark.parametrize('name', DATASETS)
def test_release_is_complete_small_and_trained_on_train(name, request):
    manifest = verify_release(MODELS / name)  # every file's size and SHA-256
    assert set(manifest['files']) == {*FILES.values(), SHEET}
    assert all(entry['bytes'] <= MAX_FILE_BYTES for entry in manifest['files'].values())
    root = request.getfixturevalue(name.split('_')[1] + '_root')
    train = dict(ann_file=str(root / 'annotations' / 'train.json'),
                 img_dir=str(root / 'images'))
    for model in manifest['models'].values():
        assert model['data']['source_digest'] == source_digest(**train)
        assert model['iterations'] > 0 and model['commands']


@pytest.mark.parametrize('name, options', [(name, {}) for name in DATASETS] +
                         [('dsb2018_fluo', dict(texture='real', tone='real', size='real'))])
def test_fast_saaa_config_builds_a_cache_from_the_shipped_models(name, options, tmp_path):
    from mmdet.registry import DATASETS as MMDET_DATASETS

    cfg = Config.fromfile(str(FAST / f'faster_rcnn_r18_{name.split("_")[1]}_saaa.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    (synthetic, ) = synthetic_configs(dataset_cfg.real, dataset_cfg.synthetic)
    assert {k: Path(v).resolve() for k, v in load_release(MODELS / name).items()} == \
        {k: Path(synthetic[k]).resolve() for k in ('mask_checkpoint', 'pix2pix_checkpoint')}
    synthetic.update(num_samples=2, cache_root=str(tmp_path),
                     generator=dict(synthetic['generator'], mask_bank=64, **options))
    dataset = MMDET_DATASETS.build(synthetic)
    assert len(dataset) == 2
    (cache, ) = tmp_path.glob('saaa-*')
    assert (cache / 'contact_sheet.png').is_file()
    coco = json.loads((cache / 'annotations.json').read_text())
    for info in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
        assert anns, f'synthetic image {info["file_name"]} holds no cells'
        masks = decode_rles([dict(a['segmentation'], counts=a['segmentation']['counts'].encode())
                             for a in anns], info['height'], info['width'])
        for ann, mask in zip(anns, masks):  # exact masks: each box is its mask's box
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(),
                                   ys.max() + 1 - ys.min()]


def _shown_box_growth(image, mask, level):
    """Mean per-edge growth (px) of the box of the pixels around ``mask`` (box padded by
    2 px) that differ from ``level`` by more than half the cell's contrast, connected to
    the mask, over the mask's box; + = the cell shows larger than its ground truth."""
    diff = np.abs(image.astype(np.float32) - level)
    diff = diff if diff.ndim == 2 else diff.mean(axis=2)
    ys, xs = np.nonzero(mask)
    window = (slice(max(ys.min() - 2, 0), ys.max() + 3),
              slice(max(xs.min() - 2, 0), xs.max() + 3))
    shown = diff[window] > np.median(diff[mask]) / 2
    _, labels = cv2.connectedComponents(shown.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[mask[window] & shown])
    sy, sx = np.nonzero(np.isin(labels, touching[touching > 0]))
    sy, sx = sy + window[0].start, sx + window[1].start
    return ((ys.min() - sy.min()) + (xs.min() - sx.min()) + (sy.max() - ys.max())
            + (sx.max() - xs.max())) / 4


def test_visible_ground_truth_fits_the_painted_cells(fluo_stats_and_backgrounds, tmp_path):
    """Cells of the shipped fluo models fade inside their DDPM masks: with the paper's
    ground truth and paste (``gt_mask='generated'``, ``edge='blur'``) they show smaller
    than their boxes; with ``gt_mask='visible'`` and ``edge='inside'`` each box is where
    its cell shows."""
    from mmaug_is.saaa.generator import SAAAGenerator

    stats, backgrounds = fluo_stats_and_backgrounds
    checkpoints = load_release(MODELS / 'dsb2018_fluo')
    growth = {}
    for gt_mask, edge in (('generated', 'blur'), ('generated', 'inside'), ('visible', 'inside')):
        generator = SAAAGenerator.from_checkpoints(
            checkpoints['mask_checkpoint'], checkpoints['pix2pix_checkpoint'], stats,
            backgrounds, smooth_sigma=3.0, mask_bank=64, mask_bank_dir=tmp_path, edge=edge,
            gt_mask=gt_mask)
        growth[gt_mask, edge] = []
        for index in range(3):
            sample = generator.generate(0, index)
            background = backgrounds[generator.draw_frame(sample_rng(0, index))]
            level = np.median(background.reshape(-1, *background.shape[2:]), axis=0)
            growth[gt_mask, edge] += [_shown_box_growth(sample.image, mask, level)
                                      for mask in sample.masks]
    assert len(growth['visible', 'inside']) >= 20
    assert np.mean(growth['generated', 'blur']) < -0.3  # measured -0.52 px per box edge
    assert abs(np.mean(growth['visible', 'inside'])) < 0.1  # measured +0.01
    assert np.mean(np.abs(growth['visible', 'inside'])) < 0.1  # measured 0.03 ('inside': 0.15)
    with pytest.raises(ValueError, match='needs the background level'):
        generator.sample_cells(2, sample_rng(0, 0))
    with pytest.raises(ValueError, match='gt_mask must be one of'):
        SAAAGenerator.from_checkpoints(
            checkpoints['mask_checkpoint'], checkpoints['pix2pix_checkpoint'], stats,
            backgrounds, mask_bank=64, mask_bank_dir=tmp_path, gt_mask='tight')
