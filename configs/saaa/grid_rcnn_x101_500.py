# Grid R-CNN X-101-32x4d FPN (mmdet 2x config, brought to 12 epochs) trained on real + 500 SAAA images (paper Table 2).
_base_ = './grid_rcnn_x101.py'
train_dataloader = dict(dataset=dict(synthetic=dict(num_samples=500)))
