# The CPU configuration (faster_rcnn_r18_brightfield) trained on real + IAAA data (as many
# synthetic images as real training images; the policies searched on brightfield train).
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/iaaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=_base_.iaaa_brightfield_dataset))
