"""Evaluate a trained detector checkpoint with MMDetection's Runner and COCO metrics.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--offline] [--work-dir DIR] [--out results.pkl]
        [--show-dir vis] [--cfg-options key=value ...]
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [options]   # torchrun, --launcher pytorch
"""
import argparse
import os.path as osp

from mmaug_is.utils import (add_runner_args, build_runner, load_config, parse_runner_args,
                            prepare_config)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--show-dir',
                        help='directory (inside the work dir) where painted images are saved')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='score threshold for --show-dir drawings')
    return parse_runner_args(add_runner_args(parser))


def enable_visualisation(cfg, show_dir, score_thr):
    """Switch on mmdet's DetVisualizationHook so test images are painted to ``show_dir``."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError('--show-dir needs default_hooks.visualization in the config')
    hooks.visualization.update(draw=True, test_out_dir=show_dir, score_thr=score_thr)


def build_test_config(args):
    """Return the Config for ``args`` with the checkpoint, work dir and outputs set."""
    cfg = load_config(args)
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
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl or .pickle file, got {args.out}')
    runner = build_runner(build_test_config(args))
    if args.out is not None:
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
