"""Real cell sizes per background (``saaa.size``): fit on real cells, draw, options (the
generator's use of it: ``test_saaa_generator.py``)."""
import json

import numpy as np
import pytest

from mmaug_is.saaa.per_background import POOLED
from mmaug_is.saaa.size import CellSize, long_side, resolve_size


def test_fit_on_real_fluo_cells_per_background(fluo_assets):
    size = CellSize.fit(fluo_assets.bank, fluo_assets.background_sources)
    own = [size.sides[i] for i in range(len(fluo_assets.backgrounds)) if i in size.sides]
    assert own, 'the fixture images have cells'
    pooled = size.sides[POOLED]
    assert sorted(pooled) == sorted(s for values in own for s in values)
    first = fluo_assets.background_sources[0]
    cells = [m for o in fluo_assets.bank.scos + fluo_assets.bank.mcos if o.source == first
             for m in o.masks if m.any()]
    assert sorted(size.sides[0]) == sorted(long_side(m) for m in cells)
    assert CellSize.from_dict(json.loads(json.dumps(size.to_dict()))) == size
    draws = size.draw(0, np.random.default_rng(0), 50)
    assert draws.dtype == np.int64 and set(draws) <= set(size.sides[0])
    assert np.array_equal(draws, size.draw(0, np.random.default_rng(0), 50))
    assert set(size.draw(99, np.random.default_rng(0), 20)) <= set(pooled)  # no own cells


def test_long_side_of_a_mask():
    mask = np.zeros((20, 30), bool)
    mask[3:8, 10:22] = True
    assert long_side(mask) == 12
    assert long_side(mask.T) == 12


def test_resolve_size_options(fluo_assets):
    assert resolve_size(None, fluo_assets) is None
    fitted = resolve_size('real', fluo_assets)
    assert fitted == CellSize.fit(fluo_assets.bank, fluo_assets.background_sources)
    assert resolve_size(fitted.to_dict(), fluo_assets) == fitted
    assert resolve_size(fitted, fluo_assets) is fitted
    with pytest.raises(ValueError, match="size must be None, 'real'"):
        resolve_size('large', fluo_assets)
    with pytest.raises(ValueError, match='the one key "sides"'):
        resolve_size(dict(side={-1: [10]}), fluo_assets)
    with pytest.raises(ValueError, match='at least one real cell size'):
        CellSize({0: [10]})
    with pytest.raises(ValueError, match='at least 1 px'):
        CellSize({POOLED: [10, 0]})
    with pytest.raises(ValueError, match='CellSize.fit: no cell of the bank comes from'):
        CellSize.fit(fluo_assets.bank, ['elsewhere.png'] * 2)
