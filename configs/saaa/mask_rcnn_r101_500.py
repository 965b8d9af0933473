# Mask R-CNN R-101 FPN trained on real + 500 SAAA images (as paper Table 2).
_base_ = './mask_rcnn_r101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
