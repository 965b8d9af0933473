"""Fixtures for the core tests: real records and object banks, computed once per session."""
import pytest

from mmaug_is.core import ObjectBank, load_coco_instances


@pytest.fixture(scope='session')
def fluo_records(fluo_root):
    """ImageRecords of dsb2018_fluo train (79 images, 1959 nuclei)."""
    return load_coco_instances(fluo_root / 'annotations' / 'train.json', fluo_root / 'images')


@pytest.fixture(scope='session')
def fluo_bank(fluo_records):
    """ObjectBank of dsb2018_fluo train."""
    return ObjectBank.from_records(fluo_records, progress=False)


@pytest.fixture(scope='session')
def brightfield_records(brightfield_root):
    """ImageRecords of dsb2018_brightfield train."""
    return load_coco_instances(brightfield_root / 'annotations' / 'train.json',
                               brightfield_root / 'images')
