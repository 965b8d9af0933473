"""Framework glue: torch checkpoints (ours and mmengine's), offline configs, config set-up
for the Runner tools, distributed runs on CPU-only machines."""
from .checkpoint_compat import allow_mmengine_checkpoints
from .checkpoint_io import load_checkpoint, save_checkpoint
from .config_checks import check_data_paths
from .cpu_distributed import start_cpu_process_group
from .offline import is_offline_requested, strip_pretrained_weights
from .setup_config import (add_runner_args, build_runner, load_config, parse_runner_args,
                           prepare_config)

__all__ = ['add_runner_args', 'allow_mmengine_checkpoints', 'build_runner', 'check_data_paths',
           'is_offline_requested', 'load_checkpoint', 'load_config', 'parse_runner_args',
           'prepare_config', 'save_checkpoint', 'start_cpu_process_group',
           'strip_pretrained_weights']
