"""Samplers that pass the epoch to the datasets: fresh online synthetic samples per epoch.

mmengine's samplers yield item indices ``i``; these yield the same indices, in the same
order and from the same seeds, as ``EpochIndex(i, epoch)``: an ``int`` that also carries
the epoch it is drawn for. Batch samplers (``AspectRatioBatchSampler``), pickling to
dataloader workers (persistent or not) and ``get_data_info(i)`` see a plain index, so the
epoch reaches the dataset in every worker with nothing shared. Datasets that use it set
``takes_epoch_index = True`` and read it with ``split_epoch``: online
``SyntheticCocoDataset``s then make sample ``i`` of epoch ``e`` from ``(seed, e, i)``;
cached ones and real ones ignore the epoch.

    train_dataloader = dict(sampler=dict(type='FreshEpochSampler', shuffle=True), ...)
    # iteration-based training: an "epoch" is one pass over the dataset
    train_dataloader = dict(sampler=dict(type='FreshInfiniteSampler', shuffle=True), ...)
"""
from mmdet.registry import DATA_SAMPLERS
from mmengine.dataset import DefaultSampler, InfiniteSampler

__all__ = ['EpochIndex', 'FreshEpochSampler', 'FreshInfiniteSampler', 'split_epoch']


class EpochIndex(int):
    """Item index ``index`` (an ``int``) drawn for epoch ``epoch`` (``.epoch``)."""

    def __new__(cls, index, epoch):
        value = super().__new__(cls, index)
        if int(epoch) < 0:
            raise ValueError(f'EpochIndex: epoch must be >= 0, got {epoch}')
        value.epoch = int(epoch)
        return value

    def __reduce__(self):
        return EpochIndex, (int(self), self.epoch)

    def __repr__(self):
        return f'EpochIndex({int(self)}, epoch={self.epoch})'


def split_epoch(idx):
    """``(epoch, index)`` of an item index: ``EpochIndex`` -> its epoch, a plain int -> 0."""
    return getattr(idx, 'epoch', 0), int(idx)


def _check_takes_epoch(dataset, sampler):
    if not getattr(dataset, 'takes_epoch_index', False):
        raise TypeError(f'{sampler} passes the epoch to datasets with takes_epoch_index=True '
                        f'(SyntheticCocoDataset and its subclasses, RealPlusSyntheticDataset); '
                        f'{type(dataset).__name__} would ignore it. Use DefaultSampler/'
                        f'InfiniteSampler for it.')


@DATA_SAMPLERS.register_module()
class FreshEpochSampler(DefaultSampler):
    """``DefaultSampler`` (epoch-based training) whose indices carry ``set_epoch``'s epoch.

    Args: as ``DefaultSampler`` (dataset, shuffle, seed, round_up).
    """

    def __init__(self, dataset, **kwargs):
        _check_takes_epoch(dataset, type(self).__name__)
        super().__init__(dataset, **kwargs)

    def __iter__(self):
        return iter([EpochIndex(index, self.epoch) for index in super().__iter__()])


@DATA_SAMPLERS.register_module()
class FreshInfiniteSampler(InfiniteSampler):
    """``InfiniteSampler`` (iteration-based training) whose indices carry the pass over the
    dataset as the epoch (pass ``p``: positions ``p*N .. p*N+N-1`` of the index stream).

    Args: as ``InfiniteSampler`` (dataset, shuffle, seed).
    """

    def __init__(self, dataset, **kwargs):
        _check_takes_epoch(dataset, type(self).__name__)
        super().__init__(dataset, **kwargs)

    def _infinite_indices(self):
        for position, index in enumerate(super()._infinite_indices()):
            yield EpochIndex(index, position // self.size)
