"""Initial layout on a device: distance tables, the best-calibrated connected region, greedy placement.

A *layout* is a list ``layout[v] = p``: virtual qubit ``v`` sits on physical
qubit ``p``. Layouts here are full permutations of the device's qubits: the
circuit's qubits are ``0..n-1`` and the device's spare qubits are virtual
ancillas ``n..N-1`` (idle wires a swap may move).

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.preset("line_5")
    >>> region = best_region(dev, 3)
    >>> len(region), all(dev.coupling_map.has_edge(a, b) for a, b in zip(sorted(region), sorted(region)[1:]))
    (3, True)
    >>> layout = greedy_layout(Circuit(3).cx(0, 1).cx(1, 2), dev, region=region)
    >>> sorted(layout[:3]) == sorted(region)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
from networkx.algorithms import isomorphism

from qtandem.circuit import Circuit
from qtandem.errors import CompileError, NoiseError
from qtandem.random import as_generator

__all__ = ["best_region", "compact_region", "distance_tables", "edge_cost", "greedy_layout", "random_layout",
           "resolve_device", "vf2_layout"]


def resolve_device(device: Any, circuit: Circuit | None = None) -> Any:
    """A :class:`~qtandem.device.Device` from a device or a preset/file name, checked for routing.

    Raises:
        CompileError: unknown device name, a disconnected coupling map, or a
            circuit with more qubits than the device.

    Examples:
        >>> resolve_device("line_5").num_qubits
        5
    """
    from qtandem.device import Device

    if isinstance(device, str):
        try:
            device = Device.load(device)
        except NoiseError as err:
            raise CompileError(f"cannot route for device {device!r}: {err}") from None
    if not hasattr(device, "coupling_map"):
        raise CompileError(f"device must be a qtandem.device.Device or a preset name, got {type(device).__name__}")
    graph = device.coupling_map
    if device.num_qubits > 1 and not nx.is_connected(graph):
        parts = sorted((sorted(c) for c in nx.connected_components(graph)), key=len, reverse=True)
        raise CompileError(f"device {device.name!r} has a disconnected coupling map ({len(parts)} components, "
                           f"largest {parts[0][:8]}{'...' if len(parts[0]) > 8 else ''}); routing needs a connected "
                           "map: restrict the device to one component")
    if circuit is not None and circuit.n_qubits > device.num_qubits:
        raise CompileError(f"circuit has {circuit.n_qubits} qubits but device {device.name!r} has only "
                           f"{device.num_qubits}; choose a larger device")
    return device


def edge_cost(device: Any, a: int, b: int) -> float:
    """``-ln(1 - error)`` of the two-qubit gate on ``(a, b)`` (a small floor when uncalibrated).

    Examples:
        >>> import math
        >>> from qtandem.device import Device
        >>> dev = Device.preset("heavy_hex_27")
        >>> math.isclose(edge_cost(dev, 0, 1), -math.log(1 - dev.edges[(0, 1)].error))
        True
    """
    e = device.edges.get((min(a, b), max(a, b)))
    err = e.error if e is not None else 0.0
    return -math.log1p(-min(max(err, 1e-6), 1 - 1e-12))


def distance_tables(device: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(hops, noisy)``: hop distances and error-weighted distances (``sum -ln(1 - e)``, in mean-edge units).

    Returns:
        Two ``(N, N)`` float arrays.

    Examples:
        >>> from qtandem.device import Device
        >>> hops, noisy = distance_tables(Device.preset("heavy_hex_27"))
        >>> hops.shape, int(hops[0, 1]), int(hops[0, 2])
        ((27, 27), 1, 2)
    """
    n = device.num_qubits
    g = device.coupling_map
    hops = np.zeros((n, n))
    for a, row in nx.all_pairs_shortest_path_length(g):
        for b, d in row.items():
            hops[a, b] = d
    costs = {(a, b): edge_cost(device, a, b) for a, b in g.edges()}
    mean = float(np.mean(list(costs.values()))) if costs else 1.0
    w = nx.Graph()
    w.add_nodes_from(range(n))
    for (a, b), c in costs.items():
        w.add_edge(a, b, weight=c / mean)
    noisy = np.zeros((n, n))
    for a, row in nx.all_pairs_dijkstra_path_length(w):
        for b, d in row.items():
            noisy[a, b] = d
    return hops, noisy


def _node_cost(device: Any, q: int) -> float:
    p = device.qubits[q]
    return -math.log1p(-min((p.readout_p01 + p.readout_p10) / 2 + p.gate_error_1q, 0.5))


