"""Dataset statistics the composers imitate (paper 2.4).

Cells per image (empirical distribution and mode), the SCO/MCO ratio of objects, and
object / cell sizes. Plain data: JSON round trip, so a cache can be keyed by it.
"""
import json
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from .io import atomic_open

SAMPLE_MODES = ('distribution', 'mode')


def _summary(values):
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return dict(mean=0.0, std=0.0, min=0.0, median=0.0, max=0.0)
    return dict(mean=float(values.mean()), std=float(values.std()), min=float(values.min()),
                median=float(np.median(values)), max=float(values.max()))


@dataclass
class DatasetStats:
    """Statistics of a real dataset.

    Attributes:
        cell_counts: annotated cells per image (all cells, border ones included).
        n_sco, n_mco: objects of each kind in the bank (border objects excluded).
        mco_sizes: ``{cells per MCO: number of MCOs}``.
        cell_area: summary (mean/std/min/median/max, pixels) of single-cell mask areas.
        object_height, object_width: summaries of object crop sizes (pixels).
    """

    cell_counts: list
    n_sco: int
    n_mco: int
    mco_sizes: dict
    cell_area: dict
    object_height: dict
    object_width: dict

    @classmethod
    def from_records(cls, records, bank):
        """Compute the statistics of ``ImageRecord``s and their ``ObjectBank``."""
        objects = bank.objects
        areas = [int(m.sum()) for o in objects for m in o.masks]
        return cls(
            cell_counts=[len(r) for r in records],
            n_sco=len(bank.scos), n_mco=len(bank.mcos),
            mco_sizes={int(k): int(v) for k, v in
                       sorted(Counter(o.n_cells for o in bank.mcos).items())},
            cell_area=_summary(areas),
            object_height=_summary([o.image.shape[0] for o in objects]),
            object_width=_summary([o.image.shape[1] for o in objects]))

    @property
    def sco_fraction(self):
        """Fraction of objects that are SCOs (0 if there are no objects)."""
        total = self.n_sco + self.n_mco
        return self.n_sco / total if total else 0.0

    @property
    def mode(self):
        """Most frequent cells-per-image count (the smallest one on ties)."""
        if not self.cell_counts:
            raise ValueError('no images in the statistics')
        counts = Counter(self.cell_counts)
        top = max(counts.values())
        return min(k for k, v in counts.items() if v == top)

    @property
    def distribution(self):
        """``(values, probabilities)`` of the empirical cells-per-image distribution."""
        values, freq = np.unique(np.asarray(self.cell_counts, dtype=np.int64),
                                 return_counts=True)
        return values, freq / freq.sum()

    def sample_cell_count(self, rng, mode='distribution'):
        """Cells for one synthetic image: a draw from the empirical distribution, or the mode."""
        if mode not in SAMPLE_MODES:
            raise ValueError(f'mode must be one of {SAMPLE_MODES}, got {mode!r}')
        if not self.cell_counts:
            raise ValueError('no images in the statistics')
        if mode == 'mode':
            return self.mode
        return int(self.cell_counts[rng.integers(len(self.cell_counts))])

    def to_dict(self):
        """JSON-ready dict (``mco_sizes`` keys become strings)."""
        data = asdict(self)
        data['mco_sizes'] = {str(k): v for k, v in self.mco_sizes.items()}
        return data

    @classmethod
    def from_dict(cls, data):
        """Inverse of ``to_dict``."""
        data = dict(data)
        missing = set(cls.__dataclass_fields__) - set(data)
        if missing:
            raise ValueError(f'statistics dict lacks {sorted(missing)}')
        data['cell_counts'] = [int(c) for c in data['cell_counts']]
        data['mco_sizes'] = {int(k): int(v) for k, v in data['mco_sizes'].items()}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    def save(self, path):
        """Write the statistics as JSON atomically."""
        with atomic_open(path, 'w', encoding='utf-8') as handle:
            json.dump(self.to_dict(), handle, indent=1)

    @classmethod
    def load(cls, path):
        """Read statistics written by ``save``."""
        try:
            with open(path, encoding='utf-8') as handle:
                return cls.from_dict(json.load(handle))
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: malformed statistics JSON ({err})') from None
