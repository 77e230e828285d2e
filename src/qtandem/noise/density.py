"""Exact noisy simulation with density matrices.

A density matrix ``rho`` of ``n`` qubits is simulated as a vector of ``2n``
"qubits": ``vec(rho)[j + 2**n * i] = rho[i, j]``, so qubits ``0..n-1`` index the
column and ``n..2n-1`` the row. A gate ``U`` on qubits ``Q`` becomes ``U`` on
``Q + n`` and ``conj(U)`` on ``Q``; a channel becomes its superoperator on
``Q`` and ``Q + n``. The simulator's fused kernels (native or torch) then do the
work: fusion merges a gate, its conjugate and the channels that follow it into
one block, and diagonal channels (dephasing) act as elementwise products.

Examples:
    >>> import qtandem
    >>> from qtandem.noise import NoiseModel, depolarizing
    >>> model = NoiseModel().add(depolarizing(0.1), gates=["h"])
    >>> rho = qtandem.density_matrix(qtandem.Circuit(1).h(0), noise=model)
    >>> [round(float(x), 4) for x in rho.real.flatten()]
    [0.5, 0.4333, 0.4333, 0.5]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import controlled_matrix, gate_matrix
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import NoiseError, SimulationError
from qtandem.noise import channels as ch
from qtandem.noise.model import NoiseModel
from qtandem.sim.branching import DROP_TOLERANCE, measured_circuit, records_from_probabilities
from qtandem.sim.core import TORCH_FUSION_QUBITS, ParamSpec, apply_ops, instruction_matrix, resolve_params
from qtandem.sim.expectation import dm_expectation
from qtandem.sim.memory import check_memory, state_bytes

__all__ = ["Event", "density_matrix", "density_ops", "dm_expectation", "noisy_events", "noisy_probabilities",
           "record_distribution"]

Tensor = torch.Tensor
Op = tuple[tuple[int, ...], Tensor]
_DENSE_MAX = 8  # widest gate turned into a dense matrix here

_DEPHASE = torch.diag(torch.tensor([1, 0, 0, 1], dtype=torch.complex128))
_RESET = torch.zeros(4, 4, dtype=torch.complex128)
_RESET[0, 0] = 1
_RESET[0, 3] = 1  # |1><1| -> |0><0|  (vec index j + 2 i: (0,0)->0, (1,1)->3)


_RZ_SIGNS = (1.0, -1.0)  # rz(phi) = diag(exp(-i phi/2), exp(i phi/2))
_RZZ_SIGNS = (1.0, -1.0, -1.0, 1.0)  # rzz(phi) = exp(-i phi/2 ZZ), first qubit least significant
_CACHE_MAX = 4096
_relax_cache: dict[tuple[float, float, float], ch.KrausChannel] = {}
_phase_cache: dict[tuple[float, tuple[float, ...], torch.dtype, str], Tensor] = {}


def _relaxation(t1: Any, t2: Any, time: float) -> ch.KrausChannel:
    """Thermal relaxation channel, cached for plain numbers (its superoperator is cached with it)."""
    if isinstance(t1, Tensor) or isinstance(t2, Tensor):
        return ch.thermal_relaxation(t1, t2, time)
    key = (float(t1), float(t2), float(time))
    channel = _relax_cache.get(key)
    if channel is None:
        if len(_relax_cache) >= _CACHE_MAX:
            _relax_cache.clear()
        channel = _relax_cache[key] = ch.thermal_relaxation(*key)
    return channel


def _z_phase(phi: Any, signs: tuple[float, ...], dtype: torch.dtype, device: Any) -> Tensor:
    """``diag(exp(-i phi s / 2))``: ``rz(phi)`` or ``rzz(phi)``; differentiable in a tensor ``phi``."""
    if isinstance(phi, Tensor):
        s = torch.tensor(signs, dtype=torch.float64, device=phi.device)
        return torch.diag(torch.exp(-0.5j * phi.to(torch.float64) * s)).to(dtype=dtype, device=device)
    key = (float(phi), signs, dtype, str(device))
    out = _phase_cache.get(key)
    if out is None:
        if len(_phase_cache) >= _CACHE_MAX:
            _phase_cache.clear()
        values = torch.tensor([complex(math.cos(phi * v / 2), -math.sin(phi * v / 2)) for v in signs],
                              dtype=torch.complex128)
        out = _phase_cache[key] = torch.diag(values).to(dtype=dtype, device=device)
    return out


def _gate_matrix(inst: Instruction, spec: ParamSpec, dtype: torch.dtype, device: Any) -> Tensor:
    if len(inst.qubits) > _DENSE_MAX:
        raise SimulationError(f"{inst.label} on {len(inst.qubits)} qubits is too wide for density-matrix "
                              f"simulation (max {_DENSE_MAX}); decompose it first")
    if inst.name == "mcx":
        return controlled_matrix(gate_matrix("x", (), dtype=dtype, device=device), len(inst.qubits) - 1)
    return instruction_matrix(inst, spec, dtype=dtype, device=device)


@dataclass(frozen=True)
class Event:
    """One step of a noisy circuit: ``kind`` is ``gate``, ``channel``, ``measure`` or ``reset``.

    Examples:
        >>> from qtandem import Circuit, NoiseModel
        >>> from qtandem.noise import bit_flip
        >>> from qtandem.sim.core import resolve_params
        >>> c = Circuit(1).x(0)
        >>> events = noisy_events(c, resolve_params(c, None), NoiseModel().add(bit_flip(0.1), gates=["x"]),
        ...                       dtype=torch.complex128, device=None)
        >>> [(e.kind, e.qubits) for e in events]
        [('gate', (0,)), ('channel', (0,))]
    """

    kind: str
    qubits: tuple[int, ...]
    matrix: Tensor | None = None
    channel: ch.KrausChannel | None = None
    clbit: int | None = None
    terminal: bool = False
    condition: tuple[tuple[int, ...], int] | None = None


def noisy_events(circuit: Circuit, spec: ParamSpec, noise: NoiseModel | None, *, dtype: torch.dtype,
                 device: Any) -> list[Event]:
    """The circuit as a list of gates, channels (noise and idle relaxation), measurements and resets.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.sim.core import resolve_params
        >>> c = Circuit(1, 1).h(0).measure(0, 0)
        >>> [e.kind for e in noisy_events(c, resolve_params(c, None), None, dtype=torch.complex128, device=None)]
        ['gate', 'measure']
    """
    n = circuit.n_qubits
    if noise is not None:
        noise.require_coverage(circuit)  # a strict model refuses gates it has no rule for (NoiseModel.check)
    noise = noise or NoiseModel()
    terminal = terminal_measurements(circuit).indices
    events: list[Event] = []
    clock = [0.0] * n
    timed = noise.has_idle and bool(noise.durations)
    # ZZ partners count only where the circuit uses them (as the executors and learn's likelihood simulate)
    touched = {q for inst in circuit if inst.name != "barrier" for q in inst.qubits} if noise.zz else set()

    def idle_events(waits: dict[int, float]) -> None:
        """Relaxation and detuning of each qubit idling ``waits[q]``, then ZZ of its partners (once a pair)."""
        for q, wait in waits.items():
            if wait <= 0:
                continue
            params = noise.idle_params(q)
            if params is not None:
                events.append(Event("channel", (q,), channel=_relaxation(params[0], params[1], wait)))
            det = noise.idle_detuning(q)
            if isinstance(det, Tensor) or det != 0.0:
                events.append(Event("gate", (q,), matrix=_z_phase(det * wait, _RZ_SIGNS, dtype, device)))
        if not noise.zz:
            return
        done: set[tuple[int, int]] = set()
        for q, wait in waits.items():
            if wait <= 0:
                continue
            for b, zeta in noise.zz_partners(q):
                key = (min(q, b), max(q, b))
                if b not in touched or key in done:
                    continue
                done.add(key)
                t = max(wait, waits.get(b, 0.0))
                events.append(Event("gate", key, matrix=_z_phase(zeta * (t / 2), _RZZ_SIGNS, dtype, device)))

    def idle_until(qubits: tuple[int, ...], start: float) -> None:
        idle_events({q: start - clock[q] for q in qubits})
        for q in qubits:
            clock[q] = start

    for idx, inst in enumerate(circuit):
        if inst.name == "barrier":
            if timed and inst.qubits:
                idle_until(inst.qubits, max(clock[q] for q in inst.qubits))
            continue
        if inst.name == "delay":  # idle for its own duration (ns), with or without gate durations
            length = noise.duration(inst)
            start = max(clock[q] for q in inst.qubits) if timed else 0.0
            if timed:
                idle_until(inst.qubits, start)
            idle_events(dict.fromkeys(inst.qubits, length))
            for q in inst.qubits:
                clock[q] = start + length
            continue
        if timed:
            idle_until(inst.qubits, max(clock[q] for q in inst.qubits))
        if inst.is_gate:
            events.append(Event("gate", inst.qubits, matrix=_gate_matrix(inst, spec, dtype, device),
                                condition=inst.condition))
        elif inst.name == "reset":
            events.extend(Event("reset", (q,)) for q in inst.qubits)
        elif inst.name == "measure":
            events.extend(Event("measure", (q,), clbit=c, terminal=idx in terminal)
                          for q, c in zip(inst.qubits, inst.clbits, strict=True))
        for channel, qubits in noise.errors_after(inst):  # a conditioned gate's error only where it runs
            events.append(Event("channel", qubits, channel=channel, condition=inst.condition))
        if timed:
            end = clock[inst.qubits[0]] + noise.duration(inst)
            for q in inst.qubits:
                clock[q] = end
    return events


def density_ops(circuit: Circuit, spec: ParamSpec, noise: NoiseModel | None, *, dtype: torch.dtype,
                device: Any) -> list[Op]:
    """The ``(qubits, matrix)`` program on ``2n`` qubits that evolves ``vec(rho)``.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.sim.core import resolve_params
        >>> c = Circuit(1).h(0)
        >>> ops = density_ops(c, resolve_params(c, None), None, dtype=torch.complex128, device=None)
        >>> [qubits for qubits, _ in ops]   # h on the row qubit (1) and its conjugate on the column qubit (0)
        [(1,), (0,)]
    """
    n = circuit.n_qubits
    if any(inst.condition is not None for inst in circuit):
        raise SimulationError("classically controlled gates need per-shot simulation: use "
                              "qtandem.sample(..., noise=..., method='trajectories')")
    ops: list[Op] = []
    for ev in noisy_events(circuit, spec, noise, dtype=dtype, device=device):
        rows = tuple(q + n for q in ev.qubits)
        if ev.kind == "gate":
            assert ev.matrix is not None
            ops.append((rows, ev.matrix))
            ops.append((ev.qubits, ev.matrix.conj().resolve_conj()))
        elif ev.kind == "channel":
            assert ev.channel is not None
            ops.append((ev.qubits + rows, ev.channel.superop().to(device=device, dtype=dtype)))
        elif ev.kind == "reset":
            ops.append((ev.qubits + rows, _RESET.to(device=device, dtype=dtype)))
        elif ev.kind == "measure" and not ev.terminal:  # non-selective Z measurement: dephasing
            ops.append((ev.qubits + rows, _DEPHASE.to(device=device, dtype=dtype)))
    return ops


_SMALL_QUBITS = 3  # up to here a NumPy loop beats compiling a fused program (bench/noise_small.py)
_SMALL_BYTES = 1 << 20


def _numeric_ok(ops: list[Op], spec: ParamSpec) -> bool:
    """Unbatched, nothing to differentiate, all on the CPU: plain numbers will do."""
    if spec.batch is not None or (spec.values is not None and spec.values.requires_grad and torch.is_grad_enabled()):
        return False
    if torch.is_grad_enabled() and any(m.requires_grad for _, m in ops):
        return False
    return all(m.device.type == "cpu" for _, m in ops)


def _small_density(ops: list[Op], n: int, rho0: Tensor) -> Tensor:
    """``vec(rho)`` evolved by ``ops`` with NumPy gathers (a few qubits: nothing to compile)."""
    width = 2 * n
    vec = rho0.detach().cpu().to(torch.complex128).resolve_conj().numpy()
    for qubits, m in ops:
        a = m.detach().to(torch.complex128).resolve_conj().numpy()
        rows, cols = _gather(qubits, width)
        vec = (a[rows] * vec[cols]).sum(axis=1)
    dim = 2**n
    return torch.from_numpy(np.ascontiguousarray(vec).reshape(dim, dim))


_GATHER_CACHE: dict[tuple[tuple[int, ...], int], tuple[np.ndarray, np.ndarray]] = {}


def _gather(qubits: tuple[int, ...], width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)``: for each index ``i`` of a ``width``-qubit vector, the matrix row its ``qubits`` select
    (``(2**width,)``) and the indices that differ from ``i`` only on ``qubits`` (``(2**width, 2**k)``), so that
    ``(m[rows] * v[cols]).sum(1)`` applies ``m`` to ``qubits`` (the first qubit the matrix's low bit)."""
    key = (qubits, width)
    hit = _GATHER_CACHE.get(key)
    if hit is None:
        x = np.arange(2**width)
        k = len(qubits)
        rows = np.zeros(2**width, dtype=np.int64)
        mask = 0
        for j, q in enumerate(qubits):
            rows |= ((x >> q) & 1) << j
            mask |= 1 << q
        s = np.arange(2**k)
        spread = np.zeros(2**k, dtype=np.int64)
        for j, q in enumerate(qubits):
            spread |= ((s >> j) & 1) << q
        cols = (x & ~mask)[:, None] | spread[None, :]
        hit = _GATHER_CACHE[key] = (rows, cols)
    return hit


