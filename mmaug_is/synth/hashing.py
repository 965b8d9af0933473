"""SHA-256 content keys, the one hash of the package: same inputs, same key on every machine.

``file_digest`` (a file's bytes), ``bytes_digest`` (byte strings / contiguous arrays, fed
in order), ``source_digest`` (a COCO set's content: annotation file and the images it
lists) and ``stable_hash`` (a JSON-able value; the key of every synthetic-data cache).
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


def _listed_images(ann_bytes, ann_file):
    """File names of the images a COCO file lists, in file order, each once."""
    try:
        names = [info['file_name'] for info in json.loads(ann_bytes)['images']]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f'{ann_file}: cannot list the images of this COCO file '
                         f'({err!r})') from None
    return list(dict.fromkeys(names))


def source_digest(ann_file, img_dir):
    """SHA-256 hex digest of a real COCO set's content, the key of what is made from it.

    Args:
        ann_file: COCO json. img_dir: folder of the images its ``file_name``s name.
    Returns the digest of the annotation file's bytes followed by the digest of every
    image it lists (file order, each once; other files in ``img_dir`` do not count).
    Paths and mtimes are not part of it: the same content anywhere gives the same digest,
    and a changed image gives another. Raises ``FileNotFoundError`` naming a missing image.
    """
    ann_bytes = Path(ann_file).read_bytes()
    digests = [bytes_digest(ann_bytes)]
    for name in _listed_images(ann_bytes, ann_file):
        path = Path(img_dir) / name
        if not path.is_file():
            raise FileNotFoundError(f'{ann_file}: image {path} does not exist (check img_dir)')
        digests.append(file_digest(path))
    return bytes_digest(''.join(digests).encode())


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
