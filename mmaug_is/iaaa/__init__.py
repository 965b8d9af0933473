"""IAAA (paper 2.1-2.4): policy search and image generation.

* ``wae``: Wasserstein autoencoder (WAE-MMD) trained on real cell objects (torch).
* ``scoring``: WAE-based policy score (realism without copying) and the object split.
* ``search``: Greedy AutoAugment over ``core.ops`` (resumable, deterministic).
* ``pipeline``: the whole search on a COCO dataset, as ``tools/iaaa_search.py`` runs it.
* ``generator``: synthetic images from searched policies (numpy only).

Submodules are imported explicitly (``from mmaug_is.iaaa.search import greedy_search``)
so that using the generator does not import torch.
"""
