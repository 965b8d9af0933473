# The fast protocol on real + the fixed copy-paste cache (80 images drawn once).
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/copy_paste.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=dict(_base_.copy_paste_dataset, num_samples=80)))
