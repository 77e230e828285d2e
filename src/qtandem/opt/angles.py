"""QAOA angles without optimisation: a fixed-angle table for regular MaxCut, and learned angles for any QUBO.

Convention (qtandem.opt's): ``|psi> = prod_k exp(-i beta_k sum_j X_j) exp(-i gamma_k C) |+>^n`` with ``C``
the QUBO energy (minimised). For unweighted MaxCut ``C = -cut``, so the table's gammas are in units where
every edge contributes 1; :func:`fixed_angles` with ``scale=`` divides them for weighted graphs.

The table (``qtandem/opt/data/fixed_angles.json``) is in the style of Wurtz and Lykov (PRA 104, 052419,
2021): for each degree ``d`` and depth ``p``, the angles that minimise the mean energy per edge over
random ``d``-regular graphs, found by :func:`tabulate_fixed_angles` (L-BFGS, depth ``p`` started from
depth ``p-1``'s angles by linear interpolation). ``bench/qaoa_angles.py tabulate`` regenerates it.

Examples:
    >>> g, b = fixed_angles(2, 3)
    >>> g.shape, b.shape
    ((2,), (2,))
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from qtandem.errors import ConfigError

__all__ = ["fixed_angles", "interp_angles", "predict_angles", "tabulate_fixed_angles"]

EnergyFn = Callable[[Any, Any, Any], Any]
"""``energy(qubo, gammas, betas) -> torch scalar``: the exact QAOA energy (default: ``qaoa_expectation``)."""


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    text = resources.files("qtandem.opt").joinpath("data/fixed_angles.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def fixed_angles(p: int, degree: int, *, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Tabulated angles for MaxCut on ``degree``-regular graphs at depth ``p`` (no optimisation needed).

    Args:
        p: QAOA depth (1..5 tabulated).
        degree: graph degree (3..5 tabulated).
        scale: typical edge weight; gammas are divided by it (1 for unweighted graphs).

    Returns:
        ``(gammas, betas)``, float64 arrays of shape ``(p,)`` in qtandem's convention (module docstring).

    Raises:
        ConfigError: ``(p, degree)`` is not in the table, or ``scale`` is not positive.

    Examples:
        >>> gammas, betas = fixed_angles(1, 3)
        >>> round(float(gammas[0]), 3), round(float(betas[0]), 3)
        (0.601, -0.378)
        >>> fixed_angles(9, 3)
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: fixed_angles: no tabulated angles for p=9, degree=3 (tabulated: p 1-5, degrees 3-5)
    """
    table = _table()["angles"]
    entry = table.get(str(degree), {}).get(str(p))
    if entry is None:
        degrees = sorted(int(d) for d in table)
        ps = sorted(int(k) for k in table[str(degrees[0])])
        raise ConfigError(f"fixed_angles: no tabulated angles for p={p}, degree={degree} "
                          f"(tabulated: p {ps[0]}-{ps[-1]}, degrees {degrees[0]}-{degrees[-1]})")
    if not scale > 0 or not math.isfinite(scale):
        raise ConfigError(f"fixed_angles: scale must be a positive number, got {scale!r}")
    gammas: np.ndarray = np.asarray(entry["gammas"], dtype=np.float64) / scale
    betas: np.ndarray = np.asarray(entry["betas"], dtype=np.float64)
    return gammas, betas


