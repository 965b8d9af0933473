"""SAAA (paper section 4): mask DDPM + Pix2Pix cell synthesis + multi-cell composition.

mask_data: canonical SCO masks/windows, image <-> tensor scaling; mask_ddpm: the diffusion
model, sampling and mask post-processing; mask_bank: masks sampled once, drawn per image;
pix2pix: generator/discriminator networks;
losses: adversarial, L1, perceptual (FID Inception or VGG16); trainers: optimisation steps
and checkpoints;
train_loop: the resumable training driver (``TrainingRun``), logging, batches; generator:
``SAAAGenerator``; texture: real-cell grain added to painted cells (beyond the paper);
release: generation-only model releases with a checked manifest.
``diffusers`` is imported only when a mask model is built. Nothing here (nor in
``tools/saaa_train_*.py``) imports mmdet, mmcv or mmengine: torch + diffusers suffice.
"""
from .generator import CellSynthesizer, MaskGenerator, SAAAGenerator
from .mask_data import ImageFormat, SCODataset, SizeDistribution, build_sco_dataset
from .mask_bank import MaskBank
from .mask_ddpm import MaskDDPM, MaskDDPMConfig, MaskFilter, MaskSamplingError
from .pix2pix import PatchDiscriminator, Pix2PixConfig, UNetGenerator
from .texture import CellTexture
from .trainers import MaskDDPMTrainer, Pix2PixTrainer

__all__ = [
    'CellSynthesizer', 'CellTexture', 'ImageFormat', 'MaskBank', 'MaskDDPM', 'MaskDDPMConfig',
    'MaskDDPMTrainer', 'MaskFilter', 'MaskGenerator', 'MaskSamplingError', 'PatchDiscriminator',
    'Pix2PixConfig', 'Pix2PixTrainer', 'SAAAGenerator', 'SCODataset', 'SizeDistribution',
    'UNetGenerator', 'build_sco_dataset',
]
