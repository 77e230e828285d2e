"""Memory guard: refuse allocations the machine cannot hold, before making them.

Examples:
    >>> from qtandem.sim.memory import format_bytes
    >>> format_bytes(256 * 2**30)
    '256.0 GiB'
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from qtandem.errors import ResourceError

__all__ = ["available_bytes", "check_memory", "format_bytes", "state_bytes"]


def format_bytes(n: float) -> str:
    """Human-readable size with binary units; exact for integers of any size.

    Sizes from 1024 EiB (``2**70`` bytes) on are written as a power of two where they are
    one, with their order of magnitude (a 1,100-qubit state vector is ``2**1104`` bytes).

    Examples:
        >>> format_bytes(512), format_bytes(3 * 2 ** 30)
        ('512 B', '3.0 GiB')
        >>> format_bytes(2 ** 1104)
        '2^1104 B (about 2.2 x 10^332 B)'
    """
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    if isinstance(n, int) or (isinstance(n, float) and n.is_integer() and math.isfinite(n)):
        value = int(n)
        if abs(value) < 1024:
            return f"{value} B"
        for k, unit in enumerate(units[1:], start=1):
            if abs(value) < 1024 ** (k + 1):
                return f"{value / 1024 ** k:.1f} {unit}"
        return _huge(value)
    if not math.isfinite(n):
        return f"{n} B"
    for unit in units:
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def _huge(value: int) -> str:
    """``2^k B (about m x 10^e B)`` for sizes past 1024 EiB (integer-exact, no float overflow)."""
    exponent10 = math.log10(abs(value))
    e = math.floor(exponent10)
    mantissa = 10 ** (exponent10 - e)
    if mantissa >= 9.95:
        mantissa, e = 1.0, e + 1
    about = f"about {mantissa:.1f} x 10^{e} B"
    if value > 0 and value & (value - 1) == 0:
        return f"2^{value.bit_length() - 1} B ({about})"
    return about


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            usage = 0
            for upath in ("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"):
                try:
                    usage = int(Path(upath).read_text().strip())
                    break
                except (OSError, ValueError):
                    continue
            return max(int(text) - usage, 0)
    return None


def available_bytes(device: torch.device | str | None = None) -> int:
    """Bytes that can still be allocated on ``device`` (CPU: ``MemAvailable`` and the cgroup limit).

    The environment variable ``QTANDEM_MEMORY_LIMIT`` (bytes) caps the answer,
    which is handy for tests and shared machines.

    Examples:
        >>> available_bytes() > 0
        True
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    avail: int | None = None
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        avail = int(free)
    else:
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
        if avail is None:
            try:
                avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (ValueError, OSError, AttributeError):
                avail = 2**63
        cg = _cgroup_limit()
        if cg is not None and avail is not None:
            avail = min(avail, cg)
        if avail is None:
            avail = 2**63
    cap = os.environ.get("QTANDEM_MEMORY_LIMIT")
    if cap:
        try:
            avail = min(avail, int(float(cap)))
        except ValueError:
            pass
    return int(avail)


def state_bytes(n_qubits: int, dtype: torch.dtype, batch: int = 1, *, density: bool = False) -> int:
    """Bytes of ``batch`` state vectors (or density matrices) of ``n_qubits`` qubits.

    Examples:
        >>> import torch
        >>> state_bytes(10, torch.complex128)
        16384
        >>> state_bytes(10, torch.complex64, batch=4, density=True) == 4 * 8 * 4 ** 10
        True
    """
    itemsize = torch.empty((), dtype=dtype).element_size()
    entries = 4**n_qubits if density else 2**n_qubits
    return entries * itemsize * batch


def check_memory(nbytes: int, what: str, device: torch.device | str | None = None) -> None:
    """Raise :class:`ResourceError` if ``nbytes`` exceeds what ``device`` has available.

    Args:
        nbytes: bytes the computation needs (state plus workspace).
        what: description used in the message ("statevector of 34 qubits (complex128)").
        device: target device.

    Raises:
        ResourceError: ``"<what> needs 256.0 GiB, 23.1 GiB available"``.

    Examples:
        >>> check_memory(1024, "a small state")        # fits: returns None
        >>> check_memory(2 ** 64, "statevector of 60 qubits (complex128)")
        Traceback (most recent call last):
        ...
        qtandem.errors.ResourceError: statevector of 60 qubits (complex128) needs 16.0 EiB, ... available; ...
    """
    avail = available_bytes(device)
    if nbytes > avail:
        raise ResourceError(
            f"{what} needs {format_bytes(nbytes)}, {format_bytes(avail)} available; "
            "use fewer qubits, a smaller batch, complex64, or a machine with more memory"
        )
