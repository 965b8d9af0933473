# FSAF X-101-64x4d FPN trained on real + 500 SAAA images (paper Table 2).
_base_ = './fsaf_x101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
