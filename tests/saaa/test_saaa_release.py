"""SAAA releases (``mmaug_is.saaa.release``, ``tools/saaa_release.py``): generation-only
checkpoints exported from the tiny trained ones of tests/data/saaa_tiny, their manifest,
and the SHA-256 check before a released file is used."""
import json
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mmaug_is.core import DatasetStats, ObjectBank, load_coco_instances, read_image, remove_cells
from mmaug_is.saaa.generator import CellSynthesizer, MaskGenerator, SAAAGenerator
from mmaug_is.saaa.pix2pix import Pix2PixConfig, UNetGenerator
from mmaug_is.saaa.release import (FILES, MANIFEST, SHEET, TRAINING_ONLY, ReleaseError,
                                   _log_commands, export_release, load_release,
                                   verify_checkpoint, verify_release)
from mmaug_is.saaa.trainers import MASK_KIND, PIX2PIX_KIND
from mmaug_is.synth.hashing import file_digest, source_digest
from mmaug_is.utils.checkpoint_io import load_checkpoint, save_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
SAAA_TINY = REPO_ROOT / 'tests' / 'data' / 'saaa_tiny'
TINY = {MASK_KIND: SAAA_TINY / 'mask_ddpm.pth', PIX2PIX_KIND: SAAA_TINY / 'pix2pix.pth'}


@pytest.fixture(scope='module')
def sample_data(sample_root):
    return dict(ann_file=str(sample_root / 'annotations' / 'train.json'),
                img_dir=str(sample_root / 'images'))


@pytest.fixture(scope='module')
def release(sample_data, tmp_path_factory):
    """``(folder, manifest)`` of the tiny checkpoints' release (with its sample sheet)."""
    folder = tmp_path_factory.mktemp('release') / 'tiny'
    manifest = export_release(TINY[MASK_KIND], TINY[PIX2PIX_KIND], folder, 'tiny',
                              data=sample_data)
    return folder, manifest


@pytest.fixture(scope='module')
def stats_and_backgrounds(sample_data):
    records = load_coco_instances(sample_data['ann_file'], sample_data['img_dir'])
    stats = DatasetStats.from_records(records, ObjectBank.from_records(records, progress=False))
    backgrounds = [remove_cells(read_image(r.path), r.masks, np.random.default_rng(i))
                   for i, r in enumerate(records[:2])]
    return stats, backgrounds


def _copy(release, tmp_path):
    folder = tmp_path / 'copy'
    shutil.copytree(release[0], folder)
    return folder


def test_release_files_manifest_and_slim_checkpoints(release, sample_data):
    folder, manifest = release
    assert json.loads((folder / MANIFEST).read_text()) == manifest
    assert set(manifest['files']) == {'mask_ddpm.pth', 'pix2pix.pth', SHEET}
    for name, entry in manifest['files'].items():
        assert entry == dict(sha256=file_digest(folder / name),
                             bytes=(folder / name).stat().st_size)
    assert verify_release(folder) == manifest
    assert load_release(folder) == dict(mask_checkpoint=folder / 'mask_ddpm.pth',
                                        pix2pix_checkpoint=folder / 'pix2pix.pth')
    assert (folder / SHEET).stat().st_size < 300_000
    digest = source_digest(**sample_data)
    for kind, weights, iterations in ((MASK_KIND, 'ema', 1500), (PIX2PIX_KIND, 'generator', 200)):
        path, original = folder / FILES[kind], load_checkpoint(TINY[kind], kind)
        assert path.stat().st_size < TINY[kind].stat().st_size  # smaller than for training
        state = load_checkpoint(path, kind)  # the loaders' own check of the kind
        assert not set(TRAINING_ONLY[kind]) & set(state)
        assert not any(isinstance(v, dict) and 'param_groups' in v for v in state.values())
        assert state[weights].keys() == original[weights].keys()
        for key, tensor in state[weights].items():  # float32, exactly the trained weights
            assert tensor.dtype == original[weights][key].dtype
            assert torch.equal(tensor, original[weights][key])
        model = manifest['models'][FILES[kind]]
        assert model['dtype'] == 'float32' and model['iterations'] == iterations
        assert model['data'] == dict(sample_data, source_digest=digest,
                                     n_scos=model['data']['n_scos'])
        assert model['training_checkpoint']['sha256'] == file_digest(TINY[kind])
        assert model['command_source'] == 'not recorded'  # the tiny ones predate it
        assert state['provenance']['iterations'] == iterations
    models = manifest['models']
    assert models['mask_ddpm.pth']['data']['n_scos'] == 170  # one real size per SCO
    assert models['mask_ddpm.pth']['settings']['config']['block_out_channels'] == [8, 16, 32]
    assert models['pix2pix.pth']['settings']['perceptual'] == 'none'
    assert models['pix2pix.pth']['settings']['condition'] == 'none'
    assert set(manifest['versions']) >= {'mmaug_is', 'torch', 'diffusers'}
    assert manifest['name'] == 'tiny' and manifest['created']


