"""Pre-sampled mask bank: masks sampled once from the mask DDPM, drawn per image.

Sampling a mask with DDIM costs a few hundred ms of CPU, so a composed image of ~25 cells
costs seconds when its masks are sampled fresh (the paper's way). ``MaskBank`` samples
``N`` accepted masks once (seeded DDIM), stores them in a compressed ``.npz`` named by its
key, and each image then draws its masks from the bank (without replacement within an
image) with the image's rng, each with a random one of the 8 square symmetries
(``mask_data.dihedral``) for variety.

The key (``mask_bank_key``) is the SHA-256 of the mask checkpoint's bytes, the sampler
settings, ``N`` and the bank seed: a retrained model or other settings give another bank,
and the SAAA cache key includes it. A bank is built in chunks of slots; every finished
chunk is written beside the bank (``<bank>.parts/``), so an interrupted build resumes
where it stopped. Slot ``j`` has its own noise stream (seeded from ``(seed, j)``) and one
DDIM draw; the bank holds the first ``N`` accepted slots, so its masks do not depend on
the chunk or batch size (up to the floating point described in
``mask_ddpm.sample_clean_masks``). Same bank file + same rng -> the same masks, bytes.
"""
import json
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mmaug_is.core.io import atomic_open
from mmaug_is.synth.hashing import stable_hash

from .mask_data import dihedral

BANK_VERSION = 1
BANK_PREFIX = 'mask_bank-'
DEFAULT_CHUNK = 256


def mask_bank_key(model_digest, n, seed=0, sampler='ddim', steps=25, smooth_sigma=0.0):
    """Content key (16 hex characters) of the bank of ``n`` masks of ``seed`` sampled from
    the mask model of digest ``model_digest`` (SHA-256 of ``mask_ddpm.pth``'s bytes) with
    these sampler settings."""
    return stable_hash(dict(kind='saaa_mask_bank', version=BANK_VERSION, model=model_digest,
                            n=int(n), seed=int(seed), sampler=sampler, steps=int(steps),
                            smooth_sigma=float(smooth_sigma)))


def slot_seeds(seed, start, stop):
    """Seeds of the noise streams of bank slots ``start..stop-1`` (independent of chunking)."""
    return [int(np.random.SeedSequence([int(seed), j]).generate_state(1, np.uint64)[0] >> 2)
            for j in range(start, stop)]


