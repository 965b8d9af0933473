"""A folder chosen by the user as the home of one generated dataset.

A cache under ``cache_root`` carries its key in its name; a folder the user names (e.g.
``tools/generate.py --out DIR``) carries it in ``DIR/dataset.json``, written before
anything else. A rerun with the same inputs resumes or reuses the folder; other inputs
are refused rather than mixed into it.
"""
import json
from pathlib import Path

from ..core.io import atomic_open

DATASET_FILE = 'dataset.json'


def _differences(held, asked):
    keys = [k for k in dict.fromkeys([*held, *asked]) if k != 'key' and held.get(k) != asked.get(k)]
    if not keys:
        return 'same settings, other input content (annotation file, images, policies or ' \
               'checkpoints changed since)'
    return '; '.join(f'{k}: {held.get(k)!r} there, {asked.get(k)!r} now' for k in keys)


def claim_output_dir(folder, identity):
    """Make ``folder`` the home of the dataset ``identity`` describes, or refuse.

    Args:
        folder: the output folder. identity: JSON-able dict of the dataset's settings;
            its ``'key'`` (a hash of every input) decides whether two are the same.
    A missing or empty ``folder`` is created and gets ``dataset.json``; one whose
    ``dataset.json`` has the same key is kept (resume or reuse). Raises
    ``FileExistsError`` naming ``folder`` and what differs when it holds another dataset,
    or files not written this way.
    """
    folder = Path(folder)
    marker = folder / DATASET_FILE
    if marker.is_file():
        held = json.loads(marker.read_text(encoding='utf-8'))
        if held.get('key') != identity['key']:
            raise FileExistsError(f'{folder} holds another generated dataset '
                                  f'({_differences(held, identity)}); choose another output '
                                  'folder or delete this one')
        return folder
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f'{folder} is not empty and holds no {DATASET_FILE}: choose an '
                              'empty or new output folder')
    with atomic_open(marker, 'w', encoding='utf-8') as handle:
        json.dump(identity, handle, indent=1)
    return folder
