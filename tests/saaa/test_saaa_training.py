"""Training of both SAAA models on real SCOs: loss decreases, determinism, exact resume, tools."""
import importlib.util
import shlex
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mmaug_is.saaa.mask_ddpm import MaskDDPMConfig
from mmaug_is.saaa.pix2pix import Pix2PixConfig
from mmaug_is.saaa.train_loop import (batch_indices, load_checkpoint, resolve_device,
                                      save_checkpoint)
from mmaug_is.saaa.trainers import (MASK_KIND, PIX2PIX_KIND, MaskDDPMTrainer,
                                    Pix2PixTrainer)
from mmaug_is.synth.hashing import source_digest

TOOLS = Path(__file__).resolve().parents[2] / 'tools'
TINY_DDPM = MaskDDPMConfig(image_size=32, block_out_channels=(8, 16, 16), attention_levels=(2,),
                           num_train_timesteps=100)
TINY_P2P = Pix2PixConfig(image_size=32, out_channels=3, ngf=8, ndf=8, n_down=3, n_layers_d=2)


def small(ds, n=48):
    """The first ``n`` SCOs of a dataset (keeps steps fast)."""
    return replace(ds, masks=ds.masks[:n], images=ds.images[:n], sizes=ds.sizes[:n],
                   sources=ds.sources[:n])


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_batch_indices_cover_each_epoch_once():
    seen = np.concatenate([batch_indices(10, 3, seed=1, iteration=i) for i in range(3)])
    assert len(set(seen.tolist())) == 9
    assert not np.array_equal(batch_indices(10, 3, 1, 0), batch_indices(10, 3, 1, 3))
    with pytest.raises(ValueError, match='batch size'):
        batch_indices(2, 3, 0, 0)


def test_mask_ddpm_loss_decreases_on_fixed_batch(sco32):
    trainer = MaskDDPMTrainer(small(sco32), TINY_DDPM, batch_size=8, lr=2e-3, warmup=1)
    batch = trainer.batch(0)
    losses = []
    for _ in range(10):  # same batch, same noise and timesteps every step
        loss = trainer.model.loss(batch, torch.Generator().manual_seed(0))
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    out = trainer.step(0)
    assert set(out) == {'loss'} and np.isfinite(out['loss'])


def test_pix2pix_l1_decreases_on_fixed_batch(sco32):
    trainer = Pix2PixTrainer(small(sco32), TINY_P2P, batch_size=8, lr=1e-3, lambda_vgg=0)
    losses = []
    for _ in range(12):
        out = trainer.step(0)  # iteration 0 again: the same batch and augmentation
        losses.append(out['l1'])
    assert set(out) == {'d', 'g_gan', 'l1'}
    assert np.mean(losses[-3:]) < 0.9 * np.mean(losses[:3])


def test_same_seed_same_weights(sco32):
    ds = small(sco32)
    runs = []
    for seed in (0, 0, 1):
        trainer = MaskDDPMTrainer(ds, TINY_DDPM, batch_size=16, seed=seed)
        for it in range(2):
            trainer.step(it)
        runs.append(trainer.model.state_dict())
    assert states_equal(runs[0], runs[1])
    assert not states_equal(runs[0], runs[2])


@pytest.mark.parametrize('kind', ['ddpm', 'pix2pix'])
def test_checkpoint_resume_is_exact(sco32, tmp_path, kind):
    ds = small(sco32)
    if kind == 'ddpm':
        make = lambda: MaskDDPMTrainer(ds, TINY_DDPM, batch_size=16, seed=5)  # noqa: E731
        resume = lambda state: MaskDDPMTrainer.from_checkpoint(state, ds)  # noqa: E731
        weights = lambda t: t.ema.state_dict()  # noqa: E731
        ckpt_kind = MASK_KIND
    else:
        extra = sco32.masks[-10:]  # unpaired masks (the tool uses DDPM samples)
        make = lambda: Pix2PixTrainer(ds, TINY_P2P, batch_size=8, seed=5,  # noqa: E731
                                      lambda_vgg=0, extra_masks=extra, extra_batch=4)
        resume = lambda state: Pix2PixTrainer.from_checkpoint(state, ds)  # noqa: E731
        weights = lambda t: t.netG.state_dict()  # noqa: E731
        ckpt_kind = PIX2PIX_KIND
    straight = make()
    for it in range(4):
        straight.step(it)
    first = make()
    for it in range(2):
        first.step(it)
    path = save_checkpoint(first.state_dict(2, 4), tmp_path / 'ckpt.pth')
    state = load_checkpoint(path, ckpt_kind)
    assert state['iter'] == 2
    torch.manual_seed(123)  # the resumed run must not depend on the process's RNG state
    second = resume(state)
    for it in range(2, 4):
        second.step(it)
    assert states_equal(weights(straight), weights(second))
    with pytest.raises(ValueError, match='is not a'):
        load_checkpoint(path, MASK_KIND if kind == 'pix2pix' else PIX2PIX_KIND)
    with pytest.raises(ValueError, match='different data'):
        resume(dict(state, data_fingerprint='0' * 16))
    with pytest.raises(ValueError, match='format 1 is not 2'):
        resume(dict(state, format=1))  # SHA-1 fingerprints of older checkpoints


def test_device_argument_is_checked_before_any_work(fluo_subset, tmp_path):
    assert resolve_device('cpu') == torch.device('cpu')
    for bad, reason in [('cuda:99', 'CUDA device'), ('xla', "use 'cpu'"),
                        ('no such device', '--device')]:
        with pytest.raises(ValueError, match=reason):
            resolve_device(bad)
    ann_file, img_dir = fluo_subset
    with pytest.raises(ValueError, match="--device 'cuda:99'"):
        _load_tool('saaa_train_masks').main(
            ['--ann-file', str(ann_file), '--img-dir', str(img_dir), '--work-dir',
             str(tmp_path / 'run'), '--iters', '1', '--device', 'cuda:99'])
    assert not (tmp_path / 'run').exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
