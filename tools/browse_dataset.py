"""Draw training samples of a config as the detector gets them, outlines only.

Usage:
    python tools/browse_dataset.py CONFIG [--out-dir DIR] [--num 8] [--seed 0]
        [--cfg-options key=value ...]

Each sample runs through the config's whole training pipeline; every instance is drawn as
the outline of its mask (its box without masks): real cells green, cells pasted by
IAAAPaste / SAAAPaste magenta, no labels or fills over the cells. Writes DIR/NNNN.png
(one per sample) and DIR/contact_sheet.png (all of them, captioned with the counts).
"""
import argparse
from pathlib import Path

import numpy as np
from mmengine.config import DictAction

from mmaug_is.utils.cli import at_least


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('config', help='training config file')
    parser.add_argument('--out-dir', default='work_dirs/browse', help='where images go')
    parser.add_argument('--num', type=at_least(1), default=8,
                        help='samples drawn (the first ones)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random transforms')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_dataloader.dataset.x=1')
    args = parser.parse_args(argv)
    if not Path(args.config).is_file():
        parser.error(f'config not found: {args.config}')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmaug_is.core.io import write_image
    from mmaug_is.synth.contact_sheet import Tile, save_sheet
    from mmaug_is.utils import prepare_config
    from mmaug_is.visualization import draw_training_sample, mark_pasted

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    prepare_config(cfg, offline=True, loaders=('train_dataloader', ))
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    n_classes = len(dataset.metainfo['classes'])
    marked = mark_pasted(dataset, n_classes)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.random.seed(args.seed)
    tiles = []
    for index in range(min(args.num, len(dataset))):
        drawn, n_real, n_pasted = draw_training_sample(dataset[index], n_classes)
        write_image(out_dir / f'{index:04d}.png', drawn)
        tiles.append(Tile(drawn, caption=f'{index}: {n_real} real, {n_pasted} pasted'))
    sheet = save_sheet(out_dir / 'contact_sheet.png',
                       [('', tiles[i:i + 4]) for i in range(0, len(tiles), 4)], tile=256,
                       title='green: real cells, magenta: pasted cells')
    print(f'{len(tiles)} samples drawn to {out_dir} ({marked} paste transform(s) in the '
          f'pipeline); look at {sheet}')


if __name__ == '__main__':
    main()
