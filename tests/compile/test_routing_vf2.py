"""Perfect-layout check (VF2, :func:`qtandem.compile.layout.vf2_layout`) before SABRE routing."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from qtandem import Circuit
from qtandem.compile.layout import _node_cost, edge_cost, vf2_layout
from qtandem.compile.routing import route, route_and_verify
from qtandem.compile.verify import verify_equivalent
from qtandem.device import Device


def _on_graph(graph: nx.Graph, n: int, seed: int, layers: int = 3) -> Circuit:
    """Gates only on the edges of ``graph`` (over qubits ``0..n-1``), with one-qubit gates between."""
    r = random.Random(seed)
    c = Circuit(n)
    edges = list(graph.edges)
    for _ in range(layers):
        r.shuffle(edges)
        for a, b in edges:
            c.cx(a, b) if r.random() < 0.5 else c.cx(b, a)
            c.rz(r.uniform(-3, 3), b).h(a)
    return c


def _relabelled_subgraph(dev: Device, k: int, seed: int) -> nx.Graph:
    """A connected ``k``-node subgraph of the coupling map (BFS ball), relabelled 0..k-1 in a random order."""
    r = random.Random(seed)
    g = dev.coupling_map
    nodes = list(nx.bfs_tree(g, r.randrange(dev.num_qubits)))[:k]
    names = list(range(k))
    r.shuffle(names)
    return nx.relabel_nodes(g.subgraph(nodes), dict(zip(nodes, names, strict=True)))


@pytest.mark.parametrize(("device", "k", "seed"), [("heavy_hex_27", 10, 0), ("heavy_hex_27", 16, 1),
                                                   ("grid_4x4", 12, 2), ("heavy_hex_65", 20, 3)])
def test_embedding_interaction_graph_routes_with_zero_swaps(device: str, k: int, seed: int) -> None:
    dev = Device.preset(device)
    c = _on_graph(_relabelled_subgraph(dev, k, seed), k, seed)
    layout = vf2_layout(c, dev)
    assert layout is not None and sorted(layout) == list(range(dev.num_qubits))
    assert all(dev.coupling_map.has_edge(layout[a], layout[b]) for a, b in {i.qubits for i in c if len(i.qubits) == 2})
    out, res = route_and_verify(c, dev, seed=seed, objective="cx")
    cx_in = sum(1 for i in c if i.name == "cx")
    # one candidate, no trials (its CX count may be the proven fallback cleanup's, see route_verify)
    assert res.swaps == 0 and res.cx <= cx_in and len(res.trials) == 1
    assert dev.validate(out) == []


def test_ring_of_twelve_embeds_in_heavy_hex_and_a_ring_of_ten_does_not() -> None:
    dev = Device.preset("heavy_hex_27")  # its cycles have 12 qubits
    ring12 = _on_graph(nx.cycle_graph(12), 12, 5, layers=2)
    assert vf2_layout(ring12, dev) is not None
    assert route(ring12, dev, seed=0).swaps == 0
    assert vf2_layout(_on_graph(nx.cycle_graph(10), 10, 5), dev) is None
    # without the check the router needs swaps for the 12-ring as well (it is not a trivial case)
    assert route(ring12, dev, seed=0, vf2_calls=0, trials=4).swaps > 0


def test_no_embedding_and_no_two_qubit_gate_give_none() -> None:
    dev = Device.preset("heavy_hex_27")
    assert vf2_layout(Circuit(3).cx(0, 1).cx(1, 2).cx(0, 2), dev) is None  # a triangle
    assert vf2_layout(Circuit(5).cx(0, 1).cx(0, 2).cx(0, 3).cx(0, 4), dev) is None  # degree 4 > 3
    assert vf2_layout(Circuit(3).h(0).t(1), dev) is None


def test_call_budget_bounds_the_search() -> None:
    dev = Device.preset("heavy_hex_65")
    line = _on_graph(nx.path_graph(26), 26, 0, layers=1)
    assert vf2_layout(line, dev) is not None
    assert vf2_layout(line, dev, call_limit=5) is None  # budget spent before a full match
    assert route(line, dev, seed=0, vf2_calls=5, trials=2).swaps > 0


def test_best_calibrated_match_is_chosen() -> None:
    # one cx on two qubits: every coupling is a match; the chosen one minimizes the calibrated cost
    dev = Device.preset("heavy_hex_27")
    c = Circuit(2).h(0).cx(0, 1)
    layout = vf2_layout(c, dev, max_matches=10_000)
    assert layout is not None

    def cost(a: int, b: int) -> float:
        return edge_cost(dev, a, b) + 2 * _node_cost(dev, a) + _node_cost(dev, b)

    best = min(cost(a, b) for u, v in dev.coupling_map.edges for a, b in ((u, v), (v, u)))
    assert cost(layout[0], layout[1]) == pytest.approx(best)
    # the match count bounds the choice: with one match scored the first found is taken
    first = vf2_layout(c, dev, max_matches=1)
    assert first is not None and dev.coupling_map.has_edge(first[0], first[1])


def test_perfect_layout_with_mid_circuit_measurement_is_verified_per_stretch() -> None:
    dev = Device.preset("heavy_hex_27")
    c = Circuit(4, 2).h(0).cx(0, 1).cx(1, 2).measure(1, 0).cx(2, 3).reset(1).cx(0, 1).measure(3, 1)
    out, res = route_and_verify(c, dev, seed=0)
    assert res.swaps == 0 and res.stretches is not None and dev.validate(out) == []


def test_zero_swap_output_equals_input_on_small_device_exactly() -> None:
    dev = Device.preset("line_5")
    c = _on_graph(nx.path_graph(4), 4, 9)
    out, res = route_and_verify(c, dev, seed=0)
    assert res.swaps == 0
    verify_equivalent(res.embedded_input(c), out, permutation=res.permutation, method="exact")
