"""The training core shared by ``qtandem train``, ``qtandem qec train`` and ``qtandem compile train``.

Each trainer keeps its own configuration dataclasses (checked by :mod:`qtandem.config`), model
and loop; what they have in common lives here, once:

* :func:`load_config` -- read a TOML file and hand it to the trainer's ``parse_config``;
* :func:`check_resumable` -- refuse ``--resume`` when the configuration changed since the
  checkpoint (naming the first changed key), except for keys that may change;
* :func:`save_checkpoint` / :func:`load_checkpoint` -- safetensors checkpoints (no pickle),
  written atomically, with the configuration and counters as JSON metadata and the
  optimizer state beside the model tensors;
* :class:`MetricsLog` -- ``metrics.jsonl``: one JSON record per line, flushed as it is written;
  on resume the records after the checkpoint are dropped (they are redone);
* :func:`progress_bar` -- a rich progress bar on stderr, or nothing;
* :func:`torch_threads` -- torch's thread count for the duration of a run;
* :class:`DataParallel` and :func:`launch` -- data-parallel training with plain ``torch.distributed``
  (gloo on CPU): every rank takes its slice of the same global batch, gradients are weighted by the
  slice's share and summed across ranks, so the weights equal a single-worker run's up to the order
  of float additions; only rank 0 writes files. :func:`launch` starts the ranks on this machine
  (rank 0 in the calling process, the others spawned); Ray Train's ``TorchTrainer`` sets up the
  same process group on a cluster (:meth:`DataParallel.current`).

Seeds become generators in :mod:`qtandem.random` (:func:`~qtandem.random.derive_seed`).

Examples:
    >>> import tempfile, pathlib, torch
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> net = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.Adam(net.parameters())
    >>> save_checkpoint(folder / "ckpt.safetensors", "demo/1", {"model.weight": net.weight},
    ...                 config={"seed": 0}, state={"step": 3}, optimizer=opt)
    >>> tensors, meta = load_checkpoint(folder / "ckpt.safetensors", "demo/1", what="demo")
    >>> json.loads(meta["state"]), sorted(tensors)
    ({'step': 3}, ['model.weight'])
    >>> check_resumable({"seed": 0, "optim": {"lr": 0.1}}, {"seed": 0, "optim": {"lr": 0.2}},
    ...                 resumable={"threads"}, path="ckpt.safetensors", source="run.toml")
    Traceback (most recent call last):
    ...
    qtandem.errors.CheckpointError: run.toml: optim.lr: 0.2 differs from the checkpoint's 0.1 (ckpt.safetensors); \
--resume needs the same configuration except threads (or start afresh without --resume)
    >>> with MetricsLog(folder / "metrics.jsonl") as log:
    ...     log.emit({"step": 1, "loss": 0.5})
    >>> with MetricsLog(folder / "metrics.jsonl", resume_from=0) as log:   # a resume from step 0
    ...     log.records
    []
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from qtandem.config import flatten, read_config_text
from qtandem.errors import CheckpointError
from qtandem.io import (
    atomic_write_text,
    load_optimizer_state,
    optimizer_state,
    read_jsonl,
    read_safetensors,
    write_safetensors,
)

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["DataParallel", "MetricsLog", "ProgressBar", "check_resumable", "launch", "load_checkpoint", "load_config",
           "progress_bar", "restore_optimizer", "run_dir", "save_checkpoint", "torch_threads"]

T = TypeVar("T")


def load_config(path: str | os.PathLike[str], parse: Callable[..., T]) -> T:
    """``parse(text, source=path)`` on the text of the configuration file ``path``.

    Raises:
        FileNotFoundError: no such file.
        ConfigError: not UTF-8, or whatever ``parse`` refuses (naming the file and the key).

    Examples:
        >>> import tempfile, pathlib
        >>> from qtandem.qec.train_config import parse_config
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
        >>> _ = path.write_text("[data]\\nrounds = -1\\n")
        >>> load_config(path, parse_config)
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: .../run.toml: data.rounds: ...
    """
    return parse(read_config_text(Path(path)), source=str(Path(path)))


def run_dir(output: str, source: str, fallback: str) -> Path:
    """A run's output folder: ``output`` if set, else ``runs/<stem of the config file>``.

    Args:
        output: the configured output folder ("" for the default).
        source: where the configuration came from (a file path, or ``"<string>"``).
        fallback: the folder name under ``runs/`` when ``source`` is not a file.

    Examples:
        >>> run_dir("", "examples/train/moons.toml", "train").as_posix()
        'runs/moons'
        >>> run_dir("", "<string>", "qec-train").as_posix(), run_dir("out/x", "a.toml", "train").as_posix()
        ('runs/qec-train', 'out/x')
    """
    if output:
        return Path(output)
    stem = Path(source).stem if source and not source.startswith("<") else fallback
    return Path("runs") / stem


def check_resumable(saved: Mapping[str, Any], now: Mapping[str, Any], *, resumable: Iterable[str],
                    path: str | os.PathLike[str], source: str, ignore: Callable[[str], bool] | None = None) -> None:
    """Refuse to resume when the configuration changed since the checkpoint.

    Args:
        saved: the checkpoint's configuration (plain nested data).
        now: the configuration of this session.
        resumable: flattened keys (``"train.max_steps"``) that may change on resume.
        path: the checkpoint (for the message).
        source: the configuration file (for the message).
        ignore: keys for which this returns true are not compared here (the trainer checks them).

    Raises:
        CheckpointError: naming the first changed key, both values, the checkpoint and the keys
            that may change.

    Examples:
        >>> check_resumable({"seed": 0, "train": {"max_steps": 10}}, {"seed": 0, "train": {"max_steps": 20}},
        ...                 resumable={"train.max_steps"}, path="ckpt.safetensors", source="run.toml")
        >>> check_resumable({"seed": 0}, {"seed": 1}, resumable=set(), path="ckpt.safetensors", source="run.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.CheckpointError: run.toml: seed: 1 differs from the checkpoint's 0 ...
    """
    allowed = set(resumable)
    a, b = flatten(saved), flatten(now)
    changed = sorted(k for k in set(a) | set(b)
                     if k not in allowed and not (ignore and ignore(k)) and a.get(k) != b.get(k))
    if changed:
        k = changed[0]
        more = f" (also changed: {', '.join(changed[1:])})" if len(changed) > 1 else ""
        raise CheckpointError(f"{source}: {k}: {b.get(k)!r} differs from the checkpoint's {a.get(k)!r}{more} ({path}); "
                              f"--resume needs the same configuration except {', '.join(sorted(allowed))} "
                              "(or start afresh without --resume)")


def save_checkpoint(path: str | os.PathLike[str], fmt: str, tensors: Mapping[str, Tensor], *,
                    config: Mapping[str, Any], state: Mapping[str, Any] | None = None,
                    optimizer: Any = None, meta: Mapping[str, str] | None = None) -> None:
    """Write a checkpoint atomically (temporary file, fsync, rename): never half-written.

    Args:
        path: the checkpoint file.
        fmt: its format tag (metadata ``format``), checked by :func:`load_checkpoint`.
        tensors: model tensors, generator states... (``"model.<name>"`` by convention).
        config: the run's configuration (metadata ``config``, JSON).
        state: counters (metadata ``state``, JSON), if any.
        optimizer: a torch optimizer whose state goes beside the tensors (see :func:`qtandem.io.optimizer_state`).
        meta: more metadata strings.

    Examples:
        >>> import tempfile, pathlib, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.safetensors"
        >>> save_checkpoint(path, "demo/1", {"model.w": torch.zeros(3)}, config={"lr": 0.1}, state={"step": 7})
        >>> _, meta = load_checkpoint(path, "demo/1", what="demo")
        >>> meta["format"], json.loads(meta["state"])
        ('demo/1', {'step': 7})
    """
    out = dict(tensors)
    metadata = {"format": fmt, "config": json.dumps(dict(config))}
    if state is not None:
        metadata["state"] = json.dumps(dict(state))
    if optimizer is not None:
        opt_tensors, opt_meta = optimizer_state(optimizer)
        out.update(opt_tensors)
        metadata.update(opt_meta)
    metadata.update(meta or {})
    write_safetensors(path, out, metadata)


def load_checkpoint(path: str | os.PathLike[str], fmt: str, *, what: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Tensors and metadata of a checkpoint written by :func:`save_checkpoint` (no pickle: runs no code).

    Args:
        path: the checkpoint file.
        fmt: the format tag it must have.
        what: what kind of checkpoint, for messages (``"qtandem.qec training"``).

    Raises:
        CheckpointError: no checkpoint there ("nothing to resume"), not a valid safetensors file,
            or another format.

    Examples:
        >>> import tempfile, pathlib, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.safetensors"
        >>> save_checkpoint(path, "demo/1", {"model.w": torch.ones(2)}, config={"seed": 0})
        >>> tensors, meta = load_checkpoint(path, "demo/1", what="demo")
        >>> tensors["model.w"].tolist(), json.loads(meta["config"])
        ([1.0, 1.0], {'seed': 0})
        >>> load_checkpoint(path, "other/1", what="other")
        Traceback (most recent call last):
        ...
        qtandem.errors.CheckpointError: ...
    """
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"nothing to resume: no checkpoint at {p} (run without --resume to start)")
    tensors, meta = read_safetensors(p)
    if meta.get("format") != fmt:
        raise CheckpointError(f"{p}: not a {what} checkpoint (format {meta.get('format')!r})")
    return tensors, meta


