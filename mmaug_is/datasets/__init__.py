"""Registered synthetic datasets (mmdet ``DATASETS``) and epoch-passing samplers."""
from .copy_paste_dataset import CopyPasteDataset
from .fresh_samplers import EpochIndex, FreshEpochSampler, FreshInfiniteSampler, split_epoch
from .iaaa_dataset import IAAADataset
from .real_plus_synthetic import RealPlusSyntheticDataset, synthetic_configs
from .saaa_dataset import SAAADataset
from .synthetic_coco import SyntheticCocoDataset

__all__ = ['CopyPasteDataset', 'EpochIndex', 'FreshEpochSampler', 'FreshInfiniteSampler', 'IAAADataset',
           'RealPlusSyntheticDataset', 'SAAADataset', 'SyntheticCocoDataset', 'split_epoch',
           'synthetic_configs']
