# Dataset: real brightfield nuclei from ../shared/data (80/22/22 images).
# Paths are relative to this file, so configs work from any working directory.
_base_ = './nuclei_coco.py'

nuclei_data_root = '{{ fileDirname }}/../../../../shared/data/dsb2018_brightfield/'

nuclei_train_dataset = dict(
    type='CocoDataset',
    data_root=nuclei_data_root,
    metainfo={{_base_.nuclei_metainfo}},
    ann_file='annotations/train.json',
    data_prefix=dict(img='images/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=0),
    pipeline={{_base_.nuclei_train_pipeline}})
nuclei_train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=nuclei_train_dataset)


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
            metainfo={{_base_.nuclei_metainfo}},
            ann_file=f'annotations/{split}.json',
            data_prefix=dict(img='images/'),
            test_mode=True,
            pipeline={{_base_.nuclei_test_pipeline}}))


def _evaluator(split):
    return dict(
        _delete_=True,
        type='CocoMetric',
        ann_file=nuclei_data_root + f'annotations/{split}.json',
        metric='bbox',
        format_only=False,
        proposal_nums={{_base_.nuclei_proposal_nums}})


nuclei_val_dataloader = _eval_split('val')
nuclei_test_dataloader = _eval_split('test')
nuclei_val_evaluator = _evaluator('val')
nuclei_test_evaluator = _evaluator('test')
