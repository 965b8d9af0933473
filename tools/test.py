"""Evaluate a trained detector checkpoint with MMDetection's Runner and COCO metrics.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--offline] [--work-dir DIR] [--out results.pkl]
        [--show-dir vis] [--cfg-options key=value ...]
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmaug_is.utils import prepare_config  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--offline', action='store_true',
                        help='no weight downloads (same as MMAUG_OFFLINE=1)')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--show-dir',
                        help='directory (inside the work dir) where painted images are saved')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='score threshold for --show-dir drawings')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualisation(cfg, show_dir, score_thr):
    """Switch on mmdet's DetVisualizationHook so test images are painted to ``show_dir``."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError('--show-dir needs default_hooks.visualization in the config')
    hooks.visualization.update(draw=True, test_out_dir=show_dir, score_thr=score_thr)


def build_test_config(args):
    """Return the Config for ``args`` with the checkpoint, work dir and outputs set."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {osp.abspath(args.checkpoint)}')
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_visualisation(cfg, args.show_dir, args.score_thr)
    prepare_config(cfg, offline=args.offline, loaders=('test_dataloader', ))
    cfg.load_from = args.checkpoint  # the offline switch never drops the user's checkpoint
    return cfg


def main():
    args = parse_args()
    cfg = build_test_config(args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl or .pickle file, got {args.out}')
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
