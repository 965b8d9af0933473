"""Augmentation ops: every op on uint8/uint16 x grey/RGB layouts, mask alignment, dtype range;
the functional ops against the op table; ``register_op``."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

import mmaug_is.core as core
from mmaug_is.core.ops import (DEFAULT_SEARCH_OPS, GEOMETRIC, GEOMETRY_MODES, N_LEVELS, OPS,
                               PHOTOMETRIC, RIM_PX, TABLE_S1_OPS, apply_op, background_fill,
                               background_value, get_op, register_op)
from mmaug_is.core.policy import Policy, SubPolicy, load_policies, save_policies

LAYOUTS = [(), (1,), (3,)]
DTYPES = [np.uint8, np.uint16]


def _masks(h=48, w=40):
    """Three disjoint instances: an L shape (asymmetric), a disc touching it, a small box."""
    masks = np.zeros((3, h, w), bool)
    masks[0, 6:30, 5:10] = True
    masks[0, 25:30, 10:20] = True
    yy, xx = np.mgrid[:h, :w]
    masks[1] = ((yy - 16) ** 2 + (xx - 27) ** 2 < 64) & ~masks[0]
    masks[2, 36:42, 20:27] = True
    return masks


def _image(dtype, layout, masks, seed=0):
    """Textured image, brighter inside the masks, in the full range of ``dtype``."""
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    h, w = masks.shape[1:]
    base = 0.15 + 0.6 * masks.any(0) + 0.1 * rng.random((h, w))
    if layout == (3,):
        img = np.stack([base, base * 0.8, base * 0.6], axis=-1)
    else:
        img = base.reshape((h, w) + layout)
    return np.clip(img * top, 0, top).astype(dtype)


@pytest.mark.parametrize('name', sorted(OPS))
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('geometry', GEOMETRY_MODES)
def test_every_op_keeps_dtype_layout_and_masks(name, dtype, layout, geometry):
    masks = _masks()
    image = _image(dtype, layout, masks)
    image_before, masks_before = image.copy(), masks.copy()
    op = get_op(name)
    for level in (0, N_LEVELS // 2, N_LEVELS - 1):
        out, out_masks = op.apply(image, masks, level, np.random.default_rng(level), geometry)
        assert out.dtype == dtype and out.ndim == image.ndim and out.shape[2:] == image.shape[2:]
        assert out_masks.dtype == bool and out_masks.shape == (3,) + out.shape[:2]
        assert out_masks.any(axis=(1, 2)).all(), f'{name} level {level} emptied an instance'
        assert out_masks.sum(axis=0).max() <= 1, f'{name} made disjoint masks overlap'
        if op.kind == PHOTOMETRIC:
            np.testing.assert_array_equal(out_masks, masks)
        assert not np.shares_memory(out, image) and not np.shares_memory(out_masks, masks)
    np.testing.assert_array_equal(image, image_before)  # inputs untouched
    np.testing.assert_array_equal(masks, masks_before)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_flips_equal_numpy(layout):
    masks = _masks()
    image = _image(np.uint16, layout, masks)
    out, out_masks = apply_op('FlipLR', image, masks, 0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, np.fliplr(image))
    np.testing.assert_array_equal(out_masks, masks[:, :, ::-1])
    out, out_masks = apply_op('FlipUD', image, masks, 0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, np.flipud(image))
    np.testing.assert_array_equal(out_masks, masks[:, ::-1])
    assert not np.array_equal(out_masks, masks)  # the L shape is not symmetric


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('layout', LAYOUTS)
def test_rotations_by_right_angles_are_exact(dtype, layout):
    masks = _masks()  # 48 x 40: the canvas turns to 40 x 48
    image = _image(dtype, layout, masks)
    for angle, turns in [(90.0, 1), (-90.0, -1), (180.0, 2), (270.0, 3)]:
        out, out_masks = core.rotate(image, masks, angle)
        np.testing.assert_array_equal(out, np.rot90(image, turns))  # counter-clockwise
        np.testing.assert_array_equal(out_masks, np.rot90(masks, turns, axes=(1, 2)))
    out, out_masks = get_op('Rotate').apply(image, masks, N_LEVELS - 1,
                                            np.random.default_rng(3))  # +-180
    np.testing.assert_array_equal(out, np.rot90(image, 2))
    np.testing.assert_array_equal(out_masks, np.rot90(masks, 2, axes=(1, 2)))


@pytest.mark.parametrize('name', ['Rotate', 'ShearX', 'ShearY', 'Resize', 'TranslateX',
                                  'TranslateY', 'CropBilinear'])
def test_geometric_ops_move_image_and_masks_together(name):
    """The image is 255 exactly on the masks; after the op it must still coincide with them."""
    masks = _masks(64, 64)
    image = (masks.any(0) * 255).astype(np.uint8)
    for level in range(1, N_LEVELS):
        for seed in range(3):
            out, out_masks = apply_op(name, image, masks, level, np.random.default_rng(seed))
            union = out_masks.any(0)
            bright = out > 127
            iou = (union & bright).sum() / (union | bright).sum()
            assert iou > 0.9, f'{name} level {level}: image/mask IoU {iou:.3f}'


def test_rotation_and_shear_enlarge_the_canvas_so_nothing_is_cut():
    masks = np.zeros((1, 30, 30), bool)
    masks[0] = True  # the instance fills the whole crop: any cut would lose area
    image = np.full((30, 30), 200, np.uint8)
    for name, params in [('Rotate', {'magnitude': 45.0}), ('ShearX', {'magnitude': 0.3}),
                         ('ShearY', {'magnitude': -0.3})]:
        out, out_masks = get_op(name).apply_params(image, masks, params)
        assert out.shape[0] > 30 or out.shape[1] > 30
        assert abs(out_masks.sum() / masks.sum() - 1) < 0.06, name  # area-preserving maps
        # every source corner pixel maps inside the canvas: the mask reaches all four sides
        assert out_masks[0].any(0)[[0, -1]].all() or out_masks[0].any(1)[[0, -1]].all()


@pytest.mark.parametrize('dtype', DTYPES)
def test_new_canvas_area_gets_the_background_level(dtype):
    """Bright (brightfield-like) background, dark cell: no dark corners, no smeared cell."""
    scale = 257 if dtype == np.uint16 else 1
    masks = np.zeros((1, 30, 30), bool)
    yy, xx = np.mgrid[:30, :30]
    masks[0] = (yy - 15) ** 2 + (xx - 15) ** 2 < 100
    image = np.where(masks[0, ..., None], [40, 30, 60], [200, 190, 180]).astype(dtype) * scale
    out, out_masks = get_op('Rotate').apply_params(image, masks, {'magnitude': 45.0})
    np.testing.assert_array_equal(out[0, 0], np.array([200, 190, 180]) * scale)
    out, out_masks = get_op('TranslateX').apply(image, masks, N_LEVELS - 1,
                                                np.random.default_rng(0))
    shift = out.shape[1] - 30
    assert shift == 9  # 0.3 * width
    left = out_masks[0].any(0).nonzero()[0][0] == masks[0].any(0).nonzero()[0][0]
    new_cols = out[:, 30:] if left else out[:, :shift]
    assert (new_cols == np.array([200, 190, 180], dtype) * scale).all()
    kept = out[:, :30] if left else out[:, shift:]
    np.testing.assert_array_equal(kept, image)


def test_overlapping_masks_are_warped_one_by_one():
    masks = np.zeros((2, 40, 40), bool)
    masks[0, 5:25, 5:25] = True
    masks[1, 15:35, 15:35] = True
    image = np.zeros((40, 40), np.uint8)
    op = get_op('Rotate')
    _, out_masks = op.apply_params(image, masks, {'magnitude': 30.0})
    for i in range(2):
        _, single = op.apply_params(image, masks[i:i + 1], {'magnitude': 30.0})
        np.testing.assert_array_equal(out_masks[i], single[0])
    assert (out_masks.sum(0) == 2).any()


def test_no_instances_and_tiny_instances():
    image = np.zeros((20, 20, 3), np.uint8)
    out, out_masks = apply_op('Rotate', image, np.zeros((0, 20, 20), bool), 5,
                              np.random.default_rng(0))
    assert out_masks.shape == (0,) + out.shape[:2]
    tiny = np.zeros((1, 20, 20), bool)
    tiny[0, 9, 9] = True  # one pixel shrunk to half size must not vanish
    _, out_masks = get_op('Resize').apply_params(image, tiny, {'magnitude': -0.5})
    assert out_masks.sum() == 1


def test_real_objects_keep_every_instance_at_every_level(fluo_bank):
    objects = fluo_bank.scos[:25] + fluo_bank.mcos[:15]
    for name, op in OPS.items():
        if op.kind != GEOMETRIC:
            continue
        for level in range(N_LEVELS):
            rng = np.random.default_rng(level)
            for obj in objects:
                _, out_masks = op.apply(obj.image, obj.masks, level, rng)
                area_in = obj.masks.sum(axis=(1, 2))
                area_out = out_masks.sum(axis=(1, 2))
                scale = 1.0
                if name == 'Resize':
                    scale = out_masks.shape[1] * out_masks.shape[2] / obj.masks[0].size
                ratio = area_out / (area_in * scale)
                assert (ratio > 0.5).all() and (ratio < 2).all(), (name, level, obj.source)
                assert out_masks.sum(axis=0).max() <= 1


def test_uint16_uses_the_full_16_bit_range():
    rng = np.random.default_rng(0)
    masks = np.zeros((1, 32, 32), bool)
    img16 = rng.integers(1000, 5000, size=(32, 32), dtype=np.uint16)  # 12-bit-like data
    posterized, _ = get_op('Posterize').apply(img16, masks, N_LEVELS - 1, rng)
    assert (posterized % 4096 == 0).all()  # 12 of 16 bits cleared
    posterized8, _ = get_op('Posterize').apply(img16.astype(np.uint8), masks, N_LEVELS - 1, rng)
    assert (posterized8 % 64 == 0).all()  # 6 of 8 bits cleared
    equalized, _ = get_op('Equalize').apply(img16, masks, N_LEVELS - 1, rng)
    assert equalized.max() > 60000 and equalized.min() < 2000
    stretched, _ = get_op('AutoContrast').apply(img16, masks, 0, rng)
    assert stretched.min() == 0 and stretched.max() == 65535
    inverted, _ = get_op('Invert').apply(img16, masks, 0, rng)
    np.testing.assert_array_equal(inverted, 65535 - img16)
    # Solarize threshold is relative to the dtype maximum: level 5 -> (1 - 5/9) * 65536
    bright = np.array([[10000, 40000]], np.uint16)
    sol, _ = get_op('Solarize').apply(bright, np.zeros((0, 1, 2), bool), 5, rng)
    np.testing.assert_array_equal(sol, [[10000, 65535 - 40000]])


def test_equalize_follows_pil_for_uint8_and_works_on_small_crops():
    rng = np.random.default_rng(1)
    image = (rng.beta(2, 5, size=(256, 256)) * 255).astype(np.uint8)
    out, _ = get_op('Equalize').apply(image, np.zeros((0, 256, 256), bool), N_LEVELS - 1, rng)
    pil = np.asarray(ImageOps.equalize(Image.fromarray(image))).astype(int)
    assert np.abs(out.astype(int) - pil).max() <= 2  # PIL rounds its step to an integer
    small = image[:10, :10]  # 100 pixels < 256 bins: PIL would return it unchanged
    out, _ = get_op('Equalize').apply(small, np.zeros((0, 10, 10), bool), N_LEVELS - 1, rng)
    assert out.max() >= 250 and out.min() == 0


def test_cutout_only_touches_background_and_keeps_masks():
    masks = _masks()
    image = _image(np.uint8, (3,), masks)
    inside = masks.any(0)
    changed_any = False
    for seed in range(20):
        out, out_masks = apply_op('Cutout', image, masks, N_LEVELS - 1, np.random.default_rng(seed))
        np.testing.assert_array_equal(out[inside], image[inside])
        np.testing.assert_array_equal(out_masks, masks)
        changed_any |= not np.array_equal(out, image)
    assert changed_any


def test_grey_images_stay_grey():
    masks = _masks()
    grey = _image(np.uint8, (), masks)
    rgb_grey = np.repeat(grey[..., None], 3, axis=2)
    for name in ('Color', 'GaussianNoise', 'Contrast', 'Sharpness'):
        out, _ = apply_op(name, rgb_grey, masks, N_LEVELS - 1, np.random.default_rng(0))
        assert (out[..., 0] == out[..., 1]).all() and (out[..., 0] == out[..., 2]).all(), name
    out, _ = apply_op('Color', rgb_grey, masks, N_LEVELS - 1, np.random.default_rng(0))
    np.testing.assert_array_equal(out, rgb_grey)
    colour = _image(np.uint8, (3,), masks)
    out, _ = apply_op('Color', colour, masks, N_LEVELS - 1, np.random.default_rng(0))
    assert not np.array_equal(out, colour)


@pytest.mark.parametrize('name', sorted(OPS))
def test_same_seed_same_output_and_recorded_decisions_replay(name):
    masks = _masks()
    image = _image(np.uint16, (3,), masks)
    op = get_op(name)
    a = op.apply(image, masks, 7, np.random.default_rng(42))
    b = op.apply(image, masks, 7, np.random.default_rng(42))
    params = op.sample(7, np.random.default_rng(42))
    c = op.apply_params(image, masks, params)
    for x, y in ((a, b), (a, c)):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])


def test_symmetric_ops_draw_both_signs_and_levels_map_linearly():
    rng = np.random.default_rng(0)
    signs = {np.sign(get_op('Rotate').sample(9, rng)['magnitude']) for _ in range(40)}
    assert signs == {-1.0, 1.0}
    rotate = get_op('Rotate')
    assert rotate.magnitude(0) == 0 and rotate.magnitude(N_LEVELS - 1) == 180
    assert np.isclose(rotate.magnitude(3), 60)
    assert not get_op('FlipLR').has_magnitude and get_op('Brightness').has_magnitude
    assert set(TABLE_S1_OPS) <= set(DEFAULT_SEARCH_OPS) <= set(OPS)


def test_bad_inputs_raise_clear_errors():
    masks = _masks()
    image = _image(np.uint8, (), masks)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match='uint8 or uint16'):
        apply_op('Rotate', image.astype(np.float32), masks, 1, rng)
    with pytest.raises(ValueError, match='do not match'):
        apply_op('Rotate', image, masks[:, :-1], 1, rng)
    with pytest.raises(TypeError, match='bool'):
        apply_op('Rotate', image, masks.astype(np.uint8), 1, rng)
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        apply_op('Rotate', np.zeros((48, 40, 2), np.uint8), masks, 1, rng)
    with pytest.raises(ValueError, match='level'):
        apply_op('Rotate', image, masks, N_LEVELS, rng)
    with pytest.raises(TypeError, match='level'):
        apply_op('Rotate', image, masks, 1.5, rng)
    with pytest.raises(KeyError, match='unknown augmentation op'):
        get_op('Twirl')


# ------------------------------------------------------------------ functional API
def _m(p):
    return p['magnitude']


# The documented level -> argument mapping (module docstring table), written out again here
# so the test checks the table against its documentation.
TABLE_ARGUMENTS = {
    'Identity': (core.identity, lambda im, p: ()),
    'FlipLR': (core.flip_lr, lambda im, p: ()),
    'FlipUD': (core.flip_ud, lambda im, p: ()),
    'Rotate': (core.rotate, lambda im, p: (_m(p),)),
    'ShearX': (core.shear_x, lambda im, p: (_m(p),)),
    'ShearY': (core.shear_y, lambda im, p: (_m(p),)),
    'TranslateX': (core.translate_x, lambda im, p: (int(round(_m(p) * im.shape[1])),)),
    'TranslateY': (core.translate_y, lambda im, p: (int(round(_m(p) * im.shape[0])),)),
    'Resize': (core.resize, lambda im, p: (1 + _m(p),)),
    'CropBilinear': (core.crop_bilinear, lambda im, p: (_m(p), p['u'], p['v'])),
    'AutoContrast': (core.auto_contrast, lambda im, p: (_m(p),)),
    'Equalize': (core.equalize, lambda im, p: (_m(p),)),
    'Posterize': (core.posterize, lambda im, p: (int(round(_m(p) * 8 * im.itemsize)),)),
    'Solarize': (core.solarize, lambda im, p: ((1 - _m(p)) * (np.iinfo(im.dtype).max + 1),)),
    'Invert': (core.invert, lambda im, p: ()),
    'Contrast': (core.contrast, lambda im, p: (1 + _m(p),)),
    'Brightness': (core.brightness, lambda im, p: (1 + _m(p),)),
    'Color': (core.color, lambda im, p: (1 + _m(p),)),
    'Sharpness': (core.sharpness, lambda im, p: (1 + _m(p),)),
    'Smooth': (core.smooth, lambda im, p: (_m(p),)),
    'GaussianBlur': (core.gaussian_blur, lambda im, p: (_m(p),)),
    'Gamma': (core.gamma, lambda im, p: (2 ** _m(p),)),
    'GaussianNoise': (core.gaussian_noise, lambda im, p: (
        _m(p) * (int(im.max()) - int(im.min())), p['seed'])),
    'Cutout': (core.cutout, lambda im, p: (int(round(_m(p) * min(im.shape[:2]))),
                                           p['u'] * im.shape[1], p['v'] * im.shape[0])),
}


def test_every_table_entry_calls_an_exported_functional_op():
    assert set(TABLE_ARGUMENTS) == set(OPS)
    for name, (fn, _) in TABLE_ARGUMENTS.items():
        assert OPS[name].fn is fn, name
        assert getattr(core, fn.__name__) is fn and fn.__name__ in core.__all__
        assert fn.__doc__, f'{fn.__name__} has no docstring'


@pytest.mark.parametrize('name', sorted(TABLE_ARGUMENTS))
@pytest.mark.parametrize('dtype, layout', [(np.uint8, ()), (np.uint16, (3,))])
def test_functional_op_is_deterministic_and_equals_the_table(name, dtype, layout):
    """``fn(image, masks, *arguments of the drawn magnitude)`` == ``OPS[name].apply``."""
    fn, arguments = TABLE_ARGUMENTS[name]
    masks = _masks()
    image = _image(dtype, layout, masks)
    for level in range(N_LEVELS):
        for seed in (0, 1):
            expected = OPS[name].apply(image, masks, level, np.random.default_rng(seed))
            args = arguments(image, OPS[name].sample(level, np.random.default_rng(seed)))
            for out, out_masks in (fn(image, masks, *args), fn(image, masks, *args)):
                np.testing.assert_array_equal(out, expected[0])
                np.testing.assert_array_equal(out_masks, expected[1])
                assert out.dtype == expected[0].dtype and out.shape == expected[0].shape


def test_functional_ops_take_keyword_arguments_and_validate_their_inputs():
    masks = _masks()
    image = _image(np.uint8, (3,), masks)
    by_keyword = core.gaussian_blur(image, masks, sigma=1.5)
    np.testing.assert_array_equal(by_keyword[0], core.gaussian_blur(image, masks, 1.5)[0])
    with pytest.raises(TypeError, match='rotate: image must be a uint8 or uint16'):
        core.rotate(image.astype(np.float32), masks, 10.0)
    with pytest.raises(ValueError, match='shear_x: masks .* do not match'):
        core.shear_x(image, masks[:, 1:], 0.1)
    for call, match in [
            (lambda: core.gaussian_blur(image, masks, -1.0), 'gaussian_blur: sigma'),
            (lambda: core.smooth(image, masks, -0.5), 'smooth: radius'),
            (lambda: core.posterize(image, masks, 9), r'posterize: bits must be in \[0, 8\]'),
            (lambda: core.resize(image, masks, 0.0), 'resize: scale'),
            (lambda: core.gamma(image, masks, 0.0), 'gamma: exponent'),
            (lambda: core.auto_contrast(image, masks, 50), 'auto_contrast: cutoff'),
            (lambda: core.crop_bilinear(image, masks, 1.0, 0.5, 0.5), 'crop_bilinear'),
            (lambda: core.cutout(image, masks, -3, 5.0, 5.0), 'cutout: side')]:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(TypeError):
        core.translate_x(image, masks, 2.5)  # a shift is a whole number of pixels


@pytest.mark.parametrize('layout', LAYOUTS)
def test_geometric_functional_ops_keep_image_and_masks_aligned(layout):
    masks = _masks()
    image = _image(np.uint16, layout, masks)
    out, out_masks = core.translate_x(image, masks, -7)  # left: new columns on the right
    np.testing.assert_array_equal(out[:, :40], image)
    np.testing.assert_array_equal(out_masks[:, :, :40], masks)
    assert not out_masks[:, :, 40:].any()
    out, out_masks = core.translate_y(image, masks, 5)  # down: new rows on top
    np.testing.assert_array_equal(out[5:], image)
    np.testing.assert_array_equal(out_masks[:, 5:], masks)
    out, out_masks = core.resize(image, masks, 2.0)
    assert out.shape[:2] == (96, 80)
    np.testing.assert_array_equal(out_masks, masks.repeat(2, axis=1).repeat(2, axis=2))
    for fn in (core.shear_x, core.shear_y, core.rotate):
        out, out_masks = fn(image, masks, 0)
        np.testing.assert_array_equal(out, image)
        np.testing.assert_array_equal(out_masks, masks)
    no_masks = np.zeros((0, 48, 40), bool)
    out, out_masks = core.crop_bilinear(image, no_masks, 0.5, 0.0, 1.0)  # bottom-left quarter
    assert out_masks.shape == (0, 48, 40)
    np.testing.assert_array_equal(out, core.resize(image[24:, :20], no_masks[:, 24:, :20],
                                                   2.0)[0])


def test_photometric_functional_ops_follow_their_definitions():
    masks = _masks()
    image = _image(np.uint8, (3,), masks)
    np.testing.assert_array_equal(core.invert(image, masks)[0], 255 - image)
    np.testing.assert_array_equal(core.posterize(image, masks, 3)[0], image & 0b11111000)
    np.testing.assert_array_equal(core.solarize(image, masks, 100)[0],
                                  np.where(image >= 100, 255 - image, image))
    np.testing.assert_array_equal(core.brightness(image, masks, 0.5)[0],
                                  np.rint(image * 0.5).astype(np.uint8))
    for fn in (core.contrast, core.brightness, core.color, core.sharpness, core.gamma):
        np.testing.assert_array_equal(fn(image, masks, 1.0)[0], image)  # factor 1: unchanged
    for fn in (core.smooth, core.gaussian_blur):
        np.testing.assert_array_equal(fn(image, masks, 0)[0], image)
    np.testing.assert_array_equal(core.equalize(image, masks, 0.0)[0], image)
    flat = core.contrast(image, masks, 0.0)[0]
    assert (flat == flat[0, 0]).all()  # factor 0: one grey level
    noisy = [core.gaussian_noise(image, masks, 10.0, seed)[0] for seed in (5, 5, 6)]
    np.testing.assert_array_equal(noisy[0], noisy[1])  # the seed is the only randomness
    assert not np.array_equal(noisy[0], noisy[2])


@pytest.mark.parametrize('dtype', DTYPES)
def test_cutout_fills_with_the_background_value(dtype):
    masks = _masks()
    image = _image(dtype, (3,), masks)
    out, out_masks = core.cutout(image, masks, 20, 20.0, 24.0)
    region = np.zeros(masks.shape[1:], bool)
    region[14:34, 10:30] = True
    region &= ~masks.any(0)
    assert region.any()
    np.testing.assert_array_equal(out[region], np.broadcast_to(
        background_value(image, masks), (region.sum(), 3)))
    np.testing.assert_array_equal(out[~region], image[~region])
    np.testing.assert_array_equal(out_masks, masks)


# ---------------------------------------------------------------------- register_op
@pytest.fixture
def op_table():
    """The op table, restored after the test (registrations are global)."""
    saved = dict(OPS)
    yield OPS
    OPS.clear()
    OPS.update(saved)


def add_offset(image, masks, offset):
    """Add ``offset`` grey levels (rounded), clipped to the dtype range."""
    top = np.iinfo(image.dtype).max
    shifted = image.astype(np.int64) + int(round(offset))
    return np.clip(shifted, 0, top).astype(image.dtype), masks.copy()


def transpose(image, masks):
    """Swap the x and y axes of image and masks."""
    return np.ascontiguousarray(np.swapaxes(image, 0, 1)), \
        np.ascontiguousarray(np.swapaxes(masks, 1, 2))


def test_registered_ops_work_in_policies_and_their_json(op_table, tmp_path):
    offset = register_op('AddOffset', add_offset, low=0, high=45, unit='grey levels',
                         symmetric=True)
    assert OPS['AddOffset'] is offset and offset.magnitude(N_LEVELS - 1) == 45
    register_op('Transpose', transpose, GEOMETRIC)
    masks = _masks()
    image = _image(np.uint8, (), masks)
    out, out_masks = apply_op('Transpose', image, masks, 0, np.random.default_rng(0))
    np.testing.assert_array_equal(out, image.T)
    np.testing.assert_array_equal(out_masks, masks.transpose(0, 2, 1))
    shifts = {int(apply_op('AddOffset', image, masks, 2, np.random.default_rng(s))[0][0, 0])
              - int(image[0, 0]) for s in range(10)}
    assert shifts == {-10, 10}  # level 2 -> 10 grey levels, random sign

    # extra draws and a custom argument mapping: a cutout in a random image corner
    register_op('CornerCutout', core.cutout, low=0.1, high=0.5, unit='side / W',
                sample_extra=lambda rng: {'corner': int(rng.integers(4))},
                arguments=lambda im, p: (int(round(p['magnitude'] * im.shape[1])),
                                         (p['corner'] % 2) * im.shape[1],
                                         (p['corner'] // 2) * im.shape[0]))
    params = OPS['CornerCutout'].sample(9, np.random.default_rng(1))
    assert set(params) == {'magnitude', 'corner'} and params['magnitude'] == 0.5
    out, _ = OPS['CornerCutout'].apply_params(image, masks, params)
    np.testing.assert_array_equal(out, core.cutout(image, masks, 20, (params['corner'] % 2) * 40,
                                                   (params['corner'] // 2) * 48)[0])

    policy = Policy((SubPolicy('AddOffset', 1.0, 9), SubPolicy('Transpose', 0.5, 0),
                     SubPolicy('CornerCutout', 0.5, 5), SubPolicy('Rotate', 0.5, 3)))
    path = save_policies(tmp_path / 'policies.json', [policy], scores=[0.5])
    loaded, = load_policies(path)
    assert loaded == policy and Policy.from_dict(policy.to_dict()) == policy
    for seed in range(4):
        a = policy.apply(image, masks, np.random.default_rng(seed))
        b = loaded.apply(image, masks, np.random.default_rng(seed))
        decisions = json.loads(json.dumps(loaded.decide(np.random.default_rng(seed))))
        c = Policy.replay(image, masks, decisions)
        for x, y in ((a, b), (a, c)):
            np.testing.assert_array_equal(x[0], y[0])
            np.testing.assert_array_equal(x[1], y[1])


def test_register_op_refuses_duplicates_and_bad_specs(op_table):
    with pytest.raises(ValueError, match="'Rotate' is already registered"):
        register_op('Rotate', add_offset, low=0, high=10)
    register_op('AddOffset', add_offset, low=0, high=10)
    with pytest.raises(ValueError, match="'AddOffset' is already registered"):
        register_op('AddOffset', add_offset, low=0, high=20)
    assert OPS['AddOffset'].high == 10  # the first registration stays
    with pytest.raises(ValueError, match='kind'):
        register_op('Warp', transpose, 'geometrical')
    with pytest.raises(TypeError, match='callable'):
        register_op('Nothing', None)
    with pytest.raises(ValueError, match='finite'):
        register_op('Huge', add_offset, low=0, high=float('inf'))
    assert not {'Warp', 'Nothing', 'Huge'} & set(OPS)


def test_registered_ops_that_break_the_contract_are_caught(op_table):
    masks = _masks()
    image = _image(np.uint8, (), masks)
    rng = np.random.default_rng(0)
    register_op('ToFloat', lambda image, masks: (image.astype(np.float32), masks))
    with pytest.raises(TypeError, match='op ToFloat output'):
        apply_op('ToFloat', image, masks, 0, rng)
    register_op('DropFirst', lambda image, masks: (image.copy(), masks[1:].copy()))
    with pytest.raises(ValueError, match='DropFirst changed the number of instances'):
        apply_op('DropFirst', image, masks, 0, rng)
    register_op('GreyToRgb', lambda image, masks: (np.dstack([image] * 3), masks.copy()))
    with pytest.raises(ValueError, match='GreyToRgb changed the image layout'):
        apply_op('GreyToRgb', image, masks, 0, rng)
    register_op('Shrink', lambda image, masks: (image[1:].copy(), masks[:, 1:].copy()))
    with pytest.raises(ValueError, match='photometric op Shrink changed the image size'):
        apply_op('Shrink', image, masks, 0, rng)


# ------------------------------------------------------- geometry='consistent' (issue 17)
GEOMETRIC_WITH_MAGNITUDE = ['Rotate', 'ShearX', 'ShearY', 'Resize', 'TranslateX',
                            'TranslateY', 'CropBilinear']


def _disc_crop(radius=9):
    """Tight crop of a bright disc cell (200) with a 2 px rim (120) and dark corners (20)."""
    yy, xx = np.mgrid[:2 * radius + 1, :2 * radius + 1]
    mask = (yy - radius) ** 2 + (xx - radius) ** 2 <= radius ** 2
    rim = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) <= 2
    return np.where(mask, 200, np.where(rim, 120, 20)).astype(np.uint8), mask[None]


def _footprint(image, name, params):
    """``(H', W')`` bool: output pixels that come from the input canvas (not new area)."""
    whole = np.ones((1,) + image.shape[:2], bool)
    return get_op(name).apply_params(image, whole, params, 'consistent')[1][0]


@pytest.mark.parametrize('name', GEOMETRIC_WITH_MAGNITUDE)
def test_consistent_geometry_puts_cell_pixels_exactly_on_the_masks(name):
    """Image 255 on the masks: after the op, the re-thresholded image is the masks' union."""
    masks = _masks(64, 64)
    image = (masks.any(0) * 255).astype(np.uint8)
    for level in range(1, N_LEVELS):
        for seed in range(3):
            out, out_masks = apply_op(name, image, masks, level, np.random.default_rng(seed),
                                      'consistent')
            np.testing.assert_array_equal(out > 127, out_masks.any(0), err_msg=f'{level}')


