# Pipelines, loaders and COCO evaluation shared by the nuclei datasets (one class:
# 'nucleus'); the dataset files beside it (dsb2018_fluo.py, dsb2018_brightfield.py,
# sample_fluo.py) inherit it and set only their data root. Its own root is dsb2018_fluo,
# the development default. Every name starts with `nuclei_` so this file can sit beside an
# mmdet detector config in `_base_` without duplicate keys; detector configs pick the
# values up with `{{_base_.nuclei_...}}`. Images hold up to ~200 nuclei, so COCO
# evaluation keeps up to 300 detections per image (proposal_nums -> maxDets) and reads
# every AP there: NucleiCocoMetric is mmdet's CocoMetric with the headline AP at 300
# (pycocotools reads it at 100 whatever maxDets says). Instance-segmentation configs
# (Mask R-CNN) train on `nuclei_mask_train_pipeline` (masks loaded) and evaluate
# `nuclei_mask_metric` (box and mask AP, both at 300); CocoMetric reads the ground truth
# from the annotation file, so the test pipeline stays the same. Every config draws
# `--show-dir` images with `nuclei_visualizer` (outlines, no labels over the cells).
custom_imports = dict(imports=['mmaug_is'], allow_failed_imports=False)
nuclei_metainfo = dict(classes=('nucleus', ), palette=[(220, 20, 60)])
nuclei_img_scale = (512, 512)  # 256x256 sources upsampled x2 for detectors

nuclei_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=nuclei_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
nuclei_mask_train_pipeline = [
    dict(step, with_mask=True) if step['type'] == 'LoadAnnotations' else step
    for step in nuclei_train_pipeline
]
nuclei_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=nuclei_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
nuclei_proposal_nums = (10, 100, 300)

# Paths are relative to this file, so configs work from any working directory.
nuclei_data_root = '{{ fileDirname }}/../../../../shared/data/dsb2018_fluo/'

nuclei_train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='CocoDataset',
        data_root=nuclei_data_root,
        metainfo=nuclei_metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=nuclei_train_pipeline))


def _eval_split(split):
    return dict(
        _delete_=True,
        batch_size=1,
        num_workers=2,
        persistent_workers=True,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='CocoDataset',
            data_root=nuclei_data_root,
            metainfo=nuclei_metainfo,
            ann_file=f'annotations/{split}.json',
            data_prefix=dict(img='images/'),
            test_mode=True,
            pipeline=nuclei_test_pipeline))


def _evaluator(split):
    return dict(
        _delete_=True,
        type='NucleiCocoMetric',
        ann_file=nuclei_data_root + f'annotations/{split}.json',
        metric='bbox',
        format_only=False,
        proposal_nums=nuclei_proposal_nums)


nuclei_val_dataloader = _eval_split('val')
nuclei_test_dataloader = _eval_split('test')
nuclei_val_evaluator = _evaluator('val')
nuclei_test_evaluator = _evaluator('test')
nuclei_mask_metric = ['bbox', 'segm']
nuclei_visualizer = dict(type='OutlineVisualizer', line_width=1)
