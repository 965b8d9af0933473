# faster_rcnn_r18_brightfield_iaaa with 1.6x the real cell count per synthetic image
# (count_scale=1.6; not in the paper): the instance density of the hard copy-paste images
# (42.7 cells per image vs 26.6 in the real training images), to test whether copy-paste's
# lead over IAAA comes from the extra instances per iteration.
_base_ = ['./faster_rcnn_r18_brightfield_iaaa.py']
train_dataloader = dict(dataset=dict(synthetic=dict(generator=dict(count_scale=1.6))))
