"""On-disk cache of feature matrices, keyed by the content of everything they depend on.

A key is the SHA-256 of a canonical JSON description (input file hashes, level, crop and
network settings, ``CACHE_VERSION``), so a changed image, annotation file, weight file or
preprocessing rule gives a new key and never a stale hit. Entries are ``<key>.npz`` files
(``feats`` + a JSON ``meta`` string) written atomically.
"""
import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from mmaug_is.core.io import atomic_open
from mmaug_is.synth.hashing import stable_hash

# Bump when preprocessing or cropping changes in a way the key description does not capture.
CACHE_VERSION = 1

logger = logging.getLogger(__name__)


def cache_key(description):
    """SHA-256 hex key (64 characters) of a JSON-serialisable description and
    ``CACHE_VERSION`` (dict key order does not matter)."""
    return stable_hash(dict(description, cache_version=CACHE_VERSION), length=64)


class FeatureCache:
    """Directory of cached ``(N, D)`` feature arrays."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, key):
        """File that holds (or would hold) the entry ``key``."""
        return self.root / f'{key}.npz'

    def load(self, key):
        """Return the cached float32 ``(N, D)`` array, or ``None`` if absent or unreadable."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                feats = data['feats']
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            logger.warning('ignoring unreadable feature cache entry %s (%s)', path, err)
            return None
        if feats.ndim != 2:
            logger.warning('ignoring feature cache entry %s of shape %s', path, feats.shape)
            return None
        return feats

    def save(self, key, feats, meta):
        """Store ``feats`` (``(N, D)``) with a JSON-serialisable ``meta`` dict; returns the path."""
        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2:
            raise ValueError(f'feature cache: expected a (N, D) array, got shape {feats.shape}')
        path = self.path(key)
        with atomic_open(path, 'wb') as handle:
            np.savez(handle, feats=feats, meta=np.array(json.dumps(meta, sort_keys=True)))
        return path
