# faster_rcnn_r18_fluo_iaaa with style-matched IAAA: the cells of a synthetic image come
# only from the 8 real images whose backgrounds look most like its background
# (mmaug_is/core/style.py): DSB2018 fluo mixes stains, brightness and magnifications.
_base_ = ['./faster_rcnn_r18_fluo_iaaa.py']
train_dataloader = dict(dataset=dict(synthetic=dict(generator=dict(style_neighbours=8))))
