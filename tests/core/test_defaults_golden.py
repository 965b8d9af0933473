"""Default paste and geometric ops stay byte-identical to the committed code (issue 17's
``edge`` / ``geometry`` options are off by default): hashes computed with the code from
before the options existed, on a real sample_fluo image, its masks and cells' crops.
Rotate, ShearX, ShearY and the policies were re-recorded when the affine warps moved from
``cv2.warpAffine`` (whose CPU-specific code paths gave other bytes on the CI machine) to
``cv2.remap`` of maps rounded in numpy, which gives the same bytes on every machine."""
import hashlib
from pathlib import Path

import numpy as np
import pytest

from mmaug_is.core import (OPS, feather_alpha, feathered_paste, load_coco_instances,
                           load_policies, read_image)

POLICIES = Path(__file__).resolve().parents[2] / 'configs/iaaa/policies/dsb2018_fluo.json'
GOLDEN = {
    'paste': 'cc76a17f6de31dd9',
    'FlipLR': 'fc9480185d2f7497',
    'Rotate': '2f5a664ff91c7ee2',
    'ShearX': 'f5b9a013e7ea73ba',
    'ShearY': 'cd468c8b6b886978',
    'TranslateX': '38587be516583ffb',
    'TranslateY': '9a1d37aaa0d841f5',
    'Resize': 'fb2ecb22a3711798',
    'CropBilinear': '1094a5b3e2522aab',
    'policy': 'a9c40bb731ff311f',
}


def digest(*arrays):
    """First 16 hex digits of the SHA-256 of the arrays' dtypes, shapes and bytes."""
    sha = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        sha.update(f'{array.dtype.str}{array.shape}'.encode())
        sha.update(array.tobytes())
    return sha.hexdigest()[:16]


@pytest.fixture(scope='module')
def sample(sample_root):
    """``(image, masks)`` of the first sample_fluo train image and ``crop(i)`` of cell i."""
    record = load_coco_instances(sample_root / 'annotations' / 'train.json',
                                 sample_root / 'images')[0]
    image, masks = read_image(record.path), record.masks

    def crop(i):
        ys, xs = np.nonzero(masks[i])
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        return image[box], masks[i:i + 1][(slice(None),) + box]
    return image, masks, crop


def test_default_paste_is_unchanged(sample):
    image, _, crop = sample
    canvas = image.copy()
    for i in range(3):
        cell, mask = crop(i)
        feathered_paste(canvas, cell, mask[0], 10 + 40 * i, 200, sigma=1.0)
    assert digest(canvas, feather_alpha(crop(0)[1][0], 1.5)) == GOLDEN['paste']


@pytest.mark.parametrize('name', ['FlipLR', 'Rotate', 'ShearX', 'ShearY', 'TranslateX',
                                  'TranslateY', 'Resize', 'CropBilinear'])
def test_default_geometric_ops_are_unchanged(sample, name):
    image, masks, crop = sample
    results = [OPS[name].apply(im, ms, 4, np.random.default_rng(7))
               for im, ms in ((image, masks), crop(1))]
    assert digest(*[array for result in results for array in result]) == GOLDEN[name]


def test_default_policies_are_unchanged(sample):
    cell, mask = sample[2](1)
    rng = np.random.default_rng(3)
    outputs = [array for policy in load_policies(POLICIES)[:3]
               for array in policy.apply(cell, mask, rng)]
    assert digest(*outputs) == GOLDEN['policy']
