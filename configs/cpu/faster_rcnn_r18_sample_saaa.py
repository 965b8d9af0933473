# The CPU configuration (faster_rcnn_r18_sample) trained on real + SAAA data, as many
# synthetic images as the sample's real training images. 16 images need ~400 masks, so a
# 256-mask bank (instead of the default 2048) is sampled once for them.
_base_ = ['./faster_rcnn_r18_sample.py', '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=dict(_base_.saaa_dataset, num_samples=16,
                   generator=dict(_base_.saaa_dataset.generator, mask_bank=256))))
