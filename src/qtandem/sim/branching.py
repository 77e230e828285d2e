"""Exact simulation of mid-circuit measurement, reset and feed-forward by branching over outcomes.

A circuit that measures mid-circuit, resets or conditions gates on classical bits is a
sum over *branches*: each branch is an unnormalised state vector (its squared norm is
the branch's probability) with the classical record it wrote. A measurement splits
every branch into its two outcomes, a reset splits it and maps the ``1`` part back to
``|0>`` (the record is unchanged), a classically controlled instruction acts on the
branches whose record satisfies its condition. Branches with the same record and the
same state (up to a global phase) merge; branches below ``1e-14`` are dropped and their
probability is kept in :attr:`Branches.dropped`. Terminal measurements (see
:mod:`qtandem.circuit.terminal`) never branch: they are read from each branch's final
probabilities. This is how Qiskit Aer computes exact probabilities of such circuits.

Sampling walks the same branches with shot counts instead of probabilities: a
measurement splits a branch's shots binomially between its outcomes, so the cost grows
with the number of distinct branches, not with the number of shots.

Examples:
    >>> from qtandem import Circuit
    >>> teleport = (Circuit(3, 3).ry(0.6, 0).h(1).cx(1, 2).cx(0, 1).h(0).measure([0, 1], [0, 1])
    ...             .append("x", [2], condition=((1,), 1)).append("z", [2], condition=((0,), 1)).measure(2, 2))
    >>> dist = distribution(teleport)
    >>> round(sum(p for key, p in dist.items() if key[0] == "1"), 6)   # bit 2 = ry(0.6)|0> measured
    0.087332
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from qtandem import hooks
from qtandem.circuit.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import ResourceError, SimulationError
from qtandem.random import Seed, as_generator
from qtandem.sim.core import (
    ParamSpec,
    _native_available,
    _run_native,
    _wants_grad,
    apply_fused,
    apply_instruction,
    is_batched,
    resolve_params,
)
from qtandem.sim.memory import available_bytes, check_memory, format_bytes, state_bytes

__all__ = ["DROP_TOLERANCE", "Branches", "branch", "distribution", "format_record", "measured_circuit",
           "records_from_probabilities"]

Tensor = torch.Tensor

DROP_TOLERANCE = 1e-14
"""Branches (and final outcomes) less likely than this are dropped into :attr:`Branches.dropped`."""

_MERGE_TOL = 1e-10  # 1 - |<a|b>| / (|a| |b|) below this: the same state
_NATIVE_ROWS_FROM = 12  # branches of this many qubits or more run row by row on the native kernels


def _norms2(states: Tensor) -> Tensor:
    """Each row's squared norm, from the real view (complex ``abs`` computes square roots: slow)."""
    return torch.linalg.vector_norm(torch.view_as_real(states).reshape(states.shape[0], -1), dim=1) ** 2


@dataclass
class Branches:
    """The branches of a circuit after its last non-terminal instruction.

    Attributes:
        states: ``(B, 2**n)`` state vectors; exact mode: unnormalised, squared norm =
            the branch's probability; sampling mode: normalised.
        records: the classical record of each branch (classical bit ``c`` = bit ``c``).
        shots: sampling mode: ``(B,)`` shots per branch; ``None`` in exact mode.
        dropped: total probability of the branches dropped below :data:`DROP_TOLERANCE`.
        pairs: the terminal ``(qubit, clbit)`` measurements still to read from ``states``.
        n_clbits: width of the classical register.

    Examples:
        >>> from qtandem import Circuit
        >>> b = branch(Circuit(1, 2).h(0).measure(0, 0).h(0).measure(0, 1))
        >>> len(b.records), sorted(b.records), b.pairs
        (2, [0, 1], ((0, 1),))
    """

    states: Tensor
    records: list[int]
    shots: np.ndarray | None
    dropped: float
    pairs: tuple[tuple[int, int], ...]
    n_clbits: int

    def weights(self) -> np.ndarray:
        """``(B,)`` float64 squared norms of the branches."""
        return _norms2(self.states.detach()).to(torch.float64).cpu().numpy()


