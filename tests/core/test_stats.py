"""DatasetStats on the real fluorescence set: counts, mode, ratio, sampling, JSON."""
from collections import Counter

import numpy as np
import pytest

from mmaug_is.core import DatasetStats


@pytest.fixture(scope='module')
def stats(fluo_records, fluo_bank):
    return DatasetStats.from_records(fluo_records, fluo_bank)


def test_counts_mode_ratio(stats, fluo_bank):
    assert len(stats.cell_counts) == 79 and sum(stats.cell_counts) == 1959
    counts = Counter(stats.cell_counts)
    assert counts[stats.mode] == max(counts.values())
    assert stats.sco_fraction == pytest.approx(
        len(fluo_bank.scos) / (len(fluo_bank.scos) + len(fluo_bank.mcos)))
    assert 0.5 < stats.sco_fraction < 1.0
    assert sum(stats.mco_sizes.values()) == stats.n_mco
    assert min(stats.mco_sizes) >= 2
    assert stats.cell_area['min'] >= 1 and stats.cell_area['mean'] > 20
    values, probs = stats.distribution
    assert probs.sum() == pytest.approx(1.0) and set(values) == set(stats.cell_counts)


def test_sampling(stats):
    rng = np.random.default_rng(0)
    draws = [stats.sample_cell_count(rng) for _ in range(4000)]
    assert set(draws) <= set(stats.cell_counts)
    assert abs(np.mean(draws) - np.mean(stats.cell_counts)) < 2.0
    assert stats.sample_cell_count(rng, mode='mode') == stats.mode
    with pytest.raises(ValueError, match='mode must be'):
        stats.sample_cell_count(rng, mode='median')
    same = [DatasetStats.sample_cell_count(stats, np.random.default_rng(9)) for _ in range(2)]
    assert same[0] == same[1]


def test_json_round_trip(stats, tmp_path):
    path = tmp_path / 'stats.json'
    stats.save(path)
    loaded = DatasetStats.load(path)
    assert loaded == stats
    assert loaded.mode == stats.mode and loaded.sco_fraction == stats.sco_fraction
    assert [p.name for p in tmp_path.iterdir()] == ['stats.json']
    path.write_text('{"cell_counts": [1]}')
    with pytest.raises(ValueError, match='lacks'):
        DatasetStats.load(path)
    path.write_text('{nope')
    with pytest.raises(ValueError, match='malformed'):
        DatasetStats.load(path)