def test_released_models_generate_the_same_bytes(release, stats_and_backgrounds):
    folder, _ = release
    stats, backgrounds = stats_and_backgrounds
    options = dict(steps=5, mask_bank=None, max_cells=4)
    original = SAAAGenerator.from_checkpoints(TINY[MASK_KIND], TINY[PIX2PIX_KIND], stats,
                                              backgrounds, **options)
    released = SAAAGenerator.from_checkpoints(folder / 'mask_ddpm.pth',
                                              folder / 'pix2pix.pth', stats, backgrounds,
                                              **options)
    for index in range(2):
        a, b = original.generate(3, index), released.generate(3, index)
        assert len(a.masks) > 0
        assert a.image.tobytes() == b.image.tobytes()
        assert a.masks.tobytes() == b.masks.tobytes()
    masks = MaskGenerator.from_checkpoint(folder / 'mask_ddpm.pth')
    assert masks.fill == original.masks.fill
    assert np.array_equal(masks.sizes.sizes, original.masks.sizes.sizes)
    cells = CellSynthesizer.from_checkpoint(folder / 'pix2pix.pth')
    assert cells.fmt == original.cells.fmt and cells.cfg == original.cells.cfg


def test_changed_files_are_refused_by_name(release, stats_and_backgrounds, tmp_path):
    folder = _copy(release, tmp_path)
    assert verify_checkpoint(folder / 'pix2pix.pth')['sha256'] == \
        release[1]['files']['pix2pix.pth']['sha256']
    assert verify_checkpoint(TINY[PIX2PIX_KIND]) is None  # not in a release: not checked
    data = bytearray((folder / 'pix2pix.pth').read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / 'pix2pix.pth').write_bytes(bytes(data))
    for check in (lambda: verify_release(folder), lambda: load_release(folder),
                  lambda: verify_checkpoint(folder / 'pix2pix.pth'),
                  lambda: SAAAGenerator.from_checkpoints(
                      folder / 'mask_ddpm.pth', folder / 'pix2pix.pth',
                      *stats_and_backgrounds, mask_bank=None)):
        with pytest.raises(ReleaseError, match=r'copy/pix2pix\.pth does not match .*'
                                               r'changed, truncated'):
            check()
    assert verify_checkpoint(folder / 'mask_ddpm.pth') is not None  # the other file is fine
    # a git-lfs pointer where the model should be
    (folder / 'mask_ddpm.pth').write_text(
        'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 700875\n')
    with pytest.raises(ReleaseError, match=r'mask_ddpm\.pth does not match .*git lfs pull'):
        verify_checkpoint(folder / 'mask_ddpm.pth')
    (folder / 'mask_ddpm.pth').unlink()
    with pytest.raises(ReleaseError, match=r'mask_ddpm\.pth is missing'):
        verify_release(folder)
    (folder / MANIFEST).unlink()
    with pytest.raises(ReleaseError, match=r'manifest\.json not found'):
        verify_release(folder)


