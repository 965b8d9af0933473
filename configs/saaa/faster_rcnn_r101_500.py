# Faster R-CNN R-101 FPN trained on real + 500 SAAA images (paper Table 2).
_base_ = './faster_rcnn_r101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
