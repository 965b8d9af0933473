"""Per-level FID / KID of two image sources, and the tables that report them."""
import csv
import io
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from mmaug_is.core.io import atomic_open, write_json

from .cache import cache_key
from .fid_kid import MIN_ROWS, fid, kid


def level_features(level_images, extractor, cache=None, desc='features', progress=True):
    """Features of every level of a ``LevelImages``, reusing ``cache`` entries when present.

    Args:
        level_images: ``crops.LevelImages``. extractor: ``InceptionFeatureExtractor``.
        cache: ``FeatureCache`` or ``None``. desc/progress: progress-bar label / switch.
    Returns ``{level: float32 (N, D)}``. Missing levels are computed in one pass over
    the source images and then stored in the cache.
    """
    feats, keys = {}, {}
    for level in level_images.levels:
        if cache is not None:
            keys[level] = cache_key(dict(inputs=level_images.fingerprint(level),
                                         network=extractor.signature()))
            cached = cache.load(keys[level])
            if cached is not None:
                feats[level] = cached
    missing = [level for level in level_images.levels if level not in feats]
    if missing:
        computed = extractor.extract_grouped(
            level_images.iter_items(missing), missing, total=level_images.count_hint(missing),
            desc=f'{desc} {"+".join(missing)}', progress=progress)
        for level in missing:
            feats[level] = computed[level]
            if cache is not None:
                cache.save(keys[level], computed[level],
                           dict(source=str(level_images.source), level=level,
                                network=extractor.signature()))
    return feats


@dataclass(frozen=True)
class LevelScore:
    """FID and KID of one fake set at one level; scores are ``None`` when a set has fewer
    than 2 images."""

    level: str
    n_real: int
    n_fake: int
    fid: float = None
    kid_mean: float = None
    kid_std: float = None
    kid_subset_size: int = None
    fake: str = 'fake'


def score_levels(real_feats, fake_feats, levels, kid_subsets=100, kid_subset_size=1000, seed=0,
                 fake='fake'):
    """FID and KID (``kid_subsets`` subsets of up to ``kid_subset_size``) for each level of
    the fake set named ``fake``."""
    scores = []
    for level in levels:
        a, b = real_feats[level], fake_feats[level]
        if min(len(a), len(b)) < MIN_ROWS:
            scores.append(LevelScore(level, len(a), len(b), fake=fake))
            continue
        k = kid(a, b, n_subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
        scores.append(LevelScore(level, len(a), len(b), fid(a, b), k.mean, k.std, k.subset_size,
                                 fake=fake))
    return scores


def _fmt(value, digits):
    return 'n/a' if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f'{value:.{digits}f}'


def markdown_table(scores):
    """Markdown table: fake set, level, n real, n fake, FID, KID mean ± std, KID subset size."""
    lines = ['| fake set | level | n real | n fake | FID | KID (mean ± std) | KID subset |',
             '|---|---|---:|---:|---:|---:|---:|']
    for s in scores:
        kid_text = 'n/a' if s.kid_mean is None else f'{s.kid_mean:.4f} ± {s.kid_std:.4f}'
        lines.append(f'| {s.fake} | {s.level} | {s.n_real} | {s.n_fake} | {_fmt(s.fid, 2)} '
                     f'| {kid_text} '
                     f'| {"n/a" if s.kid_subset_size is None else s.kid_subset_size} |')
    return '\n'.join(lines) + '\n'


def write_tables(out_md, scores, meta, header=''):
    """Write ``out_md`` (markdown) and, beside it, ``.csv`` and ``.json`` (atomic writes).

    ``meta`` (JSON-serialisable) is stored in the JSON next to the rows; ``header`` is
    markdown placed above the table. Returns the three paths.
    """
    out_md = Path(out_md)
    paths = out_md, out_md.with_suffix('.csv'), out_md.with_suffix('.json')
    rows = [asdict(s) for s in scores]
    with atomic_open(paths[0], 'w', encoding='utf-8') as handle:
        handle.write(header + markdown_table(scores))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ['level'],
                            lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    with atomic_open(paths[1], 'w', encoding='utf-8') as handle:
        handle.write(buf.getvalue())
    write_json(paths[2], dict(meta=meta, rows=rows))
    return paths
