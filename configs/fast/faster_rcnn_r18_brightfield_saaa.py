# The fast protocol on real + SAAA data of dsb2018_brightfield: 80 synthetic images made
# with the shipped dsb2018_brightfield SAAA models; see faster_rcnn_r18_fluo_saaa.py.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.saaa_brightfield_dataset))
