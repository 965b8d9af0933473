# Grid R-CNN X-101-32x4d FPN (mmdet 2x config, brought to 12 epochs) trained on real + IAAA
# images: the baseline with only its training dataset changed (paper Table 1, IAAA column).
# configs/iaaa/grid_rcnn_x101.py pastes IAAA cells into the real images online instead (the
# default; better at equal iterations).
_base_ = ['../baselines/grid_rcnn_x101.py', '../_base_/synthetic/iaaa.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.iaaa_dataset))
