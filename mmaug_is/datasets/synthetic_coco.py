"""Base of the registered synthetic datasets: generated on the fly or from a COCO cache.

A subclass supplies the inputs that define its samples (``cache_inputs``) and a
generator with ``generate(seed, index) -> SyntheticSample``. Samples have exactly the
format of mmdet's ``CocoDataset`` (``instances`` with xyxy boxes, labels and RLE masks),
so the real training pipeline applies unchanged. Each cell keeps the category of the real
cell it comes from; ``metainfo`` defaults to the source's categories, and labels follow
mmdet's rule (``core.categories``), so the real and the synthetic sets agree.

- ``mode='cache'``: the samples are written once as a COCO dataset under
  ``cache_root/<name>-<key>/`` (key = hash of every input), atomically and resumably
  (see ``synth.coco_cache``), then read as a ``CocoDataset``. In a ``torch.distributed``
  job each rank writes its share (sample ``i`` on rank ``i % world_size``), rank 0 finishes
  the cache and every rank reads the same one (``synth.parallel_cache``).
- ``mode='online'``: sample ``i`` is generated when it is loaded; the pipeline's
  ``LoadImageFromFile`` is swapped for ``LoadImageFromNDArray`` and the image is
  converted the way ``LoadImageFromFile`` would have decoded the cached PNG.
Either way sample ``i`` is a deterministic function of ``seed`` and ``i``; online, with a
``FreshEpochSampler``/``FreshInfiniteSampler``, sample ``i`` of epoch ``e`` is one of
``(seed, e, i)``: fresh cells every epoch, replayable byte for byte. Neither depends on the
process, rank or dataloader worker that makes it, so under DDP (where mmengine's samplers
and ours give each rank its own indices) every rank's samples are reproducible.
"""
import copy
import numbers
from collections.abc import Mapping
from pathlib import Path

from mmdet.datasets import CocoDataset
from mmengine.dist import get_dist_info

from ..core.categories import category_labels, read_categories
from ..synth import (as_loaded_image, ensure_coco_cache_across_ranks,
                     ensure_coco_cache_in_processes, on_rank0_first, sample_to_instances,
                     stable_hash)
from .fresh_samplers import split_epoch

MODES = ('cache', 'online')
SOURCE_KEYS = ('ann_file', 'img_dir')


def real_source(source, owner):
    """``dict(ann_file=str, img_dir=str)`` of a real COCO set. Raises ``ValueError`` naming
    ``owner`` for a missing key, ``FileNotFoundError`` naming it and a missing path."""
    missing = ([key for key in SOURCE_KEYS if key not in source]
               if isinstance(source, Mapping) else list(SOURCE_KEYS))
    if missing:
        raise ValueError(f'{owner} source lacks {", ".join(missing)}: expected '
                         f'dict({", ".join(f"{k}=..." for k in SOURCE_KEYS)}), got {source!r}')
    checked = {key: str(source[key]) for key in SOURCE_KEYS}
    for what, path in checked.items():
        if not Path(path).exists():
            raise FileNotFoundError(f'{owner} source {what} not found: {Path(path).resolve()}')
    return checked


def source_metainfo(categories):
    """``metainfo`` of a dataset of ``categories`` (file order): their names as
    ``classes``, and the first colours of ``CocoDataset``'s palette."""
    return dict(classes=tuple(cat['name'] for cat in categories),
                palette=CocoDataset.METAINFO['palette'][:len(categories)])


def _in_memory_pipeline(pipeline):
    """Copy of ``pipeline`` with ``LoadImageFromFile`` replaced by ``LoadImageFromNDArray``.

    Returns ``(pipeline, color_type)``.
    """
    pipeline = copy.deepcopy(list(pipeline))
    for i, step in enumerate(pipeline):
        if isinstance(step, dict) and step.get('type') == 'LoadImageFromFile':
            pipeline[i] = dict(type='LoadImageFromNDArray',
                               to_float32=step.get('to_float32', False))
            return pipeline, step.get('color_type', 'color')
    raise ValueError('online synthetic datasets need a LoadImageFromFile step in their '
                     'pipeline (it is replaced by LoadImageFromNDArray)')


class _InitThenLoad(type):
    """Metaclass: the categories are read and ``full_init`` runs (unless ``lazy_init``)
    after the whole ``__init__`` chain, so subclasses may set their attributes after
    ``super().__init__``."""

    def __call__(cls, *args, **kwargs):
        dataset = super().__call__(*args, **kwargs)
        dataset._load_categories()
        if not dataset.lazy_init:
            dataset.full_init()
        return dataset


