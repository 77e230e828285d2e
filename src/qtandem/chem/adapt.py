"""ADAPT-VQE: fermionic, qubit and coupled-exchange-operator (CEO) pools.

Each iteration measures the energy gradient of appending every pool operator,
``dE/dtheta = i <psi|[H, G_k]|psi> = 2 Im <H psi|G_k|psi>``, all from one ``H psi``
(:meth:`~qtandem.sim.pauli_evolution.PauliEvolution.generator_gradients`), appends the largest, and
re-optimises all parameters. It stops when the pool-gradient norm falls under ``gradient_tol``, when
the energy is within ``target`` of ``problem.references[reference]`` (chemical accuracy: 1.6e-3),
at ``max_operators``, or when the evaluation budget is spent.

Pools (generalised: every spin-conserving excitation among all spin orbitals):

Excitations that break a symmetry the problem tapered or reduced away are left out
(``problem.conserves_symmetries``); the CEO pool is built on Jordan-Wigner occupations only.

- ``"adapt"``: fermionic singles and doubles (Grimsley et al., Nat. Commun. 10, 3007 (2019)).
- ``"qubit-adapt"``: the Pauli strings of the Jordan-Wigner-mapped excitations, parity ``Z`` s removed
  (Tang et al., PRX Quantum 2, 020310 (2021)).
- ``"ceo-adapt"``: qubit single excitations and, on each set of four spin orbitals, the one-parameter
  coupled exchange operators ``Q_a + Q_b`` and ``Q_a - Q_b`` of pairs of its qubit double excitations
  (sets with a single one keep it), after Ramoa et al., "Reducing the resources required by ADAPT-VQE
  using coupled exchange operators and improved subroutines", arXiv:2407.08696 (2024). A CEO costs the
  ``cx`` of one qubit double excitation.

Examples:
    >>> from types import SimpleNamespace
    >>> from qtandem.circuit.pauli import PauliSum
    >>> prob = SimpleNamespace(n_qubits=4, n_orbitals=2, n_alpha=1, n_beta=1)
    >>> len(pool(prob, "ceo-adapt")), len(pool(prob, "adapt"))
    (4, 4)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from qtandem.chem.ansatz import (
    Ansatz,
    Operator,
    fermionic_excitation,
    pauli_operator,
    qubit_excitation,
    require_jordan_wigner,
    symmetry_allowed,
)
from qtandem.chem.vqe import VQEResult, finish, minimize
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ChemistryError
from qtandem.sim.pauli_evolution import PauliEvolution

__all__ = ["POOLS", "SCORES", "adapt_vqe", "pool"]

POOLS = ("adapt", "qubit-adapt", "ceo-adapt")
SCORES = ("gradient", "per_cnot")
"""How ADAPT picks the next operator: largest gradient, or largest gradient per ``cx`` of the operator."""


def _singles(n_so: int) -> list[tuple[int, int]]:
    return [(p, q) for p, q in itertools.combinations(range(n_so), 2) if p % 2 == q % 2]


def _doubles(n_so: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Spin-conserving splits ``((p, q), (r, s))`` of every set of four spin orbitals."""
    out = []
    for quad in itertools.combinations(range(n_so), 4):
        a = quad[0]
        for b in quad[1:]:
            pair = (a, b)
            rest = tuple(x for x in quad if x not in pair)
            if (pair[0] % 2 + pair[1] % 2) == (rest[0] % 2 + rest[1] % 2):
                out.append((pair, (rest[0], rest[1])))
    return out


