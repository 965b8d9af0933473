# SAAA synthetic training data (paper 4.4): DDPM masks -> Pix2Pix cells composed on empty
# real backgrounds. The real source set and the pipeline are filled in by each
# configs/saaa/*.py from its baseline's training dataset. The checkpoints come from
#   python tools/saaa_train_masks.py   --ann-file <train.json> --img-dir <images> --work-dir work_dirs/saaa_fluo
#   python tools/saaa_train_pix2pix.py --ann-file <train.json> --img-dir <images> --work-dir work_dirs/saaa_fluo
# (paths relative to the working directory; override for your data).
saaa_dataset = dict(
    type='SAAADataset',
    mask_checkpoint='work_dirs/saaa_fluo/mask_ddpm.pth',
    pix2pix_checkpoint='work_dirs/saaa_fluo/pix2pix.pth',
    num_samples=100,  # paper Table 1: 100 synthetic images; Table 2: 500 (*_500.py)
    seed=0,
    mode='cache',  # or 'online'
    cache_root='work_dirs/mmaug_cache',
    generator=dict(sampler='ddim', steps=25, count_mode='distribution', spacing=2, sigma=1.0))
