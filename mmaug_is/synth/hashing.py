"""Stable content keys: the same inputs give the same key on every machine."""
import hashlib
import json
from pathlib import Path


def file_digest(path, chunk_bytes=1 << 20):
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b''):
            digest.update(chunk)
    return digest.hexdigest()


def stable_hash(value, length=16):
    """Hex key of a JSON-able value (dict key order and tuples vs lists don't matter).

    ``Path`` values are replaced by the digest of the file they name, so a cache keyed on
    an annotation file changes when the file's content changes, not when it moves.
    """
    def normalise(item):
        if isinstance(item, Path):
            return {'file_sha256': file_digest(item)}
        if isinstance(item, dict):
            return {str(k): normalise(v) for k, v in sorted(item.items(), key=lambda kv: str(kv[0]))}
        if isinstance(item, (list, tuple)):
            return [normalise(v) for v in item]
        return item

    text = json.dumps(normalise(value), sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()[:length]
