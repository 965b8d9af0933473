"""tools/generate.py, data-first form (--method ... --out DIR) and --workers: on a COCO file
that is not one of ours (polygon masks), the same bytes with 1 or 2 processes, resumable
after an interruption, refusing an output folder that holds another dataset."""
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO

from mmaug_is.core.io import decode_rles
from mmaug_is.datasets import IAAADataset

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
POLICIES = REPO_ROOT / 'configs' / 'iaaa' / 'policies' / 'dsb2018_fluo.json'
SAAA_TINY = REPO_ROOT / 'tests' / 'data' / 'saaa_tiny'


def load_tool():
    spec = importlib.util.spec_from_file_location('generate', REPO_ROOT / 'tools' / 'generate.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = load_tool()


def file_digests(folder):
    """``{relative path: sha256}`` of the files under ``folder`` (not hidden temporaries)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob('*')) if p.is_file() and
            not p.name.startswith('.')}


def mask_polygons(mask):
    """COCO polygons (flat x, y lists) of the outer contours of a bool mask, leaving out
    those that enclose no pixel (one-pixel-wide lines: ``load_coco_instances`` refuses an
    annotation whose mask is empty)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    polygons = [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]
    return [p for p in polygons
            if mask_utils.area(mask_utils.frPyObjects([p], *mask.shape))[0] > 0]


@pytest.fixture(scope='module')
def polygon_source(sample_root, tmp_path_factory):
    """``(ann_file, img_dir)``: data/sample_fluo train with polygon masks, in the layout of a
    plain COCO export (no fields of ours)."""
    coco = json.loads((sample_root / 'annotations' / 'train.json').read_text())
    images = {info['id']: info for info in coco['images']}
    annotations = []
    for ann in coco['annotations']:
        info = images[ann['image_id']]
        rle = dict(ann['segmentation'], counts=ann['segmentation']['counts'].encode())
        polygons = mask_polygons(decode_rles([rle], info['height'], info['width'])[0])
        if polygons:
            annotations.append(dict(id=len(annotations) + 1, image_id=ann['image_id'],
                                    category_id=ann['category_id'], segmentation=polygons,
                                    area=ann['area'], bbox=ann['bbox'], iscrowd=0))
    plain = dict(images=[{k: info[k] for k in ('id', 'file_name', 'width', 'height')}
                         for info in coco['images']],
                 annotations=annotations,
                 categories=[dict(id=1, name='nucleus')])
    ann_file = tmp_path_factory.mktemp('polygons') / 'instances_train.json'
    ann_file.write_text(json.dumps(plain))
    return str(ann_file), str(sample_root / 'images')


def data_first(source, method, out, num, *extra, cache_root):
    ann_file, img_dir = source
    return ['--method', method, '--ann-file', ann_file, '--img-dir', img_dir, '--num', str(num),
            '--out', str(out), '--cache-root', str(cache_root), *extra]


def check_coco_set(out, num):
    """``out`` is a valid COCO instance set of ``num`` images, masks non-empty, + sheet."""
    coco = COCO(str(out / 'annotations.json'))
    assert len(coco.getImgIds()) == num and len(coco.getAnnIds()) > 0
    for ann in coco.loadAnns(coco.getAnnIds()):
        assert coco.annToMask(ann).any()
    for info in coco.loadImgs(coco.getImgIds()):
        assert (out / 'images' / info['file_name']).is_file()
    assert (out / 'contact_sheet.png').is_file()
    return coco


@pytest.mark.parametrize('method, extra', [('iaaa', ('--policies', str(POLICIES))),
                                           ('copypaste', ())])
def test_data_first_on_a_polygon_coco_file(polygon_source, method, extra, tmp_path, capsys):
    out = tmp_path / 'out'
    generate.main(data_first(polygon_source, method, out, 4, *extra,
                             cache_root=tmp_path / 'cache'))
    coco = check_coco_set(out, 4)
    printed = capsys.readouterr().out
    assert f'4 images, {len(coco.getAnnIds())} instances in {out}' in printed
    assert f'look at: {out / "contact_sheet.png"}' in printed


def test_out_holds_the_cache_a_config_would_train_on(polygon_source, tmp_path):
    """Same inputs, same bytes: the data-first output is the IAAADataset cache."""
    out = tmp_path / 'out'
    generate.main(data_first(polygon_source, 'iaaa', out, 3, '--seed', '2',
                             cache_root=tmp_path / 'cache'))
    ann_file, img_dir = polygon_source
    dataset = IAAADataset(source=dict(ann_file=ann_file, img_dir=img_dir), policies=[],
                          num_samples=3, seed=2, cache_root=str(tmp_path / 'cache'))
    cached = file_digests(Path(dataset.ann_file).parent)
    made = file_digests(out)
    assert made.pop('dataset.json') and made == cached


@pytest.fixture(scope='module')
def one_process(polygon_source, tmp_path_factory):
    """Digests of an IAAA set of 8 images made by one process."""
    root = tmp_path_factory.mktemp('w1')
    generate.main(data_first(polygon_source, 'iaaa', root / 'out', 8, '--policies',
                             str(POLICIES), '--workers', '1', cache_root=root / 'cache'))
    return file_digests(root / 'out')


def test_two_workers_write_the_bytes_of_one(polygon_source, one_process, tmp_path):
    out = tmp_path / 'out'
    generate.main(data_first(polygon_source, 'iaaa', out, 8, '--policies', str(POLICIES),
                             '--workers', '2', cache_root=tmp_path / 'cache'))
    assert file_digests(out) == one_process
    assert len(list((out / 'images').glob('*.png'))) == 8


def test_two_workers_resume_what_is_missing(polygon_source, one_process, tmp_path):
    out = tmp_path / 'out'
    args = data_first(polygon_source, 'iaaa', out, 8, '--policies', str(POLICIES),
                      '--workers', '2', cache_root=tmp_path / 'cache')
    generate.main(args)
    for name in ('annotations.json', 'contact_sheet.png', 'parts/000001.json',
                 'parts/000004.json', 'parts/000005.json', 'images/000005.png'):
        (out / name).unlink()
    kept = (out / 'images' / '000000.png').stat().st_mtime_ns
    generate.main(args)
    assert file_digests(out) == one_process
    assert (out / 'images' / '000000.png').stat().st_mtime_ns == kept  # not made again


def test_a_killed_run_resumes_to_the_same_set(polygon_source, tmp_path):
    """SIGKILL to the tool and its workers once a few parts exist; the rerun completes the
    set with the bytes of one uninterrupted process."""
    num, out = 60, tmp_path / 'out'
    args = data_first(polygon_source, 'iaaa', out, num, '--policies', str(POLICIES),
                      cache_root=tmp_path / 'cache')
    command = [sys.executable, 'tools/generate.py', *args]
    env = dict(os.environ, MMAUG_OFFLINE='1', OMP_NUM_THREADS='1')
    process = subprocess.Popen([*command, '--workers', '2'], cwd=REPO_ROOT, env=env,
                               start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(list((out / 'parts').glob('*.json'))) < 4 and time.time() < deadline:
        assert process.poll() is None, 'the run ended before it could be interrupted'
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / 'annotations.json').exists()
    assert len(list((out / 'parts').glob('*.json'))) < num
    subprocess.run([*command, '--workers', '2'], cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True)
    reference = tmp_path / 'reference'
    generate.main(data_first(polygon_source, 'iaaa', reference, num, '--policies',
                             str(POLICIES), cache_root=tmp_path / 'cache'))
    assert file_digests(out) == file_digests(reference)


def test_an_out_holding_another_dataset_is_refused(polygon_source, tmp_path):
    out = tmp_path / 'out'
    generate.main(data_first(polygon_source, 'copypaste', out, 2, cache_root=tmp_path / 'c'))
    with pytest.raises(SystemExit, match=r'holds another generated dataset.*seed: 0 there, 1 now'):
        generate.main(data_first(polygon_source, 'copypaste', out, 2, '--seed', '1',
                                 cache_root=tmp_path / 'c'))
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'notes.txt').write_text('mine')
    with pytest.raises(SystemExit, match='not empty and holds no dataset.json'):
        generate.main(data_first(polygon_source, 'copypaste', other, 2,
                                 cache_root=tmp_path / 'c'))


