"""Samplers that pass the epoch to the datasets: fresh online synthetic samples per epoch.

mmengine's samplers yield item indices ``i`` in ``[0, len(dataset))``; these yield
``epoch * len(dataset) + i`` instead (same order, same seeds), so the epoch reaches the
dataset in every dataloader worker, persistent or not, with nothing shared. Datasets that
understand such an index set ``takes_epoch_index = True`` and split it with
``split_epoch``: online ``SyntheticCocoDataset``s then make sample ``i`` of epoch ``e``
from ``(seed, e, i)``; cached ones and real ones ignore the epoch.

    train_dataloader = dict(sampler=dict(type='FreshEpochSampler', shuffle=True), ...)
    # iteration-based training: an "epoch" is one pass over the dataset
    train_dataloader = dict(sampler=dict(type='FreshInfiniteSampler', shuffle=True), ...)
"""
from mmdet.registry import DATA_SAMPLERS
from mmengine.dataset import DefaultSampler, InfiniteSampler

__all__ = ['FreshEpochSampler', 'FreshInfiniteSampler', 'split_epoch']


def split_epoch(idx, size):
    """``(epoch, index)`` of a sampler index ``idx`` over a dataset of ``size`` items; a
    plain index (``< size``, or negative: counted from the end) is epoch 0."""
    idx = int(idx)
    if idx < size:
        return 0, idx
    return divmod(idx, int(size))


def _check_takes_epoch(dataset, sampler):
    if not getattr(dataset, 'takes_epoch_index', False):
        raise TypeError(f'{sampler} yields epoch-carrying indices, which only datasets with '
                        f'takes_epoch_index=True understand (SyntheticCocoDataset and its '
                        f'subclasses, RealPlusSyntheticDataset); got {type(dataset).__name__}. '
                        f'Use DefaultSampler/InfiniteSampler for it.')


@DATA_SAMPLERS.register_module()
class FreshEpochSampler(DefaultSampler):
    """``DefaultSampler`` (epoch-based training) whose indices carry ``set_epoch``'s epoch.

    Args: as ``DefaultSampler`` (dataset, shuffle, seed, round_up).
    """

    def __init__(self, dataset, **kwargs):
        _check_takes_epoch(dataset, type(self).__name__)
        super().__init__(dataset, **kwargs)

    def __iter__(self):
        offset = self.epoch * len(self.dataset)
        return iter([offset + index for index in super().__iter__()])


@DATA_SAMPLERS.register_module()
class FreshInfiniteSampler(InfiniteSampler):
    """``InfiniteSampler`` (iteration-based training) whose indices carry the pass number
    over the dataset as the epoch (pass ``p`` = positions ``p*N .. p*N+N-1`` of the stream).

    Args: as ``InfiniteSampler`` (dataset, shuffle, seed).
    """

    def __init__(self, dataset, **kwargs):
        _check_takes_epoch(dataset, type(self).__name__)
        super().__init__(dataset, **kwargs)

    def _infinite_indices(self):
        for position, index in enumerate(super()._infinite_indices()):
            yield (position // self.size) * self.size + index
