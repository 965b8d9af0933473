"""Search IAAA augmentation policies on a COCO instance dataset (paper 2.1).

Steps (``mmaug_is.iaaa.pipeline.run_search``): extract the SCOs/MCOs of the dataset; hold
out an evaluation sample and a real reference set; train (or resume) the WAE on the
remaining objects; run Greedy AutoAugment; write ``policies.json`` (top-b policies with
scores) and ``policies_contact_sheet.png`` (real objects in the first row, the same
objects under each top policy below, instance outlines drawn).

Work dir contents: ``wae.pth`` (checkpoint, resumable), ``search_state.json`` and
``candidates.jsonl`` (resumable search), ``policies.json``, ``policies_contact_sheet.png``.

Fast setting (about 2-3 minutes on one CPU core for dsb2018_fluo train)::

    python tools/iaaa_search.py \\
        --ann-file ../shared/data/dsb2018_fluo/annotations/train.json \\
        --img-dir ../shared/data/dsb2018_fluo/images --work-dir work_dirs/iaaa_search_fluo \\
        --ops FlipLR FlipUD AutoContrast Equalize Rotate Posterize Contrast Brightness \\
              Sharpness Smooth Resize \\
        --n-prob 2 --n-levels 3 --l-max 2 --top-b 10 --wae-epochs 20

Add ``--resume`` to continue an interrupted run in the same work dir.
"""
import argparse

import torch

from mmaug_is.core.ops import DEFAULT_SEARCH_OPS, OPS
from mmaug_is.iaaa.pipeline import SearchSettings, run_search
from mmaug_is.iaaa.scoring import ScoreConfig
from mmaug_is.iaaa.wae import WAEConfig
from mmaug_is.utils.cli import at_least


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--ann-file', required=True, help='COCO instances json')
    parser.add_argument('--img-dir', required=True, help='folder of the images')
    parser.add_argument('--work-dir', required=True, help='output / resume folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--ops', nargs='+', default=list(DEFAULT_SEARCH_OPS),
                        choices=sorted(OPS), metavar='OP', help='ops to search (n_o)')
    parser.add_argument('--n-prob', type=at_least(1), default=2, help='probabilities per op (n_p)')
    parser.add_argument('--n-levels', type=at_least(1), default=3, help='levels per op (n_m)')
    parser.add_argument('--l-max', type=at_least(1), default=2, help='sub-policies per policy')
    parser.add_argument('--top-b', type=at_least(1), default=10, help='policies written')
    parser.add_argument('--beam', type=int, default=None,
                        help='keep only this many policies per stage (default: all)')
    parser.add_argument('--kinds', nargs='+', default=['sco', 'mco'], choices=['sco', 'mco'],
                        help='object kinds used for the WAE and the search')
    parser.add_argument('--n-eval', type=at_least(1), default=64,
                        help='held-out objects every candidate is applied to')
    parser.add_argument('--n-ref', type=at_least(1), default=200,
                        help='held-out real reference objects')
    parser.add_argument('--min-change', type=float, default=ScoreConfig.min_change,
                        help='required change in typical real nearest-neighbour gaps')
    parser.add_argument('--edge-weight', type=float, default=ScoreConfig.edge_weight,
                        help='weight of the score term against softened cell outlines '
                             '(0: the score without it)')
    parser.add_argument('--crop-size', type=at_least(1), default=64)
    parser.add_argument('--wae-epochs', type=at_least(1), default=30)
    parser.add_argument('--wae-width', type=at_least(1), default=WAEConfig.width)
    parser.add_argument('--z-dim', type=at_least(1), default=WAEConfig.z_dim)
    parser.add_argument('--sheet-objects', type=at_least(1), default=12,
                        help='objects per row of the contact sheet')
    parser.add_argument('--threads', type=at_least(1), default=1, help='torch CPU threads')
    parser.add_argument('--resume', action='store_true',
                        help='continue the WAE training and search found in --work-dir')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = SearchSettings(
        seed=args.seed, ops=tuple(args.ops), n_prob=args.n_prob, n_levels=args.n_levels,
        l_max=args.l_max, top_b=args.top_b, beam=args.beam, kinds=tuple(args.kinds),
        n_eval=args.n_eval, n_ref=args.n_ref, min_change=args.min_change,
        edge_weight=args.edge_weight,
        crop_size=args.crop_size, wae_epochs=args.wae_epochs, wae_width=args.wae_width,
        z_dim=args.z_dim, sheet_objects=args.sheet_objects)
    run = run_search(args.ann_file, args.img_dir, args.work_dir, settings, resume=args.resume,
                     progress=not args.no_progress)
    result = run.result
    print(f'evaluated {result.n_evaluated} candidates of a search space of '
          f'{result.search_space_size} in {run.meta["wall_time_s"]:.0f} s (WAE included)')
    for rank, (policy, detail) in enumerate(zip(result.policies, result.details), 1):
        print(f'{rank:3d}  score {detail["score"]:+.3f}  change {detail["change"]:.2f}  '
              f'recon x{detail["recon_ratio"]:.2f}  mmd+ {detail["mmd_excess"]:+.4f}  {policy}')
    print(f'wrote {run.policies_path} and {run.sheet_path}')


if __name__ == '__main__':
    main()
