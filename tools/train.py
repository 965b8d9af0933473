"""Train a detector with MMDetection's Runner (mmdet's tools/train.py plus the plugin).

Usage:
    python tools/train.py configs/baselines/faster_rcnn_r101.py [--offline] \
        [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options key=value ...]
    tools/dist_train.sh CONFIG GPUS [options]   # torchrun, --launcher pytorch
"""
import argparse

from mmaug_is.utils import (add_runner_args, build_runner, load_config, parse_runner_args,
                            prepare_config)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or without a value from the '
                        'latest checkpoint in the work dir')
    return parse_runner_args(add_runner_args(parser))


def build_train_config(args):
    """Return the Config for ``args`` with work dir, AMP and resume settings applied."""
    cfg = load_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return prepare_config(cfg, offline=args.offline,
                          loaders=('train_dataloader', 'val_dataloader'))


def main():
    build_runner(build_train_config(parse_args())).train()


if __name__ == '__main__':
    main()
