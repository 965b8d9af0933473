# GFL X-101-32x4d FPN (mmdet ms-2x config, brought to 12 epochs, single scale) trained on real + 500 SAAA images (paper Table 2).
_base_ = './gfl_x101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
