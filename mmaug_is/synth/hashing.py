"""SHA-256 content keys, the one hash of the package: same inputs, same key on every machine.

``file_digest`` (a file's bytes), ``bytes_digest`` (byte strings / contiguous arrays, fed
in order) and ``stable_hash`` (a JSON-able value; the key of every synthetic-data cache).
"""
import hashlib
import json
from pathlib import Path


def file_digest(path, chunk_bytes=1 << 20):
    """SHA-256 hex digest (64 characters) of a file's bytes, read ``chunk_bytes`` at a time."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b''):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_digest(*chunks):
    """SHA-256 hex digest (64 characters) of ``chunks`` concatenated.

    Each chunk is ``bytes`` or any C-contiguous buffer (e.g. a numpy array, hashed as its
    raw bytes without a copy). ``bytes_digest(a, b) == bytes_digest(a + b)``.
    """
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def stable_hash(value, length=16):
    """First ``length`` hex characters of the SHA-256 of a JSON-able value.

    Dict key order and tuples vs lists don't matter. ``Path`` values are replaced by the
    digest of the file they name, so a cache keyed on an annotation file changes when the
    file's content changes, not when it moves.
    """
    def normalise(item):
        if isinstance(item, Path):
            return {'file_sha256': file_digest(item)}
        if isinstance(item, dict):
            return {str(k): normalise(v)
                    for k, v in sorted(item.items(), key=lambda kv: str(kv[0]))}
        if isinstance(item, (list, tuple)):
            return [normalise(v) for v in item]
        return item

    text = json.dumps(normalise(value), sort_keys=True, separators=(',', ':'))
    return bytes_digest(text.encode())[:length]
