"""Training conveniences shared by the SAAA model trainers and tools.

Logging to console + ``<work_dir>/<name>.log``, stateless (seed, iteration) -> batch
indices so a resumed run sees exactly the batches an uninterrupted one would, a
tqdm-driven iteration loop, the command-line arguments both training tools share, and
``TrainingRun``, their resume / checkpoint driver. Checkpoints are written and checked by
``mmaug_is.utils.checkpoint_io`` (``save_checkpoint`` / ``load_checkpoint``); ``TrainingRun``
adds how they were made (``command``, ``commands``, ``arguments``, ``data``: see
``TrainingRun.provenance``), which ``saaa.release`` copies into a release's manifest.
"""
import logging
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mmaug_is.synth.hashing import source_digest
from mmaug_is.utils.checkpoint_io import load_checkpoint, save_checkpoint
from mmaug_is.utils.cli import at_least, fraction


def configure_threads():
    """Use ``$OMP_NUM_THREADS`` torch threads (default 1: the machines are shared)."""
    n = int(os.environ.get('OMP_NUM_THREADS', '1') or 1)
    torch.set_num_threads(max(n, 1))
    return n


def resolve_device(name):
    """``torch.device`` for ``--device`` (``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'mps'``).

    Raises ``ValueError`` naming the argument when the device is unknown or not usable on this
    machine (no CUDA build, no such GPU), before any data is read.
    """
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f'--device {name!r}: {err}') from None
    if device.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise ValueError(f'--device {name!r}: torch {torch.__version__} sees {count} CUDA '
                             'device(s) on this machine; use --device cpu')
    elif device.type == 'mps':
        if not torch.backends.mps.is_available():
            raise ValueError(f'--device {name!r}: MPS is not available on this machine')
    elif device.type != 'cpu':
        raise ValueError(f"--device {name!r}: use 'cpu', 'cuda[:N]' or 'mps'")
    return device


def get_logger(name, work_dir=None, log_name=None):
    """Logger ``mmaug_is.saaa.<name>`` writing to the console and ``work_dir/<log_name>.log``.

    The handlers sit on the package logger ``mmaug_is.saaa`` (replacing earlier ones), so
    messages of the library modules (e.g. the VGG warning) reach the same console and file.
    """
    package = logging.getLogger('mmaug_is.saaa')
    package.setLevel(logging.INFO)
    for handler in list(package.handlers):
        package.removeHandler(handler)
        handler.close()
    fmt = logging.Formatter('%(asctime)s %(levelname)s %(message)s', '%Y-%m-%d %H:%M:%S')
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(fmt)
    package.addHandler(console)
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(Path(work_dir) / f'{log_name or name}.log')
        file_handler.setFormatter(fmt)
        package.addHandler(file_handler)
    return logging.getLogger(f'mmaug_is.saaa.{name}')


def resolve_resume(resume, work_dir, filename):
    """Path to resume from: ``resume`` itself, or ``work_dir/filename`` when it is ``'auto'``.

    Returns None when ``resume`` is falsy.
    """
    if not resume:
        return None
    path = Path(work_dir) / filename if resume == 'auto' else Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f'--resume: no checkpoint at {path}')
    return path


def iters_per_epoch(n_items, batch_size):
    """Full batches per pass over ``n_items`` (the last, partial batch is dropped)."""
    if n_items < batch_size:
        raise ValueError(f'batch size {batch_size} exceeds the {n_items} training items')
    return n_items // batch_size


def batch_indices(n_items, batch_size, seed, iteration):
    """Indices of the batch used at ``iteration``: a per-epoch permutation of the items."""
    per_epoch = iters_per_epoch(n_items, batch_size)
    epoch, pos = divmod(iteration, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n_items)
    return perm[pos * batch_size:(pos + 1) * batch_size]


def iteration_rng(seed, iteration, stream=0):
    """A ``np.random.Generator`` owned by one iteration (augmentation choices)."""
    return np.random.default_rng([seed, iteration, stream])


def resolve_total_iters(epochs, iters, per_epoch):
    """Total iterations from exactly one of ``epochs`` / ``iters``."""
    if (epochs is None) == (iters is None):
        raise ValueError('give exactly one of --epochs or --iters')
    total = iters if iters is not None else epochs * per_epoch
    if total <= 0:
        raise ValueError(f'the run must have at least one iteration, got {total}')
    return int(total)


