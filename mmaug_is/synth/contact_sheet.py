"""Contact sheets: grids of image tiles for a person to look at, as one RGB picture.

The one renderer of the package (synthetic caches, policy search, SAAA training samples,
FID/KID inputs). A sheet is a list of rows ``(label, cells)``; a cell is an image or a
``Tile`` (image + optional instance masks, tint and caption). Images are bool, uint8,
uint16 (shown over their dtype's range) or float in [0, 1], grey ``(H, W)`` /
``(H, W, 1)`` or RGB ``(H, W, 3)``. Each is letterboxed into a ``tile`` x ``tile`` px
square (nearest neighbour when enlarged, area averaging when shrunk); its masks are scaled
the same way and outlined at display resolution. An image with zero masks is drawn plain.
"""
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.io import write_image

SHEET_GREY = 255        # sheet background (white)
LETTERBOX_GREY = 40     # tile background around an image (shows the image's extent)
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.38
LINE_HEIGHT = 14        # px per text line at FONT_SCALE
TEXT_MARGIN = 4         # px between text and the sheet edge / the first tile


@dataclass(frozen=True)
class Tile:
    """One cell of a contact sheet.

    Attributes:
        image: ``(H, W[, 1|3])`` bool / uint8 / uint16 / float in [0, 1].
        masks: ``(N, H, W)`` bool instance masks outlined on the image; ``None`` or
            ``N = 0``: none.
        tint: opacity in [0, 1] of each instance's colour fill (0: outlines only).
        caption: text written at the bottom of the tile ('' for none).
    """

    image: object
    masks: object = None
    tint: float = 0.0
    caption: str = ''


