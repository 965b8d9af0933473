# faster_rcnn_r18_brightfield_iaaa with style-matched IAAA: the cells of a synthetic image come
# only from the 8 real images whose backgrounds look most like its background
# (mmaug_is/core/style.py), e.g. no stained nucleus on a grey tile.
_base_ = ['./faster_rcnn_r18_brightfield_iaaa.py']
train_dataloader = dict(dataset=dict(synthetic=dict(generator=dict(style_neighbours=8))))
