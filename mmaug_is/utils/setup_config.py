"""One place that turns a config file into one the Runner can use on this machine.

``add_runner_args`` / ``parse_runner_args``: the arguments ``tools/train.py`` and
``tools/test.py`` share; ``load_config``: the config file with those arguments applied;
``prepare_config``: registration, offline switch and data-path checks; ``build_runner``
(also on CPU-only machines under ``torchrun``: ``cpu_distributed``).
"""
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from .checkpoint_compat import allow_mmengine_checkpoints
from .config_checks import check_data_paths
from .cpu_distributed import start_cpu_process_group
from .offline import is_offline_requested, strip_pretrained_weights


def add_runner_args(parser):
    """Add ``--work-dir``, ``--offline``, ``--cfg-options``, ``--launcher`` and
    ``--local_rank`` (mmdet's tools) to an ``argparse`` parser; returns it."""
    parser.add_argument('--work-dir', help='output folder: logs, checkpoints, metrics '
                        '(default: the config\'s work_dir, else work_dirs/<config name>)')
    parser.add_argument('--offline', action='store_true',
                        help='no weight downloads: train from scratch '
                        '(same as MMAUG_OFFLINE=1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_runner_args(parser, argv=None):
    """Parse ``argv`` (default: the command line) and export ``LOCAL_RANK`` if unset."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(args):
    """``Config`` of ``args.config`` with ``--launcher``, ``--cfg-options`` and the work dir
    (``--work-dir``, else the config's, else ``work_dirs/<config file name>``) applied."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


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


def build_runner(cfg):
    """The mmengine ``Runner`` of ``cfg`` (or its ``runner_type``); with the ``pytorch``
    launcher on a machine without CUDA, on a CPU process group (``start_cpu_process_group``)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    start_cpu_process_group(cfg)
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
