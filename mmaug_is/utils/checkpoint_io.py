"""The package's own torch checkpoints (WAE, mask DDPM, Pix2Pix): save and check on load.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts, written atomically
and read back with ``weights_only=True``; one of its fields names what it holds (the
SAAA trainers use ``kind``, the WAE ``format``), and ``load_checkpoint`` checks it.
"""
import pickle
import zipfile
from pathlib import Path

import torch

from mmaug_is.core.io import atomic_open

# What torch.load raises for a file that is not a (complete) weights-only checkpoint.
_UNREADABLE = (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError,
               AttributeError, ImportError, IndexError, KeyError, TypeError)


def save_checkpoint(state, path):
    """``torch.save`` the dict ``state`` to ``path`` atomically; returns ``Path(path)``."""
    with atomic_open(path, 'wb') as handle:
        torch.save(state, handle)
    return Path(path)


def load_checkpoint(path, kind, field='kind'):
    """Load a checkpoint (tensors on the CPU) whose ``state[field]`` equals ``kind``.

    Args:
        path: checkpoint file. kind: the expected value. field: the key holding it.
    Returns the state dict.
    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError (naming ``path``): the file is not a torch checkpoint (garbage,
            truncated, or holding objects a weights-only load refuses), or not a dict
            whose ``field`` is ``kind``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except _UNREADABLE as err:
        first_line = (str(err).strip().splitlines() or [''])[0]
        raise ValueError(f'{path} is not a readable {kind!r} checkpoint '
                         f'({type(err).__name__}: {first_line})') from err
    if not isinstance(state, dict) or state.get(field) != kind:
        found = state.get(field) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f'{path} is not a {kind!r} checkpoint (its {field} is {found!r})')
    return state
