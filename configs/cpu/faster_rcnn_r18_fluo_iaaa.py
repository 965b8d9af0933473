# The CPU configuration (faster_rcnn_r18_fluo) trained on real + IAAA data.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.iaaa_dataset))
