"""The IAAA policy search end to end (paper 2.1), as ``tools/iaaa_search.py`` runs it.

``run_search``: extract the SCOs/MCOs of a COCO dataset; hold out an evaluation sample and
a real reference set (``scoring.split_objects``); train (or resume) the WAE on the other
objects; run Greedy AutoAugment; write ``policies.json`` (top-b policies, scores and the
run's metadata) and ``policies_contact_sheet.png`` (``write_policy_sheet``).

Work dir contents: ``wae.pth`` (checkpoint, resumable), ``search_state.json`` and
``candidates.jsonl`` (resumable search), ``policies.json``, ``policies_contact_sheet.png``.
"""
import json
import time
from dataclasses import dataclass
from pathlib import Path

from mmaug_is.core.objects import ObjectBank
from mmaug_is.core.ops import DEFAULT_SEARCH_OPS
from mmaug_is.core.policy import save_policies
from mmaug_is.synth.contact_sheet import Tile, save_sheet

from .scoring import PolicyScorer, ScoreConfig, split_objects
from .search import SearchConfig, applicable_ops, candidate_rng, greedy_search
from .wae import WAEConfig, infer_channels, objects_to_array, train_wae

POLICIES_FILE = 'policies.json'
SHEET_FILE = 'policies_contact_sheet.png'
WAE_FILE = 'wae.pth'
MIN_OBJECTS = 12


@dataclass(frozen=True)
class SearchSettings:
    """Everything ``run_search`` can be told besides the data and the work dir.

    Attributes:
        seed: seeds the object split, the WAE and every candidate's random decisions.
        ops: op names searched (``n_o``). n_prob, n_levels: grid sizes (``n_p``, ``n_m``).
        l_max: sub-policies per policy. top_b: policies written. beam: policies kept per
            stage (None: all). kinds: object kinds used ('sco', 'mco').
        n_eval, n_ref: held-out evaluation / reference objects (each capped at a quarter
            of the objects). min_change, edge_weight: ``ScoreConfig``'s.
        crop_size: WAE input side in px. wae_epochs, wae_width, z_dim: WAE settings.
        sheet_objects: objects per row of the contact sheet.
    """

    seed: int = 0
    ops: tuple = DEFAULT_SEARCH_OPS
    n_prob: int = 2
    n_levels: int = 3
    l_max: int = 2
    top_b: int = 10
    beam: int = None
    kinds: tuple = ('sco', 'mco')
    n_eval: int = 64
    n_ref: int = 200
    min_change: float = ScoreConfig.min_change
    edge_weight: float = ScoreConfig.edge_weight
    crop_size: int = 64
    wae_epochs: int = 30
    wae_width: int = WAEConfig.width
    z_dim: int = WAEConfig.z_dim
    sheet_objects: int = 12


@dataclass
class SearchRun:
    """What ``run_search`` produced: the ``search.SearchResult``, the two files written and
    the metadata stored in ``policies.json`` (``wall_time_s``: seconds up to the end of the
    search)."""

    result: object
    policies_path: Path
    sheet_path: Path
    meta: dict