def measured_circuit(circuit: Circuit) -> Circuit:
    """``circuit`` itself, or, if it measures nothing, ``circuit`` with qubit ``i`` measured into bit ``i``.

    The classical register then has ``max(n_clbits, n_qubits)`` bits, as :func:`qtandem.sample` reports.

    Examples:
        >>> from qtandem import Circuit
        >>> measured_circuit(Circuit(2).h(0)).count_ops()
        {'h': 1, 'measure': 2}
    """
    if terminal_measurements(circuit).any_measure:
        return circuit
    full = Circuit(circuit.n_qubits, max(circuit.n_clbits, circuit.n_qubits)).compose(
        circuit, clbits=range(circuit.n_clbits))
    return full.measure(range(circuit.n_qubits), range(circuit.n_qubits))


def format_record(record: int, width: int) -> str:
    """A classical record as :attr:`qtandem.SampleResult.counts` writes it: bit 0 rightmost.

    Examples:
        >>> format_record(6, 4), format_record(0, 0)
        ('0110', '')
    """
    return format(record, f"0{width}b") if width else ""


# ---------------------------------------------------------------------------
# the walk


class _Walk:
    """Mutable branch set during a walk (exact: ``shots is None``; sampling: shot counts)."""

    def __init__(self, n: int, n_clbits: int, dtype: torch.dtype, device: Any, spec: ParamSpec, grad: bool,
                 rng: np.random.Generator | None, shots: int | None, tol: float, max_bytes: int, what: str) -> None:
        self.n, self.n_clbits, self.spec, self.grad, self.rng, self.tol = n, n_clbits, spec, grad, rng, tol
        self.max_bytes, self.what = max_bytes, what
        self.per_state = state_bytes(n, dtype)
        check_memory(self.per_state * 2, f"statevector of {n} qubits ({str(dtype).replace('torch.', '')})", device)
        self.states = torch.zeros(1, 2**n, dtype=dtype, device=device)
        self.states[0, 0] = 1
        self.records = [0]
        self.shots = None if shots is None else np.array([shots], dtype=np.int64)
        self.dropped = 0.0
        self.native = (not grad and self.states.device.type == "cpu" and _native_available())

    # -- gates -------------------------------------------------------------
    def gates(self, segment: list[Instruction], rows: np.ndarray | None = None) -> None:
        if not segment:
            return
        count = self.states.shape[0] if rows is None else len(rows)
        if self.native and (count == 1 or self.n >= _NATIVE_ROWS_FROM):
            # the kernels run in place on each (contiguous) row: no copy of the branch set
            for i in (range(count) if rows is None else rows.tolist()):
                row = self.states[i:i + 1]
                out = _run_native(row, segment, self.spec, self.n)
                if out.data_ptr() != row.data_ptr():  # an op too wide for the kernels went through torch
                    row.copy_(out)
            return
        # index_select / index_copy: advanced indexing of complex tensors costs ~15 ms per call (torch 2.13)
        idx = None if rows is None else torch.as_tensor(rows, dtype=torch.long, device=self.states.device)
        states = self.states if idx is None else self.states.index_select(0, idx)
        if len(segment) == 1:
            states = apply_instruction(states, segment[0], self.spec, self.n)
        else:
            states = apply_fused(states, segment, self.spec, self.n)
        self.states = states if idx is None else self.states.index_copy(0, idx, states)

    # -- measurement and reset ---------------------------------------------
    def split(self, q: int, c: int | None, rows: np.ndarray | None, *, merge: bool = True) -> np.ndarray:
        """Measure qubit ``q`` (into bit ``c``; ``None``: a reset) on ``rows`` (``None``: every branch).

        Returns the rows that came from ``rows`` (the branches are renumbered).
        """
        b = self.states.shape[0]
        sel = np.arange(b) if rows is None else rows
        view = self.states.reshape(b, 2 ** (self.n - 1 - q), 2, 2**q)
        vr = torch.view_as_real(view.detach())  # (B, hi, 2, lo, re/im): no complex abs (slow) nor copy
        p = torch.stack([torch.linalg.vector_norm(vr.select(2, o), dim=(1, 2, 3)) ** 2 for o in (0, 1)],
                        dim=1).to(torch.float64).cpu().numpy()  # (B, 2)
        keep_idx: list[int] = []
        keep_out: list[int] = []
        keep_shots: list[int] = []
        selected = np.zeros(b, dtype=bool)
        selected[sel] = True
        for i in range(b):
            if not selected[i]:
                keep_idx.append(i)
                keep_out.append(-1)
                if self.shots is not None:
                    keep_shots.append(int(self.shots[i]))
                continue
            if self.shots is None:
                for o in (0, 1):
                    if p[i, o] < self.tol:
                        self.dropped += float(p[i, o])
                    else:
                        keep_idx.append(i)
                        keep_out.append(o)
            else:
                total = p[i, 0] + p[i, 1]
                k1 = int(self.rng.binomial(int(self.shots[i]), min(max(p[i, 1] / total, 0.0), 1.0)))  # type: ignore[union-attr]
                for o, k in ((0, int(self.shots[i]) - k1), (1, k1)):
                    if k:
                        keep_idx.append(i)
                        keep_out.append(o)
                        keep_shots.append(k)
        self._check_size(len(keep_idx))
        if self.grad:
            self._project_functional(view, keep_idx, keep_out, c)
        else:
            self._project_in_place(p, keep_idx, keep_out, q, c)
        old = self.records
        if c is None:
            self.records = [old[i] for i in keep_idx]
        else:
            bit = 1 << c
            self.records = [old[i] if o < 0 else (old[i] & ~bit) | (o * bit)
                            for i, o in zip(keep_idx, keep_out, strict=True)]
        if self.shots is not None:
            self.shots = np.array(keep_shots, dtype=np.int64)
        if merge:
            self.merge()
        return np.array([j for j, o in enumerate(keep_out) if o >= 0], dtype=np.int64)

    def _project_functional(self, view: Tensor, keep_idx: list[int], keep_out: list[int], c: int | None) -> None:
        """Collapse (or reset) the kept rows out of place: differentiable (the gradient paths)."""
        idx = torch.as_tensor(keep_idx, dtype=torch.long, device=self.states.device)
        out = torch.as_tensor(keep_out, dtype=torch.long, device=self.states.device)
        new = view.index_select(0, idx)
        measured = out >= 0
        if bool(measured.any()):
            zero = torch.zeros_like(new[:, :, 0, :])
            one = out.view(-1, 1, 1) == 1
            zero_part = torch.where(one, zero, new[:, :, 0, :])
            one_part = torch.where(one, new[:, :, 1, :], zero)
            unmeasured = (~measured).view(-1, 1, 1)
            if c is None:  # reset: the 1 part moves to |0>
                lo = torch.where(unmeasured, new[:, :, 0, :], zero_part + one_part)
                hi = torch.where(unmeasured, new[:, :, 1, :], zero)
            else:
                lo = torch.where(unmeasured, new[:, :, 0, :], zero_part)
                hi = torch.where(unmeasured, new[:, :, 1, :], one_part)
            new = torch.stack([lo, hi], dim=2)
        self.states = new.reshape(len(keep_idx), -1)
        if self.shots is not None:
            norms = (self.states.abs() ** 2).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-300)
            self.states = self.states / norms

    def _project_in_place(self, p: np.ndarray, keep_idx: list[int], keep_out: list[int], q: int,
                          c: int | None) -> None:
        """Collapse (or reset) the kept rows in place: one copy only when rows are duplicated or dropped.

        Large states (21 qubits: 32 MiB a row) made the out-of-place version's half a dozen full-size
        temporaries per measurement the whole cost of sampling; this touches each row once.
        """
        b = self.states.shape[0]
        if keep_idx != list(range(b)):
            idx = torch.as_tensor(keep_idx, dtype=torch.long, device=self.states.device)
            self.states = self.states.index_select(0, idx)
        view = self.states.view(len(keep_idx), 2 ** (self.n - 1 - q), 2, 2**q)
        for j, (i, o) in enumerate(zip(keep_idx, keep_out, strict=True)):
            if o < 0:
                continue
            row = view[j]
            if c is None:  # reset: the kept outcome's amplitudes move to |0>
                if o == 1:
                    row[:, 0, :].copy_(row[:, 1, :])
                row[:, 1, :].zero_()
            else:
                row[:, 1 - o, :].zero_()
            if self.shots is not None:  # sampling keeps every row normalised
                row.mul_(1.0 / math.sqrt(max(float(p[i, o]), 1e-300)))

    def _check_size(self, b: int) -> None:
        need = b * self.per_state * 3
        if need > self.max_bytes:
            raise ResourceError(
                f"{self.what}: {b} branches of {self.n} qubits (2^{self.n} amplitudes x "
                f"{self.per_state >> self.n} B each) need {format_bytes(need)}, {format_bytes(self.max_bytes)} "
                "available; sample it with qtandem.sample() instead, or measure fewer qubits mid-circuit")

    def merge(self) -> None:
        """Merge branches with the same record and the same state up to a global phase."""
        groups: dict[int, list[int]] = {}
        for i, r in enumerate(self.records):
            groups.setdefault(r, []).append(i)
        if len(groups) == len(self.records):
            return
        states = self.states
        weights = _norms2(states.detach()).to(torch.float64).cpu().numpy()
        absorbed: dict[int, list[int]] = {}
        gone: set[int] = set()
        for members in groups.values():
            if len(members) < 2:
                continue
            rows = states.detach()
            norm = np.sqrt(np.maximum(weights[members], 1e-300))
            if len(members) <= 8 and self.per_state >= 1 << 20:  # few large states: vdot on row views, no copy
                gram = np.zeros((len(members), len(members)))
                for a in range(len(members)):
                    for bb in range(a + 1, len(members)):
                        gram[a, bb] = gram[bb, a] = abs(complex(torch.vdot(rows[members[a]], rows[members[bb]])))
            else:  # many small states: one matrix product
                sub = rows.index_select(0, torch.as_tensor(members, dtype=torch.long, device=states.device))
                gram = (sub.conj() @ sub.T).abs().to(torch.float64).cpu().numpy()
            overlap = gram / np.outer(norm, norm)
            for a in range(len(members)):
                if members[a] in gone:
                    continue
                for bb in range(a + 1, len(members)):
                    if members[bb] not in gone and overlap[a, bb] > 1 - _MERGE_TOL:
                        absorbed.setdefault(members[a], []).append(members[bb])
                        gone.add(members[bb])
        if not gone:
            return
        keep = [i for i in range(len(self.records)) if i not in gone]
        scale = torch.ones(len(self.records), dtype=torch.float64)
        for i, others in absorbed.items():
            if self.shots is None:
                scale[i] = math.sqrt((weights[i] + sum(weights[j] for j in others)) / weights[i])
            else:
                self.shots[i] += sum(int(self.shots[j]) for j in others)
        idx = torch.as_tensor(keep, dtype=torch.long, device=states.device)
        factor = scale.to(device=states.device, dtype=states.real.dtype)[idx].unsqueeze(1)
        self.states = states.index_select(0, idx) * factor
        self.records = [self.records[i] for i in keep]
        if self.shots is not None:
            self.shots = self.shots[keep]

    def rows_where(self, condition: tuple[tuple[int, ...], int]) -> np.ndarray:
        bits, value = condition
        out = []
        for i, r in enumerate(self.records):
            reg = 0
            for j, c in enumerate(bits):
                reg |= ((r >> c) & 1) << j
            if reg == value:
                out.append(i)
        return np.array(out, dtype=np.int64)