def interp_angles(gammas: Sequence[float] | np.ndarray,
                  betas: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """INTERP (Zhou et al., PRX 10, 021067, 2020): depth ``p+1`` starting angles from depth ``p``'s.

    ``x'_i = (i-1)/p x_{i-1} + (p-i+1)/p x_i`` for ``i = 1..p+1`` (``x_0 = x_{p+1} = 0``).

    Examples:
        >>> g, b = interp_angles([0.6], [0.4])
        >>> g.tolist(), b.tolist()
        ([0.6, 0.6], [0.4, 0.4])
    """
    def step(x: Sequence[float] | np.ndarray) -> np.ndarray:
        a = np.concatenate([[0.0], np.asarray(x, dtype=np.float64), [0.0]])
        p = len(x)
        i = np.arange(1, p + 2)
        out: np.ndarray = (i - 1) / p * a[i - 1] + (p - i + 1) / p * a[i]
        return out

    return step(gammas), step(betas)


def _default_energy() -> EnergyFn:
    from qtandem.opt.qaoa import qaoa_expectation

    fn: EnergyFn = qaoa_expectation
    return fn


def tabulate_fixed_angles(degree: int, p_max: int = 5, *, n: int = 12, n_graphs: int = 8, seed: int = 0,
                          energy: EnergyFn | None = None, max_iter: int = 200,
                          grid: int = 24) -> dict[str, dict[str, Any]]:
    """Angles minimising the mean energy per edge over ``n_graphs`` random ``degree``-regular graphs.

    Depth 1 starts from the best point of a ``grid`` x ``grid`` grid (gamma in (0, pi/2), beta in
    [-pi/4, pi/4]); depth ``p`` from INTERP of depth ``p-1``; each is refined by L-BFGS
    (strong Wolfe) through the exact, differentiable energy.

    Args:
        degree: graph degree.
        p_max: largest depth.
        n: graph size (``n * degree`` even).
        n_graphs: graphs averaged over.
        seed: graph seed.
        energy: ``energy(qubo, gammas, betas)``; default :func:`qtandem.opt.qaoa_expectation`.
        max_iter: L-BFGS iterations per depth.
        grid: points per axis of the depth-1 grid.

    Returns:
        ``{str(p): {"gammas": [...], "betas": [...], "energy_per_edge": e}}``.

    Examples:
        >>> from qtandem.opt.angles import tabulate_fixed_angles
        >>> callable(tabulate_fixed_angles)
        True
    """
    import networkx as nx
    import torch

    from qtandem.opt.problems import maxcut

    fn = energy or _default_energy()
    rng = np.random.default_rng(seed)
    graphs = [nx.random_regular_graph(degree, n, seed=int(rng.integers(2**31))) for _ in range(n_graphs)]
    problems = [maxcut(g) for g in graphs]
    n_edges = [g.number_of_edges() for g in graphs]

    def mean_energy(g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        total = torch.zeros((), dtype=torch.float64)
        for prob, m in zip(problems, n_edges, strict=True):
            total = total + fn(prob.qubo, g, b) / m
        return total / len(problems)

    # the branch with gamma > 0 small and beta in (-pi/4, pi/4): the adiabatic-like one (gamma rising,
    # |beta| falling with depth); the other optima are its images under time reversal and bit flips.
    grid_g = np.linspace(0.02, math.pi / 2, grid)
    grid_b = np.linspace(-math.pi / 4, math.pi / 4, grid)
    with torch.no_grad():
        best = min((float(mean_energy(torch.tensor([gg]), torch.tensor([bb]))), gg, bb)
                   for gg in grid_g for bb in grid_b)
    gammas, betas = np.array([best[1]]), np.array([best[2]])
    out: dict[str, dict[str, Any]] = {}
    for p in range(1, p_max + 1):
        if p > 1:
            gammas, betas = interp_angles(gammas, betas)
        x = torch.tensor(np.concatenate([gammas, betas]), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([x], max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9,
                                tolerance_change=1e-12)

        def closure(x: torch.Tensor = x, opt: torch.optim.LBFGS = opt, p: int = p) -> torch.Tensor:
            opt.zero_grad()
            loss = mean_energy(x[:p], x[p:])
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            e = float(mean_energy(x[:p], x[p:]))
        gammas, betas = x[:p].detach().numpy().copy(), x[p:].detach().numpy().copy()
        out[str(p)] = {"gammas": [float(v) for v in gammas], "betas": [float(v) for v in betas],
                       "energy_per_edge": e}
    return out


def _tabulated(problem: Any, p: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The fixed table's angles when ``problem`` is MaxCut on a regular graph with one positive edge weight
    and ``(p, degree)`` is tabulated; else ``None``."""
    graph = getattr(problem, "graph", None)
    if graph is None or getattr(problem, "name", "") != "maxcut" or graph.number_of_edges() == 0:
        return None
    degrees = {d for _, d in graph.degree()}
    weights = {float(d.get("weight", 1.0)) for _, _, d in graph.edges(data=True)}
    if len(degrees) != 1 or len(weights) != 1:
        return None
    (degree,), (w,) = degrees, weights
    entry = _table()["angles"].get(str(degree), {}).get(str(p))
    if entry is None or not w > 0 or not math.isfinite(w):
        return None
    return fixed_angles(p, degree, scale=w)


def predict_angles(problem: Any, p: int, *, model: Any = None,
                   table: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Learned QAOA angles for ``problem`` (a :class:`~qtandem.opt.Problem` or QUBO) at depth ``p``.

    Uses the shipped graph neural network (:class:`qtandem.opt.gnn.AngleGNN`, trained on small MaxCut
    instances; see ``qtandem/opt/data/angle_gnn.json``) unless ``model`` is given; problems named
    ``"portfolio"`` get the shipped model trained with portfolio QUBOs as well (``load_model("portfolio")``,
    chosen on DEV portfolios, where the first one never reached INTERP's ratio), and problems named ``"tsp"`` or
    ``"cvrp"`` the one trained with routing QUBOs as well (``load_model("routing")``: TSP with 4 cities and CVRP
    with 2 customers; chosen on DEV TSP-5 and CVRP-3 instances, 16 bits, where it reached INTERP's ratio on 10 of
    10 in a median of 66-94 evaluations against 8 of 10 in 251-387 for the first). No optimisation runs.

    Where the fixed table applies (``table=True``: MaxCut on a regular graph whose edges all carry one
    positive weight, with ``(p, degree)`` tabulated) it returns :func:`fixed_angles` instead of the network's
    angles. On such graphs every node sees the same features, so the network returns one angle set per
    degree and depth whatever the graph (a regression of what the table holds exactly: the minimiser of
    the mean energy per edge), off by up to 0.06 rad at p = 3. The rule was chosen on DEV graphs
    (``bench/qaoa_angles.py zero --split dev``, 3-regular n = 20 and 22, 4-regular n = 20, p = 1-3): the
    table beat the network on all 9 DEV means and an equal blend of the two on 7 of 9 (mean r 0.0004 higher).

    Args:
        problem: a Problem or QUBO.
        p: depth.
        model: an :class:`~qtandem.opt.gnn.AngleGNN` (default: the shipped one).
        table: use the fixed table where it applies (``False``: always the network).

    Returns:
        ``(gammas, betas)``, float64 arrays of shape ``(p,)``.

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> prob = maxcut(nx.random_regular_graph(3, 8, seed=1))
        >>> g, b = predict_angles(prob, 2)
        >>> g.shape, b.shape
        ((2,), (2,))
        >>> bool(np.array_equal(g, fixed_angles(2, 3)[0]))  # regular MaxCut: the table
        True
        >>> bool(np.array_equal(predict_angles(prob, 2, table=False)[0], g))  # the network alone
        False
    """
    if table:
        fixed = _tabulated(problem, p)
        if fixed is not None:
            return fixed
    from qtandem.opt.gnn import load_model

    if model is None:
        name = getattr(problem, "name", "")
        model = load_model("portfolio" if name == "portfolio" else "routing" if name in ("tsp", "cvrp") else None)
    net = model
    gammas, betas = net.predict(problem, p)
    return gammas, betas
