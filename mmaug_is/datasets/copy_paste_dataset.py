"""``CopyPasteDataset``: the hard copy-paste baseline (mmdet ``CopyPaste``) as a dataset."""
from pathlib import Path

from mmdet.registry import DATASETS

from ..synth.copy_paste import CopyPasteGenerator
from .synthetic_coco import SyntheticCocoDataset, real_source


@DATASETS.register_module()
class CopyPasteDataset(SyntheticCocoDataset):
    """Real images with instances of another real image pasted in, without blending.

    The baseline the paper's methods are compared with (FID/KID, detector training).

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
        return dict(source_ann=Path(self.source['ann_file']),
                    img_dir=str(Path(self.source['img_dir']).resolve()),
                    copy_paste=self.copy_paste)

    def build_generator(self):
        return CopyPasteGenerator(self.source['ann_file'], self.source['img_dir'],
                                  **self.copy_paste)