def _walk(circuit: Circuit, spec: ParamSpec, *, dtype: torch.dtype, device: Any, grad: bool,
          rng: np.random.Generator | None, shots: int | None, tol: float, what: str,
          step: Callable[[int], None] | None = None) -> Branches:
    layout = terminal_measurements(circuit)
    n = circuit.n_qubits
    w = _Walk(n, circuit.n_clbits, dtype, device, spec, grad, rng, shots, tol, available_bytes(device), what)
    segment: list[Instruction] = []
    for idx, inst in enumerate(circuit):
        if inst.name in ("barrier", "delay") or idx in layout.indices:
            continue
        if inst.condition is None and inst.is_gate:
            segment.append(inst)
            continue
        w.gates(segment)
        if step is not None:
            step(len(segment) + 1)
        segment = []
        rows: np.ndarray | None = None
        if inst.condition is not None:
            rows = w.rows_where(inst.condition)
            if rows.size == 0:
                continue
            if rows.size == len(w.records):
                rows = None
        if inst.is_gate:
            w.gates([inst.replace(condition=None)], rows)
        elif inst.name in ("measure", "reset"):
            clbits: Sequence[int | None] = inst.clbits if inst.name == "measure" else [None] * len(inst.qubits)
            for j, (q, c) in enumerate(zip(inst.qubits, clbits, strict=True)):
                last = j == len(inst.qubits) - 1
                picked = w.split(q, c, rows, merge=last or rows is None)
                rows = None if rows is None else picked  # the condition was read once, before the instruction
        else:  # pragma: no cover - the IR has no other non-gate instruction
            raise SimulationError(f"cannot simulate instruction {inst.label!r}")
    w.gates(segment)
    if step is not None:
        step(len(segment))
    return Branches(w.states, w.records, w.shots, w.dropped, layout.pairs, circuit.n_clbits)


