"""Single-qubit resynthesis: :class:`Resynthesis1Q`.

Each maximal run of one-qubit gates on a wire is multiplied out and re-emitted as
one Euler form in the target style (:func:`qtandem.compile.synth1q.synth_ops`):
``nam``: ``rz h rz h rz`` with the short forms ``rz``, ``rz x``, ``rz h rz``;
``zsx``: ``rz sx rz sx rz`` (``rz sx rz``, ``rz x``, ``rz``); ``zxz``: ``rz rx rz``;
``u``: a single ``u(theta, phi, lam)`` (ZYZ). Angles within 1e-12 of a multiple of
pi/4 are snapped to it exactly and zero rotations are dropped. A run is replaced
only when the new word is shorter, or when the run uses gates outside the style.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(1).h(0).rz(0.2, 0).rz(0.3, 0).h(0).h(0).x(0).x(0)
    >>> [i.name for i in Resynthesis1Q("nam").run(c)]
    ['h', 'rz']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.compile.dag import Op, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.synth1q import STYLES, matrix_1q, synth_ops
from qtandem.errors import CompileError

__all__ = ["STYLE_GATES", "Resynthesis1Q", "map_instruction_runs", "map_runs", "resynth_ops"]

STYLE_GATES = {"nam": frozenset({"rz", "h", "x"}), "zsx": frozenset({"rz", "sx", "x"}),
               "zxz": frozenset({"rz", "rx", "x"}), "u": frozenset({"u"})}
"""One-qubit gates each style emits."""


def map_instruction_runs(circuit: Circuit, in_run: Callable[[Instruction], bool],
                         replace: Callable[[int, list[Instruction]], Iterable[Instruction]]) -> Circuit:
    """:func:`map_runs` on a :class:`Circuit`: each maximal run of one-qubit instructions with ``in_run(inst)``
    on a wire is replaced by ``replace(qubit, run)``; any other instruction on the wire ends the run.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).rz(0.1, 0).rz(0.2, 0).cx(0, 1).rz(0.3, 1)
        >>> merged = map_instruction_runs(c, lambda inst: inst.name == "rz",
        ...                               lambda q, run: [run[0].replace(params=(sum(i.params[0] for i in run),))])
        >>> [(inst.name, round(float(inst.params[0]), 3) if inst.params else None) for inst in merged]
        [('rz', 0.3), ('cx', None), ('rz', 0.3)]
    """
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    runs: dict[int, list[Instruction]] = {}

    def flush(q: int) -> None:
        run = runs.pop(q, [])
        if run:
            for inst in replace(q, run):
                out.append(inst)

    for inst in circuit:
        if len(inst.qubits) == 1 and in_run(inst):
            runs.setdefault(inst.qubits[0], []).append(inst)
            continue
        for q in inst.qubits:
            flush(q)
        out.append(inst)
    for q in sorted(runs):
        flush(q)
    return out


def map_runs(ops: list[Op], n_qubits: int, replace: Callable[[list[Op]], Iterable[Op]]) -> list[Op]:
    """The live ops with each maximal run of one-qubit gates on a wire replaced by ``replace(run)``.

    A run ends at the next multi-qubit or opaque op on its wire; the replacement takes the run's place.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> ops = to_ops(Circuit(2).h(0).x(0).cx(0, 1).z(1))
        >>> [op.name for op in map_runs(ops, 2, lambda run: run[:1])]
        ['h', 'cx', 'z']
    """
    pending: list[list[Op]] = [[] for _ in range(n_qubits)]
    out: list[Op] = []
    for op in ops:
        if not op.alive:
            continue
        if len(op.qubits) == 1 and not op.opaque:
            pending[op.qubits[0]].append(op)
            continue
        for q in op.qubits:
            if pending[q]:
                out.extend(replace(pending[q]))
                pending[q] = []
        out.append(op)
    for q in range(n_qubits):
        if pending[q]:
            out.extend(replace(pending[q]))
    return out


def _replacement(run: list[Op], style: str) -> list[Op]:
    if len(run) == 1 and run[0].name in STYLE_GATES[style]:
        return run
    word = _word(tuple((op.name, op.angle, op.params) for op in run), style)
    if word is None:
        return run
    q = run[0].qubits
    return [Op(g, q, a, p) for g, a, p in word]


@lru_cache(maxsize=1 << 16)
def _word(run: tuple[tuple[str, float | None, tuple], ...],
          style: str) -> tuple[tuple[str, float | None, tuple], ...] | None:
    """The word replacing a run (``None``: keep the run); cached, as searches meet the same runs again."""
    allowed = STYLE_GATES[style]
    u = np.eye(2, dtype=np.complex128)
    for name, angle, params in run:
        u = matrix_1q(name, angle, params) @ u
    word = synth_ops(u, 0, style)
    if len(word) < len(run) or any(name not in allowed for name, _, _ in run):
        return tuple((op.name, op.angle, op.params) for op in word)
    return None


def resynth_ops(ops: list[Op], n_qubits: int, style: str) -> list[Op]:
    """Resynthesize one-qubit runs; returns the new op list.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> ops = resynth_ops(to_ops(Circuit(1).rz(0.2, 0).rz(0.3, 0)), 1, "nam")
        >>> [(op.name, op.angle) for op in ops if op.alive]
        [('rz', 0.5)]
    """
    return map_runs(ops, n_qubits, lambda run: _replacement(run, style))


class Resynthesis1Q:
    """Merge one-qubit runs into one short Euler form each.

    Args:
        style: one of ``"nam"``, ``"zsx"``, ``"zxz"``, ``"u"`` (see :data:`STYLE_GATES`).

    Raises:
        CompileError: unknown style.

    Examples:
        >>> from qtandem import Circuit
        >>> Resynthesis1Q().run(Circuit(1).h(0).s(0).h(0).x(0)).count_ops()
        {'rz': 2, 'h': 1}
        >>> Resynthesis1Q("u").run(Circuit(1).h(0).t(0).sx(0)).count_ops()
        {'u': 1}
        >>> Resynthesis1Q("xyz")
        Traceback (most recent call last):
        ...
        qtandem.errors.CompileError: ...
    """

    name = "resynthesis_1q"

    def __init__(self, style: str = "nam") -> None:
        if style not in STYLES:
            raise CompileError(f"Resynthesis1Q style must be one of {STYLES}, got {style!r}")
        self.style = style

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit with shorter one-qubit runs."""
        return to_circuit(resynth_ops(to_ops(circuit), circuit.n_qubits, self.style), circuit)
