"""Appearance conditioning of the SAAA Pix2Pix (beyond the paper): the background and image
style vectors, conditioned networks, checkpoints old and new, and generation on real
backgrounds (with the cell statistics of each background's real image)."""
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mmaug_is.core import load_coco_instances, read_image, remove_cells, write_image
from mmaug_is.core.io import encode_masks
from mmaug_is.core.style import cell_statistics, channel_statistics
from mmaug_is.saaa.generator import CellSynthesizer, MaskGenerator, SAAAGenerator
from mmaug_is.saaa.mask_data import (STYLE_STATS, ImageFormat, SizeDistribution,
                                     background_style, build_sco_dataset, condition_style,
                                     image_style)
from mmaug_is.saaa.mask_ddpm import MaskDDPM, MaskDDPMConfig, MaskFilter
from mmaug_is.saaa.pix2pix import Pix2PixConfig, UNetGenerator
from mmaug_is.saaa.train_loop import load_checkpoint, save_checkpoint
from mmaug_is.saaa.trainers import PIX2PIX_KIND, Pix2PixTrainer
from mmaug_is.synth import sample_rng

# trains models, runs tools or builds many configs: `make test-fast` leaves it out
pytestmark = pytest.mark.slow

COND = Pix2PixConfig(image_size=32, out_channels=3, ngf=8, ndf=8, n_layers_d=2,
                     condition='background_style')
PLAIN = replace(COND, condition='none')
IMAGE = replace(COND, condition='image_style')
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


# ----------------------------------------------------------------- condition='image_style'
def test_image_style_is_background_style_then_cell_statistics():
    image = np.full((20, 20, 3), 10, np.uint8)
    image[2:6, 2:6] = (200, 100, 50)
    image[10:14, 10:14] = (100, 100, 150)
    masks = np.zeros((2, 20, 20), bool)
    masks[0, 2:6, 2:6] = masks[1, 10:14, 10:14] = True
    background = np.full((20, 20, 3), 12, np.uint8)
    cells = cell_statistics(image, masks)
    assert np.array_equal(cells, channel_statistics(image, masks.any(axis=0)))
    mean, std, p10, p90 = cells.reshape(len(STYLE_STATS), 3)
    assert np.allclose(mean, np.array([150, 100, 100]) / 255 * 2 - 1, atol=1e-6)
    assert np.allclose(std, np.array([50, 0, 50]) / 255 * 2, atol=1e-6)
    assert np.allclose(p10, np.array([100, 100, 50]) / 255 * 2 - 1, atol=1e-6)
    assert np.allclose(p90, np.array([200, 100, 150]) / 255 * 2 - 1, atol=1e-6)
    style = image_style(background, cells)
    assert style.dtype == np.float32 and style.shape == (2 * len(STYLE_STATS) * 3,)
    assert np.array_equal(style, np.concatenate([background_style(background), cells]))
    assert np.array_equal(condition_style('image_style', background, cells), style)
    assert np.array_equal(condition_style('background_style', background, cells),
                          background_style(background))  # cell statistics not used there
    assert condition_style('none', background) is None
    assert IMAGE.style_dim == 24 and COND.style_dim == 12 and PLAIN.style_dim == 0
    # An image without cells has NaN statistics, which no style accepts.
    empty = cell_statistics(image, np.zeros((0, 20, 20), bool))
    assert empty.shape == (12,) and np.isnan(empty).all()
    with pytest.raises(ValueError, match='no cell pixels'):
        image_style(background, empty)
    with pytest.raises(ValueError, match='needs the statistics'):
        image_style(background, None)
    with pytest.raises(ValueError, match='expected'):
        image_style(background, cells[:4])


def _write_two_brightness_set(root):
    """Two 64 px images: same dark noisy background, 4 round cells each, grey level 60 in
    ``dim.png`` and 200 in ``bright.png``. Returns ``(ann_file, img_dir)``."""
    img_dir = root / 'images'
    img_dir.mkdir(parents=True)
    yy, xx = np.mgrid[:64, :64]
    noise = np.random.default_rng(0).integers(5, 25, (64, 64)).astype(np.uint8)
    images, annotations = [], []
    for image_id, (name, level) in enumerate((('dim.png', 60), ('bright.png', 200)), 1):
        image = np.repeat(noise[..., None], 3, axis=2)
        masks = np.stack([(yy - cy) ** 2 + (xx - cx) ** 2 <= 25
                          for cy, cx in ((16, 16), (16, 46), (46, 16), (46, 46))])
        image[masks.any(axis=0)] = level
        write_image(img_dir / name, image)
        images.append(dict(id=image_id, file_name=name, height=64, width=64))
        for k, (mask, rle) in enumerate(zip(masks, encode_masks(masks))):
            ys, xs = np.nonzero(mask)
            annotations.append(dict(
                id=10 * image_id + k, image_id=image_id, category_id=1, iscrowd=0,
                area=int(mask.sum()), segmentation=dict(size=rle['size'],
                                                        counts=rle['counts'].decode()),
                bbox=[int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1,
                      int(np.ptp(ys)) + 1]))
    ann_file = root / 'train.json'
    ann_file.write_text(json.dumps(dict(images=images, annotations=annotations,
                                        categories=[dict(id=1, name='nucleus')])))
    return ann_file, img_dir


