"""Basis translation: :class:`BasisTranslation` and the named target bases.

Multi-qubit gates expand into ``cx`` and one-qubit gates (textbook identities:
``cz = h cx h``, ``swap`` = 3 ``cx``, ``ccx`` = 6 ``cx`` + 7 T, ...); one-qubit
gates outside the target are resynthesized (ZXZ in ``{rz, h, x}`` or
``{rz, sx, x}``; in ``{u, cx}`` each run of one-qubit gates becomes one ``u``);
for Clifford+T every ``rz`` becomes a word of ``t, s, z`` and
adjoints, and an angle that is not a multiple of pi/4 is an error. Every other
numeric gate (``ctrl``/``negctrl``/``inv`` modifiers, ``unitary`` matrices, ``mcx``,
``iswap``...) is synthesized exactly from its matrix by
:mod:`qtandem.compile.passes.modifiers`; symbolic and classically conditioned gates are refused.

Examples:
    >>> from qtandem import Circuit
    >>> BasisTranslation("nam").run(Circuit(2).cz(0, 1).s(1)).count_ops()
    {'h': 2, 'cx': 1, 'rz': 1}
    >>> BasisTranslation("clifford_t").run(Circuit(1).rz(0.7853981633974483, 0)).count_ops()
    {'t': 1}
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from qtandem.circuit import Circuit
from qtandem.compile.dag import Op, is_zero_angle, to_circuit, to_ops
from qtandem.compile.passes.modifiers import gate_ops
from qtandem.compile.passes.phase_folding import phase_word
from qtandem.compile.passes.resynth_1q import resynth_ops
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.synth1q import op_matrix, synth_1q, synth_ops
from qtandem.errors import CompileError

__all__ = ["BASES", "BasisTranslation", "basis_style", "decompose_multi", "resolve_basis"]

BASES: dict[str, frozenset[str]] = {
    "nam": frozenset({"h", "x", "cx", "rz"}),
    "clifford_t": frozenset({"h", "s", "sdg", "t", "tdg", "x", "z", "cx"}),
    "ibm": frozenset({"rz", "sx", "x", "cx"}),
    "ibm_cz": frozenset({"rz", "sx", "x", "cz"}),
    "u": frozenset({"u", "cx"}),
}
"""Named target bases: Nam et al.'s, Clifford+T, IBM's with CX and with CZ, and ``{u, cx}`` (one general
one-qubit gate ``u(theta, phi, lam)``)."""

_PI4 = math.pi / 4


def basis_style(basis: str) -> str:
    """The one-qubit style (:data:`qtandem.compile.synth1q.STYLES`) a named basis emits.

    Examples:
        >>> basis_style("ibm"), basis_style("nam"), basis_style("u"), basis_style("clifford_t")
        ('zsx', 'nam', 'u', 'nam')
    """
    return "zsx" if basis.startswith("ibm") else "u" if basis == "u" else "nam"


def resolve_basis(basis: str | Iterable[str]) -> str:
    """The name of a basis given by name or as a gate set (the smallest named basis containing it).

    Raises:
        CompileError: unknown name, or a gate set no named basis contains.

    Examples:
        >>> resolve_basis(["cx", "h", "rz", "x"]), resolve_basis({"h", "cx", "t", "tdg"})
        ('nam', 'clifford_t')
    """
    if isinstance(basis, str):
        if basis not in BASES:
            raise CompileError(f"unknown basis {basis!r}; named bases: {sorted(BASES)} (or pass a gate set)")
        return basis
    gates = frozenset(basis)
    fits = sorted((len(g), n) for n, g in BASES.items() if gates <= g)
    if not fits:
        raise CompileError(f"no named basis contains the gates {sorted(gates)}; named bases: "
                           + ", ".join(f"{n}={sorted(g)}" for n, g in BASES.items()))
    return fits[0][1]


def _ccx(a: int, b: int, c: int, target_h: bool) -> list[tuple[str, tuple[int, ...], float | None]]:
    t, td = _PI4, -_PI4
    seq: list[tuple[str, tuple[int, ...], float | None]] = [("h", (c,), None)] if target_h else []
    seq += [("cx", (b, c), None), ("rz", (c,), td), ("cx", (a, c), None), ("rz", (c,), t), ("cx", (b, c), None),
            ("rz", (c,), td), ("cx", (a, c), None), ("rz", (b,), t), ("rz", (c,), t)]
    seq += [("h", (c,), None)] if target_h else []
    seq += [("cx", (a, b), None), ("rz", (a,), t), ("rz", (b,), td), ("cx", (a, b), None)]
    return seq


def decompose_multi(op: Op) -> list[Op] | None:
    """``op`` as ``cx`` and one-qubit ops, or ``None`` if it already is one of those (or has no rule).

    Raises:
        CompileError: a multi-qubit gate without a rule (``unitary`` on 2+ qubits, ``cu``, ``mcx``...).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> [(op.name, op.qubits) for op in decompose_multi(to_ops(Circuit(2).cz(0, 1))[0])]
        [('h', (1,)), ('cx', (0, 1)), ('h', (1,))]
        >>> decompose_multi(to_ops(Circuit(2).cx(0, 1))[0]) is None
        True
    """
    n, q = op.name, op.qubits
    if len(q) == 1 or n == "cx":
        return None
    th = op.angle if op.angle is not None else (float(op.params[0]) if op.params else 0.0)
    if n in ("crz", "cp", "rzz", "crx", "cry", "rxx"):
        th = float(op.params[0])
    a, b = q[0], q[1]
    seq: list[tuple[str, tuple[int, ...], float | None]]
    if n == "cz":
        seq = [("h", (b,), None), ("cx", (a, b), None), ("h", (b,), None)]
    elif n == "cy":
        seq = [("rz", (b,), -math.pi / 2), ("cx", (a, b), None), ("rz", (b,), math.pi / 2)]
    elif n == "swap":
        seq = [("cx", (a, b), None), ("cx", (b, a), None), ("cx", (a, b), None)]
    elif n == "crz":
        seq = [("rz", (b,), th / 2), ("cx", (a, b), None), ("rz", (b,), -th / 2), ("cx", (a, b), None)]
    elif n == "cp":
        seq = [("rz", (a,), th / 2), ("cx", (a, b), None), ("rz", (b,), -th / 2), ("cx", (a, b), None),
               ("rz", (b,), th / 2)]
    elif n == "rzz":
        seq = [("cx", (a, b), None), ("rz", (b,), th), ("cx", (a, b), None)]
    elif n == "rxx":
        seq = [("h", (a,), None), ("h", (b,), None), ("cx", (a, b), None), ("rz", (b,), th), ("cx", (a, b), None),
               ("h", (a,), None), ("h", (b,), None)]
    elif n == "crx":
        seq = [("h", (b,), None), ("rz", (b,), th / 2), ("cx", (a, b), None), ("rz", (b,), -th / 2),
               ("cx", (a, b), None), ("h", (b,), None)]
    elif n == "cry":
        seq = [("ry", (b,), th / 2), ("cx", (a, b), None), ("ry", (b,), -th / 2), ("cx", (a, b), None)]
    elif n == "ch":
        seq = [("ry", (b,), _PI4), ("cx", (a, b), None), ("ry", (b,), -_PI4)]
    elif n == "ccx":
        seq = _ccx(q[0], q[1], q[2], True)
    elif n == "ccz":
        seq = _ccx(q[0], q[1], q[2], False)
    elif n == "cswap":
        c, x, y = q
        seq = [("cx", (y, x), None)] + _ccx(c, x, y, True) + [("cx", (y, x), None)]
    else:
        raise CompileError(f"basis translation has no rule for {op.name!r} on {len(q)} qubits; supported "
                           "multi-qubit gates: cx, cz, cy, ch, swap, crz, cp, crx, cry, rzz, rxx, ccx, ccz, cswap")
    return [Op(g, qs, ang) for g, qs, ang in seq]


def _rule(op: Op) -> list[Op] | None:
    """:func:`decompose_multi`, or ``None`` for a gate it has no rule for (synthesized from its matrix)."""
    if op.name not in _RULES:
        return None
    return decompose_multi(op)


_RULES = frozenset({"cx", "cz", "cy", "ch", "swap", "crz", "cp", "crx", "cry", "rzz", "rxx", "ccx", "ccz", "cswap"})


class BasisTranslation:
    """Rewrite a circuit into a named basis (see :data:`BASES`).

    Args:
        basis: a name in :data:`BASES` or a gate set (resolved by :func:`resolve_basis`).

    Raises:
        CompileError: unknown basis; at run time, a symbolic or conditioned gate, a
            3+ qubit gate without control structure, or an angle Clifford+T cannot
            express (the message names the instruction).

    Examples:
        >>> from qtandem import Circuit
        >>> BasisTranslation("nam").run(Circuit(2).swap(0, 1).s(0)).count_ops()
        {'cx': 3, 'rz': 1}
        >>> BasisTranslation("qwerty")
        Traceback (most recent call last):
        ...
        qtandem.errors.CompileError: ...
    """

    name = "basis_translation"

    def __init__(self, basis: str | Iterable[str] = "nam") -> None:
        self.basis = resolve_basis(basis)
        self.gates = BASES[self.basis]

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return the circuit in the target basis."""
        style = basis_style(self.basis)
        expand_style = "nam" if style == "u" else style
        ops: list[Op] = []
        for idx, op in enumerate(to_ops(circuit)):
            inst = op.instruction()
            if op.opaque and inst.is_gate and inst.is_parametrized:
                raise CompileError(f"instruction {idx} ({inst.label}) cannot be translated: it has symbolic "
                                   "angles; bind parameters first")
            if op.opaque and inst.is_gate and inst.condition is not None:
                raise CompileError(f"instruction {idx} ({inst.label}) cannot be translated: it is classically "
                                   "conditioned (feed-forward); basis translation handles unconditioned gates only")
            try:
                expanded = None if op.opaque else _rule(op)
                if expanded is None and inst.is_gate and (op.opaque or len(op.qubits) > 2
                                                          or (len(op.qubits) == 2 and op.name != "cx")):
                    expanded = gate_ops(inst, expand_style)
            except CompileError as exc:
                raise CompileError(f"instruction {idx} ({inst.label}) cannot be translated: {exc}") from None
            ops.extend(expanded if expanded is not None else [op])
        out: list[Op] = []
        for op in ops:
            if op.opaque or op.name in self.gates:
                out.append(op)
            elif op.name == "cx" and self.basis == "ibm_cz":
                a, b = op.qubits
                out.extend(Op(g, (b,), ang) for g, ang in synth_1q(op_matrix(Op("h", (b,))), style))
                out.append(Op("cz", (a, b)))
                out.extend(Op(g, (b,), ang) for g, ang in synth_1q(op_matrix(Op("h", (b,))), style))
            else:
                out.extend(synth_ops(op_matrix(op), op.qubits[0], style))
        if self.basis == "clifford_t":
            out = self._to_words(out)
        if style == "u":  # one u per run of one-qubit gates
            out = resynth_ops(out, circuit.n_qubits, "u")
        return to_circuit(out, circuit)

    @staticmethod
    def _to_words(ops: list[Op]) -> list[Op]:
        res: list[Op] = []
        for op in ops:
            if op.name != "rz" or op.opaque:
                res.append(op)
                continue
            assert op.angle is not None
            word = phase_word(op.angle)
            if word is None:
                raise CompileError(f"rz({op.angle!r}) on qubit {op.qubits[0]} is not a multiple of pi/4, so "
                                   "Clifford+T cannot express it exactly; use basis 'nam' or 'ibm' instead")
            if not is_zero_angle(op.angle):
                res.extend(Op(g, op.qubits) for g in word)
        return res
