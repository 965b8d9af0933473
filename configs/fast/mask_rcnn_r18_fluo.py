# The fast CPU protocol (faster_rcnn_r18_fluo.py: R-18 FPN from scratch, 300 iterations of
# 8 random 128x128 crops, masks already loaded) as instance segmentation: the same detector
# with Mask R-CNN's mask branch (_base_/models/mask_branch.py), evaluated on boxes and masks
# (COCO AP at 300 detections). Every mask_rcnn_r18_* config is its faster_rcnn_r18_*
# namesake plus these lines, so box and mask results of a setting share everything else.
_base_ = ['./faster_rcnn_r18_fluo.py', '../_base_/models/mask_branch.py']
model = {{_base_.mask_branch}}
optim_wrapper = {{_base_.mask_optim_wrapper}}
val_evaluator = dict(metric={{_base_.nuclei_mask_metric}})
test_evaluator = dict(metric={{_base_.nuclei_mask_metric}})
