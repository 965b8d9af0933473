# Dataset: real fluorescence nuclei from ../shared/data (79/20/20 images): the data root of
# the shared nuclei file itself.
_base_ = './nuclei_coco.py'
