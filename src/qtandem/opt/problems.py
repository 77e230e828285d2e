"""Optimisation problems as QUBOs with their own objective, feasibility check, repair and decoding.

Every builder returns a :class:`Problem`: ``.qubo`` (minimised; penalties included), ``.value(x)`` (the
user's objective: cut weight, tour length, portfolio objective; ``nan`` for an infeasible ``x``),
``.is_feasible(x)``, ``.repair(x)`` (a feasible ``x`` near the given one), ``.decode(x)`` and
``.constraints`` (one-hot groups of variable indices, for XY mixers). Penalty weights follow a stated
rule (see each builder) large enough that the QUBO's minimum is feasible and optimal; the tests check
this by enumeration.

Examples:
    >>> import networkx as nx
    >>> from qtandem.opt.problems import maxcut
    >>> p = maxcut(nx.cycle_graph(4))
    >>> p.name, p.n_variables, p.value([1, 0, 1, 0]), p.decode([1, 0, 1, 0])
    ('maxcut', 4, 4.0, ([1, 3], [0, 2]))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from qtandem.errors import ConfigError
from qtandem.opt.qubo import QUBO

__all__ = ["Problem", "maxcut", "mis"]


def _bits(x: Any, n: int, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.shape != (n,):
        raise ConfigError(f"{name}: expected a bit vector of length {n}, got shape {a.shape}")
    if not np.all((a == 0) | (a == 1)):
        raise ConfigError(f"{name}: entries must be 0 or 1")
    return a.astype(np.int64)


class Problem:
    """A named optimisation problem with its QUBO; built by :func:`maxcut`, :func:`tsp`, :func:`cvrp`,
    :func:`portfolio`, :func:`mis` (or directly, from a QUBO and callables).

    Args:
        name: family name ("maxcut", "tsp", ...).
        qubo: the QUBO (penalties included) whose minimum solves the problem.
        value: ``x -> float``: the user's objective of a feasible ``x`` (``nan`` if infeasible).
        sense: ``"min"`` or ``"max"`` for :attr:`value`.
        is_feasible, repair, decode: callables on bit vectors (defaults: always feasible, identity).
        constraints: one-hot (or k-hot) groups of variable indices.
        graph: the networkx graph where relevant.
        data: the builder's inputs (distances, demands...) and penalty weights.

    Examples:
        >>> from qtandem.opt.qubo import QUBO
        >>> p = Problem("toy", QUBO(2, {0: -1.0, 1: 1.0}))
        >>> p.value([1, 0]), p.is_feasible([1, 1]), p.n_variables
        (-1.0, True, 2)
    """

    def __init__(self, name: str, qubo: QUBO, *, value: Callable[[np.ndarray], float] | None = None,
                 sense: str = "min", is_feasible: Callable[[np.ndarray], bool] | None = None,
                 repair: Callable[[np.ndarray], np.ndarray] | None = None,
                 decode: Callable[[np.ndarray], Any] | None = None,
                 constraints: Sequence[Sequence[int]] = (), graph: Any = None,
                 data: dict[str, Any] | None = None) -> None:
        self.name = name
        self.qubo = qubo
        self.sense = sense
        self._value = value
        self._feasible = is_feasible
        self._repair = repair
        self._decode = decode
        self.constraints: list[list[int]] = [list(g) for g in constraints]
        self.graph = graph
        self.data: dict[str, Any] = dict(data or {})

    @property
    def n_variables(self) -> int:
        """Number of binary variables (qubits).

        Examples:
            >>> import networkx as nx
            >>> maxcut(nx.path_graph(3)).n_variables
            3
        """
        return self.qubo.n

    def is_feasible(self, x: Any) -> bool:
        """Whether ``x`` satisfies the problem's constraints.

        Examples:
            >>> import networkx as nx
            >>> p = mis(nx.path_graph(3))
            >>> p.is_feasible([1, 0, 1]), p.is_feasible([1, 1, 0])
            (True, False)
        """
        a = _bits(x, self.n_variables, f"{self.name}.is_feasible")
        return True if self._feasible is None else bool(self._feasible(a))

    def repair(self, x: Any) -> np.ndarray:
        """A feasible bit vector close to ``x`` (``x`` itself when already feasible).

        Examples:
            >>> import networkx as nx
            >>> mis(nx.path_graph(3)).repair([1, 1, 1]).tolist()
            [1, 0, 1]
        """
        a = _bits(x, self.n_variables, f"{self.name}.repair")
        if self._repair is None or self.is_feasible(a):
            return a
        return np.asarray(self._repair(a.copy()), dtype=np.int64)

    def value(self, x: Any) -> float:
        """The user's objective of ``x`` (``nan`` when ``x`` is infeasible).

        Examples:
            >>> import networkx as nx
            >>> maxcut(nx.complete_graph(3)).value([1, 0, 0])
            2.0
        """
        a = _bits(x, self.n_variables, f"{self.name}.value")
        if not self.is_feasible(a):
            return math.nan
        if self._value is None:
            return float(self.qubo.objective(self.qubo.energy(a)))
        return float(self._value(a))

    def decode(self, x: Any) -> Any:
        """The solution in the problem's own terms (cut sides, routes, chosen assets...).

        Examples:
            >>> import networkx as nx
            >>> mis(nx.path_graph(3)).decode([1, 0, 1])
            [0, 2]
        """
        a = _bits(x, self.n_variables, f"{self.name}.decode")
        return a.tolist() if self._decode is None else self._decode(a)

    def __repr__(self) -> str:
        return f"Problem({self.name!r}, n_variables={self.n_variables})"


def _graph(graph: Any, name: str) -> tuple[Any, list[Any], dict[Any, int]]:
    import networkx as nx

    if not isinstance(graph, nx.Graph) or graph.is_directed():
        raise ConfigError(f"{name}: expected an undirected networkx.Graph, got {type(graph).__name__}")
    if graph.number_of_nodes() == 0:
        raise ConfigError(f"{name}: the graph has no nodes")
    nodes = sorted(graph.nodes, key=lambda v: (str(type(v)), v))
    return graph, nodes, {v: i for i, v in enumerate(nodes)}


def _weight(data: dict[str, Any], where: str) -> float:
    w = data.get("weight", 1.0)
    try:
        v = float(w)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: edge weight must be a number, got {w!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"{where}: edge weight must be finite, got {v}")
    return v


def maxcut(graph: Any) -> Problem:
    """Weighted MaxCut: maximise ``cut(x) = sum_{(u,v) in E} w_uv [x_u != x_v]`` (``weight`` attribute, default 1).

    QUBO (``sense="max"``, no penalty): ``E(x) = -cut(x) = sum_uv w_uv (2 x_u x_v - x_u - x_v)``. Nodes
    are numbered in sorted order: variable ``i`` is ``sorted(graph.nodes)[i]``.

    Args:
        graph: an undirected ``networkx.Graph``.

    Returns:
        A :class:`Problem` whose ``value`` is the cut weight and ``decode`` gives the two sides
        ``(nodes with x=0, nodes with x=1)``.

    Examples:
        >>> import networkx as nx
        >>> p = maxcut(nx.complete_graph(4))
        >>> float(-p.qubo.diagonal().min())     # best cut of K4
        4.0
    """
    g, nodes, pos = _graph(graph, "maxcut")
    lin: dict[int, float] = {}
    quad: dict[tuple[int, int], float] = {}
    for u, v, d in g.edges(data=True):
        if u == v:
            continue
        w = _weight(d, f"maxcut: edge ({u}, {v})")
        i, j = pos[u], pos[v]
        lin[i] = lin.get(i, 0.0) - w
        lin[j] = lin.get(j, 0.0) - w
        k = (min(i, j), max(i, j))
        quad[k] = quad.get(k, 0.0) + 2 * w
    q = QUBO(len(nodes), lin, quad, sense="max", names=[str(v) for v in nodes])

    def decode(x: np.ndarray) -> tuple[list[Any], list[Any]]:
        return [v for v in nodes if x[pos[v]] == 0], [v for v in nodes if x[pos[v]] == 1]

    return Problem("maxcut", q, sense="max", decode=decode, graph=g, data={"nodes": nodes})


def mis(graph: Any, *, penalty: float | None = None) -> Problem:
    """Maximum (weighted) independent set: maximise ``sum_v w_v x_v`` with no edge inside the set.

    QUBO (``sense="max"``): ``E(x) = -sum_v w_v x_v + A sum_{(u,v) in E} x_u x_v`` with node weights
    ``w_v`` (``weight`` node attribute, default 1, must be > 0) and ``A = 2 max_v w_v`` unless given.
    Any ``A > max_v w_v`` makes every minimum independent: dropping one endpoint of a violated edge
    changes the energy by ``w_v - A * (violated edges at v) < 0``.

    Examples:
        >>> import networkx as nx
        >>> p = mis(nx.cycle_graph(5))
        >>> float(-p.qubo.diagonal().min()), p.data["penalty"]
        (2.0, 2.0)
    """
    g, nodes, pos = _graph(graph, "mis")
    w = np.array([_weight(g.nodes[v], f"mis: node {v}") for v in nodes])
    if np.any(w <= 0):
        raise ConfigError("mis: node weights must be > 0")
    a = 2.0 * float(w.max()) if penalty is None else float(penalty)
    if a <= float(w.max()):
        raise ConfigError(f"mis: penalty {a} must exceed the largest node weight {float(w.max())}")
    edges = sorted({(min(pos[u], pos[v]), max(pos[u], pos[v])) for u, v in g.edges if u != v})
    q = QUBO(len(nodes), {i: -float(w[i]) for i in range(len(nodes))}, dict.fromkeys(edges, a), sense="max",
             names=[str(v) for v in nodes])
    ei = np.array([e[0] for e in edges], dtype=np.int64)
    ej = np.array([e[1] for e in edges], dtype=np.int64)

    def feasible(x: np.ndarray) -> bool:
        return not np.any(x[ei] & x[ej]) if edges else True

    def repair(x: np.ndarray) -> np.ndarray:
        while edges and np.any(x[ei] & x[ej]):
            bad = x[ei] & x[ej]
            count = np.bincount(ei[bad == 1], minlength=x.size) + np.bincount(ej[bad == 1], minlength=x.size)
            # drop the vertex in most conflicts, lightest first on ties
            score = count / w
            x[int(np.argmax(score))] = 0
        return x

    return Problem("mis", q, value=lambda x: float(w @ x), sense="max", is_feasible=feasible, repair=repair,
                   decode=lambda x: [v for v in nodes if x[pos[v]]], graph=g,
                   data={"nodes": nodes, "weights": w, "penalty": a})