def pool(problem: Any, kind: str) -> list[Operator]:
    """The operator pool of an ADAPT variant (see the module docstring).

    Args:
        problem: a :class:`~qtandem.chem.problem.ChemProblem` (or an object with ``n_orbitals``).
        kind: one of :data:`POOLS`.

    Raises:
        ChemistryError: an unknown pool.

    Examples:
        >>> from types import SimpleNamespace
        >>> [op.label for op in pool(SimpleNamespace(n_orbitals=2), "qubit-adapt")][:3]
        ['Y0X2', 'X0Y2', 'Y1X3']
    """
    n_so = 2 * int(problem.n_orbitals)
    if kind == "adapt":
        return ([fermionic_excitation(problem, (p,), (q,)) for p, q in _singles(n_so)
                 if symmetry_allowed(problem, (p,), (q,))]
                + [fermionic_excitation(problem, pq, rs) for pq, rs in _doubles(n_so)
                   if symmetry_allowed(problem, pq, rs)])
    if kind == "qubit-adapt":
        seen: dict[tuple[tuple[int, str], ...], None] = {}
        for op in pool(problem, "adapt"):
            for coef, word in op.generator.terms:
                if coef == 0:
                    continue
                stripped = tuple((q, letter) for q, letter in word if letter != "Z")
                if sum(letter == "Y" for _, letter in stripped) % 2 == 1:
                    seen.setdefault(stripped, None)
        return [pauli_operator(PauliSum({w: 1.0})) for w in seen]
    if kind == "ceo-adapt":
        if hasattr(problem, "n_qubits"):
            require_jordan_wigner(problem, "the CEO pool")
        ops = [qubit_excitation((p,), (q,)) for p, q in _singles(n_so)]
        by_set: dict[tuple[int, ...], list[Operator]] = {}
        for pq, rs in _doubles(n_so):
            by_set.setdefault(tuple(sorted(pq + rs)), []).append(qubit_excitation(pq, rs))
        for quad, qes in by_set.items():
            if len(qes) == 1:
                ops.append(qes[0])
                continue
            for qa, qb in itertools.combinations(qes, 2):
                for sign, name in ((1.0, "+"), (-1.0, "-")):
                    gen = (qa.generator + sign * qb.generator).simplify(1e-12)
                    ops.append(Operator(f"ceo({qa.label[3:-1]}{name}{qb.label[3:-1]})", gen, "ceo", quad))
        return ops
    raise ChemistryError(f"unknown ADAPT pool {kind!r}; choose one of {', '.join(POOLS)}")


