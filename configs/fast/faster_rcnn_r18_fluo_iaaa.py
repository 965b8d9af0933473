# The fast protocol on real + IAAA data (as many synthetic images as real ones); the same
# number of iterations as real-only training. Each IAAA fix of issue 17 is one generator
# option away, e.g. `--cfg-options train_dataloader.dataset.synthetic.generator.edge=inside`.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/synthetic/iaaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.iaaa_dataset))
