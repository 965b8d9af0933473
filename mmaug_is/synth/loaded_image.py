"""Generated images in the form mmdet's ``LoadImageFromFile`` gives a pipeline."""
import numpy as np

__all__ = ['as_loaded_image']


def as_loaded_image(image, color_type='color'):
    """Convert a generated RGB/grey uint8/uint16 image as ``LoadImageFromFile`` decodes a PNG.

    ``'color'`` -> ``(H, W, 3)`` uint8 BGR (16-bit scaled by 1/256 like OpenCV);
    ``'grayscale'`` -> ``(H, W)`` uint8; ``'unchanged'`` -> the stored dtype, BGR order.
    """
    image = np.asarray(image)
    if color_type != 'unchanged' and image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if color_type == 'grayscale':
        if image.ndim == 3:
            weights = np.array([0.299, 0.587, 0.114])  # RGB -> luma, as cv2
            image = np.clip(image @ weights + 0.5, 0, 255).astype(np.uint8)
        return image
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2) if color_type == 'color' else image
    return np.ascontiguousarray(image[..., ::-1])