def _native_ok(ops: list[Op], spec: ParamSpec) -> bool:
    if not _numeric_ok(ops, spec):
        return False
    try:
        from qtandem.sim import fast
    except ImportError:  # pragma: no cover
        return False
    return fast.available()


def density_matrix(
    circuit: Circuit,
    params: Any = None,
    *,
    noise: NoiseModel | None = None,
    initial_state: Any = None,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
) -> Tensor:
    """Exact density matrix of a (noisy) circuit.

    Terminal measurements are ignored (read probabilities with
    :func:`noisy_probabilities`); a mid-circuit measurement acts as a
    non-selective Z measurement; resets are exact. With classically controlled
    gates the result is the sum of the density matrices of every classical record
    (see :func:`record_distribution`).

    Args:
        circuit: the circuit.
        params: parameter values, possibly batched ``(B, P)``; differentiable.
        noise: a :class:`NoiseModel` (its channels may carry tensors that require
            grad: the result is then differentiable in the noise parameters).
        initial_state: a ``(2**n,)`` state vector or ``(2**n, 2**n)`` density matrix.
        dtype: ``torch.complex128`` or ``torch.complex64``.
        device: torch device.

    Returns:
        ``(2**n, 2**n)``, or ``(B, 2**n, 2**n)`` for batched params.

    Raises:
        ResourceError: the ``4**n`` entries do not fit in memory (says how much they need).
        SimulationError: classically controlled gates with batched params or an initial state.

    Examples:
        >>> from qtandem import Circuit, NoiseModel
        >>> from qtandem.noise import bit_flip
        >>> rho = density_matrix(Circuit(1).x(0), noise=NoiseModel().add(bit_flip(0.1), gates=["x"]))
        >>> rho.shape, [round(v, 6) for v in rho.real.diagonal().tolist()]
        (torch.Size([2, 2]), [0.1, 0.9])
    """
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"expected a qtandem Circuit, got {type(circuit).__name__}")
    if noise is not None and not isinstance(noise, NoiseModel):
        raise NoiseError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    n = circuit.n_qubits
    spec = resolve_params(circuit, params, dtype=dtype, device=device)
    if spec.values is not None and device is None:
        device = spec.values.device
    b = spec.batch or 1
    nbytes = state_bytes(n, dtype, b, density=True) * (1 if b == 1 else 3)
    if nbytes > _SMALL_BYTES:  # reading the free memory costs more than simulating a few qubits
        check_memory(nbytes, f"density matrix of {n} qubits (4^{n} entries, {str(dtype).replace('torch.', '')}"
                     + (f", batch {b}" if b > 1 else "") + ")", device)
    dim = 2**n
    if any(inst.condition is not None for inst in circuit):  # feed-forward: the record branches' sum
        if spec.batch is not None or initial_state is not None:
            raise SimulationError("classically controlled gates with batched params or an initial_state: "
                                  "run one parameter set at a time from |0>")
        rhos, _ = _record_branches(circuit, spec, noise, dtype=dtype, device=device)
        return rhos.sum(dim=0).reshape(dim, dim)
    ops = density_ops(circuit, spec, noise, dtype=dtype, device=device)
    rho0 = torch.zeros(dim * dim, dtype=dtype, device=device)
    if initial_state is None:
        rho0[0] = 1
    else:
        init = torch.as_tensor(initial_state).to(dtype=dtype, device=device)
        if init.shape == (dim,):
            rho0 = torch.outer(init, init.conj()).reshape(-1)
        elif init.shape == (dim, dim):
            rho0 = init.reshape(-1).clone()
        else:
            raise SimulationError(f"initial_state must have shape ({dim},) or ({dim}, {dim}), got {tuple(init.shape)}")
    if n <= _SMALL_QUBITS and _numeric_ok(ops, spec):
        return _small_density(ops, n, rho0).to(dtype=dtype, device=device)
    if _native_ok(ops, spec):
        from qtandem.sim import fast

        numeric = [(q, m.detach().cpu().to(torch.complex128).resolve_conj().numpy()) for q, m in ops]
        if fast.available():
            key = ("density", tuple((q, m.tobytes()) for q, m in numeric))
            program = fast.compile_cached(key, 2 * n, lambda: numeric, dtype=dtype)
            return fast.run_compiled(rho0.contiguous(), program).reshape(dim, dim)
        vec = fast.simulate_numeric(2 * n, numeric, dtype=dtype, initial_state=rho0)
        return vec.reshape(dim, dim)
    state = rho0.unsqueeze(0).expand(b, -1).clone() if b > 1 else rho0.unsqueeze(0)
    out = apply_ops(state, ops, 2 * n, max(TORCH_FUSION_QUBITS, 4))
    out = out.reshape(b, dim, dim)
    return out if spec.batch is not None else out[0]


