"""Two-qubit block consolidation: :class:`TwoQubitResynthesis`.

Maximal blocks of gates acting on one pair of qubits (any two-qubit gates: ``cx``,
``cz``, ``swap``, ``rzz``, ``iswap``, ``ecr``... with the one-qubit gates between
them) are multiplied out and re-emitted with the fewest CX their Weyl coordinates
allow (:func:`qtandem.compile.weyl.two_qubit_word`: 0, 1, 2 or 3), the one-qubit
parts in the target style (:func:`qtandem.compile.synth1q.synth_ops`). A block is
replaced only when the new form is cheaper under the property set's objective:
``(gates, cx)`` for ``gates``, ``(cx, gates)`` for ``cx`` and ``fidelity``,
``(depth, cx, gates)`` for ``depth``, ``(t, gates, cx)`` for ``t`` -- or when it
holds gates outside the target style. A block written with multiples of pi/4 only
is never replaced by one with other angles (Clifford+T circuits stay exact).
Words are cached by the block's exact gate list.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).cx(0, 1).rz(0.3, 1).cx(1, 0).rz(0.2, 0).cx(0, 1).h(0).cx(1, 0).rz(0.1, 1).cx(0, 1)
    >>> TwoQubitResynthesis("nam").run(c).count_ops()["cx"]     # Weyl coordinates (pi/4, 0.15, 0): 2 CX
    2
    >>> TwoQubitResynthesis("u").run(Circuit(2).cz(0, 1).swap(0, 1).cz(0, 1)).count_ops()["cx"]
    3
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.compile.dag import Op, splice, to_ops
from qtandem.compile.passes.resynth_1q import STYLE_GATES
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.synth1q import STYLES, matrix_1q, synth_ops
from qtandem.compile.weyl import clifford_t_gauge, cx_count, two_qubit_word
from qtandem.errors import CompileError, QtandemError
from qtandem.sim.dense import dense_unitary

__all__ = ["TwoQubitResynthesis", "collect_blocks"]

_I = np.eye(2, dtype=np.complex128)
_QUARTER = math.pi / 4
Spec = tuple[str, tuple[int, ...], float | None, tuple]
"""An op without its wire links: ``(name, local qubits, angle, params)``."""


def collect_blocks(ops: list[Op]) -> list[tuple[tuple[int, int], list[int]]]:
    """Maximal runs of ops inside one qubit pair: ``[((a, b), [op indices])]`` (blocks with a 2q gate only).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> collect_blocks(to_ops(Circuit(3).h(0).cx(0, 1).rz(0.1, 1).cx(1, 2)))
        [((0, 1), [0, 1, 2]), ((1, 2), [3])]
    """
    open_block: dict[int, int] = {}  # qubit -> block id
    blocks: list[tuple[tuple[int, int], list[int]]] = []
    pending: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        if not op.alive:
            continue
        qs = op.qubits
        if len(qs) == 1 and not op.opaque:
            q = qs[0]
            if q in open_block:
                blocks[open_block[q]][1].append(i)
            else:
                pending.setdefault(q, []).append(i)
            continue
        if len(qs) == 2 and not op.opaque:
            a, b = qs
            bid = open_block.get(a)
            if bid is not None and open_block.get(b) == bid:
                blocks[bid][1].append(i)
                continue
            for q in qs:
                old = open_block.get(q)
                if old is not None:
                    for k in [k for k, v in open_block.items() if v == old]:
                        del open_block[k]
            idx = sorted(pending.pop(a, []) + pending.pop(b, [])) + [i]
            blocks.append(((a, b), idx))
            open_block[a] = open_block[b] = len(blocks) - 1
            continue
        for q in qs:
            pending.pop(q, None)
            old = open_block.get(q)
            if old is not None:
                for k in [k for k, v in open_block.items() if v == old]:
                    del open_block[k]
    return blocks


@lru_cache(maxsize=4096)
def _gate_2q(name: str, qubits: tuple[int, ...], params: tuple) -> np.ndarray:
    """A two-qubit gate's 4x4 matrix on local qubits ``(0, 1)`` or ``(1, 0)``."""
    g = gate_matrix(name, list(params)).numpy()
    return dense_unitary([(qubits, g)], 2)


