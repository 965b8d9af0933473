# The fast protocol on dsb2018_fluo with IAAA cells pasted into the current real image
# online (`IAAAPaste`, fresh every iteration): real cells of the training set, augmented by
# the searched policies, corner-matched and pasted with `edge='inside'` (alpha 1 on the
# whole mask, so a cell's visible box is its ground-truth box) before the scale jitter,
# so they are jittered with the image. No extra images and the same iterations as
# real-only training: IAAA's answer to `copypaste_online`. `style_neighbours=5`: cells come
# only from the 5 training images whose background looks most like the current one.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py']

iaaa_paste_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_fluo/'
# `_base_.iaaa_paste` with the searched policies: the setting `iaaa_paste` of the
# benchmark tables; the default (no policies) is faster_rcnn_r18_*_iaaa_default.py.
iaaa_paste = dict(
    _base_.iaaa_paste,
    source=dict(ann_file=iaaa_paste_data_root + 'annotations/train.json',
                img_dir=iaaa_paste_data_root + 'images'),
    policies=_base_.iaaa_dataset.policies)
train_dataloader = dict(dataset=dict(
    pipeline=_base_.fast_train_pipeline[:2] + [iaaa_paste] + _base_.fast_train_pipeline[2:]))
