"""benchmarks/bench_box_bias.py: COCO-matched box growth of detections over the ground truth,
on the real dsb2018_fluo test annotations."""
import contextlib
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO

BENCH = Path(__file__).resolve().parents[2] / 'benchmarks' / 'bench_box_bias.py'


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('bench_box_bias', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_grown_boxes_give_their_growth_and_misses_are_left_out(bench, fluo_root):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(fluo_root / 'annotations' / 'test.json'))
    image_id = gt.getImgIds()[0]
    anns = gt.loadAnns(gt.getAnnIds(imgIds=image_id))
    grown = [dict(image_id=image_id, category_id=a['category_id'], score=0.9,
                  bbox=[a['bbox'][0] - 1, a['bbox'][1] - 1, a['bbox'][2] + 2, a['bbox'][3] + 2])
             for a in anns]
    far = dict(image_id=image_id, category_id=anns[0]['category_id'], score=0.99,
               bbox=[-500.0, -500.0, 10.0, 10.0])  # matches nothing
    growth, ious = bench.matched_growth(gt, grown + [far])
    assert len(growth) == len(anns)
    np.testing.assert_allclose(growth, 1.0)
    w, h = np.array([a['bbox'][2] for a in anns]), np.array([a['bbox'][3] for a in anns])
    np.testing.assert_allclose(np.sort(ious), np.sort(w * h / ((w + 2) * (h + 2))))
    shrunk = [dict(d, bbox=[d['bbox'][0] + 1.5, d['bbox'][1] + 1.5, d['bbox'][2] - 3,
                            d['bbox'][3] - 3]) for d in grown]  # 0.5 px inside each edge
    growth, _ = bench.matched_growth(gt, shrunk)
    assert len(growth) <= len(anns) and np.allclose(growth, -0.5)
    assert [len(v) for v in bench.matched_growth(gt, [])] == [0, 0]
