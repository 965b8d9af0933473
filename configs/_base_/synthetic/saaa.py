# SAAA synthetic training data (paper 4.4): DDPM masks -> Pix2Pix cells composed on empty
# real backgrounds. The real source set and the pipeline are filled in by each
# configs/saaa/*.py from its baseline's training dataset. The checkpoints default to the
# models shipped in configs/saaa/models/<dataset>/ (trained on dsb2018 train on CPU; their
# manifest.json gives the commands, data and iterations, and every file's SHA-256, which
# is checked before use). For your own data, train and point both paths at yours:
#   python tools/saaa_train_masks.py   --ann-file <train.json> --img-dir <images> --work-dir work_dirs/saaa_mine
#   python tools/saaa_train_pix2pix.py --ann-file <train.json> --img-dir <images> --work-dir work_dirs/saaa_mine
# (docs/saaa.md "Training"; the mask DDPM is 64 px by default, the paper's scale).
saaa_models = '{{ fileDirname }}/../../saaa/models/'
saaa_dataset = dict(
    type='SAAADataset',
    mask_checkpoint=saaa_models + 'dsb2018_fluo/mask_ddpm.pth',
    pix2pix_checkpoint=saaa_models + 'dsb2018_fluo/pix2pix.pth',
    num_samples=100,  # paper Table 1: 100 synthetic images; Table 2: 500 (*_500.py)
    seed=0,
    mode='cache',  # or 'online'
    cache_root='work_dirs/mmaug_cache',
    # mask_bank: every image draws its masks (each under a random flip/rotation) from a bank
    # of this many masks sampled once from the mask DDPM (DDIM, seed mask_bank_seed) and
    # stored in cache_root/saaa_mask_banks/ (keyed by the checkpoint's bytes, the sampler
    # settings, size and seed; the cache key includes it). ~0.1-0.3 s of CPU per image
    # instead of seconds. None: sample fresh masks for every image (the paper's way).
    # smooth_sigma: Gaussian smoothing (canonical px) of each raw DDPM sample before it is
    # thresholded; 3 makes the shipped fluo model's outlines closest to the real val cells'
    # (benchmarks/results/bench_saaa_mask_shapes_fluo.md; 0 = the paper's plain threshold).
    # edge='inside' + gt_mask='visible' (beyond the paper; the paper's: 'blur', 'generated'):
    # alpha 1 on the whole ground-truth mask, which is the part of the DDPM mask where the
    # painted cell shows, so boxes fit the cells (the shipped models' cells fade inside
    # their masks: benchmarks/results/bench_edge_fidelity_saaa.md); chosen on val with the
    # fast protocol on dsb2018_fluo (benchmarks/results/fast_protocol.md, "Box bias").
    # texture='real' (beyond the paper): each painted cell gets the fine grain real cells of
    # its brightness have, fitted on the source's SCOs (docs/saaa.md, "Cell texture").
    # tone='real' (beyond the paper): each painted cell gets the contrast of a real cell of
    # its background's image (docs/saaa.md, "Cell tone"). Both off: not better on val.
    # size='real' (beyond the paper): each cell gets the size of a real cell of its
    # background's image (docs/saaa.md, "Cell size"). Off: worse on val (FID and AP).
    generator=dict(sampler='ddim', steps=25, count_mode='distribution', spacing=2, sigma=1.0,
                   mask_bank=2048, mask_bank_seed=0, smooth_sigma=3.0, edge='inside',
                   gt_mask='visible'))
# The same with the models trained on dsb2018_brightfield (80 synthetic images: as many as
# its real training images); smooth_sigma chosen on val as above
# (benchmarks/results/bench_saaa_mask_shapes_brightfield.md).
saaa_brightfield_dataset = dict(
    saaa_dataset, num_samples=80,
    mask_checkpoint=saaa_models + 'dsb2018_brightfield/mask_ddpm.pth',
    pix2pix_checkpoint=saaa_models + 'dsb2018_brightfield/pix2pix.pth',
    generator=dict(saaa_dataset['generator'], smooth_sigma=3.75))
# SAAA cells pasted into the current real image online (beyond the paper; SAAA's
# counterpart of IAAAPaste): the `SAAAPaste` transform, put right after `LoadAnnotations`
# in a real training pipeline with `source` set to that training set
# (configs/fast/*_saaa_paste.py). 1-25 new cells per image, painted for the image's own
# background; the same mask and paste settings as saaa_dataset.
saaa_paste = dict(
    type='SAAAPaste', mask_checkpoint=saaa_dataset['mask_checkpoint'],
    pix2pix_checkpoint=saaa_dataset['pix2pix_checkpoint'], max_cells=25, prob=1.0,
    cache_root=saaa_dataset['cache_root'],
    **{k: v for k, v in saaa_dataset['generator'].items() if k != 'count_mode'})
saaa_brightfield_paste = dict(
    saaa_paste, mask_checkpoint=saaa_brightfield_dataset['mask_checkpoint'],
    pix2pix_checkpoint=saaa_brightfield_dataset['pix2pix_checkpoint'],
    smooth_sigma=saaa_brightfield_dataset['generator']['smooth_sigma'])
