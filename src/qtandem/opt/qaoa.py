"""QAOA on qtandem.opt problems: exact and fast expectations, optimisation, sampling, circuits.

Convention: ``|psi> = prod_k M(beta_k) exp(-i gamma_k C) |psi_0>`` (layer 1 first) with ``C`` the QUBO
energy (always minimised; MaxCut's QUBO is minus the cut) and, for ``mixer="x"``,
``M(beta) = exp(-i beta sum_j X_j)`` and ``|psi_0> = |+>^n``. QOKit (``get_qaoa_maxcut_objective``,
``apply_qaoa_furx``) applies ``exp(-i gamma_q C_q / 2)`` with ``C_q`` minus the cut: the same state
and objective at ``gamma = gamma_q / 2`` and ``beta = beta_q``.

The cost diagonal is computed once per problem (``QUBO.diagonal()``, cached) and applied as a phase;
the X mixer is applied by cache-blocked single-qubit rotations (:mod:`qtandem.sim.diagonal`), with an
adjoint gradient. Other mixers: ``"xy"`` (ring XY on the disjoint one-hot/k-hot groups of
``problem.constraints``; Hamming weights of the groups are kept) and ``"warm"`` (Egger et al., Quantum 5,
479, 2021: ``|psi_0> = prod_j RY(theta_j)|0>`` from a continuous relaxation ``c`` with ``theta_j =
2 arcsin sqrt(c_j)``, and the mixer ``RY(theta_j) RZ(-2 beta) RY(-theta_j)``).

``"xy"`` starts (``start=``) from the uniform superposition over the groups' weight-preserving subspace
(``"dicke"``, the default: a W / Dicke state per group, Hadfield et al. 2019; the exported circuit
prepares it with Baertschi and Eidenbenz's 2019 construction) or from one feasible basis state
(``"basis"``, ``problem.repair`` of all-zeros); variables outside every group get the X mixer from
``|+>``. It is simulated inside that subspace only (``prod_g C(|g|, k_g) * 2**free`` amplitudes: 256
instead of 65,536 for a 5-city TSP, 125,970 instead of 1,048,576 for 20 assets holding 8), in torch with
autograd. ``"warm"`` runs on the full ``2**n`` vector in torch (n <= ~20). The X mixer alone has the
native kernels.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from qtandem.circuit import Circuit
from qtandem.errors import ConfigError
from qtandem.random import as_generator
from qtandem.sim import diagonal as _diag

__all__ = ["QAOAResult", "qaoa", "qaoa_expectation"]

_CACHE: OrderedDict[int, tuple[Any, _diag.DiagonalCost]] = OrderedDict()
_CACHE_SIZE = 4
_MIXERS = ("x", "xy", "warm")
_STARTS = ("dicke", "basis")
_SETUPS: OrderedDict[tuple[int, str, str], tuple[Any, _Setup]] = OrderedDict()
WARM_EPSILON = 0.25
"""Egger et al.'s regularisation: warm-start probabilities are clipped into ``[eps, 1 - eps]``."""
_INITS = ("fixed", "interp", "learned", "random")
_OBJECTIVES = ("energy", "cvar", "p_opt")


def _qubo(problem: Any) -> Any:
    return problem.qubo if hasattr(problem, "qubo") else problem


def _cost(problem: Any) -> _diag.DiagonalCost:
    """The prepared diagonal of ``problem``'s QUBO, computed once (LRU cache of a few problems)."""
    if isinstance(problem, _diag.DiagonalCost):
        return problem
    q = _qubo(problem)
    key = id(q)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is q:
        _CACHE.move_to_end(key)
        return hit[1]
    cost = _diag.DiagonalCost(q.diagonal())
    _CACHE[key] = (q, cost)  # the reference keeps id(q) from being reused while cached
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return cost


def _groups(problem: Any) -> list[tuple[list[int], int]]:
    """Disjoint constraint groups with their Hamming weight (1, or the portfolio budget)."""
    groups: list[tuple[list[int], int]] = []
    used: set[int] = set()
    k = int(getattr(problem, "data", {}).get("budget", 1)) if getattr(problem, "name", "") == "portfolio" else 1
    for grp in getattr(problem, "constraints", []) or []:
        g = [int(q) for q in grp]
        if used.isdisjoint(g):
            groups.append((g, k))
            used.update(g)
    return groups


