"""Released SAAA models: generation-only checkpoints + a manifest, checked before use.

A release is a folder (``configs/saaa/models/<name>/`` for the shipped ones) holding

- ``mask_ddpm.pth``: the mask DDPM's config, EMA weights, real SCO sizes, canonical
  areas and fill (what ``MaskGenerator.from_checkpoint`` reads);
- ``pix2pix.pth``: the Pix2Pix config, generator weights, image format and fill (what
  ``CellSynthesizer.from_checkpoint`` reads; the condition is in the config);
- ``samples.png``: generated masks and cells, for a person to look at before trusting;
- ``manifest.json``: per file its SHA-256 and size; per model the training command(s),
  iterations, training data (annotation file and image folder as given, the
  ``synth.hashing.source_digest`` of their content, number of SCOs) and settings; the
  package, torch and diffusers versions and the date. Written last: its presence marks a
  complete release.

Both ``.pth`` files are ordinary checkpoints of the trainers' format (same ``kind``,
``load_checkpoint`` reads them), without what only training needs (optimiser states,
discriminator, non-EMA weights, RNG states, enrichment masks), plus a small
``provenance`` dict (the manifest's model entry without file hashes). Weights stay
float32, so a release generates the same bytes as its training checkpoints; only a file
that would exceed ``MAX_FILE_BYTES`` stores float16 weights, and then the manifest
records the float16-vs-float32 output error measured at export (``float16_check``).

``verify_release`` checks every listed file against the manifest; ``verify_checkpoint``
checks one checkpoint that sits in a release folder (``SAAAGenerator.from_checkpoints``
and ``SAAADataset`` call it), so a changed, truncated or never-downloaded file (e.g. a
git-lfs pointer) fails with an error naming it instead of loading or half-loading.
"""
import datetime
import io
import json
import platform
import re
import shlex
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from mmaug_is.core.io import atomic_open
from mmaug_is.synth.hashing import file_digest, source_digest
from mmaug_is.utils.checkpoint_io import load_checkpoint

from .trainers import MASK_KIND, PIX2PIX_KIND, checkpoint_perceptual

MANIFEST = 'manifest.json'
MANIFEST_FORMAT = 1
SHEET = 'samples.png'
FILES = {MASK_KIND: 'mask_ddpm.pth', PIX2PIX_KIND: 'pix2pix.pth'}
LOG_NAMES = {MASK_KIND: 'train_masks.log', PIX2PIX_KIND: 'train_pix2pix.log'}
WEIGHTS = {MASK_KIND: 'ema', PIX2PIX_KIND: 'generator'}
MAX_FILE_BYTES = 10_000_000  # per released file (10 MB)
# What only training (resuming) needs; optimiser states found under other keys are
# dropped too (``_slim_state``).
TRAINING_ONLY = {
    MASK_KIND: ('model', 'optimizer', 'generator_state', 'ema_updates'),
    PIX2PIX_KIND: ('discriminator', 'opt_g', 'opt_d', 'torch_rng', 'extra_masks',
                   'extra_batch'),
}
# Provenance the training tools store in their checkpoints (``TrainingRun.provenance``),
# kept in ``provenance`` of the released file.
PROVENANCE_KEYS = ('command', 'commands', 'arguments', 'data')
LFS_POINTER = b'version https://git-lfs'


class ReleaseError(ValueError):
    """A release folder or file that does not match its manifest (the message names it)."""


# ----------------------------------------------------------------------------- checking
def read_manifest(folder):
    """The manifest dict of release ``folder``. Raises ``ReleaseError`` (naming the file)
    when it is missing or not a manifest."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ReleaseError(f'{path} not found: {folder} is not a (complete) SAAA release; '
                           'make one with tools/saaa_release.py')
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError) as err:
        raise ReleaseError(f'{path} is not a release manifest (not JSON: {err})') from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get('files'), dict):
        raise ReleaseError(f'{path} is not a release manifest (no "files" table)')
    return manifest


def _check_file(path, entry, manifest_path):
    """Raise ``ReleaseError`` naming ``path`` unless its size and SHA-256 are ``entry``'s."""
    if not path.is_file():
        raise ReleaseError(f'{path} is missing (listed in {manifest_path})')
    size, digest = path.stat().st_size, file_digest(path)
    if size == entry.get('bytes') and digest == entry.get('sha256'):
        return
    with open(path, 'rb') as handle:
        head = handle.read(len(LFS_POINTER))
    hint = ('it is a git-lfs pointer file, not the model: fetch it (git lfs pull)'
            if head == LFS_POINTER else
            'the file was changed, truncated or only partly downloaded: fetch it again')
    raise ReleaseError(f'{path} does not match {manifest_path}: {size} bytes, SHA-256 '
                       f'{digest}; the release has {entry.get("bytes")} bytes, SHA-256 '
                       f'{entry.get("sha256")} ({hint})')


