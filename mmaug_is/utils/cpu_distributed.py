"""Distributed training and testing without CUDA: mmengine's ``pytorch`` launcher on CPU.

mmengine starts the process group with ``torch.cuda.set_device(LOCAL_RANK)`` (a CPU-only
torch has no such call) and wraps the model in DDP with ``device_ids=[LOCAL_RANK]`` (which
DDP refuses for a CPU model). On a machine without CUDA, ``start_cpu_process_group`` starts
the group itself from the launcher's environment (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``/``PORT``), with gloo in place of the default nccl, so mmengine skips its
own start, and asks for a DDP wrapper without device ids. With CUDA, or without the
``pytorch`` launcher, it changes nothing.
"""
import datetime

import torch
import torch.distributed as torch_dist
from mmengine.logging import print_log

GPU_ONLY_BACKENDS = ('nccl', )


def start_cpu_process_group(cfg):
    """Start the CPU process group of ``cfg`` (``launcher='pytorch'``, no CUDA); see above.

    Args:
        cfg: the Runner's ``Config``: reads ``launcher``, ``env_cfg.dist_cfg`` (``backend``:
            nccl becomes gloo; ``timeout`` in seconds) and ``find_unused_parameters``; sets
            ``model_wrapper_cfg.device_ids = None`` (and mmengine's other DDP defaults).
    Returns ``cfg``.
    """
    if (cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available()
            or torch_dist.is_initialized()):
        return cfg
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'nccl')
    if backend in GPU_ONLY_BACKENDS:
        backend = 'gloo'
    if dist_cfg.get('timeout') is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(backend=backend, **dist_cfg)
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = {**wrapper, **(cfg.get('model_wrapper_cfg') or {}), 'device_ids': None}
    print_log(f'no CUDA: {backend} process group on CPU, rank {torch_dist.get_rank()} of '
              f'{torch_dist.get_world_size()}', logger='current')
    return cfg
