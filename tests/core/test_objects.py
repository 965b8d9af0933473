"""SCO/MCO grouping, object extraction on real images, and the ObjectBank file format."""
import cv2
import numpy as np
import pytest

from mmaug_is.core import (CellObject, ImageRecord, ObjectBank, extract_objects,
                           group_instances, masks_to_boxes, read_image)


def _masks(shape, *rects):
    masks = np.zeros((len(rects),) + shape, bool)
    for m, (x1, y1, x2, y2) in zip(masks, rects):
        m[y1:y2, x1:x2] = True
    return masks


def test_masks_to_boxes():
    masks = _masks((10, 12), (2, 3, 5, 9), (0, 0, 12, 1))
    masks = np.concatenate([masks, np.zeros((1, 10, 12), bool)])
    np.testing.assert_array_equal(masks_to_boxes(masks), [[2, 3, 5, 9], [0, 0, 12, 1],
                                                          [0, 0, 0, 0]])


def test_grouping_touch_overlap_and_transitivity():
    # 0 and 1 touch diagonally only; 2 is isolated; 3-4 boxes overlap (masks apart);
    # 5-6-7 form a chain of side contacts.
    masks = _masks((40, 40), (0, 0, 3, 3), (3, 3, 6, 6), (10, 0, 13, 3))
    l_shape = np.zeros((1, 40, 40), bool)
    l_shape[0, 20:30, 20:22] = True
    l_shape[0, 28:30, 20:30] = True
    dot = _masks((40, 40), (25, 22, 27, 24))  # inside the L's box, not touching it
    chain = _masks((40, 40), (0, 20, 3, 23), (3, 20, 6, 23), (6, 20, 9, 23))
    masks = np.concatenate([masks, l_shape, dot, chain])
    groups = group_instances(masks, masks_to_boxes(masks))
    assert groups.tolist() == [0, 0, 1, 2, 2, 3, 3, 3]


def test_pixels_one_apart_are_not_grouped():
    masks = _masks((10, 20), (0, 0, 3, 3), (4, 0, 7, 3))
    assert group_instances(masks, masks_to_boxes(masks)).tolist() == [0, 1]


def test_extract_real_objects_are_exact(fluo_records):
    for record in fluo_records[::8]:
        image = read_image(record.path)
        masks, boxes = record.masks, record.boxes.astype(int)
        objects = extract_objects(record, image)
        seen = set()
        for obj in objects:
            x1, y1, x2, y2 = obj.bbox_xyxy
            assert x1 >= 1 and y1 >= 1 and x2 <= 255 and y2 <= 255  # border excluded
            np.testing.assert_array_equal(obj.image, image[y1:y2, x1:x2])
            index = [np.flatnonzero(record.ann_ids == a)[0] for a in obj.ann_ids]
            np.testing.assert_array_equal(obj.masks, masks[index, y1:y2, x1:x2])
            # the crop is the tight union box
            np.testing.assert_array_equal(masks_to_boxes(obj.mask_union[None])[0],
                                          [0, 0, x2 - x1, y2 - y1])
            assert obj.kind == ('sco' if len(index) == 1 else 'mco')
            others = np.setdiff1d(np.arange(len(record)), index)
            grown = cv2.dilate(masks[index].any(0).astype(np.uint8), np.ones((3, 3))) > 0
            assert not (grown & masks[others].any(0)).any()  # no touching outsider
            mb, ob = boxes[index][:, None], boxes[others][None]
            assert not ((mb[..., 0] < ob[..., 2]) & (ob[..., 0] < mb[..., 2])
                        & (mb[..., 1] < ob[..., 3]) & (ob[..., 1] < mb[..., 3])).any()
            seen.update(index)
        # every instance away from the border belongs to some object, unless its group
        # touches the border
        inner = np.flatnonzero((boxes[:, 0] >= 1) & (boxes[:, 1] >= 1)
                               & (boxes[:, 2] <= 255) & (boxes[:, 3] <= 255))
        groups = group_instances(masks, boxes)
        border_groups = set(groups[np.setdiff1d(np.arange(len(record)), inner)])
        expected = {i for i in inner if groups[i] not in border_groups}
        assert seen == expected


def test_bank_save_load_round_trip(fluo_bank, tmp_path):
    assert len(fluo_bank.scos) > 500 and len(fluo_bank.mcos) > 50
    path = fluo_bank.save(tmp_path / 'bank')
    assert sorted(p.name for p in path.parent.iterdir()) == ['object_bank.npz']
    loaded = ObjectBank.load(tmp_path / 'bank')
    assert len(loaded.scos) == len(fluo_bank.scos) and len(loaded.mcos) == len(fluo_bank.mcos)
    for a, b in zip(fluo_bank.objects, loaded.objects):
        assert a.kind == b.kind and a.source == b.source and a.ann_ids == b.ann_ids
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.masks, b.masks)
        np.testing.assert_array_equal(a.bbox_xyxy, b.bbox_xyxy)


def test_uint16_grey_bank_and_from_coco(fluo_root, tmp_path):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 65536, (40, 50), dtype=np.uint16)
    masks = _masks((40, 50), (5, 5, 10, 9), (10, 5, 14, 9), (30, 20, 36, 30))
    record = ImageRecord('syn.tif', tmp_path / 'syn.tif', 40, 50, masks)
    objects = extract_objects(record, image)
    assert [o.kind for o in objects] == ['mco', 'sco']
    bank = ObjectBank([o for o in objects if o.kind == 'sco'],
                      [o for o in objects if o.kind == 'mco'])
    loaded = ObjectBank.load(bank.save(tmp_path).parent)
    assert loaded.mcos[0].image.dtype == np.uint16
    np.testing.assert_array_equal(loaded.mcos[0].image, image[5:9, 5:14])
    np.testing.assert_array_equal(loaded.mcos[0].masks, masks[:2, 5:9, 5:14])

    val = ObjectBank.from_coco(fluo_root / 'annotations' / 'val.json', fluo_root / 'images',
                               progress=False)
    assert val.n_cells <= 738 and len(val.mcos) > 0
    first = val.objects[0].source
    only_first = val.subset(lambda o: o.source == first)
    assert 0 < len(only_first) < len(val) and {o.source for o in only_first.objects} == {first}


def test_bank_rejects_mixed_layouts_and_bad_objects():
    grey = CellObject(np.zeros((3, 3), np.uint8), np.ones((1, 3, 3), bool), 'sco', 'a', [0] * 4)
    rgb = CellObject(np.zeros((3, 3, 3), np.uint8), np.ones((1, 3, 3), bool), 'sco', 'b',
                     [0] * 4)
    with pytest.raises(ValueError, match='mix image dtypes'):
        ObjectBank([grey, rgb])
    with pytest.raises(ValueError, match="must be 'mco'"):
        CellObject(np.zeros((3, 3), np.uint8), np.ones((2, 3, 3), bool), 'sco', 'c', [0] * 4)
    with pytest.raises(FileNotFoundError):
        ObjectBank.load('/nonexistent/bank')
