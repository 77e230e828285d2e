"""Three-qubit block resynthesis: :class:`ThreeQubitResynthesis`.

Maximal blocks of gates acting on three qubits (:func:`collect_blocks3`, built
like :func:`qtandem.compile.passes.kak.collect_blocks` for pairs) are multiplied
out into 8x8 matrices and re-emitted by :func:`qtandem.compile.qsd.synth_3q`
(CNOT-dihedral phase polynomials, H-conjugated ones such as Toffoli, a two-qubit
unitary times a one-qubit gate, controlled two-qubit unitaries, then the
quantum Shannon decomposition), one-qubit parts in the target style. A block is
replaced only when cheaper: by ``(cx, gates)`` when the objective is ``cx``,
``fidelity`` or ``depth``, else by ``(gates, cx)``; each replacement is checked
against the block's matrix first, and a block whose angles are all multiples of
pi/4 is only replaced by one that keeps them so (Clifford+T stays exact). Only blocks with at least ``min_cx`` CX-costed
gates are tried, results are cached by the block's gates (local qubits, exact angles), and at most
``max_blocks`` syntheses run per circuit.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(3).cx(0, 2).t(2).cx(1, 2).tdg(2).cx(0, 2).t(2).cx(1, 2).cx(0, 1).t(1).cx(0, 1).cx(0, 1).cx(0, 1)
    >>> c.count_ops()["cx"], ThreeQubitResynthesis("nam").run(c).count_ops()["cx"]
    (8, 6)
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.compile.dag import Op, splice, to_ops
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.qsd import FORMS, Word, synth_3q, word_cx
from qtandem.compile.synth1q import STYLES, matrix_1q, op_matrix, synth_ops
from qtandem.errors import CompileError
from qtandem.sim.dense import dense_unitary, equal_up_to_phase

__all__ = ["ThreeQubitResynthesis", "collect_blocks3"]

_I = np.eye(2, dtype=np.complex128)
_CX = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=np.complex128)


def collect_blocks3(ops: list[Op]) -> list[tuple[tuple[int, ...], list[int]]]:
    """Maximal runs of ops inside one qubit triple: ``[(qubits, [op indices])]`` (blocks on exactly 3 qubits).

    A multi-qubit gate joins the open blocks of its qubits when together they span at most
    three qubits; otherwise those blocks close and it opens a new one. One-qubit gates join
    their qubit's open block (or wait to join the next one). Opaque ops close their qubits' blocks.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> ops = to_ops(Circuit(4).h(0).cx(0, 1).cx(1, 2).t(2).cx(2, 3).cx(0, 1))
        >>> collect_blocks3(ops)
        [((0, 1, 2), [0, 1, 2, 3])]
    """
    blocks: list[tuple[set[int], list[int]] | None] = []  # None: merged into a later block
    open_block: dict[int, int] = {}  # qubit -> block id
    pending: dict[int, list[int]] = {}

    def close(bid: int) -> None:
        block = blocks[bid]
        assert block is not None
        for q in block[0]:
            open_block.pop(q, None)

    for i, op in enumerate(ops):
        if not op.alive:
            continue
        qs = op.qubits
        if op.opaque or len(qs) > 3:
            for q in qs:
                pending.pop(q, None)
                if q in open_block:
                    close(open_block[q])
            continue
        if len(qs) == 1:
            q = qs[0]
            if q in open_block:
                blocks[open_block[q]][1].append(i)  # type: ignore[index]
            else:
                pending.setdefault(q, []).append(i)
            continue
        bids = {open_block[q] for q in qs if q in open_block}
        span = set(qs).union(*(blocks[b][0] for b in bids))  # type: ignore[index]
        if len(span) > 3:
            for b in bids:
                close(b)
            bids, span = set(), set(qs)
        idx = [k for b in bids for k in blocks[b][1]]  # type: ignore[index]
        for q in qs:
            if q not in open_block:
                idx.extend(pending.pop(q, []))
        for b in bids:
            close(b)
            blocks[b] = None
        blocks.append((span, sorted(idx) + [i]))
        for q in span:
            open_block[q] = len(blocks) - 1
    return [(tuple(sorted(b[0])), b[1]) for b in blocks if b is not None and len(b[0]) == 3]


def _block_matrix(ops: list[Op], idx: list[int], qubits: tuple[int, ...]) -> np.ndarray:
    local = {q: k for k, q in enumerate(qubits)}
    mats = []
    for i in idx:
        op = ops[i]
        if len(op.qubits) == 1:
            g = op_matrix(op)
        else:
            g = (_fixed_matrix(op.name) if op.angle is None and not op.params else
                 gate_matrix(op.name, [op.angle] if op.angle is not None else list(op.params)).numpy())
        mats.append((tuple(local[q] for q in op.qubits), g))
    return dense_unitary(mats, 3)


Spec = tuple[str, tuple[int, ...], float | None, tuple]
"""A gate as ``(name, local qubits, angle, params)``."""

_QUARTER = math.pi / 4


def _emit(word: Word, style: str) -> list[Spec]:
    """A word as local gates: CX plus one-qubit runs merged and resynthesized in ``style``."""
    out: list[Spec] = []
    runs: dict[int, np.ndarray] = {}

    def flush(q: int) -> None:
        if q in runs:
            out.extend((op.name, op.qubits, op.angle, op.params) for op in synth_ops(runs.pop(q), q, style))

    for qs, m in word:
        if m is None:
            flush(qs[0])
            flush(qs[1])
            out.append(("cx", qs, None, ()))
        else:
            runs[qs[0]] = m @ runs.get(qs[0], _I)
    for q in sorted(runs):
        flush(q)
    return out


def _local_matrix(gates: list[Spec]) -> np.ndarray:
    mats = [(qs, _CX if g == "cx" else matrix_1q(g, a, p)) for g, qs, a, p in gates]
    return dense_unitary(mats, 3)


@cache
def _fixed_matrix(name: str) -> np.ndarray:
    return gate_matrix(name).numpy()


def _exact(gates: list[Spec] | tuple[Spec, ...]) -> bool:
    """Every angle is a multiple of pi/4 (as in passes/kak.py: Clifford+T blocks stay exact)."""
    return all(abs(x / _QUARTER - round(x / _QUARTER)) < 1e-9
               for _, _, a, p in gates for x in ([a] if a is not None else [float(v) for v in p]))


_CACHE: dict[tuple, tuple[str, list[Spec]] | None] = {}
"""Synthesized blocks (or ``None``: no cheaper form) by style, objective kind and the block's exact gates."""
_CACHE_SIZE = 20000


