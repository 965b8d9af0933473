"""``CopyPasteDataset``: the hard copy-paste baseline (mmdet ``CopyPaste``) as a dataset."""
from mmdet.registry import DATASETS

from ..synth import source_digest
from ..synth.copy_paste import CopyPasteGenerator
from .synthetic_coco import SyntheticCocoDataset, real_source


@DATASETS.register_module()
class CopyPasteDataset(SyntheticCocoDataset):
    """Real images with instances of another real image pasted in, without blending.

    The baseline the paper's methods are compared with (FID/KID, detector training).
    Every instance keeps the category of its real annotation.

    Args:
        source: ``dict(ann_file=..., img_dir=...)`` of the REAL training set.
        num_samples, seed, mode, cache_root: see ``SyntheticCocoDataset``.
        copy_paste: mmdet ``CopyPaste`` thresholds (``max_num_pasted``,
            ``bbox_occluded_thr``, ``mask_occluded_thr``; pixels).
    """

    NAME = 'copypaste'

    def __init__(self, source, num_samples, copy_paste=None, **kwargs):
        super().__init__(num_samples=num_samples, **kwargs)
        self.source = real_source(source, 'CopyPasteDataset')
        self.copy_paste = dict(copy_paste or {})

    def cache_inputs(self):
        return dict(source=source_digest(**self.source), copy_paste=self.copy_paste)

    def build_generator(self):
        return CopyPasteGenerator(self.source['ann_file'], self.source['img_dir'],
                                  **self.copy_paste)
