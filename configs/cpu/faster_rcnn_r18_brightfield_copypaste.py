# The CPU configuration (faster_rcnn_r18_brightfield) trained on real + hard copy-paste
# data (the baseline IAAA and SAAA are compared with).
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/copy_paste.py']

_real = _base_.train_dataloader.dataset
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            _real,
            dict(
                _base_.copy_paste_dataset,
                source=dict(ann_file=_real.data_root + _real.ann_file,
                            img_dir=_real.data_root + _real.data_prefix.img),
                num_samples=80,  # as many as the real training images (as IAAA)
                metainfo=_real.metainfo,
                pipeline=_real.pipeline),
        ]))