def verify_release(folder):
    """Check every file the manifest of release ``folder`` lists (size and SHA-256).

    Returns the manifest. Raises ``ReleaseError`` naming the first missing or differing
    file (or the manifest, when it is missing or unreadable).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    for name, entry in manifest['files'].items():
        _check_file(folder / name, entry, folder / MANIFEST)
    return manifest


def load_release(folder):
    """``dict(mask_checkpoint=..., pix2pix_checkpoint=...)``: the paths of release
    ``folder``'s models after ``verify_release`` (the keyword arguments of
    ``SAAADataset`` / the first two of ``SAAAGenerator.from_checkpoints``)."""
    folder = Path(folder)
    manifest = verify_release(folder)
    paths = {}
    for key, name in (('mask_checkpoint', FILES[MASK_KIND]),
                      ('pix2pix_checkpoint', FILES[PIX2PIX_KIND])):
        if name not in manifest['files']:
            raise ReleaseError(f'{folder / MANIFEST} lists no {name}')
        paths[key] = folder / name
    return paths


def verify_checkpoint(path):
    """Check a checkpoint against the manifest beside it, if there is one listing it.

    Returns the manifest entry (``sha256``, ``bytes``) when checked, None when ``path``
    is not part of a release (no ``manifest.json`` in its folder, or one not listing it).
    Raises ``ReleaseError`` naming ``path`` when it differs from the manifest.
    """
    path = Path(path)
    manifest_path = path.parent / MANIFEST
    if not manifest_path.is_file():
        return None
    entry = read_manifest(path.parent)['files'].get(path.name)
    if entry is None:
        return None
    _check_file(path, entry, manifest_path)
    return entry


# ----------------------------------------------------------------------------- export
def _is_optimizer_state(value):
    return isinstance(value, dict) and 'param_groups' in value and 'state' in value


def _slim_state(state, kind):
    """``state`` without what only training needs; ``provenance`` keys moved out too."""
    drop = set(TRAINING_ONLY[kind]) | set(PROVENANCE_KEYS)
    return {k: v for k, v in state.items() if k not in drop and not _is_optimizer_state(v)}


def _to_half(weights):
    return {k: v.half() if torch.is_tensor(v) and v.is_floating_point() else v
            for k, v in weights.items()}


def _serialise(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _log_commands(ckpt_path, kind):
    """``(commands, n_scos)`` from the training log beside a checkpoint that does not
    record them (checkpoints of runs started before ``TrainingRun.provenance``): the
    commands of the last run started without ``--resume`` and of its resumptions,
    prefixed with their thread count; the SCO count the tool logged."""
    log = Path(ckpt_path).parent / LOG_NAMES[kind]
    if not log.is_file():
        return [], None
    commands, n_scos, pending = [], None, None
    for line in log.read_text(errors='replace').splitlines():
        if 'command: ' in line:
            argv = line.split('command: ', 1)[1].strip()
            if not _is_resume(argv):
                commands = []
            pending = argv
            commands.append(f'python {argv}')
        elif 'torch threads: ' in line and pending is not None:
            threads = line.rsplit('torch threads: ', 1)[1].strip()
            commands[-1] = f'OMP_NUM_THREADS={threads} {commands[-1]}'
            pending = None
        else:
            found = re.search(r'(\d+) canonical SCO (masks|pairs) at', line)
            if found:
                n_scos = int(found.group(1))
    return commands, n_scos


def _is_resume(command):
    try:
        return '--resume' in shlex.split(command)
    except ValueError:
        return False


def _command_data(command):
    """``(ann_file, img_dir)`` named by a training command (``None`` where absent)."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return None, None
    found = {}
    for i, arg in enumerate(argv):
        for option in ('--ann-file', '--img-dir'):
            if arg == option and i + 1 < len(argv):
                found[option] = argv[i + 1]
            elif arg.startswith(option + '='):
                found[option] = arg.split('=', 1)[1]
    return found.get('--ann-file'), found.get('--img-dir')


