"""Make a SAAA model release: generation-only checkpoints, a sample sheet and a manifest.

Reads the training checkpoints of tools/saaa_train_masks.py and tools/saaa_train_pix2pix.py
and writes to --out (``mmaug_is.saaa.release``, docs/saaa.md "Shipped models and releasing
your own"):
    mask_ddpm.pth, pix2pix.pth  what generation needs (float32 weights; float16 only for a
                                file that would exceed 10 MB), loadable as before
    samples.png                 generated masks and the cells painted for them
    manifest.json               SHA-256 and size of every file, training commands,
                                iterations, data (paths, content digest, SCO count),
                                settings, versions, date (written last)

    python tools/saaa_release.py --mask-ckpt work_dirs/saaa_fluo/mask_ddpm.pth \
        --pix2pix-ckpt work_dirs/saaa_fluo/pix2pix.pth \
        --out configs/saaa/models/dsb2018_fluo --name dsb2018_fluo

The training data is the one each checkpoint records (its training command's paths for
checkpoints of older runs: from the training log beside them); --ann-file/--img-dir give
it when neither has it (and must then have the recorded content). --verify DIR only
checks an existing release.
"""
import argparse
import sys

from mmaug_is.saaa.release import (MANIFEST, MAX_FILE_BYTES, ReleaseError, export_release,
                                   verify_release)
from mmaug_is.saaa.train_loop import configure_threads


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mask-ckpt', help='mask_ddpm.pth of tools/saaa_train_masks.py')
    parser.add_argument('--pix2pix-ckpt', help='pix2pix.pth of tools/saaa_train_pix2pix.py')
    parser.add_argument('--out', help='release folder, e.g. configs/saaa/models/<name>')
    parser.add_argument('--name', help='release name (default: the --out folder name)')
    parser.add_argument('--ann-file', help='training COCO json, for checkpoints that do not '
                                           'record their data')
    parser.add_argument('--img-dir', help='its image folder')
    parser.add_argument('--dtype', choices=('auto', 'float32', 'float16'), default='auto',
                        help=f'weights; auto: float32 unless a file would exceed '
                             f'{MAX_FILE_BYTES} bytes')
    parser.add_argument('--no-sheet', action='store_true', help='no samples.png')
    parser.add_argument('--seed', type=int, default=0, help='seed of the sample sheet')
    parser.add_argument('--verify', metavar='DIR', help='only check release DIR')
    args = parser.parse_args(argv)
    if not args.verify and not (args.mask_ckpt and args.pix2pix_ckpt and args.out):
        parser.error('give --mask-ckpt, --pix2pix-ckpt and --out (or --verify DIR)')
    if bool(args.ann_file) != bool(args.img_dir):
        parser.error('give --ann-file and --img-dir together')
    return args


def print_files(manifest, folder):
    for name, entry in manifest['files'].items():
        print(f'{folder}/{name}: {entry["bytes"]:,} bytes, sha256 {entry["sha256"]}')


def main(argv=None):
    args = parse_args(argv)
    configure_threads()
    try:
        if args.verify:
            manifest = verify_release(args.verify)
            print_files(manifest, args.verify)
            print(f'{args.verify}: all {len(manifest["files"])} files match {MANIFEST}')
            return 0
        data = dict(ann_file=args.ann_file, img_dir=args.img_dir) if args.ann_file else None
        name = args.name or args.out.rstrip('/').rsplit('/', 1)[-1]
        manifest = export_release(args.mask_ckpt, args.pix2pix_ckpt, args.out, name,
                                  data=data, sheet=not args.no_sheet, dtype=args.dtype,
                                  seed=args.seed)
    except ReleaseError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print_files(manifest, args.out)
    for file, model in manifest['models'].items():
        source = model['training_checkpoint']
        print(f'{file}: {model["dtype"]}, {model["iterations"]} iterations, '
              f'{model["data"]["n_scos"]} SCOs of {model["data"]["ann_file"]}; from '
              f'{source["path"]} ({source["bytes"]:,} bytes); command '
              f'({model["command_source"]}): {model["command"]}')
        if 'float16_check' in model:
            print(f'  float16 weights: {model["float16_check"]}')
    print(f'{args.out}/{MANIFEST} written')
    return 0


if __name__ == '__main__':
    status = main()
    if status:  # (0: return normally, so runpy callers go on)
        sys.exit(status)
