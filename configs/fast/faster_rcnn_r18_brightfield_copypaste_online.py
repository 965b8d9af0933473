# The fast protocol on dsb2018_brightfield with mmdet's CopyPaste applied online (the
# practitioner's bar; _base_/synthetic/copy_paste_online.py), the same iterations.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/copy_paste_online.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='MultiImageMixDataset',
    dataset=dict(_base_.train_dataloader.dataset,
                 pipeline=_base_.copy_paste_online_image_pipeline),
    pipeline=_base_.copy_paste_online_pipeline))
