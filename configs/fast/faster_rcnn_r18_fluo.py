# The FAST CPU benchmark protocol (issue 17): the R-18 CPU detector trained for a FIXED
# number of iterations whatever the training set, so "plus synthetic data" never means
# "plus iterations". Each iteration sees 8 random 128x128 crops (a quarter of a 256x256
# image each) after the augmentations a practitioner adds anyway: scale jitter x0.75-1.5,
# flips and mild photometric jitter; the RPN keeps 500 -> 300 proposals and the RoI head
# samples 128 per crop. Masks are loaded so copy-paste and exact-mask pipelines work the
# same. Chosen on val (dsb2018_fluo, seed 0: val AP 28.5 at 300 iterations; the 256x256,
# batch-4, 160-iteration variant with a 128-channel head reached 13.2); validation once, at
# the end; tools/benchmark.py tests the final checkpoint on the TEST split.
_base_ = ['../cpu/faster_rcnn_r18_fluo.py']

fast_iters = 300
fast_crop = (128, 128)
model = dict(train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=300),
                            rcnn=dict(sampler=dict(num=128))))

fast_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=(256, 256), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=fast_crop, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion', brightness_delta=16, contrast_range=(0.85, 1.15),
         saturation_range=(0.9, 1.1), hue_delta=4),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=8, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(pipeline=fast_train_pipeline))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=fast_iters,
                 val_interval=fast_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=fast_iters,
         milestones=[int(fast_iters * 0.75), int(fast_iters * 0.9)], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=fast_iters // 2, max_keep_ckpts=1,
                    save_best=None))
log_processor = dict(by_epoch=False)
