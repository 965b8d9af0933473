"""Registered synthetic datasets (mmdet ``DATASETS``)."""
from .copy_paste_dataset import CopyPasteDataset
from .iaaa_dataset import IAAADataset
from .real_plus_synthetic import RealPlusSyntheticDataset, synthetic_configs
from .saaa_dataset import SAAADataset
from .synthetic_coco import SyntheticCocoDataset

__all__ = ['CopyPasteDataset', 'IAAADataset', 'RealPlusSyntheticDataset', 'SAAADataset',
           'SyntheticCocoDataset', 'synthetic_configs']
