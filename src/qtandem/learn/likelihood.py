"""The likelihood of shot data under a device with tensor-valued calibration numbers.

:class:`LikelihoodModel` turns a vector ``theta`` of calibration numbers (named as the
:class:`~qtandem.device.Device` fields: ``q0.t1``, ``e0-1.zz``...) into the outcome
probabilities of characterization circuits, differentiably. The numbers go into a
copy of the base device and through :meth:`Device.noise_model` (gate errors, readout
errors); idle intervals (``delay`` instructions and implicit waits) get relaxation,
the detuning phase and the ZZ phase of the contract (``NoiseModel.add_idle``/``add_zz``).

Speed comes from three things, none of which changes the numbers:

* each circuit is simulated on its *active* qubits only (those it touches);
* every distinct step (a gate with its noise, an idle interval) becomes one
  superoperator per evaluation, shared by all circuits, and runs of a repeated block
  (``sx`` repeated 100 times) become one matrix power;
* circuits with the same number of active qubits run as one batch of
  matrix-vector products, one step at a time.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> base = Device.preset("line_5")
    >>> lik = LikelihoodModel(["q0.readout_p01", "q0.readout_p10"], base, [0])
    >>> probs = lik.probabilities([Circuit(1, 1).measure(0, 0)], lik.theta0())
    >>> [round(float(p), 4) for p in probs[0]] == [round(1 - base.qubits[0].readout_p01, 4),
    ...                                           round(base.qubits[0].readout_p01, 4)]
    True
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.terminal import terminal_measurements
from qtandem.device import Device
from qtandem.errors import DataError
from qtandem.sim.dense import _index

__all__ = ["EDGE_FIELDS", "QUBIT_FIELDS", "LikelihoodModel", "parse_param"]

Tensor = torch.Tensor
_C = torch.complex128
_R = torch.float64

#: Fitted fields of a qubit (``q{i}.<field>``), as the :class:`~qtandem.device.QubitProperties` fields.
QUBIT_FIELDS = ("t1", "t2", "detuning", "sx_angle_error", "x_angle_error", "gate_error_1q", "readout_p01",
                "readout_p10")
#: Fitted fields of a coupling (``e{a}-{b}.<field>``, ``a < b``), as the :class:`EdgeProperties` fields.
EDGE_FIELDS = ("angle_error", "zz", "error")

_NAME = re.compile(r"^(?:q(\d+)\.(\w+)|e(\d+)-(\d+)\.(\w+))$")


def parse_param(name: str) -> tuple[str, int | tuple[int, int], str]:
    """``("q", qubit, field)`` or ``("e", (a, b), field)`` for a parameter name.

    Raises:
        DataError: a name that is not ``q{i}.<field>`` or ``e{a}-{b}.<field>`` with ``a < b``.

    Examples:
        >>> parse_param("q3.t1"), parse_param("e0-1.zz")
        (('q', 3, 't1'), ('e', (0, 1), 'zz'))
    """
    m = _NAME.match(name)
    if m is None:
        raise DataError(f"parameter {name!r}: expected 'q<i>.<field>' or 'e<a>-<b>.<field>'")
    if m.group(1) is not None:
        if m.group(2) not in QUBIT_FIELDS:
            raise DataError(f"parameter {name!r}: unknown qubit field (known: {', '.join(QUBIT_FIELDS)})")
        return "q", int(m.group(1)), m.group(2)
    a, b = int(m.group(3)), int(m.group(4))
    if a >= b or m.group(5) not in EDGE_FIELDS:
        raise DataError(f"parameter {name!r}: expected e<a>-<b> with a < b and a field in {', '.join(EDGE_FIELDS)}")
    return "e", (a, b), m.group(5)


# -- compiled circuits ---------------------------------------------------------------------------------------
Key = tuple[Any, ...]


@dataclass
class _Program:
    """One circuit on its active qubits: steps ``(key, key_qubits)`` and the readout signature."""

    active: tuple[int, ...]
    steps: list[Key]
    measured: tuple[int, ...]  # global qubit per clbit slot (clbits in ``clbits`` order)
    clbits: tuple[int, ...]
    n_clbits: int


def _compile(circuit: Circuit, durations: Any, partners: Mapping[int, set[int]]) -> _Program:
    """Schedule ``circuit`` as the density-matrix simulator does (ASAP clocks, idle before each instruction)."""
    if not isinstance(circuit, Circuit):
        raise DataError(f"expected a qtandem Circuit, got {type(circuit).__name__}")
    touched = sorted({q for inst in circuit for q in inst.qubits if inst.name != "barrier"})
    inside = set(touched)
    terminal = terminal_measurements(circuit).indices
    clock = dict.fromkeys(touched, 0.0)
    steps: list[Key] = []
    measured: list[int] = []
    clbits: list[int] = []

    def idle(waits: dict[int, float]) -> None:
        """As the simulator: relaxation and detuning of each waiting qubit, then ZZ once per pair."""
        steps.extend(("idle", q, t) for q, t in waits.items() if t > 0)
        done: set[tuple[int, int]] = set()
        for q, t in waits.items():
            if t <= 0:
                continue
            for p in sorted(partners.get(q, ())):
                pair = (min(q, p), max(q, p))
                if p in inside and pair not in done:
                    done.add(pair)
                    steps.append(("zz", pair, max(t, waits.get(p, 0.0))))

    def sync(qubits: Sequence[int]) -> None:
        start = max(clock[q] for q in qubits)
        idle({q: start - clock[q] for q in qubits})
        for q in qubits:
            clock[q] = start

    for idx, inst in enumerate(circuit):
        if inst.condition is not None:
            raise DataError(f"instruction {idx} ({inst.label}): classically controlled gates are not supported "
                            "in characterization circuits")
        if inst.name == "barrier":
            qs = [q for q in inst.qubits if q in inside]
            if qs:
                sync(qs)
            continue
        if not inst.qubits:
            continue
        sync(inst.qubits)
        if inst.name == "delay":
            t = float(inst.params[0])  # nanoseconds, a plain float (contract A)
            idle(dict.fromkeys(inst.qubits, t))
            for q in inst.qubits:
                clock[q] += t
            continue
        if inst.name == "measure":
            if idx not in terminal:
                raise DataError(f"instruction {idx}: a mid-circuit measurement; characterization circuits "
                                "measure only at the end")
            measured.extend(inst.qubits)
            clbits.extend(inst.clbits)
        elif inst.name == "reset":
            raise DataError(f"instruction {idx}: reset is not supported in characterization circuits")
        else:
            if not all(isinstance(p, float) for p in inst.params):
                raise DataError(f"instruction {idx} ({inst.label}): symbolic angles; bind the parameters first")
            if inst.ctrl or inst.inverted or inst.matrix is not None:
                raise DataError(f"instruction {idx} ({inst.label}): only native gates are supported")
            steps.append(("g", inst.name, tuple(float(p) for p in inst.params), inst.qubits))
        end = clock[inst.qubits[0]] + float(durations(inst))
        for q in inst.qubits:
            clock[q] = end
    return _Program(tuple(touched), steps, tuple(measured), tuple(clbits), circuit.n_clbits)


def _key_qubits(key: Key) -> tuple[int, ...]:
    if key[0] == "g":
        return tuple(key[3])
    if key[0] == "idle":
        return (key[1],)
    return tuple(key[1])


def _compress(seq: list[Any], max_period: int = 8, min_cover: int = 4) -> list[Any]:
    """Runs of a repeated block become ``("pow", block, reps)`` (greedy, left to right)."""
    out: list[Any] = []
    i, n = 0, len(seq)
    while i < n:
        best = (1, 1)
        for p in range(1, max_period + 1):
            if i + 2 * p > n:
                break
            block = seq[i:i + p]
            r = 1
            while i + (r + 1) * p <= n and seq[i + r * p:i + (r + 1) * p] == block:
                r += 1
            if r >= 2 and p * r > best[0] * best[1]:
                best = (p, r)
        p, r = best
        if r >= 2 and p * r >= min_cover:
            out.append(("pow", tuple(seq[i:i + p]), r))
            i += p * r
        else:
            out.append(seq[i])
            i += 1
    return out


# -- superoperators ------------------------------------------------------------------------------------------
def _unitary_superop(u: Tensor) -> Tensor:
    return torch.kron(u, u.conj())


@lru_cache(maxsize=256)
def _embed_index(positions: tuple[int, ...], n: int) -> tuple[Tensor, Tensor]:
    sub, rest, _ = _index(n, positions)
    return torch.as_tensor(sub), torch.as_tensor(rest[:, None] == rest[None, :])


def _embed(mat: Tensor, positions: tuple[int, ...], n: int) -> Tensor:
    """``mat`` (``(..., 2**m, 2**m)``) on vec-qubits ``positions`` of ``n`` as a full ``(..., 2**n, 2**n)``
    matrix (differentiable)."""
    if positions == tuple(range(n)):
        return mat
    s, same = _embed_index(positions, n)
    return mat[..., s, :][..., s] * same


def _vec_positions(local: Sequence[int], k: int) -> tuple[int, ...]:
    return tuple(local) + tuple(p + k for p in local)


def _idle_superops(t1: Any, t2: Any, detuning: Any, t: Tensor) -> Tensor:
    """``(len(t), 4, 4)``: thermal relaxation for each time, then ``rz(detuning * t)``.

    The closed form of :func:`qtandem.noise.channels.thermal_relaxation` (populations relax
    with ``exp(-t/T1)``, coherences decay with ``exp(-t/T2)``) followed by the phase, batched
    over the times (a test checks it against the channel). Layout: ``vec(rho)[j + 2 i] = rho[i, j]``.
    """
    a = torch.as_tensor(t1, dtype=_R)
    b = torch.as_tensor(t2, dtype=_R)
    gamma = 1 - torch.exp(-t / a)
    coh = torch.exp(-t / a / 2) * torch.exp(-t / b + t / (2 * a)).clamp(max=1.0)
    phi = torch.as_tensor(detuning, dtype=_R) * t
    out = torch.zeros(len(t), 4, 4, dtype=_C)
    out[:, 0, 0] = 1
    out[:, 0, 3] = gamma.to(_C)
    out[:, 3, 3] = (1 - gamma).to(_C)
    out[:, 1, 1] = coh * torch.exp(-1j * phi)  # rho[0, 1]
    out[:, 2, 2] = coh * torch.exp(1j * phi)   # rho[1, 0]
    return out


def _zz_superops(zeta: Any, t: Tensor) -> Tensor:
    """``(len(t), 16, 16)`` diagonal superoperators of ``rzz(zeta * t / 2)`` on two qubits."""
    s = torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=_R)  # ZZ eigenvalue of basis state i
    idx = torch.arange(16)
    col, row = idx % 4, idx // 4
    phi = torch.as_tensor(zeta, dtype=_R) * t / 2
    diag = torch.exp(-0.5j * phi[:, None] * (s[row] - s[col])[None, :])
    return torch.diag_embed(diag)


class _Chain(torch.autograd.Function):
    """Final states ``M[idx[b, L-1]] ... M[idx[b, 0]] |0..0><0..0|`` of a batch of step sequences.

    The loop runs in NumPy (a few microseconds a step, where a torch op with autograd costs
    tens) and the backward pass is its adjoint: ``lambda <- M^H lambda`` back through the
    steps, accumulating ``grad M += lambda (x) conj(state)``. Not twice differentiable: the
    calibration's Hessian differences these exact gradients.

    Shape:
        stack: ``(S, d, d)`` complex; index: ``(B, L)`` int64 into it (slot 0: identity, the padding after
        a row's last step); active: ``(L,)``, the rows (a prefix: rows sorted longest first) with a
        step ``j``; result: ``(B, d)``.
    """

    @staticmethod
    def forward(ctx: Any, stack: Tensor, index: Tensor, active: np.ndarray) -> Tensor:  # type: ignore[override]
        mats = stack.detach().cpu().numpy()
        idx = index.numpy()
        b, length = idx.shape
        states = np.zeros((length + 1, b, mats.shape[-1]), dtype=np.complex128)
        states[0, :, 0] = 1
        for j in range(length):
            n = active[j]  # rows are sorted longest first: the first n still have a step j
            states[j + 1] = states[j]
            states[j + 1, :n] = np.matmul(mats[idx[:n, j]], states[j, :n, :, None])[:, :, 0]
        ctx.save_for_backward(stack, index)
        ctx.states = states
        ctx.active = active
        return torch.from_numpy(states[-1].copy())

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        stack, index = ctx.saved_tensors
        mats = stack.detach().cpu().numpy()
        adj = np.conj(np.swapaxes(mats, -1, -2))
        idx = index.numpy()
        states, active = ctx.states, ctx.active
        length, b = idx.shape[1], idx.shape[0]
        lams = np.empty((length, b, mats.shape[-1]), dtype=np.complex128)
        lam = grad.detach().cpu().numpy().astype(np.complex128)
        for j in range(length - 1, -1, -1):
            n = active[j]
            lams[j] = lam
            lam = lam.copy()
            lam[:n] = np.matmul(adj[idx[:n, j]], lam[:n, :, None])[:, :, 0]
        # grad M_s = sum over the steps that use slot s of lambda (x) conj(state before the step)
        mask = np.arange(b)[None, :] < np.asarray(active)[:, None]
        slots = idx.T[mask]
        order = np.argsort(slots, kind="stable")
        bounds = np.searchsorted(slots[order], np.arange(mats.shape[0] + 1))
        lam_flat = lams[mask][order]
        st_flat = np.conj(states[:-1][mask])[order]
        out = np.zeros_like(mats)
        for slot in range(mats.shape[0]):
            lo, hi = bounds[slot], bounds[slot + 1]
            if hi > lo:
                out[slot] = lam_flat[lo:hi].T @ st_flat[lo:hi]
        return torch.from_numpy(out).to(stack.dtype), None, None


@dataclass
class _Group:
    k: int
    members: list[int]
    items: list[Any]
    index: Tensor
    active: np.ndarray  # rows that still have a step j (rows sorted longest first)
    readout: dict[tuple[Any, ...], Tensor]


class _Plan:
    """Everything about a list of programs that does not depend on ``theta``."""

    def __init__(self, progs: list[_Program]) -> None:
        self.progs = progs
        keys: dict[Key, None] = {}
        items_per: list[list[Any]] = []
        for prog in progs:
            k = len(prog.active)
            pos = {q: i for i, q in enumerate(prog.active)}
            seq = [(key, tuple(pos[q] for q in _key_qubits(key)), k) for key in prog.steps]
            keys.update(dict.fromkeys(prog.steps))
            items_per.append(_compress(seq))
        self.keys = list(keys)
        plain: dict[Any, None] = {}
        powers: dict[Any, None] = {}
        for items in items_per:
            for it in items:
                if it[0] == "pow":
                    plain.update(dict.fromkeys(it[1]))
                    powers[it] = None
                else:
                    plain[it] = None
        self.embed_groups: dict[tuple[tuple[int, ...], int], list[Any]] = {}
        for it in plain:
            _, local, k = it
            self.embed_groups.setdefault((_vec_positions(local, k), 2 * k), []).append(it)
        self.powers = list(powers)
        by_k: dict[int, list[int]] = {}
        for i, prog in enumerate(progs):
            by_k.setdefault(len(prog.active), []).append(i)
        self.groups: list[_Group] = []
        for k, members in sorted(by_k.items()):
            members = sorted(members, key=lambda i: -len(items_per[i]))  # longest first
            table: dict[Any, int] = {}
            lengths = np.array([len(items_per[i]) for i in members])
            idx = np.zeros((len(members), int(lengths.max())), dtype=np.int64)
            for row, i in enumerate(members):
                for j, it in enumerate(items_per[i]):
                    idx[row, j] = table.setdefault(it, len(table) + 1)  # 0: the identity, after the end
            active = (lengths[None, :] > np.arange(idx.shape[1])[:, None]).sum(axis=1)
            sigs: dict[tuple[Any, ...], list[int]] = {}
            for row, i in enumerate(members):
                p = progs[i]
                sigs.setdefault((p.active, p.measured, p.clbits, p.n_clbits), []).append(row)
            self.groups.append(_Group(k, members, list(table), torch.as_tensor(idx), active,
                                      {s: torch.as_tensor(r) for s, r in sigs.items()}))


class LikelihoodModel:
    """Outcome probabilities and the multinomial NLL of circuits as functions of calibration numbers.

    Args:
        param_names: the fitted parameters (``q{i}.<field>``, ``e{a}-{b}.<field>``), in ``theta`` order.
        base_device: every number not in ``param_names``, plus durations and couplings.
        qubits: the qubits the data covers (checked against the names).

    ``theta`` is always in physical units (a float64 tensor of shape ``(P,)``); the
    fit's unconstrained reparametrisation lives in :mod:`qtandem.learn.calibrate`.

    Raises:
        DataError: an unknown parameter name, a qubit or coupling the base device lacks.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> lik = LikelihoodModel(["q0.t1"], Device.preset("line_5"), [0])
        >>> c = Circuit(1, 1).x(0).measure(0, 0)
        >>> lik.fisher([c], 1000, lik.theta0()).shape
        torch.Size([1, 1])
    """

    def __init__(self, param_names: Sequence[str], base_device: Device, qubits: Sequence[int]) -> None:
        self.param_names = list(param_names)
        self.base = base_device
        self.qubits = tuple(int(q) for q in qubits)
        self._parsed = [parse_param(n) for n in self.param_names]
        for name, (kind, where, _) in zip(self.param_names, self._parsed, strict=True):
            if kind == "q" and not 0 <= int(where) < base_device.num_qubits:  # type: ignore[arg-type]
                raise DataError(f"parameter {name!r}: device {base_device.name!r} has {base_device.num_qubits} qubits")
            if kind == "e" and where not in base_device.edges:
                raise DataError(f"parameter {name!r}: device {base_device.name!r} has no coupling {where}")
        self._partners: dict[int, set[int]] = {}
        for a, b in base_device.edges:
            self._partners.setdefault(a, set()).add(b)
            self._partners.setdefault(b, set()).add(a)
        self._durations: dict[tuple[int, ...], Any] = {}
        self._programs: dict[int, tuple[Circuit, _Program]] = {}
        self._plans: dict[tuple[int, ...], _Plan] = {}

    # -- parameters --------------------------------------------------------------
    def theta0(self) -> Tensor:
        """The base device's values of the parameters, ``(P,)`` float64.

        Examples:
            >>> from qtandem.device import Device
            >>> LikelihoodModel(["q0.t1"], Device.preset("line_5"), [0]).theta0().dtype
            torch.float64
        """
        vals = []
        for kind, where, field in self._parsed:
            obj = self.base.qubits[where] if kind == "q" else self.base.edges[where]  # type: ignore[index]
            vals.append(float(getattr(obj, field, 0.0)))
        return torch.tensor(vals, dtype=_R)

    def encode(self, values: Mapping[str, float]) -> Tensor:
        """``theta`` from a ``{name: value}`` dict (names missing from it take the base device's value).

        Examples:
            >>> from qtandem.device import Device
            >>> LikelihoodModel(["q0.t1"], Device.preset("line_5"), [0]).encode({"q0.t1": 7e4}).tolist()
            [70000.0]
        """
        base = self.theta0()
        return torch.tensor([float(values.get(n, float(base[i]))) for i, n in enumerate(self.param_names)],
                            dtype=_R)

    def device(self, theta: Tensor | Sequence[float]) -> Device:
        """A copy of the base device whose fitted numbers are the entries of ``theta`` (tensors kept).

        Examples:
            >>> import torch
            >>> from qtandem.device import Device
            >>> lik = LikelihoodModel(["q1.t1"], Device.preset("line_5"), [1])
            >>> float(lik.device(torch.tensor([5e4])).qubits[1].t1)
            50000.0
        """
        th = theta if isinstance(theta, Tensor) else torch.tensor(list(theta), dtype=_R)
        dev = copy.copy(self.base)
        dev.qubits = list(self.base.qubits)
        dev.edges = dict(self.base.edges)
        for i, (kind, where, field) in enumerate(self._parsed):
            if kind == "q":
                q = int(where)  # type: ignore[arg-type]
                if dev.qubits[q] is self.base.qubits[q]:
                    dev.qubits[q] = copy.copy(self.base.qubits[q])
                setattr(dev.qubits[q], field, th[i])
            else:
                e = where  # type: ignore[assignment]
                if dev.edges[e] is self.base.edges[e]:  # type: ignore[index]
                    dev.edges[e] = copy.copy(self.base.edges[e])  # type: ignore[index]
                setattr(dev.edges[e], field, th[i])  # type: ignore[index]
        fitted = {(int(w), f) for k, w, f in self._parsed if k == "q"}  # type: ignore[arg-type]
        for q, f in fitted:
            if f == "t1" and (q, "t2") not in fitted:
                # an unfitted T2 (from the prior) stays <= 2 T1 as the fitted T1 moves: without this a fit of
                # T1 below T2_prior / 2 raised in thermal_relaxation and the optimizer stopped at its start
                props = dev.qubits[q]
                t1 = torch.as_tensor(props.t1, dtype=_R)
                props.t2 = torch.minimum(torch.as_tensor(float(self.base.qubits[q].t2), dtype=_R),  # type: ignore[assignment]
                                         2 * t1)
        return dev

    # -- compiled circuits ---------------------------------------------------------
    def _program(self, circuit: Circuit) -> _Program:
        hit = self._programs.get(id(circuit))
        if hit is not None and hit[0] is circuit:
            return hit[1]
        active = tuple(sorted({q for inst in circuit for q in inst.qubits if inst.name != "barrier"}))
        durations = self._durations.get(active)
        if durations is None:  # as the simulator executor: the device cut to the active qubits times them
            sub = self.base.subset(list(active)) if active and max(active) < self.base.num_qubits else self.base
            durations = self._durations[active] = sub.noise_model(strict=False).duration
        prog = _compile(circuit, durations, self._partners)
        self._programs[id(circuit)] = (circuit, prog)
        return prog

    def _superops(self, keys: Sequence[Key], theta: Tensor) -> tuple[dict[Key, Tensor], Any]:
        dev = self.device(theta)
        model = dev.noise_model(strict=False)
        out: dict[Key, Tensor] = {}
        idle: dict[int, list[Key]] = {}
        zz: dict[tuple[int, int], list[Key]] = {}
        for key in keys:
            if key[0] == "idle":
                idle.setdefault(key[1], []).append(key)
            elif key[0] == "zz":
                zz.setdefault(key[1], []).append(key)
            else:
                qs = _key_qubits(key)
                m = len(qs)
                s = _unitary_superop(gate_matrix(key[1], list(key[2])))
                for channel, cq in model.errors_after(Instruction(key[1], qs, key[2])):
                    local = [qs.index(q) for q in cq]
                    s = _embed(channel.superop(), _vec_positions(local, m), 2 * m) @ s
                out[key] = s
        for q, ks in idle.items():
            props = dev.qubits[q]
            t = torch.tensor([k[2] for k in ks], dtype=_R)
            for k, s in zip(ks, _idle_superops(props.t1, props.t2, getattr(props, "detuning", 0.0), t), strict=True):
                out[k] = s
        for pair, ks in zz.items():
            t = torch.tensor([k[2] for k in ks], dtype=_R)
            for k, s in zip(ks, _zz_superops(getattr(dev.edges[pair], "zz", 0.0), t), strict=True):
                out[k] = s
        return out, model

    def probabilities(self, circuits: Sequence[Circuit], theta: Tensor) -> list[Tensor]:
        """Outcome probabilities of each circuit: ``(2**n_clbits,)``, index = the classical record
        (clbit 0 least significant, as the counts' bitstrings read right to left).

        Shape:
            theta: ``(P,)``; each result: ``(2**circuit.n_clbits,)`` float64.

        Examples:
            >>> import torch
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> lik = LikelihoodModel(["q0.t1", "q0.t2"], Device.preset("line_5"), [0])
            >>> c = Circuit(1, 1).x(0).delay(1000.0, 0).measure(0, 0)
            >>> p = lik.probabilities([c], torch.tensor([1e3, 1e3], dtype=torch.float64))[0]
            >>> bool(p[0] > 0.3), round(float(p.sum()), 9)
            (True, 1.0)
        """
        progs = [self._program(c) for c in circuits]
        return self._evaluate(progs, theta)

    def _plan(self, progs: Sequence[_Program]) -> _Plan:
        key = tuple(id(p) for p in progs)
        hit = self._plans.get(key)
        if hit is not None and all(a is b for a, b in zip(hit.progs, progs, strict=True)):
            return hit
        plan = _Plan(list(progs))
        if len(self._plans) > 64:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _evaluate(self, progs: Sequence[_Program], theta: Tensor) -> list[Tensor]:
        plan = self._plan(progs)
        sup, model = self._superops(plan.keys, theta)
        embedded: dict[Any, Tensor] = {}
        for (positions, n), items in plan.embed_groups.items():  # one batched embedding per placement
            mats = _embed(torch.stack([sup[it[0]] for it in items]), positions, n)
            for it, m in zip(items, mats, strict=True):
                embedded[it] = m
        for item in plan.powers:
            block = item[1]
            m = embedded[block[0]]
            for sub in block[1:]:
                m = embedded[sub] @ m
            embedded[item] = torch.linalg.matrix_power(m, item[2])
        finals: list[Tensor | None] = [None] * len(progs)
        for group in plan.groups:
            dim = 4**group.k
            stack = torch.stack([torch.eye(dim, dtype=_C), *(embedded[it] for it in group.items)])
            state = _Chain.apply(stack, group.index, group.active)
            diag = torch.arange(2**group.k) * (2**group.k + 1)
            pops = state[:, diag].real
            for sig, rows in group.readout.items():
                out = pops[rows] @ self._readout_matrix(sig, model).T
                for r, o in zip(rows.tolist(), out, strict=True):
                    finals[group.members[r]] = o
        return finals  # type: ignore[return-value]

    def _readout_matrix(self, sig: tuple[Any, ...], model: Any) -> Tensor:
        """``(2**n_clbits, 2**k)``: active-qubit populations -> classical records, readout errors included."""
        active, measured, clbits, n_clbits = sig
        k, nm = len(active), len(measured)
        marg = np.zeros((2**nm, 2**k))
        pos = [active.index(q) for q in measured]
        for i in range(2**k):
            marg[sum(((i >> p) & 1) << j for j, p in enumerate(pos)), i] = 1
        conf = torch.eye(2**nm, dtype=_R)
        for err, qs in model.readout_errors(measured):
            conf = _embed(err.matrix.to(_R), tuple(measured.index(q) for q in qs), nm) @ conf
        scatter = np.zeros((2**n_clbits, 2**nm))
        for s_ in range(2**nm):
            scatter[sum(((s_ >> j) & 1) << c for j, c in enumerate(clbits)), s_] = 1
        return torch.as_tensor(scatter) @ conf @ torch.as_tensor(marg)

    # -- likelihood --------------------------------------------------------------------
    def nll(self, data: Any, theta: Tensor) -> Tensor:
        """Negative multinomial log-likelihood of every count (without the constant multinomial coefficient).

        Args:
            data: a :class:`qtandem.learn.ShotData` (``.plan.circuits`` and ``.counts``), or a
                ``(circuits, counts)`` pair.
            theta: ``(P,)`` physical values.

        Examples:
            >>> import torch
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> lik = LikelihoodModel(["q0.readout_p01"], Device.preset("line_5"), [0])
            >>> c = Circuit(1, 1).measure(0, 0)
            >>> nll = lik.nll(([c], [{"0": 90, "1": 10}]), torch.tensor([0.1], dtype=torch.float64))
            >>> round(float(nll), 3) == round(-(90 * math.log(0.9) + 10 * math.log(0.1)), 3)
            True
        """
        circuits, counts = _circuits_counts(data)
        probs = self.probabilities(circuits, theta)
        total = torch.zeros((), dtype=_R)
        for p, cnt in zip(probs, counts, strict=True):
            n = _count_vector(cnt, p.shape[0])
            mask = n > 0
            total = total - (n[mask] * torch.log(p[mask].clamp_min(1e-300))).sum()
        return total

    def fisher(self, circuits: Sequence[Circuit], shots: int | Sequence[int], theta: Tensor) -> Tensor:
        """Expected Fisher information ``sum_c shots_c J_c^T diag(1/p_c) J_c`` of the circuits at ``theta``.

        Shape:
            result: ``(P, P)`` float64.

        Examples:
            >>> import torch
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> lik = LikelihoodModel(["q0.readout_p01"], Device.preset("line_5"), [0])
            >>> f = lik.fisher([Circuit(1, 1).measure(0, 0)], 100, torch.tensor([0.2], dtype=torch.float64))
            >>> round(float(f[0, 0]), 3)    # 100 / (0.2 * 0.8)
            625.0
        """
        circuits = list(circuits)
        shot_list = [int(shots)] * len(circuits) if isinstance(shots, int) else [int(s) for s in shots]
        th = theta.detach().to(_R)
        sizes = [2**c.n_clbits for c in circuits]

        def flat(t: Tensor) -> Tensor:
            return torch.cat(self.probabilities(circuits, t))

        p = flat(th).detach()
        jac = torch.autograd.functional.jacobian(flat, th)  # (sum sizes, P)
        w = torch.cat([torch.full((s,), float(n), dtype=_R) for s, n in zip(sizes, shot_list, strict=True)])
        w = torch.where(p > 1e-12, w / p.clamp_min(1e-12), torch.zeros_like(p))
        return jac.T @ (w[:, None] * jac)


def _circuits_counts(data: Any) -> tuple[list[Circuit], list[Mapping[str, int]]]:
    if isinstance(data, tuple) and len(data) == 2:
        return list(data[0]), list(data[1])
    circuits = list(data.plan.circuits)
    counts = list(data.counts)
    if len(circuits) != len(counts):
        raise DataError(f"{len(circuits)} circuits but {len(counts)} count dictionaries")
    return circuits, counts


def _count_vector(counts: Mapping[str, int], size: int) -> Tensor:
    out = torch.zeros(size, dtype=_R)
    for bits, n in counts.items():
        key = str(bits).replace(" ", "")
        i = int(key, 2) if key else 0
        if i >= size:
            raise DataError(f"outcome {bits!r} has more bits than the circuit's {int(math.log2(size))} clbits")
        out[i] += float(n)
    return out
