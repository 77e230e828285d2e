"""Mixed states as generative models of informationally complete POVM outcomes.

Carrasquilla, Torlai, Melko and Aolita (Nature Machine Intelligence 1, 155, 2019): measure every
qubit with the tetrahedral POVM ``M_a = (I + s_a . sigma) / 4`` (``s_a`` the corners of a regular
tetrahedron on the Bloch sphere, ``a = 0..3``). The outcome distribution ``P(a) = tr(rho
kron_q M_{a_q})`` determines ``rho`` (the POVM is informationally complete):
``rho = sum_a P(a) kron_q Q_{a_q}`` with the dual operators ``Q_a = sum_b (T^-1)_{ab} M_b``,
``T_{ab} = tr(M_a M_b)`` (here ``Q_a = (I + 3 s_a . sigma) / 2``). So a density matrix can be
learned as an ordinary distribution over strings of ``n`` symbols from ``{0, 1, 2, 3}``: an
autoregressive model (:class:`~qtandem.learn.autoregressive.AutoregressiveModel`, alphabet 4)
trained by the negative log-likelihood of the measured outcomes.

* :func:`measure_povm`: outcomes of a qtandem state (a density matrix from the noisy simulator,
  or a pure state), drawn from the exact Born rule ``P(a)``.
* :class:`POVMStateModel`: the learned distribution, its samples, exact ``P`` and ``rho`` for
  small ``n``, and Pauli expectations from samples for any ``n``.
* :func:`povm_density_matrix` and :func:`povm_mle`: ``rho`` from outcome frequencies (linear
  inversion) and the maximum-likelihood density matrix of the same outcomes (baselines).

Examples:
    >>> from qtandem import Circuit
    >>> data = measure_povm(Circuit(1).h(0), 20000, seed=0)
    >>> povm_density_matrix(data).real.round(decimals=1).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.errors import DataError, ParameterError, SimulationError
from qtandem.learn.autoregressive import AutoregressiveModel, torch_seed
from qtandem.learn.shadows import ShadowEstimate
from qtandem.learn.shots import _prepare
from qtandem.learn.tomography import (
    _PAULIS,
    _check_n,
    _from_pauli_coords,
    _mle,
    _modes,
    born_table,
    project_density,
)
from qtandem.random import Seed, as_generator

__all__ = ["TETRAHEDRAL", "POVMStateModel", "measure_povm", "povm_density_matrix", "povm_mle"]

_S = np.array([[0, 0, 1], [2 * math.sqrt(2) / 3, 0, -1 / 3], [-math.sqrt(2) / 3, math.sqrt(2 / 3), -1 / 3],
               [-math.sqrt(2) / 3, -math.sqrt(2 / 3), -1 / 3]])
#: The tetrahedral POVM effects ``(4, 2, 2)`` complex128, ``M_a = (I + s_a . sigma) / 4``.
TETRAHEDRAL = torch.as_tensor(np.einsum("ap,pij->aij", np.c_[np.ones(4), _S], _PAULIS.numpy()) / 4)
_OVERLAP = torch.einsum("aij,bji->ab", TETRAHEDRAL, TETRAHEDRAL).real
_DUAL = torch.einsum("ab,bij->aij", torch.linalg.inv(_OVERLAP).to(torch.complex128), TETRAHEDRAL)
_DUAL_PAULI = torch.einsum("aij,pji->pa", _DUAL, _PAULIS).real.contiguous()  # [P, a] = tr(Q_a P)


def _as_outcomes(outcomes: Any, n: int | None, where: str) -> torch.Tensor:
    arr = np.asarray(outcomes.numpy() if isinstance(outcomes, torch.Tensor) else outcomes)
    if arr.ndim != 2 or (n is not None and arr.shape[1] != n) or not len(arr):
        want = f"(shots, {n})" if n is not None else "(shots, n_qubits)"
        raise DataError(f"{where}: POVM outcomes must have shape {want} with at least one shot, got {arr.shape}")
    if arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() > 3:
        raise DataError(f"{where}: POVM outcomes must be integers 0..3 (tetrahedral effects), got dtype {arr.dtype} "
                        f"and values {arr.min()}..{arr.max()}")
    return torch.as_tensor(arr.astype(np.int64))


def _table(outcomes: torch.Tensor) -> torch.Tensor:
    n = outcomes.shape[1]
    codes = outcomes @ (4 ** torch.arange(n, dtype=torch.int64))
    return torch.bincount(codes, minlength=4**n).to(torch.float64)


def measure_povm(circuit_or_state: Any, shots: int, *, noise: Any = None, seed: Seed = None) -> np.ndarray:
    """Tetrahedral POVM outcomes of every qubit, drawn from the exact Born rule ``P(a) = tr(rho M_a)``.

    Args:
        circuit_or_state: a :class:`~qtandem.Circuit` (terminal measurements dropped), a state
            vector or a density matrix.
        shots: number of outcome strings.
        noise: a :class:`~qtandem.NoiseModel` for a circuit: the state is its density matrix
            (readout errors of the model are not applied: the outcomes are not bits).
        seed: seed of the draw.

    Returns:
        ``(shots, n)`` uint8, column ``q`` the outcome ``0..3`` of qubit ``q``.

    Raises:
        SimulationError: a bad state or ``shots``; more than 10 qubits.

    Examples:
        >>> from qtandem import Circuit
        >>> a = measure_povm(Circuit(2), 40000, seed=1)
        >>> a.shape, round(float((a[:, 0] == 0).mean()), 2)        # |0>: P(a=0) = (1 + 1) / 4
        ((40000, 2), 0.5)
    """
    if isinstance(shots, bool) or int(shots) != shots or shots < 1:
        raise SimulationError(f"measure_povm(): shots must be a positive integer, got {shots!r}")
    n, state, density = _prepare(circuit_or_state, noise)
    _check_n(n, "measure_povm()")
    rho = state if density else torch.outer(state, state.conj())
    p = born_table(rho, TETRAHEDRAL, n).clamp_min(0).numpy()
    cdf = np.cumsum(p)
    idx = np.minimum(np.searchsorted(cdf / cdf[-1], as_generator(seed).random(int(shots)), side="right"), len(p) - 1)
    return ((idx[:, None] // 4 ** np.arange(n)) % 4).astype(np.uint8)


def povm_density_matrix(probabilities: Any) -> torch.Tensor:
    """``rho = sum_a P(a) kron_q Q_{a_q}`` from outcome probabilities or from outcome strings.

    Args:
        probabilities: ``(4**n,)`` probabilities (index ``sum_q a_q 4**q``), or ``(shots, n)``
            outcomes (their frequencies: the linear-inversion estimate, Hermitian, trace 1, maybe
            not positive semidefinite).

    Returns:
        ``(2**n, 2**n)`` complex128 tensor.

    Raises:
        DataError: a length that is not a power of 4, or bad outcomes.

    Examples:
        >>> from qtandem.learn.tomography import born_table
        >>> rho = torch.tensor([[0.8, 0.3j], [-0.3j, 0.2]], dtype=torch.complex128)
        >>> bool(torch.allclose(povm_density_matrix(born_table(rho, TETRAHEDRAL, 1)), rho))
        True
    """
    p = probabilities
    if isinstance(p, (torch.Tensor, np.ndarray)) and p.ndim == 1:
        p = torch.as_tensor(p, dtype=torch.float64)
        n = round(math.log(len(p), 4)) if len(p) else -1
        if n < 1 or 4**n != len(p):
            raise DataError(f"povm_density_matrix(): {len(p)} probabilities is not 4**n")
    else:
        outcomes = _as_outcomes(p, None, "povm_density_matrix()")
        n = outcomes.shape[1]
        _check_n(n, "povm_density_matrix()")
        p = _table(outcomes) / len(outcomes)
    return _from_pauli_coords(_modes(p, _DUAL_PAULI, n), n)


def povm_mle(outcomes: Any, *, method: str = "pgd", max_iter: int = 2000, tol: float = 1e-10,
             history: list[float] | None = None) -> torch.Tensor:
    """Maximum-likelihood density matrix of tetrahedral POVM outcomes.

    The same solver as :func:`~qtandem.learn.tomography.mle_tomography`, started from
    :func:`povm_density_matrix` of the outcomes.

    Raises:
        DataError: bad outcomes or ``method``.

    Examples:
        >>> from qtandem import Circuit
        >>> rho = povm_mle(measure_povm(Circuit(1).x(0), 2000, seed=3))
        >>> round(float(rho[1, 1].real), 1)
        1.0
    """
    if method not in ("pgd", "rrr"):
        raise DataError(f"povm_mle(): method must be 'pgd' or 'rrr', got {method!r}")
    data = _as_outcomes(outcomes, None, "povm_mle()")
    n = data.shape[1]
    _check_n(n, "povm_mle()")
    table = _table(data)
    start = _from_pauli_coords(_modes(table / len(data), _DUAL_PAULI, n), n)
    return _mle(table, TETRAHEDRAL, n, start, method, int(max_iter), float(tol), history)


class POVMStateModel(nn.Module):
    """A density matrix learned as an autoregressive distribution over tetrahedral POVM outcomes.

    Args:
        n_qubits: number of qubits (tokens of the model).
        kind: ``"transformer"`` or ``"rnn"`` backbone.
        d_model, layers, heads: sizes of the backbone
            (:class:`~qtandem.learn.autoregressive.AutoregressiveModel`).
        seed: seed of the initial weights.

    Attributes:
        history_: mean training negative log-likelihood per step (after :meth:`fit`).

    Examples:
        >>> from qtandem import Circuit
        >>> data = measure_povm(Circuit(2).h(0).cx(0, 1), 4000, seed=0)
        >>> model = POVMStateModel(2, kind="rnn", d_model=16, layers=1, seed=0).fit(data, steps=150, seed=0)
        >>> rho = model.density_matrix()
        >>> bell = torch.tensor([1, 0, 0, 1], dtype=torch.complex128) / 2 ** 0.5
        >>> bool(torch.vdot(bell, rho @ bell).real > 0.9)
        True
    """

    def __init__(self, n_qubits: int, *, kind: str = "transformer", d_model: int = 32, layers: int = 2,
                 heads: int = 4, seed: Seed = 0) -> None:
        super().__init__()
        self.n_qubits = n_qubits
        self.net = AutoregressiveModel(n_qubits, 4, kind=kind, d_model=d_model, layers=layers, heads=heads, seed=seed)
        self.history_: list[float] = []

    def extra_repr(self) -> str:
        return f"n_qubits={self.n_qubits}"

    def fit(self, outcomes: Any, *, steps: int = 2000, batch_size: int = 512, lr: float = 3e-3,
            seed: Seed = None) -> POVMStateModel:
        """Minimise the negative log-likelihood of the outcomes (Adam, cosine learning rate, mini-batches).

        Args:
            outcomes: ``(shots, n)`` integers ``0..3`` (:func:`measure_povm`).
            steps: optimizer steps.
            batch_size: outcome strings per step (drawn with replacement).
            lr: peak learning rate.
            seed: seed of the mini-batch draws.

        Returns:
            ``self``.

        Raises:
            DataError: outcomes of the wrong shape or values.
            ParameterError: a bad ``steps``, ``batch_size`` or ``lr``.

        Examples:
            >>> m = POVMStateModel(1, kind="rnn", d_model=8, layers=1).fit([[0], [1], [1], [3]], steps=3)
            >>> len(m.history_)
            3
        """
        data = _as_outcomes(outcomes, self.n_qubits, "POVMStateModel.fit()")
        for name, value in (("steps", steps), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"POVMStateModel.fit(): {name} must be a positive integer, got {value!r}")
        if not lr > 0:
            raise ParameterError(f"POVMStateModel.fit(): lr must be positive, got {lr!r}")
        gen = torch.Generator().manual_seed(torch_seed(seed, 41))
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        self.train()
        for _ in range(steps):
            batch = data[torch.randint(len(data), (batch_size,), generator=gen)]
            loss = -self.net.log_prob(batch).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            self.history_.append(float(loss.detach()))
        self.eval()
        return self

    def log_prob(self, outcomes: Any) -> torch.Tensor:
        """``(B,)`` log-probability of each outcome string (differentiable).

        Examples:
            >>> m = POVMStateModel(2, kind="rnn", d_model=8, layers=1)
            >>> m.log_prob([[0, 3]]).shape
            torch.Size([1])
        """
        return self.net.log_prob(_as_outcomes(outcomes, self.n_qubits, "POVMStateModel.log_prob()"))

    def sample(self, shots: int, *, seed: Seed = None) -> np.ndarray:
        """``(shots, n)`` uint8 outcome strings drawn from the model.

        Examples:
            >>> POVMStateModel(3, kind="rnn", d_model=8, layers=1).sample(5, seed=0).shape
            (5, 3)
        """
        return self.net.sample(shots, seed=seed).numpy().astype(np.uint8)

    @torch.no_grad()
    def probabilities(self) -> torch.Tensor:
        """All ``4**n`` model probabilities, index ``sum_q a_q 4**q`` (``n <= 10``).

        Raises:
            SimulationError: more than 10 qubits.

        Examples:
            >>> p = POVMStateModel(2, kind="rnn", d_model=8, layers=1).probabilities()
            >>> p.shape, round(float(p.sum()), 6)
            (torch.Size([16]), 1.0)
        """
        n = self.n_qubits
        _check_n(n, "POVMStateModel.probabilities()")
        idx = torch.arange(4**n, dtype=torch.int64)
        tokens = (idx[:, None] // 4 ** torch.arange(n)) % 4
        return torch.cat([self.net.log_prob(t).double().exp() for t in tokens.split(1 << 14)])

    def density_matrix(self, *, project: str | None = None) -> torch.Tensor:
        """``rho = sum_a P(a) kron_q Q_{a_q}`` of the model (``n <= 10``).

        The dual operators amplify small errors of ``P`` (their norms grow like ``3**n``), so the
        raw matrix, Hermitian with trace 1, can be far from positive. Two projections:

        Args:
            project: ``None`` (the raw matrix); ``"frobenius"`` (nearest density matrix:
                eigenvalues onto the simplex); ``"likelihood"`` (the density matrix whose POVM
                distribution is closest to the model's in KL divergence, i.e. maximum likelihood
                with the model's probabilities as data, solved as :func:`povm_mle`).

        Raises:
            DataError: an unknown ``project``.

        Examples:
            >>> rho = POVMStateModel(2, kind="rnn", d_model=8, layers=1).density_matrix(project="frobenius")
            >>> rho.shape, round(float(torch.trace(rho).real), 6)
            (torch.Size([4, 4]), 1.0)
        """
        if project not in (None, "frobenius", "likelihood"):
            raise DataError(f"density_matrix(): project must be None, 'frobenius' or 'likelihood', got {project!r}")
        p = self.probabilities()
        rho = povm_density_matrix(p)
        if project == "frobenius":
            return project_density(rho)
        if project == "likelihood":
            return _mle(p / p.sum(), TETRAHEDRAL, self.n_qubits, rho, "pgd", 2000, 1e-10, None)
        return rho

    def expectation(self, paulis: Sequence[str], *, shots: int = 100000, seed: Seed = None) -> ShadowEstimate:
        """Pauli expectations ``sum_a P(a) prod_q tr(P_q Q_{a_q})`` estimated from model samples (any ``n``).

        Args:
            paulis: labels like ``"XXI"`` (qubit 0 rightmost).
            shots: model samples.
            seed: seed of the samples.

        Returns:
            values and standard errors (``sigma / sqrt(shots)``).

        Raises:
            DataError: a label of the wrong length or letters other than I, X, Y, Z.

        Examples:
            >>> m = POVMStateModel(2, kind="rnn", d_model=8, layers=1)
            >>> est = m.expectation(["ZZ", "IX"], shots=1000, seed=0)
            >>> tuple(est.values.shape)
            (2,)
        """
        n = self.n_qubits
        codes = []
        for label in paulis:
            if not isinstance(label, str) or len(label) != n or set(label) - set("IXYZ"):
                raise DataError(f"expectation(): {label!r} is not a Pauli label of {n} letters I, X, Y, Z")
            codes.append(["IXYZ".index(ch) for ch in reversed(label)])
        a = torch.as_tensor(self.sample(shots, seed=seed).astype(np.int64))
        code = torch.as_tensor(codes, dtype=torch.int64)  # (m, n)
        per = _DUAL_PAULI[code[:, None, :], a[None, :, :]].prod(-1)  # (m, shots)
        return ShadowEstimate(per.mean(1), per.std(1) / math.sqrt(shots))