def test_saaa_dataset_checks_released_checkpoints(release, sample_data, tmp_path):
    from mmaug_is.datasets import SAAADataset

    folder = _copy(release, tmp_path)
    kwargs = dict(source=sample_data, num_samples=1, cache_root=str(tmp_path / 'cache'),
                  lazy_init=True, **load_release(folder))
    SAAADataset(**kwargs)
    (folder / 'mask_ddpm.pth').write_bytes((folder / 'mask_ddpm.pth').read_bytes()[:1000])
    with pytest.raises(ReleaseError, match=r'copy/mask_ddpm\.pth does not match'):
        SAAADataset(**kwargs)


def test_float16_only_for_files_over_the_limit(sample_data, tmp_path):
    # a limit between the two float32 files: the mask DDPM is stored as float16
    manifest = export_release(TINY[MASK_KIND], TINY[PIX2PIX_KIND], tmp_path / 'r', 'r',
                              data=sample_data, sheet=False, max_bytes=500_000)
    models = manifest['models']
    assert models['mask_ddpm.pth']['dtype'] == 'float16'
    assert models['pix2pix.pth']['dtype'] == 'float32'
    assert 'float16_check' not in models['pix2pix.pth']
    check = models['mask_ddpm.pth']['float16_check']
    assert 0 <= check['max_abs_error'] < 0.1 and check['mask_pixels_changed'] < 0.01
    assert set(manifest['files']) == {'mask_ddpm.pth', 'pix2pix.pth'}
    state = load_checkpoint(tmp_path / 'r' / 'mask_ddpm.pth', MASK_KIND)
    assert {v.dtype for v in state['ema'].values()} == {torch.float16}
    assert manifest['files']['mask_ddpm.pth']['bytes'] <= 500_000
    MaskGenerator.from_checkpoint(tmp_path / 'r' / 'mask_ddpm.pth')  # loads unchanged
    with pytest.raises(ReleaseError, match=r'mask_ddpm\.pth would take \d+ bytes \(float16'):
        export_release(TINY[MASK_KIND], TINY[PIX2PIX_KIND], tmp_path / 'r2', 'r2',
                       data=sample_data, sheet=False, max_bytes=100_000)
    assert not (tmp_path / 'r2' / MANIFEST).exists()  # no manifest: no release
    with pytest.raises(ReleaseError, match='would replace the training checkpoint'):
        export_release(tmp_path / 'r' / 'mask_ddpm.pth', TINY[PIX2PIX_KIND], tmp_path / 'r',
                       'r', data=sample_data, sheet=False)


