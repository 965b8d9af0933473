"""The online copy-paste bar (configs/_base_/synthetic/copy_paste_online.py) on real nuclei.

Its NaN loss, traced: mmdet's ``CopyPaste`` keeps a destination cell that the pasted cells
cover completely when the cell's box lies within ``bbox_occluded_thr`` px of the origin
(the empty mask's box is ``[0, 0, 0, 0]``, which passes the box-distance test); the RoI
sampler adds that box as a proposal of itself, a positive sample whose regression target
is 0/0. The config's pipeline drops instances left without mask pixels after the paste.
"""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import TRANSFORMS
from mmengine.config import Config
from mmengine.dataset import Compose

CONFIG = (Path(__file__).resolve().parents[2]
          / 'configs/fast/faster_rcnn_r18_fluo_copypaste_online.py')
# dsb2018_fluo train image 70 holds annotation 1774, a cell inside [0, 8] x [0, 4] px
CORNER_CELL_IMAGE = 'fluo_e5a6c5e01e6a4ef6.png'


def load(fluo_root, file_name):
    """``LoadImageFromFile`` + ``LoadAnnotations`` results of one real training image."""
    load_pipeline = Compose([dict(type='LoadImageFromFile'),
                             dict(type='LoadAnnotations', with_bbox=True, with_mask=True)])
    coco = json.loads((fluo_root / 'annotations/train.json').read_text())
    (info, ) = [i for i in coco['images'] if i['file_name'] == file_name]
    instances = [dict(bbox=[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                            a['bbox'][1] + a['bbox'][3]],
                      bbox_label=0, ignore_flag=0, mask=a['segmentation'])
                 for a in coco['annotations'] if a['image_id'] == info['id']]
    return load_pipeline(dict(img_path=str(fluo_root / 'images' / file_name),
                              img_id=info['id'], height=info['height'], width=info['width'],
                              instances=instances))


def paste_onto_itself(results, after_paste):
    """Every cell of ``results`` pasted onto its own image (all covered), then ``after_paste``."""
    results = copy.deepcopy(results)
    results['mix_results'] = [copy.deepcopy(results)]
    transforms = [TRANSFORMS.build(dict(type='CopyPaste', selected=False))] + after_paste
    for transform in transforms:
        results = transform(results)
    return results


@pytest.fixture(scope='module')
def corner_image(fluo_root):
    results = load(fluo_root, CORNER_CELL_IMAGE)
    boxes = results['gt_bboxes'].tensor
    assert ((boxes[:, 2] <= 10) & (boxes[:, 3] <= 10)).any(), 'the corner cell moved'
    return results


def test_mmdet_copy_paste_alone_keeps_a_covered_corner_cell_as_an_empty_box(corner_image):
    results = paste_onto_itself(corner_image, after_paste=[])
    boxes = results['gt_bboxes'].tensor
    empty_masks = results['gt_masks'].areas == 0
    assert empty_masks.any(), 'mmdet CopyPaste no longer keeps covered corner cells'
    assert (boxes[torch.from_numpy(empty_masks)] == 0).all()


def test_one_zero_box_makes_the_fast_detectors_box_loss_nan(fluo_root):
    from mmdet.registry import DATASETS, MODELS
    from mmdet.structures.bbox import HorizontalBoxes
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(str(CONFIG.with_name('faster_rcnn_r18_fluo.py')))
    cfg.train_dataloader.dataset.data_root = str(fluo_root) + '/'
    np.random.seed(0)
    torch.manual_seed(0)
    item = DATASETS.build(cfg.train_dataloader.dataset)[0]
    model = MODELS.build(cfg.model).train()

    def losses(extra_boxes):
        sample = copy.deepcopy(item['data_samples'])
        real = sample.gt_instances
        sample.gt_instances = InstanceData(
            bboxes=HorizontalBoxes(torch.cat([real.bboxes.tensor, extra_boxes])),
            labels=torch.cat([real.labels, real.labels[:len(extra_boxes)]]))
        data = model.data_preprocessor(dict(inputs=[item['inputs']], data_samples=[sample]),
                                       True)
        torch.manual_seed(1)
        return model.loss(data['inputs'], data['data_samples'])

    assert torch.isfinite(losses(torch.zeros(0, 4))['loss_bbox'])
    with_zero_box = losses(torch.zeros(1, 4))
    assert torch.isnan(with_zero_box['loss_bbox'])
    assert all(torch.isfinite(loss) for loss in with_zero_box['loss_rpn_bbox'])


def test_config_pipeline_drops_cells_left_without_pixels(corner_image):
    cfg = Config.fromfile(str(CONFIG))
    after_paste = [TRANSFORMS.build(t) for t in cfg.train_dataloader.dataset.pipeline[1:-1]]
    results = paste_onto_itself(corner_image, after_paste)
    boxes = results['gt_bboxes']
    assert len(boxes) == len(results['gt_masks']) == len(results['gt_bboxes_labels'])
    assert (results['gt_masks'].areas > 0).all()
    assert ((boxes.widths > 0) & (boxes.heights > 0)).all()
    # the pasted copies of every cell stay
    assert len(boxes) == len(corner_image['gt_bboxes'])


def test_config_dataset_builds_and_its_samples_hold_boxes_with_area(fluo_root):
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(str(CONFIG))
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.dataset.data_root = str(fluo_root) + '/'
    dataset_cfg.pipeline[-1] = dict(type='PackDetInputs', meta_keys=())
    dataset = DATASETS.build(dataset_cfg)
    np.random.seed(0)
    for index in range(40):
        instances = dataset[index % len(dataset)]['data_samples'].gt_instances
        boxes = instances.bboxes
        assert ((boxes.widths > 0) & (boxes.heights > 0)).all()
