"""One place that turns a loaded config into one the Runner can use on this machine."""
from mmengine.logging import print_log

from .checkpoint_compat import allow_mmengine_checkpoints
from .config_checks import check_data_paths
from .offline import is_offline_requested, strip_pretrained_weights


def prepare_config(cfg, offline=False, loaders=('train_dataloader', 'val_dataloader',
                                                 'test_dataloader')):
    """Register mmdet + mmaug_is modules, apply the offline switch and check data paths.

    Args:
        cfg: an ``mmengine.Config``, modified in place.
        offline: strip pretrained-weight downloads (also on when ``MMAUG_OFFLINE=1``).
        loaders: dataloader keys whose annotation files / image folders must exist.

    Returns:
        The same ``cfg``.
    """
    from mmdet.utils import register_all_modules

    import mmaug_is  # noqa: F401  (registers the plugin's datasets, transforms, models)

    register_all_modules(init_default_scope=True)
    allow_mmengine_checkpoints()
    if offline or is_offline_requested():
        removed = strip_pretrained_weights(cfg)
        if removed:
            print_log('offline: training from scratch, removed ' + ', '.join(removed),
                      logger='current')
    check_data_paths(cfg, loaders)
    return cfg
