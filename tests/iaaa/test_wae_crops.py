"""WAE input crops of real objects stay in [0, 1] (issue 35: saturated grey-as-RGB tiles
with objects larger than the crop made ``train_wae`` refuse values of 1.0000001)."""
import numpy as np

from mmaug_is.core.io import read_image
from mmaug_is.iaaa.wae import object_to_array


def test_saturated_grey_as_rgb_object_larger_than_the_crop_stays_in_unit_range(fluo_root):
    image = read_image(sorted((fluo_root / 'images').glob('*.png'))[0])
    saturated = np.where(image >= 40, 255, image).astype(np.uint8)  # grey as RGB, clipped
    saturated[:150, :150] = 255
    masks = np.zeros((1, ) + image.shape[:2], dtype=bool)
    masks[0, 10:140, 5:145] = True  # 130 x 140 px: shrunk into a 64 px crop
    for channels in (1, 3):
        crop = object_to_array(saturated, masks, crop_size=64, channels=channels)
        assert crop.dtype == np.float32 and crop.shape == (channels, 64, 64)
        assert crop.min() >= 0.0 and crop.max() <= 1.0
        assert crop.max() == 1.0
