# Mask R-CNN R-101 FPN trained on real + 100 SAAA images: the baseline with
# only its training dataset changed (SAAA column).
_base_ = ['../baselines/mask_rcnn_r101.py', '../_base_/synthetic/saaa.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.saaa_dataset))
