"""The offline switch: train every model from scratch instead of downloading weights.

GPU users with internet get the paper's setting (ImageNet-pretrained backbones through
``init_cfg=dict(type='Pretrained', checkpoint='torchvision://...')``). On machines without
network access (CI, the CPU benchmarks) set ``MMAUG_OFFLINE=1`` or pass ``--offline`` to
``tools/train.py``/``tools/test.py``: every ``Pretrained`` initialisation and every
``pretrained=`` / ``load_from`` weight reference that needs a download is removed, so the
models start from their default random initialisation.
"""
import os

_TRUE = {'1', 'true', 'yes', 'on'}
_REMOTE_PREFIXES = ('torchvision://', 'open-mmlab://', 'mmcls://', 'http://', 'https://')


def is_offline_requested():
    """Return True when the environment variable ``MMAUG_OFFLINE`` is set to a true value."""
    return os.environ.get('MMAUG_OFFLINE', '').strip().lower() in _TRUE


def _is_pretrained_init(init_cfg):
    if isinstance(init_cfg, dict):
        return init_cfg.get('type') == 'Pretrained'
    if isinstance(init_cfg, (list, tuple)):
        return any(_is_pretrained_init(item) for item in init_cfg)
    return False


def _strip(node, removed, path):
    if isinstance(node, dict):
        for key in list(node.keys()):
            value = node[key]
            where = f'{path}.{key}' if path else key
            if key == 'init_cfg' and _is_pretrained_init(value):
                node[key] = None
                removed.append(where)
            elif key == 'pretrained' and isinstance(value, str):
                node[key] = None
                removed.append(where)
            else:
                _strip(value, removed, where)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _strip(item, removed, f'{path}[{i}]')


def strip_pretrained_weights(cfg):
    """Remove pretrained-weight references from an mmengine ``Config`` in place.

    Args:
        cfg: an ``mmengine.Config`` (or nested dict) holding ``model`` and maybe ``load_from``.

    Returns:
        list[str]: dotted paths of the entries that were removed, for logging.
    """
    removed = []
    _strip(cfg.get('model', {}), removed, 'model')
    load_from = cfg.get('load_from')
    if isinstance(load_from, str) and load_from.startswith(_REMOTE_PREFIXES):
        cfg['load_from'] = None
        removed.append('load_from')
    return removed


def skip_remote_pretrained_when_offline():
    """Under ``MMAUG_OFFLINE=1``, make mmengine's ``Pretrained`` initialisation skip
    checkpoints that need a download (the module keeps its random initialisation; a warning
    names it) and load local files as usual. Runs when the package is imported, so mmdet's
    own ``tools/train.py`` with ``custom_imports=dict(imports=['mmaug_is'])`` trains
    offline too. Returns whether the switch was applied."""
    if not is_offline_requested():
        return False
    import logging

    from mmengine.logging import print_log
    from mmengine.model.weight_init import PretrainedInit
    from mmengine.registry import WEIGHT_INITIALIZERS

    class OfflinePretrainedInit(PretrainedInit):
        """``Pretrained`` that skips remote checkpoints (``MMAUG_OFFLINE=1``)."""

        def __call__(self, module):
            if str(self.checkpoint).startswith(_REMOTE_PREFIXES):
                print_log(f'MMAUG_OFFLINE=1: not downloading {self.checkpoint}; '
                          f'{type(module).__name__} starts from random initialisation',
                          logger='current', level=logging.WARNING)
                return
            super().__call__(module)

    WEIGHT_INITIALIZERS.register_module('Pretrained', module=OfflinePretrainedInit,
                                        force=True)
    return True
