# The CPU configuration (faster_rcnn_r18_sample) trained on real + SAAA data.
_base_ = ['./faster_rcnn_r18_sample.py', '../_base_/synthetic/saaa.py']

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
                num_samples=16,  # as many as the sample's real training images
                metainfo=_real.metainfo,
                pipeline=_real.pipeline),
        ]))
