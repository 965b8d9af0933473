"""What every synthetic-data generator shares: assets of the real data, hashing, caches.

assets: object bank, empty backgrounds and statistics of a real COCO set, cached on disk;
hashing: stable content keys for caches (``source_digest``: a real set's content);
coco_cache: atomic, resumable COCO caches of generated samples; parallel_cache: one cache
written by the ranks of a distributed job or by local worker processes; contact_sheet: mask
overlays for a person to look at; protocol: the ``generate(seed, index)`` interface of
every generator; loaded_image: generated images as mmdet's ``LoadImageFromFile`` decodes
them.
"""
from .assets import RealAssets
from .coco_cache import SyntheticSample, ensure_coco_cache, sample_to_instances
from .contact_sheet import Tile, draw_overlay, render_sheet, save_sheet, write_contact_sheet
from .hashing import bytes_digest, file_digest, source_digest, stable_hash
from .loaded_image import as_loaded_image
from .parallel_cache import (ensure_coco_cache_across_ranks, ensure_coco_cache_in_processes,
                             on_rank0_first)
from .protocol import SampleGenerator, sample_rng

__all__ = ['RealAssets', 'SampleGenerator', 'SyntheticSample', 'Tile', 'as_loaded_image',
           'bytes_digest', 'draw_overlay', 'ensure_coco_cache', 'ensure_coco_cache_across_ranks',
           'ensure_coco_cache_in_processes', 'file_digest', 'on_rank0_first', 'render_sheet',
           'sample_rng', 'sample_to_instances', 'save_sheet', 'source_digest', 'stable_hash',
           'write_contact_sheet']