def best_region(device: Any, k: int, *, start: int | None = None) -> list[int]:
    """A connected set of ``k`` physical qubits with low calibrated error, grown greedily.

    From every start qubit (or ``start``), add the neighbour whose cheapest edge
    into the region plus its own readout/1q error is smallest; keep the region with
    the lowest total cost (edges inside the region plus node costs).

    Raises:
        CompileError: ``k`` larger than the device.

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("heavy_hex_27")
        >>> region = best_region(dev, 4)
        >>> len(region), nx.is_connected(dev.coupling_map.subgraph(region))
        (4, True)
    """
    n = device.num_qubits
    if k > n:
        raise CompileError(f"need {k} qubits, device {device.name!r} has {n}")
    g = device.coupling_map
    best: tuple[float, list[int]] | None = None
    for s in ([start] if start is not None else range(n)):
        region = [s]
        inside = {s}
        cost = _node_cost(device, s)
        while len(region) < k:
            cands = []
            for p in region:
                for nb in g.neighbors(p):
                    if nb not in inside:
                        cands.append((edge_cost(device, p, nb) + _node_cost(device, nb), nb))
            if not cands:
                break
            c, nb = min(cands)
            region.append(nb)
            inside.add(nb)
            cost += c
        if len(region) < k:
            continue
        inner = sum(edge_cost(device, a, b) for a, b in g.subgraph(region).edges())
        total = cost + 0.25 * inner
        if best is None or total < best[0]:
            best = (total, region)
    if best is None:
        raise CompileError(f"no connected region of {k} qubits on device {device.name!r}")
    return best[1]


def compact_region(hops: np.ndarray, k: int) -> list[int]:
    """``k`` qubits closest (in hops) to the device's most central qubit: a ball rather than a chain.

    Examples:
        >>> from qtandem.device import Device
        >>> hops, _ = distance_tables(Device.preset("line_5"))
        >>> sorted(compact_region(hops, 3))
        [1, 2, 3]
    """
    center = int(np.argmin(hops.max(axis=1) * 1000 + hops.sum(axis=1)))
    return [int(q) for q in np.argsort(hops[center], kind="stable")[:k]]


def _interactions(circuit: Circuit) -> dict[tuple[int, int], int]:
    w: dict[tuple[int, int], int] = {}
    for inst in circuit:
        if inst.is_gate and len(inst.qubits) >= 2:
            qs = inst.qubits
            for i in range(len(qs)):
                for j in range(i + 1, len(qs)):
                    key = (min(qs[i], qs[j]), max(qs[i], qs[j]))
                    w[key] = w.get(key, 0) + 1
    return w


def _complete(layout_partial: dict[int, int], n_virtual: int, n_phys: int) -> list[int]:
    free = [p for p in range(n_phys) if p not in set(layout_partial.values())]
    out = []
    k = 0
    for v in range(n_phys):
        if v in layout_partial:
            out.append(layout_partial[v])
        else:
            out.append(free[k])
            k += 1
    return out


def greedy_layout(circuit: Circuit, device: Any, *, region: Sequence[int] | None = None,
                  dist: np.ndarray | None = None) -> list[int]:
    """Place the circuit's qubits on ``region`` (default :func:`best_region`), heavy interactions close.

    Virtual qubits are placed in order of decreasing interaction weight, each on
    the free region qubit minimizing the weighted distance to its placed partners
    (the first on the region qubit of highest degree inside the region).

    Returns:
        A full layout (see the module docs).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> dev = Device.preset("heavy_hex_27")
        >>> layout = greedy_layout(Circuit(3).cx(0, 1).cx(1, 2), dev)
        >>> edges = dev.coupling_map
        >>> len(layout), edges.has_edge(layout[0], layout[1]), edges.has_edge(layout[1], layout[2])
        (27, True, True)
    """
    n, big_n = circuit.n_qubits, device.num_qubits
    region = list(region) if region is not None else best_region(device, max(n, 1))
    if dist is None:
        dist = distance_tables(device)[0]
    w = _interactions(circuit)
    deg = [0] * n
    nbrs: dict[int, dict[int, int]] = {v: {} for v in range(n)}
    for (a, b), c in w.items():
        deg[a] += c
        deg[b] += c
        nbrs[a][b] = c
        nbrs[b][a] = c
    order = sorted(range(n), key=lambda v: -deg[v])
    sub = device.coupling_map.subgraph(region)
    placed: dict[int, int] = {}
    free = list(region)
    for v in order:
        partners = [(placed[u], c) for u, c in nbrs[v].items() if u in placed]
        if partners:
            p = min(free, key=lambda f: (sum(c * dist[f, q] for q, c in partners), -sub.degree(f)))
        else:
            p = max(free, key=lambda f: (sub.degree(f), -min((dist[f, q] for q in placed.values()), default=0)))
        placed[v] = p
        free.remove(p)
    return _complete(placed, n, big_n)


