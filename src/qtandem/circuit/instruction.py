"""One operation in a circuit: :class:`Instruction`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qtandem.circuit.parameter import Angle, ParameterExpression, is_symbolic
from qtandem.errors import CircuitError

__all__ = ["DELAY_UNITS", "NON_UNITARY", "Instruction", "delay_ns"]

NON_UNITARY = frozenset({"measure", "reset", "barrier", "delay"})
"""Instruction names that are not gates.

``delay`` is an idle interval: ``params[0]`` is its duration in nanoseconds (a
plain float >= 0). Ideal simulation treats it as the identity; noise models give
it idle relaxation; the compiler keeps it in place as a timing barrier.
"""

DELAY_UNITS = {"ns": 1.0, "us": 1e3, "\u00b5s": 1e3, "\u03bcs": 1e3, "ms": 1e6, "s": 1e9}
"""Nanoseconds per unit of a ``delay`` duration (``us``, ``µs`` and ``μs`` are the same unit)."""


def delay_ns(duration: object, unit: str = "ns") -> float:
    """A ``delay`` duration converted to nanoseconds, checked.

    Args:
        duration: a real number >= 0 (never a symbolic ``Parameter``).
        unit: one of ``"ns"``, ``"us"`` (also ``"µs"``), ``"ms"``, ``"s"``.

    Returns:
        The duration in nanoseconds.

    Raises:
        CircuitError: for a negative, non-finite or symbolic duration, for ``"dt"``
            (a device's sample time, unknown to a circuit) and for any other unit.

    Examples:
        >>> delay_ns(1.5, "us")
        1500.0
        >>> delay_ns(10, "dt")
        Traceback (most recent call last):
        ...
        qtandem.errors.CircuitError: delay unit 'dt' (a device's sample time) is not known to a circuit; \
give the duration in ns, us (or µs), ms or s
    """
    units = "ns, us (or µs), ms or s"
    if unit not in DELAY_UNITS:
        if unit == "dt":
            raise CircuitError(f"delay unit 'dt' (a device's sample time) is not known to a circuit; "
                               f"give the duration in {units}")
        raise CircuitError(f"unknown delay unit {unit!r}; accepted units: {units}")
    if is_symbolic(duration):
        raise CircuitError(f"a delay duration must be a number, got the symbolic {duration}; bind it first")
    if isinstance(duration, bool):
        raise CircuitError(f"a delay duration must be a number, got {duration!r}")
    try:
        value = float(duration)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CircuitError(f"a delay duration must be a number, got {duration!r}") from None
    if not np.isfinite(value) or value < 0:
        raise CircuitError(f"a delay duration must be finite and >= 0, got {duration!r} {unit}")
    return value * DELAY_UNITS[unit]


class Instruction:
    """An immutable operation: a gate, ``measure``, ``reset``, ``barrier`` or ``delay``.

    Args:
        name: registered gate name, or ``"measure"``, ``"reset"``, ``"barrier"``,
            ``"delay"`` (``params=(duration_ns,)``).
        qubits: qubit indices; for controlled gates the controls come first.
        params: angles (floats or :class:`ParameterExpression`).
        clbits: classical bits written (``measure``) or read (``condition``).
        matrix: the matrix of a ``"unitary"`` instruction.
        ctrl: extra control qubits added by an OpenQASM 3 ``ctrl @`` modifier;
            they are the first ``ctrl`` entries of ``qubits``.
        inverted: the gate is applied as its adjoint (``inv @`` on a gate whose
            inverse has no name of its own).
        condition: ``(clbits, value)``: apply only if the integer read from
            ``clbits`` (first bit least significant) equals ``value``.

    Examples:
        >>> inst = Instruction("cx", [0, 1])
        >>> inst.name, inst.qubits, inst.params
        ('cx', (0, 1), ())
        >>> Instruction("delay", [0, 1], [100.0]).is_gate
        False
    """

    __slots__ = ("clbits", "condition", "ctrl", "inverted", "matrix", "name", "params", "qubits")

    def __init__(
        self,
        name: str,
        qubits: Sequence[int],
        params: Sequence[Angle] = (),
        clbits: Sequence[int] = (),
        *,
        matrix: np.ndarray | None = None,
        ctrl: int = 0,
        inverted: bool = False,
        condition: tuple[tuple[int, ...], int] | None = None,
    ) -> None:
        self.name = name
        self.qubits = _indices(qubits, name, "qubit")
        try:
            self.params: tuple[Angle, ...] = tuple(
                p if isinstance(p, ParameterExpression) and is_symbolic(p) else float(p) for p in params
            )
        except (TypeError, ValueError):
            raise CircuitError(f"{name}: angles must be numbers or Parameters, got {list(params)!r}") from None
        self.clbits = _indices(clbits, name, "classical bit")
        if matrix is not None:
            matrix = np.array(matrix, dtype=np.complex128)
            matrix.setflags(write=False)
        self.matrix = matrix
        self.ctrl = int(ctrl)
        self.inverted = bool(inverted)
        self.condition = None if condition is None else (tuple(int(c) for c in condition[0]), int(condition[1]))

    @property
    def is_gate(self) -> bool:
        """True for unitary gates (not measure, reset, barrier or delay)."""
        return self.name not in NON_UNITARY

    @property
    def label(self) -> str:
        """Name including modifiers, as shown by ``count_ops`` (``"ctrl(2)@ry"``)."""
        s = self.name
        if self.inverted:
            s = f"inv@{s}"
        if self.ctrl:
            s = f"ctrl({self.ctrl})@{s}" if self.ctrl > 1 else f"ctrl@{s}"
        return s

    @property
    def is_parametrized(self) -> bool:
        """True if any angle is symbolic."""
        return any(isinstance(p, ParameterExpression) for p in self.params)

    def replace(self, **changes: object) -> Instruction:
        """Return a copy with some fields replaced."""
        fields = {s: getattr(self, s) for s in self.__slots__}
        fields.update(changes)
        args = (fields.pop("name"), fields.pop("qubits"), fields.pop("params"), fields.pop("clbits"))
        return Instruction(*args, **fields)  # type: ignore[arg-type]

    def _key(self) -> tuple:
        m = None if self.matrix is None else (self.matrix.shape, self.matrix.tobytes())
        return (self.name, self.qubits, self.params, self.clbits, m, self.ctrl, self.inverted, self.condition)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [repr(self.label), f"qubits={self.qubits}"]
        if self.params:
            parts.append(f"params=({', '.join(str(p) for p in self.params)})")
        if self.clbits:
            parts.append(f"clbits={self.clbits}")
        if self.condition is not None:
            parts.append(f"condition={self.condition}")
        return f"Instruction({', '.join(parts)})"


def _indices(values: Sequence[int], name: str, what: str) -> tuple[int, ...]:
    try:
        items = list(values)
    except TypeError:
        raise CircuitError(f"{name}: {what} indices must be integers, got {values!r}") from None
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise CircuitError(f"{name}: {what} indices must be integers, got {v!r} in {items!r}")
        out.append(int(v))
    return tuple(out)
