# faster_rcnn_r18_brightfield_iaaa_default.py (the IAAAPaste default)
# plus the mask branch: see mask_rcnn_r18_fluo.py.
_base_ = ['./faster_rcnn_r18_brightfield_iaaa_default.py', '../_base_/models/mask_branch.py']
model = {{_base_.mask_branch}}
optim_wrapper = {{_base_.mask_optim_wrapper}}
val_evaluator = dict(metric={{_base_.nuclei_mask_metric}})
test_evaluator = dict(metric={{_base_.nuclei_mask_metric}})
