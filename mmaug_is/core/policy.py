"""Augmentation policies: sequences of (op, probability, level) sub-policies, and their JSON.

A ``Policy`` applies its sub-policies in order; each one fires with its probability. The
random decisions (which sub-policies fire, and each op's sign/position/noise seed) are
drawn by ``Policy.decide(rng)`` into plain data, and ``Policy.replay`` applies them
deterministically, so a synthetic object can be recorded and reproduced exactly.
``decide`` always draws one number per sub-policy (plus the op's own draws when it fires),
so the random stream does not depend on the image (nor on the ``geometry`` mode of the
geometric ops, see ``ops``).

Policy files (``save_policies`` / ``load_policies``) are JSON::

    {"format": "mmaug_is.policies", "version": 1, "n_levels": 10,
     "policies": [{"sub_policies": [{"op": "Rotate", "prob": 0.5, "level": 4}, ...],
                   "score": 0.93}, ...],
     "meta": {...}}
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import atomic_open
from .ops import LEGACY, N_LEVELS, OPS, check_geometry, check_level, check_pair, get_op

POLICY_FORMAT = 'mmaug_is.policies'
POLICY_VERSION = 1


@dataclass(frozen=True)
class SubPolicy:
    """Apply op ``op`` at integer ``level`` (``[0, N_LEVELS)``) with probability ``prob``."""

    op: str
    prob: float
    level: int

    def __post_init__(self):
        if not isinstance(self.op, str) or self.op not in OPS:
            raise ValueError(f'SubPolicy: unknown op {self.op!r}; known ops: {sorted(OPS)}')
        if isinstance(self.prob, (bool, np.bool_)) or not isinstance(
                self.prob, (int, float, np.integer, np.floating)):
            raise TypeError(f'SubPolicy {self.op}: prob must be a number, got {self.prob!r}')
        if not (math.isfinite(self.prob) and 0.0 <= self.prob <= 1.0):
            raise ValueError(f'SubPolicy {self.op}: prob must be in [0, 1], got {self.prob}')
        check_level(self.level, f'SubPolicy {self.op}')
        object.__setattr__(self, 'prob', float(self.prob))
        object.__setattr__(self, 'level', int(self.level))

    def to_dict(self):
        """``{'op': str, 'prob': float, 'level': int}``."""
        return {'op': self.op, 'prob': self.prob, 'level': self.level}

    @classmethod
    def from_dict(cls, data):
        """Inverse of ``to_dict``; raises ``ValueError`` for missing or extra keys."""
        if not isinstance(data, dict) or set(data) != {'op', 'prob', 'level'}:
            raise ValueError(f'a sub-policy must be a dict with keys op, prob, level; got {data!r}')
        return cls(data['op'], data['prob'], data['level'])

    def __str__(self):
        return f'{self.op}(p={self.prob:g},l={self.level})'


@dataclass(frozen=True)
class Policy:
    """An ordered tuple of ``SubPolicy``; the empty policy is the identity."""

    sub_policies: tuple = ()

    def __post_init__(self):
        subs = tuple(self.sub_policies)
        for sub in subs:
            if not isinstance(sub, SubPolicy):
                raise TypeError(f'Policy: expected SubPolicy items, got {sub!r}')
        object.__setattr__(self, 'sub_policies', subs)

    def __len__(self):
        return len(self.sub_policies)

    def __str__(self):
        return ' > '.join(str(s) for s in self.sub_policies) or 'Identity'

    @property
    def key(self):
        """Canonical string identifying the policy (used for caching and seeding)."""
        return str(self)

    def extended(self, sub_policy):
        """A new policy with ``sub_policy`` appended."""
        return Policy(self.sub_policies + (sub_policy,))

    def decide(self, rng):
        """Draw the random decisions: a list of ``(op_name, params)`` for the ops that fire."""
        decisions = []
        for sub in self.sub_policies:
            if rng.random() < sub.prob:
                decisions.append((sub.op, get_op(sub.op).sample(sub.level, rng)))
        return decisions

    @staticmethod
    def replay(image, masks, decisions, geometry=LEGACY):
        """Apply recorded decisions to ``(image, masks)``; returns new arrays. ``geometry``:
        ``'legacy'`` or ``'consistent'`` for the geometric ops (see ``ops``)."""
        check_pair(image, masks, 'Policy')
        check_geometry(geometry, 'Policy')
        image, masks = image.copy(), masks.copy()
        for name, params in decisions:
            image, masks = get_op(name).apply_params(image, masks, params, geometry)
        return image, masks

    def apply(self, image, masks, rng, geometry=LEGACY):
        """``(image (H,W[,C]) uint8/uint16, masks (N,H,W) bool) -> (image, masks)``; the
        draws from ``rng`` are the same for every ``geometry``."""
        return self.replay(image, masks, self.decide(rng), geometry)

    def to_dict(self):
        """``{'sub_policies': [SubPolicy.to_dict(), ...]}``."""
        return {'sub_policies': [s.to_dict() for s in self.sub_policies]}

    @classmethod
    def from_dict(cls, data):
        """Inverse of ``to_dict`` (extra keys such as ``score`` are ignored)."""
        if not isinstance(data, dict) or not isinstance(data.get('sub_policies'), list):
            raise ValueError(f'a policy must be a dict with a list "sub_policies"; got {data!r}')
        return cls(tuple(SubPolicy.from_dict(s) for s in data['sub_policies']))


def save_policies(path, policies, scores=None, meta=None):
    """Write policies (+ optional scores and JSON-able ``meta``) to ``path`` atomically."""
    policies = list(policies)
    if scores is not None:
        scores = [float(s) for s in scores]
        if len(scores) != len(policies):
            raise ValueError(f'{path}: {len(policies)} policies but {len(scores)} scores')
    entries = []
    for i, policy in enumerate(policies):
        if not isinstance(policy, Policy):
            raise TypeError(f'{path}: policy {i} is not a Policy: {policy!r}')
        entry = policy.to_dict()
        if scores is not None:
            entry['score'] = scores[i]
        entries.append(entry)
    doc = {'format': POLICY_FORMAT, 'version': POLICY_VERSION, 'n_levels': N_LEVELS,
           'policies': entries, 'meta': meta or {}}
    text = json.dumps(doc, indent=1, allow_nan=False)
    with atomic_open(path, 'w', encoding='utf-8') as handle:
        handle.write(text + '\n')
    return Path(path)


def read_policy_file(path):
    """Read a policy file: ``{'policies': [Policy], 'scores': [float] | None, 'meta': dict}``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise FileNotFoundError(f'policy file not found: {path}') from None
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: not valid JSON ({err})') from None
    if not isinstance(doc, dict) or doc.get('format') != POLICY_FORMAT:
        raise ValueError(f'{path}: not a mmaug_is policy file (format must be {POLICY_FORMAT!r})')
    if doc.get('version') != POLICY_VERSION:
        raise ValueError(f'{path}: unsupported policy file version {doc.get("version")!r}')
    if doc.get('n_levels') != N_LEVELS:
        raise ValueError(f'{path}: written for {doc.get("n_levels")} levels, '
                         f'this version uses N_LEVELS={N_LEVELS}')
    if not isinstance(doc.get('policies'), list):
        raise ValueError(f'{path}: "policies" must be a list')
    policies, scores = [], []
    for i, entry in enumerate(doc['policies']):
        try:
            policies.append(Policy.from_dict(entry))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f'{path}: policy {i}: {err}') from None
        scores.append(entry.get('score'))
    has_scores = all(s is not None for s in scores) and bool(scores)
    return {'policies': policies, 'scores': scores if has_scores else None,
            'meta': doc.get('meta', {})}


def load_policies(path):
    """Read the list of ``Policy`` from a file written by ``save_policies``."""
    return read_policy_file(path)['policies']
