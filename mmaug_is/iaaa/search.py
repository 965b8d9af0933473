"""Greedy AutoAugment (Naghizadeh et al. 2020; paper 2.1) over IAAA augmentation ops.

Search space: a policy is a sequence of ``f`` sub-policies, each an op out of ``n_o``, a
probability out of ``n_p`` and a level out of ``n_m``, so ``n_s = (n_o n_p n_m)^f`` (eq. 1;
``f`` is the number of sub-policies per policy, ``l_max`` at the last stage).

Greedy search (as in the paper):

* stage ``l = 1``: for every op, evaluate all (probability, level) pairs and keep the best
  one-sub-policy policy of that op (``n_o`` kept policies);
* stage ``l = 2..l_max``: extend every kept policy by one more sub-policy, trying every
  op not yet in it with every (probability, level), and keep the best extension of each
  kept policy;
* finally all kept policies of all stages are sorted by score and the top ``b`` returned.

That costs ``n_o n_p n_m + sum_{l=2}^{l_max} n_o (n_o - l + 1) n_p n_m`` evaluations
instead of ``n_s``. Ops without a magnitude (flips, Invert, Identity) are tried at level 0
only. ``beam`` optionally keeps only the best ``beam`` policies per stage.

Grids: probabilities ``(1/n_p, 2/n_p, ..., 1)``; levels evenly spaced from the top,
``round(N_LEVELS - 1 - k * (N_LEVELS - 1) / n_m)`` for ``k < n_m`` (level 0 is the no-op
of most ops and is left out unless ``n_m == N_LEVELS``). Explicit ``probs``/``levels``
override the grids.

Determinism and resuming: each candidate is scored on the scorer's fixed object sample
with ``rng = default_rng(SeedSequence([seed, *sha256(policy key)]))``, so its score does not
depend on evaluation order. Every score is appended to ``<work_dir>/candidates.jsonl`` as
soon as it is computed (a torn last line from a crash is ignored), and
``<work_dir>/search_state.json`` (settings, scorer fingerprint, finished stages) is
rewritten atomically after every group of candidates. ``resume=True`` reuses the cached
scores when settings and fingerprint match, giving the same result as an uninterrupted run.
"""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mmaug_is.core.io import atomic_open
from mmaug_is.core.ops import DEFAULT_SEARCH_OPS, N_LEVELS, get_op
from mmaug_is.core.policy import Policy, SubPolicy
from mmaug_is.synth.hashing import bytes_digest

STATE_FILE = 'search_state.json'
CACHE_FILE = 'candidates.jsonl'
STATE_FORMAT = 'mmaug_is.greedy_search/1'
# Ops whose level 0 (magnitude at the low end) still changes the image.
_ACTIVE_AT_LEVEL_0 = {'AutoContrast', 'Equalize'}


def search_space_size(n_o, n_p, n_m, f):
    """Eq. 1: ``(n_o * n_p * n_m) ** f`` policies of ``f`` sub-policies."""
    return (n_o * n_p * n_m) ** f


def greedy_candidate_count(n_o, n_p, n_m, l_max):
    """Evaluations of the greedy search when every op has a magnitude (an upper bound)."""
    total = n_o * n_p * n_m
    for stage in range(2, l_max + 1):
        total += n_o * max(0, n_o - stage + 1) * n_p * n_m
    return total


def applicable_ops(ops, channels):
    """``ops`` without those that are the identity on ``channels``-channel objects
    (``Color`` on grey data); keeps the order. Raises ``ValueError`` if none is left."""
    kept = tuple(op for op in ops if not (channels == 1 and op == 'Color'))
    if not kept:
        raise ValueError(f'none of the ops {tuple(ops)} changes {channels}-channel objects')
    return kept


def probability_grid(n_p):
    """``(1/n_p, ..., 1)``: probability 0 would be the identity."""
    if n_p < 1:
        raise ValueError(f'n_p must be >= 1, got {n_p}')
    return tuple((k + 1) / n_p for k in range(n_p))


