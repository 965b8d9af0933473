# RepPoints (moment) R-101 FPN-GN (mmdet 2x config, brought to 12 epochs) trained on real + 500 SAAA images (paper Table 2).
_base_ = './reppoints_r101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