def adapt_vqe(problem: Any, kind: str = "qubit-adapt", *, optimizer: str = "bfgs", initial: Any = None,
              shots: int | None = None, noise: Any = None, seed: Any = 0, max_evaluations: int | None = None,
              tol: float = 1e-8, callback: Callable[..., Any] | None = None, compile_level: int | None = 1,
              gradient_tol: float = 1e-3, target: float | None = None, reference: str = "casci",
              max_operators: int = 60, ranker: Any = None, top_k: int = 20, fallback_tol: float | None = None,
              fallback_ratio: float = 0.3, trace: list[Any] | None = None, score: str = "gradient") -> VQEResult:
    """ADAPT-VQE with one of :data:`POOLS`; usually called as ``qtandem.chem.vqe(problem, "qubit-adapt")``.

    Args:
        problem: a Jordan-Wigner :class:`~qtandem.chem.problem.ChemProblem`.
        kind: the pool.
        optimizer: the re-optimisation's optimizer (see :func:`qtandem.chem.vqe.minimize`).
        initial: a previous :class:`~qtandem.chem.vqe.VQEResult` of the same pool: its operators and
            parameters are the starting ansatz (warm start along a curve).
        shots, noise: not supported (ADAPT's pool gradients are exact here).
        seed: the optimizer's seed.
        max_evaluations: budget of energy evaluations over all iterations.
        tol: the optimizer's tolerance.
        callback: passed to the optimizer.
        compile_level: :func:`qtandem.compile.optimize` level of the result's circuit.
        gradient_tol: stop when the pool-gradient norm is below this.
        target: stop when ``|E - references[reference]|`` is below this (hartree).
        reference: the reference for ``target``.
        max_operators: at most this many operators.
        ranker: learned operator selection (:mod:`qtandem.chem.adapt_learned`): an object with
            ``score(features)`` (e.g. :class:`~qtandem.chem.adapt_learned.OperatorRanker`); each iteration
            measures only the ``top_k`` best-scored pool gradients, and the full pool when their norm is
            under ``fallback_tol`` (default ``3 * gradient_tol``) or their largest is under
            ``fallback_ratio`` times the previous iteration's chosen gradient. The gradient-norm stop is
            always tested on the full pool.
        top_k, fallback_tol, fallback_ratio: see ``ranker``; the defaults ``top_k=20``, ``fallback_ratio=0.3``
            were chosen on the DEV molecules of ``bench/chem_adapt.py``.
        trace: a list; with ``ranker``, each iteration appends ``(features, full pool gradients)`` (the
            full gradients computed for training labels only, not counted in ``pool_gradients``).
        score: how the next operator is chosen from the measured gradients: ``"gradient"`` (largest
            ``|g|``, standard ADAPT) or ``"per_cnot"`` (largest ``|g| / cx``, with ``cx`` the operator's
            uncompiled circuit cost, :attr:`~qtandem.chem.ansatz.Operator.cnots`): cheap operators win ties
            of similar gradient. The gradient-norm stop is the same for both.

    Returns:
        A :class:`~qtandem.chem.vqe.VQEResult`; ``extra`` holds ``pool_size``, ``pool_gradients``
        (gradients evaluated), ``iterations`` (energy, operators, raw ``cx`` per iteration),
        ``fallbacks`` (iterations that measured the full pool after the top ``k``, with ``ranker``) and
        ``stopped`` (the reason).

    Raises:
        ChemistryError: shots or noise, an unknown pool, a warm start with operators not in the pool,
            ``target`` without the reference, an unknown ``score``.

    Examples:
        >>> from types import SimpleNamespace
        >>> from qtandem.circuit.pauli import PauliSum
        >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 + 0.2*X0*X2 + 0.2*Y0*Y2")   # one alpha electron
        >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0001, n_orbitals=2, references={})
        >>> r = adapt_vqe(prob, "qubit-adapt", compile_level=None)
        >>> r.operators, round(r.energy, 6)
        (['Y0X2'], -0.4)
    """
    if shots is not None or noise is not None:
        raise ChemistryError("ADAPT-VQE here uses exact pool gradients; run it without shots and noise, "
                             "then evaluate result.circuit with qtandem.sim.estimate_expval")
    ref_value = None
    if target is not None:
        ref_value = (getattr(problem, "references", {}) or {}).get(reference)
        if ref_value is None:
            raise ChemistryError(f"target needs references[{reference!r}], which the problem does not have")
    if score not in SCORES:
        raise ChemistryError(f"unknown ADAPT score {score!r}; choose one of {', '.join(SCORES)}")
    ops_pool = pool(problem, kind)
    weight = (1.0 / np.array([max(op.cnots, 1) for op in ops_pool], dtype=np.float64) if score == "per_cnot"
              else np.ones(len(ops_pool)))
    by_label = {op.label: op for op in ops_pool}
    n = int(problem.n_qubits)
    pool_program = PauliEvolution(n, [op.generator for op in ops_pool], problem.hamiltonian,
                                  initial=int(problem.hf_state))
    chosen: list[Operator] = []
    x: np.ndarray = np.zeros(0)
    if initial is not None:
        labels = list(getattr(initial, "operators", []))
        missing = [lab for lab in labels if lab not in by_label]
        if missing:
            raise ChemistryError(f"warm start operators {missing[:3]} are not in the {kind} pool")
        chosen = [by_label[lab] for lab in labels]
        x = np.asarray(initial.parameters, dtype=np.float64).copy()
    budget = 10**9 if max_evaluations is None else int(max_evaluations)
    history: list[float] = []
    n_grad = 0
    iterations: list[dict[str, Any]] = []
    stopped = "max_operators"
    a = Ansatz(problem, chosen, name=kind)
    energy = a.energy(x)
    if chosen:
        x, energy, hist, ng = minimize(a.energy, x, optimizer=optimizer, energy_and_gradient=a.energy_and_gradient,
                                       max_evaluations=budget, tol=tol, seed=seed, callback=callback)
        history += hist
        n_grad += ng
    n_pool_gradients = 0
    n_fallbacks = 0
    features = None
    chosen_idx: list[int] = [ops_pool.index(op) for op in chosen]
    last_g = np.zeros(len(ops_pool))
    last_it = np.full(len(ops_pool), -1, dtype=np.int64)
    previous_best = 0.0
    iteration = 0
    if ranker is not None:
        from qtandem.chem.adapt_learned import PoolFeatures

        features = PoolFeatures(problem, ops_pool)
        if fallback_tol is None:
            fallback_tol = 3.0 * gradient_tol
        if top_k < 1:
            raise ChemistryError(f"top_k must be >= 1, got {top_k}")
    while True:
        if ref_value is not None and target is not None and abs(energy - ref_value) < target:
            stopped = "target"
            break
        if len(chosen) >= max_operators:
            stopped = "max_operators"
            break
        if len(history) >= budget:
            stopped = "max_evaluations"
            break
        psi = a.state(x)
        if features is None:
            grads = pool_program.generator_gradients(psi)
            n_pool_gradients += len(grads)
            norm = float(np.linalg.norm(grads))
            best = int(np.argmax(np.abs(grads) * weight))
        else:
            grads, norm, best, used, fell_back = _ranked_gradients(
                pool_program, ops_pool, features, ranker, psi, chosen_idx, x, last_g, last_it, iteration,
                top_k, max(float(fallback_tol or 0.0), gradient_tol), fallback_ratio * previous_best, trace, weight)
            n_pool_gradients += used
            n_fallbacks += fell_back
        if norm < gradient_tol:
            stopped = "gradient"
            break
        previous_best = abs(float(grads[best]))
        iteration += 1
        chosen.append(ops_pool[best])
        chosen_idx.append(best)
        x = np.append(x, 0.0)
        a = Ansatz(problem, chosen, name=kind)
        x, energy, hist, ng = minimize(a.energy, x, optimizer=optimizer, energy_and_gradient=a.energy_and_gradient,
                                       max_evaluations=max(1, budget - len(history)), tol=tol, seed=seed,
                                       callback=callback)
        history += hist
        n_grad += ng
        iterations.append({"operator": ops_pool[best].label, "gradient": float(grads[best]), "norm": norm,
                           "energy": float(energy), "n_operators": len(chosen),
                           "raw_cnots": sum(op.cnots for op in chosen), "pool_gradients": n_pool_gradients})
    extra = {"pool_size": len(ops_pool), "pool_gradients": n_pool_gradients, "iterations": iterations,
             "stopped": stopped}
    if ranker is not None:
        extra.update({"fallbacks": n_fallbacks, "top_k": top_k})
    return finish(problem, a, x, energy, history, n_grad, optimizer, compile_level, extra)