@lru_cache(maxsize=4096)
def _gate_1q(name: str, qubit: int, angle: float | None, params: tuple) -> np.ndarray:
    g = matrix_1q(name, angle, params)
    return np.kron(_I, g) if qubit == 0 else np.kron(g, _I)


@lru_cache(maxsize=4096)
def _min_cx(name: str, params: tuple) -> int:
    """The CX cost of one two-qubit gate (``cx``: 1; others: their minimal CX count)."""
    return 1 if name == "cx" else cx_count(_gate_2q(name, (0, 1), params))


def _matrix(block: tuple[Spec, ...]) -> np.ndarray:
    u = np.eye(4, dtype=np.complex128)
    for name, qs, angle, params in block:
        if len(qs) == 1:
            u = _gate_1q(name, qs[0], angle, params) @ u
        else:
            u = _gate_2q(name, qs, (angle,) if angle is not None else params) @ u
    return u


_SWAP = np.eye(4, dtype=np.complex128)[[0, 2, 1, 3]]


@lru_cache(maxsize=1 << 15)
def _resynth(block: tuple[Spec, ...], style: str) -> tuple[Spec, ...] | None:
    """The minimal-CX word of a block in ``style`` (``None`` when synthesis fails); cached.

    Both CX orientations are synthesized (the second from ``SWAP u SWAP`` with the qubits relabelled) and
    polished; the shorter word is kept. For a block written with multiples of pi/4 only, each word's gauge
    is first fixed so its one-qubit runs are exact (:func:`~qtandem.compile.weyl.clifford_t_gauge`), and
    exact words are preferred to shorter inexact ones.
    """
    try:
        u = _matrix(block)
    except QtandemError:  # a gate without a plain matrix: leave the block alone
        return None
    exact = _exact(block)
    best: tuple[Spec, ...] | None = None
    for flip in (False, True):
        try:
            word = two_qubit_word(_SWAP @ u @ _SWAP if flip else u)
            if exact:
                word = clifford_t_gauge(word)
        except CompileError:
            continue
        out: list[Spec] = []
        runs: dict[int, np.ndarray] = {}

        def flush(q: int, out: list[Spec] = out, runs: dict[int, np.ndarray] = runs, flip: bool = flip) -> None:
            if q in runs:
                target = 1 - q if flip else q
                out.extend((op.name, (target,), op.angle, op.params) for op in synth_ops(runs.pop(q), 0, style))

        for kind, q, g in word:
            if kind == "cx":
                flush(0)
                flush(1)
                out.append(("cx", (1 - q, q) if flip else (q, 1 - q), None, ()))
            else:
                assert g is not None
                runs[q] = g @ runs.get(q, _I)
        flush(0)
        flush(1)
        cand = _polish(tuple(out), style)
        if exact and not _exact(cand) and _exact(tuple(out)):  # polishing merged exact runs into inexact ones
            cand = tuple(out)
        if best is None or (exact and (_exact(cand), -len(cand)) > (_exact(best), -len(best))) or (
                not exact and len(cand) < len(best)):
            best = cand
    return best


def _polish(word: tuple[Spec, ...], style: str) -> tuple[Spec, ...]:
    """The word after commuting one-qubit gates through its CX (cancellation) and re-merging runs, when shorter."""
    from qtandem.compile.passes.cancellation import cancel_ops
    from qtandem.compile.passes.resynth_1q import resynth_ops

    ops = [Op(name, qs, angle, params) for name, qs, angle, params in word]
    for _ in range(2):
        cancel_ops(ops, 2)
        ops = resynth_ops([op for op in ops if op.alive], 2, style)
    new = tuple((op.name, op.qubits, op.angle, op.params) for op in ops if op.alive)
    return new if len(new) < len(word) else word


def _angles(spec: Spec) -> list[float]:
    if spec[2] is not None:
        return [spec[2]]
    return [float(p) for p in spec[3]]


def _exact(block: tuple[Spec, ...]) -> bool:
    """Every angle of the block is a multiple of pi/4."""
    return all(abs(a / _QUARTER - round(a / _QUARTER)) < 1e-9 for s in block for a in _angles(s))


def _depth(block: tuple[Spec, ...]) -> int:
    level = [0, 0]
    for _, qs, _, _ in block:
        d = max(level[q] for q in qs) + 1
        for q in qs:
            level[q] = d
    return max(level)