def run_search(ann_file, img_dir, work_dir, settings=SearchSettings(), resume=False,
               progress=True, log=print):
    """Search IAAA policies on a COCO instance dataset and write the work dir's files.

    Args:
        ann_file, img_dir: the COCO annotation file and its image folder.
        work_dir: output folder (created); also where ``resume`` looks.
        settings: ``SearchSettings``.
        resume: continue the WAE training and the search found in ``work_dir``.
        progress: show tqdm bars. log: called with each progress line (text).
    Returns ``SearchRun``.
    Raises ``ValueError`` naming ``ann_file`` when it has fewer than 12 objects of the
    chosen kinds, and for a ``work_dir`` that holds another run when resuming.
    """
    opts = settings
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    bank = ObjectBank.from_coco(ann_file, img_dir, progress=progress)
    objects = ((bank.scos if 'sco' in opts.kinds else [])
               + (bank.mcos if 'mco' in opts.kinds else []))
    if len(objects) < MIN_OBJECTS:
        raise ValueError(f'{ann_file}: only {len(objects)} objects of kinds '
                         f'{list(opts.kinds)}; the search needs at least {MIN_OBJECTS}')
    train, eval_sample, ref = split_objects(objects, min(opts.n_eval, len(objects) // 4),
                                            min(opts.n_ref, len(objects) // 4), opts.seed)
    channels = infer_channels(objects)
    log(f'{bank}: {len(train)} WAE training, {len(eval_sample)} evaluation, {len(ref)} '
        f'reference objects; {channels} channel(s)')

    wae_config = WAEConfig(in_channels=channels, crop_size=opts.crop_size, z_dim=opts.z_dim,
                           width=opts.wae_width, epochs=opts.wae_epochs)
    trained = train_wae(objects_to_array(train, opts.crop_size, channels), wae_config,
                        seed=opts.seed, checkpoint=work_dir / WAE_FILE, resume=resume,
                        progress=progress)
    last = trained.history[-1] if trained.history else {}
    log(f'WAE: {len(trained.history)} epochs, last {json.dumps(last)} '
        f'({time.perf_counter() - start:.0f} s so far)')

    ops = applicable_ops(opts.ops, channels)
    if len(ops) < len(opts.ops):
        log(f'left out of the search (identity on {channels}-channel objects): '
            f'{sorted(set(opts.ops) - set(ops))}')
    scorer = PolicyScorer(trained.model, eval_sample, ref,
                          ScoreConfig(min_change=opts.min_change,
                                      edge_weight=opts.edge_weight))
    search_config = SearchConfig(ops=ops, n_prob=opts.n_prob, n_levels=opts.n_levels,
                                 l_max=opts.l_max, top_b=opts.top_b, seed=opts.seed,
                                 beam=opts.beam)
    result = greedy_search(scorer, search_config, work_dir=work_dir, resume=resume,
                           progress=progress)
    meta = {
        'ann_file': str(ann_file), 'img_dir': str(img_dir), 'seed': opts.seed,
        'search': dict(vars(search_config)), 'score': vars(scorer.config),
        'wae': vars(wae_config),
        'objects': {'train': len(train), 'eval': len(eval_sample), 'ref': len(ref),
                    'kinds': list(opts.kinds)},
        'details': result.details, 'n_evaluated': result.n_evaluated,
        'search_space_size': result.search_space_size,
        'wall_time_s': round(time.perf_counter() - start, 1),
    }
    policies_path = save_policies(work_dir / POLICIES_FILE, result.policies, result.scores,
                                  meta)
    sheet_path = write_policy_sheet(work_dir / SHEET_FILE, eval_sample[:opts.sheet_objects],
                                    result.policies, result.scores, opts.seed)
    return SearchRun(result, Path(policies_path), sheet_path, meta)


def write_policy_sheet(path, objects, policies, scores, seed, tile=72):
    """Contact sheet: row 0 the real ``objects``, row k+1 the same objects under policy k
    (its rank, score and sub-policies as the label); instance outlines drawn.

    Each policy's random decisions come from ``candidate_rng(seed, 'contact-sheet|<key>')``,
    so the sheet is reproducible. Returns the path.
    """
    rows = [('real objects', [Tile(o.image, o.masks) for o in objects])]
    for k, (policy, score) in enumerate(zip(policies, scores)):
        rng = candidate_rng(seed, f'contact-sheet|{policy.key}')
        label = '\n'.join(_wrap(f'#{k + 1} {score:.3f} {policy}', 52)[:4])
        rows.append((label, [Tile(*policy.apply(o.image, o.masks, rng)) for o in objects]))
    return save_sheet(path, rows, tile=tile, gap=3)


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
