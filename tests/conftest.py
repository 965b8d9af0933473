"""Shared pytest fixtures: locations of the real nuclei datasets used by the tests."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get('MMAUG_SHARED_DATA',
                                  REPO_ROOT.parent / 'shared' / 'data'))


def _dataset_root(name):
    root = SHARED_DATA / name
    if not (root / 'annotations' / 'train.json').is_file():
        pytest.fail(f'real test data not found at {root}: put ../shared beside the '
                    'repository or set MMAUG_SHARED_DATA')
    return root


@pytest.fixture(scope='session')
def fluo_root():
    """Root of ../shared/data/dsb2018_fluo (COCO json + images, 256x256 RGB PNG)."""
    return _dataset_root('dsb2018_fluo')


@pytest.fixture(scope='session')
def brightfield_root():
    """Root of ../shared/data/dsb2018_brightfield."""
    return _dataset_root('dsb2018_brightfield')


@pytest.fixture(scope='session')
def sample_root():
    """Root of the bundled demo subset data/sample_fluo (16/4/4 real images)."""
    return REPO_ROOT / 'data' / 'sample_fluo'


@pytest.fixture(scope='session', autouse=True)
def mmdet_default_scope():
    """Register mmdet's modules and make 'mmdet' the default scope, as the Runner does."""
    from mmdet.utils import register_all_modules

    import mmaug_is  # noqa: F401

    register_all_modules(init_default_scope=True)