def noisy_probabilities(circuit: Circuit, params: Any = None, *, noise: NoiseModel | None = None,
                        dtype: torch.dtype = torch.complex128, device: Any = None) -> Tensor:
    """Outcome probabilities of every qubit, readout errors of measured qubits included.

    Returns ``(2**n,)`` (or batched) over all qubits; readout errors apply to the
    qubits the circuit measures (to every qubit if it measures none).

    Examples:
        >>> from qtandem import Circuit, NoiseModel
        >>> from qtandem.noise import readout_error
        >>> model = NoiseModel().add_readout(readout_error(p01=0.0, p10=0.25))
        >>> [round(p, 6) for p in noisy_probabilities(Circuit(1, 1).x(0).measure(0, 0), noise=model).tolist()]
        [0.25, 0.75]
    """
    rho = density_matrix(circuit, params, noise=noise, dtype=dtype, device=device)
    probs = torch.diagonal(rho, dim1=-2, dim2=-1).real.clamp_min(0.0)
    if noise is not None:
        measured = [q for q, _ in terminal_measurements(circuit).pairs] or list(range(circuit.n_qubits))
        for err, qubits in noise.readout_errors(measured):
            probs = err.apply_to_probabilities(probs, qubits, circuit.n_qubits)
    return probs


# ---------------------------------------------------------------------------
# exact distributions with mid-circuit measurement and feed-forward: one density matrix per record