class MaskBank:
    """``N`` accepted canonical masks ``(N, S, S)`` bool and how they were made.

    Build with ``MaskBank.cached`` (load or build + save) or ``build``; ``draw(n, rng)``
    gives an image's masks. ``meta``: key, settings, slots tried, acceptance, rejections.
    """

    def __init__(self, masks, meta):
        self.masks = np.ascontiguousarray(masks, dtype=bool)
        if self.masks.ndim != 3 or len(self.masks) == 0:
            raise ValueError(f'MaskBank needs (N, S, S) masks with N > 0, got '
                             f'{self.masks.shape}')
        self.meta = dict(meta)

    def __len__(self):
        return len(self.masks)

    @property
    def key(self):
        return self.meta['key']

    @property
    def size(self):
        return self.masks.shape[1]

    @staticmethod
    def path_for(folder, key):
        return Path(folder) / f'{BANK_PREFIX}{key}.npz'

    def draw(self, n, rng):
        """``(n, S, S)`` bool: ``n`` bank masks (distinct while ``n <= N``), each under a
        random dihedral transform; all choices from the numpy ``rng``."""
        index = rng.choice(len(self), size=n, replace=n > len(self))
        ks = rng.integers(0, 8, size=n)
        out = np.empty((n, ) + self.masks.shape[1:], dtype=bool)
        for i, (j, k) in enumerate(zip(index, ks)):
            out[i] = dihedral([self.masks[j][None]], int(k))[0][0]
        return out

    # --- files -------------------------------------------------------------------------
    def save(self, path):
        """Write a compressed ``.npz`` (masks, slots, meta JSON) atomically."""
        with atomic_open(path, 'wb') as handle:
            np.savez_compressed(handle, masks=self.masks,
                                slots=np.asarray(self.meta.get('slots', []), np.int64),
                                meta=np.array(json.dumps(
                                    {k: v for k, v in self.meta.items() if k != 'slots'})))
        return Path(path)

    @classmethod
    def load(cls, path, key=None):
        """Read a bank written by ``save``; ``key``: the key it must have."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data['meta']))
            meta['slots'] = data['slots'].tolist()
            masks = data['masks']
        if key is not None and meta.get('key') != key:
            raise ValueError(f'{path}: mask bank key {meta.get("key")!r}, expected {key!r}')
        return cls(masks, meta)

    @classmethod
    def cached(cls, masks, n, folder, seed=0, chunk=DEFAULT_CHUNK, progress=True):
        """The bank of ``n`` masks of ``seed`` of ``MaskGenerator`` ``masks`` from
        ``folder`` (``mask_bank-<key>.npz``), built and saved there first when missing
        (resuming an interrupted build)."""
        key = masks.bank_key(n, seed)
        path = cls.path_for(folder, key)
        if path.is_file():
            return cls.load(path, key)
        bank = cls.build(masks, n, seed, chunk=chunk, progress=progress,
                         parts_dir=path.with_name(path.name + '.parts'))
        bank.save(path)
        shutil.rmtree(path.with_name(path.name + '.parts'), ignore_errors=True)
        return bank

    # --- building ----------------------------------------------------------------------
    @classmethod
    def build(cls, masks, n, seed=0, chunk=DEFAULT_CHUNK, progress=True, parts_dir=None):
        """Sample the bank of ``n`` masks with ``MaskGenerator`` ``masks`` (its model,
        filter, sampler and batch size).

        Slots are sampled in chunks of at most ``chunk`` (sized by the acceptance so far);
        with ``parts_dir`` each finished chunk is saved there (atomically) and existing
        chunks are reused. Raises ``MaskSamplingError`` when fewer than
        ``1 / (masks.max_retries + 1)`` of the slots tried are accepted (the fresh path's
        retry budget, as a rate).
        """
        from .mask_ddpm import MaskSamplingError, count_rejection, mask_generators

        if int(n) < 1:
            raise ValueError(f'MaskBank.build: n must be >= 1, got {n!r}')
        n, chunk = int(n), max(1, int(chunk))
        key = masks.bank_key(n, seed)
        parts = Path(parts_dir) if parts_dir is not None else None
        accepted, slots, reasons, tried = [], [], {}, 0
        if parts is not None and parts.is_dir():
            for part in sorted(parts.glob('slots_*.npz')):
                with np.load(part, allow_pickle=False) as data:
                    meta = json.loads(str(data['meta']))
                    if meta['key'] != key or meta['start'] != tried:
                        continue  # another bank's or a non-contiguous part: ignore it
                    accepted.extend(data['masks'])
                    slots.extend(data['slots'].tolist())
                    for reason, count in meta['reasons'].items():
                        reasons[reason] = reasons.get(reason, 0) + count
                    tried = meta['stop']
        with tqdm(total=n, initial=min(len(accepted), n), desc='mask bank', unit='mask',
                  disable=not progress, dynamic_ncols=True) as bar:
            while len(accepted) < n:
                if tried and len(accepted) * (masks.max_retries + 1) < tried:
                    raise MaskSamplingError(
                        f'mask bank: only {len(accepted)}/{tried} {masks.sampler} samples '
                        f'passed the mask filter (rejections: {reasons}), under '
                        f'1/{masks.max_retries + 1}; the model is probably under-trained — '
                        'train longer')
                # Slots still needed at the acceptance so far (+10 %), at most ``chunk``.
                rate = len(accepted) / tried if tried else 1.0
                need = int(np.ceil(1.1 * (n - len(accepted)) / max(rate, 0.05)))
                start, stop = tried, tried + max(1, min(chunk, need))
                part_masks, part_slots, part_reasons = [], [], {}
                seeds = slot_seeds(seed, start, stop)
                for b in range(0, stop - start, masks.batch_size):
                    gens = mask_generators(seeds[b:b + masks.batch_size])
                    raw = masks.model.sample(len(gens), gens, sampler=masks.sampler,
                                             steps=masks.steps)
                    for j, sample in enumerate(raw[:, 0].numpy(), start=start + b):
                        mask, reason = masks.mask_filter.clean(sample)
                        if mask is None:
                            count_rejection(part_reasons, reason)
                        else:
                            part_masks.append(mask)
                            part_slots.append(j)
                if parts is not None:
                    shape = (0, masks.size, masks.size)
                    with atomic_open(parts / f'slots_{start:09d}_{stop:09d}.npz', 'wb') as fh:
                        np.savez_compressed(
                            fh, masks=np.stack(part_masks) if part_masks else np.zeros(shape,
                                                                                       bool),
                            slots=np.asarray(part_slots, np.int64),
                            meta=np.array(json.dumps(dict(key=key, start=start, stop=stop,
                                                          reasons=part_reasons))))
                accepted.extend(part_masks)
                slots.extend(part_slots)
                for reason, count in part_reasons.items():
                    reasons[reason] = reasons.get(reason, 0) + count
                tried = stop
                bar.update(min(len(accepted), n) - bar.n)
        # The bank: the first n accepted slots. Acceptance and rejections count every
        # slot sampled (whole chunks).
        meta = dict(key=key, version=BANK_VERSION, model=masks.digest, n=n, seed=int(seed),
                    image_size=masks.size, slots_sampled=tried,
                    acceptance=round(len(accepted) / tried, 4), rejections=reasons,
                    slots=slots[:n], **masks.sampling_settings())
        return cls(np.stack(accepted[:n]), meta)

    def __repr__(self):
        return (f'MaskBank(n={len(self)}, size={self.size}, key={self.key}, '
                f'acceptance={self.meta.get("acceptance")})')