def branch(circuit: Circuit, params: Any = None, *, dtype: torch.dtype = torch.complex128,
           device: torch.device | str | None = None, shots: int | None = None, seed: Seed = None,
           tol: float = DROP_TOLERANCE, step: Callable[[int], None] | None = None) -> Branches:
    """Run ``circuit`` over all branches of its non-terminal measurements, resets and conditions.

    Args:
        circuit: the circuit.
        params: parameter values (unbatched).
        dtype: simulation dtype.
        device: torch device.
        shots: ``None`` for exact branches; a shot count to split shots between outcomes.
        seed: seed of the shot splits (sampling mode).
        tol: branches less likely than this are dropped (exact mode).
        step: called with the number of instructions done, as the walk goes (progress bars).

    Returns:
        The :class:`Branches`.

    Raises:
        ResourceError: the branches do not fit in memory (says how many and how much).

    Examples:
        >>> from qtandem import Circuit
        >>> b = branch(Circuit(1, 1).reset(0).h(0).measure(0, 0))   # the reset of |0> does not branch
        >>> len(b.records), b.dropped
        (1, 0.0)
    """
    spec = resolve_params(circuit, params, dtype=dtype, device=device)
    if spec.batch is not None:
        raise SimulationError("branch() takes unbatched params; loop over parameter sets")
    if spec.values is not None and device is None:
        device = spec.values.device
    what = "sampling" if shots is not None else "exact distribution"
    return _walk(circuit, spec, dtype=dtype, device=device, grad=_wants_grad(spec, None),
                 rng=as_generator(seed) if shots is not None else None, shots=shots, tol=tol,
                 what=f"{what} of a circuit with mid-circuit measurement", step=step)


