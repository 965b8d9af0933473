# Cascade Mask R-CNN R-101 FPN trained with IAAA: the baseline with IAAA cells pasted into
# each real training image online (`_base_.iaaa_paste` after `LoadAnnotations`, cells from
# the same training set), the same images and iterations. The paper's form, real + IAAA
# images (Table 1, IAAA column): configs/iaaa_paper/cascade_mask_rcnn_r101.py.
_base_ = ['../baselines/cascade_mask_rcnn_r101.py', '../_base_/synthetic/iaaa.py']

iaaa_real_set = _base_.train_dataloader.dataset
iaaa_paste = dict(
    _base_.iaaa_paste,
    source=dict(ann_file=iaaa_real_set.data_root + iaaa_real_set.ann_file,
                img_dir=iaaa_real_set.data_root + iaaa_real_set.data_prefix.img))
train_dataloader = dict(dataset=dict(
    pipeline=iaaa_real_set.pipeline[:2] + [iaaa_paste] + iaaa_real_set.pipeline[2:]))
