# Pipelines, loaders and COCO evaluation shared by the nuclei datasets (one class:
# 'nucleus'). Every name starts with `nuclei_` so this file can sit beside an mmdet
# detector config in `_base_` without duplicate keys; detector configs pick the values up
# with `{{_base_.nuclei_...}}`. Images hold up to ~200 nuclei, so COCO evaluation keeps
# up to 300 detections per image (proposal_nums -> maxDets: AP50/AP75/APs are read at
# 300; pycocotools reads the headline AP at 100 whatever maxDets says).
nuclei_metainfo = dict(classes=('nucleus', ), palette=[(220, 20, 60)])
nuclei_img_scale = (512, 512)  # 256x256 sources upsampled x2 for detectors

nuclei_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=nuclei_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
nuclei_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=nuclei_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
nuclei_proposal_nums = (10, 100, 300)
