"""Content-addressed caches: the real set's content, not its paths, keys assets and caches."""
import hashlib
import json
import shutil

import pytest

from mmaug_is.core import read_image, write_image
from mmaug_is.datasets import CopyPasteDataset, IAAADataset
from mmaug_is.synth import RealAssets, source_digest


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _copy_source(sample_root, folder):
    """``(ann_file, img_dir)``: a copy of data/sample_fluo train in ``folder`` (new mtimes)."""
    shutil.copytree(sample_root / 'images', folder / 'images', copy_function=shutil.copy)
    shutil.copy(sample_root / 'annotations' / 'train.json', folder / 'train.json')
    return folder / 'train.json', folder / 'images'


def _invert_first_image(ann_file, img_dir):
    name = json.loads(ann_file.read_text())['images'][0]['file_name']
    write_image(img_dir / name, 255 - read_image(img_dir / name))


def _keys(source, cache_root):
    """Assets folder name and the cache keys of an IAAA and a copy-paste dataset."""
    ann_file, img_dir = source
    datasets = [cls(source=dict(ann_file=str(ann_file), img_dir=str(img_dir)), num_samples=2,
                    cache_root=str(cache_root), lazy_init=True, **extra)
                for cls, extra in ((IAAADataset, dict(policies=[])), (CopyPasteDataset, {}))]
    return [RealAssets.folder_for(ann_file, img_dir, cache_root).name] + [
        d.cache_key() for d in datasets]


def test_digest_is_the_annotation_file_then_each_listed_image(sample_root):
    ann_file, img_dir = sample_root / 'annotations' / 'train.json', sample_root / 'images'
    names = dict.fromkeys(i['file_name'] for i in json.loads(ann_file.read_text())['images'])
    parts = [_sha(ann_file.read_bytes())] + [_sha((img_dir / n).read_bytes()) for n in names]
    assert source_digest(ann_file, img_dir) == _sha(''.join(parts).encode())


def test_same_content_anywhere_same_digest_changed_image_new_digest(sample_root, tmp_path):
    original = source_digest(sample_root / 'annotations' / 'train.json', sample_root / 'images')
    first = _copy_source(sample_root, tmp_path / 'a')
    second = _copy_source(sample_root, tmp_path / 'b' / 'deeper')
    (first[1] / 'unlisted.png').write_bytes(b'not listed by train.json')
    assert source_digest(*first) == source_digest(*second) == original
    _invert_first_image(*second)
    assert source_digest(*second) != original


def test_assets_and_synthetic_cache_keys_follow_the_images(sample_root, tmp_path):
    first = _copy_source(sample_root, tmp_path / 'a')
    second = _copy_source(sample_root, tmp_path / 'b')
    assert _keys(first, tmp_path / 'cache') == _keys(second, tmp_path / 'cache')
    _invert_first_image(*second)
    changed = zip(_keys(first, tmp_path / 'cache'), _keys(second, tmp_path / 'cache'))
    assert all(a != b for a, b in changed)


def test_a_missing_listed_image_is_named(sample_root, tmp_path):
    ann_file, img_dir = _copy_source(sample_root, tmp_path)
    name = json.loads(ann_file.read_text())['images'][3]['file_name']
    (img_dir / name).unlink()
    with pytest.raises(FileNotFoundError, match=f'train.json: image .*{name} does not exist'):
        source_digest(ann_file, img_dir)
