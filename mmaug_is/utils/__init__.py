"""Framework glue: torch checkpoint compatibility, offline configs, config path checks."""
from .checkpoint_compat import allow_mmengine_checkpoints
from .config_checks import check_data_paths
from .offline import is_offline_requested, strip_pretrained_weights
from .setup_config import prepare_config

__all__ = ['allow_mmengine_checkpoints', 'check_data_paths', 'is_offline_requested',
           'prepare_config', 'strip_pretrained_weights']
