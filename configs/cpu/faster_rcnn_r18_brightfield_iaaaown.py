# faster_rcnn_r18_brightfield_iaaa where each synthetic image stays within one real image: its
# background's own cells (style_neighbours=1: the image itself is its nearest style) and
# its own cell count (count_mode='background'). Not in the paper; the variant that came
# closest to real images in benchmarks/results/fid_kid_fluo_iaaa_ablation.md.
_base_ = ['./faster_rcnn_r18_brightfield_iaaa.py']
train_dataloader = dict(dataset=dict(synthetic=dict(
    generator=dict(style_neighbours=1, count_mode='background'))))
