# faster_rcnn_r18_brightfield_iaaa without the searched augmentation policies (policies=[]:
# real cells pasted as they are; not in the paper). The searched brightfield policies are
# mostly GaussianBlur / Smooth with rotations; this variant tests whether they cost box
# precision (copy-paste leads every IAAA variant at AP75, not at AP50).
_base_ = ['./faster_rcnn_r18_brightfield_iaaa.py']
train_dataloader = dict(dataset=dict(synthetic=dict(policies=[])))
