"""The SAAA models shipped in configs/saaa/models: complete releases within the size limit,
trained on the dsb2018 train splits, and what the configs use by default: a 2-image
SAAADataset cache is built from them on real backgrounds."""
import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from mmaug_is.core.io import decode_rles
from mmaug_is.datasets import synthetic_configs
from mmaug_is.saaa.release import FILES, MAX_FILE_BYTES, SHEET, load_release, verify_release
from mmaug_is.synth.hashing import source_digest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = REPO_ROOT / 'configs' / 'saaa' / 'models'
DATASETS = ('dsb2018_fluo', 'dsb2018_brightfield')
FAST = REPO_ROOT / 'configs' / 'fast'


@pytest.mark.parametrize('name', DATASETS)
def test_release_is_complete_small_and_trained_on_train(name, request):
    manifest = verify_release(MODELS / name)  # every file's size and SHA-256
    assert set(manifest['files']) == {*FILES.values(), SHEET}
    assert all(entry['bytes'] <= MAX_FILE_BYTES for entry in manifest['files'].values())
    root = request.getfixturevalue(name.split('_')[1] + '_root')
    train = dict(ann_file=str(root / 'annotations' / 'train.json'),
                 img_dir=str(root / 'images'))
    for model in manifest['models'].values():
        assert model['data']['source_digest'] == source_digest(**train)
        assert model['iterations'] > 0 and model['commands']


@pytest.mark.parametrize('name', DATASETS)
def test_fast_saaa_config_builds_a_cache_from_the_shipped_models(name, tmp_path):
    from mmdet.registry import DATASETS as MMDET_DATASETS

    cfg = Config.fromfile(str(FAST / f'faster_rcnn_r18_{name.split("_")[1]}_saaa.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    (synthetic, ) = synthetic_configs(dataset_cfg.real, dataset_cfg.synthetic)
    assert {k: Path(v).resolve() for k, v in load_release(MODELS / name).items()} == \
        {k: Path(synthetic[k]).resolve() for k in ('mask_checkpoint', 'pix2pix_checkpoint')}
    synthetic.update(num_samples=2, cache_root=str(tmp_path),
                     generator=dict(synthetic['generator'], mask_bank=64))
    dataset = MMDET_DATASETS.build(synthetic)
    assert len(dataset) == 2
    (cache, ) = tmp_path.glob('saaa-*')
    assert (cache / 'contact_sheet.png').is_file()
    coco = json.loads((cache / 'annotations.json').read_text())
    for info in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == info['id']]
        assert anns, f'synthetic image {info["file_name"]} holds no cells'
        masks = decode_rles([dict(a['segmentation'], counts=a['segmentation']['counts'].encode())
                             for a in anns], info['height'], info['width'])
        for ann, mask in zip(anns, masks):  # exact masks: each box is its mask's box
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(),
                                   ys.max() + 1 - ys.min()]
