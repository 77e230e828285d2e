"""Measurement grouping for shot-based energies: qubit-wise and general commuting groups.

A group of mutually commuting Pauli strings is measured in one basis: a Clifford circuit ``C``
(``h``, ``s``, ``sdg``, ``cx``, ``cz``) maps every string to ``+-`` a product of ``Z`` s, so one
computational-basis sample of ``C |psi>`` gives every string's value. Qubit-wise groups need only
one-qubit gates; general groups (fewer, so fewer bases for the same shots per basis) need
entangling gates, built by symplectic elimination: the X parts are brought to reduced row
echelon form, and each pivot row is cleared to a lone ``X`` (``cx``, ``s``/``sdg``, ``cz``) and
turned into ``Z`` by ``h``. The ``+-`` signs are read from the exact state ``C^dagger |0>``.

:func:`estimate_energy` splits a shot budget over the groups in proportion to their coefficient
norms (Wecker et al., PRA 92, 042303) and returns the estimate with its standard error.

Examples:
    >>> from qtandem.circuit.pauli import PauliSum
    >>> groups = measurement_groups(PauliSum("X0*X1 + Y0*Y1 + Z0*Z1 + Z0"), "general")
    >>> [len(g.strings) for g in groups]
    [3, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.pauli import PauliSum, Word, word_masks
from qtandem.errors import ChemistryError
from qtandem.random import as_generator

__all__ = ["MeasurementGroup", "estimate_energy", "measurement_groups"]


@dataclass(frozen=True)
class MeasurementGroup:
    """One measured basis: ``circuit`` maps each ``strings[k]`` to ``signs[k] * Z^masks[k]``.

    Attributes:
        strings: ``(coefficient, word)`` of the group's terms.
        circuit: the diagonalising Clifford circuit (appended after the state preparation).
        masks: per string, the bit mask of the ``Z`` s after the circuit.
        signs: per string, ``+1`` or ``-1``.

    Examples:
        >>> g = measurement_groups(PauliSum("X0 + X0*Z1"), "qubitwise")[0]
        >>> g.circuit.count_ops(), g.masks, g.signs
        ({'h': 1}, (3, 1), (1, 1))
    """

    strings: tuple[tuple[complex, Word], ...]
    circuit: Circuit
    masks: tuple[int, ...]
    signs: tuple[int, ...]

    def values(self, bits: np.ndarray) -> np.ndarray:
        """Sum of ``coef * value`` over the group's strings, per shot (``bits``: int basis indices).

        Examples:
            >>> g = measurement_groups(PauliSum("2*Z0"), "qubitwise")[0]
            >>> g.values(np.array([0, 1])).tolist()
            [2.0, -2.0]
        """
        out = np.zeros(len(bits))
        for (coef, _), mask, sign in zip(self.strings, self.masks, self.signs, strict=True):
            parity = np.bitwise_count(np.asarray(bits, dtype=np.int64) & mask).astype(np.int64) & 1
            out += coef.real * sign * (1 - 2 * parity)
        return out


def _diagonalize(n: int, words: list[Word]) -> tuple[Circuit, list[int]]:
    rows = [list(word_masks(w)[:2]) for w in words]          # (x, z) per string, updated with the gates
    circuit = Circuit(n)

    def apply(gate: str, *qs: int) -> None:
        getattr(circuit, gate)(*qs)
        for r in rows:
            x, z = r
            if gate == "h":
                (q,) = qs
                bx, bz = x >> q & 1, z >> q & 1
                x = (x & ~(1 << q)) | (bz << q)
                z = (z & ~(1 << q)) | (bx << q)
            elif gate in ("s", "sdg"):
                (q,) = qs
                z ^= (x >> q & 1) << q
            elif gate == "cx":
                c, t = qs
                x ^= (x >> c & 1) << t
                z ^= (z >> t & 1) << c
            elif gate == "cz":
                a, b = qs
                z ^= (x >> b & 1) << a
                z ^= (x >> a & 1) << b
            r[0], r[1] = x, z

    # independent generators by elimination on the X parts (row operations = products of strings)
    gens = [list(r) for r in rows]
    pivots: list[tuple[int, list[int]]] = []
    for q in range(n):
        candidates = [i for i, g in enumerate(gens) if g[0] >> q & 1]
        if not candidates:
            continue
        k = min(candidates, key=lambda i: (gens[i][0] | gens[i][1]).bit_count())   # lightest: qubit-wise stays 1q
        piv = gens.pop(k)
        for g in gens:
            if g[0] >> q & 1:
                g[0] ^= piv[0]
                g[1] ^= piv[1]
        for _, p in pivots:
            if p[0] >> q & 1:
                p[0] ^= piv[0]
                p[1] ^= piv[1]
        pivots.append((q, piv))
    for q, piv in pivots:
        x, z = _propagate(circuit, piv)
        for j in range(n):
            if j != q and x >> j & 1:
                apply("cx", q, j)
        x, z = _propagate(circuit, piv)
        if z >> q & 1:
            apply("sdg", q)
        x, z = _propagate(circuit, piv)
        for j in range(n):
            if j != q and z >> j & 1:
                apply("cz", q, j)
        apply("h", q)
    masks = []
    for x, z in rows:
        if x:
            raise ChemistryError("internal: a group's strings do not commute")   # pragma: no cover
        masks.append(z)
    return circuit, masks


def _qubitwise(n: int, words: list[Word]) -> tuple[Circuit, list[int]]:
    """One-qubit basis changes (X: h; Y: sdg then h) for a qubit-wise commuting group."""
    letters = {q: letter for w in words for q, letter in w}
    circuit = Circuit(n)
    for q in sorted(letters):
        if letters[q] == "Y":
            circuit.sdg(q)
        if letters[q] in ("X", "Y"):
            circuit.h(q)
    return circuit, [sum(1 << q for q, _ in w) for w in words]


def _propagate(circuit: Circuit, row: list[int]) -> tuple[int, int]:
    """The (x, z) masks of the generator ``row`` after ``circuit`` (phase-free)."""
    x, z = row
    for inst in circuit.instructions:
        qs = inst.qubits
        if inst.name == "h":
            q = qs[0]
            bx, bz = x >> q & 1, z >> q & 1
            x = (x & ~(1 << q)) | (bz << q)
            z = (z & ~(1 << q)) | (bx << q)
        elif inst.name in ("s", "sdg"):
            z ^= (x >> qs[0] & 1) << qs[0]
        elif inst.name == "cx":
            x ^= (x >> qs[0] & 1) << qs[1]
            z ^= (z >> qs[1] & 1) << qs[0]
        elif inst.name == "cz":
            z ^= (x >> qs[1] & 1) << qs[0]
            z ^= (x >> qs[0] & 1) << qs[1]
    return x, z


def _signs(n: int, circuit: Circuit, words: list[Word], masks: list[int]) -> list[int]:
    from qtandem.sim import statevector
    from qtandem.sim.sparse import pauli_sum_sparse

    psi = statevector(circuit.inverse()).numpy().ravel()          # C^dagger |0>
    signs = []
    for w, mask in zip(words, masks, strict=True):
        value = float(np.vdot(psi, pauli_sum_sparse(PauliSum({w: 1.0}), n) @ psi).real)
        if abs(abs(value) - 1) > 1e-8:
            raise ChemistryError("internal: diagonalisation failed")   # pragma: no cover
        signs.append(1 if value > 0 else -1)
        _ = mask
    return signs


def measurement_groups(hamiltonian: PauliSum, kind: str = "qubitwise", n_qubits: int | None = None
                       ) -> list[MeasurementGroup]:
    """Group ``hamiltonian``'s non-identity terms and build each group's measurement circuit.

    Args:
        hamiltonian: a Hermitian Pauli sum.
        kind: ``"qubitwise"`` or ``"general"`` (see :meth:`~qtandem.circuit.pauli.PauliSum.group_commuting`).
        n_qubits: the register width (default: the Hamiltonian's).

    Examples:
        >>> h = PauliSum("X0*X1 + Y0*Y1 + Z0*Z1")
        >>> len(measurement_groups(h, "qubitwise")), len(measurement_groups(h, "general"))
        (3, 1)
    """
    n = n_qubits or hamiltonian.num_qubits
    body = PauliSum({w: c for c, w in hamiltonian.terms if w and c != 0})
    out = []
    for group in body.group_commuting(kind):
        strings = tuple((c, w) for c, w in group.terms)
        words = [w for _, w in strings]
        circuit, masks = _qubitwise(n, words) if kind == "qubitwise" else _diagonalize(n, words)
        signs = _signs(n, circuit, words, masks)
        out.append(MeasurementGroup(strings, circuit, tuple(masks), tuple(signs)))
    return out


def estimate_energy(state_circuit: Circuit, hamiltonian: PauliSum, shots: int, *, kind: str = "general",
                    seed: Any = 0, groups: list[MeasurementGroup] | None = None) -> tuple[float, float]:
    """Estimate ``<H>`` from ``shots`` samples in total, split over the groups by coefficient norm.

    Args:
        state_circuit: prepares the state (no measurements).
        hamiltonian: the observable.
        shots: the total shot budget (each group gets at least one).
        kind: the grouping.
        seed: sampling seed.
        groups: precomputed :func:`measurement_groups` (to reuse across evaluations).

    Returns:
        ``(estimate, standard_error)``.

    Examples:
        >>> c = Circuit(2).h(0).cx(0, 1)                                     # Bell state
        >>> e, err = estimate_energy(c, PauliSum("X0*X1 + Z0*Z1 - Y0*Y1"), 3000, seed=1)
        >>> round(e, 6), round(err, 6)                                       # one basis, no variance
        (3.0, 0.0)
    """
    from qtandem.sim import probabilities

    if shots < 1:
        raise ChemistryError(f"shots must be >= 1, got {shots}")
    n = state_circuit.n_qubits
    gs = groups if groups is not None else measurement_groups(hamiltonian, kind, n)
    const = sum(c.real for c, w in hamiltonian.terms if not w)
    weights = np.array([sum(abs(c) for c, _ in g.strings) for g in gs])
    alloc = np.maximum(1, np.floor(shots * weights / weights.sum())).astype(int) if len(gs) else np.zeros(0, int)
    rng = as_generator(seed)
    total, var = const, 0.0
    for g, k in zip(gs, alloc, strict=True):
        raw = probabilities(state_circuit.compose(g.circuit)).numpy().ravel().astype(np.float64)
        probs: np.ndarray = np.clip(raw, 0, None)
        bits = rng.choice(len(probs), size=int(k), p=probs / probs.sum())
        vals = g.values(bits)
        total += float(vals.mean())
        var += float(vals.var(ddof=1)) / k if k > 1 else 0.0
    return total, float(np.sqrt(var))
