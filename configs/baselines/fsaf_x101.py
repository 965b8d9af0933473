# FSAF X-101-64x4d FPN (paper Table 1), real nuclei data only, 12 epochs.
# ImageNet-pretrained backbone as in mmdet; offline: tools/train.py --offline (or MMAUG_OFFLINE=1).
_base_ = [
    'mmdet::fsaf/fsaf_x101-64x4d_fpn_1x_coco.py',
    '../_base_/datasets/dsb2018_fluo.py',
    '../_base_/schedules/nuclei_12e.py',
]
model = dict(bbox_head=dict(num_classes=1), test_cfg=dict(max_per_img=300))
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