def _count_scos(state, ann_file, img_dir):
    """Training SCOs of a checkpoint without a recorded count: the canonical masks
    ``build_sco_dataset`` extracts at its size and fill (which SCOs are kept depends on
    the masks alone)."""
    if 'sizes' in state:  # the mask DDPM stores one real size per training SCO
        return len(state['sizes'])
    from .mask_data import build_sco_dataset

    return len(build_sco_dataset(ann_file, img_dir, size=state['config']['image_size'],
                                 fill=state['fill'], with_images=False, progress=False))


def _training_data(state, ckpt_path, data, commands, logged_scos):
    """The ``data`` entry of a model: the checkpoint's record, else ``data`` (dict of
    ``ann_file``, ``img_dir``), else the paths in its training command. Raises
    ``ReleaseError`` when the data cannot be found or differs from the recorded one."""
    recorded = dict(state.get('data') or {})
    given = dict(data or {})
    ann_file = given.get('ann_file') or recorded.get('ann_file')
    img_dir = given.get('img_dir') or recorded.get('img_dir')
    if not (ann_file and img_dir) and commands:
        ann_file, img_dir = _command_data(commands[0])
    digest = recorded.get('source_digest')
    if not digest or given:
        if not (ann_file and img_dir and Path(ann_file).is_file() and Path(img_dir).is_dir()):
            raise ReleaseError(f'{ckpt_path}: cannot find its training data ({ann_file!r}, '
                               f'{img_dir!r}); give data=dict(ann_file=..., img_dir=...) '
                               '(tools/saaa_release.py --ann-file/--img-dir)')
        computed = source_digest(ann_file, img_dir)
        if digest and computed != digest:
            raise ReleaseError(f'{ckpt_path} was trained on data with source digest {digest}, '
                               f'but {ann_file} / {img_dir} have {computed}')
        digest = computed
    n_scos = recorded.get('n_scos') or logged_scos
    if n_scos is None:
        n_scos = _count_scos(state, ann_file, img_dir)
    return dict(ann_file=str(ann_file), img_dir=str(img_dir), source_digest=digest,
                n_scos=int(n_scos))


def _settings(state, kind):
    """Model settings for the manifest (architecture, canonical frame, training knobs)."""
    weights = state[WEIGHTS[kind]]
    out = dict(config=state['config'], fill=state['fill'], train=state.get('train'),
               parameters=int(sum(v.numel() for v in weights.values()
                                  if torch.is_tensor(v) and v.is_floating_point())))
    if kind == MASK_KIND:
        out.update(weights_source='ema', ema_updates=state.get('ema_updates'))
    else:
        extra = state.get('extra_masks')
        out.update(condition=state['config'].get('condition', 'none'),
                   image_format=state['image_format'],
                   perceptual=checkpoint_perceptual(state),
                   perceptual_spec=state.get('perceptual_spec'),
                   extra_masks=0 if extra is None else int(len(extra)))
    return out


def _provenance(state, ckpt_path, kind, data):
    """The manifest entry of one model (without the released file's hashes)."""
    commands = list(state.get('commands') or ([state['command']] if state.get('command')
                                              else []))
    source, logged_scos = ('checkpoint' if commands else 'not recorded'), None
    if not commands or _is_resume(commands[0]):
        # not recorded, or resumed from a checkpoint of a run that did not record it: the
        # log beside the checkpoint may have the whole history
        logged, logged_scos = _log_commands(ckpt_path, kind)
        if logged:
            commands, source = logged, 'training log'
    return dict(
        kind=kind, command=commands[-1] if commands else None, commands=commands,
        command_source=source, arguments=state.get('arguments'),
        iterations=int(state['iter']), total_iters=int(state.get('total_iters', state['iter'])),
        data=_training_data(state, ckpt_path, data, commands, logged_scos),
        settings=_settings(state, kind),
        training_checkpoint=dict(path=str(ckpt_path), sha256=file_digest(ckpt_path),
                                 bytes=Path(ckpt_path).stat().st_size,
                                 format=state.get('format')))


