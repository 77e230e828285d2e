"""Observables for mitigation: a Pauli sum or the probability of one outcome, parsed once.

:func:`parse_observable` turns what the user wrote into an :class:`Observable`: the
measured bases (one circuit per qubit-wise-commuting group of a Pauli sum, as
:mod:`qtandem.sim.estimate` measures them; one all-Z basis for ``"P(bitstring)"``) and
the per-shot value of each basis. Every per-shot value is a sum of products
``prod_q phi_q(b_q)`` of one-qubit functions of the measured bits (``phi = (1, -1)`` for a
Z, the indicator ``e_t`` of bit ``t`` for a probability), which is what lets readout
mitigation invert the confusion matrices shot by shot (:mod:`qtandem.mitigate.readout`).

Examples:
    >>> obs = parse_observable("0.5*Z0 Z1 + X0", 2)
    >>> obs.kind, len(obs.groups), obs.constant
    ('pauli', 2, 0.0)
    >>> parse_observable("P(01)", 2).bitstring
    '01'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ObservableError
from qtandem.sim.estimate import basis_circuit, without_terminal_measurements

__all__ = ["Observable", "ProductInverse", "counts_to_bits", "parse_observable"]

_PROBABILITY = re.compile(r"^\s*P\s*\(\s*([01]+)\s*\)\s*$")
Z_SIGNS = np.array([1.0, -1.0])


@runtime_checkable
class ProductInverse(Protocol):
    """Per-shot values of a product ``prod_q phi_q(b_q)`` with readout errors undone (readout mitigation).

    ``apply(measured, phis, bits)``: ``measured`` the qubits of the columns of ``bits``
    (``(rows, len(measured))``, 0/1), ``phis`` ``{qubit: (2,) array}`` (qubits left out: the
    constant 1). Returns ``(rows,)`` values whose mean over shots is unbiased for the
    noiseless bits' mean of the product. :class:`qtandem.mitigate.ReadoutModel` is one.

    Examples:
        >>> from qtandem.mitigate import ReadoutModel
        >>> isinstance(ReadoutModel.tensored({0: [[1, 0], [0, 1]]}), ProductInverse)
        True
    """

    def apply(self, measured: Sequence[int], phis: Mapping[int, np.ndarray], bits: np.ndarray) -> np.ndarray:
        """The per-row values (see the class docstring)."""


def product_values(measured: Sequence[int], phis: Mapping[int, np.ndarray], bits: np.ndarray) -> np.ndarray:
    """``prod_q phi_q(b_q)`` for each row of ``bits`` (no readout correction).

    Examples:
        >>> product_values([0, 3], {3: Z_SIGNS}, np.array([[0, 1], [1, 0]])).tolist()
        [-1.0, 1.0]
    """
    column = {q: j for j, q in enumerate(measured)}
    out = np.ones(bits.shape[0])
    for q, phi in phis.items():
        out = out * np.asarray(phi, dtype=float)[bits[:, column[q]]]
    return out


def counts_to_bits(counts: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """``{bitstring: count}`` (classical bit 0 rightmost) as ``(bits, weights)``.

    Returns:
        ``bits`` ``(K, width)`` int64 with column ``c`` classical bit ``c``, and ``weights``
        ``(K,)`` the counts, for the ``K`` distinct bitstrings.

    Examples:
        >>> bits, w = counts_to_bits({"01": 3, "10": 1})
        >>> bits.tolist(), w.tolist()
        ([[1, 0], [0, 1]], [3, 1])
    """
    keys = list(counts)
    weights = np.array([counts[k] for k in keys], dtype=np.int64)
    width = len(keys[0]) if keys else 0
    if not keys or width == 0:
        return np.zeros((len(keys), 0), dtype=np.int64), weights
    raw = np.frombuffer("".join(keys).encode("ascii"), dtype=np.uint8).reshape(len(keys), width)
    return (raw[:, ::-1] - ord("0")).astype(np.int64), weights


def weighted_mean_var(values: np.ndarray, weights: np.ndarray, bound: float) -> tuple[float, float]:
    """Mean of ``values`` weighted by shot ``weights`` and the variance of that mean.

    With one shot the sample variance is undefined: ``bound**2`` (the largest variance a
    per-shot value within ``[-bound, bound]`` can have) is used instead.

    Examples:
        >>> weighted_mean_var(np.array([1.0, -1.0]), np.array([3, 1]), 1.0)
        (0.5, 0.25)
    """
    n = int(weights.sum())
    mean = float(np.dot(values, weights) / n)
    if n < 2:
        return mean, float(bound) ** 2
    var = float(np.dot(weights, (values - mean) ** 2) / (n - 1))
    return mean, var / n


@dataclass(frozen=True)
class Observable:
    """A parsed mitigation target (see :func:`parse_observable`).

    Attributes:
        text: the observable as given (or the PauliSum's text).
        n_qubits: the circuit's qubit count it was checked against.
        pauli: the Hermitian :class:`~qtandem.circuit.pauli.PauliSum`, or ``None`` for a probability.
        bitstring: for ``"P(b)"``, ``b`` (qubit 0 rightmost), else ``None``.
        constant: the identity term, added exactly (no shots).
        groups: qubit-wise commuting groups of the non-constant terms, one measured basis each.

    Examples:
        >>> obs = parse_observable("Z0 Z1 + 2", 3)
        >>> obs.constant, [str(g) for g in obs.groups], obs.bound
        (2.0, ['Z0*Z1'], 3.0)
    """

    text: str
    n_qubits: int
    pauli: PauliSum | None
    bitstring: str | None
    constant: float
    groups: tuple[PauliSum, ...]

    @property
    def kind(self) -> str:
        """``"pauli"`` or ``"probability"``."""
        return "pauli" if self.pauli is not None else "probability"

    @property
    def bound(self) -> float:
        """The largest ``|value|`` the observable can take (sum of ``|coefficients|``; 1 for a probability)."""
        if self.pauli is None:
            return 1.0
        return float(sum(abs(c) for c, _ in self.pauli.terms))

    def weights(self) -> list[float]:
        """One weight per measured basis: the sum of ``|coefficients|`` of its group (1 for a probability)."""
        if self.pauli is None:
            return [1.0]
        return [max(float(sum(abs(c) for c, _ in g.terms)), 1e-300) for g in self.groups]

    def basis_circuits(self, circuit: Circuit, extra: Callable[[set[int]], set[int]] | None = None,
                       ) -> list[tuple[Circuit, list[int]]]:
        """One measured circuit per basis, with the qubits its extra classical bits hold, in order.

        The circuit's terminal measurements are left out; the basis's measurements go to
        classical bits ``n_clbits + j`` (:func:`qtandem.sim.estimate.basis_circuit`). The basis
        changes are written in {rz, sx} (``h = rz(pi/2) sx rz(pi/2)``, ``sdg = rz(-pi/2)``), the
        gates a device compiled to {rz, sx, x, cx} runs (and a strict noise model covers).
        ``extra(qubits)`` names more qubits to read in the Z basis beside a basis's own (readout
        mitigation with correlated blocks needs every qubit of a block it inverts).

        Examples:
            >>> obs = parse_observable("X0 + Z1", 2)
            >>> [(c.count_ops(), qs) for c, qs in obs.basis_circuits(Circuit(2))]   # h as rz sx rz
            [({'rz': 2, 'sx': 1, 'measure': 2}, [0, 1])]
        """
        if circuit.n_qubits != self.n_qubits:
            raise ObservableError(f"the observable was parsed for {self.n_qubits} qubits, the circuit has "
                                  f"{circuit.n_qubits}")
        groups = self.groups if self.pauli is not None else (
            PauliSum({tuple((q, "Z") for q in range(self.n_qubits)): 1.0}),)
        body = len(without_terminal_measurements(circuit))
        out = []
        for group in groups:
            if extra is not None:
                support = {q for _, w in group.terms for q, _ in w}
                more = sorted(set(extra(support)) - support)
                if more:
                    group = group + PauliSum({tuple((q, "Z") for q in more): 0.0})
            c, measured = basis_circuit(circuit, group)
            out.append((_native_basis_change(c, body), [q for q, _ in measured]))
        return out

    def shot_values(self, k: int, measured: Sequence[int], bits: np.ndarray,
                    inverse: ProductInverse | None = None) -> np.ndarray:
        """Per-row value of basis ``k`` from its measured ``bits`` (``(rows, len(measured))``).

        Args:
            k: the basis (index into :meth:`basis_circuits`).
            measured: the qubits of ``bits``' columns.
            bits: 0/1 array.
            inverse: readout inversion (``None``: the bits as read).

        Examples:
            >>> obs = parse_observable("Z0 Z1 + 0.5*Z1", 2)
            >>> obs.shot_values(0, [0, 1], np.array([[0, 0], [1, 0], [1, 1]])).tolist()
            [1.5, -0.5, 0.5]
            >>> parse_observable("P(10)", 2).shot_values(0, [0, 1], np.array([[0, 1], [1, 1]])).tolist()
            [1.0, 0.0]
        """
        apply = product_values if inverse is None else inverse.apply
        if self.pauli is None:
            assert self.bitstring is not None
            phis = {q: np.eye(2)[int(self.bitstring[-1 - q])] for q in range(self.n_qubits)}
            return apply(measured, phis, bits)
        total = np.zeros(bits.shape[0])
        for coef, word in self.groups[k].terms:
            total += float(coef.real) * apply(measured, {q: Z_SIGNS for q, _ in word}, bits)
        return total

    def relabel(self, layout: Sequence[int], n_qubits: int) -> Observable:
        """The observable after qubit ``v`` moved to qubit ``layout[v]`` of an ``n_qubits`` circuit (a compiled one).

        For ``"P(b)"`` the qubits no input qubit lands on must read 0 (routing ancillas start and end in ``|0>``).

        Raises:
            ObservableError: ``layout`` is not one distinct qubit below ``n_qubits`` per qubit.

        Examples:
            >>> parse_observable("Z0 + 0.5*X1", 2).relabel([3, 1], 4).pauli
            PauliSum('Z3 + 0.5*X1')
            >>> parse_observable("P(01)", 2).relabel([2, 0], 3).bitstring
            '100'
        """
        layout = [int(q) for q in layout]
        if len(layout) != self.n_qubits or len(set(layout)) != len(layout) or \
                any(not 0 <= q < n_qubits for q in layout):
            raise ObservableError(f"a layout of {self.n_qubits} distinct qubits below {n_qubits} is needed, got "
                                  f"{layout}")
        if self.pauli is None:
            assert self.bitstring is not None
            bits = ["0"] * n_qubits
            for v, q in enumerate(layout):
                bits[q] = self.bitstring[-1 - v]
            return parse_observable("P(" + "".join(reversed(bits)) + ")", n_qubits)
        moved = PauliSum({tuple((layout[q], p) for q, p in word): c for c, word in self.pauli.terms})
        return parse_observable(moved, n_qubits)

    def exact(self, circuit: Circuit, noise: Any = None) -> float:
        """The exact value on ``circuit`` (noiseless, or under ``noise``): a reference for tests and benchmarks.

        Examples:
            >>> round(parse_observable("Z0 Z1", 2).exact(Circuit(2).h(0).cx(0, 1)), 12)
            1.0
            >>> round(parse_observable("P(11)", 2).exact(Circuit(2).h(0).cx(0, 1)), 12)
            0.5
        """
        from qtandem.sim.branching import distribution
        from qtandem.sim.sampling import expval

        bare = without_terminal_measurements(circuit)
        if self.pauli is None:
            assert self.bitstring is not None
            return float(distribution(bare, noise=noise).get(self.bitstring, 0.0))
        return float(expval(bare, self.pauli, noise=noise).real) if noise is not None or self.groups else self.constant


def _native_basis_change(circuit: Circuit, body: int) -> Circuit:
    """The basis changes after instruction ``body`` in {rz, sx}: ``h = rz(pi/2) sx rz(pi/2)``,
    ``sdg = rz(-pi/2)`` (up to global phase), so a device compiled to {rz, sx, x, cx} runs them."""
    out = Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name, qregs=circuit.qregs or None,
                  cregs=circuit.cregs or None)
    for i, inst in enumerate(circuit):
        if i >= body and inst.name == "h":
            q = inst.qubits[0]
            out.rz(math.pi / 2, q).sx(q).rz(math.pi / 2, q)
        elif i >= body and inst.name == "sdg":
            out.rz(-math.pi / 2, inst.qubits[0])
        else:
            out.append(inst)
    return out


def parse_observable(observable: PauliSum | str | Observable, n_qubits: int) -> Observable:
    """Parse a mitigation target once: a PauliSum, its text, or ``"P(bitstring)"``.

    ``"P(b)"`` is the probability that measuring every qubit of the circuit in the Z
    basis reads ``b``, written as qtandem's counts write it: qubit 0 RIGHTMOST
    (``"P(01)"`` on two qubits: qubit 0 reads 1, qubit 1 reads 0). ``b`` has one digit per
    qubit of the circuit.

    Args:
        observable: the target.
        n_qubits: the circuit's qubit count (qubits of the observable must lie below it).

    Returns:
        An :class:`Observable`.

    Raises:
        ObservableError: unreadable text, a non-Hermitian sum, a qubit out of range, or a
            bitstring of the wrong length.

    Examples:
        >>> parse_observable("Z0 Z1", 2).pauli
        PauliSum('Z0*Z1')
        >>> parse_observable("Z5", 2)
        Traceback (most recent call last):
        ...
        qtandem.errors.ObservableError: the observable acts on qubit 5 but the circuit has 2 qubits (0..1)
    """
    if isinstance(observable, Observable):
        if observable.n_qubits != n_qubits:
            raise ObservableError(f"the observable was parsed for {observable.n_qubits} qubits, the circuit has "
                                  f"{n_qubits}")
        return observable
    if int(n_qubits) != n_qubits or n_qubits < 1:
        raise ObservableError(f"n_qubits must be a positive integer, got {n_qubits!r}")
    if isinstance(observable, str):
        match = _PROBABILITY.match(observable)
        if match:
            bits = match.group(1)
            if len(bits) != n_qubits:
                raise ObservableError(f"P({bits}) has {len(bits)} bits but the circuit has {n_qubits} qubits: "
                                      f"write one bit per qubit, qubit 0 rightmost")
            return Observable(observable.strip(), int(n_qubits), None, bits, 0.0, ())
        if observable.strip().startswith("P"):
            raise ObservableError(f"cannot read {observable!r}: a probability is written P(0101...), one 0/1 "
                                  f"per qubit, qubit 0 rightmost")
        try:
            pauli = PauliSum.from_string(observable)
        except ObservableError as err:
            raise ObservableError(f"cannot read the observable {observable!r}: {err}") from None
        text = observable.strip()
    elif isinstance(observable, PauliSum):
        pauli, text = observable, str(observable)
    else:
        raise ObservableError(f"an observable is a PauliSum, its text (e.g. 'Z0 Z1') or 'P(0101)', got "
                              f"{type(observable).__name__}")
    pauli = pauli.simplify()
    if pauli.num_qubits > n_qubits:
        raise ObservableError(f"the observable acts on qubit {pauli.num_qubits - 1} but the circuit has "
                              f"{n_qubits} qubits (0..{n_qubits - 1})")
    if not pauli.is_hermitian():
        raise ObservableError(f"the observable {text!r} is not Hermitian (complex coefficients): its expectation "
                              f"value is not a measured quantity")
    constant = float(sum(c.real for c, w in pauli.terms if not w))
    if not all(math.isfinite(float(c.real)) for c, _ in pauli.terms):
        raise ObservableError(f"the observable {text!r} has a non-finite coefficient")
    rest = PauliSum({w: c for c, w in pauli.terms if w})
    groups = tuple(rest.group_commuting("qubitwise")) if len(rest) else ()
    return Observable(text, int(n_qubits), pauli, None, constant, groups)
