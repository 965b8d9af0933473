# The fast protocol on real + both kinds of synthetic image (the paper's suggestion): the
# 79 IAAA images of faster_rcnn_r18_fluo_iaaa.py and the 79 SAAA images of
# faster_rcnn_r18_fluo_saaa.py; the same number of iterations as real-only training.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py',
          '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=[_base_.iaaa_dataset, dict(_base_.saaa_dataset, num_samples=79)]))
