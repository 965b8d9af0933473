"""Issue 13: valid but unusual inputs work, bad inputs fail early with messages that name
the argument or the file (all on the bundled real sample data/sample_fluo)."""
import importlib.util
import json
import re
import shutil
from pathlib import Path

import cv2
import mmcv
import numpy as np
import pytest
import torch
from PIL import Image

from mmaug_is.core import AnnotationError, ObjectBank
from mmaug_is.core.io import read_image
from mmaug_is.datasets import IAAADataset
from mmaug_is.iaaa.generator import IAAASettings
from mmaug_is.saaa.mask_data import build_sco_dataset
from mmaug_is.synth import coco_cache, ensure_coco_cache
from mmaug_is.synth.coco_cache import ANNOTATIONS_FILE, CONTACT_SHEET_FILE
from mmaug_is.utils.checkpoint_io import load_checkpoint, read_torch_file

REPO_ROOT = Path(__file__).resolve().parents[1]


def _coco(sample_root):
    return json.loads((sample_root / 'annotations' / 'train.json').read_text())


def _source(ann_file, img_dir):
    return dict(ann_file=str(ann_file), img_dir=str(img_dir))


def _write_source(tmp_path, coco, name='train.json'):
    path = tmp_path / name
    path.write_text(json.dumps(coco))
    return path


def _iaaa(source, cache_root, **kwargs):
    return IAAADataset(source=source, policies=[], num_samples=kwargs.pop('num_samples', 6),
                       cache_root=str(cache_root), pipeline=[dict(type='LoadImageFromFile')],
                       **kwargs)


@pytest.fixture
def sparse_source(sample_root, tmp_path):
    """The sample with annotations on its first image only (the others have none)."""
    coco = _coco(sample_root)
    first = coco['images'][0]['id']
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] == first]
    return _source(_write_source(tmp_path, coco), sample_root / 'images')


def _one_cache(root):
    (folder, ) = root.glob('iaaa-*')
    return folder


# --- 1. 0-cell synthetic images; the cache marker comes last --------------------------
def test_zero_cell_images_are_cached_and_drawn(sparse_source, tmp_path):
    dataset = _iaaa(sparse_source, tmp_path / 'cache')
    folder = _one_cache(tmp_path / 'cache')
    coco = json.loads((folder / ANNOTATIONS_FILE).read_text())
    counts = [sum(a['image_id'] == i['id'] for a in coco['annotations']) for i in coco['images']]
    assert len(dataset) == 6 and 0 in counts
    sheet = read_image(folder / CONTACT_SHEET_FILE)
    assert sheet.ndim == 3 and sheet.shape[0] > 256


def test_marker_is_written_only_after_the_contact_sheet(sparse_source, tmp_path, monkeypatch):
    dataset = _iaaa(sparse_source, tmp_path / 'gen', num_samples=2)
    generator, categories = dataset.generator, dataset.categories
    folder = tmp_path / 'iaaa-test'

    def broken_sheet(path, items):
        raise RuntimeError('sheet failed')

    monkeypatch.setattr(coco_cache, 'write_contact_sheet', broken_sheet)
    with pytest.raises(RuntimeError, match='sheet failed'):
        ensure_coco_cache(folder, 2, lambda i: generator.generate(0, i), categories,
                          progress=False)
    assert not (folder / ANNOTATIONS_FILE).exists()  # the cache does not claim completeness
    monkeypatch.undo()
    ensure_coco_cache(folder, 2, lambda i: generator.generate(0, i), categories, progress=False)
    assert (folder / ANNOTATIONS_FILE).is_file() and (folder / CONTACT_SHEET_FILE).is_file()


def test_a_deleted_contact_sheet_is_redrawn_not_claimed(sparse_source, tmp_path):
    _iaaa(sparse_source, tmp_path, num_samples=2)
    folder = _one_cache(tmp_path)
    before = (folder / CONTACT_SHEET_FILE).read_bytes()
    marker_time = (folder / ANNOTATIONS_FILE).stat().st_mtime_ns
    (folder / CONTACT_SHEET_FILE).unlink()
    ensure_coco_cache(folder, 2, None, None, progress=False)  # complete: nothing generated
    assert (folder / CONTACT_SHEET_FILE).read_bytes() == before
    assert (folder / ANNOTATIONS_FILE).stat().st_mtime_ns == marker_time