def level_grid(n_m):
    """``n_m`` levels evenly spaced down from ``N_LEVELS - 1`` (all if ``n_m == N_LEVELS``)."""
    if not 1 <= n_m <= N_LEVELS:
        raise ValueError(f'n_m must be in [1, {N_LEVELS}], got {n_m}')
    if n_m == N_LEVELS:
        return tuple(range(N_LEVELS))
    top = N_LEVELS - 1
    return tuple(sorted(int(round(top - k * top / n_m)) for k in range(n_m)))


@dataclass(frozen=True)
class SearchConfig:
    """Settings of ``greedy_search``.

    Attributes:
        ops: op names (``n_o``). n_prob, n_levels: grid sizes ``n_p``, ``n_m``.
        l_max: maximum sub-policies per policy. top_b: policies returned.
        seed: seeds every candidate's random decisions.
        probs, levels: explicit grids overriding ``n_prob``/``n_levels``.
        beam: keep only the best ``beam`` policies per stage (None: all, as the paper).
    """

    ops: tuple = DEFAULT_SEARCH_OPS
    n_prob: int = 3
    n_levels: int = 3
    l_max: int = 2
    top_b: int = 10
    seed: int = 0
    probs: tuple = None
    levels: tuple = None
    beam: int = None

    def __post_init__(self):
        object.__setattr__(self, 'ops', tuple(self.ops))
        if not self.ops or len(set(self.ops)) != len(self.ops):
            raise ValueError(f'SearchConfig.ops must be non-empty and unique, got {self.ops}')
        for name in self.ops:
            get_op(name)
        if self.l_max < 1 or self.top_b < 1:
            raise ValueError('SearchConfig.l_max and top_b must be >= 1')
        if self.beam is not None and self.beam < 1:
            raise ValueError(f'SearchConfig.beam must be >= 1 or None, got {self.beam}')
        probs = self.probs if self.probs is not None else probability_grid(self.n_prob)
        levels = self.levels if self.levels is not None else level_grid(self.n_levels)
        object.__setattr__(self, 'probs', tuple(float(p) for p in probs))
        object.__setattr__(self, 'levels', tuple(int(v) for v in levels))
        for p in self.probs:
            SubPolicy(self.ops[0], p, 0)  # validates the probability
        for v in self.levels:
            SubPolicy(self.ops[0], 1.0, v)  # validates the level

    def sub_policies(self, op):
        """The (probability, level) grid of one op."""
        levels = self.levels if get_op(op).has_magnitude else (0,)
        return [SubPolicy(op, p, v) for p in self.probs for v in levels]


@dataclass
class SearchResult:
    """Top-``b`` policies (best first) with their scores and the search bookkeeping."""

    policies: list
    scores: list
    details: list
    stages: list = field(default_factory=list)
    n_evaluated: int = 0
    search_space_size: int = 0


def candidate_rng(seed, key):
    """Generator for one candidate, derived from ``(seed, policy key)`` only.

    Seeded by ``seed`` and the eight little-endian uint32 words of SHA-256(key): these
    numbers must never change (they fix every candidate's score and the contact sheet).
    """
    words = np.frombuffer(bytes.fromhex(bytes_digest(key.encode())), dtype='<u4')
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, words)]))


class _Cache:
    """Scores by policy key, persisted as an append-only JSON-lines file."""

    def __init__(self, path):
        self.path = path
        self.scores = {}
        if path is not None and path.is_file():
            with open(path, encoding='utf-8') as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                        self.scores[entry['key']] = entry['score']
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue  # a torn last line after a crash

    def get(self, key):
        return self.scores.get(key)

    def put(self, key, score):
        self.scores[key] = score
        if self.path is not None:
            with open(self.path, 'a', encoding='utf-8') as handle:
                handle.write(json.dumps({'key': key, 'score': score}) + '\n')


def _settings(config, fingerprint):
    """JSON-normalised settings (tuples become lists) to compare with a saved state."""
    return json.loads(json.dumps({'config': asdict(config), 'scorer': fingerprint}))


