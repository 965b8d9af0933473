# Mask R-CNN R-101 FPN (instance segmentation, beside the paper's 11 detectors), real nuclei
# data only: their 12-epoch schedule, data and evaluation, with masks loaded for training
# and COCO AP of boxes and masks (both read at 300 detections).
# ImageNet-pretrained backbone as in mmdet; offline: tools/train.py --offline (or MMAUG_OFFLINE=1).
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py',
    '../_base_/datasets/dsb2018_fluo.py',
    '../_base_/schedules/nuclei_12e.py',
]
model = dict(
    roi_head=dict(bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)),
    test_cfg=dict(rcnn=dict(max_per_img=300)))
train_dataloader = dict(
    _base_.nuclei_train_dataloader,
    dataset=dict(_base_.nuclei_train_dataloader.dataset,
                 pipeline=_base_.nuclei_mask_train_pipeline))
val_dataloader = {{_base_.nuclei_val_dataloader}}
test_dataloader = {{_base_.nuclei_test_dataloader}}
val_evaluator = dict(_base_.nuclei_val_evaluator, metric=_base_.nuclei_mask_metric)
test_evaluator = dict(_base_.nuclei_test_evaluator, metric=_base_.nuclei_mask_metric)
train_cfg = {{_base_.nuclei_train_cfg}}
param_scheduler = {{_base_.nuclei_param_scheduler}}
auto_scale_lr = {{_base_.nuclei_auto_scale_lr}}
default_hooks = {{_base_.nuclei_default_hooks}}
visualizer = {{_base_.nuclei_visualizer}}
