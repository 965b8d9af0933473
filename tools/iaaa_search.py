"""Search IAAA augmentation policies on a COCO instance dataset (paper 2.1).

Steps: extract the SCOs/MCOs of the dataset; hold out an evaluation sample and a real
reference set; train (or resume) the WAE on the remaining objects; run Greedy AutoAugment;
write ``policies.json`` (top-b policies with scores) and ``policies_contact_sheet.png``
(real objects in the first row, the same objects under each top policy below, instance
outlines drawn).

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
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmaug_is.core.io import write_image  # noqa: E402
from mmaug_is.core.objects import ObjectBank  # noqa: E402
from mmaug_is.core.ops import DEFAULT_SEARCH_OPS, OPS  # noqa: E402
from mmaug_is.core.policy import save_policies  # noqa: E402
from mmaug_is.iaaa.scoring import PolicyScorer, ScoreConfig, split_objects  # noqa: E402
from mmaug_is.iaaa.search import (SearchConfig, applicable_ops, candidate_rng,  # noqa: E402
                                  greedy_search)
from mmaug_is.iaaa.wae import (WAEConfig, infer_channels, objects_to_array,  # noqa: E402
                               train_wae)
from mmaug_is.synth.contact_sheet import draw_overlay  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ann-file', required=True, help='COCO instances json')
    parser.add_argument('--img-dir', required=True, help='folder of the images')
    parser.add_argument('--work-dir', required=True, help='output / resume folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--ops', nargs='+', default=list(DEFAULT_SEARCH_OPS),
                        choices=sorted(OPS), metavar='OP', help='ops to search (n_o)')
    parser.add_argument('--n-prob', type=int, default=2, help='probabilities per op (n_p)')
    parser.add_argument('--n-levels', type=int, default=3, help='levels per op (n_m)')
    parser.add_argument('--l-max', type=int, default=2, help='sub-policies per policy')
    parser.add_argument('--top-b', type=int, default=10, help='policies written')
    parser.add_argument('--beam', type=int, default=None,
                        help='keep only this many policies per stage (default: all)')
    parser.add_argument('--kinds', nargs='+', default=['sco', 'mco'], choices=['sco', 'mco'],
                        help='object kinds used for the WAE and the search')
    parser.add_argument('--n-eval', type=int, default=64,
                        help='held-out objects every candidate is applied to')
    parser.add_argument('--n-ref', type=int, default=200, help='held-out real reference objects')
    parser.add_argument('--min-change', type=float, default=ScoreConfig.min_change,
                        help='required change in typical real nearest-neighbour gaps')
    parser.add_argument('--crop-size', type=int, default=64)
    parser.add_argument('--wae-epochs', type=int, default=30)
    parser.add_argument('--wae-width', type=int, default=WAEConfig.width)
    parser.add_argument('--z-dim', type=int, default=WAEConfig.z_dim)
    parser.add_argument('--sheet-objects', type=int, default=12,
                        help='objects per row of the contact sheet')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--resume', action='store_true',
                        help='continue the WAE training and search found in --work-dir')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def _tile(image, masks, size):
    """Object scaled to fit a ``size`` square (nearest when enlarging), outlines drawn."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA
    img = cv2.resize(image, (nw, nh), interpolation=interp).reshape((nh, nw) + image.shape[2:])
    msk = np.stack([cv2.resize(m.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST)
                    for m in masks]).astype(bool) if len(masks) else np.zeros((0, nh, nw), bool)
    cell = np.zeros((size, size, 3), np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    cell[top:top + nh, left:left + nw] = draw_overlay(img, msk, alpha=0.0)
    return cell


def write_policy_sheet(path, objects, policies, scores, seed, tile=72, label_width=330, gap=3):
    """Contact sheet: row 0 the real objects, row k+1 the same objects under policy k."""
    rows = [('real objects', [(o.image, o.masks) for o in objects])]
    for k, (policy, score) in enumerate(zip(policies, scores)):
        rng = candidate_rng(seed, f'contact-sheet|{policy.key}')
        rows.append((f'#{k + 1} {score:.3f} {policy}',
                     [policy.apply(o.image, o.masks, rng) for o in objects]))
    width = label_width + len(objects) * (tile + gap) + gap
    sheet = np.full((len(rows) * (tile + gap) + gap, width, 3), 255, np.uint8)
    for r, (label, items) in enumerate(rows):
        y = gap + r * (tile + gap)
        for line, text in enumerate(_wrap(label, 52)[:4]):
            cv2.putText(sheet, text, (4, y + 14 + 14 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.36,
                        (0, 0, 0), 1, cv2.LINE_AA)
        for c, (image, masks) in enumerate(items):
            x = label_width + gap + c * (tile + gap)
            sheet[y:y + tile, x:x + tile] = _tile(image, masks, tile)
    write_image(path, sheet)
    return path


def _wrap(text, width):
    """Split ``text`` at ' > ' separators into lines of about ``width`` characters."""
    lines, current = [], ''
    for part in text.split(' > '):
        candidate = f'{current} > {part}' if current else part
        if current and len(candidate) > width:
            lines.append(current + ' >')
            current = part
        else:
            current = candidate
    return lines + [current]


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    progress = not args.no_progress

    bank = ObjectBank.from_coco(args.ann_file, args.img_dir, progress=progress)
    objects = (bank.scos if 'sco' in args.kinds else []) + (
        bank.mcos if 'mco' in args.kinds else [])
    if len(objects) < 12:
        raise SystemExit(f'{args.ann_file}: only {len(objects)} objects of kinds {args.kinds}; '
                         'the search needs at least 12')
    n_ref = min(args.n_ref, len(objects) // 4)
    n_eval = min(args.n_eval, len(objects) // 4)
    train, eval_sample, ref = split_objects(objects, n_eval, n_ref, args.seed)
    channels = infer_channels(objects)
    print(f'{bank}: {len(train)} WAE training, {len(eval_sample)} evaluation, {len(ref)} '
          f'reference objects; {channels} channel(s)')

    wae_config = WAEConfig(in_channels=channels, crop_size=args.crop_size, z_dim=args.z_dim,
                           width=args.wae_width, epochs=args.wae_epochs)
    crops = objects_to_array(train, args.crop_size, channels)
    trained = train_wae(crops, wae_config, seed=args.seed, checkpoint=work_dir / 'wae.pth',
                        resume=args.resume, progress=progress)
    t_wae = time.perf_counter() - start
    last = trained.history[-1] if trained.history else {}
    print(f'WAE: {len(trained.history)} epochs, last {json.dumps(last)} ({t_wae:.0f} s so far)')

    ops = applicable_ops(args.ops, channels)
    if len(ops) < len(args.ops):
        print(f'left out of the search (identity on {channels}-channel objects): '
              f'{sorted(set(args.ops) - set(ops))}')
    scorer = PolicyScorer(trained.model, eval_sample, ref, ScoreConfig(min_change=args.min_change))
    search_config = SearchConfig(ops=ops, n_prob=args.n_prob,
                                 n_levels=args.n_levels, l_max=args.l_max, top_b=args.top_b,
                                 seed=args.seed, beam=args.beam)
    result = greedy_search(scorer, search_config, work_dir=work_dir, resume=args.resume,
                           progress=progress)
    elapsed = time.perf_counter() - start

    meta = {
        'ann_file': str(args.ann_file), 'img_dir': str(args.img_dir), 'seed': args.seed,
        'search': {k: v for k, v in vars(search_config).items()},
        'score': vars(scorer.config), 'wae': vars(wae_config),
        'objects': {'train': len(train), 'eval': len(eval_sample), 'ref': len(ref),
                    'kinds': args.kinds},
        'details': result.details, 'n_evaluated': result.n_evaluated,
        'search_space_size': result.search_space_size, 'wall_time_s': round(elapsed, 1),
    }
    policy_path = save_policies(work_dir / 'policies.json', result.policies, result.scores, meta)
    sheet_path = write_policy_sheet(work_dir / 'policies_contact_sheet.png',
                                    eval_sample[:args.sheet_objects], result.policies,
                                    result.scores, args.seed)
    print(f'evaluated {result.n_evaluated} candidates of a search space of '
          f'{result.search_space_size} in {elapsed:.0f} s (WAE included)')
    for rank, (policy, detail) in enumerate(zip(result.policies, result.details), 1):
        print(f'{rank:3d}  score {detail["score"]:+.3f}  change {detail["change"]:.2f}  '
              f'recon x{detail["recon_ratio"]:.2f}  mmd+ {detail["mmd_excess"]:+.4f}  {policy}')
    print(f'wrote {policy_path} and {sheet_path}')


if __name__ == '__main__':
    main()