# ---------------------------------------------------------------------------
# reading the branches


def _marginal(probs: Tensor, qubits: Sequence[int], n: int) -> Tensor:
    """``(B, 2**n)`` -> ``(B, 2**k)`` marginal on ``qubits`` (``qubits[j]`` = bit ``j`` of the index)."""
    b = probs.shape[0]
    if list(qubits) == list(range(n)):
        return probs
    t = probs.reshape((b,) + (2,) * n)
    keep_axes = [1 + n - 1 - q for q in qubits]
    drop = [a for a in range(1, n + 1) if a not in keep_axes]
    t = t.sum(dim=drop) if drop else t
    remaining = sorted(keep_axes)
    order = [remaining.index(a) + 1 for a in reversed(keep_axes)]
    return t.permute(0, *order).reshape(b, -1)


def _terminal_qubits(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """The distinct terminal qubits, in order of first appearance."""
    return list(dict.fromkeys(q for q, _ in pairs))


def _terminal_maps(pairs: Sequence[tuple[int, int]], n_clbits: int) -> tuple[list[int], int, Any]:
    """Terminal qubits, the record bits they overwrite, and each outcome's bits (int64 array up to 62 bits)."""
    qubits = _terminal_qubits(pairs)
    pos = {q: j for j, q in enumerate(qubits)}
    clear = 0
    for _, c in pairs:
        clear |= 1 << c
    if n_clbits <= 62:
        t = np.arange(2 ** len(qubits), dtype=np.int64)
        values: np.ndarray = np.zeros_like(t)
        for q, c in pairs:  # a later pair writing the same bit wins
            values = (values & ~np.int64(1 << c)) | (((t >> pos[q]) & 1) << c)
        return qubits, clear, values
    out = []
    for outcome in range(2 ** len(qubits)):
        v = 0
        for q, c in pairs:
            v = (v & ~(1 << c)) | (((outcome >> pos[q]) & 1) << c)
        out.append(v)
    return qubits, clear, out


def records_from_probabilities(probs: np.ndarray, records: Sequence[int], pairs: Sequence[tuple[int, int]],
                               n_clbits: int, tol: float = DROP_TOLERANCE) -> tuple[dict[int, float], float]:
    """``{record: probability}`` from each branch's final probabilities over the qubits.

    Args:
        probs: ``(B, 2**n)`` float probabilities of every qubit, one row per branch (unnormalised:
            a row sums to its branch's probability).
        records: each branch's classical record.
        pairs: the terminal ``(qubit, clbit)`` measurements, in circuit order (a later one wins).
        n_clbits: width of the classical register.
        tol: outcomes less likely than this are left out.

    Returns:
        The distribution (sorted by record) and the probability left out.

    Examples:
        >>> import numpy as np
        >>> records_from_probabilities(np.array([[0.25, 0.25], [0.5, 0.0]]), [0, 2], [(0, 0)], 2)
        ({0: 0.25, 1: 0.25, 2: 0.5}, 0.0)
    """
    n = probs.shape[1].bit_length() - 1
    qubits, clear, values = _terminal_maps(pairs, n_clbits)
    marg = _marginal(torch.as_tensor(probs, dtype=torch.float64), qubits, n).numpy()
    out: dict[int, float] = {}
    dropped = 0.0
    small = n_clbits <= 62
    for b, r in enumerate(records):
        row = marg[b]
        nz = np.nonzero(row >= tol)[0]
        dropped += float(row.sum() - row[nz].sum())
        if small:
            keys = (r & ~clear) | values[nz]
            for k, p in zip(keys.tolist(), row[nz].tolist(), strict=True):
                out[k] = out.get(k, 0.0) + p
        else:
            base = r & ~clear
            for t in nz.tolist():
                k = base | values[t]
                out[k] = out.get(k, 0.0) + float(row[t])
    return dict(sorted(out.items())), dropped


def record_probabilities(br: Branches, tol: float = DROP_TOLERANCE) -> tuple[dict[int, float], float]:
    """Exact ``{record: probability}`` of the classical register, and the dropped remainder."""
    probs = (br.states.detach().abs() ** 2).to(torch.float64).cpu().numpy()
    out, dropped = records_from_probabilities(probs, br.records, br.pairs, br.n_clbits, tol)
    return out, dropped + br.dropped


def sample_records(br: Branches, rng: np.random.Generator) -> np.ndarray:
    """``(shots, n_clbits)`` uint8 shots from sampling-mode branches, in random order."""
    assert br.shots is not None
    n = br.states.shape[1].bit_length() - 1
    qubits = _terminal_qubits(br.pairs)
    pos = {q: j for j, q in enumerate(qubits)}
    probs = _marginal((br.states.detach().abs() ** 2).to(torch.float64), qubits, n).cpu().numpy()
    total = int(br.shots.sum())
    bits = np.zeros((total, br.n_clbits), dtype=np.uint8)
    start = 0
    for b, (r, k) in enumerate(zip(br.records, br.shots.tolist(), strict=True)):
        rows = bits[start:start + k]
        for c in range(min(br.n_clbits, r.bit_length())):
            if (r >> c) & 1:
                rows[:, c] = 1
        if br.pairs:
            p = probs[b] / probs[b].sum()
            idx = rng.choice(p.shape[0], size=k, p=p)
            for q, c in br.pairs:
                rows[:, c] = (idx >> pos[q]) & 1
        start += k
    return bits[rng.permutation(total)]


def qubit_probabilities(br: Branches) -> Tensor:
    """``(2**n,)`` final qubit distribution, summed over the branches (differentiable on the torch path)."""
    probs = br.states.real ** 2 + br.states.imag ** 2
    if br.shots is not None:
        w = torch.as_tensor(br.shots / br.shots.sum(), dtype=probs.dtype, device=probs.device)
        return (probs * w.unsqueeze(1)).sum(dim=0)
    return probs.sum(dim=0)


def distribution(
    circuit: Circuit,
    params: Any = None,
    *,
    noise: Any = None,
    qubits: bool = False,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Exact probabilities of the classical register's outcomes, as the program defines it.

    Mid-circuit measurement, reset and classically controlled gates are simulated
    exactly by branching over outcomes (module docstring). Keys are written as
    :attr:`qtandem.SampleResult.counts` writes them (classical bit 0 rightmost), so
    exact and sampled results compare key by key. A circuit that measures nothing is
    read as :func:`qtandem.sample` reads it: qubit ``i`` into classical bit ``i``.
    Outcomes less likely than ``1e-14`` are left out. When the branches do not fit in
    memory, one density matrix per classical record is used instead where that fits.

    Args:
        circuit: the circuit.
        params: parameter values (unbatched).
        noise: a :class:`qtandem.noise.NoiseModel` or a :class:`qtandem.device.Device` (its
            noise model): the distribution then comes from one density matrix per classical
            record, readout errors included (a mid-circuit one flips the bit later gates read).
        qubits: return the final distribution of the qubits instead (keys: qubit 0
            rightmost), summed over the branches.
        dtype: simulation dtype.
        device: torch device.

    Returns:
        ``{bitstring: probability}``, sorted by bitstring, zero entries left out.

    Raises:
        ResourceError: the state or the branches do not fit in memory (says how much they need).
        SimulationError: batched ``params``.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2, 2).h(0).measure(0, 0).reset(0).append("x", [0], condition=((0,), 1)).measure(0, 1)
        >>> {k: round(v, 6) for k, v in distribution(c).items()}    # bit 1 copies bit 0 through the reset
        {'00': 0.5, '11': 0.5}
        >>> {k: round(v, 6) for k, v in distribution(c, qubits=True).items()}
        {'00': 0.5, '01': 0.5}
    """
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"distribution() needs a qtandem Circuit, got {type(circuit).__name__}")
    if is_batched(circuit, params):
        raise SimulationError("distribution() takes unbatched params; loop over parameter sets")
    target = circuit if qubits else measured_circuit(circuit)
    if noise is not None:
        from qtandem.sim.sampling import as_noisy_simulation

        sim = as_noisy_simulation(noise)
        record_distribution = getattr(sim, "record_distribution", None)
        if record_distribution is None:
            raise SimulationError(f"{type(noise).__name__} cannot compute exact distributions")
        probs: dict[int, float] = record_distribution(target, params, qubits=qubits, dtype=dtype, device=device)
        width = target.n_qubits if qubits else target.n_clbits
        return {format_record(k, width): v for k, v in sorted(probs.items()) if v >= DROP_TOLERANCE}
    with torch.no_grad():
        try:
            br = branch(target, params, dtype=dtype, device=device)
        except ResourceError as err:
            # too many branches: one density matrix per classical record may be smaller (registered by
            # the top-level package: the noise layer sits above this one)
            try:
                probs = hooks.lookup("record_distribution")(target, params, qubits=qubits, dtype=dtype,
                                                            device=device)
            except ResourceError:
                raise err from None
            width = target.n_qubits if qubits else target.n_clbits
            return {format_record(k, width): v for k, v in sorted(probs.items()) if v >= DROP_TOLERANCE}
    if qubits:
        p = qubit_probabilities(br).to(torch.float64).cpu().numpy()
        nz = np.nonzero(p >= DROP_TOLERANCE)[0]
        return {format_record(int(i), target.n_qubits): float(p[i]) for i in nz}
    rec, _ = record_probabilities(br)
    return {format_record(k, target.n_clbits): v for k, v in rec.items()}
