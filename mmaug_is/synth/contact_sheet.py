"""Pictures for a person: images beside their instance masks, as one PNG."""
import cv2
import numpy as np

from ..core.io import write_image


def to_display(image):
    """``(H, W[, C])`` uint8/uint16 -> ``(H, W, 3)`` uint8 RGB, scaled by the dtype's range."""
    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


def instance_colours(n, seed=7):
    """``(n, 3)`` uint8 distinct bright colours (fixed for a given ``n``)."""
    hues = (np.arange(n) * 0.618033988749895 + seed * 0.1) % 1.0
    hsv = np.stack([hues * 179, np.full(n, 200), np.full(n, 255)], 1).astype(np.uint8)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0]


def draw_overlay(image, masks, alpha=0.45):
    """``image`` with each instance of ``masks`` ``(N, H, W)`` tinted and outlined (RGB uint8)."""
    canvas = to_display(image).astype(np.float32)
    masks = np.asarray(masks, dtype=bool)
    colours = instance_colours(len(masks))
    for mask, colour in zip(masks, colours):
        canvas[mask] = (1 - alpha) * canvas[mask] + alpha * colour
    out = canvas.astype(np.uint8)
    for mask, colour in zip(masks, colours):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, tuple(int(c) for c in colour), 1)
    return out


def write_contact_sheet(path, items, n_cols=4, tile=256, gap=4):
    """Write a PNG grid: for each ``(image, masks)`` in ``items`` the image then its overlay.

    Tiles are resized to ``tile`` pixels on their long side. Returns the path.
    """
    if not items:
        raise ValueError(f'{path}: nothing to draw')
    tiles = []
    for image, masks in items:
        for picture in (to_display(image), draw_overlay(image, masks)):
            h, w = picture.shape[:2]
            scale = tile / max(h, w)
            resized = cv2.resize(picture, (max(1, round(w * scale)), max(1, round(h * scale))),
                                 interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
            cell = np.full((tile, tile, 3), 255, np.uint8)
            cell[:resized.shape[0], :resized.shape[1]] = resized
            tiles.append(cell)
    cols = n_cols * 2
    rows = -(-len(tiles) // cols)
    sheet = np.full((rows * (tile + gap) + gap, cols * (tile + gap) + gap, 3), 255, np.uint8)
    for i, cell in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = gap + r * (tile + gap), gap + c * (tile + gap)
        sheet[y:y + tile, x:x + tile] = cell
    write_image(path, sheet)
    return path
