# PAA R-101 FPN (needs scikit-learn) trained on real + 500 SAAA images (paper Table 2).
_base_ = './paa_r101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