_GENERIC_CX = {"multiplexor": 9, "qsd": 20}
"""CX of the generic forms on a generic block (their words carry about one one-qubit gate per CX or more)."""


def _forms_for_gates(n_gates: int) -> tuple[str, ...]:
    """Forms worth trying for a block of ``n_gates`` under a gate-count objective: the generic ones only
    when the block has more than twice their usual CX count in gates (a pruning rule for speed only)."""
    return tuple(f for f in FORMS if n_gates > 2 * _GENERIC_CX.get(f, 0))


class ThreeQubitResynthesis:
    """Replace three-qubit blocks by a cheaper synthesized form.

    Args:
        style: one-qubit style of the emitted words (one of :data:`qtandem.compile.synth1q.STYLES`).
        min_cx: only try blocks whose gates cost at least this many CX (two-qubit gates 1,
            three-qubit gates 6).
        max_blocks: at most this many syntheses (cache misses) per run.

    Raises:
        CompileError: unknown style.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(3).ccx(0, 1, 2).cx(0, 1).ccx(0, 1, 2).cx(0, 1)
        >>> out = ThreeQubitResynthesis("nam").run(c, PropertySet(objective="cx"))
        >>> out.count_ops()["cx"] < 14
        True
    """

    name = "block3_resynthesis"

    def __init__(self, style: str = "nam", *, min_cx: int = 4, max_blocks: int = 200) -> None:
        if style not in STYLES:
            raise CompileError(f"ThreeQubitResynthesis style must be one of {STYLES}, got {style!r}")
        self.style = style
        self.min_cx = min_cx
        self.max_blocks = max_blocks
        self.stats = {"blocks": 0, "synthesized": 0, "replaced": 0}
        self.forms: dict[str, int] = {}
        """Replacements per :data:`qtandem.compile.qsd.FORMS` entry."""

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with cheaper three-qubit blocks."""
        ops = to_ops(circuit)
        objective = props.get("objective", "cx") if props is not None else "cx"
        cx_first = objective in ("cx", "fidelity", "depth")
        at: dict[int, list[Op]] = {}
        budget = self.max_blocks
        for qubits, idx in collect_blocks3(ops):
            cx_before = sum(1 if len(ops[i].qubits) == 2 else 6 if len(ops[i].qubits) == 3 else 0 for i in idx)
            if cx_before < self.min_cx:
                continue
            self.stats["blocks"] += 1
            local = {q: k for k, q in enumerate(qubits)}
            block = tuple((ops[i].name, tuple(local[q] for q in ops[i].qubits), ops[i].angle, ops[i].params)
                          for i in idx)
            key = (self.style, cx_first, block)
            if key not in _CACHE:
                if budget <= 0:
                    continue
                budget -= 1
                self.stats["synthesized"] += 1
                if len(_CACHE) >= _CACHE_SIZE:
                    _CACHE.clear()
                _CACHE[key] = self._synth(_block_matrix(ops, idx, qubits), cx_before if cx_first else len(idx) - 1,
                                          _exact(block), FORMS if cx_first else _forms_for_gates(len(idx)))
            found = _CACHE[key]
            if found is None:
                continue
            form, gates = found
            cx_after = sum(1 for g, _, _, _ in gates if g == "cx")
            old_cost, new_cost = (cx_before, len(idx)), (cx_after, len(gates))
            if not cx_first:
                old_cost, new_cost = old_cost[::-1], new_cost[::-1]
            if new_cost < old_cost:
                self.stats["replaced"] += 1
                self.forms[form] = self.forms.get(form, 0) + 1
                for i in idx:
                    ops[i].alive = False
                at[idx[-1]] = [Op(g, tuple(qubits[q] for q in qs), a, p) for g, qs, a, p in gates]
        if not at:
            return circuit  # nothing cheaper: skip rebuilding the circuit
        return splice(ops, at, circuit)

    def _synth(self, u: np.ndarray, max_cx: int, exact: bool, forms: tuple[str, ...]) -> tuple[str, list[Spec]] | None:
        try:
            form, word = synth_3q(u, max_cx=max_cx, forms=forms)
        except CompileError:
            return None
        if word_cx(word) > max_cx:
            return None
        gates = _emit(word, self.style)
        if not equal_up_to_phase(_local_matrix(gates), u, 1e-7):
            return None  # never expected: synth_3q and synth_ops check their own words
        if exact and not _exact(gates):
            return None  # a pi/4-exact block is never replaced by inexact angles
        return form, gates
