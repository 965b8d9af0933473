"""Measurements of real cells kept per background, for cells painted onto that background.

``CellTone`` (contrasts) and ``CellSize`` (box sizes) keep, for every background, a value per
real cell of the image the background was made from, plus the pooled values of all of them
(``POOLED``: what a background whose image has no cells draws from).
"""
import numpy as np

POOLED = -1  # key of the pooled values (backgrounds without real cells)


def collect_per_background(bank, background_sources, measure, owner):
    """``{background index: [values], POOLED: [all values]}`` of the real cells of ``bank``
    (``ObjectBank``: its SCOs and MCOs) whose source is one of ``background_sources``.

    ``measure(obj, i)``: the values of object ``obj`` (one per cell) measured against
    background ``i``. ``owner`` names the caller in errors. Raises ``ValueError`` when no
    cell comes from one of the backgrounds' images."""
    index_of = {name: i for i, name in enumerate(background_sources)}
    values = {}
    for obj in list(bank.scos) + list(bank.mcos):
        i = index_of.get(obj.source)
        if i is not None:
            values.setdefault(i, []).extend(measure(obj, i))
    if not values:
        raise ValueError(f'{owner}: no cell of the bank comes from the images the '
                         'backgrounds were made from')
    values[POOLED] = [v for per_image in values.values() for v in per_image]
    return values


def checked_per_background(values, owner, what):
    """``values`` with int keys and tuples of floats; raises ``ValueError`` naming ``owner``
    when the pooled key holds nothing."""
    values = {int(k): tuple(float(v) for v in vs) for k, vs in values.items()}
    if not values.get(POOLED):
        raise ValueError(f'{owner} needs at least one real cell {what} (pooled key {POOLED})')
    return values


def draw_per_background(values, background_index, rng, n):
    """``(n,)`` values for cells on background ``background_index`` (its image's cells, or
    the pooled ones), drawn with replacement by ``rng``."""
    pool = values.get(int(background_index), values[POOLED])
    return np.asarray(pool)[rng.integers(len(pool), size=n)]
