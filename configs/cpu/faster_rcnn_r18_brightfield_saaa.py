# The CPU configuration (faster_rcnn_r18_brightfield) trained on real + SAAA data. The
# SAAA models are trained on dsb2018_brightfield train with the CPU setting of
# docs/saaa.md, --work-dir work_dirs/saaa_brightfield.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/saaa.py']

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
                mask_checkpoint='work_dirs/saaa_brightfield/mask_ddpm.pth',
                pix2pix_checkpoint='work_dirs/saaa_brightfield/pix2pix.pth',
                num_samples=80,  # as many as the real training images (as IAAA)
                metainfo=_real.metainfo,
                pipeline=_real.pipeline),
        ]))
