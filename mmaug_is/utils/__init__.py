"""Framework glue: torch checkpoints (ours and mmengine's), offline configs, config set-up
for the Runner tools, distributed runs on CPU-only machines.

The names below are imported on first use (PEP 562 ``__getattr__``): several submodules
need mmengine, and ``mmaug_is.saaa`` reaches ``utils.checkpoint_io`` on machines without it.
"""
import importlib

_SUBMODULE_OF = {
    'allow_mmengine_checkpoints': 'checkpoint_compat',
    'load_checkpoint': 'checkpoint_io', 'save_checkpoint': 'checkpoint_io',
    'check_data_paths': 'config_checks',
    'start_cpu_process_group': 'cpu_distributed',
    'is_offline_requested': 'offline', 'strip_pretrained_weights': 'offline',
    'skip_remote_pretrained_when_offline': 'offline',
    'add_runner_args': 'setup_config', 'build_runner': 'setup_config',
    'load_config': 'setup_config', 'parse_runner_args': 'setup_config',
    'prepare_config': 'setup_config',
}


def __getattr__(name):
    if name in _SUBMODULE_OF:
        module = importlib.import_module(f'{__name__}.{_SUBMODULE_OF[name]}')
        return getattr(module, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULE_OF))


__all__ = ['add_runner_args', 'allow_mmengine_checkpoints', 'build_runner', 'check_data_paths',
           'is_offline_requested', 'load_checkpoint', 'load_config', 'parse_runner_args',
           'prepare_config', 'save_checkpoint', 'skip_remote_pretrained_when_offline',
           'start_cpu_process_group', 'strip_pretrained_weights']