class SyntheticCocoDataset(CocoDataset, metaclass=_InitThenLoad):
    """Synthetic instance data in ``CocoDataset`` form.

    Args:
        num_samples: number of synthetic images.
        seed: stream seed; sample ``i`` depends only on ``(seed, i)`` and the inputs.
        mode: ``'cache'`` or ``'online'``.
        cache_root: folder of the COCO caches and the real-data assets.
        lazy_init: as ``BaseDataset``: ``True`` defers generation (or reading the cache)
            to ``full_init``, which runs on first use.
        metainfo: as ``CocoDataset``; ``None``: ``source_metainfo`` of the source's
            categories. Its classes must name the source's categories first, in file
            order (``core.categories.category_labels``).
        pipeline, filter_cfg, test_mode, ...: as ``CocoDataset``.
    Subclasses set ``self.source = dict(ann_file=..., img_dir=...)``, the real set.
    """

    NAME = 'synthetic'
    takes_epoch_index = True  # see fresh_samplers

    def __init__(self, num_samples, seed=0, mode='cache', cache_root='work_dirs/mmaug_cache',
                 pipeline=(), metainfo=None, lazy_init=False, **kwargs):
        if mode not in MODES:
            raise ValueError(f'{type(self).__name__}: mode must be one of {MODES}, got {mode!r}')
        for name, value, low in (('num_samples', num_samples, 1), ('seed', seed, 0)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f'{type(self).__name__}: {name} must be an integer >= {low}, '
                                 f'got {value!r}')
        self.num_samples, self.seed, self.mode = int(num_samples), int(seed), mode
        self.cache_root = Path(cache_root)
        self.lazy_init = bool(lazy_init)
        self._generator = None
        for key in ('ann_file', 'data_root', 'data_prefix'):
            if key in kwargs:
                raise ValueError(f'{type(self).__name__} makes its own {key}; remove it')
        if mode == 'online':
            pipeline, self.color_type = _in_memory_pipeline(pipeline)
            kwargs.setdefault('filter_cfg', None)
        self._metainfo_given = bool(metainfo)
        super().__init__(ann_file='', data_root='', data_prefix=dict(img=''),
                         pipeline=list(pipeline), metainfo=metainfo, lazy_init=True, **kwargs)

    # --- what subclasses provide -------------------------------------------------------
    def cache_inputs(self):
        """JSON-able description of everything the samples depend on (for the cache key)."""
        raise NotImplementedError

    def build_generator(self):
        """Return the sample generator: a ``synth.SampleGenerator`` (``generate(seed,
        index) -> SyntheticSample``, ``output_shape(seed, index) -> (H, W)``)."""
        raise NotImplementedError

    # --- shared machinery --------------------------------------------------------------
    def _load_categories(self):
        """Set ``categories`` (the source's, in file order; the samples' category ids refer
        to them and the cache declares them), ``metainfo`` when not given, and
        ``cat2label`` (mmdet's labels of the categories; ``CocoDataset`` reading the cache
        gets the same)."""
        self.categories = read_categories(self.source['ann_file'])
        if not self._metainfo_given:
            self._metainfo = source_metainfo(self.categories)
        self.cat2label = category_labels(self.categories, self._metainfo['classes'],
                                         type(self).__name__)

    def cache_key(self):
        """Hash of the generator name, its inputs, the seed and the number of samples."""
        return stable_hash(dict(name=self.NAME, inputs=self.cache_inputs(), seed=self.seed,
                                num_samples=self.num_samples))

    def cache_name(self):
        """``<NAME>-<cache_key>``: the cache folder under ``cache_root``, and the key its
        COCO ``info`` records wherever it is written."""
        return f'{self.NAME}-{self.cache_key()}'

    def prepare_generator(self):
        """Build the sample generator (and the real-data assets it caches) unless built;
        return it."""
        if self._generator is None:
            self._generator = self.build_generator()
        return self._generator

    @property
    def generator(self):
        """The sample generator, built on first use."""
        return self.prepare_generator()

    def _make_sample(self, index, epoch=None):
        return self.generator.generate(self.seed, index, epoch)

    def write_cache(self, folder=None, workers=1, progress=True):
        """Write (or resume, or reuse) this dataset's COCO cache in ``folder`` (default
        ``cache_root/<cache_name>``); returns the path of its ``annotations.json``.

        Inside a ``torch.distributed`` job of several ranks (every rank calls this) the
        ranks share the samples (``synth.ensure_coco_cache_across_ranks``); otherwise
        ``workers`` local processes do (``synth.ensure_coco_cache_in_processes``). The files
        are the same bytes either way.
        """
        folder = Path(folder) if folder is not None else self.cache_root / self.cache_name()
        args = (folder, self.num_samples, self._make_sample, self.categories,
                dict(generator=self.NAME, key=self.cache_name(), seed=self.seed))
        if get_dist_info()[1] > 1:
            if workers != 1:
                raise ValueError(f'{type(self).__name__}.write_cache: workers={workers} inside '
                                 'a distributed job; its ranks already share the samples')
            return ensure_coco_cache_across_ranks(*args, prepare=self.prepare_generator,
                                                  progress=progress)
        return ensure_coco_cache_in_processes(*args, workers=workers,
                                              prepare=self.prepare_generator,
                                              progress=progress)

    def load_data_list(self):
        """Cache mode: write (or resume, or reuse) the COCO cache (``write_cache``; in a
        distributed job every rank makes its share), then read it.
        Online mode: one placeholder per sample index.

        Placeholders know the image size (``generator.output_shape``) for aspect-ratio
        batching; the image and instances are made in ``prepare_data``. Either way the
        generator's inputs are read here, in the main process, before workers fork (in a
        distributed job on rank 0 first, so its cached assets are built once).
        """
        if self.mode == 'cache':
            self.ann_file = str(self.write_cache())
            self.data_prefix = dict(img=str(Path(self.ann_file).parent / 'images') + '/')
            return super().load_data_list()
        on_rank0_first(self.prepare_generator)
        infos = []
        for i in range(self.num_samples):
            height, width = self.generator.output_shape(self.seed, i)
            infos.append(dict(img_id=i, img_path=f'{self.NAME}://seed{self.seed}/{i}',
                              height=int(height), width=int(width), instances=[]))
        return infos

    def prepare_data(self, idx):
        """Sample ``idx`` through the pipeline. ``idx`` may carry an epoch (``split_epoch``):
        online it picks the epoch's sample, generated here (image + instances); a cache
        holds one sample per index and ignores it."""
        epoch, idx = split_epoch(idx)
        if self.mode == 'cache':
            return super().prepare_data(idx)
        info = self.get_data_info(idx)
        sample = self._make_sample(info['img_id'], epoch)
        info['img'] = as_loaded_image(sample.image, self.color_type)
        info['instances'] = sample_to_instances(sample, self.cat2label)
        return self.pipeline(info)
