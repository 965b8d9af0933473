# Cascade R-CNN R-101 FPN (paper Table 1), real nuclei data only, 12 epochs.
# ImageNet-pretrained backbone as in mmdet; offline: tools/train.py --offline (or MMAUG_OFFLINE=1).
_base_ = [
    'mmdet::cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py',
    '../_base_/datasets/dsb2018_fluo.py',
    '../_base_/schedules/nuclei_12e.py',
]
# Cascade R-CNN has three bbox heads; a list in a child config replaces the whole list,
# so all three are restated (mmdet's cascade-rcnn_r50_fpn heads with num_classes=1).
_cascade_stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                 [0.033, 0.033, 0.067, 0.067]]
model = dict(
    roi_head=dict(bbox_head=[
        dict(
            type='Shared2FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=1,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=stds),
            reg_class_agnostic=True,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
        for stds in _cascade_stds
    ]),
    test_cfg=dict(rcnn=dict(max_per_img=300)))
train_dataloader = {{_base_.nuclei_train_dataloader}}
val_dataloader = {{_base_.nuclei_val_dataloader}}
test_dataloader = {{_base_.nuclei_test_dataloader}}
val_evaluator = {{_base_.nuclei_val_evaluator}}
test_evaluator = {{_base_.nuclei_test_evaluator}}
train_cfg = {{_base_.nuclei_train_cfg}}
param_scheduler = {{_base_.nuclei_param_scheduler}}
auto_scale_lr = {{_base_.nuclei_auto_scale_lr}}
default_hooks = {{_base_.nuclei_default_hooks}}
visualizer = {{_base_.nuclei_visualizer}}
