"""Write the synthetic-data caches a training config uses (IAAA, SAAA, copy-paste) + sheets.

Usage:
    python tools/generate.py configs/iaaa/faster_rcnn_r101.py [--cfg-options ...]

Every synthetic dataset (``IAAADataset``, ``SAAADataset``, ``CopyPasteDataset``) in the
config's training data (inside ``RealPlusSyntheticDataset``, ``ConcatDataset`` or any
wrapper with ``dataset=``) is built in cache mode, which writes (or resumes, or reuses) its COCO
cache under its ``cache_root`` with the same key training will look for. Prints the cache
folders, their image and instance counts and the contact sheet to open (if it exists).
"""
import argparse
import json
from pathlib import Path

from mmengine.config import Config, DictAction

from mmaug_is.datasets import synthetic_configs
from mmaug_is.synth.coco_cache import CONTACT_SHEET_FILE
from mmaug_is.utils import prepare_config

SYNTHETIC_TYPES = ('IAAADataset', 'SAAADataset', 'CopyPasteDataset')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a training config with synthetic datasets')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args()


def synthetic_dataset_cfgs(dataset_cfg):
    """Yield the synthetic dataset configs inside a (possibly nested) dataset config."""
    if dataset_cfg.get('type') in SYNTHETIC_TYPES:
        yield dataset_cfg
    if dataset_cfg.get('type') == 'RealPlusSyntheticDataset':
        yield from synthetic_configs(dataset_cfg['real'], dataset_cfg['synthetic'])
    for child in dataset_cfg.get('datasets', []):
        yield from synthetic_dataset_cfgs(child)
    if 'dataset' in dataset_cfg:
        yield from synthetic_dataset_cfgs(dataset_cfg['dataset'])


def cache_report(dataset_type, ann_file):
    """Lines describing the cache of ``ann_file``: image and instance counts, and the
    contact sheet to open (only if it exists)."""
    folder = Path(ann_file).parent
    coco = json.loads(Path(ann_file).read_text())
    lines = [f'{dataset_type}: {len(coco["images"])} images, '
             f'{len(coco["annotations"])} instances in {folder}']
    sheet = folder / CONTACT_SHEET_FILE
    lines.append(f'  look at: {sheet}' if sheet.is_file() else f'  no contact sheet in {folder}')
    return lines


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    prepare_config(cfg, loaders=())
    from mmdet.registry import DATASETS

    found = list(synthetic_dataset_cfgs(cfg.train_dataloader.dataset))
    if not found:
        raise SystemExit(f'{args.config}: no {" / ".join(SYNTHETIC_TYPES)} in train_dataloader')
    for dataset_cfg in found:
        dataset_cfg = dict(dataset_cfg, mode='cache')
        dataset = DATASETS.build(dataset_cfg)
        print('\n'.join(cache_report(dataset_cfg['type'], dataset.ann_file)))


if __name__ == '__main__':
    main()
