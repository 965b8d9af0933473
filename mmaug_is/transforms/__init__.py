"""Registered in-pipeline transforms (mmdet ``TRANSFORMS``)."""
from .iaaa_paste import IAAAPaste
from .saaa_paste import SAAAPaste

__all__ = ['IAAAPaste', 'SAAAPaste']
