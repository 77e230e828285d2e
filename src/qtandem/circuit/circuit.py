"""The one circuit representation: :class:`Circuit`.

Examples:
    >>> from qtandem import Circuit, Parameter
    >>> theta = Parameter("theta")
    >>> c = Circuit(2).h(0).cx(0, 1).rz(theta, 1)
    >>> c.count_ops()
    {'h': 1, 'cx': 1, 'rz': 1}
    >>> c.parameters
    [Parameter('theta')]
    >>> c.bind({"theta": 0.5}).parameters
    []
    >>> c.depth()
    3
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem import hooks
from qtandem.circuit.gates import GATES, fold_controls, get_gate, inverse_of
from qtandem.circuit.instruction import NON_UNITARY, Instruction, delay_ns
from qtandem.circuit.parameter import Angle, Parameter, ParameterExpression
from qtandem.errors import CircuitError, ParameterError

if TYPE_CHECKING:
    import torch

__all__ = ["Circuit", "inverse_instruction"]

QubitArg = int | Iterable[int]

def inverse_instruction(inst: Instruction) -> Instruction:
    """The adjoint of one gate (barriers and delays are returned unchanged).

    Uses the registry's named inverse where one exists (``s`` -> ``sdg``,
    ``rx(t)`` -> ``rx(-t)``), the conjugate transpose for ``unitary``, and the
    ``inverted`` flag otherwise.

    Raises:
        CircuitError: for ``measure`` and ``reset``.

    Examples:
        >>> from qtandem.circuit import Instruction
        >>> inverse_instruction(Instruction("s", [0])).name
        'sdg'
        >>> inverse_instruction(Instruction("rx", [0], [0.5])).params
        (-0.5,)
    """
    if inst.name in ("measure", "reset"):
        raise CircuitError(f"cannot invert {inst.name}: it is not unitary")
    if inst.name in ("barrier", "delay"):
        return inst
    if inst.name == "unitary":
        assert inst.matrix is not None
        return inst.replace(matrix=inst.matrix.conj().T)
    named = None if inst.inverted else inverse_of(inst.name, inst.params)
    if named is not None:
        return inst.replace(name=named[0], params=named[1])
    return inst.replace(inverted=not inst.inverted)


class Circuit:
    """A quantum circuit on ``n_qubits`` qubits and ``n_clbits`` classical bits.

    Builder methods append one instruction and return the circuit, so calls chain.
    Qubits are integers ``0..n_qubits-1``; qubit 0 is the least significant bit of
    basis-state indices (see the README's bit-ordering section).

    Args:
        n_qubits: number of qubits (>= 0).
        n_clbits: number of classical bits (>= 0).
        name: optional name (used by OpenQASM export and reports).
        qregs: optional ``[(name, size), ...]`` register layout covering the qubits
            in order (kept for OpenQASM round trips); default one register ``q``.
        cregs: the same for classical bits; default one register ``c``.

    Raises:
        CircuitError: for negative sizes or registers that do not add up.

    Examples:
        >>> from qtandem import Circuit
        >>> bell = Circuit(2, 2, name="bell").h(0).cx(0, 1).measure([0, 1], [0, 1])
        >>> bell.n_qubits, bell.n_clbits, len(bell)
        (2, 2, 4)
        >>> bell.count_ops()
        {'h': 1, 'cx': 1, 'measure': 2}
    """

    def __init__(
        self,
        n_qubits: int,
        n_clbits: int = 0,
        *,
        name: str | None = None,
        qregs: Sequence[tuple[str, int]] | None = None,
        cregs: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        if isinstance(n_qubits, bool) or not isinstance(n_qubits, (int, np.integer)) or n_qubits < 0:
            raise CircuitError(f"n_qubits must be a non-negative integer, got {n_qubits!r}")
        if isinstance(n_clbits, bool) or not isinstance(n_clbits, (int, np.integer)) or n_clbits < 0:
            raise CircuitError(f"n_clbits must be a non-negative integer, got {n_clbits!r}")
        self._n_qubits = int(n_qubits)
        self._n_clbits = int(n_clbits)
        self.name = name
        self.qregs = self._check_regs(qregs, self._n_qubits, "q", "qregs")
        self.cregs = self._check_regs(cregs, self._n_clbits, "c", "cregs")
        self._instructions: list[Instruction] = []
        # custom gates read from OpenQASM, kept so writers can emit them again (a hint: writers check
        # that instructions start:end still expand gate_definitions[name] before using a call)
        self.gate_definitions: dict[str, tuple[list[str], list[str], list[Instruction]]] = {}
        """``name -> (parameter names, qubit names, body on qubits 0..k-1, angles in those parameters)``."""
        self.gate_calls: list[tuple[int, int, str, tuple[Angle, ...], tuple[int, ...]]] = []
        """``(start, end, name, angles, qubits)``: instructions ``start:end`` came from one call of ``name``."""

    @staticmethod
    def _check_regs(regs: Sequence[tuple[str, int]] | None, total: int, default: str,
                    what: str) -> list[tuple[str, int]]:
        if regs is None:
            return [(default, total)] if total else []
        regs = [(str(n), int(s)) for n, s in regs]
        if sum(s for _, s in regs) != total:
            raise CircuitError(f"{what} sizes add up to {sum(s for _, s in regs)}, expected {total}")
        return regs

    # -- size ----------------------------------------------------------------
    @property
    def n_qubits(self) -> int:
        """Number of qubits."""
        return self._n_qubits

    @property
    def n_clbits(self) -> int:
        """Number of classical bits."""
        return self._n_clbits

    num_qubits = n_qubits
    num_clbits = n_clbits

    # -- generic append --------------------------------------------------------
    def append(
        self,
        op: str | Instruction,
        qubits: Sequence[int] | None = None,
        params: Sequence[Angle] = (),
        clbits: Sequence[int] = (),
        **kwargs: Any,
    ) -> Circuit:
        """Append an instruction, given by name or as an :class:`Instruction`.

        Args:
            op: gate name (see ``qtandem.circuit.gates.GATES``), ``"measure"``,
                ``"reset"``, ``"barrier"``, or an ``Instruction``.
            qubits: qubit indices (controls first).
            params: angles.
            clbits: classical bits (for ``measure``).
            **kwargs: ``matrix``, ``ctrl``, ``inverted``, ``condition`` (see ``Instruction``).

        Returns:
            ``self``.

        Raises:
            CircuitError: unknown gate, wrong number of qubits or angles, qubit or
                bit out of range, repeated qubit, non-unitary matrix.
        """
        if isinstance(op, Instruction):
            inst = op
        else:
            if qubits is None:
                raise CircuitError(f"append({op!r}) needs the qubits it acts on")
            inst = Instruction(op, qubits, params, clbits, **kwargs)
        inst = self._canonical(inst)
        self._validate(inst)
        self._instructions.append(inst)
        return self

    @staticmethod
    def _canonical(inst: Instruction) -> Instruction:
        """One spelling per operation: named inverses replace ``inverted``, controls fold into names."""
        if not inst.is_gate or inst.name not in GATES:
            return inst
        if inst.inverted:
            named = inverse_of(inst.name, inst.params) if len(inst.params) == GATES[inst.name].num_params else None
            if named is None:
                return inst
            inst = inst.replace(name=named[0], params=named[1], inverted=False)
        if inst.ctrl or inst.name == "mcx":
            name, ctrl = fold_controls(inst.name, inst.ctrl, len(inst.qubits))
            if (name, ctrl) != (inst.name, inst.ctrl):
                inst = inst.replace(name=name, ctrl=ctrl)
        return inst

    def _validate(self, inst: Instruction) -> None:
        where = f"instruction {len(self._instructions)} ({inst.label})"
        for q in inst.qubits:
            if not 0 <= q < self._n_qubits:
                hint = f"valid: 0..{self._n_qubits - 1}" if self._n_qubits else "the circuit has no qubits"
                raise CircuitError(f"qubit {q} is out of range for a circuit of {self._n_qubits} qubits ({hint})")
        if len(set(inst.qubits)) != len(inst.qubits):
            raise CircuitError(f"{where}: repeated qubit in {list(inst.qubits)}")
        bits = inst.clbits + (inst.condition[0] if inst.condition else ())
        for c in bits:
            if not 0 <= c < self._n_clbits:
                raise CircuitError(f"{where}: classical bit {c} is out of range for {self._n_clbits} classical bits")
        if inst.name in NON_UNITARY:
            if inst.name == "measure" and len(inst.clbits) != len(inst.qubits):
                raise CircuitError(f"{where}: measure needs one classical bit per qubit")
            if inst.name != "barrier" and not inst.qubits:
                raise CircuitError(f"{where}: needs at least one qubit")
            if inst.name == "delay":
                if inst.condition is not None:
                    raise CircuitError(f"{where}: a delay cannot be conditional")
                if len(inst.params) != 1 or inst.clbits:
                    raise CircuitError(f"{where}: delay takes one duration (ns) and no classical bits, got "
                                       f"params {list(inst.params)} and clbits {list(inst.clbits)}")
                try:
                    delay_ns(inst.params[0])
                except CircuitError as exc:
                    raise CircuitError(f"{where}: {exc}") from None
            elif inst.params:
                raise CircuitError(f"{where}: {inst.name} takes no angles, got {list(inst.params)}")
            return
        spec = get_gate(inst.name)
        if len(inst.params) != spec.num_params:
            raise CircuitError(f"{where}: gate {inst.name!r} takes {spec.num_params} angle(s), got {len(inst.params)}")
        k = len(inst.qubits) - inst.ctrl
        if inst.ctrl < 0 or k < 1:
            raise CircuitError(f"{where}: bad control count {inst.ctrl} for {len(inst.qubits)} qubits")
        if spec.num_qubits is not None and k != spec.num_qubits:
            raise CircuitError(f"{where}: gate {inst.name!r} acts on {spec.num_qubits} qubit(s), got {k}")
        if inst.name == "mcx" and k < 2:
            raise CircuitError(f"{where}: mcx needs at least one control and a target")
        if inst.name == "unitary":
            m = inst.matrix
            if m is None or m.shape != (2**k, 2**k):
                shape = None if m is None else m.shape
                raise CircuitError(f"{where}: unitary on {k} qubit(s) needs a {2**k}x{2**k} matrix, got {shape}")
            err = np.abs(m @ m.conj().T - np.eye(2**k)).max()
            if err > 1e-8:
                raise CircuitError(f"{where}: matrix is not unitary (max |U U^dagger - I| = {err:.2e})")
        elif inst.matrix is not None:
            raise CircuitError(f"{where}: only 'unitary' instructions carry a matrix")

    # -- builder methods -----------------------------------------------------
    def _1q(self, name: str, qubit: QubitArg, *params: Angle) -> Circuit:
        qs = [qubit] if isinstance(qubit, (int, np.integer)) else list(qubit)
        for q in qs:
            self.append(name, (q,), params)
        return self

    def id(self, qubit: QubitArg) -> Circuit:
        """Identity."""
        return self._1q("id", qubit)

    def x(self, qubit: QubitArg) -> Circuit:
        """Pauli X."""
        return self._1q("x", qubit)

    def y(self, qubit: QubitArg) -> Circuit:
        """Pauli Y."""
        return self._1q("y", qubit)

    def z(self, qubit: QubitArg) -> Circuit:
        """Pauli Z."""
        return self._1q("z", qubit)

    def h(self, qubit: QubitArg) -> Circuit:
        """Hadamard."""
        return self._1q("h", qubit)

    def s(self, qubit: QubitArg) -> Circuit:
        """S = sqrt(Z)."""
        return self._1q("s", qubit)

    def sdg(self, qubit: QubitArg) -> Circuit:
        """S dagger."""
        return self._1q("sdg", qubit)

    def t(self, qubit: QubitArg) -> Circuit:
        """T = Z^(1/4)."""
        return self._1q("t", qubit)

    def tdg(self, qubit: QubitArg) -> Circuit:
        """T dagger."""
        return self._1q("tdg", qubit)

    def sx(self, qubit: QubitArg) -> Circuit:
        """sqrt(X)."""
        return self._1q("sx", qubit)

    def sxdg(self, qubit: QubitArg) -> Circuit:
        """sqrt(X) dagger."""
        return self._1q("sxdg", qubit)

    def rx(self, theta: Angle, qubit: QubitArg) -> Circuit:
        """exp(-i theta X/2)."""
        return self._1q("rx", qubit, theta)

    def ry(self, theta: Angle, qubit: QubitArg) -> Circuit:
        """exp(-i theta Y/2)."""
        return self._1q("ry", qubit, theta)

    def rz(self, theta: Angle, qubit: QubitArg) -> Circuit:
        """exp(-i theta Z/2)."""
        return self._1q("rz", qubit, theta)

    def p(self, lam: Angle, qubit: QubitArg) -> Circuit:
        """Phase gate diag(1, e^{i lam})."""
        return self._1q("p", qubit, lam)

    def u(self, theta: Angle, phi: Angle, lam: Angle, qubit: QubitArg) -> Circuit:
        """Generic single-qubit gate U(theta, phi, lam)."""
        return self._1q("u", qubit, theta, phi, lam)

    def u1(self, lam: Angle, qubit: QubitArg) -> Circuit:
        """u1(lam) = p(lam)."""
        return self._1q("u1", qubit, lam)

    def u2(self, phi: Angle, lam: Angle, qubit: QubitArg) -> Circuit:
        """u2(phi, lam) = U(pi/2, phi, lam)."""
        return self._1q("u2", qubit, phi, lam)

    def u3(self, theta: Angle, phi: Angle, lam: Angle, qubit: QubitArg) -> Circuit:
        """u3 = U."""
        return self._1q("u3", qubit, theta, phi, lam)

    def cx(self, control: int, target: int) -> Circuit:
        """Controlled X."""
        return self.append("cx", (control, target))

    def cy(self, control: int, target: int) -> Circuit:
        """Controlled Y."""
        return self.append("cy", (control, target))

    def cz(self, control: int, target: int) -> Circuit:
        """Controlled Z."""
        return self.append("cz", (control, target))

    def ch(self, control: int, target: int) -> Circuit:
        """Controlled Hadamard."""
        return self.append("ch", (control, target))

    def csx(self, control: int, target: int) -> Circuit:
        """Controlled sqrt(X)."""
        return self.append("csx", (control, target))

    def swap(self, a: int, b: int) -> Circuit:
        """Swap two qubits."""
        return self.append("swap", (a, b))

    def iswap(self, a: int, b: int) -> Circuit:
        """iSWAP."""
        return self.append("iswap", (a, b))

    def crx(self, theta: Angle, control: int, target: int) -> Circuit:
        """Controlled RX."""
        return self.append("crx", (control, target), (theta,))

    def cry(self, theta: Angle, control: int, target: int) -> Circuit:
        """Controlled RY."""
        return self.append("cry", (control, target), (theta,))

    def crz(self, theta: Angle, control: int, target: int) -> Circuit:
        """Controlled RZ."""
        return self.append("crz", (control, target), (theta,))

    def cp(self, lam: Angle, control: int, target: int) -> Circuit:
        """Controlled phase."""
        return self.append("cp", (control, target), (lam,))

    def cu(self, theta: Angle, phi: Angle, lam: Angle, gamma: Angle, control: int, target: int) -> Circuit:
        """Controlled U with phase gamma on the controlled branch."""
        return self.append("cu", (control, target), (theta, phi, lam, gamma))

    def rxx(self, theta: Angle, a: int, b: int) -> Circuit:
        """exp(-i theta XX/2)."""
        return self.append("rxx", (a, b), (theta,))

    def ryy(self, theta: Angle, a: int, b: int) -> Circuit:
        """exp(-i theta YY/2)."""
        return self.append("ryy", (a, b), (theta,))

    def rzz(self, theta: Angle, a: int, b: int) -> Circuit:
        """exp(-i theta ZZ/2)."""
        return self.append("rzz", (a, b), (theta,))

    def ccx(self, control1: int, control2: int, target: int) -> Circuit:
        """Toffoli."""
        return self.append("ccx", (control1, control2, target))

    def cswap(self, control: int, a: int, b: int) -> Circuit:
        """Fredkin (controlled swap)."""
        return self.append("cswap", (control, a, b))

    def mcx(self, controls: Sequence[int], target: int) -> Circuit:
        """X on ``target`` controlled on every qubit of ``controls`` (any number).

        One control gives ``cx``, two give ``ccx``, more an ``mcx`` instruction.
        """
        controls = [int(c) for c in controls]
        if not controls:
            return self.x(target)
        name = {1: "cx", 2: "ccx"}.get(len(controls), "mcx")
        return self.append(name, (*controls, target))

    def unitary(self, matrix: Any, qubits: Sequence[int] | int) -> Circuit:
        """Apply an arbitrary unitary; ``qubits[0]`` is the least significant bit of its index."""
        qs = (qubits,) if isinstance(qubits, (int, np.integer)) else tuple(qubits)
        return self.append("unitary", qs, matrix=np.asarray(matrix))

    def measure(self, qubit: int | Sequence[int], clbit: int | Sequence[int]) -> Circuit:
        """Measure qubit(s) in the Z basis into classical bit(s)."""
        qs = [qubit] if isinstance(qubit, (int, np.integer)) else list(qubit)
        cs = [clbit] if isinstance(clbit, (int, np.integer)) else list(clbit)
        if len(qs) != len(cs):
            raise CircuitError(f"measure got {len(qs)} qubits but {len(cs)} classical bits")
        for q, c in zip(qs, cs, strict=True):
            self.append("measure", (q,), (), (c,))
        return self

    def measure_all(self) -> Circuit:
        """Measure every qubit ``i`` into classical bit ``i``, adding bits if needed."""
        if self._n_clbits < self._n_qubits:
            extra = self._n_qubits - self._n_clbits
            self.cregs = [*self.cregs, ("meas" if self.cregs else "c", extra)]
            self._n_clbits = self._n_qubits
        return self.measure(range(self._n_qubits), range(self._n_qubits))

    def reset(self, qubit: QubitArg) -> Circuit:
        """Reset qubit(s) to |0>."""
        return self._1q("reset", qubit)

    def barrier(self, *qubits: int) -> Circuit:
        """A barrier on the given qubits (all when none given)."""
        return self.append("barrier", qubits or tuple(range(self._n_qubits)))

    def delay(self, duration: float, qubits: QubitArg | None = None, unit: str = "ns") -> Circuit:
        """Let qubits idle for ``duration`` (one ``delay`` instruction; they idle together).

        The duration is stored in nanoseconds. Ideal simulation treats a delay as the
        identity; a noise model with idle relaxation (T1/T2), detuning or ZZ acts on it;
        the compiler keeps it in place and never moves a gate across it.

        Args:
            duration: idle time, a number >= 0 (not a ``Parameter``).
            qubits: one qubit, several, or ``None`` for every qubit.
            unit: ``"ns"``, ``"us"`` (also ``"µs"``), ``"ms"`` or ``"s"``.

        Returns:
            ``self``.

        Raises:
            CircuitError: negative or symbolic duration, unknown unit (``"dt"``
                included: a circuit does not know a device's sample time), qubit out
                of range.

        Examples:
            >>> c = Circuit(2).x(0).delay(1.5, 0, unit="us").delay(20, [0, 1])
            >>> [(i.name, i.qubits, i.params) for i in c if i.name == "delay"]
            [('delay', (0,), (1500.0,)), ('delay', (0, 1), (20.0,))]
            >>> c.num_gates(), c.depth()
            (1, 1)
        """
        ns = delay_ns(duration, unit)
        if qubits is None:
            qs: tuple[int, ...] = tuple(range(self._n_qubits))
        elif isinstance(qubits, (int, np.integer)):
            qs = (int(qubits),)
        else:
            qs = tuple(qubits)
        return self.append("delay", qs, (ns,))

    # -- container protocol ----------------------------------------------------
    @property
    def instructions(self) -> list[Instruction]:
        """A copy of the instruction list."""
        return list(self._instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self._instructions)

    def __len__(self) -> int:
        return len(self._instructions)

    def __getitem__(self, index: int) -> Instruction:
        return self._instructions[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (
            self._n_qubits == other._n_qubits
            and self._n_clbits == other._n_clbits
            and self._instructions == other._instructions
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Circuit(n_qubits={self._n_qubits}, n_clbits={self._n_clbits}, instructions={len(self)})"

    def __str__(self) -> str:
        return self.draw()

    # -- parameters ----------------------------------------------------------
    @property
    def parameters(self) -> list[Parameter]:
        """Free parameters in order of first appearance (the order of a params tensor)."""
        seen: dict[Parameter, None] = {}
        for inst in self._instructions:
            for p in inst.params:
                if isinstance(p, ParameterExpression):
                    for q in p.parameters:
                        seen.setdefault(q, None)
        return list(seen)

    @property
    def num_parameters(self) -> int:
        """Number of free parameters."""
        return len(self.parameters)

    def bind(self, values: Mapping[Parameter | str, float] | Sequence[float] | np.ndarray) -> Circuit:
        """Return a copy with parameters replaced by values.

        Args:
            values: ``{Parameter or name: value}`` (partial binding allowed), or a
                sequence with one value per parameter in the order of ``parameters``.

        Raises:
            ParameterError: unknown parameter names or a wrong-length sequence.
        """
        params = self.parameters
        if not isinstance(values, Mapping):
            vals = np.asarray(values, dtype=float).reshape(-1)
            if vals.shape[0] != len(params):
                names = [p.name for p in params]
                raise ParameterError(f"bind got {vals.shape[0]} values for {len(params)} parameters {names}")
            mapping: dict[Parameter | str, float] = {p.name: float(v) for p, v in zip(params, vals, strict=True)}
        else:
            known = {p.name for p in params}
            for k in values:
                name = k.name if isinstance(k, Parameter) else str(k)
                if name not in known:
                    raise ParameterError(f"bind: circuit has no parameter {name!r} (it has {sorted(known)})")
            mapping = dict(values)
        out = self._empty_like()
        for inst in self._instructions:
            if inst.is_parametrized:
                new = tuple(p.bind(mapping) if isinstance(p, ParameterExpression) else p for p in inst.params)
                inst = inst.replace(params=new)
            out._instructions.append(inst)
        return out

    # -- whole-circuit operations ----------------------------------------------
    def _empty_like(self) -> Circuit:
        out = Circuit(self._n_qubits, self._n_clbits, name=self.name, qregs=self.qregs, cregs=self.cregs)
        return out

    def copy(self) -> Circuit:
        """A shallow copy (instructions are immutable)."""
        out = self._empty_like()
        out._instructions = list(self._instructions)
        out.gate_definitions = dict(self.gate_definitions)
        out.gate_calls = list(self.gate_calls)
        return out

    def compose(self, other: Circuit, qubits: Sequence[int] | None = None, clbits: Sequence[int] | None = None,
                *, front: bool = False) -> Circuit:
        """Return ``self`` followed by ``other`` (or preceded, with ``front=True``).

        Args:
            other: circuit to add.
            qubits: where ``other``'s qubit ``i`` lands (default: the same index).
            clbits: the same for classical bits.
        """
        qmap = list(range(other.n_qubits)) if qubits is None else [int(q) for q in qubits]
        cmap = list(range(other.n_clbits)) if clbits is None else [int(c) for c in clbits]
        if len(qmap) != other.n_qubits or len(cmap) != other.n_clbits:
            raise CircuitError(f"compose: mapping sizes ({len(qmap)} qubits, {len(cmap)} bits) do not match "
                               f"the circuit added ({other.n_qubits} qubits, {other.n_clbits} bits)")
        if qubits is None and other.n_qubits > self._n_qubits:
            raise CircuitError(f"compose: cannot add a {other.n_qubits}-qubit circuit to a {self._n_qubits}-qubit one")
        mapped = Circuit(self._n_qubits, self._n_clbits)
        for inst in other:
            cond = None if inst.condition is None else (tuple(cmap[c] for c in inst.condition[0]), inst.condition[1])
            mapped.append(inst.replace(qubits=tuple(qmap[q] for q in inst.qubits),
                                       clbits=tuple(cmap[c] for c in inst.clbits), condition=cond))
        out = self.copy()
        if front:
            out._instructions = mapped._instructions + out._instructions
        else:
            out._instructions = out._instructions + mapped._instructions
        return out

    def inverse(self) -> Circuit:
        """The adjoint circuit: gates reversed and inverted.

        Raises:
            CircuitError: if the circuit measures or resets (not unitary).
        """
        out = self._empty_like()
        for idx in range(len(self._instructions) - 1, -1, -1):
            inst = self._instructions[idx]
            if inst.name in ("measure", "reset"):
                raise CircuitError(f"cannot invert instruction {idx} ({inst.name}): it is not unitary")
            out._instructions.append(inverse_instruction(inst))
        return out

    def repeat(self, reps: int) -> Circuit:
        """The circuit repeated ``reps`` times."""
        if reps < 0:
            raise CircuitError(f"repeat needs reps >= 0, got {reps}")
        out = self._empty_like()
        out._instructions = list(self._instructions) * int(reps)
        return out

    def depth(self) -> int:
        """Number of layers when every instruction starts as early as it can.

        Barriers and delays count 0 (a delay is an idle interval, not a gate layer)
        but, like a barrier, line up the qubits they cover.
        """
        level_q = [0] * self._n_qubits
        level_c = [0] * self._n_clbits
        for inst in self._instructions:
            bits = list(inst.clbits) + (list(inst.condition[0]) if inst.condition else [])
            start = max([level_q[q] for q in inst.qubits] + [level_c[c] for c in bits], default=0)
            new = start if inst.name in ("barrier", "delay") else start + 1
            for q in inst.qubits:
                level_q[q] = new
            for c in bits:
                level_c[c] = new
        return max(level_q + level_c, default=0)

    def count_ops(self) -> dict[str, int]:
        """``{label: count}`` in order of first appearance."""
        counts: dict[str, int] = {}
        for inst in self._instructions:
            counts[inst.label] = counts.get(inst.label, 0) + 1
        return counts

    def num_gates(self) -> int:
        """Number of unitary gates (no measure, reset, barrier or delay)."""
        return sum(1 for inst in self._instructions if inst.is_gate)

    # -- conversions (thin wrappers over other layers) -------------------------
    def to_matrix(self, *, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The circuit's unitary as a dense ``(2**n, 2**n)`` tensor (small circuits only).

        Delegates to :func:`qtandem.sim.unitary` (through :mod:`qtandem.hooks`: the circuit
        layer does not import the simulator).
        """
        unitary = hooks.lookup("to_matrix")
        return unitary(self) if dtype is None else unitary(self, dtype=dtype)

    def draw(self, *, max_width: int = 120) -> str:
        """Text drawing, one wire per qubit (see :func:`qtandem.circuit.draw.draw_text`)."""
        from qtandem.circuit.draw import draw_text

        return draw_text(self, max_width=max_width)

    @classmethod
    def from_qasm(cls, text: str, *, filename: str = "<string>") -> Circuit:
        """Parse OpenQASM 2 or 3 text (see :mod:`qtandem.qasm`; found through :mod:`qtandem.hooks`)."""
        out = hooks.lookup("from_qasm")(text, filename=filename)
        assert isinstance(out, cls)
        return out

    def to_qasm(self, version: int = 2) -> str:
        """Write OpenQASM 2 or 3 text (see :mod:`qtandem.qasm`; found through :mod:`qtandem.hooks`)."""
        return str(hooks.lookup("to_qasm")(self, version=version))

