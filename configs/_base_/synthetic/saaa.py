# SAAA synthetic training data (paper 4.4): DDPM masks -> Pix2Pix cells composed on empty
# real backgrounds. The real source set and the pipeline are filled in by each
# configs/saaa/*.py from its baseline's training dataset. The checkpoints come from
#   python tools/saaa_train_masks.py   --ann-file <train.json> --img-dir <images> --work-dir work_dirs/saaa_fluo
#   python tools/saaa_train_pix2pix.py --ann-file <train.json> --img-dir <images> --work-dir work_dirs/saaa_fluo
# (paths relative to the working directory; override for your data; the mask DDPM is
# 64 px by default, the paper's scale).
saaa_dataset = dict(
    type='SAAADataset',
    mask_checkpoint='work_dirs/saaa_fluo/mask_ddpm.pth',
    pix2pix_checkpoint='work_dirs/saaa_fluo/pix2pix.pth',
    num_samples=100,  # paper Table 1: 100 synthetic images; Table 2: 500 (*_500.py)
    seed=0,
    mode='cache',  # or 'online'
    cache_root='work_dirs/mmaug_cache',
    # mask_bank: every image draws its masks (each under a random flip/rotation) from a bank
    # of this many masks sampled once from the mask DDPM (DDIM, seed mask_bank_seed) and
    # stored in cache_root/saaa_mask_banks/ (keyed by the checkpoint's bytes, the sampler
    # settings, size and seed; the cache key includes it). ~0.1-0.3 s of CPU per image
    # instead of seconds. None: sample fresh masks for every image (the paper's way).
    generator=dict(sampler='ddim', steps=25, count_mode='distribution', spacing=2, sigma=1.0,
                   mask_bank=2048, mask_bank_seed=0))