def test_sco_image_styles_tell_cell_brightness_apart(tmp_path):
    ann_file, img_dir = _write_two_brightness_set(tmp_path)
    kwargs = dict(size=32, with_images=False, with_styles=True, seed=3, progress=False)
    by_image = build_sco_dataset(ann_file, img_dir, style='image_style', **kwargs)
    by_background = build_sco_dataset(ann_file, img_dir, **kwargs)  # background_style
    assert len(by_image) == 8 and by_image.styles.shape == (8, 24)
    dim = np.array([s.startswith('dim.png#') for s in by_image.sources])
    assert dim.sum() == 4
    for group in (dim, ~dim):  # one code per source image
        assert len({s.tobytes() for s in by_image.styles[group]}) == 1
    # The first half is the background style, the second the image's real cells.
    assert np.array_equal(by_image.styles[:, :12], by_background.styles)
    for record in load_coco_instances(ann_file, img_dir):
        rows = np.array([s.startswith(record.file_name + '#') for s in by_image.sources])
        cells = cell_statistics(read_image(record.path), record.masks)
        assert np.array_equal(by_image.styles[rows, 12:], np.stack([cells] * rows.sum()))
    a, b = by_image.styles[dim][0], by_image.styles[~dim][0]
    assert np.allclose(a[12:15], 60 / 255 * 2 - 1) and np.allclose(b[12:15], 200 / 255 * 2 - 1)
    # The backgrounds alone barely tell the two images apart; their cells do.
    bg_gap = np.abs(by_background.styles[dim][0] - by_background.styles[~dim][0]).max()
    assert bg_gap < 0.05 < 1.0 < np.abs(a[12:] - b[12:]).max()
    with pytest.raises(ValueError, match='style must be one of'):
        build_sco_dataset(ann_file, img_dir, style='none', **kwargs)


def test_image_style_model_learns_cell_brightness_on_alike_backgrounds(sco32):
    """Fluorescence-like: one dark background, dim or bright cells. The cell statistics of
    the image style tell the model which to paint."""
    n = 48
    masks, dim = sco32.masks[:n], np.arange(n) < n // 2
    images = np.full((n, 32, 32, 3), 15, np.uint8)
    images[masks & dim[:, None, None]] = 60
    images[masks & ~dim[:, None, None]] = 200
    background = np.full((16, 16, 3), 15, np.uint8)
    codes = {}
    for is_dim, level in ((True, 60), (False, 200)):
        cell = np.full((4, 4, 3), level, np.uint8)
        codes[is_dim] = image_style(background, cell_statistics(cell, np.ones((1, 4, 4), bool)))
    ds = replace(sco32, masks=masks, images=images, sizes=sco32.sizes[:n],
                 sources=sco32.sources[:n], styles=np.stack([codes[d] for d in dim]))
    trainer = Pix2PixTrainer(ds, replace(IMAGE, dropout=0.0), batch_size=8, lr=2e-3,
                             lambda_vgg=0, seed=1)
    for it in range(60):
        trainer.step(it)
    cells = CellSynthesizer(trainer.netG, trainer.cfg, ds.fmt, ds.fill)
    for is_dim, level in ((True, 60), (False, 200)):
        _, image = cells.synthesize(masks[:1], style=codes[is_dim])
        assert abs(image[0][masks[0]].mean() - level) < 30, (image[0][masks[0]].mean(), level)


