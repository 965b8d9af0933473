# The fast protocol on real + IAAA + SAAA images of dsb2018_brightfield (80 of each); see
# faster_rcnn_r18_fluo_iaaa_saaa.py.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/iaaa.py',
          '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=[_base_.iaaa_brightfield_dataset, _base_.saaa_brightfield_dataset]))
