"""Appearance conditioning of the SAAA Pix2Pix (beyond the paper): the background style
vector, conditioned networks, checkpoints old and new, and generation on real backgrounds."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mmaug_is.core import load_coco_instances, read_image, remove_cells
from mmaug_is.saaa.generator import CellSynthesizer, MaskGenerator, SAAAGenerator
from mmaug_is.saaa.mask_data import (STYLE_STATS, ImageFormat, SizeDistribution,
                                     background_style, build_sco_dataset)
from mmaug_is.saaa.mask_ddpm import MaskDDPM, MaskDDPMConfig, MaskFilter
from mmaug_is.saaa.pix2pix import Pix2PixConfig, UNetGenerator
from mmaug_is.saaa.train_loop import load_checkpoint, save_checkpoint
from mmaug_is.saaa.trainers import PIX2PIX_KIND, Pix2PixTrainer
from mmaug_is.synth import sample_rng

COND = Pix2PixConfig(image_size=32, out_channels=3, ngf=8, ndf=8, n_layers_d=2,
                     condition='background_style')
PLAIN = replace(COND, condition='none')
PINK, GREY = (225, 190, 215), (150, 150, 150)  # two background colours
PURPLE, DARK = (110, 40, 130), (60, 60, 60)    # and the cell colours that go with them


def _style(colour):
    return background_style(np.full((16, 16, 3), colour, np.uint8))


def _two_stain_dataset(sco32, n=48):
    """Real masks; cells purple on pink (first half) or dark on grey (second half)."""
    masks = sco32.masks[:n]
    pink = np.arange(n) < n // 2
    images = np.where(pink[:, None, None, None], np.array(PINK, np.uint8),
                      np.array(GREY, np.uint8)).repeat(32, 1).repeat(32, 2)
    images = np.ascontiguousarray(images.astype(np.uint8))
    images[masks & pink[:, None, None]] = PURPLE
    images[masks & ~pink[:, None, None]] = DARK
    styles = np.stack([_style(PINK) if p else _style(GREY) for p in pink])
    return replace(sco32, masks=masks, images=images, sizes=sco32.sizes[:n],
                   sources=sco32.sources[:n], styles=styles)


def _cells(cfg, fmt, fill, seed=0):
    torch.manual_seed(seed)
    return CellSynthesizer(UNetGenerator(cfg), cfg, fmt, fill)


class RealMasks(MaskGenerator):
    """Draws real canonical SCO masks (the mask DDPM is not under test here)."""

    def __init__(self, masks, sizes, fill):
        tiny = MaskDDPMConfig(image_size=32, block_out_channels=(8, 16, 16),
                              attention_levels=(2,), num_train_timesteps=40)
        super().__init__(MaskDDPM(tiny), MaskFilter(0, 1e9), sizes, fill)
        self.real = masks

    def sample(self, n, generator):
        if isinstance(generator, torch.Generator):
            return self.real[torch.randint(0, len(self.real), (n,), generator=generator).numpy()]
        return self.real[generator.integers(0, len(self.real), size=n)]  # the image's rng


def test_background_style_scale_and_layout():
    bg = np.zeros((10, 10, 3), np.uint8)
    bg[..., 0], bg[..., 1], bg[:5, :, 2], bg[5:, :, 2] = 255, 0, 0, 255
    style = background_style(bg)
    assert style.dtype == np.float32 and style.shape == (len(STYLE_STATS) * 3,)
    mean, std, p10, p90 = style.reshape(len(STYLE_STATS), 3)
    assert np.allclose(mean, [1, -1, 0]) and np.allclose(std, [0, 0, 1])
    assert np.allclose(p10, [1, -1, -1]) and np.allclose(p90, [1, -1, 1])
    grey16 = np.full((4, 4), 65535, np.uint16)
    assert np.allclose(background_style(grey16), [1, 0, 1, 1])
    with pytest.raises(ValueError, match='expected'):
        background_style(grey16, ImageFormat('uint8', 3))


def test_sco_styles_are_their_images_clean_background_styles(fluo_subset):
    ann_file, img_dir = fluo_subset
    ds = build_sco_dataset(ann_file, img_dir, size=32, with_images=False, with_styles=True,
                           seed=4, progress=False)
    assert ds.styles.shape == (len(ds), len(STYLE_STATS) * ds.fmt.channels)
    record = load_coco_instances(ann_file, img_dir)[0]
    clean = remove_cells(read_image(record.path), record.masks, np.random.default_rng(4))
    first = [i for i, s in enumerate(ds.sources) if s.startswith(record.file_name + '#')]
    assert first and np.array_equal(ds.styles[first], np.stack([background_style(clean)]
                                                               * len(first)))
    assert len({s.tobytes() for s in ds.styles}) > 1  # one code per source image
    assert build_sco_dataset(ann_file, img_dir, size=32, with_images=False,
                             progress=False).styles is None


def test_same_mask_and_seed_on_two_backgrounds_gives_two_cells(sco32,
                                                               fluo_stats_and_backgrounds):
    stats, _ = fluo_stats_and_backgrounds
    backgrounds = [np.full((64, 64, 3), PINK, np.uint8), np.full((64, 64, 3), GREY, np.uint8)]
    cells = _cells(COND, sco32.fmt, sco32.fill)
    gen = SAAAGenerator(RealMasks(sco32.masks, SizeDistribution(sco32.sizes), sco32.fill),
                        cells, stats, backgrounds)
    assert np.array_equal(gen.background_style(1), background_style(backgrounds[1]))
    assert gen.background_style(1) is gen.background_style(1)  # cached per background
    a = gen.sample_cells(3, sample_rng(0, 0), style=gen.background_style(0))
    b = gen.sample_cells(3, sample_rng(0, 0), style=gen.background_style(1))
    for cell_a, cell_b in zip(a, b):
        assert np.array_equal(cell_a.masks, cell_b.masks)
        assert np.abs(cell_a.image.astype(int) - cell_b.image.astype(int)).mean() > 1
    again = gen.sample_cells(3, sample_rng(0, 0), style=gen.background_style(0))
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, again))
    # compose_cells passes the chosen background's style itself.
    composed = gen.compose_cells(1, sample_rng(0, 1))
    assert composed.image.shape == backgrounds[1].shape and composed.n_cells > 0


def test_conditioned_model_learns_the_stain_of_the_background(sco32):
    ds = _two_stain_dataset(sco32)
    trainer = Pix2PixTrainer(ds, replace(COND, dropout=0.0), batch_size=8, lr=2e-3,
                             lambda_vgg=0, seed=1)
    for it in range(60):
        trainer.step(it)
    cells = CellSynthesizer(trainer.netG, trainer.cfg, ds.fmt, ds.fill)
    mask = ds.masks[:1]
    for style, cell in ((_style(PINK), PURPLE), (_style(GREY), DARK)):
        _, image = cells.synthesize(mask, style=style)
        colour = image[0][mask[0]].reshape(-1, 3).mean(axis=0)
        assert np.abs(colour - cell).max() < 30, (colour, cell)


def test_conditioned_checkpoint_round_trip(sco32, tmp_path):
    ds = _two_stain_dataset(sco32)
    trainer = Pix2PixTrainer(ds, COND, batch_size=8, lambda_vgg=0, seed=2,
                             extra_masks=sco32.masks[-6:], extra_batch=3)
    assert trainer.batch_styles(0).shape == (8, 12)
    assert trainer.extra_batch_styles(0, 3).shape == (3, 12)
    trainer.step(0)
    path = save_checkpoint(trainer.state_dict(1, 2), tmp_path / 'pix2pix.pth')
    state = load_checkpoint(path, PIX2PIX_KIND)
    assert state['config']['condition'] == 'background_style'
    cells = CellSynthesizer.from_checkpoint(path)
    assert cells.conditioned and cells.cfg == COND
    assert all(torch.equal(v, cells.net.state_dict()[k])
               for k, v in trainer.netG.state_dict().items())
    resumed = Pix2PixTrainer.from_checkpoint(state, ds)
    assert resumed.cfg.condition == 'background_style'
    other = replace(ds, styles=ds.styles[::-1].copy())  # same pixels, other codes
    with pytest.raises(ValueError, match='different data'):
        Pix2PixTrainer.from_checkpoint(state, other)
    with pytest.raises(ValueError, match='with_styles=True'):
        Pix2PixTrainer(replace(ds, styles=None), COND, lambda_vgg=0)


def test_old_checkpoint_without_condition_loads_unconditioned(sco32, tmp_path):
    ds = replace(sco32, masks=sco32.masks[:16], images=sco32.images[:16],
                 sizes=sco32.sizes[:16], sources=sco32.sources[:16])
    trainer = Pix2PixTrainer(ds, PLAIN, batch_size=8, lambda_vgg=0)
    state = trainer.state_dict(1, 1)
    del state['config']['condition']  # as written before the field existed
    path = save_checkpoint(state, tmp_path / 'old.pth')
    cells = CellSynthesizer.from_checkpoint(path)
    assert cells.cfg.condition == 'none' and not cells.conditioned
    masks, images = cells.synthesize(ds.masks[:2])
    assert images.shape == (2, 32, 32, 3)
    resumed = Pix2PixTrainer.from_checkpoint(load_checkpoint(path, PIX2PIX_KIND), ds)
    assert resumed.fingerprint == trainer.fingerprint  # unconditioned data fingerprint kept
    with pytest.raises(ValueError, match='unconditioned'):
        cells.synthesize(ds.masks[:2], style=_style(GREY))
    # A checkpoint really written before the field existed (the bundled tiny model).
    shipped = Path(__file__).resolve().parents[1] / 'data' / 'saaa_tiny' / 'pix2pix.pth'
    assert 'condition' not in load_checkpoint(shipped, PIX2PIX_KIND)['config']
    old = CellSynthesizer.from_checkpoint(shipped)
    assert not old.conditioned and old.synthesize(ds.masks[:1])[1].shape == (1, 32, 32, 3)


def test_conditioned_model_without_style_raises(sco32):
    cells = _cells(COND, sco32.fmt, sco32.fill)
    with pytest.raises(ValueError, match="conditioned on 'background_style'.*needs the style"):
        cells.synthesize(sco32.masks[:2])
    with pytest.raises(ValueError, match='expected'):
        cells.synthesize(sco32.masks[:2], style=np.zeros(5, np.float32))
    with pytest.raises(ValueError, match='condition must be one of'):
        Pix2PixConfig(condition='colour')


def test_training_tool_condition_option(fluo_subset, tmp_path):
    import importlib.util

    path = Path(__file__).resolve().parents[2] / 'tools' / 'saaa_train_pix2pix.py'
    spec = importlib.util.spec_from_file_location('saaa_train_pix2pix', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ann_file, img_dir = fluo_subset
    base = ['--ann-file', str(ann_file), '--img-dir', str(img_dir), '--work-dir',
            str(tmp_path), '--size', '32', '--batch-size', '8', '--no-progress',
            '--ngf', '8', '--ndf', '8', '--lambda-vgg', '0', '--context', 'raw',
            '--sample-interval', '2', '--ckpt-interval', '2']
    tool.main(base + ['--iters', '2', '--condition', 'background_style'])
    assert (tmp_path / 'samples' / 'pix2pix_iter_000002.png').is_file()
    tool.main(base + ['--iters', '3', '--resume'])  # the condition comes from the checkpoint
    state = load_checkpoint(tmp_path / 'pix2pix.pth', PIX2PIX_KIND)
    assert state['iter'] == 3 and state['config']['condition'] == 'background_style'
    assert 'ignored' in (tmp_path / 'train_pix2pix.log').read_text()