def test_generate_tool_names_the_sheet_only_if_it_exists(sparse_source, tmp_path):
    spec = importlib.util.spec_from_file_location('generate', REPO_ROOT / 'tools' / 'generate.py')
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    dataset = _iaaa(sparse_source, tmp_path, num_samples=2)
    sheet = _one_cache(tmp_path) / CONTACT_SHEET_FILE
    lines = generate.cache_report('IAAADataset', dataset.ann_file)
    assert lines[0].startswith('IAAADataset: 2 images') and lines[1] == f'  look at: {sheet}'
    sheet.unlink()
    lines = generate.cache_report('IAAADataset', dataset.ann_file)
    assert str(sheet) not in '\n'.join(lines) and 'no contact sheet' in lines[1]


@pytest.mark.parametrize('field, value', [
    ('n_candidates', 0), ('n_candidates', 2.5), ('n_candidates', 'many'), ('sigma', -0.5),
    ('sigma', float('nan')), ('spacing', -1), ('style_neighbours', -1), ('count_scale', 0),
    ('border_margin', -2), ('n_candidates', True), ('scale_jitter', 'x'),
    ('scale_jitter', (1.0, float('inf'))),
])
def test_iaaa_settings_name_the_bad_field_and_value(field, value):
    with pytest.raises(ValueError, match=rf'{field} must be .*got {re.escape(repr(value))}'):
        IAAASettings(**{field: value})


def test_iaaa_dataset_refuses_zero_candidates_at_construction(sample_root, tmp_path):
    source = _source(sample_root / 'annotations/train.json', sample_root / 'images')
    with pytest.raises(ValueError, match='n_candidates must be >= 1 .*got 0'):
        _iaaa(source, tmp_path, generator=dict(n_candidates=0), lazy_init=True)


# --- 3. SAAA trains on SCOs only --------------------------------------------------------
def test_sco_dataset_holds_exactly_the_scos(sample_root):
    ann_file, img_dir = sample_root / 'annotations/train.json', sample_root / 'images'
    bank = ObjectBank.from_coco(ann_file, img_dir, progress=False)
    scos = build_sco_dataset(ann_file, img_dir, with_images=False, progress=False)
    assert len(scos) == len(bank.scos) == 133
    sco_ids = {f'{o.source}#{o.ann_ids[0]}' for o in bank.scos}
    assert set(scos.sources) == sco_ids


def test_a_source_without_scos_is_named(sample_root, tmp_path):
    ann_file, img_dir = sample_root / 'annotations/train.json', sample_root / 'images'
    bank = ObjectBank.from_coco(ann_file, img_dir, progress=False)
    in_clusters = {a for o in bank.mcos for a in o.ann_ids}
    coco = _coco(sample_root)
    coco['annotations'] = [a for a in coco['annotations'] if a['id'] in in_clusters]
    only_mcos = _write_source(tmp_path, coco, 'clusters_only.json')
    with pytest.raises(ValueError, match=r'clusters_only.json: the source has no single-cell'):
        build_sco_dataset(only_mcos, img_dir, with_images=False, progress=False)


# --- 4. EXIF orientation as mmdet's loader applies it -----------------------------------
def test_exif_rotated_jpeg_reads_like_load_image_from_file(sample_root, tmp_path):
    from mmcv.transforms import LoadImageFromFile

    name = _coco(sample_root)['images'][0]['file_name']
    pixels = read_image(sample_root / 'images' / name)[:, :200]  # not square
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    path = tmp_path / 'rotated.jpg'
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), quality=95)
    ours = read_image(path)
    mmdet_bgr = LoadImageFromFile()(dict(img_path=str(path)))['img']
    assert ours.shape == (200, 256, 3)
    np.testing.assert_array_equal(ours, mmdet_bgr[..., ::-1])
    np.testing.assert_array_equal(ours, mmcv.imread(str(path), channel_order='rgb'))


def test_sixteen_bit_images_keep_their_depth(sample_root, tmp_path):
    name = _coco(sample_root)['images'][0]['file_name']
    grey16 = read_image(sample_root / 'images' / name)[..., 1].astype(np.uint16) * 257
    for suffix in ('.png', '.tif'):
        cv2.imwrite(str(tmp_path / f'g{suffix}'), grey16)
        np.testing.assert_array_equal(read_image(tmp_path / f'g{suffix}'), grey16)