def greedy_search(scorer, config=SearchConfig(), work_dir=None, resume=False, progress=True):
    """Run Greedy AutoAugment with ``scorer`` (``PolicyScorer``-like: ``score(policy, rng)``
    returning an object with ``.score`` and ``.to_dict()``, and a ``fingerprint`` string).

    Args:
        work_dir: folder for ``search_state.json`` and ``candidates.jsonl`` (None: in memory).
        resume: reuse a previous run's scores in ``work_dir``; raises ``ValueError`` if its
            settings or scorer differ. Without ``resume`` an existing state is replaced.
    Returns ``SearchResult``.
    """
    settings = _settings(config, getattr(scorer, 'fingerprint', ''))
    state_path = cache_path = None
    if work_dir is not None:
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        state_path, cache_path = work_dir / STATE_FILE, work_dir / CACHE_FILE
        if resume and state_path.is_file():
            old = json.loads(state_path.read_text(encoding='utf-8'))
            if old.get('format') != STATE_FORMAT or old.get('settings') != settings:
                raise ValueError(f'{state_path}: the saved search used other settings or another '
                                 'WAE/object sample; use a new work dir or resume=False')
        elif cache_path.is_file():
            cache_path.unlink()
    cache = _Cache(cache_path)
    stages = []

    def save_state(done):
        if state_path is None:
            return
        doc = {'format': STATE_FORMAT, 'settings': settings, 'done': done,
               'n_evaluated': len(cache.scores),
               'stages': [[{'policy': p.to_dict(), 'score': s['score']} for p, s in st]
                          for st in stages]}
        with atomic_open(state_path, 'w', encoding='utf-8') as handle:
            json.dump(doc, handle, indent=1)

    def evaluate(policy):
        key = policy.key
        cached = cache.get(key)
        if cached is None:
            cached = scorer.score(policy, candidate_rng(config.seed, key)).to_dict()
            cache.put(key, cached)
        return cached

    def best_of(candidates, bar):
        best = None
        for policy in candidates:
            result = evaluate(policy)
            bar.update(1)
            if best is None or result['score'] > best[1]['score']:
                best = (policy, result)
        return best

    save_state(False)
    kept = []
    for stage in range(1, config.l_max + 1):
        if stage == 1:  # one group per op: the best (probability, level) of every op
            groups = [[Policy((sub,)) for sub in config.sub_policies(op)] for op in config.ops]
        else:  # one group per kept policy: its best extension by an op it does not hold
            groups = [[parent.extended(sub) for op in config.ops
                       if op not in {s.op for s in parent.sub_policies}
                       for sub in config.sub_policies(op)] for parent in kept]
            groups = [g for g in groups if g]
        if not groups:
            break
        found = []
        with tqdm(total=sum(map(len, groups)), desc=f'greedy stage {stage}/{config.l_max}',
                  disable=not progress) as bar:
            for group in groups:
                found.append(best_of(group, bar))
                save_state(False)
        found.sort(key=lambda item: (-item[1]['score'], item[0].key))
        if config.beam is not None:
            found = found[:config.beam]
        stages.append(found)
        kept = [policy for policy, _ in found]
        save_state(False)
    save_state(True)

    pool = {}
    for found in stages:
        for policy, result in found:
            pool[policy.key] = (policy, result)
    ranked = sorted(pool.values(), key=lambda item: (-item[1]['score'], item[0].key))
    top = ranked[:config.top_b]
    n_o = len(config.ops)
    return SearchResult(
        policies=[p for p, _ in top], scores=[r['score'] for _, r in top],
        details=[r for _, r in top],
        stages=[[(p, r['score']) for p, r in st] for st in stages],
        n_evaluated=len(cache.scores),
        search_space_size=search_space_size(n_o, len(config.probs), len(config.levels),
                                            config.l_max))


def is_identity(policy):
    """True if ``policy`` can never change an object: every sub-policy has probability 0,
    is ``Identity``, or is an op at a level whose magnitude is 0 (e.g. Rotate level 0)."""
    for sub in policy.sub_policies:
        if sub.prob == 0 or sub.op == 'Identity':
            continue
        op = get_op(sub.op)
        if (op.has_magnitude and op.magnitude(sub.level) == 0
                and sub.op not in _ACTIVE_AT_LEVEL_0):
            continue
        return False
    return True
