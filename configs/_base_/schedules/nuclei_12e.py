# The paper's protocol (section 3.7): every detector trains for 12 epochs. mmdet's 2x and
# ms-2x configs are brought back to 12 epochs with steps after epochs 8 and 11. Names start
# with `nuclei_` so this file sits beside an mmdet detector config in `_base_`.
nuclei_train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
nuclei_param_scheduler = [
    # a short warm-up: the nuclei sets have ~20 iterations per epoch at batch size 4
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
# mmdet's learning rates are set for 16 images per iteration (8 GPUs x 2); scale linearly.
nuclei_auto_scale_lr = dict(enable=True, base_batch_size=16)
nuclei_default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='coco/bbox_mAP', rule='greater'),
    logger=dict(type='LoggerHook', interval=10))
