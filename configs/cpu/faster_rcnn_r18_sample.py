# The CPU configuration on the bundled 24-image demo set (data/sample_fluo): used by
# `make demo` and the end-to-end tests; the same model and schedule as faster_rcnn_r18_fluo.
_base_ = ['./faster_rcnn_r18_fluo.py']

sample_data_root = '{{ fileDirname }}/../../data/sample_fluo/'
train_dataloader = dict(dataset=dict(data_root=sample_data_root))
val_dataloader = dict(dataset=dict(data_root=sample_data_root))
test_dataloader = dict(dataset=dict(data_root=sample_data_root))
val_evaluator = dict(ann_file=sample_data_root + 'annotations/val.json')
test_evaluator = dict(ann_file=sample_data_root + 'annotations/test.json')
