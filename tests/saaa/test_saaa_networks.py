"""Pix2Pix networks and losses: shapes, attention/SE behaviour, VGG16 layout and offline policy."""
import logging

import pytest
import torch

from mmaug_is.saaa.losses import (GANLoss, PerceptualLoss, build_perceptual_loss,
                                  build_vgg16_features, find_vgg16_weights,
                                  load_vgg16_state_dict)
from mmaug_is.saaa.pix2pix import (PatchDiscriminator, Pix2PixConfig, SelfAttention,
                                   SqueezeExcitation, UNetGenerator)

# torchvision.models.vgg16().state_dict(): conv layers of `features` and their widths.
TORCHVISION_VGG16_CONVS = {0: (3, 64), 2: (64, 64), 5: (64, 128), 7: (128, 128),
                           10: (128, 256), 12: (256, 256), 14: (256, 256), 17: (256, 512),
                           19: (512, 512), 21: (512, 512), 24: (512, 512), 26: (512, 512),
                           28: (512, 512)}


def torchvision_like_vgg16_state(seed=0):
    """A state dict with torchvision VGG16's exact keys and shapes (random values)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for idx, (cin, cout) in TORCHVISION_VGG16_CONVS.items():
        state[f'features.{idx}.weight'] = torch.randn(cout, cin, 3, 3, generator=gen) * 0.05
        state[f'features.{idx}.bias'] = torch.randn(cout, generator=gen) * 0.05
    for idx, (cin, cout) in {0: (25088, 8), 3: (8, 8), 6: (8, 10)}.items():
        state[f'classifier.{idx}.weight'] = torch.zeros(cout, cin)
        state[f'classifier.{idx}.bias'] = torch.zeros(cout)
    return state


@pytest.mark.parametrize('size,channels', [(32, 1), (32, 3), (64, 3)])
def test_generator_and_discriminator_shapes(size, channels):
    cfg = Pix2PixConfig(image_size=size, out_channels=channels, ngf=8, ndf=8)
    net_g, net_d = UNetGenerator(cfg), PatchDiscriminator(cfg)
    mask = torch.ones(2, 1, size, size)
    out = net_g(mask)
    assert out.shape == (2, channels, size, size)
    assert out.abs().max() <= 1.0
    logits = net_d(mask, out)
    assert logits.shape[:2] == (2, 1) and logits.shape[2] >= 2


def test_generator_has_attention_bottleneck_and_se_decoder():
    net = UNetGenerator(Pix2PixConfig(image_size=32, ngf=8))
    assert any(isinstance(m, SelfAttention) for m in net.bottleneck)
    assert all(any(isinstance(m, SqueezeExcitation) for m in up.modules()) for up in net.ups)


def test_self_attention_starts_as_identity_and_mixes_positions():
    attn = SelfAttention(16)
    x = torch.randn(1, 16, 4, 4)
    assert torch.equal(attn(x), x)
    with torch.no_grad():
        attn.gamma.fill_(1.0)
    y = attn(x)
    x2 = x.clone()
    x2[..., 0, 0] += 5.0  # a change at one position reaches every other position
    assert (attn(x2) - y)[..., 3, 3].abs().sum() > 0


def test_squeeze_excitation_rescales_channels_only():
    se = SqueezeExcitation(16)
    x = torch.rand(2, 16, 5, 5) + 0.1
    ratio = se(x) / x
    assert torch.allclose(ratio, ratio[..., :1, :1].expand_as(ratio), atol=1e-6)
    assert ((ratio > 0) & (ratio < 1)).all()


def test_invalid_pix2pix_config():
    with pytest.raises(ValueError, match='power of two'):
        Pix2PixConfig(image_size=48)
    with pytest.raises(ValueError, match='out_channels'):
        Pix2PixConfig(out_channels=2)
    with pytest.raises(ValueError, match='bottleneck'):
        Pix2PixConfig(image_size=16, n_down=4)


def test_gan_losses_prefer_correct_targets():
    high, low = torch.full((2, 1, 3, 3), 3.0), torch.full((2, 1, 3, 3), -3.0)
    lsgan, bce = GANLoss('lsgan'), GANLoss('bce')
    assert lsgan(torch.ones(4), True).item() == 0.0 < lsgan(low, True).item()
    assert lsgan(torch.zeros(4), False).item() == 0.0 < lsgan(high, False).item()
    assert bce(high, True) < bce(low, True)
    assert bce(low, False) < bce(high, False)
    with pytest.raises(ValueError, match='wgan'):
        GANLoss('wgan')


def test_vgg16_features_have_torchvision_layout(tmp_path):
    features = build_vgg16_features(30)
    convs = {int(k.split('.')[0]) for k in features.state_dict() if k.endswith('weight')}
    assert convs == set(TORCHVISION_VGG16_CONVS)
    path = tmp_path / 'vgg16-397923af.pth'
    state = torchvision_like_vgg16_state()
    torch.save(state, path)
    loss = PerceptualLoss(load_vgg16_state_dict(path))
    assert torch.equal(loss.features[21].weight, state['features.21.weight'])
    assert not any(p.requires_grad for p in loss.parameters())
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(real, real).item() == 0.0
    fake = real.clone().requires_grad_(True)
    value = loss(fake + 0.3 * torch.randn_like(real), real)
    value.backward()
    assert value.item() > 0 and fake.grad.abs().sum() > 0
    grey = torch.rand(2, 1, 32, 32) * 2 - 1
    assert loss(grey, -grey).item() > 0


def test_vgg16_weight_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        find_vgg16_weights(tmp_path / 'missing.pth')
    bad = tmp_path / 'not_vgg.pth'
    torch.save({'backbone.weight': torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match='not a torchvision VGG16'):
        load_vgg16_state_dict(bad)


def test_vgg16_perceptual_needs_its_weights(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    monkeypatch.delenv('MMAUG_VGG16_WEIGHTS', raising=False)
    # Asked for explicitly, VGG16 without weights is an error that names the offline options.
    with pytest.raises(FileNotFoundError, match='--perceptual inception'):
        build_perceptual_loss('vgg16', lambda_vgg=10.0)
    with caplog.at_level(logging.INFO, logger='mmaug_is.saaa.losses'):
        assert build_perceptual_loss('vgg16', lambda_vgg=0.0) is None  # off: looks for nothing
        assert build_perceptual_loss('none', lambda_vgg=10.0) is None
    assert caplog.text == ''
    with pytest.raises(ValueError, match='perceptual must be one of'):
        build_perceptual_loss(None)  # the old positional (vgg_weights, lambda) call fails loudly
    # The torch hub cache file is picked up when it exists (offline machines with a copy).
    cache = tmp_path / 'hub' / 'checkpoints' / 'vgg16-397923af.pth'
    cache.parent.mkdir(parents=True)
    torch.save(torchvision_like_vgg16_state(), cache)
    loss = build_perceptual_loss('vgg16', lambda_vgg=10.0)
    assert isinstance(loss, PerceptualLoss) and loss.spec() == dict(name='vgg16',
                                                                     layers=[3, 8, 15, 22])
