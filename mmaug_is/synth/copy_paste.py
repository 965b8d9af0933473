"""Plain hard copy-paste between real images: the generative baseline of IAAA / SAAA.

Sample ``index`` of stream ``seed`` (rng = ``sample_rng(seed, index)``):

1. a destination and a different source image are drawn among the real images of the
   same size (mmdet's ``CopyPaste`` pastes in place, so the sizes must agree);
2. ``k`` source instances are chosen as mmdet does (``k`` uniform in
   ``[0, min(n + 1, max_num_pasted))``, then ``k`` distinct instances);
3. mmdet's own ``CopyPaste`` transform (``selected=False``: our rng made the choice) pastes
   their pixels without blending at the same position, clips the destination masks under
   them and drops destination instances that are occluded by its thresholds.

The result keeps mmdet's semantics exactly, including its one inexactness: a dropped,
mostly occluded destination instance keeps its few visible pixels unannotated. Every
instance keeps the category of its real annotation.
"""
import numpy as np
from mmdet.datasets.transforms import CopyPaste
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

from ..core import read_image
from ..core.categories import load_categorised
from ..core.objects import masks_to_boxes
from .coco_cache import SyntheticSample
from .protocol import SampleGenerator


def _mmdet_results(image, masks, category_ids):
    """mmdet results dict of an ``(H, W, C)`` image, ``(N, H, W)`` bool masks and their
    ``(N,)`` category ids (carried as ``gt_bboxes_labels``)."""
    n = len(masks)
    boxes = masks_to_boxes(masks).astype(np.float32).reshape(n, 4)
    return dict(img=image, gt_bboxes=HorizontalBoxes(boxes),
                gt_bboxes_labels=np.asarray(category_ids, np.int64).reshape(n),
                gt_ignore_flags=np.zeros(n, bool),
                gt_masks=BitmapMasks(masks.astype(np.uint8), *image.shape[:2]))


class CopyPasteGenerator(SampleGenerator):
    """Hard copy-paste of real instances between real images (mmdet ``CopyPaste``).

    Args:
        ann_file, img_dir: the real COCO instance set (images of equal sizes are paired).
        max_num_pasted, bbox_occluded_thr, mask_occluded_thr: as mmdet's ``CopyPaste``
            (pixels).
    """

    def __init__(self, ann_file, img_dir, max_num_pasted=100, bbox_occluded_thr=10,
                 mask_occluded_thr=300):
        self.records = [r for r in load_categorised(ann_file, img_dir) if len(r)]
        self.images = [read_image(r.path) for r in self.records]
        self.transform = CopyPaste(max_num_pasted=max_num_pasted,
                                   bbox_occluded_thr=bbox_occluded_thr,
                                   mask_occluded_thr=mask_occluded_thr, selected=False)
        self.max_num_pasted = int(max_num_pasted)
        by_shape = {}
        for i, image in enumerate(self.images):
            by_shape.setdefault((image.shape, image.dtype), []).append(i)
        self.partners = {i: [j for j in group if j != i]
                         for group in by_shape.values() for i in group}
        self.destinations = [i for i, others in self.partners.items() if others]
        if not self.destinations:
            raise ValueError(f'{ann_file}: copy-paste needs two annotated images of the same '
                             'size and dtype; every image here has a different one')
        self.destinations.sort()

    def draw_frame(self, rng):
        """The first draws: ``(destination, source)`` image indices of the same size."""
        dst = self.destinations[rng.integers(len(self.destinations))]
        src = self.partners[dst][rng.integers(len(self.partners[dst]))]
        return dst, src

    def frame_shape(self, pair):
        return self.images[pair[0]].shape[:2]

    def compose(self, pair, rng):
        """Instances of image ``src`` pasted into image ``dst`` (``pair``)."""
        dst, src = pair
        n_src = len(self.records[src])
        k = rng.integers(min(n_src + 1, self.max_num_pasted))
        chosen = np.sort(rng.choice(n_src, size=k, replace=False))
        dst_image = self.images[dst]
        grey = dst_image.ndim == 2
        as_hwc = (lambda a: a[..., None]) if grey else (lambda a: a)
        dst_record, src_record = self.records[dst], self.records[src]
        results = _mmdet_results(as_hwc(dst_image), dst_record.masks, dst_record.category_ids)
        results['mix_results'] = [_mmdet_results(as_hwc(self.images[src]),
                                                 src_record.masks[chosen],
                                                 src_record.category_ids[chosen])]
        out = self.transform.transform(results)
        image = out['img'].astype(dst_image.dtype)
        return SyntheticSample(image[..., 0] if grey else image,
                               out['gt_masks'].masks.astype(bool), out['gt_bboxes_labels'])
