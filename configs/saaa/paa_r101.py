# PAA R-101 FPN (needs scikit-learn) trained on real + 100 SAAA images: the baseline with only its
# training dataset changed (paper Table 1, SAAA column).
_base_ = ['../baselines/paa_r101.py', '../_base_/synthetic/saaa.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='RealPlusSyntheticDataset',
    real=_base_.train_dataloader.dataset, synthetic=_base_.saaa_dataset))
