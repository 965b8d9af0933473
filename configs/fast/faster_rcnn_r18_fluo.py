# The FAST CPU benchmark protocol (issue 17): the R-18 CPU detector made lighter (128-channel
# FPN and heads, 500 training proposals, 256 sampled RoIs), trained for a FIXED number of
# iterations whatever the training set, so "plus synthetic data" never means "plus
# iterations". The real pipeline carries the augmentations a practitioner adds anyway:
# scale jitter (x0.75-1.5, cropped back to 256), flips and mild photometric jitter. Masks
# are loaded so copy-paste and exact-mask pipelines work the same. Validation once, at the
# end; tools/benchmark.py tests the final checkpoint on the TEST split.
_base_ = ['../cpu/faster_rcnn_r18_fluo.py']

fast_iters = 160
model = dict(
    neck=dict(out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=128),
                  bbox_head=dict(in_channels=128, fc_out_channels=512)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=500),
                   rcnn=dict(sampler=dict(num=256))))

fast_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=(256, 256), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(256, 256), recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion', brightness_delta=16, contrast_range=(0.85, 1.15),
         saturation_range=(0.9, 1.1), hue_delta=4),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True),
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
