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
from qtandem.opt.qubo import QUBO, Expression, binary

__all__ = ["Problem", "cvrp", "maxcut", "mis", "portfolio", "portfolio_from_returns", "tsp"]


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
        >>> from qtandem.opt.qubo import QUBO, Expression, binary
        >>> p = Problem("toy", QUBO(2, {0: -1.0, 1: 1.0}))
        >>> p.value([1, 0]), p.is_feasible([1, 1]), p.n_variables
        (-1.0, True, 2)
    """

    def __init__(self, name: str, qubo: QUBO, *, value: Callable[[np.ndarray], float] | None = None,
                 sense: str = "min", is_feasible: Callable[[np.ndarray], bool] | None = None,
                 repair: Callable[[np.ndarray], np.ndarray] | None = None,
                 decode: Callable[[np.ndarray], Any] | None = None,
                 encode: Callable[[Any], np.ndarray] | None = None,
                 constraints: Sequence[Sequence[int]] = (), graph: Any = None,
                 data: dict[str, Any] | None = None) -> None:
        self.name = name
        self.qubo = qubo
        self.sense = sense
        self._value = value
        self._feasible = is_feasible
        self._repair = repair
        self._decode = decode
        self._encode = encode
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

    def encode(self, solution: Any) -> np.ndarray:
        """The bit vector of a solution in the problem's own terms (the inverse of :meth:`decode`).

        Examples:
            >>> tsp([[0, 1, 2], [1, 0, 1], [2, 1, 0]]).encode([0, 2, 1]).tolist()
            [0, 1, 1, 0]
        """
        if self._encode is None:
            return _bits(solution, self.n_variables, f"{self.name}.encode")
        return np.asarray(self._encode(solution), dtype=np.int64)

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


def _distances(distances: Any, name: str) -> np.ndarray:
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 2:
        raise ConfigError(f"{name}: distances must be a square matrix of at least 2 nodes, got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ConfigError(f"{name}: distances must be finite and >= 0")
    return d


def _onehot_penalty(terms: Sequence[Expression], k: int = 1) -> Expression:
    return (sum(terms, Expression()) - k) ** 2


def tsp(distances: Any, *, penalty: float | None = None, fix_start: bool = True) -> Problem:
    """Travelling salesman in the position encoding (Lucas 2014, section 7.1).

    ``x[v, t] = 1`` when city ``v`` is visited at position ``t``. With ``fix_start`` (default) city 0 sits at
    position 0 and the variables are ``x[v, t]`` for ``v, t in 1..N-1``, index ``(v-1)(N-1) + (t-1)``:
    ``(N-1)**2`` bits (9 for 4 cities, 16 for 5); otherwise ``N**2`` bits, index ``v N + t``. The QUBO is

        A sum_v (1 - sum_t x[v,t])^2 + A sum_t (1 - sum_v x[v,t])^2 + sum_t sum_{u != v} d[u,v] x[u,t] x[v,t+1]

    (cyclic in ``t``; directed distances allowed). Penalty rule: ``A = 2 max d`` unless given; Lucas's
    condition is ``A > max d`` (leaving a city out saves at most two edges, ``2 max d``, and costs
    ``2A``); the tests check by enumeration that the QUBO minimum is a feasible optimal tour.

    Args:
        distances: ``(N, N)`` matrix, ``N >= 3``.
        penalty: the weight ``A``.
        fix_start: pin city 0 at position 0 (drops ``2N - 1`` bits and the N-fold rotation symmetry).

    Returns:
        A :class:`Problem`: ``value`` is the tour length, ``decode`` the tour as a list of cities starting
        at 0, ``constraints`` the one-hot groups of each position (``data["city_groups"]`` those of cities).

    Examples:
        >>> d = [[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]]
        >>> p = tsp(d)
        >>> p.n_variables, p.value(p.encode([0, 1, 2, 3])), p.value(p.encode([0, 2, 1, 3]))
        (9, 4.0, 6.0)
    """
    d = _distances(distances, "tsp")
    n = d.shape[0]
    if n < 3:
        raise ConfigError(f"tsp: needs at least 3 cities, got {n}")
    a = 2.0 * float(d.max()) if penalty is None else float(penalty)
    if a <= 0:
        raise ConfigError(f"tsp: penalty must be > 0, got {a}")
    first = 1 if fix_start else 0
    cities = list(range(first, n))
    m = len(cities)
    x = binary(m * m)

    def var(v: int, t: int) -> Expression:
        return x[(v - first) * m + (t - first)]

    h = Expression()
    for v in cities:
        h = h + a * _onehot_penalty([var(v, t) for t in cities])
    for t in cities:
        h = h + a * _onehot_penalty([var(v, t) for v in cities])
    for t in cities:
        nxt = t + 1
        if nxt == n:
            if fix_start:
                continue
            nxt = 0
        for u in cities:
            for v in cities:
                if u != v and d[u, v]:
                    h = h + float(d[u, v]) * (var(u, t) * var(v, nxt))
    if fix_start:
        for v in cities:
            h = h + float(d[0, v]) * var(v, 1) + float(d[v, 0]) * var(v, n - 1)
    q = QUBO.from_expression(h, m * m, names=[f"x[{v},{t}]" for v in cities for t in cities])
    grid = np.arange(m * m).reshape(m, m)  # grid[v - first, t - first]

    def feasible(bits: np.ndarray) -> bool:
        g = bits[grid]
        return bool(np.all(g.sum(0) == 1) and np.all(g.sum(1) == 1))

    def decode(bits: np.ndarray) -> list[int] | None:
        if not feasible(bits):
            return None
        order = [int(np.argmax(bits[grid[:, t]])) + first for t in range(m)]
        return ([0] + order) if fix_start else order

    def length(tour: Sequence[int]) -> float:
        return float(sum(d[tour[i], tour[(i + 1) % n]] for i in range(n)))

    def encode(tour: Any) -> np.ndarray:
        tour = [int(c) for c in tour]
        if sorted(tour) != list(range(n)):
            raise ConfigError(f"tsp.encode: a tour visits each of the {n} cities once, got {tour}")
        if fix_start:
            s = tour.index(0)
            tour = tour[s:] + tour[:s]
        bits = np.zeros(m * m, dtype=np.int64)
        for t, v in enumerate(tour):
            if v >= first:
                bits[grid[v - first, t - first]] = 1
        return bits

    def repair(bits: np.ndarray) -> np.ndarray:
        g = bits[grid]
        order: list[int | None] = []
        used: set[int] = set()
        for t in range(m):
            cand = [int(v) for v in np.flatnonzero(g[:, t]) if int(v) not in used]
            order.append(cand[0] if cand else None)
            if cand:
                used.add(cand[0])
        free = iter(v for v in range(m) if v not in used)
        full = [o if o is not None else next(free) for o in order]
        out = np.zeros(m * m, dtype=np.int64)
        for t, v in enumerate(full):
            out[grid[v, t]] = 1
        return out

    def value(bits: np.ndarray) -> float:
        tour = decode(bits)
        return math.nan if tour is None else length(tour)

    return Problem("tsp", q, value=value, is_feasible=feasible, repair=repair, decode=decode, encode=encode,
                   constraints=[grid[:, t].tolist() for t in range(m)],
                   data={"distances": d, "penalty": a, "fix_start": fix_start,
                         "city_groups": [grid[v].tolist() for v in range(m)]})


def cvrp(distances: Any, demands: Sequence[int], capacity: int, n_vehicles: int, depot: int = 0, *,
         penalty: float | None = None, capacity_penalty: float | None = None) -> Problem:
    """Capacitated vehicle routing: ``n_vehicles`` routes from ``depot`` serving each customer once.

    Encoding (position-based, as Lucas 2014's TSP with the depot as a city): each vehicle ``k`` has ``T``
    slots, ``T`` = the most customers any vehicle can carry (the ``T`` smallest demands fit in
    ``capacity``); ``x[k, t, a] = 1`` when vehicle ``k`` is at node ``a`` (a customer, or the depot meaning
    "nothing here") in slot ``t``; index ``(k T + t)(C + 1) + j`` with ``j`` the node's position in
    ``[depot, *customers]``. QUBO:

        A sum_{k,t} (1 - sum_a x[k,t,a])^2 + A sum_c (1 - sum_{k,t} x[k,t,c])^2
        + sum_k [route length of k: depot -> slot 0 -> ... -> slot T-1 -> depot]
        + C_cap sum_k (load_k + s_k - capacity)^2,   s_k = binary slack in [0, capacity]

    The capacity term (and its slack bits, ``ceil(log2(capacity + 1))`` per vehicle, after the route
    bits) is left out when any ``T`` customers fit. A depot slot between customers is a return to the
    depot, which never shortens a metric route. Penalty rule: ``A = 4 max d`` (dropping a customer
    saves at most ``2 max d``; any ``A > 2 max d`` works) and ``C_cap = 2 K (T + 1) max d`` (an overload
    is at least 1 demand unit, so it costs ``C_cap``, more than any whole solution's length); demands
    must be integers. The tests check by enumeration that the minimum is feasible and optimal.

    Returns:
        A :class:`Problem`: ``value`` is the total distance, ``decode`` the list of routes (customers in
        order, one list per vehicle, possibly empty).

    Examples:
        >>> d = [[0, 2, 2, 3], [2, 0, 1, 2], [2, 1, 0, 2], [3, 2, 2, 0]]
        >>> p = cvrp(d, [0, 1, 1, 1], capacity=2, n_vehicles=2)
        >>> p.n_variables, p.value(p.encode([[1, 2], [3]]))
        (16, 11.0)
    """
    d = _distances(distances, "cvrp")
    n = d.shape[0]
    dem = np.asarray(demands)
    if dem.shape != (n,) or not np.all(np.equal(np.mod(dem, 1), 0)) or np.any(dem < 0):
        raise ConfigError(f"cvrp: demands must be {n} non-negative integers (one per node), got {list(demands)}")
    dem = dem.astype(np.int64)
    if not (0 <= depot < n):
        raise ConfigError(f"cvrp: depot {depot} is not a node (0..{n - 1})")
    customers = [c for c in range(n) if c != depot]
    if capacity < 1 or n_vehicles < 1 or np.any(dem[customers] > capacity):
        raise ConfigError(f"cvrp: need capacity >= every demand and n_vehicles >= 1 (capacity={capacity}, "
                          f"n_vehicles={n_vehicles}, largest demand={int(dem[customers].max())})")
    srt = np.sort(dem[customers])
    slots = int(np.searchsorted(np.cumsum(srt), capacity, side="right"))
    if slots * n_vehicles < len(customers) or srt.sum() > capacity * n_vehicles:
        raise ConfigError(f"cvrp: {n_vehicles} vehicles of capacity {capacity} cannot serve demands {srt.tolist()}")
    need_cap = int(np.sort(srt)[::-1][:slots].sum()) > capacity
    nodes = [depot, *customers]
    width = len(nodes)
    n_route = n_vehicles * slots * width
    maxd = float(d.max()) or 1.0
    a = 4.0 * maxd if penalty is None else float(penalty)
    ccap = 2.0 * n_vehicles * (slots + 1) * maxd if capacity_penalty is None else float(capacity_penalty)
    nbits = math.ceil(math.log2(capacity + 1)) if need_cap else 0
    x = binary(n_route + n_vehicles * nbits)

    def var(k: int, t: int, j: int) -> Expression:
        return x[(k * slots + t) * width + j]

    h = Expression()
    for k in range(n_vehicles):
        for t in range(slots):
            h = h + a * _onehot_penalty([var(k, t, j) for j in range(width)])
    for j in range(1, width):
        h = h + a * _onehot_penalty([var(k, t, j) for k in range(n_vehicles) for t in range(slots)])
    for k in range(n_vehicles):
        for j in range(1, width):
            h = h + float(d[depot, nodes[j]]) * var(k, 0, j) + float(d[nodes[j], depot]) * var(k, slots - 1, j)
        for t in range(slots - 1):
            for i in range(width):
                for j in range(width):
                    if d[nodes[i], nodes[j]]:
                        h = h + float(d[nodes[i], nodes[j]]) * (var(k, t, i) * var(k, t + 1, j))
        if need_cap:
            coefs = [2**b for b in range(nbits - 1)] + [capacity - (2 ** (nbits - 1) - 1)]
            slack = sum((c * x[n_route + k * nbits + b] for b, c in enumerate(coefs)), Expression())
            load = sum((float(dem[nodes[j]]) * var(k, t, j) for t in range(slots) for j in range(1, width)),
                       Expression())
            h = h + ccap * (load + slack - capacity) ** 2
    q = QUBO.from_expression(h, n_route + n_vehicles * nbits)
    grid = np.arange(n_route).reshape(n_vehicles, slots, width)

    def routes_of(bits: np.ndarray) -> list[list[int]] | None:
        g = bits[grid]
        if not np.all(g.sum(2) == 1) or not np.all(g[:, :, 1:].sum((0, 1)) == 1):
            return None
        out = [[nodes[int(np.argmax(g[k, t]))] for t in range(slots)] for k in range(n_vehicles)]
        if any(sum(int(dem[c]) for c in r if c != depot) > capacity for r in out):
            return None
        return out

    def feasible(bits: np.ndarray) -> bool:
        return routes_of(bits) is not None

    def value(bits: np.ndarray) -> float:
        r = routes_of(bits)
        if r is None:
            return math.nan
        return float(sum(d[a_, b_] for s in r for a_, b_ in zip([depot, *s], [*s, depot], strict=True)))

    def decode(bits: np.ndarray) -> list[list[int]] | None:
        r = routes_of(bits)
        return None if r is None else [[c for c in s if c != depot] for s in r]

    def encode(routes: Any) -> np.ndarray:
        routes = [[int(c) for c in r] for r in routes]
        flat = sorted(c for r in routes for c in r)
        if len(routes) > n_vehicles or flat != sorted(customers) or any(len(r) > slots for r in routes):
            raise ConfigError(f"cvrp.encode: expected at most {n_vehicles} routes of at most {slots} customers "
                              f"covering {customers} once, got {routes}")
        bits = np.zeros(q.n, dtype=np.int64)
        for k in range(n_vehicles):
            r = routes[k] if k < len(routes) else []
            for t in range(slots):
                bits[grid[k, t, nodes.index(r[t]) if t < len(r) else 0]] = 1
            if need_cap:
                s = capacity - sum(int(dem[c]) for c in r)
                coefs = [2**b for b in range(nbits - 1)] + [capacity - (2 ** (nbits - 1) - 1)]
                for b in reversed(range(nbits)):  # greedy from the largest coefficient
                    if s >= coefs[b]:
                        bits[n_route + k * nbits + b] = 1
                        s -= coefs[b]
        return bits

    def repair(bits: np.ndarray) -> np.ndarray:
        # first-fit decreasing by demand, keeping each customer's first slot order
        g = bits[grid]
        seen: list[int] = []
        for k in range(n_vehicles):
            for t in range(slots):
                for j in np.flatnonzero(g[k, t, 1:]):
                    if nodes[j + 1] not in seen:
                        seen.append(nodes[j + 1])
        seen += [c for c in customers if c not in seen]
        routes: list[list[int]] = [[] for _ in range(n_vehicles)]
        for c in sorted(seen, key=lambda c: -int(dem[c])):
            for r in routes:
                if len(r) < slots and sum(int(dem[e]) for e in r) + int(dem[c]) <= capacity:
                    r.append(c)
                    break
            else:
                raise ConfigError("cvrp.repair: first-fit found no feasible packing for this instance")
        return encode([sorted(r, key=seen.index) for r in routes])

    return Problem("cvrp", q, value=value, is_feasible=feasible, repair=repair, decode=decode, encode=encode,
                   constraints=[grid[k, t].tolist() for k in range(n_vehicles) for t in range(slots)],
                   data={"distances": d, "demands": dem, "capacity": capacity, "n_vehicles": n_vehicles,
                         "depot": depot, "slots": slots, "penalty": a, "capacity_penalty": ccap,
                         "slack_bits": nbits})


def portfolio(mu: Any, sigma: Any, budget: int, *, risk: float = 0.5, penalty: float | None = None,
              names: Sequence[str] | None = None) -> Problem:
    """Binary Markowitz portfolio: hold exactly ``budget`` of ``n`` assets (equal weights), minimising
    ``f(x) = risk * x^T Sigma x - mu^T x``.

    ``budget`` is the cardinality constraint ``sum_i x_i = budget`` of the binary model (Hodson et al. 2019),
    added as ``A (sum_i x_i - budget)^2``. Penalty rule: ``A = 2 G`` unless given, with
    ``G = max_i (|mu_i| + risk (|Sigma_ii| + 2 sum_{j != i} |Sigma_ij|))``, the largest change of ``f``
    one bit flip can make; any ``A > G`` makes every minimum feasible (``d`` flips back to the budget
    gain at most ``d G < A d^2``). ``constraints`` is the one ``budget``-hot group (XY mixers keep it).

    Examples:
        >>> p = portfolio([0.1, 0.2, 0.15], [[0.1, 0, 0], [0, 0.3, 0], [0, 0, 0.2]], budget=2, risk=0.5)
        >>> round(p.value([1, 0, 1]), 4), p.is_feasible([1, 1, 1]), p.decode([1, 0, 1])
        (-0.1, False, ['0', '2'])
    """
    m = np.asarray(mu, dtype=np.float64).reshape(-1)
    s = np.asarray(sigma, dtype=np.float64)
    n = m.size
    if s.shape != (n, n) or not np.all(np.isfinite(s)) or not np.all(np.isfinite(m)):
        raise ConfigError(f"portfolio: need finite mu of length n and sigma of shape (n, n), got {m.shape}, {s.shape}")
    if not np.allclose(s, s.T, atol=1e-12):
        raise ConfigError("portfolio: sigma must be symmetric")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or not 1 <= budget <= n:
        raise ConfigError(f"portfolio: budget (number of assets held) must be an int in 1..{n}, got {budget!r}")
    off = np.abs(s).sum(1) - np.abs(np.diag(s))
    g = float(np.max(np.abs(m) + risk * (np.abs(np.diag(s)) + 2 * off)))
    a = 2.0 * g if penalty is None else float(penalty)
    labels = [str(i) for i in range(n)] if names is None else [str(v) for v in names]
    x = binary(n)
    h = Expression()
    for i in range(n):
        h = h + (risk * float(s[i, i]) - float(m[i])) * x[i]
        for j in range(i + 1, n):
            if s[i, j]:
                h = h + 2 * risk * float(s[i, j]) * (x[i] * x[j])
    h = h + a * _onehot_penalty(x, int(budget))
    q = QUBO.from_expression(h, n, names=labels)

    def f(bits: np.ndarray) -> float:
        v = bits.astype(np.float64)
        return float(risk * v @ s @ v - m @ v)

    def repair(bits: np.ndarray) -> np.ndarray:
        while bits.sum() != budget:
            cand = np.flatnonzero(bits == (1 if bits.sum() > budget else 0))
            trial = []
            for i in cand:
                b = bits.copy()
                b[i] ^= 1
                trial.append(f(b))
            bits[cand[int(np.argmin(trial))]] ^= 1
        return bits

    return Problem("portfolio", q, value=f, is_feasible=lambda b: int(b.sum()) == budget, repair=repair,
                   decode=lambda b: [labels[i] for i in np.flatnonzero(b)], constraints=[list(range(n))],
                   data={"mu": m, "sigma": s, "budget": int(budget), "risk": risk, "penalty": a, "names": labels})


def portfolio_from_returns(returns: Any, budget: int, *, risk: float = 0.5, penalty: float | None = None,
                           names: Sequence[str] | None = None) -> Problem:
    """:func:`portfolio` from a ``(periods, assets)`` returns matrix: ``mu`` = mean, ``Sigma`` = sample covariance.

    Examples:
        >>> r = [[0.01, 0.02, 0.00], [0.03, -0.01, 0.01], [0.02, 0.00, 0.02]]
        >>> p = portfolio_from_returns(r, budget=1)
        >>> p.data["mu"].round(3).tolist()
        [0.02, 0.003, 0.01]
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2:
        raise ConfigError(f"portfolio_from_returns: need a (periods >= 2, assets) matrix, got shape {r.shape}")
    return portfolio(r.mean(0), np.cov(r, rowvar=False, ddof=1).reshape(r.shape[1], r.shape[1]), budget,
                     risk=risk, penalty=penalty, names=names)
