# `IAAAPaste` online on dsb2018_brightfield (see faster_rcnn_r18_fluo_iaaa_paste.py): its
# own cells and the policies searched on its train split.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/iaaa.py']

iaaa_paste_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_brightfield/'
iaaa_paste = dict(
    type='IAAAPaste',
    source=dict(ann_file=iaaa_paste_data_root + 'annotations/train.json',
                img_dir=iaaa_paste_data_root + 'images'),
    policies=_base_.iaaa_brightfield_dataset.policies, max_cells=25, prob=1.0,
    edge='inside', style_neighbours=5, cache_root=_base_.iaaa_dataset.cache_root)
train_dataloader = dict(dataset=dict(
    pipeline=_base_.fast_train_pipeline[:2] + [iaaa_paste] + _base_.fast_train_pipeline[2:]))
