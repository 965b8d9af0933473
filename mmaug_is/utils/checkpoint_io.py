"""The package's own torch checkpoints (WAE, mask DDPM, Pix2Pix): save and check on load.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts, written atomically
and read back with ``weights_only=True``; one of its fields names what it holds (the
SAAA trainers use ``kind``, the WAE ``format``), and ``load_checkpoint`` checks it.
``read_torch_file`` is the one weights-only ``torch.load`` of the package (other torch
files too, e.g. VGG16 weights): its errors name the file.
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


def _reason(err):
    """The first sentence of a ``torch.load`` error; for a weights-only refusal the
    unpickler's reason, not torch's advice to turn the safety check off."""
    text, marker = str(err), 'WeightsUnpickler error:'
    if marker in text:
        detail = text.split(marker, 1)[1].strip().splitlines()[0]
        return f'weights-only load refused: {detail.split(". ")[0]}'
    first = (text.strip().splitlines() or [''])[0].split('. ')[0]
    return f'{type(err).__name__}: {first or type(err).__doc__}'


def read_torch_file(path, what='checkpoint'):
    """``torch.load`` a file weights-only, tensors on the CPU; every error names the file.

    Args:
        path: the file. what: what it should hold, for the messages (e.g. ``'VGG16
            weights file'``).
    Returns the loaded object.
    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError (naming ``path``): not a torch file (garbage, truncated, or holding
            objects a weights-only load refuses).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except _UNREADABLE as err:
        raise ValueError(f'{path} is not a readable {what} ({_reason(err)})') from err


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
    state = read_torch_file(path, f'{kind!r} checkpoint')
    if not isinstance(state, dict) or state.get(field) != kind:
        found = state.get(field) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f'{path} is not a {kind!r} checkpoint (its {field} is {found!r})')
    return state