def test_image_style_generation_uses_each_backgrounds_cell_statistics(
        sco32, fluo_stats_and_backgrounds):
    stats, real_backgrounds = fluo_stats_and_backgrounds
    background = real_backgrounds[0]
    backgrounds = [background, background.copy(), background.copy()]
    dim, bright = np.full(12, -0.8, np.float32), np.full(12, 0.6, np.float32)
    nan = np.full(12, np.nan, np.float32)
    cells = _cells(IMAGE, sco32.fmt, sco32.fill)
    masks = RealMasks(sco32.masks, SizeDistribution(sco32.sizes), sco32.fill)
    gen = SAAAGenerator(masks, cells, stats, backgrounds, cell_stats=[dim, bright, nan])
    for i, expected in enumerate((dim, bright)):
        assert np.array_equal(gen.background_style(i), image_style(backgrounds[i], expected))
    # An image without cells borrows the statistics of the most alike background (the
    # first of equals).
    assert np.array_equal(gen.background_style(2), gen.background_style(0))
    # compose_cells paints with the chosen background's style.
    seen = []
    synthesize = cells.synthesize

    def recording(masks, style=None):
        seen.append(style)
        return synthesize(masks, style=style)

    cells.synthesize = recording
    composed = [gen.compose_cells(i, sample_rng(0, 5)) for i in (0, 1)]
    assert np.array_equal(seen[0], gen.background_style(0))
    assert np.array_equal(seen[1], gen.background_style(1))
    # Same masks and positions, different cells: the statistics change the painting.
    assert np.array_equal(composed[0].masks, composed[1].masks)
    assert np.abs(composed[0].image.astype(int) - composed[1].image.astype(int)).max() > 0
    with pytest.raises(ValueError, match="'image_style' and needs cell_stats"):
        SAAAGenerator(masks, cells, stats, backgrounds)
    with pytest.raises(ValueError, match='one row per background'):
        SAAAGenerator(masks, cells, stats, backgrounds, cell_stats=[dim, bright])
    with pytest.raises(ValueError, match='no background comes from an image with cells'):
        SAAAGenerator(masks, cells, stats, backgrounds, cell_stats=[nan] * 3)
    # Other models ignore the statistics: a background_style model's code is unchanged.
    plain_bg = SAAAGenerator(masks, _cells(COND, sco32.fmt, sco32.fill), stats, backgrounds,
                             cell_stats=[dim, bright, nan])
    assert np.array_equal(plain_bg.background_style(1), background_style(backgrounds[1]))


def test_image_style_checkpoint_and_training_tool(fluo_subset, tmp_path):
    import importlib.util

    path = Path(__file__).resolve().parents[2] / 'tools' / 'saaa_train_pix2pix.py'
    spec = importlib.util.spec_from_file_location('saaa_train_pix2pix', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ann_file, img_dir = fluo_subset
    tool.main(['--ann-file', str(ann_file), '--img-dir', str(img_dir), '--work-dir',
               str(tmp_path), '--size', '32', '--batch-size', '8', '--no-progress', '--ngf',
               '8', '--ndf', '8', '--lambda-vgg', '0', '--context', 'raw', '--iters', '2',
               '--sample-interval', '2', '--ckpt-interval', '2', '--condition', 'image_style'])
    state = load_checkpoint(tmp_path / 'pix2pix.pth', PIX2PIX_KIND)
    assert state['config']['condition'] == 'image_style'
    cells = CellSynthesizer.from_checkpoint(tmp_path / 'pix2pix.pth')
    assert cells.conditioned and cells.cfg.style_dim == 24
    record = load_coco_instances(ann_file, img_dir)[0]
    image = read_image(record.path)
    clean = remove_cells(image, record.masks, np.random.default_rng(0))
    style = cells.style_of(clean, cell_statistics(image, record.masks))
    assert style.shape == (24,)
    # Resuming rebuilds the image styles and checks them against the fingerprint.
    ds = build_sco_dataset(ann_file, img_dir, size=32, context='raw', with_styles=True,
                           style='image_style', seed=0, progress=False)
    assert cells.synthesize(ds.masks[:2], style=style)[1].shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match='needs the statistics'):
        cells.style_of(clean)
    resumed = Pix2PixTrainer.from_checkpoint(state, ds, perceptual='none')
    assert resumed.cfg.condition == 'image_style'
    with pytest.raises(ValueError, match='do not match'):  # background codes only
        Pix2PixTrainer.from_checkpoint(state, replace(ds, styles=ds.styles[:, :12]),
                                       perceptual='none')


def test_background_style_checkpoint_unchanged_by_image_style(sco32, tmp_path):
    """A 'background_style' checkpoint keeps its 12-value code and its outputs."""
    ds = _two_stain_dataset(sco32)
    trainer = Pix2PixTrainer(ds, COND, batch_size=8, lambda_vgg=0, seed=2)
    path = save_checkpoint(trainer.state_dict(0, 1), tmp_path / 'pix2pix.pth')
    cells = CellSynthesizer.from_checkpoint(path)
    background = np.full((16, 16, 3), GREY, np.uint8)
    style = cells.style_of(background)
    assert np.array_equal(style, background_style(background)) and style.shape == (12,)
    assert np.array_equal(cells.style_of(background, np.zeros(12, np.float32)), style)
    with torch.no_grad():
        direct = trainer.netG.eval()(torch.from_numpy(ds.masks[:2, None] * 2.0 - 1.0).float(),
                                     torch.from_numpy(np.stack([style] * 2)))
    _, images = cells.synthesize(ds.masks[:2], style=style)
    expected = np.rint((direct.numpy().transpose(0, 2, 3, 1) + 1) / 2 * 255)
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1
    assert _cells(PLAIN, sco32.fmt, sco32.fill).style_of(background) is None


