"""mmaug_is: IAAA / SAAA synthetic instance data for MMDetection 3.x.

Importing the package registers its datasets (``IAAADataset``, ``SAAADataset``,
``CopyPasteDataset``, ``RealPlusSyntheticDataset``), transforms (``IAAAPaste``), metric
(``NucleiCocoMetric``) and visualizer (``OutlineVisualizer``) in mmdet's registries, and
allow-lists the types of mmengine checkpoints for torch >= 2.6; with ``MMAUG_OFFLINE=1``
its ``Pretrained`` initialisation skips downloads (``utils.offline``). Use it from a config with
``custom_imports = dict(imports=['mmaug_is'], allow_failed_imports=False)``.
The algorithms themselves live in ``mmaug_is.core`` (numpy + opencv only).

The registration happens only when mmdet is installed: without it (e.g. a GPU machine with
torch + diffusers alone) the package imports without touching mmdet / mmcv / mmengine, so
``mmaug_is.core``, ``mmaug_is.saaa`` and the SAAA training tools still work. An installed
but broken mmdet is not hidden: its ImportError propagates.
"""
import importlib.util

__version__ = '0.1.0'

# find_spec locates the top-level package without importing it.
MMDET_INSTALLED = importlib.util.find_spec('mmdet') is not None

if MMDET_INSTALLED:
    from .utils.checkpoint_compat import allow_mmengine_checkpoints
    from .utils.offline import skip_remote_pretrained_when_offline

    allow_mmengine_checkpoints()
    skip_remote_pretrained_when_offline()

    from . import datasets, transforms, visualization  # noqa: F401  (registration side effects)
    from .evaluation import coco_metric  # noqa: F401
