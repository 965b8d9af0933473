"""Write synthetic training data (IAAA, SAAA, copy-paste): a config's caches, or a COCO set.

Config form: the caches a training config uses, where training will look for them::

    python tools/generate.py configs/iaaa_paper/faster_rcnn_r101.py [--cfg-options ...] \
        [--workers N]

Every synthetic dataset (``IAAADataset``, ``SAAADataset``, ``CopyPasteDataset``) in the
config's training data (inside ``RealPlusSyntheticDataset``, ``ConcatDataset`` or any
wrapper with ``dataset=``) writes (or resumes, or reuses) its COCO cache under its
``cache_root``, with the key training computes.

Data-first form: any COCO instance dataset (RLE or polygon masks), no config::

    python tools/generate.py --method iaaa --ann-file A --img-dir D --num N --out DIR \
        [--policies policies.json] [--seed S] [--workers N] [--options generator.edge=inside]
    python tools/generate.py --method saaa ... --mask-checkpoint mask_ddpm.pth \
        --pix2pix-checkpoint pix2pix.pth [--category NAME]
    python tools/generate.py --method copypaste ...

``DIR`` receives ``images/``, ``annotations.json`` (COCO, RLE masks, written last),
``contact_sheet.png``, ``parts/`` (one file per image, for resuming) and ``dataset.json``
(the inputs; a ``DIR`` holding another dataset is refused). ``--policies`` comes from
``tools/iaaa_search.py`` (without it IAAA pastes the cells unaugmented); ``--options`` sets
any other argument of the dataset class (``mmaug_is/datasets/*_dataset.py``). The real
set's objects and backgrounds are cached under ``--cache-root``.

Either form: ``--workers N`` makes the samples in N processes (the same bytes as one), and
a rerun after an interruption makes only the missing samples. Prints, per dataset, its
image and instance counts, its folder and the contact sheet to open.
"""
import argparse
import json
from pathlib import Path

from mmengine.config import Config, DictAction

from mmaug_is.datasets import synthetic_configs
from mmaug_is.synth.coco_cache import CONTACT_SHEET_FILE
from mmaug_is.synth.output_dir import claim_output_dir
from mmaug_is.utils import prepare_config
from mmaug_is.utils.cli import at_least

SYNTHETIC_TYPES = ('IAAADataset', 'SAAADataset', 'CopyPasteDataset')
METHODS = dict(iaaa='IAAADataset', saaa='SAAADataset', copypaste='CopyPasteDataset')
DATA_FIRST_REQUIRED = ('method', 'ann_file', 'img_dir', 'num', 'out')
SAAA_ONLY = ('mask_checkpoint', 'pix2pix_checkpoint', 'category')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        usage='%(prog)s CONFIG [--cfg-options ...] [--workers N]\n'
              '       %(prog)s --method {iaaa,saaa,copypaste} --ann-file A --img-dir D '
              '--num N --out DIR [...]')
    parser.add_argument('config', nargs='?', help='a training config with synthetic datasets')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (config form)')
    parser.add_argument('--workers', type=at_least(1), default=1,
                        help='processes making the samples (default 1)')
    data = parser.add_argument_group('data-first form (no config)')
    data.add_argument('--method', choices=sorted(METHODS), help='generator')
    data.add_argument('--ann-file', help='COCO instances json of the real set')
    data.add_argument('--img-dir', help='folder of its images')
    data.add_argument('--num', type=at_least(1), help='number of synthetic images')
    data.add_argument('--out', help='output folder (created; resumed if it holds this set)')
    data.add_argument('--seed', type=int, default=0, help='stream seed (default 0)')
    data.add_argument('--policies', help='iaaa: policies.json of tools/iaaa_search.py '
                      '(default: cells pasted unaugmented)')
    data.add_argument('--mask-checkpoint', help='saaa: mask_ddpm.pth of '
                      'tools/saaa_train_masks.py')
    data.add_argument('--pix2pix-checkpoint', help='saaa: pix2pix.pth of '
                      'tools/saaa_train_pix2pix.py')
    data.add_argument('--category', help='saaa: category of the new cells (multi-class sets)')
    data.add_argument('--options', nargs='+', action=DictAction, default={},
                      help='other dataset arguments, e.g. generator.edge=inside')
    data.add_argument('--cache-root', default='work_dirs/mmaug_cache',
                      help='where the real set\'s objects and backgrounds are cached')
    args = parser.parse_args(argv)
    check_form(parser, args)
    return args


