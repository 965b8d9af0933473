# The CPU configuration (faster_rcnn_r18_brightfield) trained on real + SAAA data (as many
# synthetic images as real training images), with the SAAA models shipped for
# dsb2018_brightfield (configs/saaa/models/dsb2018_brightfield).
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.saaa_brightfield_dataset))
