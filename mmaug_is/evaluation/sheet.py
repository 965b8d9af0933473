"""Contact sheet: labelled rows of image tiles, so a person can see what was measured."""
import cv2
import numpy as np

from .features import to_unit_float

LABEL_WIDTH = 150


def _tile(image, tile):
    """``image`` (any accepted dtype/layout) letterboxed into a ``tile`` x ``tile`` uint8 RGB."""
    rgb = (to_unit_float(image) * 255.0 + 0.5).astype(np.uint8)
    h, w = rgb.shape[:2]
    scale = tile / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=interp)
    out = np.full((tile, tile, 3), 40, np.uint8)
    y0, x0 = (tile - new_h) // 2, (tile - new_w) // 2
    out[y0:y0 + new_h, x0:x0 + new_w] = resized
    return out


def contact_sheet(rows, tile=64, n_cols=12, gap=2):
    """Render ``rows`` (list of ``(label, [images])``) as one uint8 RGB image.

    Each row shows up to ``n_cols`` images scaled to fit ``tile`` x ``tile`` pixels
    (nearest-neighbour when enlarged, so small crops stay sharp), after its label.
    """
    if not rows:
        raise ValueError('contact_sheet: no rows')
    width = LABEL_WIDTH + n_cols * (tile + gap)
    sheet = np.full((len(rows) * (tile + gap) + gap, width, 3), 255, np.uint8)
    for r, (label, images) in enumerate(rows):
        y = gap + r * (tile + gap)
        for line, text in enumerate(str(label).split('\n')[:3]):
            cv2.putText(sheet, text, (4, y + 16 + 16 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 0, 0), 1, cv2.LINE_AA)
        for c, image in enumerate(images[:n_cols]):
            x = LABEL_WIDTH + c * (tile + gap)
            sheet[y:y + tile, x:x + tile] = _tile(image, tile)
        if not images:
            cv2.putText(sheet, '(no images)', (LABEL_WIDTH + 4, y + tile // 2),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (120, 120, 120), 1, cv2.LINE_AA)
    return sheet
