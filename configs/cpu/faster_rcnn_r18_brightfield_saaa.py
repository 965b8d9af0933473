# The CPU configuration (faster_rcnn_r18_brightfield) trained on real + SAAA data (as many
# synthetic images as real training images). The SAAA models are trained on
# dsb2018_brightfield train with the CPU setting of docs/saaa.md, --work-dir
# work_dirs/saaa_brightfield.
_base_ = ['./faster_rcnn_r18_brightfield.py', '../_base_/synthetic/saaa.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset,
    synthetic=dict(_base_.saaa_dataset, num_samples=80,
                   mask_checkpoint='work_dirs/saaa_brightfield/mask_ddpm.pth',
                   pix2pix_checkpoint='work_dirs/saaa_brightfield/pix2pix.pth')))