def random_layout(circuit: Circuit, device: Any, *, seed: Any = None, region: Sequence[int] | None = None) -> list[int]:
    """A seeded random full layout (circuit qubits on ``region`` when given, else anywhere).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> dev = Device.preset("heavy_hex_27")
        >>> a = random_layout(Circuit(3), dev, seed=5)
        >>> a == random_layout(Circuit(3), dev, seed=5), sorted(a) == list(range(27))
        (True, True)
    """
    rng = as_generator(seed)
    n, big_n = circuit.n_qubits, device.num_qubits
    pool = list(region) if region is not None and len(region) >= n else list(range(big_n))
    chosen = [int(x) for x in rng.permutation(pool)[:n]]
    return _complete(dict(enumerate(chosen)), n, big_n)


class _OutOfCalls(Exception):
    """The VF2 search used up its call budget."""


class _BudgetedMatcher(isomorphism.GraphMatcher):  # type: ignore[misc]
    """networkx's VF2 matcher counting its feasibility checks; past ``limit`` it stops the search."""

    def __init__(self, g1: nx.Graph, g2: nx.Graph, limit: int) -> None:
        super().__init__(g1, g2)
        self.calls = 0
        self.limit = limit

    def syntactic_feasibility(self, g1_node: Any, g2_node: Any) -> bool:
        self.calls += 1
        if self.calls > self.limit:
            raise _OutOfCalls
        return bool(super().syntactic_feasibility(g1_node, g2_node))


def vf2_layout(circuit: Circuit, device: Any, *, call_limit: int = 20000,
               max_matches: int = 500) -> list[int] | None:
    """A layout that puts every two-qubit interaction of ``circuit`` on a coupling (no swap needed), or ``None``.

    The interaction graph (circuit qubits joined by their two-qubit gates) is matched into the
    coupling map as a subgraph monomorphism (VF2, :class:`networkx.algorithms.isomorphism.GraphMatcher`,
    pattern nodes ordered breadth-first from the busiest qubit so each next one is constrained).
    Among at most ``max_matches`` matches the best-calibrated one is kept (two-qubit gate errors
    weighted by how often each pair interacts, plus one-qubit and readout errors of the used
    qubits), as Qiskit's ``VF2Layout`` does. Qubits without two-qubit gates go to the
    best-calibrated free qubits. ``call_limit`` bounds the search's feasibility checks, so a
    circuit that does not embed costs a bounded time (then ``None``, as when nothing embeds).

    Args:
        circuit: gates on at most two qubits (the routing module expands larger ones first).
        device: the device.
        call_limit: at most this many VF2 feasibility checks.
        max_matches: at most this many matches are scored.

    Returns:
        A full layout (see the module docs), or ``None``: no embedding found within the budget,
        or the circuit has no two-qubit gate.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> dev = Device.preset("heavy_hex_27")
        >>> layout = vf2_layout(Circuit(4).cx(0, 1).cx(1, 2).cx(2, 3), dev)    # a line embeds
        >>> all(dev.coupling_map.has_edge(layout[q], layout[q + 1]) for q in range(3))
        True
        >>> vf2_layout(Circuit(3).cx(0, 1).cx(1, 2).cx(0, 2), dev) is None      # heavy-hex has no triangle
        True
    """
    n, big_n = circuit.n_qubits, device.num_qubits
    w = _interactions(circuit)
    if not w or n > big_n:
        return None
    g = device.coupling_map
    pattern = nx.Graph()
    pattern.add_edges_from(w)
    if (pattern.number_of_edges() > g.number_of_edges()
            or max(d for _, d in pattern.degree) > max(d for _, d in g.degree)):
        return None
    ordered = nx.Graph()  # VF2 extends the match in the pattern's node order: breadth-first from the busiest
    for comp in sorted(nx.connected_components(pattern), key=len, reverse=True):
        root = max(comp, key=lambda v: (pattern.degree(v), -v))
        ordered.add_nodes_from(nx.bfs_tree(pattern, root))
    ordered.add_edges_from(pattern.edges)
    ones: dict[int, int] = {}
    for inst in circuit:
        if inst.is_gate and len(inst.qubits) == 1:
            ones[inst.qubits[0]] = ones.get(inst.qubits[0], 0) + 1

    def score(m: dict[int, int]) -> float:
        s = sum(c * edge_cost(device, m[a], m[b]) for (a, b), c in w.items())
        return s + sum((ones.get(v, 0) + 1) * _node_cost(device, p) for v, p in m.items())

    matcher = _BudgetedMatcher(g, ordered, call_limit)
    best: tuple[float, dict[int, int]] | None = None
    try:
        for k, mono in enumerate(matcher.subgraph_monomorphisms_iter()):
            m = {v: p for p, v in mono.items()}
            s = score(m)
            if best is None or s < best[0]:
                best = (s, m)
            if k + 1 >= max_matches:
                break
    except _OutOfCalls:
        pass
    if best is None:
        return None
    placed = dict(best[1])
    free = sorted(set(range(big_n)) - set(placed.values()), key=lambda p: (_node_cost(device, p), p))
    for v, p in zip((v for v in range(n) if v not in placed), free, strict=False):
        placed[v] = p
    return _complete(placed, n, big_n)
