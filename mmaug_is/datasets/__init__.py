"""Registered synthetic datasets (mmdet ``DATASETS``)."""
from .iaaa_dataset import IAAADataset
from .saaa_dataset import SAAADataset
from .synthetic_coco import SyntheticCocoDataset

__all__ = ['IAAADataset', 'SAAADataset', 'SyntheticCocoDataset']
