"""``IAAADataset``: IAAA synthetic images (paper 2.4) as an mmdet dataset."""
from mmdet.registry import DATASETS

from ..iaaa.generator import IAAAGenerator, IAAASettings, as_policies
from ..synth import RealAssets, source_digest
from .synthetic_coco import SyntheticCocoDataset, real_source


@DATASETS.register_module()
class IAAADataset(SyntheticCocoDataset):
    """Real cells, augmented by searched policies, on empty real backgrounds.

    Every cell keeps the category of its real annotation (the real class mix).

    Args:
        source: ``dict(ann_file=..., img_dir=...)`` of the REAL training set (COCO).
        policies: path of a ``policies.json`` from ``tools/iaaa_search.py``, or a list of
            policy dicts; ``[]`` pastes the cells unaugmented.
        num_samples, seed, mode, cache_root: see ``SyntheticCocoDataset``.
        generator: ``IAAASettings`` fields (count_mode, n_candidates, sigma, spacing,
            style_neighbours).
        assets: ``RealAssets.build`` options (background_method, background_candidates,
            background_sigma, seed).
    """

    NAME = 'iaaa'

    def __init__(self, source, policies, num_samples, generator=None, assets=None, **kwargs):
        super().__init__(num_samples=num_samples, **kwargs)
        self.source = real_source(source, 'IAAADataset')
        self.policy_dicts = [p.to_dict() for p in as_policies(policies)]
        self.settings = IAAASettings(**(generator or {}))
        self.asset_options = dict(assets or {})

    def cache_inputs(self):
        return dict(source=source_digest(**self.source), policies=self.policy_dicts,
                    generator=self.settings.to_dict(), assets=self.asset_options)

    def build_generator(self):
        assets, _ = RealAssets.cached(self.source['ann_file'], self.source['img_dir'],
                                      self.cache_root, **self.asset_options)
        return IAAAGenerator(assets, as_policies(self.policy_dicts), self.settings)
