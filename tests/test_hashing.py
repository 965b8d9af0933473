"""The package's one hash (SHA-256): digests of bytes and files, and stable cache keys."""
import hashlib

import numpy as np

from mmaug_is.synth.hashing import bytes_digest, file_digest, stable_hash


def test_bytes_digest_is_sha256_of_the_concatenation(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    expected = hashlib.sha256(b'shape' + array.tobytes()).hexdigest()
    assert bytes_digest(b'shape', array) == expected == bytes_digest(b'shape' + array.tobytes())
    assert bytes_digest() == hashlib.sha256().hexdigest()
    path = tmp_path / 'data.bin'
    path.write_bytes(b'abc' * 1000)
    assert file_digest(path, chunk_bytes=7) == bytes_digest(b'abc' * 1000)


def test_stable_hash_keys_of_synthetic_caches_do_not_change(tmp_path):
    """These keys name existing synthetic caches: the value below must never change."""
    source = tmp_path / 'abc.txt'
    source.write_bytes(b'abc')
    value = {'name': 'iaaa', 'seed': 3, 'policies': [('Rotate', 1.0, 4)], 'source': source,
             'b': {'y': 1, 'x': 2.5}}
    assert stable_hash(value) == '0a7a344c11336f3c'
    reordered = {'b': {'x': 2.5, 'y': 1}, 'source': source, 'policies': [['Rotate', 1.0, 4]],
                 'seed': 3, 'name': 'iaaa'}
    assert stable_hash(reordered, length=64) == (
        '0a7a344c11336f3c11d26fb5db34df23dcbe63e9d35f4a0c6a769f5ef898538b')
    source.write_bytes(b'abd')  # the file's content, not its name, is part of the key
    assert stable_hash(value) != '0a7a344c11336f3c'
