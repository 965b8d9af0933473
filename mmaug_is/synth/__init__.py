"""What every synthetic-data generator shares: assets of the real data, hashing, caches.

assets: object bank, empty backgrounds and statistics of a real COCO set, cached on disk;
hashing: stable content keys for caches; coco_cache: atomic, resumable COCO caches of
generated samples; contact_sheet: mask overlays for a person to look at.
"""
from .assets import RealAssets
from .coco_cache import SyntheticSample, ensure_coco_cache, sample_to_instances
from .contact_sheet import draw_overlay, write_contact_sheet
from .hashing import file_digest, stable_hash

__all__ = ['RealAssets', 'SyntheticSample', 'draw_overlay', 'ensure_coco_cache',
           'file_digest', 'sample_to_instances', 'stable_hash', 'write_contact_sheet']
