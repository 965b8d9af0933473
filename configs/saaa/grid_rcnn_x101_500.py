# Grid R-CNN X-101-32x4d FPN (mmdet 2x config, brought to 12 epochs) trained on real + 500 SAAA images (paper Table 2).
_base_ = ['../baselines/grid_rcnn_x101.py', '../_base_/synthetic/saaa.py']

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
                num_samples=500,
                metainfo=_real.metainfo,
                pipeline=_real.pipeline),
        ]))
