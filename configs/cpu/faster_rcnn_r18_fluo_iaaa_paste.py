# The CPU configuration (faster_rcnn_r18_fluo) with IAAA cells pasted into the current real
# image online (`_base_.iaaa_paste`: no policies, edge 'inside', cells from the 5 most
# similar backgrounds; chosen on val with the fast protocol), before the resize. No extra
# images: the same 240 iterations as real-only training (the long check of issue 17).
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py']

iaaa_paste_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_fluo/'
iaaa_paste = dict(
    _base_.iaaa_paste,
    source=dict(ann_file=iaaa_paste_data_root + 'annotations/train.json',
                img_dir=iaaa_paste_data_root + 'images'))
train_dataloader = dict(dataset=dict(
    pipeline=_base_.cpu_train_pipeline[:2] + [iaaa_paste] + _base_.cpu_train_pipeline[2:]))
