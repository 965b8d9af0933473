# The fast protocol on dsb2018_fluo with IAAA cells pasted into the current real image
# online (`IAAAPaste`, fresh every iteration): real cells of the training set, augmented by
# the searched policies, corner-matched and pasted with `edge='inside'` (alpha 1 on the
# whole mask, so a cell's visible box is its ground-truth box) before the scale jitter,
# so they are jittered with the image. No extra images and the same iterations as
# real-only training: IAAA's answer to `copypaste_online`. `style_neighbours=5`: cells come
# only from the 5 training images whose background looks most like the current one.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py']

iaaa_paste_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_fluo/'
iaaa_paste = dict(
    type='IAAAPaste',
    source=dict(ann_file=iaaa_paste_data_root + 'annotations/train.json',
                img_dir=iaaa_paste_data_root + 'images'),
    policies=_base_.iaaa_dataset.policies, max_cells=25, prob=1.0, edge='inside',
    style_neighbours=5, cache_root=_base_.iaaa_dataset.cache_root)
train_dataloader = dict(dataset=dict(
    pipeline=_base_.fast_train_pipeline[:2] + [iaaa_paste] + _base_.fast_train_pipeline[2:]))
