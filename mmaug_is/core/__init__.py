"""Framework-free IAAA core (numpy + opencv + pycocotools + scipy only).

io: images and COCO masks; categories: COCO categories and the labels mmdet gives them;
objects: SCO/MCO extraction and the ObjectBank;
background: cell removal; blending: feathered paste; placement: corner-matched,
non-overlapping positions; stats: dataset statistics; style: which images look alike;
composer: synthetic images; ops: augmentation ops (functional ops and the op table
``OPS``, extended by ``register_op``); policy: sequences of ops with probabilities.
"""
from .background import merge_boxes, remove_cells
from .blending import EDGES, feather_alpha, feathered_paste
from .composer import ComposedImage, choose_objects, compose_image
from .io import (AnnotationError, ImageReadError, ImageRecord, load_coco_instances,
                 read_image, write_image)
from .objects import CellObject, ObjectBank, extract_objects, group_instances, masks_to_boxes
from .ops import (GEOMETRY_MODES, N_LEVELS, OPS, Op, auto_contrast, background_fill,
                  brightness, color, contrast, crop_bilinear, cutout, equalize, flip_lr, flip_ud,
                  gamma, gaussian_blur, gaussian_noise, get_op, identity, invert, posterize,
                  register_op, rescale, resize, rotate, sharpness, shear_x, shear_y, smooth,
                  solarize, translate_x, translate_y)
from .placement import Occupancy, find_position
from .policy import Policy, SubPolicy, load_policies, save_policies
from .stats import DatasetStats
from .style import rank_by_style, style_bank, style_descriptor, style_neighbours

__all__ = [
    'EDGES', 'GEOMETRY_MODES', 'N_LEVELS', 'OPS', 'AnnotationError', 'CellObject',
    'ComposedImage', 'DatasetStats', 'ImageReadError', 'ImageRecord', 'ObjectBank',
    'Occupancy', 'Op', 'Policy', 'SubPolicy', 'auto_contrast', 'background_fill',
    'brightness', 'choose_objects', 'color', 'compose_image', 'contrast', 'crop_bilinear',
    'cutout', 'equalize', 'extract_objects', 'feather_alpha', 'feathered_paste',
    'find_position', 'flip_lr', 'flip_ud', 'gamma', 'gaussian_blur', 'gaussian_noise',
    'get_op', 'group_instances', 'identity', 'invert', 'load_coco_instances',
    'load_policies', 'masks_to_boxes', 'merge_boxes', 'posterize', 'rank_by_style',
    'read_image', 'register_op', 'remove_cells', 'rescale', 'resize', 'rotate', 'save_policies',
    'sharpness', 'shear_x', 'shear_y', 'smooth', 'solarize', 'style_bank',
    'style_descriptor', 'style_neighbours', 'translate_x', 'translate_y', 'write_image',
]
