"""Framework-free IAAA core (numpy + opencv + pycocotools + scipy only).

io: images and COCO masks; objects: SCO/MCO extraction and the ObjectBank;
background: cell removal; blending: feathered paste; placement: corner-matched,
non-overlapping positions; stats: dataset statistics; style: which images look alike;
composer: synthetic images.
"""
from .background import merge_boxes, remove_cells
from .blending import feather_alpha, feathered_paste
from .composer import ComposedImage, choose_objects, compose_image
from .io import (AnnotationError, ImageReadError, ImageRecord, load_coco_instances,
                 read_image, write_image)
from .objects import CellObject, ObjectBank, extract_objects, group_instances, masks_to_boxes
from .placement import Occupancy, find_position
from .stats import DatasetStats
from .style import rank_by_style, style_bank, style_descriptor, style_neighbours

__all__ = [
    'AnnotationError', 'CellObject', 'ComposedImage', 'DatasetStats', 'ImageReadError',
    'ImageRecord', 'ObjectBank', 'Occupancy', 'choose_objects', 'compose_image',
    'extract_objects', 'feather_alpha', 'feathered_paste', 'find_position',
    'group_instances', 'load_coco_instances', 'masks_to_boxes', 'merge_boxes',
    'rank_by_style', 'read_image', 'remove_cells', 'style_bank', 'style_descriptor',
    'style_neighbours', 'write_image',
]
