# Hard copy-paste baseline (mmdet's CopyPaste between two real training images, no
# blending): the reference IAAA and SAAA are compared with. Filled in by each config from
# its baseline's training dataset, like iaaa.py.
copy_paste_dataset = dict(
    type='CopyPasteDataset',
    num_samples=79,  # as many as IAAA adds
    seed=0,
    mode='cache',  # or 'online'
    cache_root='work_dirs/mmaug_cache',
    copy_paste=dict(max_num_pasted=100, bbox_occluded_thr=10, mask_occluded_thr=300))