def run_iterations(step, start, total, logger, *, per_epoch, log_interval=50,
                   checkpoint=None, ckpt_interval=500, sample=None, sample_interval=500,
                   desc='train', progress=True, deadline=None):
    """Run ``step(it) -> dict[str, float]`` for ``it`` in ``[start, total)``.

    Logs the mean of each loss every ``log_interval`` iterations, calls ``checkpoint(it + 1)``
    every ``ckpt_interval`` iterations and at the end, and ``sample(it + 1)`` every
    ``sample_interval`` iterations and at the end. ``progress`` shows a tqdm bar.
    ``deadline`` (a ``time.perf_counter()`` value, or None): once a step ends past it, the run
    checkpoints and stops early; ``--resume`` continues it where it stopped.

    Returns:
        list of ``(iteration, {loss: value})`` for every step run (used by tests and benchmarks).
    """
    history, window = [], {}
    tick = time.perf_counter()
    bar = tqdm(range(start, total), desc=desc, initial=start, total=total,
               disable=not progress, mininterval=1.0 if sys.stderr.isatty() else 30.0)
    for it in bar:
        losses = step(it)
        history.append((it, losses))
        for key, value in losses.items():
            window.setdefault(key, []).append(value)
        done = it + 1
        if done % log_interval == 0 or done == total:
            means = {k: float(np.mean(v)) for k, v in window.items()}
            elapsed = (time.perf_counter() - tick) / len(next(iter(window.values())))
            text = ' '.join(f'{k} {v:.4f}' for k, v in means.items())
            logger.info('iter %d/%d epoch %d | %s | %.3f s/it', done, total,
                        it // per_epoch + 1, text, elapsed)
            bar.set_postfix({k: f'{v:.4f}' for k, v in means.items()})
            window, tick = {}, time.perf_counter()
        if sample is not None and (done % sample_interval == 0 or done == total):
            sample(done)
        stopping = deadline is not None and done < total and time.perf_counter() > deadline
        if checkpoint is not None and (done % ckpt_interval == 0 or done == total or stopping):
            checkpoint(done)
        if stopping:
            logger.info('time limit reached at iteration %d of %d: continue with --resume',
                        done, total)
            break
    bar.close()
    return history


# ------------------------------------------------------------------------ command line
def add_common_args(parser, default_size, default_batch):
    """Arguments shared by ``tools/saaa_train_masks.py`` and ``tools/saaa_train_pix2pix.py``."""
    parser.add_argument('--ann-file', required=True, help='COCO instance json (train split)')
    parser.add_argument('--img-dir', required=True, help='folder of the images')
    parser.add_argument('--work-dir', required=True,
                        help='output folder: checkpoint, log, sample sheets')
    length = parser.add_mutually_exclusive_group()
    length.add_argument('--epochs', type=at_least(1), help='passes over the SCOs')
    length.add_argument('--iters', type=at_least(1), help='optimisation steps')
    parser.add_argument('--batch-size', type=at_least(1), default=default_batch)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='continue from the work dir checkpoint (or from the given path); '
                             'model/optimiser settings come from the checkpoint')
    parser.add_argument('--size', type=at_least(8), default=default_size,
                        help='canonical crop side S in px')
    parser.add_argument('--fill', type=fraction, default=0.75,
                        help='fraction of S taken by the longer side of a cell box')
    parser.add_argument('--log-interval', type=at_least(1), default=25)
    parser.add_argument('--ckpt-interval', type=at_least(1), default=250)
    parser.add_argument('--sample-interval', type=at_least(1), default=500)
    parser.add_argument('--device', default='cpu',
                        help="where to train: 'cpu' (default), 'cuda', 'cuda:N' or 'mps'; "
                             'checkpoints are written with CPU tensors and resume on any '
                             'device (bit-for-bit only on the device they were started on)')
    parser.add_argument('--max-minutes', type=at_least(0.0, float),
                        help='wall-clock limit of this run: past it, checkpoint and stop '
                             '(continue later with --resume)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser


def command_line(tool, argv=None, threads=None):
    """The shell line that runs ``tool`` with ``argv`` (default: this process's arguments):
    ``'OMP_NUM_THREADS=<threads> python <tool> <args>'``, ``tool`` relative to the working
    directory when it lies below it (``threads`` None: ``$OMP_NUM_THREADS`` or 1)."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    tool = Path(tool).resolve()
    try:
        tool = tool.relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    if threads is None:
        threads = int(os.environ.get('OMP_NUM_THREADS', '1') or 1)
    return f'OMP_NUM_THREADS={threads} python {shlex.join([str(tool), *argv])}'


def plan_run(args, n_items, batch_size, resumed_state, logger):
    """``(start_iter, total_iters, iters_per_epoch)`` for a new or resumed run."""
    per_epoch = iters_per_epoch(n_items, batch_size)
    if resumed_state is None:
        total = resolve_total_iters(args.epochs, args.iters, per_epoch)
        start = 0
    else:
        start = int(resumed_state['iter'])
        if args.epochs is None and args.iters is None:
            total = int(resumed_state['total_iters'])
        else:
            total = resolve_total_iters(args.epochs, args.iters, per_epoch)
        if start >= total:
            logger.info('checkpoint is already at iteration %d of %d: nothing to do',
                        start, total)
    logger.info('%d items, batch %d -> %d iterations/epoch; iterations %d..%d (%.1f epochs)',
                n_items, batch_size, per_epoch, start, total, total / per_epoch)
    return start, total, per_epoch


class TrainingRun:
    """Resume / checkpoint driver of a SAAA training tool (``tools/saaa_train_*.py``).

    Creating it checks ``--device`` (``device``: the ``torch.device`` to train on), uses
    ``$OMP_NUM_THREADS`` torch threads, logs to the console and to
    ``<work_dir>/train_<name>.log`` (starting with the command line), and loads the
    checkpoint ``--resume`` points to (``state``; None for a new run). ``size`` and
    ``fill`` are the canonical-crop settings: the checkpoint's when resuming, else the
    arguments'.

    Args:
        args: arguments parsed with ``add_common_args``. name: 'masks' or 'pix2pix'.
        ckpt_name: checkpoint file name in ``--work-dir``. kind: its checkpoint kind.
        command: the command line of this run (``command_line``; default: built from
            ``sys.argv``), recorded in every checkpoint.
    """

    def __init__(self, args, name, ckpt_name, kind, command=None):
        self.args = args
        self.started = time.perf_counter()
        if args.max_minutes is not None and not args.max_minutes > 0:
            raise ValueError(f'--max-minutes must be > 0, got {args.max_minutes}')
        self.device = resolve_device(args.device)
        threads = configure_threads()
        self.logger = get_logger(name, args.work_dir, f'train_{name}')
        self.logger.info('command: %s', ' '.join(shlex.quote(a) for a in sys.argv))
        self.logger.info('device %s, torch threads: %d', self.device, threads)
        self.command = command or command_line(sys.argv[0], threads=threads)
        self.resume_path = resolve_resume(args.resume, args.work_dir, ckpt_name)
        self.state = load_checkpoint(self.resume_path, kind) if self.resume_path else None
        self.ckpt_path = Path(args.work_dir) / ckpt_name
        self.size = self.state['config']['image_size'] if self.state else args.size
        self.fill = self.state['fill'] if self.state else args.fill

    def provenance(self, dataset):
        """How the checkpoint was made, stored in it beside the trainer's state:
        ``command`` (this run's), ``commands`` (every run of the checkpoint's history, first
        = the one that started it; runs recorded before this field existed are missing),
        ``arguments`` (this run's parsed arguments) and ``data`` (``ann_file`` / ``img_dir``
        as given, ``source_digest`` of their content, ``n_scos`` training SCOs)."""
        args = self.args
        previous = list((self.state or {}).get('commands') or [])
        return dict(command=self.command, commands=previous + [self.command],
                    arguments={k: v for k, v in vars(args).items()
                               if v is None or isinstance(v, (str, int, float, bool))},
                    data=dict(ann_file=str(args.ann_file), img_dir=str(args.img_dir),
                              source_digest=source_digest(args.ann_file, args.img_dir),
                              n_scos=len(dataset)))

    def train(self, trainer, sample, desc):
        """Step ``trainer`` (a ``trainers`` object) from the resumed iteration (or 0) to the
        planned total, checkpointing ``ckpt_name`` and calling ``sample(iteration)`` at the
        intervals of the arguments. Returns ``run_iterations``' history."""
        args, logger = self.args, self.logger
        if self.state:
            logger.info('resumed from %s at iteration %d', self.resume_path, self.state['iter'])
        start, total, per_epoch = plan_run(args, len(trainer.dataset), trainer.batch_size,
                                           self.state, logger)

        provenance = self.provenance(trainer.dataset)
        deadline = (None if args.max_minutes is None
                    else self.started + 60.0 * args.max_minutes)

        def checkpoint(it):
            save_checkpoint(dict(trainer.state_dict(it, total), **provenance), self.ckpt_path)
            logger.info('checkpoint (iteration %d) -> %s', it, self.ckpt_path)

        history = run_iterations(trainer.step, start, total, logger, per_epoch=per_epoch,
                                 log_interval=args.log_interval, checkpoint=checkpoint,
                                 ckpt_interval=args.ckpt_interval, sample=sample,
                                 sample_interval=args.sample_interval, desc=desc,
                                 progress=not args.no_progress, deadline=deadline)
        if not history or history[-1][0] + 1 == total:
            logger.info('done: %s', self.ckpt_path)
        return history
