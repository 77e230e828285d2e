"""The likelihood of shot data under a device with tensor-valued calibration numbers.

:class:`LikelihoodModel` turns a vector ``theta`` of calibration numbers (named as the
:class:`~qtandem.device.Device` fields: ``q0.t1``, ``e0-1.zz``...) into the outcome
probabilities of characterization circuits, differentiably. The numbers go into a
copy of the base device and through :meth:`Device.noise_model` (gate errors, readout
errors); idle intervals (``delay`` instructions and implicit waits) get relaxation,
the detuning phase and the ZZ phase of the contract (``NoiseModel.add_idle``/``add_zz``).

Speed comes from these things, none of which changes the numbers (beyond rounding):

* each circuit is simulated on its *active* qubits only (those it touches);
* every distinct step (a gate with its noise, an idle interval) becomes one
  superoperator per evaluation, shared by all circuits (a gate's noise is built once per
  gate and qubits and multiplies all its angles in one batch), and runs of a repeated
  block (``sx`` repeated 100 times) become one matrix power (batched);
* adjacent steps are multiplied pairwise, level by level, each distinct pair once
  (:func:`_fuse`): a randomized-benchmarking sequence of one qubit becomes one
  superoperator per circuit after about ten batched products, a two-qubit one is halved
  while the products stay cheaper than the matrix-vector steps they save;
* circuits with the same number of active qubits run as one batch of
  matrix-vector products, one step at a time, with an adjoint backward pass;
* the NLL is one batched term per readout signature (:meth:`LikelihoodModel.nll_counts`).

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
from dataclasses import field as _field
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


def _fuse(idx: np.ndarray, slots: int, dim: int) -> tuple[list[tuple[Tensor, Tensor]], np.ndarray]:
    """Pairwise products of adjacent steps, level by level, each distinct pair computed once.

    Level ``l`` multiplies the steps at positions ``2i`` and ``2i + 1`` of every row into one new
    slot (``stack[b] @ stack[a]``, ``a`` applied first), shared by every row with that pair, and
    halves the rows' length. A level is taken while its matrix products (``dim**3`` each) cost less
    than the matrix-vector products it saves (``dim**2`` per row and step), counting each step of
    the chain's loop as worth ``64 dim**2``: random sequences (RB) share few long pairs, so
    ``4 x 4`` superoperators fuse to the top and ``16 x 16`` ones a level or two.

    Returns:
        ``[(a, b)]`` per level (new slots are appended in order) and the fused ``(B, L')`` index.
    """
    levels: list[tuple[Tensor, Tensor]] = []
    while idx.shape[1] > 1:
        if idx.shape[1] % 2:
            idx = np.concatenate([idx, np.zeros((idx.shape[0], 1), dtype=idx.dtype)], axis=1)
        a, b = idx[:, 0::2], idx[:, 1::2]
        pair = b != 0  # (a, 0) is a (0: the identity after a row's end)
        codes = a[pair].astype(np.int64) * slots + b[pair]
        uniq, inverse = np.unique(codes, return_inverse=True)
        saved = int(pair.sum())
        if len(uniq) * dim > saved + 64 * (idx.shape[1] // 2):
            break
        nxt = a.copy()
        nxt[pair] = slots + inverse.reshape(-1)
        levels.append((torch.as_tensor(uniq // slots), torch.as_tensor(uniq % slots)))
        slots += len(uniq)
        idx = nxt
    while idx.shape[1] > 1 and not idx[:, -1].any():
        idx = idx[:, :-1]
    return levels, idx


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
    steps, accumulating ``grad M += lambda (x) conj(state)``. Only the rows that take a step
    are stored (a flat array of all steps, step ``j`` at ``offsets[j]``). Not twice
    differentiable: the calibration's Hessian differences these exact gradients.

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
        offsets = np.concatenate([[0], np.cumsum(active)])
        before = np.empty((int(offsets[-1]), mats.shape[-1]), dtype=np.complex128)  # the state each step acts on
        state = np.zeros((b, mats.shape[-1]), dtype=np.complex128)
        state[:, 0] = 1
        for j in range(length):
            n = active[j]  # rows are sorted longest first: the first n still have a step j
            before[offsets[j]:offsets[j + 1]] = state[:n]
            state[:n] = np.matmul(mats[idx[:n, j]], state[:n, :, None])[:, :, 0]
        ctx.save_for_backward(stack, index)
        ctx.before = before
        ctx.offsets = offsets
        ctx.active = active
        return torch.from_numpy(state)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        stack, index = ctx.saved_tensors
        mats = stack.detach().cpu().numpy()
        adj = np.conj(np.swapaxes(mats, -1, -2))
        idx = index.numpy()
        before, offsets, active = ctx.before, ctx.offsets, ctx.active
        after = np.empty_like(before)  # d NLL / d (the state each step produces)
        lam = grad.detach().cpu().numpy().astype(np.complex128)
        for j in range(idx.shape[1] - 1, -1, -1):
            n = active[j]
            after[offsets[j]:offsets[j + 1]] = lam[:n]
            lam[:n] = np.matmul(adj[idx[:n, j]], lam[:n, :, None])[:, :, 0]
        # grad M_s = sum over the steps that use slot s of lambda (x) conj(state before the step)
        slots = np.concatenate([idx[:n, j] for j, n in enumerate(active)])
        order = np.argsort(slots, kind="stable")
        used, starts = np.unique(slots[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        lam_sorted, st_sorted = after[order], np.conj(before[order])
        out = np.zeros_like(mats)
        for slot, lo, hi in zip(used.tolist(), starts.tolist(), ends.tolist(), strict=True):
            out[slot] = lam_sorted[lo:hi].T @ st_sorted[lo:hi]
        return torch.from_numpy(out).to(stack.dtype), None, None


@dataclass
class _Group:
    """The programs with ``k`` active qubits: one chain over the slots of ``4**k x 4**k`` matrices.

    Slot 0 is the identity, then every plain step placed on the ``k`` qubits (``embeds``: per
    placement, the step keys to embed), then the powers of repeated blocks (``blocks``: their
    plain slots, padded with 0; ``reps``), then the fused pairs of :func:`_fuse` (``levels``).
    """

    k: int
    members: list[int]
    embeds: list[tuple[tuple[int, ...], int, int, list[Key]]]  # (vec positions, 2k, m, keys of m qubits)
    blocks: Tensor
    reps: Tensor
    index: Tensor
    active: np.ndarray  # rows that still have a step j (rows sorted longest first)
    readout: dict[tuple[Any, ...], Tensor]
    levels: list[tuple[Tensor, Tensor]] = _field(default_factory=list)  # fused slots: stack[b] @ stack[a]


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
        self._order: dict[int, list[Key]] = {}
        self._rows: dict[tuple[int, int], Tensor] = {}
        by_k: dict[int, list[int]] = {}
        for i, prog in enumerate(progs):
            by_k.setdefault(len(prog.active), []).append(i)
        self.groups: list[_Group] = []
        for k, members in sorted(by_k.items()):
            plain: dict[Any, None] = {}
            powers: dict[Any, None] = {}
            for i in members:
                for it in items_per[i]:
                    if it[0] == "pow":
                        plain.update(dict.fromkeys(it[1]))
                        powers[it] = None
                    else:
                        plain[it] = None
            placements: dict[tuple[int, ...], list[Any]] = {}
            for it in plain:
                placements.setdefault(_vec_positions(it[1], k), []).append(it)
            slot: dict[Any, int] = {}
            embeds = []
            for positions, its in placements.items():
                for it in its:
                    slot[it] = len(slot) + 1  # 0: the identity
                embeds.append((positions, 2 * k, len(its[0][1]), [it[0] for it in its]))
            width = max((len(it[1]) for it in powers), default=1)
            blocks = np.zeros((len(powers), width), dtype=np.int64)
            for r, it in enumerate(powers):
                blocks[r, :len(it[1])] = [slot[sub] for sub in it[1]]
                slot[it] = len(slot) + 1
            members = sorted(members, key=lambda i: -len(items_per[i]))  # longest first
            lengths = np.array([len(items_per[i]) for i in members])
            idx = np.zeros((len(members), int(lengths.max())), dtype=np.int64)
            for row, i in enumerate(members):
                idx[row, :lengths[row]] = [slot[it] for it in items_per[i]]
            sigs: dict[tuple[Any, ...], list[int]] = {}
            for row, i in enumerate(members):
                p = progs[i]
                sigs.setdefault((p.active, p.measured, p.clbits, p.n_clbits), []).append(row)
            levels, idx = _fuse(idx, len(slot) + 1, 4**k)
            active = (idx != 0)[:, ::-1].cumsum(axis=1)[:, ::-1].astype(bool).sum(axis=0)
            self.groups.append(_Group(k, members, embeds, torch.as_tensor(blocks),
                                      torch.as_tensor([it[2] for it in powers], dtype=torch.int64),
                                      torch.as_tensor(idx), active, {s: torch.as_tensor(r) for s, r in sigs.items()},
                                      levels))

    def rows(self, group: int, embed: int, order: dict[int, list[Key]]) -> Tensor:
        """Rows of an embed's keys in the superoperators of their size (``order``: the keys of each size)."""
        if order is not self._order:
            if order != self._order:
                self._rows.clear()
            self._order = order
        hit = self._rows.get((group, embed))
        if hit is None:
            _, _, m, keys = self.groups[group].embeds[embed]
            where = {key: r for r, key in enumerate(order[4**m])}
            hit = self._rows[(group, embed)] = torch.as_tensor([where[key] for key in keys], dtype=torch.int64)
        return hit


def _power(mats: Tensor, reps: Tensor) -> Tensor:
    """``mats[i] ** reps[i]`` for a batch (binary exponentiation, one batched product per bit)."""
    out = torch.eye(mats.shape[-1], dtype=mats.dtype).expand_as(mats)
    base = mats
    bits = int(reps.max()).bit_length() if len(reps) else 0
    for bit in range(bits):
        take = ((reps >> bit) & 1).bool()
        out = torch.where(take[:, None, None], base @ out, out)
        if bit + 1 < bits:
            base = base @ base
    return out


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
        self._ideals: dict[Key, Tensor] = {}

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
        if not isinstance(circuit, Circuit):
            raise DataError(f"expected a qtandem Circuit, got {type(circuit).__name__}")
        active = tuple(sorted({q for inst in circuit for q in inst.qubits if inst.name != "barrier"}))
        if active and active[-1] >= self.base.num_qubits:
            raise DataError(f"a circuit acts on qubit {active[-1]}, but the device {self.base.name!r} has only "
                            f"{self.base.num_qubits} qubit(s): these shots are not from the fitted device's qubits")
        durations = self._durations.get(active)
        if durations is None:  # as the simulator executor: the device cut to the active qubits times them
            sub = self.base.subset(list(active)) if active else self.base
            durations = self._durations[active] = sub.noise_model(strict=False).duration
        prog = _compile(circuit, durations, self._partners)
        self._programs[id(circuit)] = (circuit, prog)
        return prog

    def _ideal(self, key: Key) -> Tensor:
        """The ideal superoperator of a gate step (no parameters in it: cached)."""
        hit = self._ideals.get(key)
        if hit is None:
            hit = self._ideals[key] = _unitary_superop(gate_matrix(key[1], list(key[2])))
        return hit

    def _superops(self, keys: Sequence[Key], theta: Tensor) -> tuple[dict[int, list[Key]], dict[int, Tensor], Any]:
        """The superoperator of every step: per matrix size, the keys in order and their ``(K, d, d)`` stack."""
        dev = self.device(theta)
        model = dev.noise_model(idle=False, strict=False)  # idle steps: _idle_superops, _zz_superops
        idle: dict[int, list[Key]] = {}
        zz: dict[tuple[int, int], list[Key]] = {}
        sites: dict[tuple[str, tuple[int, ...]], list[Key]] = {}
        for key in keys:
            if key[0] == "idle":
                idle.setdefault(key[1], []).append(key)
            elif key[0] == "zz":
                zz.setdefault(key[1], []).append(key)
            else:
                sites.setdefault((key[1], _key_qubits(key)), []).append(key)
        pieces: dict[int, list[tuple[list[Key], Tensor]]] = {}
        for (name, qs), ks in sites.items():  # the errors after a gate depend on its name and qubits only
            m = len(qs)
            err: Tensor | None = None
            for channel, cq in model.errors_after(Instruction(name, qs, ks[0][2])):
                local = [qs.index(q) for q in cq]
                e = _embed(channel.superop(), _vec_positions(local, m), 2 * m)
                err = e if err is None else e @ err
            ideal = torch.stack([self._ideal(k) for k in ks])
            pieces.setdefault(4**m, []).append((ks, ideal if err is None else err @ ideal))
        for q, ks in idle.items():
            props = dev.qubits[q]
            t = torch.tensor([k[2] for k in ks], dtype=_R)
            mats = _idle_superops(props.t1, props.t2, getattr(props, "detuning", 0.0), t)
            pieces.setdefault(4, []).append((ks, mats))
        for pair, ks in zz.items():
            t = torch.tensor([k[2] for k in ks], dtype=_R)
            pieces.setdefault(16, []).append((ks, _zz_superops(getattr(dev.edges[pair], "zz", 0.0), t)))
        order = {d: [k for ks, _ in ps for k in ks] for d, ps in pieces.items()}
        stacks = {d: torch.cat([m for _, m in ps]) if len(ps) > 1 else ps[0][1] for d, ps in pieces.items()}
        return order, stacks, model

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

    def _evaluate(self, progs: Sequence[_Program], theta: Tensor,
                  counts: Sequence[Tensor] | None = None) -> Any:
        """Outcome probabilities of each program; with ``counts`` (one vector per program), the NLL instead."""
        plan = self._plan(progs)
        order, sup, model = self._superops(plan.keys, theta)
        finals: list[Tensor | None] = [None] * len(progs)
        total = torch.zeros((), dtype=_R)
        for g, group in enumerate(plan.groups):
            dim = 4**group.k
            parts = [torch.eye(dim, dtype=_C)[None]]
            for e, (positions, n, m, _) in enumerate(group.embeds):  # one batched embedding per placement
                parts.append(_embed(sup[4**m][plan.rows(g, e, order)], positions, n))
            stack = torch.cat(parts)
            if len(group.reps):
                block = stack[group.blocks[:, 0]]
                for j in range(1, group.blocks.shape[1]):
                    block = stack[group.blocks[:, j]] @ block
                stack = torch.cat([stack, _power(block, group.reps)])
            for a, b in group.levels:
                stack = torch.cat([stack, stack[b] @ stack[a]])
            if group.index.shape[1] == 0:  # no row takes a step: every state is |0..0>
                state = stack[torch.zeros(len(group.members), dtype=torch.int64), :, 0]
            elif group.index.shape[1] == 1:  # every row fused to one matrix: its first column
                state = stack[group.index[:, 0], :, 0]
            else:
                state = _Chain.apply(stack, group.index, group.active)
            diag = torch.arange(2**group.k) * (2**group.k + 1)
            pops = state[:, diag].real
            for sig, rows in group.readout.items():
                out = pops[rows] @ self._readout_matrix(sig, model).T
                if counts is None:
                    for r, o in zip(rows.tolist(), out, strict=True):
                        finals[group.members[r]] = o
                else:
                    shots = torch.stack([counts[group.members[r]] for r in rows.tolist()])
                    logp = torch.log(torch.where(shots > 0, out, torch.ones_like(out)).clamp_min(1e-300))
                    total = total - (shots * logp).sum()
        return finals if counts is None else total

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
        return self.nll_counts(circuits, [_count_vector(c, 2**circ.n_clbits)
                                          for c, circ in zip(counts, circuits, strict=True)], theta)

    def nll_counts(self, circuits: Sequence[Circuit], counts: Sequence[Tensor], theta: Tensor) -> Tensor:
        """:meth:`nll` from count vectors (``counts[i][r]``: shots of record ``r`` of circuit ``i``), one
        batched term per readout signature instead of one per circuit.

        Examples:
            >>> import torch
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> lik = LikelihoodModel(["q0.readout_p01"], Device.preset("line_5"), [0])
            >>> n = torch.tensor([90.0, 10.0], dtype=torch.float64)
            >>> nll = lik.nll_counts([Circuit(1, 1).measure(0, 0)], [n], torch.tensor([0.1], dtype=torch.float64))
            >>> round(float(nll), 3) == round(-(90 * math.log(0.9) + 10 * math.log(0.1)), 3)
            True
        """
        circuits = list(circuits)
        if len(circuits) != len(counts):
            raise DataError(f"{len(circuits)} circuits but {len(counts)} count vectors")
        for c, n in zip(circuits, counts, strict=True):
            if n.shape != (2**c.n_clbits,):
                raise DataError(f"a count vector of shape {tuple(n.shape)} for a circuit with {c.n_clbits} clbits")
        return self._evaluate([self._program(c) for c in circuits], theta, [n.to(_R) for n in counts])

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
