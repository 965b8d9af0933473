# The CPU configuration (faster_rcnn_r18_fluo) trained on real + hard copy-paste data
# (the baseline IAAA and SAAA are compared with).
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/copy_paste.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.copy_paste_dataset))
