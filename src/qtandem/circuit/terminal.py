"""Which measurements are terminal: the one decision shared by sampling, noise and routing.

A ``measure`` instruction is **terminal** when nothing that comes after it can see
or change its qubits or its outcome:

* no later instruction other than a barrier acts on any of its qubits (another
  ``measure`` or a ``reset`` of the qubit counts), and
* no classically controlled instruction comes after it (it could read the bit), and
* it is not classically controlled itself.

Measuring every terminal measurement at the very end of the circuit, in circuit order
(so that a classical bit written twice keeps the later value), then gives the same
joint distribution: samplers draw them from the final state, density matrices skip
them, and routing lifts them off before routing and puts them back after.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2, 2).h(0).measure(0, 0).cx(0, 1).measure(1, 1)
    >>> m = terminal_measurements(c)
    >>> sorted(m.indices), m.pairs, m.all_terminal     # the first measure is followed by a cx on qubit 0
    ([3], ((1, 1),), False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qtandem.circuit.circuit import Circuit

__all__ = ["TerminalMeasurements", "terminal_measurements"]


@dataclass(frozen=True)
class TerminalMeasurements:
    """The terminal measurements of a circuit.

    Attributes:
        indices: instruction indices of the terminal ``measure`` instructions.
        pairs: their ``(qubit, clbit)`` pairs, in circuit order.
        all_terminal: every ``measure`` of the circuit is terminal (True when there is none).
        any_measure: the circuit has at least one ``measure``.
        single_run: one simulation serves every shot: all measurements are terminal and
            nothing is reset or classically controlled (samplers then draw every shot from
            the final state).

    Examples:
        >>> from qtandem import Circuit
        >>> m = terminal_measurements(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]))
        >>> sorted(m.indices), m.pairs, m.all_terminal, m.any_measure
        ([2, 3], ((0, 0), (1, 1)), True, True)
    """

    indices: frozenset[int]
    pairs: tuple[tuple[int, int], ...]
    all_terminal: bool
    any_measure: bool
    single_run: bool


def terminal_measurements(circuit: Circuit) -> TerminalMeasurements:
    """Find the terminal measurements of ``circuit`` (definition in the module docstring).

    Args:
        circuit: any circuit.

    Returns:
        A :class:`TerminalMeasurements`.

    Examples:
        >>> from qtandem import Circuit
        >>> terminal_measurements(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])).pairs
        ((0, 0), (1, 1))
    """
    insts = list(circuit)
    last_conditioned = max((i for i, inst in enumerate(insts) if inst.condition is not None), default=-1)
    touched: set[int] = set()
    indices: set[int] = set()
    pairs: list[tuple[int, int]] = []
    n_measures = 0
    for idx in range(len(insts) - 1, -1, -1):
        inst = insts[idx]
        if inst.name == "barrier":
            continue
        if inst.name == "measure":
            n_measures += 1
            if idx > last_conditioned and not touched.intersection(inst.qubits):
                indices.add(idx)
                pairs.extend(reversed(list(zip(inst.qubits, inst.clbits, strict=True))))
        touched.update(inst.qubits)
    all_terminal = len(indices) == n_measures
    single_run = all_terminal and last_conditioned < 0 and not any(inst.name == "reset" for inst in insts)
    return TerminalMeasurements(frozenset(indices), tuple(reversed(pairs)), all_terminal, n_measures > 0,
                                single_run)