# --- 6. errors that name the argument or the file ---------------------------------------
@pytest.mark.parametrize('kwargs, message', [
    (dict(seed=-1), r'IAAADataset: seed must be an integer >= 0, got -1'),
    (dict(num_samples='two'), r"IAAADataset: num_samples must be an integer >= 1, got 'two'"),
    (dict(num_samples=0), r'num_samples must be an integer >= 1, got 0'),
])
def test_seed_and_num_samples_are_checked_first(sample_root, tmp_path, kwargs, message):
    source = _source(sample_root / 'annotations/train.json', sample_root / 'images')
    with pytest.raises(ValueError, match=message):
        _iaaa(source, tmp_path, **kwargs)


def test_a_source_without_img_dir_names_the_key(sample_root, tmp_path):
    with pytest.raises(ValueError, match=r'IAAADataset source lacks img_dir: expected '
                       r'dict\(ann_file=..., img_dir=...\)'):
        _iaaa(dict(ann_file=str(sample_root / 'annotations/train.json')), tmp_path)


@pytest.mark.parametrize('content', [b'garbage, not a checkpoint', b''])
def test_garbage_torch_files_are_named_without_torch_advice(tmp_path, content):
    path = tmp_path / 'garbage.pth'
    path.write_bytes(content)
    for load in (lambda: load_checkpoint(path, 'mask_ddpm'),
                 lambda: read_torch_file(path, 'VGG16 weights file')):
        with pytest.raises(ValueError, match=r'garbage.pth is not a readable') as err:
            load()
        assert 'weights_only' not in str(err.value)
    with pytest.raises(FileNotFoundError, match='VGG16 weights file not found: .*none.pth'):
        read_torch_file(tmp_path / 'none.pth', 'VGG16 weights file')
    torch.save({'w': torch.ones(2)}, tmp_path / 'ok.pth')
    assert torch.equal(read_torch_file(tmp_path / 'ok.pth')['w'], torch.ones(2))


def test_all_crowd_annotations_are_named_not_blamed_on_the_border(sample_root, tmp_path):
    coco = _coco(sample_root)
    for ann in coco['annotations']:
        ann['iscrowd'] = 1
    crowd = _write_source(tmp_path, coco, 'all_crowd.json')
    with pytest.raises(AnnotationError, match=r'all_crowd.json: all 389 annotations are '
                       r'iscrowd') as err:
        _iaaa(_source(crowd, sample_root / 'images'), tmp_path)
    assert 'border' not in str(err.value)


def test_iaaa_paste_checks_its_arguments_at_construction(sample_root, tmp_path):
    from mmaug_is.transforms import IAAAPaste

    source = _source(sample_root / 'annotations/train.json', sample_root / 'images')
    for kwargs, message in ((dict(max_cells=0), 'max_cells must be >= 1'),
                            (dict(max_cells='ten'), "max_cells must be >= 1 .*got 'ten'"),
                            (dict(prob=1.5), r'prob must be in \[0, 1\], got 1.5')):
        with pytest.raises(ValueError, match=message):
            IAAAPaste(source, cache_root=str(tmp_path / 'never'), **kwargs)
    with pytest.raises(ValueError, match='IAAAPaste source lacks img_dir'):
        IAAAPaste(dict(ann_file=source['ann_file']), cache_root=str(tmp_path / 'never'))
    assert not (tmp_path / 'never').exists()  # refused before any asset is built


@pytest.fixture
def mixed_images(sample_root, tmp_path):
    """The sample's images with the 3rd made grey and the 5th 16-bit; their file names."""
    img_dir = tmp_path / 'images'
    shutil.copytree(sample_root / 'images', img_dir)
    names = [i['file_name'] for i in _coco(sample_root)['images']]
    rgb = read_image(img_dir / names[2])
    cv2.imwrite(str(img_dir / names[2]), rgb[..., 0])
    cv2.imwrite(str(img_dir / names[4]), rgb[..., ::-1].astype(np.uint16) * 257)
    return img_dir, names


def test_mixed_grey_and_rgb_sources_name_an_image_of_each_kind(sample_root, mixed_images):
    img_dir, names = mixed_images
    ann_file = sample_root / 'annotations/train.json'
    with pytest.raises(ValueError, match='mix image dtypes') as err:
        ObjectBank.from_coco(ann_file, img_dir, progress=False)
    message = str(err.value)
    for kind in ('uint8 3-channel', 'uint8 grey', 'uint16 3-channel'):
        assert kind in message
    assert names[2] in message and names[4] in message
    with pytest.raises(ValueError, match=rf'image .*{names[2]} is uint8 grey but the first '
                       rf'image .*{names[0]} is uint8 RGB'):
        build_sco_dataset(ann_file, img_dir, with_images=False, progress=False)