@pytest.mark.parametrize('kind', ['ddpm', 'pix2pix'])
def test_gpu_checkpoint_resumes_on_the_cpu(sco32, tmp_path, kind):
    ds = small(sco32)
    if kind == 'ddpm':
        trainer = MaskDDPMTrainer(ds, TINY_DDPM, batch_size=16, device='cuda')
        resume, ckpt_kind = MaskDDPMTrainer.from_checkpoint, MASK_KIND
    else:
        trainer = Pix2PixTrainer(ds, TINY_P2P, batch_size=8, lambda_vgg=0, device='cuda')
        resume, ckpt_kind = Pix2PixTrainer.from_checkpoint, PIX2PIX_KIND
    trainer.step(0)
    path = save_checkpoint(trainer.state_dict(1, 2), tmp_path / 'ckpt.pth')
    on_cpu = resume(load_checkpoint(path, ckpt_kind), ds)
    assert on_cpu.device == torch.device('cpu')
    assert np.isfinite(list(on_cpu.step(1).values())).all()


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('tool,extra,ckpt,sheet', [
    ('saaa_train_masks', ['--channels', '8,16,16', '--sample-steps', '3'], 'mask_ddpm.pth',
     'masks_iter_000003.png'),
    ('saaa_train_pix2pix', ['--ngf', '8', '--ndf', '8', '--context', 'raw'], 'pix2pix.pth',
     'pix2pix_iter_000003.png'),
])
def test_training_tools_write_outputs_and_resume(fluo_subset, tmp_path, tool, extra, ckpt,
                                                 sheet):
    module = _load_tool(tool)
    ann_file, img_dir = fluo_subset
    base = ['--ann-file', str(ann_file), '--img-dir', str(img_dir), '--work-dir',
            str(tmp_path), '--size', '32', '--batch-size', '8', '--no-progress',
            '--log-interval', '1', '--ckpt-interval', '2', '--sample-interval', '3',
            '--seed', '3', *extra]
    module.main(base + ['--iters', '3'])
    assert (tmp_path / ckpt).is_file()
    assert (tmp_path / 'samples' / sheet).is_file()
    log = next(tmp_path.glob('*.log')).read_text()
    assert 'iter 3/3' in log
    module.main(base + ['--iters', '4', '--resume'])
    state = torch.load(tmp_path / ckpt, weights_only=True)
    assert state['iter'] == 4 and state['train']['seed'] == 3
    assert 'resumed from' in next(tmp_path.glob('*.log')).read_text()
    # how it was made (saaa.release copies it into a release's manifest)
    commands = [f'OMP_NUM_THREADS={torch.get_num_threads()} python '
                + shlex.join([str((TOOLS / f'{tool}.py').relative_to(Path.cwd())), *argv])
                for argv in (base + ['--iters', '3'], base + ['--iters', '4', '--resume'])]
    assert state['commands'] == commands and state['command'] == commands[1]
    assert state['arguments']['iters'] == 4 and state['arguments']['resume'] == 'auto'
    assert state['data'] == dict(ann_file=str(ann_file), img_dir=str(img_dir),
                                 source_digest=source_digest(ann_file, img_dir),
                                 n_scos=state['data']['n_scos'])
    assert state['data']['n_scos'] > 8


def test_time_limit_checkpoints_and_resumes(fluo_subset, tmp_path):
    module = _load_tool('saaa_train_masks')
    ann_file, img_dir = fluo_subset
    base = ['--ann-file', str(ann_file), '--img-dir', str(img_dir), '--work-dir',
            str(tmp_path), '--size', '32', '--batch-size', '8', '--no-progress',
            '--ckpt-interval', '100', '--sample-interval', '100', '--channels', '8,16,16',
            '--sample-steps', '2']
    with pytest.raises(ValueError, match='--max-minutes must be > 0'):
        module.main(base + ['--iters', '4', '--max-minutes', '0'])
    module.main(base + ['--iters', '4', '--max-minutes', '1e-9'])  # past after one step
    state = torch.load(tmp_path / 'mask_ddpm.pth', weights_only=True)
    assert (state['iter'], state['total_iters']) == (1, 4)
    log = (tmp_path / 'train_masks.log').read_text()
    assert 'time limit reached at iteration 1 of 4' in log and 'done:' not in log
    module.main(base + ['--resume'])  # the planned total is kept
    assert torch.load(tmp_path / 'mask_ddpm.pth', weights_only=True)['iter'] == 4


def test_pix2pix_extra_masks_enter_the_adversarial_terms(sco32):
    ds, cfg = small(sco32), replace(TINY_P2P, dropout=0.0)
    plain = Pix2PixTrainer(ds, cfg, batch_size=8, seed=2, lambda_vgg=0)
    enriched = Pix2PixTrainer(ds, cfg, batch_size=8, seed=2, lambda_vgg=0,
                              extra_masks=sco32.masks[-10:], extra_batch=4)
    assert enriched.extra_batch_masks(0).shape == (4, 1, 32, 32)
    assert plain.extra_batch_masks(0) is None
    a, b = plain.step(0), enriched.step(0)
    assert a['l1'] == b['l1']  # same paired batch and weights: same reconstruction ...
    assert a['d'] != b['d']    # ... but the discriminator also saw the extra fakes
    with pytest.raises(ValueError, match='frame'):
        Pix2PixTrainer(ds, TINY_P2P, extra_masks=np.zeros((2, 64, 64), bool))