def restore_optimizer(optimizer: Any, tensors: Mapping[str, Tensor], meta: Mapping[str, str]) -> None:
    """Load the optimizer state that :func:`save_checkpoint` wrote.

    Examples:
        >>> import tempfile, pathlib, torch
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> w.sum().backward(); opt.step()
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.safetensors"
        >>> save_checkpoint(path, "demo/1", {"model.w": w}, config={}, optimizer=opt)
        >>> fresh = torch.optim.SGD([w], lr=0.5, momentum=0.9)
        >>> restore_optimizer(fresh, *load_checkpoint(path, "demo/1", what="demo"))
        >>> fresh.param_groups[0]["lr"], fresh.state[w]["momentum_buffer"].tolist()
        (0.1, [1.0, 1.0])
    """
    load_optimizer_state(optimizer, dict(tensors), dict(meta))


class MetricsLog:
    """``metrics.jsonl``: records appended one JSON object per line, flushed after each.

    Args:
        path: the file.
        resume_from: ``None`` starts afresh (the file is emptied); a checkpoint's counter keeps
            the records with ``record[key] <= resume_from`` (the rest is redone) and drops the others.
        key: the counter that orders records (``"step"`` or ``"epoch"``).
        keep: on resume, records for which this returns false are dropped too (e.g. a final
            evaluation that the resumed run writes again).
        callback: called with every record after it is written.
        write: ``False`` keeps the records in memory only (the ranks other than 0 of a data-parallel run).

    Attributes:
        records: every record of the run so far (kept ones first).

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
        >>> with MetricsLog(path) as log:
        ...     for step in (1, 2, 3):
        ...         log.emit({"step": step, "loss": 1.0 / step})
        >>> with MetricsLog(path, resume_from=2) as log:     # resuming from a step-2 checkpoint drops step 3
        ...     [r["step"] for r in log.records]
        [1, 2]
    """

    def __init__(self, path: str | os.PathLike[str], *, resume_from: int | None = None, key: str = "step",
                 keep: Callable[[dict[str, Any]], bool] | None = None,
                 callback: Callable[[dict[str, Any]], None] | None = None, write: bool = True) -> None:
        self.path = Path(path)
        self.callback = callback
        self.records: list[dict[str, Any]] = []
        if resume_from is not None:
            self.records = [r for r in read_jsonl(self.path)
                            if r.get(key, 0) <= resume_from and (keep is None or keep(r))]
        self._fh = None
        if write:
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.records))
            self._fh = self.path.open("a", encoding="utf-8")

    def emit(self, record: dict[str, Any]) -> None:
        """Append ``record`` (flushed), then call the callback."""
        if self._fh is not None:
            self._fh.write(json.dumps(record) + "\n")
            self._fh.flush()
        self.records.append(record)
        if self.callback is not None:
            self.callback(record)

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProgressBar:
    """What :func:`progress_bar` returns: a started rich bar, or (disabled) one that ignores updates.

    Use it as a context manager, or call :meth:`close` when done.

    Examples:
        >>> bar = progress_bar(False, total=3, label="labelling")
        >>> bar.advance()
        >>> bar.close()
    """

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress, self._task = progress, task

    def update(self, **fields: Any) -> None:
        """``completed=``/``advance=`` and the named text fields."""
        if self._progress is not None:
            self._progress.update(self._task, **fields)

    def advance(self, n: float = 1) -> None:
        """Count ``n`` more done."""
        self.update(advance=n)

    def close(self) -> None:
        """Stop drawing (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(enabled: bool, total: int, *, done: int = 0, label: str = "",
                 fields: Mapping[str, str] | None = None) -> ProgressBar:
    """A rich progress bar on stderr (or, when not ``enabled``, an object that ignores updates).

    Args:
        enabled: show it.
        total: steps (or epochs, chunks...) in all.
        done: how many are done already (a resumed run).
        label: the description on the left.
        fields: text fields shown after the counts, ``{name: caption}``; ``update(name=value)`` sets them.

    Returns:
        A started :class:`ProgressBar` (a context manager; or call ``close()``).

    Examples:
        >>> with progress_bar(False, total=10, label="train") as bar:     # disabled: updates are ignored
        ...     bar.update(advance=1, loss="0.5")
    """
    if not enabled:
        return ProgressBar()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    names = dict(fields or {})
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if names:
        columns.append(TextColumn("  ".join(f"{caption} {{task.fields[{name}]}}" for name, caption in names.items())))
    bar = Progress(*columns, TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
    bar.start()
    blank: dict[str, Any] = dict.fromkeys(names, "-")
    return ProgressBar(bar, bar.add_task(label, total=total, completed=done, **blank))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch threads (0: leave the setting as it is), restoring the setting after.

    Examples:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class DataParallel:
    """This process's place in a data-parallel run, and the collectives the trainers use.

    ``DataParallel()`` is the single-worker case: :meth:`reduce` only scales. With ``world > 1``
    the default ``torch.distributed`` process group must exist (:func:`launch` or Ray Train make it).

    Args:
        rank: this process's rank (0 writes the files).
        world: number of processes.

    Examples:
        >>> import torch
        >>> dp = DataParallel()
        >>> dp.main, dp.shard(10), DataParallel(1, 3).shard(10)
        (True, slice(0, 10, None), slice(3, 6, None))
        >>> w = torch.nn.Parameter(torch.ones(2)); (2 * w).sum().backward()
        >>> dp.reduce([w], 1.0, [0.5])
        [0.5]
    """

    def __init__(self, rank: int = 0, world: int = 1) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not in [0, {world})")
        self.rank, self.world = rank, world

    @property
    def main(self) -> bool:
        """Rank 0: the process that evaluates, logs and writes files."""
        return self.rank == 0

    @classmethod
    def current(cls) -> DataParallel:
        """The default ``torch.distributed`` group's rank and size (Ray Train, torchrun), else single-worker.

        Examples:
            >>> DataParallel.current().world
            1
        """
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        return cls()

    def shard(self, n: int) -> slice:
        """This rank's contiguous part of a global batch of ``n`` (sizes differ by at most one)."""
        return slice(n * self.rank // self.world, n * (self.rank + 1) // self.world)

    def reduce(self, params: Iterable[Any], weight: float, extras: list[float]) -> list[float]:
        """Scale every gradient by ``weight`` (this rank's share of the global batch), sum across ranks.

        ``extras`` (per-rank values already weighted, e.g. the loss times the share) are summed in the
        same all-reduce. A loss that is a mean over the rank's slice gives, after this, the gradient of
        the mean over the global batch. Parameters without a gradient are left alone (they must be the
        same on every rank).

        Returns:
            The summed ``extras``.
        """
        import torch

        grads = [p.grad for p in params if p.grad is not None]
        if self.world == 1:
            if weight != 1.0:
                for g in grads:
                    g.mul_(weight)
            return list(extras)
        import torch.distributed as dist

        flat = torch.cat([g.detach().reshape(-1).to(torch.float64) * weight for g in grads]
                         + [torch.tensor(extras, dtype=torch.float64)])
        dist.all_reduce(flat)
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset:offset + n].reshape(g.shape).to(g.dtype))
            offset += n
        return [float(v) for v in flat[offset:]]

    def agree(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (e.g. its early-stopping decision)."""
        if self.world == 1:
            return flag
        import torch
        import torch.distributed as dist

        t = torch.tensor([int(flag)], dtype=torch.int64)
        dist.broadcast(t, 0)
        return bool(t.item())

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, world={self.world})"


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _init_group(rank: int, world: int, port: int, threads: int) -> None:
    import datetime

    import torch
    import torch.distributed as dist

    if threads:
        torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(minutes=30))


def _rank_main(fn: Callable[..., Any], rank: int, world: int, port: int, threads: int, args: tuple[Any, ...],
               kwargs: dict[str, Any], errors: Any) -> None:
    """A spawned rank: join the group, run ``fn(*args, dp=..., **kwargs)``, report a failure to the parent."""
    import traceback

    import torch.distributed as dist

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads or 1)
    try:
        _init_group(rank, world, port, threads)
        fn(*args, dp=DataParallel(rank, world), **kwargs)
    except BaseException as err:
        errors.put((rank, f"{type(err).__name__}: {err}", traceback.format_exc()))
        raise SystemExit(1) from None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def launch(fn: Callable[..., T], workers: int, *args: Any, threads: int = 1, **kwargs: Any) -> T:
    """Run ``fn(*args, dp=DataParallel(rank, workers), **kwargs)`` on ``workers`` ranks of this machine.

    Rank 0 runs in the calling process (its result is returned; its progress bar and errors are the
    caller's), ranks 1.. in spawned processes; they form a gloo process group on 127.0.0.1. ``fn``
    must be importable by the spawned processes (a module-level function) and its arguments picklable.

    Args:
        fn: the training function; it takes ``dp=`` and splits each global batch with it.
        workers: ranks (>= 1; 1 calls ``fn`` with a single-worker ``DataParallel``).
        threads: torch threads per rank (0: leave as is).

    Raises:
        RuntimeError: a spawned rank failed (its error and traceback in the message).

    Examples:
        >>> def total(values, *, dp):
        ...     return sum(values[dp.shard(len(values))])
        >>> launch(total, 1, [1, 2, 3])
        6
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        return fn(*args, dp=DataParallel(), **kwargs)
    import multiprocessing

    import torch
    import torch.distributed as dist

    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank_main, args=(fn, r, workers, port, threads, args, kwargs, errors), daemon=True)
             for r in range(1, workers)]
    for p in procs:
        p.start()
    before = torch.get_num_threads()
    failure: BaseException | None = None
    result: Any = None
    try:
        _init_group(0, workers, port, threads)
        result = fn(*args, dp=DataParallel(0, workers), **kwargs)
    except BaseException as err:
        failure = err
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        torch.set_num_threads(before)
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
                p.join()
    import queue

    reported = []
    while True:
        try:
            reported.append(errors.get(timeout=0.2))
        except queue.Empty:
            break
    if failure is not None and (not reported or type(failure) is not RuntimeError):
        raise failure  # rank 0's own error (a RuntimeError may be gloo's "connection closed" after another rank died)
    if reported:
        rank, message, tb = sorted(reported)[0]
        raise RuntimeError(f"data-parallel rank {rank} of {workers} failed: {message}\n{tb}") from failure
    return result  # type: ignore[no-any-return]
