"""Fail early, with the path in the message, when a config's dataset files are missing."""
import os.path as osp


def _join(data_root, path):
    if not path or osp.isabs(path) or '://' in str(path):
        return path
    return osp.join(data_root or '', path)


def _dataset_paths(dataset):
    """Yield (description, path) pairs that a dataset config needs on disk."""
    inner = dataset.get('datasets') or ([dataset['dataset']] if 'dataset' in dataset else [])
    for child in inner:
        yield from _dataset_paths(child)
    data_root = dataset.get('data_root', '')
    ann_file = dataset.get('ann_file')
    if ann_file:
        yield 'annotation file', _join(data_root, ann_file)
    prefix = dataset.get('data_prefix') or {}
    for key in ('img', 'img_path'):
        if prefix.get(key):
            yield 'image folder', _join(data_root, prefix[key])


def check_data_paths(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')):
    """Raise ``FileNotFoundError`` naming the first missing annotation file or image folder.

    Args:
        cfg: an ``mmengine.Config``.
        loaders: the dataloader keys whose datasets are checked (missing keys are skipped).
    """
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg or not loader_cfg.get('dataset'):
            continue
        for what, path in _dataset_paths(loader_cfg['dataset']):
            if '://' in str(path):
                continue
            exists = osp.isdir(path) if what == 'image folder' else osp.isfile(path)
            if not exists:
                raise FileNotFoundError(
                    f'{loader}: {what} not found: {osp.abspath(path)} '
                    f'(check data_root / ann_file / data_prefix in the config)')