def _rows_where(records: list[int], condition: tuple[tuple[int, ...], int]) -> list[int]:
    bits, value = condition
    return [i for i, r in enumerate(records) if sum(((r >> c) & 1) << j for j, c in enumerate(bits)) == value]


def _record_branches(circuit: Circuit, spec: ParamSpec, noise: NoiseModel | None, *, dtype: torch.dtype,
                     device: Any, tol: float = DROP_TOLERANCE) -> tuple[Tensor, list[int]]:
    """``(R, 4**n)`` unnormalised ``vec(rho)``, one per classical record reached by the non-terminal
    measurements (readout errors included), and the records."""
    n = circuit.n_qubits
    for idx, inst in enumerate(circuit):
        if inst.condition is not None and not inst.is_gate:
            raise SimulationError(f"instruction {idx} ({inst.label}): a classically controlled {inst.name} "
                                  "with noise is not supported; use qtandem.sample(..., method='trajectories')")
    item = state_bytes(n, dtype, density=True)
    check_memory(item * 3, f"density matrix of {n} qubits (4^{n} entries, {str(dtype).replace('torch.', '')})",
                 device)
    dim = 2**n
    rho = torch.zeros(1, dim * dim, dtype=dtype, device=device)
    rho[0, 0] = 1
    records = [0]
    pending: list[Op] = []
    width = max(TORCH_FUSION_QUBITS, 4)
    index = torch.arange(dim * dim, device=device)
    col_bits, row_bits = index % dim, index // dim

    def flush(rho: Tensor) -> Tensor:
        if pending:
            rho = apply_ops(rho, pending, 2 * n, width)
            pending.clear()
        return rho

    def conditioned(rho: Tensor, ops: list[Op], condition: tuple[tuple[int, ...], int] | None) -> Tensor:
        """Queue ``ops``, or (classically controlled) apply them now to the records that satisfy it."""
        if condition is None:
            pending.extend(ops)
            return rho
        rho = flush(rho)
        sel = _rows_where(records, condition)
        if sel:
            idx_t = torch.as_tensor(sel, dtype=torch.long, device=rho.device)
            rho = rho.index_copy(0, idx_t, apply_ops(rho.index_select(0, idx_t), ops, 2 * n, width))
        return rho

    for ev in noisy_events(circuit, spec, noise, dtype=dtype, device=device):
        rows = tuple(q + n for q in ev.qubits)
        if ev.kind == "gate":
            assert ev.matrix is not None
            rho = conditioned(rho, [(rows, ev.matrix), (ev.qubits, ev.matrix.conj().resolve_conj())], ev.condition)
        elif ev.kind == "channel":
            assert ev.channel is not None
            superop: Op = (ev.qubits + rows, ev.channel.superop().to(device=device, dtype=dtype))
            rho = conditioned(rho, [superop], ev.condition)
        elif ev.kind == "reset":
            pending.append((ev.qubits + rows, _RESET.to(device=device, dtype=dtype)))
        elif ev.kind == "measure" and not ev.terminal:
            rho = flush(rho)
            (q,), c = ev.qubits, ev.clbit
            assert c is not None
            confusion = torch.eye(2, dtype=torch.float64)
            if noise is not None:
                errs = noise.readout_errors([q])
                if errs:
                    err, _ = errs[0]
                    confusion = err.matrix.detach().to(torch.float64).cpu()
            keep = [((col_bits >> q) & 1 == o) & ((row_bits >> q) & 1 == o) for o in (0, 1)]
            parts = [rho * keep[o].to(rho.real.dtype) for o in (0, 1)]
            by_record: dict[int, Tensor] = {}
            for read in (0, 1):
                new = parts[0] * float(confusion[read, 0]) + parts[1] * float(confusion[read, 1])
                for i, r in enumerate(records):
                    key = (r & ~(1 << c)) | (read << c)
                    by_record[key] = by_record[key] + new[i] if key in by_record else new[i]
            traces = {k: float(v.reshape(dim, dim).diagonal().real.sum()) for k, v in by_record.items()}
            kept = [k for k in by_record if traces[k] >= tol]
            check_memory(item * (len(kept) + 2), f"{len(kept)} density matrices of {n} qubits (one per "
                         "classical record)", device)
            records = kept
            rho = torch.stack([by_record[k] for k in kept]) if kept else rho[:0]
    return flush(rho), records


