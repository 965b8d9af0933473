# The fast protocol on real + SAAA data: 79 synthetic images (as many as real ones) made
# with the shipped dsb2018_fluo SAAA models (configs/saaa/models/dsb2018_fluo); the same
# number of iterations as real-only training.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=dict(_base_.saaa_dataset, num_samples=79)))
