"""Registered in-pipeline transforms (mmdet ``TRANSFORMS``)."""
from .iaaa_paste import IAAAPaste

__all__ = ['IAAAPaste']
