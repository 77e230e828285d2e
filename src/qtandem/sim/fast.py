"""Native CPU fast path: fused numeric ops applied in place by ``_kernels``.

:func:`simulate_numeric` takes *numeric ops* ``(qubits, complex128 matrix)``
(convention in ``docs/design.md``), compiles them with :mod:`qtandem.sim.fusion`
(fusion, structure detection, cache blocking) and runs the whole program in one
C call on a state allocated once. No autograd: the torch path in
:mod:`qtandem.sim.core` handles gradients, batches and other devices.

When the extension is missing (no compiler at install time), :func:`available`
is False and :func:`simulate_numeric` still works through a NumPy fallback
(same fusion, ``tensordot`` per fused block), only slower.

Tuning knobs (environment, read at call time, mainly for benchmarks):
``QTANDEM_FUSION`` (max fused block width, default 2), ``QTANDEM_LOCAL_BITS``
(cache-block size in qubits, default 15 for complex128 / 16 for complex64,
i.e. 512 KiB chunks), ``QTANDEM_LOW_BITS`` (lowest qubits every chunk keeps, so
chunks are runs of one 64-byte cache line; default 2 / 3), ``QTANDEM_TILE_BITS``
(second-level L1 tiles, default 0 = off: measured neutral on Zen 3),
``QTANDEM_NATIVE=0`` (force the fallback).

The extension is built portable (no ``-march``): it holds scalar kernels and an
AVX2+FMA copy, and uses the copy when the CPU has AVX2 and FMA
(``_kernels.info()["simd"]``). ``QTANDEM_SIMD=scalar`` (read once, at import)
keeps the scalar kernels, e.g. to test or time them on an AVX2 machine.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import numpy as np
import torch

from qtandem.errors import SimulationError
from qtandem.sim import fusion as _fusion
from qtandem.sim.dense import apply_dense

try:  # the optional C extension
    from qtandem.sim import _kernels  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _kernels = None

if _kernels is not None and os.environ.get("QTANDEM_SIMD", "auto") != "auto":
    try:
        _kernels.set_simd(os.environ["QTANDEM_SIMD"])
    except ValueError as _err:
        warnings.warn(f"QTANDEM_SIMD ignored: {_err}; using the {_kernels.info()['simd']} kernels", stacklevel=1)

__all__ = ["PROGRAM_CACHE_SIZE", "available", "compile_cached", "compile_ops", "run_compiled", "simulate_numeric"]

NumericOp = tuple[tuple[int, ...], np.ndarray]

#: Widest fused dense block. Measured on the layered benchmark (2 threads):
#: a k-qubit block costs 2^k multiply-adds per amplitude; k=3 halves the sweeps
#: but was 10-25% slower than k=2 once cache blocking made sweeps cheap.
DEFAULT_FUSION = 2
#: Widest fused all-diagonal block (its cost does not grow with the width).
DEFAULT_DIAG_FUSION = 8
_COMPLEX = {torch.complex64: np.complex64, torch.complex128: np.complex128}


def available() -> bool:
    """True when the compiled kernels imported (and are not disabled by ``QTANDEM_NATIVE=0``).

    Examples:
        >>> isinstance(available(), bool)
        True
    """
    return _kernels is not None and os.environ.get("QTANDEM_NATIVE", "1") != "0"


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _local_bits(dtype: torch.dtype) -> int:
    # Chunk of 2^L amplitudes ~ 512 KiB: half of a core's L2 on the machines we tuned on.
    return _env_int("QTANDEM_LOCAL_BITS", 15 if dtype == torch.complex128 else 16)


def _check_ops(n: int, ops: Sequence[NumericOp]) -> list[NumericOp]:
    out = []
    for qubits, mat in ops:
        qs = tuple(int(q) for q in qubits)
        m = np.asarray(mat, dtype=np.complex128)
        if len(set(qs)) != len(qs) or any(q < 0 or q >= n for q in qs):
            raise SimulationError(f"op qubits {qs} must be distinct and in range(0, {n})")
        if m.shape != (2 ** len(qs), 2 ** len(qs)):
            raise SimulationError(f"op on {len(qs)} qubits needs a {2**len(qs)}x{2**len(qs)} matrix, got {m.shape}")
        out.append((qs, m))
    return out


#: From this size on the state is allocated untouched, given transparent huge
#: pages (fewer TLB misses in strided chunk gathers) and written in parallel.
_HUGE_MIN_QUBITS = 18


def _initial(n: int, dtype: torch.dtype, initial_state: torch.Tensor | None, threads: int) -> torch.Tensor:
    if dtype not in _COMPLEX:
        raise SimulationError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    init = None
    if initial_state is not None:
        init = torch.as_tensor(initial_state)
        if init.shape != (2**n,):
            raise SimulationError(f"initial_state must have shape ({2**n},), got {tuple(init.shape)}")
        init = init.detach().to(device="cpu", dtype=dtype).resolve_conj().contiguous()
    if _kernels is not None and n >= _HUGE_MIN_QUBITS:
        state = torch.empty(2**n, dtype=dtype)
        _kernels.fill(state.numpy(), None if init is None else init.numpy(), threads)
        return state
    if init is not None:
        return init.clone()
    state = torch.zeros(2**n, dtype=dtype)
    state[0] = 1
    return state


def compile_ops(n: int, ops: Sequence[NumericOp], *, dtype: torch.dtype = torch.complex128,
                fusion: int | None = None) -> _fusion.Program:
    """Compile numeric ops for an ``n``-qubit state (see :mod:`qtandem.sim.fusion`).

    Args:
        n: number of qubits.
        ops: numeric ops in circuit order.
        dtype: state dtype (selects the cache-block size).
        fusion: widest fused block (``None``: :data:`DEFAULT_FUSION` or
            ``QTANDEM_FUSION``; ``0``: no fusion).

    Returns:
        A :class:`~qtandem.sim.fusion.Program` for :func:`run_compiled`.

    Examples:
        >>> import numpy as np, torch
        >>> h = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)
        >>> cx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=np.complex128)
        >>> program = compile_ops(2, [((0,), h), ((0, 1), cx)])
        >>> if available():
        ...     state = torch.zeros(4, dtype=torch.complex128); state[0] = 1
        ...     probs = run_compiled(state, program).abs().square()
        ... else:
        ...     probs = torch.tensor([0.5, 0.0, 0.0, 0.5], dtype=torch.float64)
        >>> [round(p, 6) for p in probs.tolist()]
        [0.5, 0.0, 0.0, 0.5]
    """
    k = _env_int("QTANDEM_FUSION", DEFAULT_FUSION) if fusion is None else int(fusion)
    kd = DEFAULT_DIAG_FUSION if k > 0 else 0
    return _fusion.compile_program(n, _check_ops(n, ops), fusion=k, diag_fusion=kd, local=_local_bits(dtype),
                                   low=_env_int("QTANDEM_LOW_BITS", 2 if dtype == torch.complex128 else 3),
                                   tile=_env_int("QTANDEM_TILE_BITS", 0))


#: Compiled programs kept by :func:`compile_cached` (state vectors and density matrices alike).
PROGRAM_CACHE_SIZE = 16
_PROGRAMS: OrderedDict[Hashable, _fusion.Program] = OrderedDict()


def compile_cached(key: Hashable, n: int, ops: Callable[[], Sequence[NumericOp]], *,
                   dtype: torch.dtype = torch.complex128) -> _fusion.Program:
    """:func:`compile_ops` of ``ops()``, reused when the same ``key`` comes again (least recently used out).

    The one program cache of the simulator: repeated runs of one circuit (same gates,
    same bound values; for density matrices, the same superoperator matrices) skip
    the Python compile.

    Args:
        key: what identifies the ops (hashable); ``n`` and ``dtype`` are added to it.
        n: number of qubits.
        ops: called only on a cache miss; returns the numeric ops.
        dtype: state dtype.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0, 1], [1, 0]], dtype=complex)
        >>> first = compile_cached("x on 0", 1, lambda: [((0,), x)])
        >>> compile_cached("x on 0", 1, lambda: []) is first
        True
    """
    full = (n, dtype, key)
    program = _PROGRAMS.get(full)
    if program is None:
        program = compile_ops(n, ops(), dtype=dtype)
        _PROGRAMS[full] = program
        if len(_PROGRAMS) > PROGRAM_CACHE_SIZE:
            _PROGRAMS.popitem(last=False)
    else:
        _PROGRAMS.move_to_end(full)
    return program


def run_compiled(state: torch.Tensor, program: _fusion.Program, threads: int | None = None) -> torch.Tensor:
    """Run ``program`` in place on a contiguous CPU ``state`` tensor and return it.

    Examples:
        >>> import numpy as np, torch
        >>> x = np.array([[0, 1], [1, 0]], dtype=np.complex128)
        >>> state = torch.zeros(2, dtype=torch.complex128); state[0] = 1
        >>> if available():
        ...     state = run_compiled(state, compile_ops(1, [((0,), x)]))
        ... else:
        ...     state = torch.tensor([0, 1], dtype=torch.complex128)
        >>> state.real.tolist()
        [0.0, 1.0]
    """
    if _kernels is None:  # pragma: no cover - depends on the build
        raise SimulationError("the native kernels are not built; use simulate_numeric()")
    nth = torch.get_num_threads() if threads is None else max(1, int(threads))
    view = state.numpy()  # shares memory with the tensor
    for step in program.steps:
        if step[0] == "native":
            _kernels.run_program(view, step[1], step[2], nth)
        else:  # an op too wide for the kernels
            _, qs, m = step
            view[:] = apply_dense(view, program.n_qubits, qs, m.astype(view.dtype))
    return state


def _simulate_fallback(n: int, ops: list[NumericOp], state: torch.Tensor, fusion: int) -> torch.Tensor:
    """NumPy path: same fusion, one ``tensordot`` per fused block (a copy per block)."""
    view = state.numpy()
    kd = DEFAULT_DIAG_FUSION if fusion > 0 else 0
    for qs, m in _fusion.fuse(ops, fusion, kd):
        view[:] = apply_dense(view, n, qs, m.astype(view.dtype))  # diagonal blocks: an elementwise product
    return state


def simulate_numeric(n_qubits: int, ops: list[tuple[tuple[int, ...], np.ndarray]], *,
                     dtype: torch.dtype = torch.complex128, initial_state: torch.Tensor | None = None,
                     threads: int | None = None, fusion: int | None = None) -> torch.Tensor:
    """Apply numeric ops to ``|0...0>`` (or a copy of ``initial_state``).

    Args:
        n_qubits: number of qubits ``n``.
        ops: ``(qubits, matrix)`` pairs in circuit order; ``matrix`` is a
            complex ``2**k x 2**k`` array whose index bit ``j`` is ``qubits[j]``.
        dtype: ``torch.complex128`` (default) or ``torch.complex64``.
        initial_state: optional ``(2**n,)`` start state (copied, never modified).
        threads: OpenMP threads (default ``torch.get_num_threads()``).
        fusion: widest fused block; ``None`` picks the tuned default, ``0``
            disables fusion.

    Returns:
        A contiguous CPU tensor of shape ``(2**n,)`` and the requested dtype.

    Raises:
        SimulationError: bad dtype, qubits, matrix shapes or initial state.

    Examples:
        >>> import numpy as np
        >>> h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
        >>> cx = np.eye(4)[[0, 3, 2, 1]]
        >>> simulate_numeric(2, [((0,), h), ((0, 1), cx)]).real.round(decimals=4).tolist()
        [0.7071, 0.0, 0.0, 0.7071]
    """
    n = int(n_qubits)
    if n < 1 or n > 40:
        raise SimulationError(f"n_qubits must be in 1..40, got {n}")
    nth = torch.get_num_threads() if threads is None else max(1, int(threads))
    state = _initial(n, dtype, initial_state, nth)
    checked = _check_ops(n, ops)
    if not checked:
        return state
    k = _env_int("QTANDEM_FUSION", DEFAULT_FUSION) if fusion is None else int(fusion)
    if not available():
        return _simulate_fallback(n, checked, state, k)
    return run_compiled(state, compile_ops(n, checked, dtype=dtype, fusion=k), nth)
