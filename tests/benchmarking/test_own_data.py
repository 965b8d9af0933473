"""The fast protocol fitted to other data (benchmarking.own_data) and the A/B tool on it."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from pycocotools import mask as mask_utils

from mmaug_is.benchmarking.own_data import (REFERENCE_ANCHOR_SCALE, REFERENCE_CELL_SIDE,
                                            curve_points, derive_protocol, images_for_ap,
                                            nested_subset, read_coco, recommendation,
                                            savings_lines, setting_configs, write_curve)

REPO_ROOT = Path(__file__).resolve().parents[2]


def with_cell_side(coco, side):
    """``coco`` with every area scaled so the median cell side is ``side`` px."""
    median = np.median(np.sqrt([a['area'] for a in coco['annotations']]))
    factor = (side / median) ** 2
    return dict(coco, annotations=[dict(a, area=a['area'] * factor)
                                   for a in coco['annotations']])


@pytest.fixture(scope='module')
def sample_coco(sample_root):
    return read_coco(sample_root / 'annotations/train.json', '--train')


@pytest.mark.parametrize('side', [8.0, 12.7, 40.0])
def test_images_are_rescaled_so_cells_have_the_reference_side(sample_coco, side):
    protocol = derive_protocol(with_cell_side(sample_coco, side))
    assert protocol.ratio == pytest.approx(REFERENCE_CELL_SIDE / side, rel=1e-3)
    assert protocol.test_scale[0] == round(256 * protocol.ratio)
    assert protocol.anchor_scale == REFERENCE_ANCHOR_SCALE
    assert protocol.crop == min(128, protocol.test_scale[0])


def test_beyond_the_rescaling_limits_the_anchors_follow_the_cells(sample_coco):
    huge = derive_protocol(with_cell_side(sample_coco, 12.7 * 16))  # would need x1/16
    assert huge.ratio == 0.125 and huge.anchor_scale == pytest.approx(8)
    assert huge.crop == 32  # the whole 256 px image at x0.125


def test_subsets_are_nested_and_drawn_once_for_every_setting(sample_coco):
    ten = {i['id'] for i in nested_subset(sample_coco, 10)['images']}
    five = nested_subset(sample_coco, 5)
    assert {i['id'] for i in five['images']} < ten
    assert {a['image_id'] for a in five['annotations']} <= {i['id'] for i in five['images']}
    assert nested_subset(sample_coco, 5) == five
    assert nested_subset(sample_coco, 5, seed=1) != five
    with pytest.raises(ValueError, match='--subset must be in 1..16'):
        nested_subset(sample_coco, 17)


@pytest.fixture(scope='module')
def doubled_root(sample_root, tmp_path_factory):
    """The bundled sample at twice the resolution: 512 px images, cells twice the side."""
    root = tmp_path_factory.mktemp('doubled')
    (root / 'images').mkdir()
    (root / 'annotations').mkdir()
    for split in ('train', 'val'):
        coco = json.loads((sample_root / f'annotations/{split}.json').read_text())
        for info in coco['images']:
            image = cv2.imread(str(sample_root / 'images' / info['file_name']))
            cv2.imwrite(str(root / 'images' / info['file_name']),
                        cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR))
            info.update(width=info['width'] * 2, height=info['height'] * 2)
        for ann in coco['annotations']:
            mask = mask_utils.decode(ann['segmentation'])
            mask = cv2.resize(mask, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
            rle = mask_utils.encode(np.asfortranarray(mask))
            ann.update(segmentation=dict(rle, counts=rle['counts'].decode()),
                       area=int(mask.sum()), bbox=mask_utils.toBbox(rle).tolist())
        (root / f'annotations/{split}.json').write_text(json.dumps(coco))
    return root


def test_a_set_of_other_image_and_cell_sizes_gets_a_fitted_protocol(sample_root, doubled_root,
                                                                    tmp_path):
    native = derive_protocol(read_coco(sample_root / 'annotations/train.json', '--train'))
    doubled = derive_protocol(read_coco(doubled_root / 'annotations/train.json', '--train'))
    assert doubled.cell_side == pytest.approx(2 * native.cell_side, rel=0.02)
    assert doubled.ratio == pytest.approx(native.ratio / 2, rel=0.02)
    assert doubled.test_scale == pytest.approx(native.test_scale, abs=2)
    configs = setting_configs(doubled, ['nucleus'], doubled_root / 'annotations/train.json',
                              doubled_root / 'annotations/val.json',
                              doubled_root / 'annotations/val.json', doubled_root / 'images',
                              tmp_path / 'configs', iters=10, cache_root=tmp_path / 'cache')
    assert set(configs) == {'original', 'copypaste_online', 'iaaa_default'}
    for setting, path in configs.items():
        cfg = Config.fromfile(str(path))
        assert cfg.train_cfg.max_iters == 10
        assert cfg.model.rpn_head.anchor_generator.scales == [doubled.anchor_scale]
        np.random.seed(0)
        sample = DATASETS.build(cfg.train_dataloader.dataset)[0]
        assert max(sample['inputs'].shape[1:]) <= doubled.crop
        test_item = DATASETS.build(cfg.test_dataloader.dataset)[0]
        assert test_item['data_samples'].scale_factor == pytest.approx(
            (doubled.ratio, doubled.ratio), rel=0.02)


def write_bootstrap(path, rows):
    fields = ['metric', 'group', 'setting', 'seed', 'n_seeds', 'a', 'b', 'gain', 'low',
              'high', 'p_not_better', 'n_boot', 'level']
    with open(path, 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        for setting, seed, gain, low, high in rows:
            writer.writerow(dict(metric='AP', group='own_data', setting=setting, seed=seed,
                                 n_seeds=3 if seed == 'pooled' else 1, a=30, b=30 + gain,
                                 gain=gain, low=low, high=high, p_not_better=0.1,
                                 n_boot=1000, level=0.95))


def test_recommendation_reads_pooled_gains_and_says_what_to_pick(tmp_path):
    path = tmp_path / 'bootstrap.csv'
    write_bootstrap(path, [('copypaste_online', 'pooled', 0.5, -1.0, 2.0),
                           ('iaaa_default', 0, 9.0, 5.0, 12.0),
                           ('iaaa_default', 'pooled', 2.5, 0.4, 4.0)])
    line = recommendation(path)
    assert line.startswith('use iaaa_default') and '+2.5 AP [+0.4, +4.0]' in line
    write_bootstrap(path, [('copypaste_online', 'pooled', 1.0, -1.0, 2.0),
                           ('iaaa_default', 'pooled', 0.5, -0.4, 1.0)])
    assert 'copypaste_online looks best, but its interval includes 0' in recommendation(path)
    write_bootstrap(path, [('copypaste_online', 'pooled', -1.0, -2.0, 0.5)])
    assert recommendation(path).startswith('neither augmentation beat real-only')


@pytest.mark.slow
def test_compare_tool_runs_end_to_end_on_the_bundled_sample(sample_root, tmp_path):
    work = tmp_path / 'ab'
    result = subprocess.run(
        [sys.executable, 'tools/compare_augmentations.py',
         '--train', str(sample_root / 'annotations/train.json'),
         '--val', str(sample_root / 'annotations/val.json'),
         '--img-dir', str(sample_root / 'images'), '--subset', '8', '--seeds', '1',
         '--iters', '2', '--work-dir', str(work)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1500,
        env=dict(os.environ, MMAUG_OFFLINE='1', OMP_NUM_THREADS='1'))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert '8 labelled training images; protocol: median cell side' in result.stdout
    assert 'no --test: the tables read the val split' in result.stdout
    runs = list(csv.DictReader(open(work / 'report/runs.csv')))
    assert sorted(r['setting'] for r in runs) == ['copypaste_online', 'iaaa_default',
                                                  'original']
    assert (work / 'report/bars.png').is_file()
    assert (work / 'report/recommendation.txt').read_text().strip()
    assert len(json.loads((work / 'data/train.json').read_text())['images']) == 8


@pytest.mark.slow
def test_compare_tool_refuses_bad_options_with_the_option_named(sample_root, tmp_path):
    base = [sys.executable, 'tools/compare_augmentations.py', '--train',
            str(sample_root / 'annotations/train.json'), '--val',
            str(sample_root / 'annotations/val.json'), '--img-dir', str(sample_root / 'images'),
            '--work-dir', str(tmp_path / 'w')]
    for extra, message in ((['--seeds', '0'], '--seeds must be >= 1, got 0'),
                           (['--subset', '99'], '--subset must be in 1..16'),
                           (['--img-dir', str(tmp_path / 'none')], '--img-dir is not a folder')):
        result = subprocess.run(base + extra, cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]


def curve_runs():
    """Runs of a label-efficiency curve: real-only gains 4 AP per doubling, IAAAPaste 3
    AP above it; 3 seeds at +-1 AP."""
    runs = []
    for n_images, base in ((10, 20.0), (20, 24.0), (40, 28.0), (79, 32.0)):
        for seed, noise in enumerate((-1.0, 0.0, 1.0)):
            runs.append(dict(n_images=n_images, setting='original', seed=seed,
                             AP=base + noise))
            runs.append(dict(n_images=n_images, setting='iaaa_default', seed=seed,
                             AP=base + 3 + noise))
    return runs


def test_curve_points_hold_the_mean_and_t_interval_over_seeds():
    points = curve_points(curve_runs())
    first = [p for p in points if p['n_images'] == 10 and p['setting'] == 'original'][0]
    assert first['mean'] == pytest.approx(20.0) and first['n_seeds'] == 3
    assert first['high'] - first['mean'] == pytest.approx(4.303 * 1.0 / np.sqrt(3), rel=1e-3)


def test_images_saved_are_read_off_the_real_only_curve():
    points = curve_points(curve_runs())
    assert images_for_ap(points, 'original', 27.0) == pytest.approx(35.0)  # 20 + 20 * 3/4
    assert images_for_ap(points, 'original', 40.0) is None
    lines = savings_lines(points)
    assert lines[0] == ('iaaa_default with 10 labelled images (23.0 AP) is matched by '
                        'original with ~18')
    assert lines[-1].endswith('beats original with every labelled set measured')


def test_write_curve_writes_a_table_csv_and_plot(tmp_path):
    path = write_curve(tmp_path, curve_points(curve_runs()), 'Label efficiency on train.json')
    text = path.read_text()
    assert '| 10 | 20.0 [17.5, 22.5] (n=3) | 23.0 [20.5, 25.5] (n=3) |' in text
    assert 'matched by original with ~18' in text
    assert (tmp_path / 'curve.png').stat().st_size > 1000
    assert len((tmp_path / 'curve.csv').read_text().splitlines()) == 1 + 8
