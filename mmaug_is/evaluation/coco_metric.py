"""``NucleiCocoMetric``: mmdet's ``CocoMetric`` with the headline AP read at the most
detections per image it evaluates.

pycocotools' ``summarize`` reads ``stats[0]`` (mmdet's ``bbox_mAP`` / ``segm_mAP``) at 100
detections per image whatever ``params.maxDets`` says, while AP50, AP75 and APs use the
largest ``maxDets``. Nuclei images hold up to ~200 cells, so a detector that finds them all
is cut at 100 for the headline number only. This metric reads every AP at
``max(proposal_nums)`` (300 in our configs); all else is mmdet's ``CocoMetric``.
"""
from unittest import mock

import numpy as np
from mmdet.evaluation.metrics import CocoMetric
from mmdet.evaluation.metrics import coco_metric as mmdet_coco_metric
from mmdet.registry import METRICS
from mmengine.logging import MMLogger

__all__ = ['NucleiCocoMetric', 'headline_ap']


def headline_ap(coco_eval):
    """AP over IoU 0.50:0.95, all areas, at the largest ``params.maxDets`` (-1 if no
    ground truth) from an accumulated ``COCOeval``."""
    precision = coco_eval.eval['precision'][:, :, :, 0, -1]
    valid = precision[precision > -1]
    return float(np.mean(valid)) if valid.size else -1.0


class _HeadlineAtMaxDets:
    """Mixin for pycocotools ``COCOeval``: ``stats[0]`` at the largest ``maxDets``."""

    def summarize(self):
        super().summarize()
        self.stats[0] = headline_ap(self)
        MMLogger.get_current_instance().info(
            f'AP @[ IoU=0.50:0.95 | area=all | maxDets={self.params.maxDets[-1]} ] = '
            f'{self.stats[0]:.3f} (headline)')


class _COCOeval(_HeadlineAtMaxDets, mmdet_coco_metric.COCOeval):
    pass


class _COCOevalMP(_HeadlineAtMaxDets, mmdet_coco_metric.COCOevalMP):
    pass


@METRICS.register_module()
class NucleiCocoMetric(CocoMetric):
    """``CocoMetric`` whose ``{metric}_mAP`` is read at ``max(proposal_nums)`` detections.

    Args: as mmdet's ``CocoMetric``; ``proposal_nums`` must be increasing (its last value is
    the number of detections per image every AP is read at).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if list(self.proposal_nums) != sorted(self.proposal_nums):
            raise ValueError(f'NucleiCocoMetric: proposal_nums must be increasing, got '
                             f'{self.proposal_nums}')

    def compute_metrics(self, results):
        """mmdet's computation, with pycocotools' evaluator reading ``stats[0]`` at the
        largest ``maxDets``."""
        with mock.patch.object(mmdet_coco_metric, 'COCOeval', _COCOeval), \
                mock.patch.object(mmdet_coco_metric, 'COCOevalMP', _COCOevalMP):
            return super().compute_metrics(results)
