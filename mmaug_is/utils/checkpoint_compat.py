"""Let torch >= 2.6 load mmengine checkpoints with ``weights_only=True`` kept on.

mmengine checkpoints carry, besides tensors, the message hub's ``HistoryBuffer`` objects
and numpy arrays/scalars (logged losses, the random state). torch >= 2.6 refuses those by
default, which breaks ``tools/test.py`` and ``--resume``. Instead of switching the safety
check off, the exact types are allow-listed with ``torch.serialization.add_safe_globals``:

- ``HistoryBuffer``; it pickles its statistics methods as ``getattr(HistoryBuffer, name)``,
  hence ``getattr`` (the weights-only unpickler still refuses to call anything it did not
  allow-list, so a function fetched this way cannot be run);
- numpy arrays, dtypes and scalars (``_reconstruct``, ``scalar``, ``ndarray``, dtype
  classes) and ``_codecs.encode``, which pickle protocol 2 uses for their raw bytes;
- ``collections.Counter`` (the milestones of ``MultiStepLR`` in the scheduler state).
"""
import codecs
import collections

import numpy as np
import torch


def _numpy_globals():
    """Return the numpy callables and classes that pickled arrays and scalars reference."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    dtype_classes = [cls for cls in vars(np.dtypes).values()
                     if isinstance(cls, type) and issubclass(cls, np.dtype)]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
            *dtype_classes]


def allow_mmengine_checkpoints():
    """Allow-list the non-tensor types found in mmengine checkpoints (idempotent).

    Returns:
        list: the objects that were added to torch's safe globals.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if not hasattr(torch.serialization, 'add_safe_globals'):  # torch < 2.4: nothing to do
        return []
    safe = [HistoryBuffer, getattr, codecs.encode, collections.Counter, *_numpy_globals()]
    torch.serialization.add_safe_globals(safe)
    return safe
