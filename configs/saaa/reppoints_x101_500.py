# RepPoints (moment) X-101-32x4d DCN FPN-GN (mmdet 2x config, brought to 12 epochs) trained on real + 500 SAAA images (paper Table 2).
_base_ = './reppoints_x101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
