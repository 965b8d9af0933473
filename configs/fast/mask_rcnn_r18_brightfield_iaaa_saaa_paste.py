# faster_rcnn_r18_brightfield_iaaa_saaa_paste.py (IAAAPaste or SAAAPaste online, per image)
# plus the mask branch: see mask_rcnn_r18_brightfield.py.
_base_ = ['./faster_rcnn_r18_brightfield_iaaa_saaa_paste.py', '../_base_/models/mask_branch.py']
model = {{_base_.mask_branch}}
optim_wrapper = {{_base_.mask_optim_wrapper}}
val_evaluator = dict(metric={{_base_.nuclei_mask_metric}})
test_evaluator = dict(metric={{_base_.nuclei_mask_metric}})
