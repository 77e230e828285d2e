"""Expectation values estimated from shots, as on hardware.

A Pauli observable is split into groups that commute qubit by qubit
(:meth:`~qtandem.circuit.pauli.PauliSum.group_commuting`); each group is measured
in its own basis (``h`` for X, ``sdg; h`` for Y), ``shots`` times, and every
shot gives the group's value exactly. The estimate is the sum of the groups'
means, its standard error the square root of the sum of their variances of the
mean. The constant term is added exactly.

Examples:
    >>> import qtandem
    >>> bell = qtandem.Circuit(2).h(0).cx(0, 1)
    >>> est = estimate_expval(bell, qtandem.PauliSum.from_string("Z0 Z1 + X0 X1"), 1000, seed=1)
    >>> est.value, est.stderr, est.shots, est.bases
    (2.0, 0.0, 2000, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.pauli import PauliSum
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import ObservableError
from qtandem.random import Seed

__all__ = [
    "ExpvalEstimate",
    "basis_circuit",
    "basis_seed",
    "estimate_expval",
    "pauli_values",
    "without_terminal_measurements",
]


@dataclass(frozen=True)
class ExpvalEstimate:
    """An expectation value estimated from shots.

    Attributes:
        value: the estimate.
        stderr: its standard error (from the shots' sample variances).
        shots: shots spent in all (``shots_per_basis * bases``).
        bases: measured bases (qubit-wise commuting groups).

    Examples:
        >>> ExpvalEstimate(0.5, 0.01, 2000, 2).shots
        2000
    """

    value: float
    stderr: float
    shots: int
    bases: int


def without_terminal_measurements(circuit: Circuit) -> Circuit:
    """``circuit`` without its terminal measurements (registers kept).

    Examples:
        >>> c = Circuit(1, 1).h(0).measure(0, 0)
        >>> without_terminal_measurements(c).count_ops()
        {'h': 1}
    """
    drop = set(terminal_measurements(circuit).indices)
    out = Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name, qregs=circuit.qregs or None,
                  cregs=circuit.cregs or None)
    for i, inst in enumerate(circuit):
        if i not in drop:
            out.append(inst)
    return out


def basis_circuit(circuit: Circuit, group: PauliSum) -> tuple[Circuit, list[tuple[int, str]]]:
    """``circuit`` (terminal measurements left out) rotated so that ``group``'s Paulis read as Z, measured.

    Returns:
        The circuit, whose extra classical bits ``n_clbits + j`` (register ``basis``) hold the
        ``j``-th measured qubit, and the ``[(qubit, letter), ...]`` measured, in that order.

    Raises:
        ObservableError: two terms of ``group`` ask for different Paulis on one qubit.

    Examples:
        >>> c, measured = basis_circuit(Circuit(2).h(0), PauliSum.from_string("X0 Y1"))
        >>> measured, c.count_ops()
        ([(0, 'X'), (1, 'Y')], {'h': 3, 'measure': 2, 'sdg': 1})
    """
    letters: dict[int, str] = {}
    for _, word in group.terms:
        for q, p in word:
            if letters.setdefault(q, p) != p:
                raise ObservableError(f"terms of one basis disagree on qubit {q}: group them qubit-wise first")
    measured = sorted(letters.items())
    nc = circuit.n_clbits
    cregs = [*circuit.cregs, ("basis", len(measured))]
    out = Circuit(circuit.n_qubits, nc + len(measured), name=circuit.name, qregs=circuit.qregs or None, cregs=cregs)
    for inst in without_terminal_measurements(circuit):
        out.append(inst)
    for j, (q, p) in enumerate(measured):
        if p == "X":
            out.h(q)
        elif p == "Y":
            out.sdg(q).h(q)
        out.measure(q, nc + j)
    return out, measured


def pauli_values(group: PauliSum, measured: list[tuple[int, str]], bits: np.ndarray) -> np.ndarray:
    """The value of ``group`` for each row of measured ``bits`` (``(rows, len(measured))``, 0/1).

    Examples:
        >>> pauli_values(PauliSum.from_string("Z0 Z1 + 0.5*Z1"), [(0, "Z"), (1, "Z")],
        ...              np.array([[0, 0], [1, 0], [1, 1]])).tolist()
        [1.5, -0.5, 0.5]
    """
    column = {q: j for j, (q, _) in enumerate(measured)}
    signs = 1 - 2 * bits.astype(np.float64)
    total = np.zeros(bits.shape[0], dtype=np.float64)
    for coef, word in group.terms:
        term = np.full(bits.shape[0], float(coef.real))
        for q, _ in word:
            term = term * signs[:, column[q]]
        total += term
    return total


def basis_seed(seed: Seed, k: int) -> Seed:
    """The seed of the ``k``-th measured basis: an independent, reproducible stream per basis.

    An integer seed gives a generator of its own per basis; a generator is shared (drawn from in
    turn); ``None`` stays unseeded.

    Examples:
        >>> a, b = basis_seed(3, 0), basis_seed(3, 1)
        >>> bool(a.integers(10**9) != b.integers(10**9)), basis_seed(None, 0) is None
        (True, True)
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng([int(seed), k])


def estimate_expval(circuit: Circuit, observable: PauliSum | str, shots: int, *, params: Any = None,
                    noise: Any = None, seed: Seed = None, dtype: torch.dtype = torch.complex128) -> ExpvalEstimate:
    """Estimate ``<observable>`` from ``shots`` shots per measured basis.

    Args:
        circuit: the circuit (its terminal measurements are replaced by the bases' measurements;
            mid-circuit measurement, reset and feed-forward are kept).
        observable: a Hermitian :class:`~qtandem.circuit.pauli.PauliSum` (or its text).
        shots: shots per basis (>= 1).
        params: parameter values, as for :func:`qtandem.sample`.
        noise: a noise model or device, as for :func:`qtandem.sample` (readout errors included).
        seed: seed; each basis draws from its own stream derived from it.
        dtype: simulation dtype.

    Raises:
        ObservableError: a non-Hermitian observable or one wider than the circuit.
        SimulationError: ``shots < 1``.

    Examples:
        >>> import qtandem
        >>> est = estimate_expval(qtandem.Circuit(1).h(0), "X0 + Z0", 4000, seed=0)
        >>> round(est.value, 1), est.bases, est.shots
        (1.0, 2, 8000)
    """
    from qtandem.errors import SimulationError
    from qtandem.sim.sampling import sample

    obs = PauliSum.from_string(observable) if isinstance(observable, str) else observable
    if shots < 1:
        raise SimulationError(f"shots must be >= 1, got {shots}")
    if obs.num_qubits > circuit.n_qubits:
        raise ObservableError(f"the observable acts on qubit {obs.num_qubits - 1} but the circuit has "
                              f"{circuit.n_qubits} qubits")
    if not obs.is_hermitian():
        raise ObservableError("the observable is not Hermitian (complex coefficients): its expectation value "
                              "is not a measured quantity")
    constant = sum(c.real for c, w in obs.terms if not w)
    groups = PauliSum({w: c for c, w in obs.terms if w}).group_commuting("qubitwise")
    value, variance = float(constant), 0.0
    for k, group in enumerate(groups):
        basis, measured = basis_circuit(circuit, group)
        result = sample(basis, shots=shots, params=params, noise=noise, dtype=dtype, seed=basis_seed(seed, k))
        offset = circuit.n_clbits
        per_shot = pauli_values(group, measured, result.bits[:, offset:offset + len(measured)].astype(np.int64))
        value += float(per_shot.mean())
        variance += float(per_shot.var(ddof=1)) / shots if shots > 1 else 0.0
    return ExpvalEstimate(value=value, stderr=math.sqrt(variance), shots=shots * len(groups), bases=len(groups))
