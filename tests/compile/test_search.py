"""The rewrite rules, the search and the learned policy (qtandem.compile.rules/search/policy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from tests.compile.compile_helpers import circuits, same_unitary

from qtandem import Circuit
from qtandem.compile import optimize
from qtandem.compile.dag import to_ops
from qtandem.compile.policy import EDGE_TYPES, FEATURES, RewritePolicy, RulePrior, featurize, pretrained_policy
from qtandem.compile.rules import RULES, _convex_splice, actions, apply_action, check_rules, cleanup
from qtandem.compile.search import SearchResult, dfs_order, search, search_window, window_cost, windows
from qtandem.errors import CheckpointError, CompileError


def test_every_rule_is_an_identity_on_random_windows():
    checked = check_rules(seed=5, trials=600)
    assert set(checked) == set(RULES)
    assert all(n > 0 for n in checked.values()), checked


@pytest.mark.parametrize(("window", "rule", "expect"), [
    ([("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None)], "cx_triangle",
     [("cx", (0, 2), None), ("cx", (1, 2), None)]),
    ([("cx", (1, 2), None), ("cx", (0, 1), None), ("cx", (1, 2), None)], "cx_triangle",
     [("cx", (0, 1), None), ("cx", (0, 2), None)]),
    ([("h", (0,), None), ("rz", (0,), math.pi / 2), ("h", (0,), None)], "h_s_h",
     [("rz", (0,), -math.pi / 2), ("h", (0,), None), ("rz", (0,), -math.pi / 2)]),
    ([("rz", (0,), -math.pi / 2), ("h", (0,), None), ("rz", (0,), -math.pi / 2)], "s_h_s",
     [("h", (0,), None), ("rz", (0,), math.pi / 2), ("h", (0,), None)]),
    ([("x", (0,), None), ("cx", (0, 1), None)], "x_push",
     [("cx", (0, 1), None), ("x", (0,), None), ("x", (1,), None)]),
    ([("rz", (0,), 0.3), ("x", (0,), None)], "x_rz", [("x", (0,), None), ("rz", (0,), -0.3)]),
    ([("cx", (0, 1), None), ("cx", (1, 2), None)], "cx_expand",
     [("cx", (1, 2), None), ("cx", (0, 2), None), ("cx", (0, 1), None)]),
])
def test_rule_rewrites_exactly(window, rule, expect):
    r = RULES.index(rule)
    acts = [a for a in actions(window) if a[0] == r]
    assert acts, f"{rule} does not match {window}"
    assert apply_action(window, acts[0]) == expect


def test_cx_flip_with_hadamards_cleans_up_to_one_reversed_cx():
    w = [("h", (0,), None), ("h", (1,), None), ("cx", (0, 1), None), ("h", (0,), None), ("h", (1,), None)]
    assert cleanup(apply_action(w, (RULES.index("cx_flip"), 2)), 2) == [("cx", (1, 0), None)]


def test_triangle_needs_three_distinct_qubits():
    w = [("cx", (0, 1), None), ("cx", (1, 0), None), ("cx", (0, 1), None)]  # a swap, not a triangle
    assert all(RULES[r] not in ("cx_triangle", "cx_expand") for r, _ in actions(w))


def test_convex_splice_refuses_a_set_with_a_path_through_the_outside():
    # gates 0 and 2 with gate 1 between them on both paths: {0, 2} is not convex
    w = [("cx", (0, 1), None), ("h", (1,), None), ("cx", (1, 2), None)]
    assert _convex_splice(w, [0, 2], [("cx", (0, 2), None)]) is None
    # gate 1 is independent of gate 0's wires after it only on qubit 3: it stays before
    w2 = [("cx", (0, 1), None), ("h", (3,), None), ("cx", (1, 2), None)]
    assert _convex_splice(w2, [0, 2], [("x", (0,), None)]) == [("h", (3,), None), ("x", (0,), None)]


def test_window_cost_follows_the_objective():
    w = [("cx", (0, 1), None), ("rz", (1,), math.pi / 4), ("h", (0,), None)]
    assert window_cost(w) == (3, 1)
    assert window_cost(w, "cx") == (1, 3)
    assert window_cost(w, "t") == (1, 3, 1)
    assert window_cost(w, "depth") == (2, 3, 1)


@settings(max_examples=25, deadline=None)
@given(circuits(n=4, max_gates=30, nam=True))
def test_dfs_order_is_a_topological_order(c):
    order = dfs_order(to_ops(c), c.n_qubits)
    out = Circuit(c.n_qubits)
    for op in order:
        out.append(op.instruction())
    assert same_unitary(c, out)
    for i, j in windows(order, 8):
        assert 2 <= j - i <= 8


@settings(max_examples=20, deadline=None)
@given(circuits(n=4, max_gates=28, nam=True))
def test_search_returns_an_equivalent_circuit_never_costlier(c):
    for policy in ("random", "all", "learned", "prior"):
        out = search(c, budget_s=30, seed=3, policy=policy, max_expansions=8, max_rounds=2).circuit
        assert same_unitary(c, out)
        assert out.num_gates() <= c.num_gates()


def test_search_finds_the_triangle_and_is_reproducible():
    c = Circuit(4).cx(0, 1).cx(1, 2).cx(0, 1).h(3).cx(2, 3).h(3).h(2).h(3).cx(3, 2).h(2).h(3)
    a = search(c, budget_s=60, seed=1, policy="random").circuit
    b = search(c, budget_s=60, seed=1, policy="random").circuit
    assert a == b
    assert same_unitary(c, a)
    assert a.count_ops().get("cx", 0) <= 4 and a.num_gates() <= 6  # 11 gates / 5 CX in


def test_search_window_stays_within_its_expansions():
    w = [("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None)]
    best, done = search_window(w, 3, lambda s, o, a: np.zeros(len(a)), max_expansions=2)
    assert done <= 2
    assert window_cost(best) == (2, 2)


def test_search_rejects_bad_input():
    with pytest.raises(CompileError, match="unitary circuits"):
        search(Circuit(1, 1).h(0).measure(0, 0))
    with pytest.raises(CompileError, match="unknown search policy 'greedy'"):
        search(Circuit(2).cx(0, 1), policy="greedy")
    with pytest.raises(CompileError, match="budget_expansions must be a positive int, got 0"):
        search(Circuit(2).cx(0, 1), budget_expansions=0)
    with pytest.raises(CompileError, match="budget_s must be positive"):
        search(Circuit(2).cx(0, 1), budget_s=-1)


def test_search_leaves_other_gates_alone():
    c = Circuit(3).t(0).cx(0, 1).cx(1, 2).cx(0, 1).s(2).ccx(0, 1, 2)
    out = search(c, budget_s=30, seed=0, policy="all").circuit
    assert same_unitary(c, out)
    assert out.count_ops()["ccx"] == 1 and out.count_ops()["t"] == 1 and out.count_ops()["cx"] == 2


def test_clifford_t_circuits_stay_clifford_t():
    # a phase gadget whose rz is a t, conjugated so that only the gadget flip exposes the cancellation
    c = Circuit(2).h(0).cx(0, 1).t(1).cx(0, 1).h(0).h(1).cx(1, 0).tdg(0).cx(1, 0).h(1)
    out = search(c, budget_s=30, seed=0, policy="all").circuit
    assert same_unitary(c, out)
    assert set(out.count_ops()) <= {"h", "x", "cx", "t", "tdg", "s", "sdg", "z"}
    assert out.num_gates() < c.num_gates()
    mixed = Circuit(2).rz(0.3, 0).t(0).cx(0, 1).cx(0, 1)
    assert search(mixed, budget_s=30, seed=0, policy="all").circuit.count_ops() == {"rz": 1}


def test_optimize_level3_runs_the_search_and_can_skip_it():
    c = Circuit(3).cx(0, 1).cx(1, 2).cx(0, 1)
    out, report = optimize(c, level=3, seed=0, policy="all")
    assert out.count_ops() == {"cx": 2}
    assert "search" in [e.name for e in report.entries]
    _, report = optimize(c, level=3, seed=0, policy=None)
    assert "search" not in [e.name for e in report.entries]


def test_featurize_shapes_and_edge_types():
    w = [("cx", (0, 1), None), ("rz", (1,), math.pi / 4), ("cx", (0, 1), None), ("h", (0,), None)]
    x, src, _, et = featurize(w)
    assert x.shape == (4, FEATURES)
    # wires: 0->2 on q0 (slots 0,0), 0->1 on q1 (slot 1 -> 0), 1->2 on q1 (0 -> 1), 2->3 on q0 (0 -> 0); both ways
    assert len(src) == 8
    assert set(et.tolist()) <= set(range(EDGE_TYPES))
    assert x[1, 6].item() == 1.0  # T-like angle class (after the six gate kinds)
    assert x[0, 3].item() == 1.0 and x[3, 0].item() == 1.0


def test_policy_save_load_roundtrip(tmp_path):
    net = RewritePolicy(hidden=8, layers=2, seed=4)
    w = [("cx", (0, 1), None), ("h", (1,), None), ("cx", (1, 0), None), ("x", (0,), None)]
    acts = actions(w)
    net.save(tmp_path / "p.safetensors")
    again = RewritePolicy.load(tmp_path / "p.safetensors")
    np.testing.assert_allclose(net.score_actions(w, None, acts), again.score_actions(w, None, acts))
    same_seed = RewritePolicy(hidden=8, layers=2, seed=4)
    assert same_seed.state_dict()["embed.weight"].equal(net.state_dict()["embed.weight"])


def test_policy_load_rejects_other_files(tmp_path):
    import torch

    from qtandem.io import write_safetensors

    write_safetensors(tmp_path / "x.safetensors", {"w": torch.zeros(2)}, {"rules": "a,b"})
    with pytest.raises(CheckpointError, match="retrain it"):
        RewritePolicy.load(tmp_path / "x.safetensors")


def test_shipped_policy_loads_and_scores():
    net = pretrained_policy()
    w = [("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None)]
    scores = net.score_actions(w, None, actions(w))
    assert scores.shape == (len(actions(w)),) and np.isfinite(scores).all()
    assert "epochs" in net.info


def test_windows_are_searched_most_promising_first():
    from qtandem.compile.search import _by_promise

    pieces = [([("h", (0,), None)], [0]),  # no rewrite applies
              ([("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None)], [0, 1, 2]),
              ([("cx", (0, 1), None)], [0, 1])]

    def score(window, ops, acts):
        return np.array([float(len(window))] * len(acts))

    assert _by_promise(pieces, score, True) == [1, 2, 0]
    assert _by_promise(pieces, score, False) == [0, 1, 2]


def _adder_like(seed: int) -> Circuit:
    from qtandem.compile.train_policy import generate_circuits

    out = Circuit(6)
    for c in generate_circuits(4, seed=seed, min_qubits=6, max_qubits=6, min_gates=10, max_gates=14):
        for inst in c:
            out.append(inst)
    return out


def test_search_returns_one_type_with_stats():
    c = Circuit(3).cx(0, 1).cx(1, 2).cx(0, 1)
    result = search(c, seed=0, policy="random", budget_expansions=50)
    assert isinstance(result, SearchResult)
    assert isinstance(result.circuit, Circuit) and result.stats.expansions <= 50
    assert result.stats.budget_expansions == 50 and result.stats.policy == "random"


def test_expansion_budget_binds_and_is_machine_independent(monkeypatch):
    """Same seed and expansion budget: the same circuit, however fast the clock runs (budget_s far away)."""
    import time

    c = _adder_like(seed=2)
    ref = search(c, seed=5, policy="learned", budget_expansions=150)
    assert ref.stats.stopped == "expansions" and ref.stats.expansions == 150
    clock = [0.0]

    def fast_clock() -> float:  # every call is a second later: a machine 1000s of times slower
        clock[0] += 1.0
        return clock[0]

    monkeypatch.setattr(time, "perf_counter", fast_clock)
    slow = search(c, seed=5, policy="learned", budget_expansions=150, budget_s=1e12)
    assert slow.stats.stopped == "expansions" and slow.stats.expansions == 150
    assert slow.circuit == ref.circuit
    # the time bound still binds when it comes first, and says so
    short = search(c, seed=5, policy="learned", budget_expansions=10 ** 6, budget_s=50)
    assert short.stats.stopped == "time" and short.stats.expansions < ref.stats.expansions
    assert same_unitary(c, short.circuit)


def test_default_budget_scales_with_the_circuit():
    from qtandem.compile.search import default_budget_expansions

    c = _adder_like(seed=3)
    result = search(c, seed=0, policy="random")
    assert result.stats.budget_expansions == default_budget_expansions(c.num_gates())
    assert default_budget_expansions(10) < default_budget_expansions(1000) <= 30000


def test_optimize_level3_is_reproducible_with_a_slowed_clock(monkeypatch):
    import time

    c = _adder_like(seed=4)
    ref, _ = optimize(c, level=3, seed=1, budget_expansions=200)
    clock = [0.0]

    def fast_clock() -> float:
        clock[0] += 0.5
        return clock[0]

    monkeypatch.setattr(time, "perf_counter", fast_clock)
    again, report = optimize(c, level=3, seed=1, budget_expansions=200)
    assert again == ref
    assert any("stopped: " in note for note in report.notes)


def test_rule_prior_ranks_by_rule_and_breaks_ties_by_seed():
    rates = [0.0] * len(RULES)
    rates[RULES.index("cx_triangle")] = 0.9
    prior = RulePrior(rates, seed=0)
    w = [("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None)]
    acts = actions(w)
    best = acts[int(np.argmax(prior.score_actions(w, None, acts)))]
    assert RULES[best[0]] == "cx_triangle"
    again = RulePrior(rates, seed=0).score_actions(w, None, acts)
    np.testing.assert_array_equal(again, RulePrior(rates, seed=0).score_actions(w, None, acts))
    fitted = RulePrior.from_labels([0, 0, 1, 1, 1], [1, 0, 1, 1, 1])
    assert fitted.rates[0] == 0.5 and fitted.rates[1] == 1.0 and fitted.rates[2] == 0.0


def test_rule_prior_hit_probability_is_exact():
    # rules 1 (rate .5) x2, rule 0 (.2) x1, rule 2 (.1) x1; good: one of the two rule-1 rewrites
    assert RulePrior.hit_probability([0, 1, 1, 2], [0, 1, 0, 0], k=1, rates=[0.2, 0.5, 0.1]) == 0.5
    assert RulePrior.hit_probability([0, 1, 1, 2], [0, 1, 0, 0], k=2, rates=[0.2, 0.5, 0.1]) == 1.0
    assert RulePrior.hit_probability([0, 1, 1, 2], [1, 0, 0, 0], k=3, rates=[0.2, 0.5, 0.1]) == 1.0
    assert RulePrior.hit_probability([0, 1, 1, 2], [0, 0, 0, 1], k=3, rates=[0.2, 0.5, 0.1]) == 0.0
    # against sampling the prior's own scores (random tie-breaks): rule 1 x2 first, then 1 of the 3 rule-0 rewrites
    rules, labels = [0, 0, 0, 1, 1], [0, 1, 0, 0, 0]
    prior = RulePrior([0.3, 0.6] + [0.0] * (len(RULES) - 2), seed=1)
    acts = [(r, i) for i, r in enumerate(rules)]
    sampled = np.mean([max(labels[int(i)] for i in np.argsort(-prior.score_actions([], None, acts))[:3])
                       for _ in range(3000)])
    exact = RulePrior.hit_probability(rules, labels, k=3, rates=prior.rates)
    assert exact == pytest.approx(1 / 3) and sampled == pytest.approx(exact, abs=0.04)


def test_shipped_prior_loads():
    prior = RulePrior.pretrained(seed=0)
    assert prior.rates.shape == (len(RULES),) and 0 <= prior.rates.min() <= prior.rates.max() <= 1
