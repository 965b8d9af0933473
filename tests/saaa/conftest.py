"""Fixtures for the SAAA tests: a small real COCO subset of dsb2018_fluo and its SCOs."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

N_SUBSET_IMAGES = 12


@pytest.fixture(scope='session')
def fluo_subset(fluo_root, tmp_path_factory):
    """``(ann_file, img_dir)`` of the first 12 images of dsb2018_fluo train (real data)."""
    coco = json.loads((fluo_root / 'annotations' / 'train.json').read_text())
    images = coco['images'][:N_SUBSET_IMAGES]
    keep = {im['id'] for im in images}
    subset = dict(coco, images=images,
                  annotations=[a for a in coco['annotations'] if a['image_id'] in keep])
    ann_file = tmp_path_factory.mktemp('saaa_subset') / 'train_subset.json'
    ann_file.write_text(json.dumps(subset))
    return ann_file, fluo_root / 'images'


@pytest.fixture(scope='session')
def sco32(fluo_subset):
    """Canonical 32 px SCO masks and raw-context image windows of the subset."""
    from mmaug_is.saaa.mask_data import build_sco_dataset

    return build_sco_dataset(*fluo_subset, size=32, context='raw', progress=False)


@pytest.fixture(scope='session')
def fluo_subset_bank(fluo_subset):
    """``ObjectBank`` (real SCOs and MCOs) of the subset."""
    from mmaug_is.core import ObjectBank, load_coco_instances

    return ObjectBank.from_records(load_coco_instances(*fluo_subset), progress=False)


@pytest.fixture(scope='session')
def fluo_stats_and_backgrounds(fluo_subset):
    """``(DatasetStats, [2 empty backgrounds])`` of the subset (core cell removal)."""
    from mmaug_is.core import DatasetStats, ObjectBank, load_coco_instances, read_image
    from mmaug_is.core import remove_cells

    records = load_coco_instances(*fluo_subset)
    stats = DatasetStats.from_records(records, ObjectBank.from_records(records, progress=False))
    backgrounds = [remove_cells(read_image(r.path), r.masks, np.random.default_rng(i))
                   for i, r in enumerate(records[:2])]
    return stats, backgrounds


@pytest.fixture(scope='session')
def fluo_assets(fluo_subset, fluo_subset_bank, fluo_stats_and_backgrounds):
    """What ``resolve_tone`` / ``resolve_size`` read of ``RealAssets``: the bank and two
    backgrounds with the file names of the real images they were made from."""
    from mmaug_is.core import load_coco_instances

    records = load_coco_instances(*fluo_subset)
    backgrounds = fluo_stats_and_backgrounds[1]
    return SimpleNamespace(bank=fluo_subset_bank, backgrounds=backgrounds,
                           background_sources=[r.file_name for r in records[:len(backgrounds)]])
