"""Two-qubit resynthesis by KAK: :class:`TwoQubitResynthesis`.

Maximal blocks of gates acting on one pair of qubits are multiplied out and
re-emitted as 3 CX plus one-qubit words (:func:`qtandem.compile.kak.kak_word`,
the one-qubit parts resynthesized in the target style). A block is replaced
only when the new form is cheaper: by ``(cx, gates)`` when the property set's
objective is ``cx``, ``fidelity`` or ``depth``, else by ``(gates, cx)``.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).cx(0, 1).rz(0.3, 1).cx(1, 0).rz(0.2, 0).cx(0, 1).h(0).cx(1, 0).rz(0.1, 1).cx(0, 1)
    >>> TwoQubitResynthesis("nam").run(c).count_ops()["cx"]
    3
"""

from __future__ import annotations

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.compile.dag import Op, to_circuit, to_ops
from qtandem.compile.kak import kak_word
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.synth1q import BASES_1Q, op_matrix, synth_1q
from qtandem.errors import CompileError
from qtandem.sim.dense import dense_unitary

__all__ = ["TwoQubitResynthesis", "collect_blocks"]

_I = np.eye(2, dtype=np.complex128)


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


def _block_matrix(ops: list[Op], idx: list[int], pair: tuple[int, int]) -> np.ndarray:
    local = {pair[0]: 0, pair[1]: 1}
    mats = []
    for i in idx:
        op = ops[i]
        if len(op.qubits) == 1:
            g = op_matrix(op)
        else:
            g = gate_matrix(op.name, [op.angle] if op.angle is not None else list(op.params)).numpy()
        mats.append((tuple(local[q] for q in op.qubits), g))
    return dense_unitary(mats, 2)


def _emit(u: np.ndarray, pair: tuple[int, int], style: str) -> list[Op]:
    out: list[Op] = []
    runs: dict[int, np.ndarray] = {}

    def flush(q: int) -> None:
        if q in runs:
            out.extend(Op(g, (pair[q],), ang) for g, ang in synth_1q(runs.pop(q), style))

    for kind, q, g in kak_word(u):
        if kind == "cx":
            flush(0)
            flush(1)
            out.append(Op("cx", (pair[q], pair[1 - q])))
        else:
            assert g is not None
            runs[q] = g @ runs.get(q, _I)
    flush(0)
    flush(1)
    return out


class TwoQubitResynthesis:
    """Replace two-qubit blocks by their KAK form when that is cheaper.

    Args:
        style: one-qubit style of the emitted words (``"nam"`` or ``"zsx"``).
        min_cx: only try blocks with at least this many two-qubit gates.

    Raises:
        CompileError: unknown style.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2)
        >>> for _ in range(3):
        ...     _ = c.cx(0, 1).cx(1, 0)
        >>> TwoQubitResynthesis().run(c).count_ops()["cx"]     # six CX become at most three
        3
    """

    name = "kak_resynthesis"

    def __init__(self, style: str = "nam", *, min_cx: int = 4) -> None:
        if style not in BASES_1Q:
            raise CompileError(f"TwoQubitResynthesis style must be one of {BASES_1Q}, got {style!r}")
        self.style = style
        self.min_cx = min_cx

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with cheaper two-qubit blocks."""
        ops = to_ops(circuit)
        objective = props.get("objective", "cx") if props is not None else "cx"
        cx_first = objective in ("cx", "fidelity", "depth")
        at: dict[int, list[Op]] = {}
        for pair, idx in collect_blocks(ops):
            twos = sum(1 for i in idx if len(ops[i].qubits) == 2)
            if twos < self.min_cx:
                continue
            cx_before = twos  # every two-qubit gate costs at least one cx
            try:
                new = _emit(_block_matrix(ops, idx, pair), pair, self.style)
            except CompileError:
                continue
            cx_after = sum(1 for op in new if op.name == "cx")
            old_cost, new_cost = (cx_before, len(idx)), (cx_after, len(new))
            if not cx_first:
                old_cost, new_cost = old_cost[::-1], new_cost[::-1]
            if new_cost < old_cost:
                for i in idx:
                    ops[i].alive = False
                at[idx[-1]] = new
        out: list[Op] = []
        for i, op in enumerate(ops):
            if op.alive:
                out.append(op)
            out.extend(at.get(i, []))
        return to_circuit(out, circuit)