def record_distribution(circuit: Circuit, params: Any = None, *, noise: NoiseModel | None = None,
                        qubits: bool = False, dtype: torch.dtype = torch.complex128,
                        device: Any = None) -> dict[int, float]:
    """Exact ``{record: probability}`` of the classical register of a noisy circuit.

    One density matrix per classical record: a mid-circuit measurement splits every
    record's density matrix into its two projections (its readout error mixes them
    into the recorded bit), classically controlled gates act on the records that
    satisfy their condition, resets and noise channels act on all. Terminal
    measurements are read from the final diagonals, with their readout errors. A
    circuit that measures nothing is read as :func:`qtandem.sample` reads it (qubit
    ``i`` into bit ``i``). What :func:`qtandem.distribution` runs with ``noise=``.

    Args:
        circuit: the circuit.
        params: parameter values (unbatched).
        noise: the noise model (``None``: noiseless, still exact).
        qubits: return ``{basis state: probability}`` of the final qubits instead (summed
            over records; readout errors on the terminally measured qubits, as
            :func:`noisy_probabilities`).
        dtype: simulation dtype.
        device: torch device.

    Returns:
        ``{record or basis state (int): probability}``, outcomes below ``1e-14`` left out.

    Raises:
        ResourceError: the density matrices do not fit in memory.
        SimulationError: batched params, or a classically controlled measure or reset.

    Examples:
        >>> from qtandem import Circuit, NoiseModel
        >>> from qtandem.noise import readout_error
        >>> c = Circuit(2, 2).x(0).measure(0, 0).append("x", [1], condition=((0,), 1)).measure(1, 1)
        >>> model = NoiseModel().add_readout(readout_error(p01=0.0, p10=0.1))    # P(read 0 | 1) = 0.1
        >>> {k: round(v, 6) for k, v in record_distribution(c, noise=model).items()}
        {0: 0.1, 1: 0.09, 3: 0.81}
    """
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"expected a qtandem Circuit, got {type(circuit).__name__}")
    target = circuit if qubits else measured_circuit(circuit)
    spec = resolve_params(target, params, dtype=dtype, device=device)
    if spec.batch is not None:
        raise SimulationError("record_distribution() takes unbatched params; loop over parameter sets")
    if spec.values is not None and device is None:
        device = spec.values.device
    n = target.n_qubits
    with torch.no_grad():
        rhos, records = _record_branches(target, spec, noise, dtype=dtype, device=device)
        dim = 2**n
        probs = rhos.reshape(-1, dim, dim).diagonal(dim1=1, dim2=2).real.clamp_min(0.0).to(torch.float64)
        pairs = terminal_measurements(target).pairs
        if noise is not None:
            measured = [q for q, _ in pairs] or list(range(n))
            for err, qs in noise.readout_errors(sorted(set(measured))):
                probs = err.apply_to_probabilities(probs, qs, n)
    p = probs.cpu().numpy()
    if qubits:
        total = p.sum(axis=0)
        return {int(i): float(total[i]) for i in np.nonzero(total >= DROP_TOLERANCE)[0]}
    out, _ = records_from_probabilities(p, records, pairs, target.n_clbits)
    return out