def to_display(image):
    """An image (see the module docstring) as ``(H, W, 3)`` uint8 RGB.

    bool -> 0 / 255, uint16 -> ``round(v / 257)``, float -> ``round(255 v)`` (clipped to
    [0, 1]). Raises ``ValueError`` for other shapes or dtypes.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or 0 in image.shape:
        raise ValueError(f'contact sheet: image shape {image.shape} is not (H, W[, 1|3])')
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif image.dtype.kind == 'f':
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f'contact sheet: image dtype {image.dtype} is not bool, uint8, '
                         'uint16 or float')
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image)


def instance_colours(n, seed=7):
    """``(n, 3)`` uint8 distinct bright RGB colours (fixed for a given ``n``; ``n`` may be 0)."""
    if n == 0:
        return np.zeros((0, 3), np.uint8)
    hues = (np.arange(n) * 0.618033988749895 + seed * 0.1) % 1.0
    hsv = np.stack([hues * 179, np.full(n, 200), np.full(n, 255)], 1).astype(np.uint8)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0]


def _as_masks(masks, shape):
    """``masks`` as ``(N, H, W)`` bool for an image of ``shape`` (``None`` / empty -> N = 0)."""
    if masks is None or len(masks) == 0:
        return np.zeros((0,) + tuple(shape[:2]), bool)
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or masks.shape[1:] != tuple(shape[:2]):
        raise ValueError(f'contact sheet: masks of shape {masks.shape} do not match the '
                         f'image size {tuple(shape[:2])}')
    return masks


def draw_overlay(image, masks, alpha=0.45):
    """``image`` with each instance of ``masks`` ``(N, H, W)`` tinted by ``alpha`` and
    outlined (1 px), as ``(H, W, 3)`` uint8 RGB. ``N`` may be 0."""
    canvas = to_display(image).copy()  # never draw into the caller's array
    masks = _as_masks(masks, canvas.shape)
    colours = instance_colours(len(masks))
    if alpha > 0:
        blend = canvas.astype(np.float32)
        for mask, colour in zip(masks, colours):
            blend[mask] = (1 - alpha) * blend[mask] + alpha * colour
        canvas = blend.astype(np.uint8)
    for mask, colour in zip(masks, colours):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, tuple(int(c) for c in colour), 1)
    return canvas


def _put_text(canvas, text, x, y, colour=(0, 0, 0)):
    cv2.putText(canvas, text, (x, y), FONT, FONT_SCALE, colour, 1, cv2.LINE_AA)


def render_tile(cell, size):
    """One cell (image or ``Tile``) letterboxed into a ``(size, size, 3)`` uint8 RGB square."""
    cell = cell if isinstance(cell, Tile) else Tile(cell)
    picture = to_display(cell.image)
    masks = _as_masks(cell.masks, picture.shape)
    h, w = picture.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, min(size, round(w * scale))), max(1, min(size, round(h * scale)))
    interp = cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA
    picture = cv2.resize(picture, (nw, nh), interpolation=interp)
    masks = np.array([cv2.resize(m.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST)
                      for m in masks], bool).reshape(len(masks), nh, nw)
    out = np.full((size, size, 3), LETTERBOX_GREY, np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = draw_overlay(picture, masks, cell.tint)
    if cell.caption:
        (tw, th), _ = cv2.getTextSize(cell.caption, FONT, FONT_SCALE, 1)
        cv2.rectangle(out, (0, size - th - 6), (min(size, tw + 4), size), (0, 0, 0), -1)
        _put_text(out, cell.caption, 2, size - 4, (255, 255, 255))
    return out


def _text_width(lines):
    return max((cv2.getTextSize(line, FONT, FONT_SCALE, 1)[0][0] for line in lines), default=0)


def render_sheet(rows, tile=96, gap=4, label_width=None, title=None, max_cols=None):
    """Draw ``rows`` as one uint8 RGB picture.

    Args:
        rows: list of ``(label, cells)``: ``label`` is text left of the row ('\\n' splits
            lines; '' / None for none), ``cells`` a list of images or ``Tile``s. A row
            without cells says "(no images)".
        tile: side of each cell in px. gap: px between cells and around the sheet.
        label_width: px of the label column (None: as wide as the longest label line).
        title: one line of text above the grid (None: no title).
        max_cols: show at most this many cells per row (None: all).
    Returns ``(H, W, 3)`` uint8. Raises ``ValueError`` for no rows or a bad image.
    """
    if not rows:
        raise ValueError('contact sheet: no rows to draw')
    rows = [(str(label).split('\n') if label else [], list(cells)[:max_cols])
            for label, cells in rows]
    if label_width is None:
        widest = _text_width([line for lines, _ in rows for line in lines])
        label_width = widest + 2 * TEXT_MARGIN if widest else 0
    n_cols = max(1, max(len(cells) for _, cells in rows))
    row_height = max(tile, max(len(lines) for lines, _ in rows) * LINE_HEIGHT + TEXT_MARGIN)
    top = gap + (LINE_HEIGHT + gap if title else 0)
    height = top + len(rows) * (row_height + gap)
    width = max(label_width + gap + n_cols * (tile + gap),
                _text_width([title or '']) + 2 * TEXT_MARGIN)
    sheet = np.full((height, width, 3), SHEET_GREY, np.uint8)
    if title:
        _put_text(sheet, title, TEXT_MARGIN, gap + LINE_HEIGHT - 3)
    for r, (lines, cells) in enumerate(rows):
        y = top + r * (row_height + gap)
        for k, line in enumerate(lines):
            _put_text(sheet, line, TEXT_MARGIN, y + LINE_HEIGHT - 2 + k * LINE_HEIGHT)
        if not cells:
            _put_text(sheet, '(no images)', label_width + gap, y + tile // 2, (120, 120, 120))
        for c, cell in enumerate(cells):
            x = label_width + gap + c * (tile + gap)
            sheet[y:y + tile, x:x + tile] = render_tile(cell, tile)
    return sheet


def save_sheet(path, rows, **layout):
    """``render_sheet(rows, **layout)`` written to ``path`` (PNG, atomically); returns the path."""
    path = Path(path)
    write_image(path, render_sheet(rows, **layout))
    return path


def write_contact_sheet(path, items, n_cols=4, tile=256, gap=4):
    """Sheet of a synthetic set: for each ``(image, masks)`` of ``items`` the plain image,
    then the image with its instances tinted and outlined, captioned with their count.

    ``n_cols`` (image, overlay) pairs per row, ``tile`` px per cell. Returns the path.
    """
    if not items:
        raise ValueError(f'{path}: no images to draw')
    cells = []
    for image, masks in items:
        count = 0 if masks is None else len(masks)
        cells += [Tile(image), Tile(image, masks, tint=0.45,
                                    caption=f'{count} instance{"" if count == 1 else "s"}')]
    per_row = 2 * n_cols
    rows = [('', cells[i:i + per_row]) for i in range(0, len(cells), per_row)]
    return save_sheet(path, rows, tile=tile, gap=gap)
