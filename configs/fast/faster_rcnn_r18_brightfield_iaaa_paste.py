# `IAAAPaste` online on dsb2018_brightfield (see faster_rcnn_r18_fluo_iaaa_paste.py): its
# own cells and the policies searched on its train split.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/iaaa.py']

iaaa_paste_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_brightfield/'
# `_base_.iaaa_paste` with the searched policies: the setting `iaaa_paste` of the
# benchmark tables; the default (no policies) is faster_rcnn_r18_*_iaaa_default.py.
iaaa_paste = dict(
    _base_.iaaa_paste,
    source=dict(ann_file=iaaa_paste_data_root + 'annotations/train.json',
                img_dir=iaaa_paste_data_root + 'images'),
    policies=_base_.iaaa_brightfield_dataset.policies)
train_dataloader = dict(dataset=dict(
    pipeline=_base_.fast_train_pipeline[:2] + [iaaa_paste] + _base_.fast_train_pipeline[2:]))