def _feasible_start(problem: Any, n: int) -> np.ndarray:
    x: np.ndarray = np.zeros(n, dtype=np.int64)
    if hasattr(problem, "repair"):
        x = np.asarray(problem.repair(x.copy()), dtype=np.int64).reshape(-1)
    for g, k in _groups(problem):
        if int(x[g].sum()) != k:
            x[g] = 0
            x[g[:k]] = 1
    return x


def _relaxation(problem: Any, n: int) -> np.ndarray:
    """Continuous relaxation for warm starts: the convex QP of a portfolio (cvxpy); for MaxCut the
    Goemans-Williamson cut (SDP + 100 hyperplanes, seed 0; Egger et al.'s MaxCut warm start); else the
    QUBO's box relaxation ``min x^T Q x + l.x`` over ``[0, 1]^n`` by projected gradient from 1/2 (a local
    optimum). Regularised into ``[eps, 1 - eps]`` with ``eps = WARM_EPSILON``."""
    data = getattr(problem, "data", {}) or {}
    eps = WARM_EPSILON
    if getattr(problem, "name", "") == "maxcut" and hasattr(problem, "qubo"):
        from qtandem.opt.classical import solve_classical

        cut = np.asarray(solve_classical(problem, "gw", seed=0, rounds=100).solution, dtype=np.float64)
        return np.where(cut > 0.5, 1.0 - eps, eps)
    if getattr(problem, "name", "") == "portfolio" and "sigma" in data:
        try:
            import cvxpy as cp
        except ImportError as err:  # pragma: no cover - the opt extra
            raise ConfigError("mixer='warm' on a portfolio needs cvxpy: pip install 'qtandem[opt]'") from err
        x = cp.Variable(n)
        obj = cp.Minimize(data["risk"] * cp.quad_form(x, cp.psd_wrap(data["sigma"])) - data["mu"] @ x)
        cp.Problem(obj, [cp.sum(x) == data["budget"], x >= 0, x <= 1]).solve()
        c = np.asarray(x.value, dtype=np.float64)
    else:
        q = _qubo(problem)
        m = q.to_matrix()
        a = np.triu(m, 1)
        a = a + a.T
        lin = np.diag(m).copy()
        c = np.full(n, 0.5)
        step = 0.5 / max(1e-12, float(np.abs(a).sum(1).max() + np.abs(lin).max()))
        for _ in range(500):
            c = np.clip(c - step * (a @ c + lin), 0.0, 1.0)
    return np.clip(c, eps, 1.0 - eps)


@dataclass
class _Setup:
    """How a mixer is simulated: the basis states kept (``None``: all ``2**n``), the initial state on them,
    the torch mixer, and what the circuit export needs."""

    states: np.ndarray | None
    psi0: torch.Tensor | None
    mix: _diag.Mixer | None
    info: Any


def _subspace(groups: list[tuple[list[int], int]], free: list[int]) -> np.ndarray:
    """Sorted basis indices with weight ``k_g`` in every group ``g`` (free bits arbitrary)."""
    size = math.prod(math.comb(len(g), k) for g, k in groups) * 2 ** len(free)
    if size > 2**26:
        from qtandem.errors import ResourceError

        raise ResourceError(f"qaoa: the XY subspace has {size:,} states (more than 2**26); too large to simulate")
    states: np.ndarray = np.zeros(1, dtype=np.int64)
    for g, k in groups:
        words = np.array([sum(1 << q for q in c) for c in itertools.combinations(g, k)], dtype=np.int64)
        states = (states[:, None] | words[None, :]).reshape(-1)
    for q in free:
        states = np.concatenate([states, states | (1 << q)])
    states.sort()
    return states


