# The CPU configuration (faster_rcnn_r18_fluo) trained on real + SAAA data, as many
# synthetic images as real training images (as IAAA).
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=dict(_base_.saaa_dataset, num_samples=79)))
