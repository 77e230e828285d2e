"""Coupling-map search (issue 20 section 2): reference maps, the routed-CX score against maps where the
answer is known, constraints on every result, and the search against exhaustive enumeration."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest

from qtandem import Circuit
from qtandem.codesign import Workload
from qtandem.codesign.coupling import CouplingSearch, coupling_map, routed_cx, search_coupling
from qtandem.errors import ConfigError


def _random_circuit(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(gates):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        c.h(a).cx(a, b)
    return c


def _two_qubit(c: Circuit) -> int:
    return sum(1 for i in c if i.is_gate and len(i.qubits) == 2)


# -- reference maps -----------------------------------------------------------------------------------
def test_reference_maps_have_the_textbook_shapes():
    hh = nx.Graph(coupling_map("heavy_hex", 16))
    # a heavy-hex fragment: 16 couplings, degree <= 3, bipartite, one 12-qubit cell, no degree-3 pair adjacent
    assert hh.number_of_edges() == 16 and max(d for _, d in hh.degree()) == 3 and nx.is_connected(hh)
    assert [len(c) for c in nx.cycle_basis(hh)] == [12] and nx.is_bipartite(hh)
    assert not any(hh.degree(a) == 3 and hh.degree(b) == 3 for a, b in hh.edges())
    grid = nx.Graph(coupling_map("grid", 16))
    assert nx.is_isomorphic(grid, nx.grid_2d_graph(4, 4))
    assert nx.is_isomorphic(nx.Graph(coupling_map("ring", 16)), nx.cycle_graph(16))
    assert nx.is_isomorphic(nx.Graph(coupling_map("line", 16)), nx.path_graph(16))
    with pytest.raises(ConfigError, match="unknown map 'torus'"):
        coupling_map("torus", 16)
    with pytest.raises(ConfigError, match="ring"):
        coupling_map("ring", 2)


# -- the score ----------------------------------------------------------------------------------------
def test_routed_cx_is_exact_where_the_answer_is_known():
    c = _random_circuit(5, 12, seed=3)
    complete = list(itertools.combinations(range(5), 2))
    assert routed_cx(c, complete) == _two_qubit(c) == routed_cx(c, complete, full=True)  # every pair coupled: no swap
    line = coupling_map("line", 5)
    fast, full = routed_cx(c, line, seed=1), routed_cx(c, line, seed=1, full=True)
    assert fast > _two_qubit(c) and full >= _two_qubit(c)            # some interacting pairs are 2+ hops apart
    assert routed_cx(c, line, seed=1) == fast                         # seeded: deterministic
    assert routed_cx(Workload(c), line, seed=1) == fast               # a Workload is scored by its circuit
    with pytest.raises(ConfigError, match="not connected"):
        routed_cx(c, [(0, 1), (2, 3)], n_qubits=5)
    with pytest.raises(ConfigError, match="circuit has 5 qubits, the map only 3"):
        routed_cx(c, [(0, 1), (1, 2)])


# -- the search ---------------------------------------------------------------------------------------
def test_search_matches_exhaustive_enumeration_of_small_maps():
    # every labelled tree on 5 qubits with degree <= 3 (Pruefer sequences), scored through the public scorer
    circuits = [_random_circuit(5, 10, seed=s) for s in (11, 12)]
    trees = {frozenset(tuple(sorted(e)) for e in nx.from_prufer_sequence(list(seq)).edges())
             for seq in itertools.product(range(5), repeat=3)}
    trees = {t for t in trees if max(d for _, d in nx.Graph(list(t)).degree()) <= 3}

    def score(edges: list[tuple[int, int]]) -> float:
        counts = [routed_cx(c, edges, n_qubits=5, seed=0, trials=1) for c in circuits]
        return math.exp(sum(math.log(x) for x in counts) / len(counts))

    best = min(score(sorted(t)) for t in trees)
    res = search_coupling(circuits, 5, max_edges=4, max_degree=3, budget=20, seed=0, trials=1)
    assert len(trees) == 120 and frozenset(res.coupling) in trees
    assert res.counts == [routed_cx(c, res.coupling, n_qubits=5, seed=0, trials=1) for c in circuits]
    assert res.score == pytest.approx(score(res.coupling))
    assert res.start_score > best * 1.1                # the start (the line) is not optimal ...
    assert res.score == pytest.approx(best)            # ... the best tree is found within 20 of 120 evaluations
    assert len(res.history) <= 21


def test_search_keeps_every_constraint_and_is_deterministic():
    circuits = [_random_circuit(8, 10, seed=s) for s in range(3)]
    runs = [search_coupling(circuits, 8, max_edges=9, max_degree=3, budget=25, seed=5) for _ in range(2)]
    res = runs[0]
    assert isinstance(res, CouplingSearch)
    assert res.coupling == runs[1].coupling and res.score == runs[1].score   # same seed, same answer
    for h in res.history:
        assert h["edges"] <= 9
    g = res.graph()
    assert nx.is_connected(g) and g.number_of_edges() <= 9 and max(d for _, d in g.degree()) <= 3
    assert res.score <= res.start_score and res.history[-1]["best"] == res.score
    assert sorted(res.device().coupling_map.edges()) == res.coupling
    assert [h["best"] for h in res.history] == sorted((h["best"] for h in res.history), reverse=True)


def test_search_finds_the_interaction_graph_when_it_fits():
    ring = Circuit(6)
    for q in range(6):
        ring.cx(q, (q + 1) % 6)
    res = search_coupling([ring, ring], 6, max_edges=6, max_degree=2, start="line", budget=40, seed=2)
    assert res.start_score > 6 and res.score == 6.0 and nx.is_isomorphic(res.graph(), nx.cycle_graph(6))


def test_search_refuses_impossible_constraints_with_the_reason():
    c = _random_circuit(4, 3, seed=0)
    with pytest.raises(ConfigError, match="max_edges=2 cannot connect 4 qubits"):
        search_coupling([c], 4, max_edges=2, max_degree=3)
    with pytest.raises(ConfigError, match="max_degree=1"):
        search_coupling([c], 4, max_edges=4, max_degree=1)
    with pytest.raises(ConfigError, match=r"workloads\[0\] has 4 qubits, more than n_qubits=3"):
        search_coupling([c], 3, max_edges=3, max_degree=2)
    with pytest.raises(ConfigError, match="no workloads"):
        search_coupling([], 4, max_edges=4, max_degree=2)
    with pytest.raises(ConfigError, match=r"workloads\[1\]: expected a qtandem Circuit"):
        search_coupling([c, "cx 0 1"], 4, max_edges=4, max_degree=2)
    with pytest.raises(ConfigError, match="start map"):
        search_coupling([c], 4, max_edges=3, max_degree=2, start="ring")


def test_rerank_keeps_the_full_routers_best_among_the_top_maps_and_the_start():
    circuits = [_random_circuit(6, 8, seed=s) for s in (1, 2)]
    res = search_coupling(circuits, 6, max_edges=6, max_degree=3, budget=12, seed=3, rerank=2, rerank_trials=2)
    assert 2 <= len(res.reranked) <= 3 and sum(r["start"] for r in res.reranked) == 1
    for r in res.reranked:  # each full score is the geometric mean of the full router's own counts
        assert r["full_counts"] == [routed_cx(c, r["coupling"], n_qubits=6, seed=3, trials=2, full=True)
                                    for c in circuits]
    assert res.coupling == min(res.reranked, key=lambda r: (r["full_score"], r["score"]))["coupling"]