def _pair_maps(states: np.ndarray, pairs: list[tuple[int, int]], free: list[int]
               ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Index pairs ``(a, b)`` inside ``states`` coupled by each XY pair (``|10> <-> |01>``) and each free
    qubit's X (``|0> <-> |1>``); both act as ``[[cos b, -i sin b], [-i sin b, cos b]]`` on the pair."""
    out = []
    for i, j in pairs:
        a = np.flatnonzero(((states >> i) & 1 == 1) & ((states >> j) & 1 == 0))
        b = np.searchsorted(states, states[a] ^ ((1 << i) | (1 << j)))
        out.append((torch.from_numpy(a), torch.from_numpy(b)))
    for q in free:
        a = np.flatnonzero((states >> q) & 1 == 0)
        b = np.searchsorted(states, states[a] | (1 << q))
        out.append((torch.from_numpy(a), torch.from_numpy(b)))
    return out


def _ring_pairs(groups: list[list[int]]) -> list[tuple[int, int]]:
    """The ring pairs of each group, even pairs then odd ones (one Trotter step), as ``xy_mixer``."""
    pairs: list[tuple[int, int]] = []
    for g in groups:
        k = len(g)
        if k < 2:
            continue
        cyc = [(g[t], g[(t + 1) % k]) for t in range(k)] if k > 2 else [(g[0], g[1])]
        pairs += cyc[0::2] + cyc[1::2]
    return pairs


def _mixer_setup(problem: Any, mixer: str, n: int, start: str = "dicke") -> _Setup:
    """The simulation setup of ``mixer`` for ``problem`` (cached per problem, mixer and start)."""
    if mixer == "x":
        return _Setup(None, None, None, None)
    if mixer not in _MIXERS:
        raise ConfigError(f"qaoa: mixer must be one of {_MIXERS}, got {mixer!r}")
    if start not in _STARTS:
        raise ConfigError(f"qaoa: start must be one of {_STARTS}, got {start!r}")
    q = _qubo(problem)
    key = (id(q), mixer, start if mixer == "xy" else "")
    hit = _SETUPS.get(key)
    if hit is not None and hit[0] is q:
        _SETUPS.move_to_end(key)
        return hit[1]
    setup = _build_setup(problem, mixer, n, start)
    _SETUPS[key] = (q, setup)
    while len(_SETUPS) > _CACHE_SIZE:
        _SETUPS.popitem(last=False)
    return setup


def _build_setup(problem: Any, mixer: str, n: int, start: str) -> _Setup:
    if mixer == "xy":
        groups = _groups(problem)
        if not groups:
            raise ConfigError("qaoa: mixer='xy' needs problem.constraints (one-hot groups); this problem has none")
        grouped = {q for g, _ in groups for q in g}
        free = [q for q in range(n) if q not in grouped]
        states = _subspace(groups, free)
        maps = _pair_maps(states, _ring_pairs([g for g, _ in groups]), free)
        x0 = _feasible_start(problem, n)
        if start == "dicke":
            psi0 = torch.full((states.size,), states.size ** -0.5, dtype=torch.complex128)
        else:
            word = int(sum(int(b) << i for i, b in enumerate(x0)))
            mask = sum(1 << q for q in grouped)
            sel = (states & mask) == (word & mask)
            psi0 = torch.from_numpy(np.where(sel, 1.0, 0.0) / math.sqrt(int(sel.sum()))).to(torch.complex128)

        def mix(psi: torch.Tensor, beta: torch.Tensor, n_: int) -> torch.Tensor:
            c, s = torch.cos(beta), torch.sin(beta)
            for a, b in maps:
                pa, pb = psi[a], psi[b]
                psi = psi.index_copy(0, a, c * pa - 1j * s * pb).index_copy(0, b, c * pb - 1j * s * pa)
            return psi
        return _Setup(states, psi0, mix, ("xy", x0, groups, free, start))
    c = _relaxation(problem, n)
    thetas = 2 * np.arcsin(np.sqrt(c))
    psi0 = torch.ones(1, dtype=torch.complex128)
    for q in reversed(range(n)):
        amp = torch.tensor([math.cos(thetas[q] / 2), math.sin(thetas[q] / 2)], dtype=torch.complex128)
        psi0 = torch.kron(psi0, amp)
    return _Setup(None, psi0, _diag.rotated_mixer(thetas.tolist()), ("warm", thetas))


def _evolve(cost: _diag.DiagonalCost, setup: _Setup, g: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor,
                                                                                                torch.Tensor]:
    """(state on ``setup.states``, the cost diagonal there) for the torch path."""
    d = torch.from_numpy(cost.diagonal if setup.states is None else cost.diagonal[setup.states])
    return _diag.evolve_torch(d, g, b, initial=setup.psi0, mixer=setup.mix), d


def _dicke(c: Circuit, qubits: list[int], k: int) -> None:
    """Prepare the Dicke state ``|D^N_k>`` on ``qubits`` from ``|0...0>`` (Baertschi and Eidenbenz 2019:
    split-and-cyclic-shift blocks; controlled RY by CX/CCX conjugation)."""
    big_n = len(qubits)
    for i in range(big_n - k, big_n):
        c.x(qubits[i])
    if k in (0, big_n):
        return

    def cry(theta: float, ctl: int, t: int) -> None:
        c.ry(theta / 2, t).cx(ctl, t).ry(-theta / 2, t).cx(ctl, t)

    def ccry(theta: float, c1: int, c2: int, t: int) -> None:
        c.ry(theta / 2, t).ccx(c1, c2, t).ry(-theta / 2, t).ccx(c1, c2, t)

    def scs(m: int, kk: int) -> None:
        q = qubits
        c.cx(q[m - 2], q[m - 1])
        cry(2 * math.acos(math.sqrt(1 / m)), q[m - 1], q[m - 2])
        c.cx(q[m - 2], q[m - 1])
        for el in range(2, kk + 1):
            c.cx(q[m - el - 1], q[m - 1])
            ccry(2 * math.acos(math.sqrt(el / m)), q[m - 1], q[m - el], q[m - el - 1])
            c.cx(q[m - el - 1], q[m - 1])

    for m in range(big_n, k, -1):
        scs(m, k)
    for m in range(k, 1, -1):
        scs(m, m - 1)


def qaoa_expectation(problem: Any, gammas: Any, betas: Any, *, mixer: str = "x",
                     start: str = "dicke") -> torch.Tensor:
    """Exact QAOA energy ``<psi|C|psi>`` (module convention), differentiable, batched over leading dims.

    Args:
        problem: a :class:`~qtandem.opt.Problem`, a :class:`~qtandem.opt.QUBO` or a
            :class:`qtandem.sim.diagonal.DiagonalCost`. The diagonal is computed once per problem.
        gammas, betas: shape ``(..., p)`` (tensors keep their autograd graph).
        mixer: ``"x"`` (native kernels, adjoint gradient), ``"xy"`` (torch, inside the groups' subspace)
            or ``"warm"`` (torch).
        start: initial state of ``mixer="xy"``: ``"dicke"`` (uniform over the subspace) or ``"basis"``.

    Returns:
        float64 tensor of shape ``(...)``.

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> prob = maxcut(nx.cycle_graph(4))
        >>> round(float(qaoa_expectation(prob, [0.4], [-0.3])), 4)
        -2.6686
    """
    cost = _cost(problem)
    if mixer == "x":
        return _diag.qaoa_expectation(cost, gammas, betas)
    setup = _mixer_setup(problem, mixer, cost.n, start)
    g = torch.as_tensor(gammas, dtype=torch.float64)
    b = torch.as_tensor(betas, dtype=torch.float64)
    gf, bf = g.reshape(-1, g.shape[-1]), b.reshape(-1, b.shape[-1])
    outs = []
    for i in range(gf.shape[0]):
        psi, d = _evolve(cost, setup, gf[i], bf[i])
        outs.append((d * (psi.real**2 + psi.imag**2)).sum())
    return torch.stack(outs).reshape(g.shape[:-1])


@dataclass
class QAOAResult:
    """Outcome of :func:`qaoa`.

    Attributes:
        gammas, betas: optimised angles, float64 ``(p,)``.
        energy: exact noiseless ``<C>`` at those angles.
        objective: final value of the optimised objective (energy, CVaR or ``-P(opt)``; estimated from
            shots / noisy when those were given).
        approximation_ratio: ``(E_max - <C>) / (E_max - E_min)`` over all basis states (for MaxCut:
            expected cut / maximum cut).
        p_optimal: probability of sampling a minimum-energy state.
        p_feasible: probability of a feasible state (exact for n <= 16 or an XY subspace of <= 2**17
            states; else from 8,192 seeded samples).
        n_evaluations: objective evaluations (one per call, with or without its gradient).
        n_gradient_evaluations: of which with a gradient.
        history: objective value per evaluation.
        optimal_energy: ``E_min``; time_s: wall time; mixer, p; start: the XY initial state.

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> r = qaoa(maxcut(nx.cycle_graph(4)), 1, init="random", seed=0)
        >>> round(r.approximation_ratio, 3), r.samples(3, seed=1).shape
        (0.75, (3, 4))
    """

    gammas: np.ndarray
    betas: np.ndarray
    energy: float
    objective: float
    approximation_ratio: float
    p_optimal: float
    p_feasible: float
    n_evaluations: int
    n_gradient_evaluations: int
    history: list[float]
    optimal_energy: float
    time_s: float
    mixer: str
    p: int
    start: str = "dicke"
    _problem: Any = field(default=None, repr=False)

    def probabilities(self) -> np.ndarray:
        """Noiseless Born probabilities of the final state, float64 ``(2**n,)``.

        Examples:
            >>> import networkx as nx
            >>> from qtandem.opt import maxcut
            >>> r = qaoa(maxcut(nx.path_graph(2)), 1, init="random", seed=0, max_evaluations=5)
            >>> round(float(r.probabilities().sum()), 6)
            1.0
        """
        return _probabilities(self._problem, self.gammas, self.betas, self.mixer, self.start)

    def samples(self, shots: int, seed: Any = 0) -> np.ndarray:
        """``shots`` bit vectors drawn from the final state; int8 ``(shots, n)``, column ``i`` = ``x_i``.

        Examples:
            >>> import networkx as nx
            >>> from qtandem.opt import maxcut
            >>> r = qaoa(maxcut(nx.path_graph(2)), 1, init="random", seed=0)
            >>> sorted({tuple(s) for s in r.samples(50, seed=0).tolist()})
            [(0, 1), (1, 0)]
        """
        probs = self.probabilities()
        idx = as_generator(seed).choice(probs.size, size=int(shots), p=probs / probs.sum())
        n = int(probs.size).bit_length() - 1
        out: np.ndarray = ((idx[:, None] >> np.arange(n)) & 1).astype(np.int8)
        return out

    def circuit(self) -> Circuit:
        """The QAOA circuit with these angles: state preparation, ``rz``/``rzz`` cost layers (from the
        Ising form of the QUBO, exact up to a global phase) and ``rx`` (or ``rxx``+``ryy`` for XY, or
        ``ry``/``rz`` for warm-start) mixer layers; the XY start is a Dicke state per group (``x``, ``cx``,
        ``ccx``, ``ry``) or the basis state (``x``). Exportable with ``to_qasm`` and compiled by
        :mod:`qtandem.compile`.

        Examples:
            >>> import networkx as nx
            >>> from qtandem.opt import maxcut
            >>> r = qaoa(maxcut(nx.path_graph(3)), 1, init="random", seed=0, max_evaluations=3)
            >>> c = r.circuit()
            >>> c.n_qubits, sorted({inst.name for inst in c})
            (3, ['h', 'rx', 'rzz'])
        """
        return qaoa_circuit(self._problem, self.gammas, self.betas, mixer=self.mixer, start=self.start)


def qaoa_circuit(problem: Any, gammas: Any, betas: Any, *, mixer: str = "x", start: str = "dicke") -> Circuit:
    """The QAOA circuit of :meth:`QAOAResult.circuit` for given angles."""
    q = _qubo(problem)
    n = q.n
    h, J, _ = q.to_ising()
    info = _mixer_setup(problem, mixer, n, start).info
    c = Circuit(n)
    if info is None:
        for i in range(n):
            c.h(i)
    elif info[0] == "xy":
        if info[4] == "dicke":
            for grp, k in info[2]:
                _dicke(c, list(grp), k)
        else:
            for i, bit in enumerate(info[1]):
                if bit and i not in info[3]:
                    c.x(i)
        for i in info[3]:
            c.h(i)
    else:
        for i, t in enumerate(info[1]):
            c.ry(float(t), i)
    for g, b in zip(np.asarray(gammas, dtype=float), np.asarray(betas, dtype=float), strict=True):
        for (i, j), w in sorted(J.items()):
            if w:
                c.rzz(2 * g * float(w), i, j)
        for i in range(n):
            if h[i]:
                c.rz(2 * g * float(h[i]), i)
        if info is None:
            for i in range(n):
                c.rx(2 * b, i)
        elif info[0] == "xy":
            for grp, _ in info[2]:
                k = len(grp)
                if k < 2:
                    continue
                cyc = [(grp[t], grp[(t + 1) % k]) for t in range(k)] if k > 2 else [(grp[0], grp[1])]
                for a, bb in cyc[0::2] + cyc[1::2]:
                    c.rxx(b, a, bb)  # rxx(b) ryy(b) = exp(-i b (XX + YY) / 2): XX and YY commute
                    c.ryy(b, a, bb)
            for i in info[3]:
                c.rx(2 * b, i)
        else:
            for i, t in enumerate(info[1]):
                c.ry(-float(t), i)
                c.rz(-2 * b, i)
                c.ry(float(t), i)
    return c


def _probabilities(problem: Any, gammas: np.ndarray, betas: np.ndarray, mixer: str,
                   start: str = "dicke") -> np.ndarray:
    cost = _cost(problem)
    if mixer == "x":
        psi = _diag.qaoa_state(cost, gammas, betas)
        out: np.ndarray = psi.real**2 + psi.imag**2
        return out
    setup = _mixer_setup(problem, mixer, cost.n, start)
    with torch.no_grad():
        st, _ = _evolve(cost, setup, torch.as_tensor(gammas, dtype=torch.float64),
                        torch.as_tensor(betas, dtype=torch.float64))
    sub = (st.real**2 + st.imag**2).numpy()
    if setup.states is None:
        return sub
    full = np.zeros(2**cost.n)
    full[setup.states] = sub
    return full


def _cvar(energies_sorted: np.ndarray, probs_sorted: np.ndarray, alpha: float) -> float:
    cum = np.cumsum(probs_sorted)
    k = int(np.searchsorted(cum, alpha))
    k = min(k, cum.size - 1)
    before = cum[k - 1] if k > 0 else 0.0
    total = float(np.dot(energies_sorted[:k], probs_sorted[:k])) + (alpha - before) * float(energies_sorted[k])
    return total / alpha


def _initial_angles(problem: Any, p: int, init: Any, rng: np.random.Generator,
                    scale: float) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(init, tuple):
        g, b = (np.asarray(v, dtype=np.float64).reshape(-1) for v in init)
        if g.size != p or b.size != p:
            raise ConfigError(f"qaoa: initial angles need {p} gammas and {p} betas, got {g.size} and {b.size}")
        return g, b
    if init == "random":
        return rng.uniform(0.0, 1.0 / scale, p), rng.uniform(-math.pi / 4, math.pi / 4, p)
    if init == "learned":
        from qtandem.opt.angles import predict_angles

        g, b = predict_angles(problem, p)
        return np.asarray(g, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if init == "fixed":
        graph = getattr(problem, "graph", None)
        degrees = {d for _, d in graph.degree()} if graph is not None else set()
        if graph is None or getattr(problem, "name", "") != "maxcut" or len(degrees) != 1:
            raise ConfigError("qaoa: init='fixed' has tabulated angles for MaxCut on regular graphs only; "
                              "use init='interp', 'learned' or 'random'")
        from qtandem.opt.angles import fixed_angles

        weights = [float(d.get("weight", 1.0)) for _, _, d in graph.edges(data=True)]
        g, b = fixed_angles(p, degrees.pop(), scale=float(np.mean(np.abs(weights))) if weights else 1.0)
        return g, b
    raise ConfigError(f"qaoa: init must be one of {_INITS} or a (gammas, betas) tuple, got {init!r}")


def _scale(problem: Any) -> float:
    """RMS of the Ising coefficients: gammas of order 1/scale make phases of order one."""
    h, J, _ = _qubo(problem).to_ising()
    vals = np.concatenate([np.asarray(h, dtype=float), np.asarray(list(J.values()), dtype=float)])
    vals = vals[vals != 0]
    return float(np.sqrt(np.mean(vals**2))) if vals.size else 1.0


def _feasible_mask(problem: Any, n: int) -> np.ndarray | None:
    if not hasattr(problem, "is_feasible") or n > 16:
        return None
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    return np.array([bool(problem.is_feasible(x)) for x in bits])


def qaoa(problem: Any, p: int, *, mixer: str = "x", start: str = "dicke", init: Any = "interp",
         objective: str = "energy",
         alpha: float = 0.1, optimizer: str | None = None, shots: int | None = None, noise: Any = None,
         seed: Any = 0, max_evaluations: int | None = None, tol: float = 1e-8,
         callback: Callable[[int, float], None] | None = None) -> QAOAResult:
    """Optimise QAOA angles for ``problem`` and report the state's quality.

    Args:
        problem: a :class:`~qtandem.opt.Problem` (or a QUBO; then feasibility is all states).
        p: depth (number of layers).
        mixer: ``"x"``, ``"xy"`` (one-hot / budget groups, feasible start) or ``"warm"`` (Egger et al.; the
            relaxation: portfolio QP, MaxCut Goemans-Williamson cut, else the box-relaxed QUBO).
        start: XY initial state, ``"dicke"`` (uniform over the groups' subspace) or ``"basis"``.
        init: ``"interp"`` (Zhou et al.: p=1 from an 8x8 grid, then INTERP p -> p+1 with re-optimisation at
            every depth; all evaluations counted), ``"fixed"`` (tabulated MaxCut angles,
            :func:`qtandem.opt.angles.fixed_angles`), ``"learned"``
            (:func:`qtandem.opt.angles.predict_angles`), ``"random"`` (seeded) or ``(gammas, betas)``.
        objective: ``"energy"`` (``<C>``), ``"cvar"`` (mean of the lowest ``alpha`` tail, Barkoutas et al.
            2020) or ``"p_opt"`` (maximise the probability of a minimum-energy state).
        alpha: CVaR fraction.
        optimizer: ``"lbfgs"`` (scipy L-BFGS-B with the exact adjoint/autograd gradient; default for the
            noiseless energy) or ``"cobyla"`` / ``"nelder-mead"`` (default otherwise).
        shots: estimate the objective from this many samples per evaluation (seeded stream).
        noise: a :class:`qtandem.noise.NoiseModel`: the objective is evaluated on the exported circuit's
            noisy probabilities (density matrix: small n only).
        seed: seed of random starts and of shot sampling.
        max_evaluations: budget of objective evaluations (over all depths for ``init="interp"``).
        tol: optimiser tolerance.
        callback: ``callback(evaluation_index, objective_value)`` after every evaluation.

    Returns:
        :class:`QAOAResult`.

    Raises:
        ConfigError: unknown option, ``init="fixed"`` without a table, ``mixer="xy"`` without constraints.

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> r = qaoa(maxcut(nx.random_regular_graph(3, 8, seed=1)), 2, init="fixed")
        >>> r.approximation_ratio > 0.75, r.n_evaluations > 0
        (True, True)
    """
    t0 = time.perf_counter()
    if mixer not in _MIXERS:
        raise ConfigError(f"qaoa: mixer must be one of {_MIXERS}, got {mixer!r}")
    if start not in _STARTS:
        raise ConfigError(f"qaoa: start must be one of {_STARTS}, got {start!r}")
    if objective not in _OBJECTIVES:
        raise ConfigError(f"qaoa: objective must be one of {_OBJECTIVES}, got {objective!r}")
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise ConfigError(f"qaoa: p must be a positive int, got {p!r}")
    if not 0 < alpha <= 1:
        raise ConfigError(f"qaoa: alpha must be in (0, 1], got {alpha!r}")
    if shots is not None and (isinstance(shots, bool) or int(shots) < 1):
        raise ConfigError(f"qaoa: shots must be a positive int, got {shots!r}")
    exact = shots is None and noise is None
    method = optimizer or ("lbfgs" if objective == "energy" and exact else "cobyla")
    if method not in ("lbfgs", "cobyla", "nelder-mead"):
        raise ConfigError(f"qaoa: optimizer must be 'lbfgs', 'cobyla' or 'nelder-mead', got {method!r}")
    if method == "lbfgs" and not (objective == "energy" and exact):
        raise ConfigError("qaoa: optimizer='lbfgs' needs the exact energy objective (no shots, no noise)")
    rng = as_generator(seed)
    shot_rng = as_generator(int(rng.integers(2**63)))
    cost = _cost(problem)
    n = cost.n
    order = np.argsort(cost.diagonal, kind="stable")
    e_sorted = cost.diagonal[order]
    e_min, e_max = float(e_sorted[0]), float(e_sorted[-1])
    opt_mask = cost.diagonal <= e_min + 1e-9 * max(1.0, abs(e_min))
    scale = _scale(problem)
    history: list[float] = []
    n_grad = 0
    budget = max_evaluations

    def probs_of(g: np.ndarray, b: np.ndarray) -> np.ndarray:
        if noise is not None:
            from qtandem.sim import probabilities

            circ = qaoa_circuit(problem, g, b, mixer=mixer, start=start)
            pr: np.ndarray = probabilities(circ, noise=noise).detach().numpy().astype(np.float64)
            return pr
        return _probabilities(problem, g, b, mixer, start)

    def value(probs: np.ndarray) -> float:
        if shots is not None:
            idx = shot_rng.choice(probs.size, size=int(shots), p=probs / probs.sum())
            es = np.sort(cost.diagonal[idx])
            if objective == "energy":
                return float(es.mean())
            if objective == "cvar":
                k = max(1, math.ceil(alpha * es.size))
                return float(es[:k].mean())
            return -float(opt_mask[idx].mean())
        if objective == "energy":
            return float(np.dot(cost.diagonal, probs))
        if objective == "cvar":
            return _cvar(e_sorted, probs[order], alpha)
        return -float(probs[opt_mask].sum())

    def record(v: float) -> None:
        history.append(v)
        if callback is not None:
            callback(len(history) - 1, v)

    def fun(x: np.ndarray) -> float:
        k = x.size // 2
        v = value(probs_of(x[:k], x[k:]))
        record(v)
        return v

    def fun_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_grad
        k = x.size // 2
        if mixer == "x":
            e, dg, db = _diag.qaoa_energy_and_gradient(cost, x[:k], x[k:])
        else:
            gt = torch.tensor(x[:k], requires_grad=True)
            bt = torch.tensor(x[k:], requires_grad=True)
            et = qaoa_expectation(problem, gt, bt, mixer=mixer, start=start)
            et.backward()
            assert gt.grad is not None and bt.grad is not None
            e, dg, db = float(et.detach()), gt.grad.numpy(), bt.grad.numpy()
        n_grad += 1
        record(float(e))
        return float(e), np.concatenate([dg, db])

    def optimise(g0: np.ndarray, b0: np.ndarray, evals: int | None) -> tuple[np.ndarray, np.ndarray]:
        import scipy.optimize

        x0 = np.concatenate([g0, b0])
        if evals is not None and evals <= 0:
            return g0, b0
        if method == "lbfgs":
            opts: dict[str, Any] = {"maxfun": evals or 15000, "ftol": tol, "gtol": 1e-7}
            res = scipy.optimize.minimize(fun_grad, x0, jac=True, method="L-BFGS-B", options=opts)
        elif method == "cobyla":
            res = scipy.optimize.minimize(fun, x0, method="COBYLA",
                                          options={"maxiter": evals or 1000 * x0.size, "rhobeg": 0.1,
                                                   "tol": tol})
        else:
            res = scipy.optimize.minimize(fun, x0, method="Nelder-Mead",
                                          options={"maxfev": evals or 400 * x0.size, "fatol": tol})
        k = x0.size // 2
        return np.asarray(res.x[:k], dtype=np.float64), np.asarray(res.x[k:], dtype=np.float64)

    def left() -> int | None:
        return None if budget is None else budget - len(history)

    if init == "interp":
        grid_g = np.linspace(0.05, 1.0, 8) / scale
        grid_b = np.linspace(-math.pi / 4, math.pi / 4, 8)
        best = (math.inf, 0.0, 0.0)
        for gv in grid_g:
            for bv in grid_b:
                if budget is not None and len(history) >= budget:
                    break
                v = fun(np.array([gv, bv]))
                if v < best[0]:
                    best = (v, gv, bv)
        g, b = np.array([best[1]]), np.array([best[2]])
        from qtandem.opt.angles import interp_angles

        for depth in range(1, p + 1):
            share = left()
            if share is not None:
                share = share // (p - depth + 1)
            g, b = optimise(g, b, share)
            if depth < p:
                g, b = interp_angles(g, b)
    else:
        g, b = _initial_angles(problem, p, init, rng, scale)
        g, b = optimise(g, b, left())
    probs = _probabilities(problem, g, b, mixer, start)
    energy = float(np.dot(cost.diagonal, probs))
    final = value(probs_of(g, b)) if not exact or objective != "energy" else energy
    if not exact:
        final = history[-1] if history else final
    mask = _feasible_mask(problem, n)
    sub = _mixer_setup(problem, mixer, n, start).states if mixer == "xy" else None
    if sub is not None and mask is None and sub.size <= 2**17 and hasattr(problem, "is_feasible"):
        bits = (sub[:, None] >> np.arange(n)) & 1  # exact over the XY subspace, which holds the whole state
        ok = np.array([bool(problem.is_feasible(x)) for x in bits])
        p_feas = float(probs[sub[ok]].sum())
    elif mask is not None:
        p_feas = float(probs[mask].sum())
    elif hasattr(problem, "is_feasible"):
        idx = as_generator(0).choice(probs.size, size=8192, p=probs / probs.sum())
        bits = (idx[:, None] >> np.arange(n)) & 1
        p_feas = float(np.mean([bool(problem.is_feasible(x)) for x in bits]))
    else:
        p_feas = 1.0
    ratio = (e_max - energy) / (e_max - e_min) if e_max > e_min else 1.0
    return QAOAResult(gammas=np.asarray(g, dtype=np.float64), betas=np.asarray(b, dtype=np.float64),
                      energy=energy, objective=float(final), approximation_ratio=float(ratio),
                      p_optimal=float(probs[opt_mask].sum()), p_feasible=p_feas, n_evaluations=len(history),
                      n_gradient_evaluations=n_grad, history=history, optimal_energy=e_min,
                      time_s=time.perf_counter() - t0, mixer=mixer, p=p, start=start,
                      _problem=problem)
