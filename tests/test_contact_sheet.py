"""The one contact-sheet renderer: dtypes, grey/RGB, mask outlines, captions, empty inputs."""
import numpy as np
import pytest

from mmaug_is.core.io import read_image
from mmaug_is.synth.contact_sheet import (LETTERBOX_GREY, Tile, draw_overlay, render_sheet,
                                          render_tile, to_display, write_contact_sheet)


def _cells():
    """A 20x30 RGB uint8 image with two square instances, and their masks."""
    image = np.full((20, 30, 3), 30, np.uint8)
    masks = np.zeros((2, 20, 30), bool)
    masks[0, 2:8, 3:9] = True
    masks[1, 10:16, 18:26] = True
    return image, masks


def test_to_display_scales_each_dtype_to_uint8_rgb():
    grey16 = np.array([[0, 257, 65535]], np.uint16)
    np.testing.assert_array_equal(to_display(grey16)[0, :, 0], [0, 1, 255])
    assert to_display(grey16).shape == (1, 3, 3)
    np.testing.assert_array_equal(to_display(np.array([[True, False]]))[0, :, 1], [255, 0])
    np.testing.assert_array_equal(to_display(np.array([[0.0, 0.5, 2.0]]))[0, :, 2],
                                  [0, 128, 255])
    assert to_display(np.zeros((4, 5, 1), np.uint8)).shape == (4, 5, 3)
    with pytest.raises(ValueError, match=r'shape \(4, 5, 4\)'):
        to_display(np.zeros((4, 5, 4), np.uint8))
    with pytest.raises(ValueError, match='int32'):
        to_display(np.zeros((4, 5), np.int32))


def test_overlay_outlines_instances_and_accepts_zero_masks():
    image, masks = _cells()
    before = image.copy()
    drawn = draw_overlay(image, masks, alpha=0.0)
    np.testing.assert_array_equal(image, before)  # the caller's array is not drawn into
    assert (drawn[2, 3:9] != 30).any(axis=1).all()  # the outline of instance 0
    assert (drawn[4, 5] == 30).all()                # its inside stays as it was
    for empty in (np.zeros((0, 20, 30), bool), [], None):
        np.testing.assert_array_equal(draw_overlay(image, empty), image)
    with pytest.raises(ValueError, match='do not match'):
        draw_overlay(image, np.zeros((1, 10, 10), bool))


def test_tile_letterboxes_grey_uint16_and_draws_a_caption():
    tall = np.full((40, 10), 65535, np.uint16)
    cell = render_tile(tall, 32)
    assert cell.shape == (32, 32, 3) and cell.dtype == np.uint8
    assert (cell[:, 16] == 255).all() and (cell[:, 0] == LETTERBOX_GREY).all()
    captioned = render_tile(Tile(tall, caption='7'), 32)
    assert (captioned[-8:] != cell[-8:]).any() and (captioned[:8] == cell[:8]).all()


def test_sheet_layout_labels_title_and_empty_rows():
    image, masks = _cells()
    rows = [('first\nsecond line', [image, Tile(image, masks, tint=0.4), image[..., 0]]),
            ('', [])]
    sheet = render_sheet(rows, tile=32, gap=2, label_width=50, max_cols=2)
    assert sheet.shape == (2 + 2 * 34, 50 + 2 + 2 * 34, 3)
    titled = render_sheet(rows, tile=32, gap=2, title='a title')
    assert titled.shape[0] == sheet.shape[0] + 14 + 2 and titled.shape[1] > 2 + 3 * 34
    with pytest.raises(ValueError, match='no rows'):
        render_sheet([])


def test_write_contact_sheet_with_an_image_of_zero_instances(tmp_path):
    image, masks = _cells()
    grey16 = (image[..., 0].astype(np.uint16) * 257)
    items = [(image, masks), (grey16, np.zeros((0, 20, 30), bool)), (image[..., 0], [])]
    path = write_contact_sheet(tmp_path / 'sheet.png', items, n_cols=2, tile=40, gap=4)
    sheet = read_image(path)
    assert sheet.dtype == np.uint8 and sheet.shape == (4 + 2 * 44, 4 + 4 * 44, 3)
    with pytest.raises(ValueError, match='sheet2.png'):
        write_contact_sheet(tmp_path / 'sheet2.png', [])