@pytest.mark.parametrize('argv, message', [
    (['configs/cpu/faster_rcnn_r18_sample_iaaa.py', '--method', 'iaaa'], 'not both'),
    (['--method', 'iaaa', '--num', '3'], 'give --ann-file, --img-dir, --out'),
    (['--method', 'saaa', '--ann-file', 'a', '--img-dir', 'd', '--num', '2', '--out', 'o'],
     '--mask-checkpoint and --pix2pix-checkpoint'),
    (['--method', 'copypaste', '--ann-file', 'a', '--img-dir', 'd', '--num', '2', '--out', 'o',
      '--policies', 'p.json'], '--policies do not apply to --method copypaste'),
    (['configs/cpu/faster_rcnn_r18_sample_iaaa.py', '--workers', '0'],
     "argument --workers: must be an integer >= 1, got '0'"),
])
def test_incomplete_or_mixed_forms_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        generate.parse_args(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_saaa_with_two_workers(polygon_source, tmp_path):
    """SAAA (tiny committed models, torch in the workers): 2 processes, the bytes of 1."""
    outs = []
    for workers in ('1', '2'):
        outs.append(tmp_path / f'out{workers}')
        generate.main(data_first(
            polygon_source, 'saaa', outs[-1], 2, '--workers', workers,
            '--mask-checkpoint', str(SAAA_TINY / 'mask_ddpm.pth'),
            '--pix2pix-checkpoint', str(SAAA_TINY / 'pix2pix.pth'),
            '--options', 'generator.mask_bank=16',  # a small bank, built by the first run
            cache_root=tmp_path / 'cache'))
    check_coco_set(outs[0], 2)
    assert len(list((tmp_path / 'cache' / 'saaa_mask_banks').glob('mask_bank-*.npz'))) == 1
    assert file_digests(outs[0]) == file_digests(outs[1])