def test_consistent_rotation_of_real_crops_matches_the_thresholded_image(fluo_bank):
    for obj in fluo_bank.scos[:20] + fluo_bank.mcos[:10]:
        cells = (obj.mask_union * 255).astype(np.uint8)
        for angle in (17.0, -45.0, 80.0, 133.0):
            out, out_masks = core.rotate(cells, obj.masks, angle, geometry='consistent')
            np.testing.assert_array_equal(out > 127, out_masks.any(0))
            assert out_masks.sum(axis=0).max() <= 1 and out_masks.any(axis=(1, 2)).all()
            real, _ = core.rotate(obj.image, obj.masks, angle, geometry='consistent')
            fill = background_fill(obj.image, obj.masks)
            new_values = set(np.unique(real)) - set(np.unique(obj.image)) - set(fill.tolist())
            assert not new_values  # every output pixel copies an input pixel or the fill


@pytest.mark.parametrize('name, params', [('Rotate', {'magnitude': 45.0}),
                                          ('ShearX', {'magnitude': 0.3}),
                                          ('ShearY', {'magnitude': -0.3}),
                                          ('TranslateX', {'magnitude': 0.3}),
                                          ('TranslateY', {'magnitude': -0.3})])
def test_consistent_fills_new_canvas_area_with_background_not_rim(name, params):
    image, masks = _disc_crop()
    assert background_value(image, masks) == 120  # the crop's outside pixels are mostly rim
    assert background_fill(image, masks) == 20
    new_area = ~_footprint(image, name, params)
    assert new_area.any()
    consistent, _ = get_op(name).apply_params(image, masks, params, 'consistent')
    legacy, _ = get_op(name).apply_params(image, masks, params)
    assert (consistent[new_area] == 20).all()
    assert np.median(legacy[new_area]) == 120  # (its bilinear edge mixes in input pixels)