def test_recorded_provenance_and_data_checks(sample_data, sample_root, tmp_path):
    command = ('OMP_NUM_THREADS=1 python tools/saaa_train_pix2pix.py --ann-file '
               f'{sample_data["ann_file"]} --img-dir {sample_data["img_dir"]} --iters 200')
    state = load_checkpoint(TINY[PIX2PIX_KIND], PIX2PIX_KIND)
    state.update(command=command, commands=[command], arguments=dict(iters=200),
                 data=dict(sample_data, source_digest=source_digest(**sample_data),
                           n_scos=133))
    ckpt = save_checkpoint(state, tmp_path / 'train' / 'pix2pix.pth')
    # the mask DDPM's data comes from its log's command (checkpoint of an older run)
    log_dir = tmp_path / 'masks'
    shutil.copy(TINY[MASK_KIND], log_dir.mkdir() or log_dir / 'mask_ddpm.pth')
    argv = (f'tools/saaa_train_masks.py --ann-file {sample_data["ann_file"]} --img-dir '
            f'{sample_data["img_dir"]} --size 32 --iters 1500')
    (log_dir / 'train_masks.log').write_text(
        f'2026-01-01 00:00:00 INFO command: {argv} --iters 5\n'
        '2026-01-01 00:00:00 INFO torch threads: 2\n'  # an earlier, replaced run
        f'2026-01-01 00:00:01 INFO command: {argv}\n'
        '2026-01-01 00:00:01 INFO torch threads: 1\n'
        '2026-01-01 00:00:02 INFO 170 canonical SCO masks at 32x32 px (fill 0.75)\n'
        f'2026-01-01 00:10:00 INFO command: {argv} --resume\n'
        '2026-01-01 00:10:00 INFO torch threads: 1\n')
    assert _log_commands(log_dir / 'mask_ddpm.pth', MASK_KIND) == (
        [f'OMP_NUM_THREADS=1 python {argv}', f'OMP_NUM_THREADS=1 python {argv} --resume'], 170)
    manifest = export_release(log_dir / 'mask_ddpm.pth', ckpt, tmp_path / 'r', 'r',
                              sheet=False)
    masks, pix2pix = manifest['models']['mask_ddpm.pth'], manifest['models']['pix2pix.pth']
    assert pix2pix['command'] == command and pix2pix['command_source'] == 'checkpoint'
    assert pix2pix['arguments'] == dict(iters=200) and pix2pix['data']['n_scos'] == 133
    assert masks['command_source'] == 'training log'
    assert masks['command'] == f'OMP_NUM_THREADS=1 python {argv} --resume'
    assert masks['data']['source_digest'] == pix2pix['data']['source_digest']
    # resumed with recording from a run that did not record: the log has the history
    state = load_checkpoint(log_dir / 'mask_ddpm.pth', MASK_KIND)
    resumed = f'OMP_NUM_THREADS=1 python {argv} --resume'
    save_checkpoint(dict(state, command=resumed, commands=[resumed]), log_dir / 'mask_ddpm.pth')
    manifest = export_release(log_dir / 'mask_ddpm.pth', ckpt, tmp_path / 'r', 'r',
                              sheet=False)
    assert manifest['models']['mask_ddpm.pth']['commands'] == [
        f'OMP_NUM_THREADS=1 python {argv}', resumed]
    assert manifest['models']['mask_ddpm.pth']['command_source'] == 'training log'
    # data given that is not what the checkpoint was trained on
    other = dict(ann_file=str(sample_root / 'annotations' / 'val.json'),
                 img_dir=sample_data['img_dir'])
    with pytest.raises(ReleaseError, match=r'pix2pix\.pth was trained on data with source'):
        export_release(log_dir / 'mask_ddpm.pth', ckpt, tmp_path / 'r3', 'r3', data=other,
                       sheet=False)
    with pytest.raises(ReleaseError, match=r'mask_ddpm\.pth: cannot find its training data'):
        export_release(TINY[MASK_KIND], ckpt, tmp_path / 'r4', 'r4', sheet=False)


def test_conditioned_release_sheet(sample_data, tmp_path):
    """A background-style Pix2Pix (random weights): one sheet row per training style."""
    state = load_checkpoint(TINY[PIX2PIX_KIND], PIX2PIX_KIND)
    cfg = Pix2PixConfig(**dict(state['config'], condition='background_style'))
    torch.manual_seed(0)
    state.update(config=cfg.to_dict(), generator=UNetGenerator(cfg).state_dict())
    ckpt = save_checkpoint(state, tmp_path / 'cond' / 'pix2pix.pth')
    manifest = export_release(TINY[MASK_KIND], ckpt, tmp_path / 'r', 'r', data=sample_data)
    assert manifest['models']['pix2pix.pth']['settings']['condition'] == 'background_style'
    assert manifest['files'][SHEET]['bytes'] < 300_000


def test_release_tool(sample_data, tmp_path, capsys):
    main = runpy.run_path(str(REPO_ROOT / 'tools' / 'saaa_release.py'))['main']
    out = tmp_path / 'models' / 'tiny'
    assert main(['--mask-ckpt', str(TINY[MASK_KIND]), '--pix2pix-ckpt',
                 str(TINY[PIX2PIX_KIND]), '--out', str(out), '--ann-file',
                 sample_data['ann_file'], '--img-dir', sample_data['img_dir'],
                 '--no-sheet']) == 0
    text = capsys.readouterr().out
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest['name'] == 'tiny'
    for name, entry in manifest['files'].items():
        assert f'{name}: {entry["bytes"]:,} bytes, sha256 {entry["sha256"]}' in text
    assert main(['--verify', str(out)]) == 0
    (out / 'pix2pix.pth').write_bytes(b'')
    assert main(['--verify', str(out)]) == 1
    assert 'pix2pix.pth does not match' in capsys.readouterr().err
