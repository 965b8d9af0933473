"""Mask sampling and the SAAA generator: shapes, dtypes, exact masks, determinism, loading."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from mmaug_is.core import ObjectBank, load_coco_instances
from mmaug_is.saaa.generator import (CellSynthesizer, MaskGenerator, SAAAGenerator,
                                     reframe_masks)
from mmaug_is.saaa.mask_data import ImageFormat, SizeDistribution
from mmaug_is.saaa.mask_ddpm import (MaskDDPM, MaskDDPMConfig, MaskFilter, MaskSamplingError,
                                     sample_clean_masks)
from mmaug_is.saaa.texture import CellTexture
from mmaug_is.saaa.size import CellSize
from mmaug_is.saaa.tone import CellTone, background_level
from mmaug_is.saaa.pix2pix import Pix2PixConfig, UNetGenerator
from mmaug_is.saaa.train_loop import save_checkpoint
from mmaug_is.saaa.trainers import MaskDDPMTrainer, Pix2PixTrainer
from mmaug_is.synth import sample_rng

TINY_DDPM = MaskDDPMConfig(image_size=32, block_out_channels=(8, 16, 16), attention_levels=(2,),
                           num_train_timesteps=40)


class ScriptedModel:
    """Stands in for ``MaskDDPM.sample``: returns prepared raw batches in order."""

    def __init__(self, batches):
        self.batches, self.calls = list(batches), 0

    def sample(self, n, generator, sampler='ddim', steps=50):
        batch = self.batches[min(self.calls, len(self.batches) - 1)][:n]
        self.calls += 1
        return torch.from_numpy(batch[:, None])


def _raw(n, valid):
    raw = -np.ones((n, 32, 32), np.float32)
    if valid:
        raw[:, 8:24, 10:22] = 1
    else:
        raw[:, 0:10, 0:10] = 1  # touches the border
    return raw


def test_sample_clean_masks_retries_then_errors():
    filt = MaskFilter(area_low=50, area_high=400)
    model = ScriptedModel([_raw(3, False), _raw(3, True)])
    masks = sample_clean_masks(model, filt, 3, torch.Generator(), max_retries=2)
    assert masks.shape == (3, 32, 32) and masks.dtype == bool and model.calls == 2
    assert (masks.sum(axis=(1, 2)) == 16 * 12).all()
    with pytest.raises(MaskSamplingError, match=r"0/3 valid masks after 2 retries.*touches border"):
        sample_clean_masks(ScriptedModel([_raw(3, False)]), filt, 3, torch.Generator(),
                           max_retries=2)


@pytest.mark.parametrize('sampler,steps', [('ddim', 4), ('ddpm', None)])
def test_raw_samples_shapes_and_range(sampler, steps):
    torch.manual_seed(0)
    model = MaskDDPM(TINY_DDPM).eval()
    out = model.sample(2, torch.Generator().manual_seed(1), sampler=sampler, steps=steps)
    again = model.sample(2, torch.Generator().manual_seed(1), sampler=sampler, steps=steps)
    assert out.shape == (2, 1, 32, 32) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1
    assert torch.equal(out, again)
    with pytest.raises(ValueError, match='unknown sampler'):
        model.sample(1, torch.Generator(), sampler='euler')


class RealMasks(MaskGenerator):
    """A mask source drawing real canonical SCO masks (the DDPM is tested separately)."""

    def __init__(self, masks, sizes, fill):
        super().__init__(MaskDDPM(TINY_DDPM), MaskFilter(0, 1e9), sizes, fill)
        self.real = masks

    def sample(self, n, generator):
        return self.real[generator.integers(0, len(self.real), size=n)]  # the image's rng


def _generator(sco32, stats, backgrounds, fmt=None, **kwargs):
    fmt = fmt or sco32.fmt
    torch.manual_seed(0)
    cfg = Pix2PixConfig(image_size=32, out_channels=fmt.channels, ngf=8, ndf=8)
    cells = CellSynthesizer(UNetGenerator(cfg), cfg, fmt, sco32.fill)
    masks = RealMasks(sco32.masks, SizeDistribution(sco32.sizes), sco32.fill)
    return SAAAGenerator(masks, cells, stats, backgrounds, **kwargs)


def _generated(gen, seed, index):
    sample = gen.generate(seed, index)
    return sample.image, sample.masks


def test_generated_images_and_masks(sco32, fluo_stats_and_backgrounds):
    stats, backgrounds = fluo_stats_and_backgrounds
    gen = _generator(sco32, stats, backgrounds, max_cells=30)
    image, masks = _generated(gen, 0, 0)
    assert image.dtype == np.uint8 and image.shape == backgrounds[0].shape
    assert masks.dtype == bool and masks.ndim == 3 and masks.shape[1:] == image.shape[:2]
    assert 0 < len(masks) <= 30
    assert masks.any(axis=(1, 2)).all()
    assert masks.sum(axis=0).max() == 1  # no two instances share a pixel
    image2, masks2 = _generated(gen, 0, 0)
    assert np.array_equal(image, image2) and np.array_equal(masks, masks2)
    image3, _ = _generated(gen, 0, 1)
    assert not np.array_equal(image, image3)


def test_composed_masks_are_the_unfiltered_generated_masks(sco32, fluo_stats_and_backgrounds):
    stats, backgrounds = fluo_stats_and_backgrounds
    gen = _generator(sco32, stats, backgrounds, max_cells=12, spacing=3)
    rng = sample_rng(7, 0)
    composed = gen.compose_cells(gen.draw_frame(rng), rng)
    # Replay the generator's random decisions to get the objects it placed.
    rng = sample_rng(7, 0)
    background = backgrounds[int(rng.integers(len(backgrounds)))]
    n = min(stats.sample_cell_count(rng), 12)
    objects = gen.sample_cells(n, rng, max_side=min(background.shape[:2]) - 2)
    assert len(objects) == n and all(o.kind == 'sco' for o in objects)
    assert composed.n_cells == n - len(composed.skipped)
    for mask, (index, x, y) in zip(composed.masks, composed.placements):
        cell = objects[index].masks[0]
        h, w = cell.shape
        assert np.array_equal(mask[y:y + h, x:x + w], cell)
        assert mask.sum() == cell.sum()  # nothing outside the placed crop
    # Cells keep real sizes: each box's longer side is a real SCO size (up to 1 px).
    real_long = set(sco32.sizes.max(axis=1).tolist())
    for obj in objects:
        long_side = max(obj.masks.shape[1:])
        assert {long_side, long_side + 1} & real_long


def test_inside_edge_keeps_the_masks_and_paints_every_mask_pixel(sco32,
                                                                  fluo_stats_and_backgrounds):
    """``edge='inside'``: the same cells at the same places; only the blend changes, and
    every mask pixel shows the painted cell (alpha 1), not a mix with the background."""
    stats, backgrounds = fluo_stats_and_backgrounds
    blurred = _generator(sco32, stats, backgrounds, max_cells=12).compose_cells(
        0, sample_rng(3, 0))
    inside = _generator(sco32, stats, backgrounds, max_cells=12, edge='inside')
    composed = inside.compose_cells(0, sample_rng(3, 0))
    assert np.array_equal(composed.masks, blurred.masks)
    assert not np.array_equal(composed.image, blurred.image)
    rng = sample_rng(3, 0)
    n = min(stats.sample_cell_count(rng), 12)
    objects = inside.sample_cells(n, rng, max_side=min(backgrounds[0].shape[:2]) - 2,
                                  style=inside.background_style(0))
    for mask, (index, x, y) in zip(composed.masks, composed.placements):
        cell = objects[index]
        h, w = cell.masks.shape[1:]
        window = composed.image[y:y + h, x:x + w]
        assert np.array_equal(window[cell.masks[0]], cell.image[cell.masks[0]])
    with pytest.raises(ValueError, match='edge must be one of'):
        _generator(sco32, stats, backgrounds, edge='hard')


def test_uint16_grey_generation(sco32, fluo_stats_and_backgrounds):
    stats, backgrounds = fluo_stats_and_backgrounds
    grey16 = [bg[..., 0].astype(np.uint16) * 257 for bg in backgrounds]
    gen = _generator(sco32, stats, grey16, fmt=ImageFormat('uint16', 1), max_cells=8)
    image, masks = _generated(gen, 3, 0)
    assert image.dtype == np.uint16 and image.shape == grey16[0].shape
    assert masks.shape[1:] == image.shape and len(masks) > 0
    with pytest.raises(ValueError, match='background 0'):
        _generator(sco32, stats, backgrounds, fmt=ImageFormat('uint16', 1))


def test_reframe_masks_moves_masks_between_frames(sco32):
    out = reframe_masks(sco32.masks[:5], 64, 0.5)
    for mask in out:
        ys, xs = np.nonzero(mask)
        assert abs(max(np.ptp(ys), np.ptp(xs)) + 1 - 32) <= 1


def test_from_checkpoints(sco32, fluo_stats_and_backgrounds, tmp_path):
    stats, backgrounds = fluo_stats_and_backgrounds
    mask_trainer = MaskDDPMTrainer(sco32, TINY_DDPM, batch_size=8)
    mask_trainer.step(0)
    p2p_trainer = Pix2PixTrainer(sco32, Pix2PixConfig(image_size=32, ngf=8, ndf=8),
                                 batch_size=8, lambda_vgg=0)
    p2p_trainer.step(0)
    mask_ckpt = save_checkpoint(mask_trainer.state_dict(1, 1), tmp_path / 'mask_ddpm.pth')
    p2p_ckpt = save_checkpoint(p2p_trainer.state_dict(1, 1), tmp_path / 'pix2pix.pth')
    stats.save(tmp_path / 'stats.json')
    for stats_arg in (stats, stats.to_dict(), tmp_path / 'stats.json'):
        gen = SAAAGenerator.from_checkpoints(mask_ckpt, p2p_ckpt, stats_arg, backgrounds,
                                             sampler='ddpm', steps=10, mask_bank=None)
        assert gen.stats.cell_counts == stats.cell_counts
    ema = mask_trainer.ema.state_dict()
    loaded = gen.masks.model.state_dict()
    assert all(torch.equal(ema[k], loaded[k]) for k in ema)
    assert all(torch.equal(v, gen.cells.net.state_dict()[k])
               for k, v in p2p_trainer.netG.state_dict().items())
    assert gen.cells.fmt == sco32.fmt and gen.masks.sampler == 'ddpm' and gen.masks.bank is None
    assert np.array_equal(gen.masks.sizes.sizes, sco32.sizes)
    with pytest.raises(TypeError, match='cells-per-image'):
        SAAAGenerator.from_checkpoints(mask_ckpt, p2p_ckpt, ObjectBank(), backgrounds)
    with pytest.raises(ValueError, match='is not a'):
        SAAAGenerator.from_checkpoints(p2p_ckpt, p2p_ckpt, stats, backgrounds)


def test_image_without_cells(sco32, fluo_stats_and_backgrounds):
    stats, backgrounds = fluo_stats_and_backgrounds
    gen = _generator(sco32, replace(stats, cell_counts=[0]), backgrounds[:1])
    image, masks = _generated(gen, 0, 0)
    assert np.array_equal(image, backgrounds[0])
    assert masks.shape == (0,) + image.shape[:2] and masks.dtype == bool


def test_generator_with_texture_is_reproducible_and_changes_only_cells(
        sco32, fluo_stats_and_backgrounds, fluo_subset_bank):
    stats, backgrounds = fluo_stats_and_backgrounds
    texture = CellTexture.fit(fluo_subset_bank.scos)
    plain = _generator(sco32, stats, backgrounds, max_cells=10)
    grainy = _generator(sco32, stats, backgrounds, max_cells=10, texture=texture.to_dict())
    assert grainy.texture == texture and 'texture' in repr(grainy)
    image, masks = _generated(grainy, 3, 0)
    again, masks_again = _generated(grainy, 3, 0)
    assert np.array_equal(image, again) and np.array_equal(masks, masks_again)
    plain_image, _ = _generated(plain, 3, 0)
    assert not np.array_equal(image, plain_image)
    rng = sample_rng(3, 0)
    index = grainy.draw_frame(rng)
    cells = grainy.cells_for(index, 4, rng, max_side=60)
    assert all(c.image.dtype == np.uint8 for c in cells)
    with pytest.raises(ValueError, match='texture must be None'):
        _generator(sco32, stats, backgrounds, texture='real')


def test_generator_with_tone_gives_each_cell_a_drawn_real_contrast(
        sco32, fluo_stats_and_backgrounds, fluo_subset, fluo_subset_bank):
    stats, backgrounds = fluo_stats_and_backgrounds
    sources = [r.file_name for r in load_coco_instances(*fluo_subset)[:len(backgrounds)]]
    tone = CellTone.fit(fluo_subset_bank, backgrounds, sources)
    toned = _generator(sco32, stats, backgrounds, max_cells=10, tone=tone.to_dict())
    assert toned.tone == tone and 'tone' in repr(toned)
    image, masks = _generated(toned, 3, 0)
    again, masks_again = _generated(toned, 3, 0)
    assert np.array_equal(image, again) and np.array_equal(masks, masks_again)
    plain_image, _ = _generated(_generator(sco32, stats, backgrounds, max_cells=10), 3, 0)
    assert not np.array_equal(image, plain_image)
    cells = toned.cells_for(0, 6, sample_rng(3, 1), max_side=60)
    rng = sample_rng(3, 1)
    drawn = tone.draw(0, rng, 6)  # cells_for's first draws, then the cells as painted
    painted = toned.sample_cells(6, rng, max_side=60)
    level = background_level(backgrounds[0])
    for cell, plain, contrast in zip(cells, painted, drawn):
        expected = CellTone.apply(plain.image, plain.masks[0], level, contrast)
        assert np.array_equal(cell.image, expected)
    assert any(not np.array_equal(c.image, p.image) for c, p in zip(cells, painted))
    with pytest.raises(ValueError, match='tone must be None'):
        _generator(sco32, stats, backgrounds, tone='real')
    with pytest.raises(ValueError, match='needs the background level'):
        toned.sample_cells(2, sample_rng(0, 0), contrasts=np.ones(2))


def test_generator_with_size_gives_each_cell_a_real_size_of_its_background(
        sco32, fluo_stats_and_backgrounds, fluo_subset, fluo_subset_bank):
    stats, backgrounds = fluo_stats_and_backgrounds
    sources = [r.file_name for r in load_coco_instances(*fluo_subset)[:len(backgrounds)]]
    size = CellSize.fit(fluo_subset_bank, sources)
    sized = _generator(sco32, stats, backgrounds, max_cells=10, size=size.to_dict())
    assert sized.size == size and 'sides' in repr(sized)
    image, masks = _generated(sized, 3, 0)
    again, masks_again = _generated(sized, 3, 0)
    assert np.array_equal(image, again) and np.array_equal(masks, masks_again)
    for index in range(len(backgrounds)):
        cells = sized.cells_for(index, 6, sample_rng(3, index), max_side=60)
        drawn = size.draw(index, sample_rng(3, index), 6)  # cells_for's first draw
        assert [max(c.masks[0].shape) for c in cells] == list(np.minimum(drawn, 60))
    with pytest.raises(ValueError, match='size must be None'):
        _generator(sco32, stats, backgrounds, size='real')
