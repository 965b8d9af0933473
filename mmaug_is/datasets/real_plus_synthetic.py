"""``RealPlusSyntheticDataset``: a real training set plus synthetic sets made from it.

A mixed-data config names the real dataset once; each synthetic set (``IAAADataset``,
``SAAADataset``, ``CopyPasteDataset``, ...) gets its ``source``, ``metainfo`` and
``pipeline`` from it unless it sets them itself::

    train_dataloader = dict(dataset=dict(
        _delete_=True, type='RealPlusSyntheticDataset',
        real=_base_.train_dataloader.dataset, synthetic=_base_.iaaa_dataset))

``synthetic`` is one dataset config (a dict, so a derived config can change one field:
``dataset=dict(synthetic=dict(num_samples=500))``) or a list of them. With a
``FreshEpochSampler``/``FreshInfiniteSampler`` the online synthetic parts make fresh
samples every epoch.
"""
import copy
import os.path as osp

from mmdet.registry import DATASETS
from mmengine.dataset import ConcatDataset

from .fresh_samplers import EpochIndex, split_epoch

__all__ = ['RealPlusSyntheticDataset', 'real_source_of', 'synthetic_configs']


def real_source_of(real):
    """``dict(ann_file, img_dir)`` of a real ``CocoDataset`` config, ``data_root`` joined
    the way mmengine joins it (absolute paths are kept)."""
    missing = [key for key in ('ann_file', 'data_prefix') if key not in real]
    if missing or 'img' not in real['data_prefix']:
        raise KeyError(f'RealPlusSyntheticDataset: the real dataset config needs ann_file and '
                       f"data_prefix=dict(img=...) to derive the synthetic sets' source; "
                       f'missing {missing or ["data_prefix.img"]} in {dict(real)}')
    root = real.get('data_root') or ''

    def join(path):
        return path if not root or osp.isabs(path) else osp.join(root, path)

    return dict(ann_file=join(real['ann_file']), img_dir=join(real['data_prefix']['img']))


def synthetic_configs(real, synthetic):
    """Copies of the synthetic dataset config(s) with ``source``, ``metainfo`` and
    ``pipeline`` filled in from the ``real`` dataset config where they are not set.

    Args:
        real: the real training dataset config. synthetic: one config or a list.
    Returns a list of dataset configs.
    """
    synthetic = [synthetic] if hasattr(synthetic, 'keys') else list(synthetic)
    if not synthetic:
        raise ValueError('RealPlusSyntheticDataset: synthetic is empty; give at least one '
                         'synthetic dataset config')
    filled = []
    for cfg in synthetic:
        cfg = copy.deepcopy(dict(cfg))
        cfg.setdefault('source', real_source_of(real))
        if 'metainfo' in real:
            cfg.setdefault('metainfo', copy.deepcopy(real['metainfo']))
        cfg.setdefault('pipeline', copy.deepcopy(real.get('pipeline', [])))
        filled.append(cfg)
    return filled


@DATASETS.register_module()
class RealPlusSyntheticDataset(ConcatDataset):
    """The real dataset followed by synthetic datasets derived from it (a ``ConcatDataset``).

    Args:
        real: config of the real training dataset (e.g. a ``CocoDataset``).
        synthetic: one synthetic dataset config or a list; see ``synthetic_configs``.
        lazy_init, ignore_keys: as mmengine's ``ConcatDataset``.
    """

    takes_epoch_index = True  # see fresh_samplers

    def __init__(self, real, synthetic, lazy_init=False, ignore_keys=None):
        datasets = [DATASETS.build(cfg) for cfg in [real, *synthetic_configs(real, synthetic)]]
        super().__init__(datasets, lazy_init=lazy_init, ignore_keys=ignore_keys)

    def __getitem__(self, idx):
        """Item ``idx``; an epoch carried by ``idx`` (``split_epoch``) is passed on to the
        parts that take it."""
        if not self._fully_initialized:
            self.full_init()
        epoch, idx = split_epoch(idx)
        part_idx, sample_idx = self._get_ori_dataset_idx(idx)
        part = self.datasets[part_idx]
        if getattr(part, 'takes_epoch_index', False):
            sample_idx = EpochIndex(sample_idx, epoch)
        return part[sample_idx]