def test_background_fill_uses_pixels_away_from_the_cells():
    masks = _masks(64, 64)
    image = _image(np.uint16, (3,), masks)
    distance = cv2.distanceTransform((~masks.any(0)).astype(np.uint8), cv2.DIST_L2,
                                     cv2.DIST_MASK_PRECISE)
    far = image[distance >= RIM_PX]
    np.testing.assert_array_equal(background_fill(image, masks),
                                  np.rint(np.median(far, axis=0)).astype(np.uint16))
    dark_cell = (255 - _disc_crop()[0], _disc_crop()[1])  # dark cell, bright background
    assert background_fill(*dark_cell) == 235
    everything = np.ones((1, 8, 8), bool)
    np.testing.assert_array_equal(background_fill(image[:8, :8], everything),
                                  background_value(image[:8, :8], everything))


@pytest.mark.parametrize('name', sorted(OPS))
def test_geometry_modes_draw_the_same_numbers(name):
    """Same rng consumption in both modes; photometric ops and flips give the same pixels."""
    masks = _masks()
    image = _image(np.uint8, (3,), masks)
    op = get_op(name)
    rngs = {g: np.random.default_rng(5) for g in GEOMETRY_MODES}
    outs = {g: op.apply(image, masks, 6, rngs[g], g) for g in GEOMETRY_MODES}
    assert rngs['legacy'].random() == rngs['consistent'].random()
    if op.kind == PHOTOMETRIC or name.startswith('Flip'):
        np.testing.assert_array_equal(outs['legacy'][0], outs['consistent'][0])
    np.testing.assert_array_equal(outs['legacy'][1].shape, outs['consistent'][1].shape)


def test_unknown_geometry_is_refused():
    masks = _masks()
    image = _image(np.uint8, (), masks)
    with pytest.raises(ValueError, match='rotate: geometry must be one of'):
        core.rotate(image, masks, 30.0, geometry='smooth')
    with pytest.raises(ValueError, match='Brightness: geometry must be one of'):
        apply_op('Brightness', image, masks, 3, np.random.default_rng(0), 'smooth')


def test_registered_geometric_ops_without_the_keyword_still_work_in_legacy(op_table):
    register_op('Transpose', transpose, GEOMETRIC)
    masks = _masks()
    image = _image(np.uint8, (), masks)
    out, _ = apply_op('Transpose', image, masks, 0, np.random.default_rng(0), 'legacy')
    np.testing.assert_array_equal(out, image.T)
    with pytest.raises(TypeError, match='geometry'):
        apply_op('Transpose', image, masks, 0, np.random.default_rng(0), 'consistent')
