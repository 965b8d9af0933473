# The practitioner's copy-paste (Ghiasi et al., "Simple Copy-Paste", CVPR 2021; mmdet
# configs/simple_copy_paste): mmdet's CopyPaste between two real training images, fresh
# every iteration (MultiImageMixDataset), after large-scale jitter of both images, cropped
# and padded to the fast protocol's 128x128 crops. Ghiasi's jitter range is x0.1-2.0; at
# 256 px that shrinks 8 px nuclei below one pixel, so the range here is x0.5-2.0 (a
# setting to choose on val).
copy_paste_online_jitter = (0.5, 2.0)
copy_paste_online_image_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=(256, 256), ratio_range=copy_paste_online_jitter,
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=(128, 128), recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion', brightness_delta=16, contrast_range=(0.85, 1.15),
         saturation_range=(0.9, 1.1), hue_delta=4),
    dict(type='Pad', size=(128, 128)),
]
# mmdet's CopyPaste keeps a destination cell that the pasted cells cover completely when
# its box lies within `bbox_occluded_thr` px of the image origin: its empty mask gives the
# box [0, 0, 0, 0], which passes the box-distance test. Such a box, added as a proposal of
# itself by the RoI sampler, is a positive sample with a 0/0 regression target, and the
# training loss turns NaN (tests/datasets/test_copy_paste_online.py). Cells cut by the crop
# at its top-left corner make this common, so every instance left without a mask pixel is
# dropped after the paste (empty images stay: keep_empty=False).
copy_paste_online_pipeline = [
    dict(type='CopyPaste', max_num_pasted=100),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(0, 0), by_mask=True, keep_empty=False),
    dict(type='PackDetInputs'),
]
