"""Registered synthetic datasets (mmdet ``DATASETS``)."""
from .iaaa_dataset import IAAADataset
from .synthetic_coco import SyntheticCocoDataset

__all__ = ['IAAADataset', 'SyntheticCocoDataset']
