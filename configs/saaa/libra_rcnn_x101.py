# Libra R-CNN X-101-64x4d FPN trained on real + 100 SAAA images: the baseline with only its
# training dataset changed (paper Table 1, SAAA column).
_base_ = ['../baselines/libra_rcnn_x101.py', '../_base_/synthetic/saaa.py']

_real = _base_.train_dataloader.dataset
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            _real,
            dict(
                _base_.saaa_dataset,
                source=dict(ann_file=_real.data_root + _real.ann_file,
                            img_dir=_real.data_root + _real.data_prefix.img),
                metainfo=_real.metainfo,
                pipeline=_real.pipeline),
        ]))
