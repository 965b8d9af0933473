# CPU benchmark configuration: a detector that learns something useful on 2 CPU cores in
# about half an hour. Faster R-CNN with a ResNet-18 FPN trained FROM SCRATCH (no download,
# BN trained, nothing frozen) on dsb2018_fluo at the native 256x256, anchors sized for
# nuclei (8-40 px). Benchmarks compare training data (original / IAAA / SAAA) with it;
# the paper's detectors are in configs/baselines/ for GPU users.
_base_ = ['../baselines/faster_rcnn_r101.py']

cpu_img_scale = (256, 256)
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    rpn_head=dict(anchor_generator=dict(scales=[4])),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=1000)),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=1000)))

cpu_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=cpu_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
cpu_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=cpu_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(num_workers=1, dataset=dict(pipeline=cpu_train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(pipeline=cpu_test_pipeline))
test_dataloader = dict(num_workers=1, dataset=dict(pipeline=cpu_test_pipeline))
# from scratch with batch 4: the rate is set directly, not scaled from mmdet's 16 images
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(enable=False)
# a diverged run (NaN or infinite loss) stops with an error at once, instead of training on
# and being tested as if it had finished; tools/benchmark.py then lists it as failed
custom_hooks = [dict(type='CheckInvalidLossHook', interval=1)]
