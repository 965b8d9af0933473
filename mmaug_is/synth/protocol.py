"""The one protocol of the synthetic-data generators (IAAA, SAAA, copy-paste).

Every generator answers ``generate(seed, index[, epoch]) -> SyntheticSample`` and
``output_shape(seed, index) -> (H, W)``. Sample ``index`` of stream ``seed`` is made from
``sample_rng(seed, index)`` alone, so it is the same bytes in any process and any order.
Its first draw picks the *frame* it is built on (a background, a destination image), so
its shape is known without generating it; ``SampleGenerator`` holds that rule once.
Epoch ``e >= 1`` keeps the frame of ``index`` and composes the rest from
``sample_rng(seed, index, e)``: fresh cells every epoch, still replayable, the shape still
known; epoch 0 is the epoch-less sample.
"""
import numpy as np

__all__ = ['SampleGenerator', 'sample_rng']


def _check_key_part(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        raise ValueError(f'{name} must be a non-negative integer, got {value!r}')
    return int(value)


def sample_rng(seed, index, epoch=None):
    """``np.random.Generator`` of sample ``index`` of stream ``seed``.

    Args:
        seed, index: non-negative ints. epoch: ``None`` (the sample is the same every
            epoch) or a non-negative int (a fresh, still replayable, sample per epoch).
    Returns ``np.random.default_rng([seed, index])``, or ``[seed, epoch, index]``.
    Raises ``ValueError`` naming the argument when a part is not a non-negative int.
    """
    key = [_check_key_part('seed', seed)]
    if epoch is not None:
        key.append(_check_key_part('epoch', epoch))
    key.append(_check_key_part('index', index))
    return np.random.default_rng(key)


class SampleGenerator:
    """Base of the generators: ``generate`` and ``output_shape`` from three hooks.

    Subclasses implement
    - ``draw_frame(rng)``: the sample's first draw, what it is built on (any value);
    - ``frame_shape(frame) -> (H, W)``: the size of a sample built on ``frame``;
    - ``compose(frame, rng) -> SyntheticSample``: the rest of the sample.
    """

    def draw_frame(self, rng):
        raise NotImplementedError

    def frame_shape(self, frame):
        raise NotImplementedError

    def compose(self, frame, rng):
        raise NotImplementedError

    def output_shape(self, seed, index):
        """``(H, W)`` of sample ``index`` of stream ``seed``, without generating it."""
        height, width = self.frame_shape(self.draw_frame(sample_rng(seed, index)))[:2]
        return int(height), int(width)

    def generate(self, seed, index, epoch=None):
        """The ``SyntheticSample`` number ``index`` of stream ``seed`` in ``epoch``
        (``None`` or 0: the same sample every epoch; ``e >= 1``: on the same frame, the
        rest drawn from ``sample_rng(seed, index, e)``)."""
        rng = sample_rng(seed, index)
        frame = self.draw_frame(rng)
        if epoch is not None and _check_key_part('epoch', epoch) > 0:
            rng = sample_rng(seed, index, epoch)
        return self.compose(frame, rng)
