# The fast protocol (faster_rcnn_r18_fluo.py beside it) on dsb2018_brightfield.
_base_ = ['./faster_rcnn_r18_fluo.py']

brightfield_data_root = '{{ fileDirname }}/../../../shared/data/dsb2018_brightfield/'
train_dataloader = dict(dataset=dict(data_root=brightfield_data_root))
val_dataloader = dict(dataset=dict(data_root=brightfield_data_root))
test_dataloader = dict(dataset=dict(data_root=brightfield_data_root))
val_evaluator = dict(ann_file=brightfield_data_root + 'annotations/val.json')
test_evaluator = dict(ann_file=brightfield_data_root + 'annotations/test.json')