def _t(block: tuple[Spec, ...]) -> int:
    n = 0
    for name, _, angle, _ in block:
        if name in ("t", "tdg") or (name in ("rz", "p", "u1") and angle is not None
                                    and abs(angle / _QUARTER - round(angle / _QUARTER)) < 1e-9
                                    and round(angle / _QUARTER) % 2):
            n += 1
    return n


def _cost(block: tuple[Spec, ...], objective: str) -> tuple[int, ...]:
    gates = len(block)
    cx = sum(_min_cx(name, (angle,) if angle is not None else params)
             for name, qs, angle, params in block if len(qs) == 2)
    if objective == "depth":
        return _depth(block), cx, gates
    if objective == "t":
        return _t(block), gates, cx
    if objective in ("cx", "fidelity"):
        return cx, gates
    return gates, cx


class TwoQubitResynthesis:
    """Consolidate two-qubit blocks and resynthesize each with the fewest CX when that is cheaper.

    Args:
        style: one-qubit style of the emitted words (``"nam"``, ``"zsx"``, ``"zxz"`` or ``"u"``).
        min_cx: only try blocks with at least this many two-qubit gates (1: every block).

    Raises:
        CompileError: unknown style.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2)
        >>> for _ in range(3):
        ...     _ = c.cx(0, 1).cx(1, 0)
        >>> TwoQubitResynthesis().run(c).count_ops()     # (cx cx)^3 is the identity: 0 CX
        {}
        >>> TwoQubitResynthesis("zsx").run(Circuit(2).h(0).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 0)).count_ops()["cx"]
        2
    """

    name = "kak_resynthesis"

    def __init__(self, style: str = "nam", *, min_cx: int = 1) -> None:
        if style not in STYLES:
            raise CompileError(f"TwoQubitResynthesis style must be one of {STYLES}, got {style!r}")
        self.style = style
        self.min_cx = min_cx

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with cheaper two-qubit blocks."""
        objective = props.get("objective", "cx") if props is not None else "cx"
        if objective in ("cx", "fidelity"):
            return self._replace(circuit, objective)
        # Gates, depth, T: a block's new one-qubit runs mostly merge with their neighbours', so a local
        # count undervalues fewer CX. Both choices (local objective; fewer CX first) are polished by
        # cancellation and one-qubit merging, and the cheaper whole circuit under the objective is kept.
        from qtandem.compile.passes.cancellation import GateCancellation
        from qtandem.compile.passes.resynth_1q import Resynthesis1Q
        from qtandem.compile.passmanager import counts

        key = {"gates": lambda c: (c.gates, c.cx), "depth": lambda c: (c.depth, c.cx, c.gates),
               "t": lambda c: (c.t, c.gates, c.cx)}.get(objective, lambda c: (c.gates, c.cx))
        best: Circuit | None = None
        best_cost: tuple = ()
        for mode in (objective, "cx"):
            cand = self._replace(circuit, mode)
            if cand == circuit:
                cand_cost = key(counts(circuit))
            else:
                cand = Resynthesis1Q(self.style).run(GateCancellation().run(cand))
                cand_cost = key(counts(cand))
            if best is None or cand_cost < best_cost:
                best, best_cost = cand, cand_cost
        assert best is not None
        return best

    def _replace(self, circuit: Circuit, objective: str) -> Circuit:
        ops = to_ops(circuit)
        allowed = STYLE_GATES[self.style] | {"cx"}
        at: dict[int, list[Op]] = {}
        for pair, idx in collect_blocks(ops):
            if sum(1 for i in idx if len(ops[i].qubits) == 2) < self.min_cx:
                continue
            local = {pair[0]: 0, pair[1]: 1}
            block = tuple((ops[i].name, tuple(local[q] for q in ops[i].qubits), ops[i].angle, ops[i].params)
                          for i in idx)
            new = _resynth(block, self.style)
            if new is None:
                continue
            foreign = any(s[0] not in allowed for s in block)
            if not foreign and _cost(new, objective) >= _cost(block, objective):
                continue
            if _exact(block) and not _exact(new):
                continue
            for i in idx:
                ops[i].alive = False
            at[idx[-1]] = [Op(name, tuple(pair[q] for q in qs), angle, params) for name, qs, angle, params in new]
        return splice(ops, at, circuit)
