# Faster R-CNN R-101 FPN trained on real + IAAA images: the baseline with only its training
# dataset changed (paper Table 1, IAAA column). configs/iaaa/faster_rcnn_r101.py pastes IAAA
# cells into the real images online instead (the default; better at equal iterations).
_base_ = ['../baselines/faster_rcnn_r101.py', '../_base_/synthetic/iaaa.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.iaaa_dataset))
