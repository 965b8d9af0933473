"""mmaug_is: IAAA / SAAA synthetic instance data for MMDetection 3.x.

Importing the package registers its datasets (``IAAADataset``, ``SAAADataset``,
``CopyPasteDataset``, ``RealPlusSyntheticDataset``), transforms (``IAAAPaste``), metric
(``NucleiCocoMetric``) and visualizer (``OutlineVisualizer``) in mmdet's registries, and
allow-lists the types of mmengine checkpoints for torch >= 2.6. Use it from a config with
``custom_imports = dict(imports=['mmaug_is'], allow_failed_imports=False)``.
The algorithms themselves live in ``mmaug_is.core`` (numpy + opencv only).
"""
from .utils.checkpoint_compat import allow_mmengine_checkpoints

__version__ = '0.1.0'

allow_mmengine_checkpoints()

from . import datasets, transforms, visualization  # noqa: E402,F401  (registration side effects)
from .evaluation import coco_metric  # noqa: E402,F401