def _ranked_gradients(pool_program: PauliEvolution, ops_pool: list[Operator], features: Any, ranker: Any,
                      psi: np.ndarray, chosen_idx: list[int], x: np.ndarray, last_g: np.ndarray,
                      last_it: np.ndarray, iteration: int, top_k: int, fallback_tol: float, floor: float,
                      trace: list[Any] | None, weight: np.ndarray) -> tuple[np.ndarray, float, int, int, int]:
    """One ranked ADAPT measurement: ``(gradients (NaN where not measured), norm, best, measured, fell back)``."""
    from qtandem.chem.adapt_learned import subset_gradients

    f = features.matrix(chosen_idx, x, last_g, last_it, iteration)
    if trace is not None:
        trace.append((f, pool_program.generator_gradients(psi)))
    n_pool = len(ops_pool)
    k = min(top_k, n_pool)
    order = np.argsort(-np.asarray(ranker.score(f), dtype=np.float64), kind="stable")
    top = order[:k]
    lam = np.zeros_like(psi)
    basis = pool_program.basis
    lam[basis] = pool_program.hamiltonian_csr @ psi[basis]
    generators = [op.generator for op in ops_pool]
    grads = np.full(n_pool, np.nan)
    grads[top] = subset_gradients(generators, psi, lam, top)
    used = k
    fell_back = 0
    top_abs = np.abs(grads[top])
    if k < n_pool and (float(np.linalg.norm(grads[top])) < fallback_tol or float(top_abs.max()) < floor):
        rest = order[k:]
        grads[rest] = subset_gradients(generators, psi, lam, rest)
        used = n_pool
        fell_back = 1
    measured = ~np.isnan(grads)
    last_g[measured] = grads[measured]
    last_it[measured] = iteration
    values = np.where(measured, np.abs(grads) * weight, -1.0)
    best = int(np.argmax(values))
    norm = float(np.linalg.norm(grads[measured]))
    return grads, norm, best, used, fell_back