def test_assets_keep_cell_statistics_per_background(sample_root, tmp_path):
    from mmaug_is.synth import RealAssets
    from mmaug_is.synth.assets import CELL_STATS_FILE

    ann_file, img_dir = sample_root / 'annotations' / 'train.json', sample_root / 'images'
    assets, folder = RealAssets.cached(ann_file, img_dir, tmp_path, progress=False)
    records = load_coco_instances(ann_file, img_dir)
    expected = np.stack([cell_statistics(read_image(r.path), r.masks) for r in records])
    assert assets.background_sources == [r.file_name for r in records]
    assert np.array_equal(assets.cell_stats, expected)
    assert np.array_equal(RealAssets.load(folder).cell_stats, expected)
    # A folder written before the statistics existed: same key, completed on demand.
    (folder / CELL_STATS_FILE).unlink()
    assert RealAssets.load(folder).cell_stats is None
    assert RealAssets.cached(ann_file, img_dir, tmp_path, progress=False)[0].cell_stats is None
    again, same = RealAssets.cached(ann_file, img_dir, tmp_path, progress=False,
                                    with_cell_stats=True)
    assert same == folder and np.array_equal(again.cell_stats, expected)
    assert np.array_equal(RealAssets.load(folder).cell_stats, expected)
    with pytest.raises(ValueError, match='do not match'):
        RealAssets.compute_cell_stats(ann_file, img_dir, assets.background_sources[::-1],
                                      progress=False)


def test_saaa_dataset_gives_an_image_style_model_its_backgrounds_cells(sample_root, sco32,
                                                                        tmp_path):
    from mmaug_is.datasets import SAAADataset
    from mmaug_is.synth import RealAssets

    ds = replace(sco32, styles=np.random.default_rng(0).normal(
        0, 0.3, (len(sco32), 24)).astype(np.float32))
    trainer = Pix2PixTrainer(ds, IMAGE, batch_size=8, lambda_vgg=0, seed=0)
    ckpt = save_checkpoint(trainer.state_dict(0, 1), tmp_path / 'pix2pix.pth')
    tiny = Path(__file__).resolve().parents[1] / 'data' / 'saaa_tiny'
    source = dict(ann_file=str(sample_root / 'annotations' / 'train.json'),
                  img_dir=str(sample_root / 'images'))
    dataset = SAAADataset(
        source=source, mask_checkpoint=tiny / 'mask_ddpm.pth', pix2pix_checkpoint=ckpt,
        num_samples=2, cache_root=str(tmp_path / 'cache'), mode='online',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='PackDetInputs')],
        lazy_init=True, generator=dict(steps=4, mask_bank=8))
    generator = dataset.generator
    assets, _ = RealAssets.cached(source['ann_file'], source['img_dir'],
                                  tmp_path / 'cache', progress=False)
    assert np.array_equal(generator.cell_stats, assets.cell_stats)
    for i in (0, len(assets.backgrounds) - 1):
        assert np.array_equal(generator.background_style(i),
                              image_style(assets.backgrounds[i], assets.cell_stats[i]))
    sample = generator.generate(0, 0)
    assert sample.image.shape == assets.backgrounds[0].shape


def test_conditioning_bench_keeps_the_other_metrics_section(tmp_path):
    import importlib.util

    path = Path(__file__).resolve().parents[2] / 'benchmarks' / 'bench_saaa_conditioning.py'
    spec = importlib.util.spec_from_file_location('bench_saaa_conditioning', path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    md = tmp_path / 'bench.md'
    md.write_text(bench.TITLE + '\n\nold colour results\n')  # written before the sections
    bench.replace_section(md, 'brightness', ['## fluo', 'brightness v1'])
    text = md.read_text()
    assert 'old colour results' in text and 'brightness v1' in text
    bench.replace_section(md, 'brightness', ['## fluo', 'brightness v2'])
    bench.replace_section(md, 'colour', ['## bf', 'colour v2'])
    text = md.read_text()
    assert text.startswith(bench.TITLE) and text.count(bench.TITLE) == 1
    assert 'brightness v2' in text and 'colour v2' in text
    assert 'v1' not in text and 'old colour' not in text
    assert text.index('colour v2') < text.index('brightness v2')
    assert bench.parse_models(['a=x.pth', 'b=y.pth']) == {'a': Path('x.pth'), 'b': Path('y.pth')}
    with pytest.raises(SystemExit):
        bench.parse_models(['a=x.pth'])
    assert bench.parse_models(['a=x.pth'], texture=True) == \
        {'a': Path('x.pth'), 'a+texture': Path('x.pth')}