def _probe_masks(size, n=6):
    """Deterministic ellipse masks ``(n, size, size)`` (float16 checks)."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2.0
    out = []
    for i in range(n):
        a, b, angle = size * (0.2 + 0.03 * i), size * (0.12 + 0.02 * i), 0.5 * i
        u = xx * np.cos(angle) + yy * np.sin(angle)
        v = -xx * np.sin(angle) + yy * np.cos(angle)
        out.append((u / a) ** 2 + (v / b) ** 2 <= 1.0)
    return np.stack(out)


@torch.no_grad()
def _float16_check(kind, state, half_state):
    """Largest output difference of the float16 weights against the float32 ones.

    Mask DDPM: raw DDIM samples (25 steps, 4 fixed noise seeds) in [-1, 1] and the share
    of pixels whose sign (the mask) differs. Pix2Pix: generated cells of 6 ellipse masks
    in [-1, 1] (conditioned models: a zero style)."""
    if kind == MASK_KIND:
        from .mask_ddpm import MaskDDPM, MaskDDPMConfig, mask_generators

        outs = []
        for weights in (state['ema'], half_state['ema']):
            model = MaskDDPM(MaskDDPMConfig(**state['config']))
            model.load_state_dict(weights)
            outs.append(model.eval().sample(4, mask_generators(range(4)), steps=25))
        return dict(what='raw DDIM samples (25 steps, seeds 0-3), [-1, 1] scale',
                    max_abs_error=float((outs[0] - outs[1]).abs().max()),
                    mask_pixels_changed=float(((outs[0] > 0) != (outs[1] > 0)).float().mean()))
    from .mask_data import masks_to_tensor
    from .pix2pix import Pix2PixConfig, UNetGenerator

    cfg = Pix2PixConfig(**state['config'])
    masks = masks_to_tensor(_probe_masks(cfg.image_size))
    style = torch.zeros(len(masks), cfg.style_dim) if cfg.conditioned else None
    outs = []
    for weights in (state['generator'], half_state['generator']):
        net = UNetGenerator(cfg)
        net.load_state_dict(weights)
        outs.append(net.eval()(masks, style))
    return dict(what='cells of 6 ellipse masks, [-1, 1] scale',
                max_abs_error=float((outs[0] - outs[1]).abs().max()))


def _write_model(state, kind, path, dtype, max_bytes):
    """Write the released file; returns ``(weights dtype, float16_check or None)``."""
    if dtype not in ('auto', 'float32', 'float16'):
        raise ValueError(f"dtype must be 'auto', 'float32' or 'float16', got {dtype!r}")
    blob, check = _serialise(state), None
    if dtype == 'float16' or (dtype == 'auto' and len(blob) > max_bytes):
        half = dict(state, **{WEIGHTS[kind]: _to_half(state[WEIGHTS[kind]])})
        check = _float16_check(kind, state, half)
        blob, dtype = _serialise(half), 'float16'
    else:
        dtype = 'float32'
    if len(blob) > max_bytes:
        raise ReleaseError(f'{path.name} would take {len(blob)} bytes ({dtype} weights), '
                           f'over the {max_bytes} bytes a released file may have')
    with atomic_open(path, 'wb') as handle:
        handle.write(blob)
    return dtype, check


def _versions():
    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    import mmaug_is

    return {'mmaug_is': mmaug_is.__version__, 'torch': torch.__version__,
            'diffusers': version('diffusers'), 'numpy': np.__version__,
            'python': platform.python_version()}


def _sheet_styles(cells, data, n_images=2):
    """``[(label, style)]`` for a conditioned Pix2Pix: the styles of up to ``n_images``
    training images (first and middle): their clean backgrounds (``core.remove_cells``)
    and, for conditions that use them, the statistics of their real cells."""
    from mmaug_is.core import load_coco_instances, read_image, remove_cells
    from mmaug_is.core.style import cell_statistics

    records = load_coco_instances(data['ann_file'], data['img_dir'])
    styles = []
    for i in sorted({0, len(records) // 2})[:n_images]:
        record, image = records[i], read_image(records[i].path)
        background = remove_cells(image, record.masks, np.random.default_rng(i))
        options = {} if cells.cfg.condition == 'background_style' else \
            dict(cell_stats=cell_statistics(image, record.masks))
        styles.append((f'style of\n{Path(record.file_name).name[:14]}',
                       cells.style_of(background, **options)))
    return styles


def write_sheet(folder, path=None, n=8, seed=0, data=None, tile=64):
    """PNG sheet of ``n`` masks of release ``folder``'s mask DDPM (DDIM, ``seed``) and the
    cells its Pix2Pix paints for them (conditioned models: one row per style of two
    training images, ``data``: their ``ann_file``/``img_dir``). Returns the path
    (default ``folder/samples.png``)."""
    from mmaug_is.synth.contact_sheet import save_sheet

    from .generator import CellSynthesizer, MaskGenerator

    folder = Path(folder)
    masks = MaskGenerator.from_checkpoint(folder / FILES[MASK_KIND]).sample(
        n, torch.Generator().manual_seed(seed))
    cells = CellSynthesizer.from_checkpoint(folder / FILES[PIX2PIX_KIND])
    if cells.conditioned and not data:
        raise ReleaseError(f'release sheet: the Pix2Pix model is conditioned on '
                           f'{cells.cfg.condition!r}; give the training data for its styles')
    styles = _sheet_styles(cells, data) if cells.conditioned else [('Pix2Pix cell', None)]
    rows = []
    for label, style in styles:
        frame_masks, images = cells.synthesize(masks, style=style)
        if not rows:
            rows.append(('DDPM mask', list(frame_masks)))
        rows.append((label, list(images)))
    return save_sheet(path or folder / SHEET, rows, tile=tile,
                      title=f'{folder.name}: DDIM seed {seed}')


def export_release(mask_ckpt, pix2pix_ckpt, out_dir, name, data=None, sheet=True,
                   dtype='auto', max_bytes=MAX_FILE_BYTES, seed=0):
    """Write release ``out_dir`` from two training checkpoints; returns the manifest.

    Args:
        mask_ckpt, pix2pix_ckpt: ``mask_ddpm.pth`` / ``pix2pix.pth`` of the training tools.
        out_dir: release folder (created; files of an earlier release are replaced).
        name: the release's name (manifest).
        data: ``dict(ann_file=..., img_dir=...)`` of the training set, for checkpoints
            that do not record theirs (else the paths of the training command, taken from
            the checkpoint or the training log beside it); when given and the checkpoint
            records a content digest, they must have that content.
        sheet: also write ``samples.png`` (``write_sheet``, ``seed``).
        dtype: weights ``'float32'``; ``'float16'``; ``'auto'``: float32 unless the file
            would exceed ``max_bytes``.
    Raises ``ReleaseError`` for a file over ``max_bytes`` or training data that cannot be
    found or differs from the recorded one; ``ValueError`` for checkpoints of another kind.
    """
    out_dir = Path(out_dir)
    for kind, ckpt in ((MASK_KIND, mask_ckpt), (PIX2PIX_KIND, pix2pix_ckpt)):
        if (out_dir / FILES[kind]).resolve() == Path(ckpt).resolve():
            raise ReleaseError(f'{out_dir}: the release would replace the training '
                               f'checkpoint {ckpt}; choose another folder')
    out_dir.mkdir(parents=True, exist_ok=True)
    old = out_dir / MANIFEST
    if old.exists():
        old.unlink()  # until the new manifest is written the folder is no complete release
    models, files = {}, {}
    for kind, ckpt in ((MASK_KIND, mask_ckpt), (PIX2PIX_KIND, pix2pix_ckpt)):
        state = load_checkpoint(ckpt, kind)
        entry = _provenance(state, Path(ckpt), kind, data)
        slim = _slim_state(state, kind)
        slim['provenance'] = {k: v for k, v in entry.items() if k != 'training_checkpoint'}
        path = out_dir / FILES[kind]
        entry['dtype'], check = _write_model(slim, kind, path, dtype, max_bytes)
        if check is not None:
            entry['float16_check'] = check
        models[path.name] = entry
    if sheet:
        write_sheet(out_dir, seed=seed, data=models[FILES[PIX2PIX_KIND]]['data'])
    elif (out_dir / SHEET).exists():
        (out_dir / SHEET).unlink()  # an earlier release's: not of these models
    for path in sorted(out_dir.iterdir()):
        if path.name in (*FILES.values(), SHEET) and path.is_file():
            files[path.name] = dict(sha256=file_digest(path), bytes=path.stat().st_size)
    manifest = dict(format=MANIFEST_FORMAT, name=name,
                    created=datetime.datetime.now(datetime.timezone.utc)
                    .isoformat(timespec='seconds'),
                    versions=_versions(), files=files, models=models)
    text = json.dumps(manifest, indent=2) + '\n'
    with atomic_open(out_dir / MANIFEST, 'w', encoding='utf-8') as handle:
        handle.write(text)
    return json.loads(text)  # as read back (tuples are lists)
