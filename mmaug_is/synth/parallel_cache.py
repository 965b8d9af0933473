"""One COCO cache (``coco_cache``) written by several processes: the ranks of a
``torch.distributed`` job, or a pool of local worker processes.

Rank ``k`` of ``m`` makes the missing samples ``i`` with ``i % m == k``
(``coco_cache.shard_indices``); a local pool hands out chunks of missing samples as its
workers free up. Each image and part is written atomically. Once every process is done,
one (rank 0, or the parent of the pool) merges the parts, draws the contact sheet and
writes ``annotations.json`` last. Nothing
is generated twice, nobody reads a file before it is complete, and since sample ``i``
depends only on the seed and ``i`` the cache is the same bytes as one written by a single
process. An interrupted run keeps its parts; a rerun with any number of processes makes
only the missing ones. Across machines, the cache folder must be on a shared file system.
mmengine (the rank functions) is imported only by the functions that need it, so
``mmaug_is.synth`` imports without it.
"""
import contextlib
import multiprocessing
from pathlib import Path

from tqdm import tqdm

from .coco_cache import (ANNOTATIONS_FILE, ensure_coco_cache, finish_coco_cache, is_complete,
                         missing_indices, write_parts)

__all__ = ['ensure_coco_cache_across_ranks', 'ensure_coco_cache_in_processes',
           'on_rank0_first']


def on_rank0_first(fn):
    """Call ``fn()`` on rank 0, then, after a barrier, on the other ranks: what ``fn``
    caches on disk (e.g. the real-data assets) is built once and read by the others. In a
    single process: just ``fn()``."""
    from mmengine.dist import barrier, get_dist_info

    rank, _ = get_dist_info()
    if rank == 0:
        fn()
    barrier()
    if rank != 0:
        fn()


def ensure_coco_cache_across_ranks(folder, n_samples, make_sample, categories, meta=None,
                                   prepare=None, progress=True):
    """``coco_cache.ensure_coco_cache`` shared by the ranks of a ``torch.distributed`` job.

    Every rank must call it with the same arguments (it holds collective calls). Rank 0
    decides whether the cache is complete; if not, ``prepare()`` (if given) runs on rank 0
    first (``on_rank0_first``), each rank writes its share of the missing samples, the
    ranks meet at a barrier, rank 0 finishes the cache, and all meet again.

    Args: as ``ensure_coco_cache``; ``prepare``: builds what every sample needs (e.g. the
        generator and the assets it caches), so it is built once, on rank 0.
    Returns the path of ``annotations.json`` (complete on every rank).
    """
    from mmengine.dist import barrier, broadcast_object_list, get_dist_info

    folder = Path(folder)
    rank, world_size = get_dist_info()
    complete = [is_complete(folder) if rank == 0 else None]
    broadcast_object_list(complete)
    if not complete[0]:
        if prepare is not None:
            on_rank0_first(prepare)
        write_parts(folder, missing_indices(folder, n_samples, (rank, world_size)),
                    make_sample, progress=progress and rank == 0)
        barrier()
    if rank == 0:
        finish_coco_cache(folder, n_samples, categories, meta)
    barrier()
    return folder / ANNOTATIONS_FILE


@contextlib.contextmanager
def _one_thread_per_process():
    """OpenCV and torch at one thread while worker processes are forked, restored after.

    The workers inherit the setting (N workers on N cores, no oversubscription), and no
    thread pool is live at ``fork``: a child then cannot wait on threads it lacks (OpenCV
    hangs in ``setNumThreads`` in a child forked while its pool was running), as mmengine
    sets OpenCV's threads before its dataloader workers fork.
    """
    import cv2
    import torch

    threads = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads[0])
        torch.set_num_threads(threads[1])


CHUNK = 4  # samples per task of a local pool: small enough to balance uneven samples
_POOL_MAKE_SAMPLE = None  # the pool's make_sample, inherited by its forked workers


def _write_chunk(task):
    """Pool task ``(folder, indices)``: write the parts of ``indices``; returns how many."""
    folder, indices = task
    write_parts(folder, indices, _POOL_MAKE_SAMPLE, progress=False)
    return len(indices)


def _write_in_pool(folder, todo, make_sample, workers, progress):
    """Write the parts of ``todo`` in ``workers`` forked processes, handed out in chunks of
    ``CHUNK`` samples as workers free up (samples differ in cost); a progress bar counts
    the parts written. The first failure stops the pool and is raised here. Forked, not
    spawned: the workers start at once with the modules and the generator already loaded
    and inherit ``make_sample`` (a spawned worker would import torch and mmdet again,
    seconds each, and each task would pickle the generator)."""
    global _POOL_MAKE_SAMPLE
    chunks = [todo[at:at + CHUNK] for at in range(0, len(todo), CHUNK)]
    _POOL_MAKE_SAMPLE = make_sample
    try:
        with _one_thread_per_process(), \
                multiprocessing.get_context('fork').Pool(workers) as pool, \
                tqdm(total=len(todo), desc=f'generate {folder.name} ({workers} processes)',
                     disable=not progress) as bar:
            for written in pool.imap_unordered(_write_chunk, [(folder, c) for c in chunks]):
                bar.update(written)
    finally:
        _POOL_MAKE_SAMPLE = None


def ensure_coco_cache_in_processes(folder, n_samples, make_sample, categories, meta=None,
                                   workers=1, prepare=None, progress=True):
    """``coco_cache.ensure_coco_cache`` with the samples made by ``workers`` processes.

    Args: as ``ensure_coco_cache``, plus ``workers`` (1: exactly ``ensure_coco_cache``, in
        this process) and ``prepare``: called here once before the workers start when
        samples are missing (e.g. to build the generator and its assets). ``make_sample``
        must pickle: each worker gets a copy, made after ``prepare`` ran.
    Returns the path of ``annotations.json``.
    """
    if int(workers) < 1:
        raise ValueError(f'workers must be >= 1, got {workers!r}')
    if workers == 1:
        return ensure_coco_cache(folder, n_samples, make_sample, categories, meta, progress)
    folder = Path(folder)
    todo = [] if is_complete(folder) else missing_indices(folder, n_samples)
    if todo:
        if prepare is not None:
            prepare()
        _write_in_pool(folder, todo, make_sample, min(int(workers), len(todo)), progress)
    return finish_coco_cache(folder, n_samples, categories, meta)
