# The fast protocol on real + IAAA data of dsb2018_brightfield (80 synthetic images, the
# policies searched on brightfield train); see faster_rcnn_r18_fluo_iaaa.py.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/iaaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=_base_.iaaa_brightfield_dataset))