def check_form(parser, args):
    """Exit with a usage error unless ``args`` are one complete form."""
    given = [name for name in DATA_FIRST_REQUIRED if getattr(args, name) is not None]
    if args.config is not None:
        if given:
            parser.error(f'give a CONFIG or --method ..., not both (got CONFIG and '
                         f'{", ".join("--" + n.replace("_", "-") for n in given)})')
        return
    if args.cfg_options:
        parser.error('--cfg-options needs a CONFIG')
    missing = [name for name in DATA_FIRST_REQUIRED if getattr(args, name) is None]
    if missing:
        parser.error('without a CONFIG, give '
                     f'{", ".join("--" + n.replace("_", "-") for n in missing)}')
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    if args.method == 'saaa' and not (args.mask_checkpoint and args.pix2pix_checkpoint):
        parser.error('--method saaa needs --mask-checkpoint and --pix2pix-checkpoint')
    wrong = [name for name in SAAA_ONLY if getattr(args, name) and args.method != 'saaa']
    wrong += ['policies'] if args.policies and args.method != 'iaaa' else []
    if wrong:
        parser.error(f'{", ".join("--" + n.replace("_", "-") for n in wrong)} do not apply '
                     f'to --method {args.method}')


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


def data_first_cfg(args):
    """The dataset config of the data-first arguments (``--options`` merged last)."""
    cfg = dict(type=METHODS[args.method], num_samples=args.num, seed=args.seed,
               source=dict(ann_file=args.ann_file, img_dir=args.img_dir),
               cache_root=args.cache_root)
    if args.method == 'iaaa':
        cfg['policies'] = args.policies or []
    if args.method == 'saaa':
        cfg.update(mask_checkpoint=args.mask_checkpoint,
                   pix2pix_checkpoint=args.pix2pix_checkpoint, category=args.category)
    merged = Config(cfg)
    merged.merge_from_dict(args.options)
    return merged.to_dict()


def identity(args, dataset):
    """What ``--out`` holds, for ``claim_output_dir``: the key of every input and the
    arguments a person recognises."""
    return dict(key=dataset.cache_name(), method=args.method, num=args.num, seed=args.seed,
                ann_file=args.ann_file, img_dir=args.img_dir, policies=args.policies,
                mask_checkpoint=args.mask_checkpoint,
                pix2pix_checkpoint=args.pix2pix_checkpoint, category=args.category,
                options=args.options)


def cache_report(dataset_type, ann_file):
    """Lines describing the cache of ``ann_file``: image and instance counts, the contact
    sheet to open (only if it exists) and the COCO files."""
    folder = Path(ann_file).parent
    coco = json.loads(Path(ann_file).read_text())
    lines = [f'{dataset_type}: {len(coco["images"])} images, '
             f'{len(coco["annotations"])} instances in {folder}']
    sheet = folder / CONTACT_SHEET_FILE
    lines.append(f'  look at: {sheet}' if sheet.is_file() else f'  no contact sheet in {folder}')
    lines.append(f'  COCO: {ann_file} (images in {folder / "images"})')
    return lines


def main(argv=None):
    args = parse_args(argv)
    if args.config is not None:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        prepare_config(cfg, loaders=())
        found = list(synthetic_dataset_cfgs(cfg.train_dataloader.dataset))
        if not found:
            raise SystemExit(f'{args.config}: no {" / ".join(SYNTHETIC_TYPES)} in '
                             'train_dataloader')
    else:
        prepare_config(Config(), loaders=())  # registration and default scope only
        found = [data_first_cfg(args)]
    from mmdet.registry import DATASETS

    for dataset_cfg in found:
        dataset = DATASETS.build(dict(dataset_cfg, mode='cache', lazy_init=True))
        folder = None
        where = '--out' if args.config is None else 'cache_root'
        try:
            if args.config is None:
                folder = claim_output_dir(args.out, identity(args, dataset))
            ann_file = dataset.write_cache(folder, workers=args.workers)
        except FileExistsError as err:
            raise SystemExit(f'--out: {err}') from None
        except (NotADirectoryError, PermissionError) as err:
            raise SystemExit(f'{where}: cannot write {err.filename}: {err.strerror} (choose '
                             f'a folder you can write to)') from None
        print('\n'.join(cache_report(dataset_cfg['type'], ann_file)))


if __name__ == '__main__':
    main()
