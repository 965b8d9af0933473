# IAAA synthetic training data (paper 2.4): `iaaa_dataset`, the paper's real + IAAA images,
# whose real source set and pipeline are filled in by each configs/iaaa_paper/*.py from its
# baseline's training dataset; and `iaaa_paste`, the default of configs/iaaa/* (below).
# The paper adds about as many synthetic images as real ones (93 + 107); dsb2018_fluo has
# 79 training images. `policies` comes from tools/iaaa_search.py (a search on dsb2018_fluo train is
# committed; run the search on your own data and point this at its policies.json).
iaaa_dataset = dict(
    type='IAAADataset',
    policies='{{ fileDirname }}/../../iaaa/policies/dsb2018_fluo.json',
    num_samples=79,
    seed=0,
    mode='cache',  # or 'online': generated when loaded, nothing written
    cache_root='work_dirs/mmaug_cache',
    generator=dict(count_mode='distribution', n_candidates=50, sigma=1.0, spacing=1))
# The same for dsb2018_brightfield: as many images as its 80 training images, the policies
# searched on its train split.
iaaa_brightfield_dataset = dict(
    iaaa_dataset, num_samples=80,
    policies='{{ fileDirname }}/../../iaaa/policies/dsb2018_brightfield.json')
# IAAA cells pasted into the current real image online, the default IAAA of this package:
# the `IAAAPaste` transform, put right after `LoadAnnotations` in a real training pipeline,
# with `source` set to that training set (configs/iaaa/*, configs/fast/*_iaaa_default.py).
# Its class defaults are the settings chosen on val with the fast protocol
# (benchmarks/results/fast_protocol.md): the inside-alpha edge, cells from the 5 real
# images of most similar background, 1-25 cells per image and no policies.
iaaa_paste = dict(type='IAAAPaste', cache_root=iaaa_dataset['cache_root'])
