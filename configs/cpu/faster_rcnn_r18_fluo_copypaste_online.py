# The CPU configuration (faster_rcnn_r18_fluo) with mmdet's CopyPaste applied online
# between two real training images after large-scale jitter (Ghiasi et al.; the range
# x0.5-2.0 of _base_/synthetic/copy_paste_online.py), at the native 256x256: the same 240
# iterations as real-only training (the long check of issue 17).
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/copy_paste_online.py']

copy_paste_online_cpu_image_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=_base_.cpu_img_scale,
         ratio_range=_base_.copy_paste_online_jitter, keep_ratio=True),
    dict(type='RandomCrop', crop_size=_base_.cpu_img_scale, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='Pad', size=_base_.cpu_img_scale),
]
train_dataloader = dict(dataset=dict(
    _delete_=True, type='MultiImageMixDataset',
    dataset=dict(_base_.train_dataloader.dataset,
                 pipeline=copy_paste_online_cpu_image_pipeline),
    pipeline=_base_.copy_paste_online_pipeline))
