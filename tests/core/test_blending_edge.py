"""Edge modes of the feathered paste: ``edge='inside'`` keeps alpha 1 on the whole mask, so
a pasted cell shows its whole mask box; ``'blur'`` (default) stays as it was."""
import numpy as np
import pytest

from mmaug_is.core import feather_alpha, feathered_paste

CELL, RIM, BACKGROUND = 200, 100, 20  # rim: under half contrast even at alpha 1


def disc_crop(radius=9, layout=()):
    """Tight crop of a disc cell (``CELL`` grey levels; one pixel on each extreme row and
    column, as round cells have) whose off-mask corners hold a ``RIM`` level;
    returns ``(image, mask)``."""
    yy, xx = np.mgrid[:2 * radius + 1, :2 * radius + 1]
    mask = (yy - radius) ** 2 + (xx - radius) ** 2 <= radius ** 2
    image = np.where(mask, CELL, RIM).astype(np.uint8)
    return np.broadcast_to(image.reshape(image.shape + (1,) * len(layout)),
                           image.shape + layout).copy(), mask


def visible_box(canvas):
    """xyxy box of the pixels above half the cell's contrast over the flat background."""
    grey = canvas if canvas.ndim == 2 else canvas[..., 0]
    ys, xs = np.nonzero(np.abs(grey.astype(int) - BACKGROUND) > (CELL - BACKGROUND) / 2)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


@pytest.mark.parametrize('sigma', [0.5, 1.0, 2.0, 3.0])
def test_inside_alpha_is_one_on_the_mask_and_feathers_only_outside(sigma, fluo_bank):
    masks = [disc_crop()[1]] + [obj.mask_union for obj in fluo_bank.objects[:20]]
    for mask in masks:
        inside = feather_alpha(mask, sigma, edge='inside')
        blur = feather_alpha(mask, sigma, edge='blur')
        assert inside.dtype == np.float32 and (inside[mask] == 1).all()
        np.testing.assert_array_equal(inside[~mask], blur[~mask])  # same feather outside
        assert (blur[mask] < 1).any()


def test_blur_is_the_default_and_hard_paste_ignores_the_edge():
    _, mask = disc_crop()
    np.testing.assert_array_equal(feather_alpha(mask, 1.0), feather_alpha(mask, 1.0, 'blur'))
    np.testing.assert_array_equal(feather_alpha(mask, 0, 'inside'), feather_alpha(mask, 0))


@pytest.mark.parametrize('layout', [(), (1,), (3,)])
def test_inside_paste_shows_the_whole_mask_box_on_a_flat_background(layout):
    image, mask = disc_crop(layout=layout)
    ys, xs = np.nonzero(mask)
    x, y = 11, 7
    mask_box = (xs.min() + x, ys.min() + y, xs.max() + 1 + x, ys.max() + 1 + y)
    boxes = {}
    for edge in ('blur', 'inside'):
        canvas = np.full((40, 50) + layout, BACKGROUND, np.uint8)
        feathered_paste(canvas, image, mask, x, y, sigma=1.0, edge=edge)
        boxes[edge] = visible_box(canvas)
    assert boxes['inside'] == mask_box
    left, top, right, bottom = boxes['blur']  # today's paste hides outer mask pixels
    assert left > mask_box[0] and top > mask_box[1]
    assert right < mask_box[2] and bottom < mask_box[3]


def test_inside_paste_respects_protected_pixels():
    image, mask = disc_crop()
    canvas = np.full((40, 50), BACKGROUND, np.uint8)
    protect = np.zeros((40, 50), bool)
    protect[10:14, :] = True
    feathered_paste(canvas, image, mask, 11, 7, sigma=1.0, protect=protect, edge='inside')
    assert (canvas[protect] == BACKGROUND).all() and (canvas == CELL).any()


def test_unknown_edge_is_refused():
    _, mask = disc_crop()
    with pytest.raises(ValueError, match="feather_alpha: edge must be one of"):
        feather_alpha(mask, 1.0, edge='outside')
    with pytest.raises(ValueError, match='edge'):
        feathered_paste(np.zeros((40, 50), np.uint8), disc_crop()[0], mask, 0, 0, 1.0,
                        edge='soft')
