"""The variational quantum eigensolver: :func:`vqe` and its :class:`VQEResult`.

Exact energies and gradients come from the ansatz's kernel program
(:class:`~qtandem.sim.pauli_evolution.PauliEvolution`, adjoint method). With ``shots`` the energy is
estimated from samples of the gate circuit, one measured basis per qubit-wise commuting group
(:func:`qtandem.sim.estimate_expval`), ``shots`` per basis; with ``noise`` (a noise model or device)
it is the exact noisy value ``Tr(rho H)`` of the density-matrix simulator, or its sampled estimate
when ``shots`` is also given. ``grouping="general"`` measures general commuting groups through
diagonalising Clifford circuits (:mod:`qtandem.chem.grouping`) under a total shot budget.
Shot-based and noisy runs take the gradient-free optimizers
(``cobyla``, ``spsa``).

Counting: ``n_evaluations`` counts energy evaluations. An adjoint energy-and-gradient call counts
as one energy evaluation and one gradient evaluation (``n_gradient_evaluations``); SPSA's two
perturbed energies per iteration count as two. ``history`` has one energy per evaluation.

Examples:
    >>> from types import SimpleNamespace
    >>> from qtandem.circuit.pauli import PauliSum
    >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 + 0.2*X0*X2 + 0.2*Y0*Y2")   # one alpha electron
    >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0001, n_alpha=1, n_beta=0,
    ...                        n_orbitals=2, references={"casci": -0.4})
    >>> result = vqe(prob, "uccsd", compile_level=None)
    >>> round(result.energy, 6), abs(result.error_vs("casci")) < 1e-8
    (-0.4, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.chem.ansatz import Ansatz
from qtandem.chem.ansatz import ansatz as build_ansatz
from qtandem.circuit import Circuit
from qtandem.errors import ChemistryError
from qtandem.random import as_generator

__all__ = ["OPTIMIZERS", "VQEResult", "cnot_count", "minimize", "vqe"]

OPTIMIZERS = ("bfgs", "lbfgs", "cobyla", "spsa", "adam")
ADAPTIVE = ("adapt", "qubit-adapt", "ceo-adapt")


@dataclass
class VQEResult:
    """What :func:`vqe` found.

    Attributes:
        energy: the final energy (hartree; the exact value of the final parameters when the run
            used shots or noise is in ``exact_energy``).
        parameters: the optimised parameters.
        circuit: the bound circuit (HF preparation included), compiled by :func:`qtandem.compile.optimize`
            when ``compile_level`` was set, in {cx, one-qubit gates}.
        n_evaluations: energy evaluations (see the module docstring for how they are counted).
        n_gradient_evaluations: gradient evaluations.
        history: the energy of every evaluation, in order.
        operators: the operator labels in application order.
        cnot_count: ``cx`` gates in ``circuit``.
        references: the problem's classical reference energies.
        exact_energy: the noiseless, exact energy of ``parameters``.
        ansatz: the ansatz name; ``optimizer``: the optimizer's.
        extra: method-specific details (ADAPT: pool gradients evaluated, iterations...).

    Examples:
        >>> r = VQEResult(energy=-1.0, parameters=np.zeros(1), circuit=Circuit(1), n_evaluations=1,
        ...               n_gradient_evaluations=1, history=[-1.0], references={"fci": -1.001})
        >>> round(r.error_vs("fci"), 6)
        0.001
    """

    energy: float
    parameters: np.ndarray
    circuit: Circuit
    n_evaluations: int
    n_gradient_evaluations: int
    history: list[float]
    operators: list[str] = field(default_factory=list)
    cnot_count: int = 0
    references: dict[str, float | None] = field(default_factory=dict)
    exact_energy: float | None = None
    ansatz: str = ""
    optimizer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def error_vs(self, reference: str = "casci") -> float:
        """``energy - references[reference]`` (hartree).

        Raises:
            ChemistryError: the reference is missing or was not computed.
        """
        value = self.references.get(reference)
        if value is None:
            raise ChemistryError(f"reference {reference!r} is not available; have "
                                 f"{sorted(k for k, v in self.references.items() if v is not None)}")
        return float(self.energy) - float(value)


def cnot_count(circuit: Circuit, *, level: int | None = 1) -> tuple[Circuit, int]:
    """Compile ``circuit`` with :func:`qtandem.compile.optimize` (``level=None``: as is) and count its ``cx``.

    Examples:
        >>> c = Circuit(2).cx(0, 1).cx(0, 1).cx(1, 0)
        >>> cnot_count(c)[1]
        1
    """
    out = circuit
    if level is not None:
        from qtandem.compile import optimize

        out, _ = optimize(circuit, level=level)
    return out, int(out.count_ops().get("cx", 0))


class _Counter:
    def __init__(self, energy: Callable[[np.ndarray], float],
                 energy_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]] | None,
                 max_evaluations: int, callback: Callable[..., Any] | None) -> None:
        self.energy_fn = energy
        self.grad_fn = energy_and_grad
        self.max = max_evaluations
        self.callback = callback
        self.history: list[float] = []
        self.n_grad = 0
        self.best = (np.inf, np.zeros(0))

    def _record(self, x: np.ndarray, e: float) -> None:
        self.history.append(e)
        if e < self.best[0]:
            self.best = (e, x.copy())
        if self.callback is not None:
            self.callback(len(self.history), e, x.copy())

    def energy(self, x: np.ndarray) -> float:
        e = float(self.energy_fn(np.asarray(x, dtype=np.float64)))
        self._record(np.asarray(x), e)
        return e

    def energy_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        assert self.grad_fn is not None
        e, g = self.grad_fn(np.asarray(x, dtype=np.float64))
        self.n_grad += 1
        self._record(np.asarray(x), float(e))
        return float(e), np.asarray(g, dtype=np.float64)


def minimize(fun: Callable[[np.ndarray], float], x0: np.ndarray, *, optimizer: str = "bfgs",
             energy_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
             max_evaluations: int | None = None, tol: float = 1e-8, seed: Any = 0,
             callback: Callable[..., Any] | None = None) -> tuple[np.ndarray, float, list[float], int]:
    """Minimise ``fun`` with one of :data:`OPTIMIZERS`, counting evaluations.

    Args:
        fun: the energy.
        x0: the start.
        optimizer: ``bfgs``/``lbfgs`` (SciPy, with ``energy_and_gradient``), ``cobyla`` (SciPy),
            ``spsa`` (Spall's gains ``a = 0.2, c = 0.1, alpha = 0.602, gamma = 0.101``, seeded) or
            ``adam`` (learning rate 0.02, with ``energy_and_gradient``).
        energy_and_gradient: required by the gradient-based optimizers.
        max_evaluations: evaluation budget (default 2,000).
        tol: gradient-norm (bfgs, lbfgs, adam) or step (cobyla) tolerance.
        seed: SPSA's seed.
        callback: called as ``callback(n_evaluations, energy, parameters)`` after each evaluation.

    Returns:
        ``(parameters, energy, history, n_gradient_evaluations)``: the best point seen.

    Examples:
        >>> x, e, hist, ng = minimize(lambda x: float((x ** 2).sum()), np.ones(2), optimizer="cobyla")
        >>> round(e, 6), len(hist) > 5
        (0.0, True)
    """
    from scipy import optimize as so

    if optimizer not in OPTIMIZERS:
        raise ChemistryError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    budget = 2000 if max_evaluations is None else int(max_evaluations)
    if budget < 1:
        raise ChemistryError(f"max_evaluations must be >= 1, got {max_evaluations}")
    counter = _Counter(fun, energy_and_gradient, budget, callback)
    x0 = np.asarray(x0, dtype=np.float64).copy()
    if x0.size == 0:
        counter.energy(x0)
        return x0, counter.history[0], counter.history, 0
    if optimizer in ("bfgs", "lbfgs", "adam") and energy_and_gradient is None:
        raise ChemistryError(f"optimizer {optimizer!r} needs exact gradients; with shots or noise use "
                             f"'cobyla' or 'spsa'")
    if optimizer == "bfgs":
        so.minimize(counter.energy_and_grad, x0, jac=True, method="BFGS",
                    options={"maxiter": budget, "gtol": tol})
    elif optimizer == "lbfgs":
        so.minimize(counter.energy_and_grad, x0, jac=True, method="L-BFGS-B",
                    options={"maxfun": budget, "maxiter": budget, "gtol": tol, "ftol": 1e-15})
    elif optimizer == "cobyla":
        so.minimize(counter.energy, x0, method="COBYLA",
                    options={"maxiter": budget, "rhobeg": 0.1, "tol": max(tol, 1e-10)})
    elif optimizer == "spsa":
        _spsa(counter, x0, budget, as_generator(seed))
    else:
        _adam(counter, x0, budget, tol)
    e, x = counter.best
    return x, float(e), counter.history, counter.n_grad


def _spsa(counter: _Counter, x: np.ndarray, budget: int, rng: np.random.Generator) -> None:
    a, c, alpha, gamma, big_a = 0.2, 0.1, 0.602, 0.101, 10.0
    k = 0
    while len(counter.history) + 2 <= budget:
        ak = a / (k + 1 + big_a) ** alpha
        ck = c / (k + 1) ** gamma
        delta = rng.choice([-1.0, 1.0], size=x.shape)
        ep = counter.energy(x + ck * delta)
        em = counter.energy(x - ck * delta)
        x = x - ak * (ep - em) / (2 * ck) * delta
        k += 1
    if len(counter.history) < budget:
        counter.energy(x)


def _adam(counter: _Counter, x: np.ndarray, budget: int, tol: float) -> None:
    lr, b1, b2, eps = 0.02, 0.9, 0.999, 1e-8
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for t in range(1, budget + 1):
        _, g = counter.energy_and_grad(x)
        if np.linalg.norm(g) < tol:
            break
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)


def _energy_function(a: Ansatz, problem: Any, shots: int | None, noise: Any,
                     seed: Any, grouping: str | None = None) -> Callable[[np.ndarray], float]:
    if grouping is not None and (shots is None or noise is not None):
        raise ChemistryError("grouping= takes a total shot budget (shots=...) and no noise; for noisy "
                             "sampling leave grouping=None (qubit-wise bases, shots per basis)")
    if shots is None and noise is None:
        return a.energy
    from qtandem.sim import estimate_expval, expval

    rng = as_generator(seed)
    if grouping is not None:
        from qtandem.chem.grouping import estimate_energy, measurement_groups

        groups = measurement_groups(problem.hamiltonian, grouping, a.n_qubits)
        budget = int(shots or 0)

        def grouped(x: np.ndarray) -> float:
            return estimate_energy(a.circuit(x), problem.hamiltonian, budget, groups=groups,
                                   seed=int(rng.integers(2**63)))[0]
        return grouped

    def noisy(x: np.ndarray) -> float:
        circuit = a.circuit(x)
        if shots is None:
            return float(expval(circuit, problem.hamiltonian, noise=noise).real)
        return float(estimate_expval(circuit, problem.hamiltonian, int(shots), noise=noise,
                                     seed=int(rng.integers(2**63))).value)
    return noisy


def vqe(problem: Any, ansatz: str | Ansatz = "uccsd", *, optimizer: str = "bfgs", initial: Any = None,
        shots: int | None = None, noise: Any = None, seed: Any = 0, max_evaluations: int | None = None,
        tol: float = 1e-8, callback: Callable[..., Any] | None = None, compile_level: int | None = 1,
        grouping: str | None = None, device: Any = None, mitigation: Any = None, **options: Any) -> VQEResult:
    """Run VQE on ``problem`` and return a :class:`VQEResult`.

    Args:
        problem: a :class:`~qtandem.chem.problem.ChemProblem` (Jordan-Wigner for the qubit-excitation ansatze).
        ansatz: ``"uccsd"`` (Givens form), ``"fermionic-uccsd"``, ``"kupccgsd"``, ``"hea"``, an adaptive
            one (``"adapt"``, ``"qubit-adapt"``, ``"ceo-adapt"``: see :func:`qtandem.chem.adapt.adapt_vqe`) or
            an :class:`~qtandem.chem.ansatz.Ansatz`.
        optimizer: one of :data:`OPTIMIZERS`.
        initial: start parameters (default zeros: the HF state); for adaptive ansatze a previous
            :class:`VQEResult` whose operators and parameters seed the run.
        shots: shots per measured basis for sampled energies (``None``: exact).
        noise: a noise model or device for noisy energies (density matrix; small problems).
        seed: seed of SPSA and of the shot sampling.
        max_evaluations: evaluation budget.
        tol: optimizer tolerance.
        callback: ``callback(n_evaluations, energy, parameters)`` after every evaluation.
        compile_level: :func:`qtandem.compile.optimize` level for ``result.circuit`` (``None``: uncompiled).
        grouping: with ``shots``, ``"qubitwise"`` or ``"general"`` makes ``shots`` the total budget per
            energy, split over the commuting groups by :func:`qtandem.chem.grouping.estimate_energy`
            (noiseless); ``None`` samples every qubit-wise basis ``shots`` times (noise allowed).
        device: run every energy on this device (preset name, file or :class:`~qtandem.device.Device`):
            compiled for it, Hamiltonian remapped through the final layout, its noise model, ``shots`` per
            basis (default 10,000), optimizer ``cobyla`` unless ``spsa`` is given; see
            :func:`qtandem.chem.noisy.noisy_vqe`.
        mitigation: with ``device``: ``"none"``, ``"readout"``, ``"zne"``, ``"readout+zne"`` (default) or a
            list of :mod:`qtandem.mitigate` methods.
        **options: passed to the ansatz builder (``k``, ``layers``), to ADAPT, or to
            :func:`~qtandem.chem.noisy.noisy_vqe` (``final_shots``, ``compile_seed``).

    Raises:
        ChemistryError: unknown ansatz or optimizer, wrong ``initial`` shape, a gradient-based optimizer
            with shots or noise.

    Examples:
        >>> from types import SimpleNamespace
        >>> from qtandem.circuit.pauli import PauliSum
        >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 + 0.2*X0*X2 + 0.2*Y0*Y2")
        >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0001, n_alpha=1, n_beta=0,
        ...                        n_orbitals=2, references={})
        >>> r = vqe(prob, "uccsd", optimizer="cobyla", compile_level=None)
        >>> round(r.energy, 4), r.n_evaluations == len(r.history)
        (-0.4, True)
    """
    if device is not None:
        from qtandem.chem.noisy import noisy_vqe

        if noise is not None or grouping is not None:
            raise ChemistryError("device= brings its own noise model and measures qubit-wise groups; "
                                 "leave noise and grouping unset")
        return noisy_vqe(problem, ansatz, device=device,
                         mitigation="readout+zne" if mitigation is None else mitigation,
                         shots=10_000 if shots is None else shots,
                         optimizer=optimizer if optimizer == "spsa" else "cobyla", initial=initial, seed=seed,
                         max_evaluations=60 if max_evaluations is None else max_evaluations, callback=callback,
                         compile_level=compile_level, **options)
    if mitigation is not None:
        raise ChemistryError("mitigation= needs device= (the device whose noise it mitigates)")
    if isinstance(ansatz, str) and ansatz in ADAPTIVE:
        from qtandem.chem.adapt import adapt_vqe

        return adapt_vqe(problem, ansatz, optimizer=optimizer, initial=initial, shots=shots, noise=noise,
                         seed=seed, max_evaluations=max_evaluations, tol=tol, callback=callback,
                         compile_level=compile_level, **options)
    a = ansatz if isinstance(ansatz, Ansatz) else build_ansatz(problem, ansatz, **options)
    x0: np.ndarray
    if initial is None:
        x0 = np.zeros(a.n_parameters)
    else:
        x0 = np.asarray(initial, dtype=np.float64)
        if x0.shape != (a.n_parameters,):
            raise ChemistryError(f"initial parameters have shape {x0.shape}, the {a.name} ansatz takes "
                                 f"({a.n_parameters},)")
    fun = _energy_function(a, problem, shots, noise, seed, grouping)
    exact = shots is None and noise is None
    x, e, history, n_grad = minimize(fun, x0, optimizer=optimizer,
                                     energy_and_gradient=a.energy_and_gradient if exact else None,
                                     max_evaluations=max_evaluations, tol=tol, seed=seed, callback=callback)
    return finish(problem, a, x, e, history, n_grad, optimizer, compile_level)


def finish(problem: Any, a: Ansatz, x: np.ndarray, energy: float, history: Sequence[float], n_grad: int,
           optimizer: str, compile_level: int | None, extra: dict[str, Any] | None = None) -> VQEResult:
    """Package a result: compile the bound circuit and count its ``cx`` (used by VQE and ADAPT)."""
    circuit, n_cx = cnot_count(a.circuit(x), level=compile_level)
    return VQEResult(energy=float(energy), parameters=np.asarray(x, dtype=np.float64), circuit=circuit,
                     n_evaluations=len(history), n_gradient_evaluations=int(n_grad), history=list(history),
                     operators=[op.label for op in a.operators], cnot_count=n_cx,
                     references=dict(getattr(problem, "references", {}) or {}), exact_energy=a.energy(x),
                     ansatz=a.name, optimizer=optimizer, extra=dict(extra or {}))
