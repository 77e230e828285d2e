"""Coupling-map search: which qubit connectivity a workload family wants, scored by qtandem's router.

:func:`search_coupling` anneals over coupling maps (connected, at most ``max_edges`` couplings, every
qubit on at most ``max_degree``) and scores each candidate by routing the workloads on it with the SABRE
pass of :mod:`qtandem.compile.routing` (:func:`routed_cx`, the fast path: a few seeded
forward-backward layout trials, the CX the router would emit, absorbed swaps included). The score of a
map is the geometric mean of the routed CX counts over the workloads, so each workload counts by its
relative overhead, not its size. :func:`coupling_map` gives the reference maps (heavy-hex, grid, ring,
line) from :meth:`qtandem.device.Device.random`'s own builders.

Why simulated annealing over edge rewirings: the space is discrete and constrained, and a candidate
costs a routing of every workload (milliseconds to seconds), so a search gets hundreds of evaluations,
not the tens of thousands a learned proposal model would need to pay for its training. A rewiring move
(drop one coupling, add another; or add one while under ``max_edges``) keeps every constraint by
construction, and the Metropolis rule with a cooling temperature escapes the plateaus where a greedy
hill climb stalls (many rewirings leave the routed CX unchanged). The budget is a number of candidate
evaluations and the router is seeded per workload, the same for every candidate (common random
numbers), so a search is a deterministic function of its arguments.

Examples:
    >>> from qtandem import Circuit
    >>> star = Circuit(5).cx(0, 1).cx(0, 2).cx(0, 3).cx(0, 4)
    >>> found = search_coupling([star], 5, max_edges=4, max_degree=4, budget=10, seed=0)
    >>> sorted(found.graph().degree[q] for q in found.graph())   # the star itself: no swap
    [1, 1, 1, 1, 4]
    >>> found.score, routed_cx(star, coupling_map("line", 5)) > 4
    (4.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import networkx as nx
import numpy as np

from qtandem.circuit import Circuit
from qtandem.errors import ConfigError
from qtandem.random import as_generator

__all__ = ["REFERENCE_MAPS", "CouplingSearch", "coupling_map", "routed_cx", "search_coupling"]

REFERENCE_MAPS = ("heavy_hex", "grid", "ring", "line")
"""Names :func:`coupling_map` knows."""

Edge = tuple[int, int]


def coupling_map(name: str, n_qubits: int) -> list[Edge]:
    """A reference coupling map as sorted ``(a, b)`` pairs, ``a < b``, from :meth:`Device.random`'s builders.

    ``"heavy_hex"``: the first ``n`` qubits (breadth first, so connected) of the heavy-hex lattice of
    IBM's Falcon/Hummingbird chips; for 16 qubits a true fragment of it, one 12-qubit hexagon cell with
    two 2-qubit tails, 16 couplings, degree <= 3 (the Falcon r4 16-qubit chip is one 12-cycle plus 4
    one-qubit tails: 16 couplings too). ``"grid"``: rows x columns as square as ``n`` allows (4 x 4: 24
    couplings). ``"ring"``: a cycle. ``"line"``: a path.

    Raises:
        ConfigError: an unknown name or a size the map cannot have.

    Examples:
        >>> len(coupling_map("heavy_hex", 16)), len(coupling_map("grid", 16)), len(coupling_map("ring", 16))
        (16, 24, 16)
        >>> coupling_map("line", 3)
        [(0, 1), (1, 2)]
    """
    from qtandem.device import Device
    from qtandem.errors import NoiseError

    if name not in REFERENCE_MAPS:
        raise ConfigError(f"coupling_map: unknown map {name!r} (known: {', '.join(REFERENCE_MAPS)})")
    try:
        dev = Device.random(n_qubits, name, seed=0)
    except NoiseError as err:
        raise ConfigError(f"coupling_map({name!r}, {n_qubits}): {err}") from None
    return sorted((min(a, b), max(a, b)) for a, b in dev.coupling_map.edges())


def _graph(edges: Sequence[Sequence[int]], n: int) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((int(a), int(b)) for a, b in edges)
    return g


def _circuits(workloads: Sequence[Any]) -> list[Circuit]:
    out = []
    for i, w in enumerate(workloads):
        c = getattr(w, "circuit", w)
        if not isinstance(c, Circuit):
            raise ConfigError(f"workloads[{i}]: expected a qtandem Circuit or a Workload, got {type(w).__name__}")
        out.append(c)
    if not out:
        raise ConfigError("search_coupling: no workloads; pass at least one circuit")
    return out


class _Scorer:
    """Routes fixed circuits on candidate maps: the fast path of :func:`routed_cx`, prepared once."""

    def __init__(self, circuits: Sequence[Circuit], n: int, *, seed: int, trials: int, iterations: int) -> None:
        from qtandem.compile.routing import _prepare

        self.n, self.seed, self.trials, self.iterations = n, seed, trials, iterations
        self.items = []
        for c in circuits:
            prepared = _prepare(Circuit(c.n_qubits).compose(_unitary_body(c)))
            ops = list(prepared)
            self.items.append((prepared, ops, ops[::-1]))

    def counts(self, edges: Sequence[Edge]) -> list[int]:
        from qtandem.compile.layout import greedy_layout
        from qtandem.compile.routing import _emitted_cx, sabre_pass

        n = self.n
        g = _graph(edges, n)
        adj = np.zeros((n, n), dtype=bool)
        for a, b in g.edges():
            adj[a, b] = adj[b, a] = True
        hops = np.zeros((n, n))
        for a, row in nx.all_pairs_shortest_path_length(g):
            for b, d in row.items():
                hops[a, b] = d
        costs = np.zeros((n, n))
        dev = SimpleNamespace(num_qubits=n, coupling_map=g)
        out = []
        for prepared, ops, rev in self.items:
            rng = np.random.default_rng(self.seed)  # the same stream on every candidate and workload
            nv = prepared.n_qubits
            best = -1
            for t in range(self.trials):
                if t == 0:
                    layout = greedy_layout(prepared, dev, region=list(range(n)), dist=hops)
                else:
                    layout = [int(p) for p in rng.permutation(n)]
                kw: dict[str, Any] = {"commute": True, "front_sum": True, "absorb": float(t % 2 == 0)}
                for _ in range(self.iterations):
                    _, fin, _ = sabre_pass(ops, nv, layout, adj, hops, costs, rng, **kw)
                    _, layout, _ = sabre_pass(rev, nv, fin, adj, hops, costs, rng, **kw)
                emitted, _, _ = sabre_pass(ops, nv, layout, adj, hops, costs, rng, **kw)
                cx = _emitted_cx(ops, emitted)
                best = cx if best < 0 else min(best, cx)
            out.append(best)
        return out


def _unitary_body(c: Circuit) -> Circuit:
    body = Circuit(c.n_qubits)
    for inst in c:
        if inst.is_gate and inst.condition is None:
            body.append(inst)
    return body


def _geomean(values: Sequence[float]) -> float:
    return float(math.exp(sum(math.log(max(v, 1.0)) for v in values) / len(values)))


def routed_cx(circuit: Circuit | Any, coupling: Sequence[Sequence[int]], *, n_qubits: int | None = None,
              seed: int = 0, trials: int = 4, iterations: int = 1, full: bool = False) -> int:
    """Two-qubit gates (CX) of ``circuit`` routed on ``coupling``: the score :func:`search_coupling` uses.

    The fast path (default): the unitary part of the circuit (gates on three or more qubits expanded),
    ``trials`` seeded layouts (a greedy one, then random ones) each refined by ``iterations``
    forward-backward SABRE passes, and the fewest two-qubit gates the router would emit (3 per swap, 1 per
    swap absorbed into the CX next to it; a native two-qubit gate such as ``rzz`` counts 1). ``full=True``
    runs the whole router instead (:func:`qtandem.compile.routing.route` with ``trials`` trials, fewest CX,
    hop distance only, then its cleanup and native CX basis: an ``rzz`` costs 2) on an evenly calibrated
    reading of the map: slower, and the number the benchmark reports.

    Args:
        circuit: a circuit, or a workload with a ``.circuit``.
        coupling: ``(a, b)`` qubit pairs; must be connected over ``n_qubits``.
        n_qubits: qubits of the map (default: the largest index + 1).
        seed: the router's seed.
        trials: layout trials.
        iterations: forward-backward refinements per trial (fast path).
        full: run the full router.

    Raises:
        ConfigError: a disconnected map, or a circuit wider than it.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(3).cx(0, 1).cx(1, 2).cx(0, 2)
        >>> routed_cx(c, [(0, 1), (1, 2), (0, 2)]), routed_cx(c, [(0, 1), (1, 2)])
        (3, 4)
    """
    c = _circuits([circuit])[0]
    n = int(n_qubits) if n_qubits is not None else 1 + max(max(int(a), int(b)) for a, b in coupling)
    g = _graph(coupling, n)
    if not nx.is_connected(g):
        raise ConfigError(f"routed_cx: the coupling map over {n} qubits is not connected")
    if c.n_qubits > n:
        raise ConfigError(f"routed_cx: circuit has {c.n_qubits} qubits, the map only {n}")
    if not full:
        return _Scorer([c], n, seed=seed, trials=max(trials, 1), iterations=iterations).counts(list(g.edges()))[0]
    from qtandem.compile.routing import route

    dev = _even_device(sorted(g.edges()), n)
    res = route(_unitary_body(c), dev, seed=seed, trials=max(trials, 1), objective="cx", noise_weight=0.0,
                post_layout=False, vf2_calls=20000)
    return int(res.cx)


def _even_device(edges: list[Edge], n: int) -> Any:
    """A device on ``edges`` with every coupling and qubit calibrated alike (the router sees only the graph)."""
    from qtandem.device import Device

    data = Device.random(n, edges, seed=0).to_dict()
    data["qubits"] = [dict(data["qubits"][0]) for _ in data["qubits"]]
    data["edges"] = [dict(data["edges"][0], qubits=row["qubits"]) for row in data["edges"]]
    data.pop("readout_correlations", None)
    return Device.from_dict(data)


@dataclass
class CouplingSearch:
    """The result of :func:`search_coupling`.

    Attributes:
        coupling: the best map found, sorted ``(a, b)`` pairs with ``a < b``.
        score: its score (geometric mean of the workloads' routed CX on the fast path; lower is better).
        history: one entry per evaluated candidate: ``{"evaluation", "score", "best", "accepted",
            "edges", "temperature"}``.
        start: the map the search started from; ``start_score``: its score.
        n_qubits: qubits of the maps; ``counts``: per workload routed CX on ``coupling`` (fast path).
        reranked: with ``rerank``: per reranked map ``{"coupling", "score", "full_score", "full_counts",
            "start"}`` (``full_score``: geometric mean of the full router's CX).

    Examples:
        >>> from qtandem import Circuit
        >>> res = search_coupling([Circuit(3).cx(0, 2)], 3, max_edges=2, max_degree=2, budget=4)
        >>> res.n_qubits, len(res.coupling), res.score <= res.start_score, len(res.history) <= 5
        (3, 2, True, True)
    """

    coupling: list[Edge]
    score: float
    history: list[dict[str, Any]]
    start: list[Edge]
    start_score: float
    n_qubits: int
    counts: list[int] = field(default_factory=list)
    reranked: list[dict[str, Any]] = field(default_factory=list)

    def graph(self) -> nx.Graph:
        """The best map as a ``networkx.Graph`` on ``range(n_qubits)``.

        Examples:
            >>> from qtandem import Circuit
            >>> res = search_coupling([Circuit(3).cx(0, 1)], 3, max_edges=2, max_degree=2, budget=2)
            >>> res.graph().number_of_nodes(), nx.is_connected(res.graph())
            (3, True)
        """
        return _graph(self.coupling, self.n_qubits)

    def device(self, *, seed: int = 0) -> Any:
        """A :meth:`Device.random <qtandem.device.Device.random>` (seeded calibration) on the best map.

        Examples:
            >>> from qtandem import Circuit
            >>> res = search_coupling([Circuit(3).cx(0, 1)], 3, max_edges=2, max_degree=2, budget=2)
            >>> sorted(res.device().coupling_map.edges()) == res.coupling
            True
        """
        from qtandem.device import Device

        return Device.random(self.n_qubits, self.coupling, seed=seed)


def _feasible(g: nx.Graph, max_edges: int, max_degree: int) -> bool:
    return (g.number_of_edges() <= max_edges and max((d for _, d in g.degree()), default=0) <= max_degree
            and nx.is_connected(g))


def _default_start(n: int, max_edges: int, max_degree: int) -> list[Edge]:
    for name in ("heavy_hex", "ring", "line"):
        try:
            edges = coupling_map(name, n)
        except ConfigError:
            continue
        if _feasible(_graph(edges, n), max_edges, max_degree):
            return edges
    return [(i, i + 1) for i in range(n - 1)]


def _propose(g: nx.Graph, max_edges: int, max_degree: int, rng: np.random.Generator) -> nx.Graph | None:
    """One move: add a coupling (while under ``max_edges``) or rewire one (drop it, add another)."""
    n = g.number_of_nodes()
    h = g.copy()
    edges = sorted(h.edges())
    if h.number_of_edges() < max_edges and rng.random() < 0.5:
        pass
    else:
        a, b = edges[int(rng.integers(len(edges)))]
        h.remove_edge(a, b)
        if rng.random() < 0.5:  # local: keep one end, move the other within two hops of where it was
            keep, moved = (a, b) if rng.random() < 0.5 else (b, a)
            near = sorted(set(nx.single_source_shortest_path_length(g, moved, cutoff=2)) - {keep, moved})
            near = [q for q in near if not h.has_edge(keep, q)]
            if near:
                q = near[int(rng.integers(len(near)))]
                h.add_edge(min(keep, q), max(keep, q))
                return h if _feasible(h, max_edges, max_degree) else None
    free = [q for q in range(n) if h.degree(q) < max_degree]
    if len(free) < 2:
        return None
    for _ in range(20):
        u, v = (int(x) for x in rng.choice(free, 2, replace=False))
        if not h.has_edge(u, v):
            h.add_edge(min(u, v), max(u, v))
            return h if _feasible(h, max_edges, max_degree) and not nx.utils.graphs_equal(h, g) else None
    return None


def search_coupling(workloads: Sequence[Circuit | Any], n_qubits: int, max_edges: int, max_degree: int, *,
                    seed: int = 0, budget: int = 200, start: str | Sequence[Sequence[int]] | None = None,
                    trials: int = 2, iterations: int = 1, temperature: float = 0.03, rerank: int = 0,
                    rerank_trials: int = 8, progress: Any = None) -> CouplingSearch:
    """Search for a coupling map on which ``workloads`` route with few CX (simulated annealing, see the module docs).

    Args:
        workloads: qtandem circuits, or workloads with a ``.circuit`` (:class:`~qtandem.codesign.Workload`);
            each on at most ``n_qubits`` qubits.
        n_qubits: qubits of the map.
        max_edges: at most this many couplings.
        max_degree: at most this many couplings per qubit.
        seed: seed of the moves and of the router (the router's stream is fixed per workload).
        budget: candidate evaluations (each routes every workload once; a map seen before costs none).
        start: the first map: a :func:`coupling_map` name or pairs; default the first of heavy-hex, ring,
            line that meets the constraints.
        trials: layout trials per workload and candidate (:func:`routed_cx`).
        iterations: forward-backward refinements per trial.
        temperature: initial temperature on the log of the score (cooled linearly to 1% of it): a move
            raising the score by a factor ``r`` is accepted with probability ``r ** (-1 / T)``.
        rerank: after the search, route the workloads with the full router (``routed_cx(..., full=True,
            trials=rerank_trials)``) on the ``rerank`` best maps of the fast path and on the start, and keep the
            best by that (the fast path's few trials are noisy, and the annealing's best is biased towards
            maps its noise favours); 0: keep the fast path's best.
        rerank_trials: trials of the full router when reranking.
        progress: optional callable ``progress(evaluation, best_score)`` after each evaluation.

    Returns:
        A :class:`CouplingSearch`; without ``rerank`` its ``score`` is never worse than the start's, with it
        the full router's score (``reranked``) is not.

    Raises:
        ConfigError: no workload, a workload wider than ``n_qubits``, constraints no connected map meets
            (``max_edges < n_qubits - 1``, ``max_degree < 2`` above 2 qubits), a start map that breaks them,
            a budget below 0.

    Examples:
        >>> from qtandem import Circuit
        >>> ring = Circuit(4).cx(0, 1).cx(1, 2).cx(2, 3).cx(3, 0)
        >>> res = search_coupling([ring], 4, max_edges=4, max_degree=2, start="line", budget=30, seed=1)
        >>> res.start_score > res.score == 4.0       # the line needs a swap; the search finds the ring
        True
    """
    circuits = _circuits(workloads)
    n = int(n_qubits)
    if n < 2:
        raise ConfigError(f"search_coupling: n_qubits must be >= 2, got {n_qubits!r}")
    wide = [i for i, c in enumerate(circuits) if c.n_qubits > n]
    if wide:
        raise ConfigError(f"search_coupling: workloads[{wide[0]}] has {circuits[wide[0]].n_qubits} qubits, "
                          f"more than n_qubits={n}")
    if max_edges < n - 1:
        raise ConfigError(f"search_coupling: max_edges={max_edges} cannot connect {n} qubits (need >= {n - 1})")
    if max_degree < (2 if n > 2 else 1):
        raise ConfigError(f"search_coupling: max_degree={max_degree} cannot connect {n} qubits in one piece "
                          f"(need >= {2 if n > 2 else 1})")
    if budget < 0:
        raise ConfigError(f"search_coupling: budget must be >= 0, got {budget}")
    if start is None:
        start_edges = _default_start(n, max_edges, max_degree)
    elif isinstance(start, str):
        start_edges = coupling_map(start, n)
    else:
        start_edges = sorted((min(int(a), int(b)), max(int(a), int(b))) for a, b in start)
    g = _graph(start_edges, n)
    if g.number_of_nodes() != n or not _feasible(g, max_edges, max_degree):
        raise ConfigError(f"search_coupling: the start map ({g.number_of_edges()} couplings, max degree "
                          f"{max(d for _, d in g.degree())}, connected={nx.is_connected(g)}) breaks the constraints "
                          f"max_edges={max_edges}, max_degree={max_degree} or is not on 0..{n - 1}")
    scorer = _Scorer(circuits, n, seed=seed, trials=max(trials, 1), iterations=iterations)
    rng = as_generator(seed)
    cache: dict[frozenset[Edge], tuple[float, list[int]]] = {}

    def score(graph: nx.Graph) -> tuple[float, list[int]]:
        key = frozenset((min(a, b), max(a, b)) for a, b in graph.edges())
        if key not in cache:
            counts = scorer.counts(sorted(key))
            cache[key] = (_geomean(counts), counts)
        return cache[key]

    cur_score, cur_counts = score(g)
    start_score = cur_score
    best_g, best_score, best_counts = g, cur_score, cur_counts
    history: list[dict[str, Any]] = [{"evaluation": 0, "score": cur_score, "best": cur_score, "accepted": True,
                                      "edges": g.number_of_edges(), "temperature": temperature}]
    attempts = 0
    while len(cache) <= budget and attempts < 20 * max(budget, 1):
        attempts += 1
        cand = _propose(g, max_edges, max_degree, rng)
        if cand is None:
            continue
        seen = len(cache)
        s, counts = score(cand)
        if len(cache) == seen:  # a map already scored: no evaluation spent, no history entry
            continue
        frac = (len(cache) - 1) / max(budget, 1)
        temp = temperature * (1.0 - 0.99 * min(frac, 1.0))
        delta = math.log(s) - math.log(cur_score)
        accepted = delta <= 0 or (temp > 0 and rng.random() < math.exp(-delta / temp))
        if accepted:
            g, cur_score = cand, s
            if s < best_score:
                best_g, best_score, best_counts = cand, s, counts
        history.append({"evaluation": len(cache) - 1, "score": s, "best": best_score, "accepted": bool(accepted),
                        "edges": cand.number_of_edges(), "temperature": temp})
        if progress is not None:
            progress(len(cache) - 1, best_score)
    chosen = sorted((min(a, b), max(a, b)) for a, b in best_g.edges())
    reranked: list[dict[str, Any]] = []
    if rerank > 0:  # the full router on the best few maps of the fast path (and the start): keep its best
        keys = [k for k, _ in sorted(cache.items(), key=lambda kv: (kv[1][0], sorted(kv[0])))[:rerank]]
        start_key = frozenset(start_edges)
        for key in [*keys, *([start_key] if start_key not in keys else [])]:
            edges = sorted(key)
            full = [routed_cx(c, edges, n_qubits=n, seed=seed, trials=rerank_trials, full=True) for c in circuits]
            reranked.append({"coupling": edges, "score": cache[key][0], "full_score": _geomean(full),
                             "full_counts": full, "start": key == start_key})
        pick = min(reranked, key=lambda r: (r["full_score"], r["score"]))
        chosen, best_score, best_counts = pick["coupling"], pick["score"], list(cache[frozenset(chosen)][1])
    return CouplingSearch(coupling=chosen, score=best_score, history=history, start=list(start_edges),
                          start_score=start_score, n_qubits=n, counts=list(best_counts), reranked=reranked)
