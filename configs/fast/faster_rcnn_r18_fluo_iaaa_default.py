# The fast protocol on dsb2018_fluo with the IAAAPaste default (the setting `iaaa_default`
# of the benchmark tables, as configs/iaaa/*): real cells of its own training set pasted
# online into each training image right after LoadAnnotations, so the scale jitter, crop
# and flips apply to them too; the same iterations as real-only training.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py']

iaaa_default_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_fluo/'
iaaa_paste = dict(
    _base_.iaaa_paste,
    source=dict(ann_file=iaaa_default_data_root + 'annotations/train.json',
                img_dir=iaaa_default_data_root + 'images'))
train_dataloader = dict(dataset=dict(
    pipeline=_base_.fast_train_pipeline[:2] + [iaaa_paste] + _base_.fast_train_pipeline[2:]))
