"""FID / KID evaluation of synthetic microscopy images at the SCO, MCO and full-image level."""
from .cache import FeatureCache, cache_key
from .compare import LevelScore, level_features, markdown_table, score_levels, write_tables
from .crops import LEVELS, CocoSource, FolderSource, LevelImages, parse_source
from .features import (TF_INCEPTION_INPUT_RANGE, InceptionFeatureExtractor,
                       default_weights_path, preprocess)
from .fid_kid import KIDResult, feature_stats, fid, frechet_distance, kid

__all__ = ['LEVELS', 'TF_INCEPTION_INPUT_RANGE', 'CocoSource', 'FeatureCache', 'FolderSource',
           'InceptionFeatureExtractor', 'KIDResult', 'LevelImages', 'LevelScore', 'cache_key',
           'default_weights_path', 'feature_stats', 'fid', 'frechet_distance',
           'kid', 'level_features', 'markdown_table', 'parse_source', 'preprocess',
           'score_levels', 'write_tables']
