# The fast protocol on dsb2018_brightfield with SAAA cells pasted into the current real image
# online (`SAAAPaste`, fresh every iteration; beyond the paper): DDPM masks painted by the
# shipped Pix2Pix (configs/saaa/models/dsb2018_brightfield) for the image's own background, 1-25
# per image, before the scale jitter. No extra images and the same iterations as real-only
# training: SAAA's counterpart of `iaaa_paste`.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/saaa.py']

saaa_paste_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_brightfield/'
saaa_paste = dict(
    _base_.saaa_brightfield_paste,
    source=dict(ann_file=saaa_paste_data_root + 'annotations/train.json',
                img_dir=saaa_paste_data_root + 'images'))
train_dataloader = dict(dataset=dict(
    pipeline=_base_.fast_train_pipeline[:2] + [saaa_paste] + _base_.fast_train_pipeline[2:]))
