# Dataset: the bundled 24-image CC0 demo subset of dsb2018_fluo (data/sample_fluo): the
# shared nuclei file with its data root. Paths are relative to this file.
_base_ = './nuclei_coco.py'
nuclei_data_root = '{{ fileDirname }}/../../../data/sample_fluo/'
nuclei_train_dataloader = dict(dataset=dict(data_root=nuclei_data_root))
nuclei_val_dataloader = dict(dataset=dict(data_root=nuclei_data_root))
nuclei_test_dataloader = dict(dataset=dict(data_root=nuclei_data_root))
nuclei_val_evaluator = dict(ann_file=nuclei_data_root + 'annotations/val.json')
nuclei_test_evaluator = dict(ann_file=nuclei_data_root + 'annotations/test.json')
