# The fast protocol on dsb2018_fluo with both kinds of cell pasted into the current real
# image online (the paper's iaaa+saaa suggestion in IAAAPaste/SAAAPaste form; beyond the
# paper): each loaded image gets either real IAAA cells (`iaaa_paste`, no policies, as
# configs/iaaa/*) or SAAA cells (`saaa_paste`), with equal chance (mmcv's
# `RandomChoice`), so an image carries as many new cells as under either alone. No extra
# images and the same iterations as real-only training.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py',
          '../_base_/synthetic/saaa.py']

iaaa_saaa_paste_root = '{{ fileDirname }}/../../../shared/data/dsb2018_fluo/'
iaaa_saaa_paste_source = dict(ann_file=iaaa_saaa_paste_root + 'annotations/train.json',
                              img_dir=iaaa_saaa_paste_root + 'images')
iaaa_or_saaa_paste = dict(
    type='RandomChoice',
    transforms=[[dict(_base_.iaaa_paste, source=iaaa_saaa_paste_source)],
                [dict(_base_.saaa_paste, source=iaaa_saaa_paste_source)]])
train_dataloader = dict(dataset=dict(
    pipeline=_base_.fast_train_pipeline[:2] + [iaaa_or_saaa_paste]
    + _base_.fast_train_pipeline[2:]))
