"""Small I/O helpers: atomic writes, so nothing is ever left half-written.

Examples:
    >>> import tempfile, pathlib
    >>> from qtandem.io import atomic_write_text
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write_text(p, "hello")
    >>> p.read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["atomic_write_bytes", "atomic_write_text", "json_safe", "load_optimizer_state", "optimizer_state",
           "read_jsonl", "read_safetensors", "write_safetensors"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     atomic_write_bytes(pathlib.Path(tmp) / "x.bin", b"abc")
        ...     (pathlib.Path(tmp) / "x.bin").read_bytes()
        b'abc'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     atomic_write_text(pathlib.Path(tmp) / "x.txt", "hello")
        ...     (pathlib.Path(tmp) / "x.txt").read_text()
        'hello'
    """
    atomic_write_bytes(path, text.encode(encoding))


def write_safetensors(path: str | os.PathLike[str], tensors: dict[str, Tensor], metadata: dict[str, str]) -> None:
    """Write tensors (detached, contiguous, on the CPU) and string metadata as safetensors, atomically.

    Examples:
        >>> import tempfile, pathlib, torch
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_safetensors(pathlib.Path(tmp) / "w.safetensors", {"w": torch.ones(2, 3)}, {"step": "7"})
        ...     tensors, meta = read_safetensors(pathlib.Path(tmp) / "w.safetensors")
        >>> tensors["w"].shape, meta["step"]
        (torch.Size([2, 3]), '7')
    """
    from safetensors.torch import save

    data = save({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, metadata=metadata)
    atomic_write_bytes(path, data)


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file (no pickle: loading runs no code).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a valid safetensors file.

    Examples:
        >>> import tempfile, pathlib, torch
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.safetensors"
        >>> write_safetensors(p, {"w": torch.ones(2)}, {"format": "demo/1"})
        >>> tensors, meta = read_safetensors(p)
        >>> tensors["w"].tolist(), meta
        ([1.0, 1.0], {'format': 'demo/1'})
    """
    from safetensors.torch import load

    from qtandem.errors import CheckpointError

    p = Path(path)
    data = p.read_bytes()
    try:
        n = int.from_bytes(data[:8], "little")
        if len(data) < 8 or n > len(data) - 8:
            raise ValueError("truncated header")
        meta = json.loads(data[8:8 + n]).get("__metadata__") or {}
        tensors = load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{p}: not a valid safetensors file ({exc})") from None
    return tensors, dict(meta)


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a JSON-lines file such as ``metrics.jsonl`` (empty if absent; a torn line is skipped).

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "metrics.jsonl"
        ...     _ = path.write_text('{"step": 1}\\n{"step": 2}\\n{"st')
        ...     read_jsonl(path), read_jsonl(pathlib.Path(tmp) / "absent.jsonl")
        ([{'step': 1}, {'step': 2}], [])
    """
    p = Path(path)
    out: list[dict[str, Any]] = []
    if p.exists():
        for line in p.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                if line.strip():
                    out.append(json.loads(line))
    return out


def optimizer_state(opt: Any) -> tuple[dict[str, Tensor], dict[str, str]]:
    """A torch optimizer's state as safetensors entries and metadata strings (for checkpoints).

    Tensors go to ``optim.state.<param index>.<name>``; the parameter groups and the
    non-tensor state (step counters of some optimizers) go to the metadata keys
    ``optim.param_groups`` and ``optim.scalars``. :func:`load_optimizer_state` reverses it.

    Examples:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(3))
        >>> opt = torch.optim.Adam([w], lr=0.1)
        >>> w.sum().backward(); opt.step()
        >>> tensors, meta = optimizer_state(opt)
        >>> sorted(tensors), sorted(meta)
        (['optim.state.0.exp_avg', 'optim.state.0.exp_avg_sq', 'optim.state.0.step'],
         ['optim.param_groups', 'optim.scalars'])
    """
    import torch

    osd = opt.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, pstate in osd["state"].items():
        for name, v in pstate.items():
            if torch.is_tensor(v):
                tensors[f"optim.state.{idx}.{name}"] = v.contiguous()
            else:
                scalars.setdefault(str(idx), {})[name] = v
    return tensors, {"optim.param_groups": json.dumps(osd["param_groups"]), "optim.scalars": json.dumps(scalars)}


def load_optimizer_state(opt: Any, tensors: dict[str, Tensor], meta: dict[str, str]) -> None:
    """Restore what :func:`optimizer_state` saved into ``opt`` (lists become tuples where ``opt`` has tuples).

    Examples:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(3))
        >>> opt = torch.optim.Adam([w], lr=0.1)
        >>> w.sum().backward(); opt.step()
        >>> fresh = torch.optim.Adam([w], lr=0.5)
        >>> load_optimizer_state(fresh, *optimizer_state(opt))
        >>> fresh.param_groups[0]["lr"], torch.equal(fresh.state[w]["exp_avg"], opt.state[w]["exp_avg"])
        (0.1, True)
    """
    fresh = opt.state_dict()["param_groups"]
    groups = json.loads(meta["optim.param_groups"])
    for g, f in zip(groups, fresh, strict=False):
        for k, v in g.items():
            if isinstance(f.get(k), tuple) and isinstance(v, list):
                g[k] = tuple(v)
    state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("optim.state."):
            idx, name = k[len("optim.state."):].split(".", 1)
            state.setdefault(int(idx), {})[name] = v
    for idx, d in json.loads(meta["optim.scalars"]).items():
        state.setdefault(int(idx), {}).update(d)
    opt.load_state_dict({"state": state, "param_groups": groups})


def json_safe(x: Any) -> Any:
    """``x`` with non-finite floats replaced by ``None`` (JSON has no NaN or infinity), recursively.

    Examples:
        >>> json_safe({"a": [1.0, float("nan")], "b": float("inf")})
        {'a': [1.0, None], 'b': None}
    """
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    return x
