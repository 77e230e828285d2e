"""The rewrite search on rotation-heavy circuits: continuous-angle rules in the {rz, sx, x, cx}, {u, cx} and Nam
window styles, the retrained policy, and the throughput counters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.compile.compile_helpers import same_unitary

from qtandem import Circuit
from qtandem.compile.generate import BASES as BASIS_GATES
from qtandem.compile.generate import generate
from qtandem.compile.policy import _graph_arrays, featurize, pretrained_policy
from qtandem.compile.rules import (
    RULES,
    STYLE_GATES,
    STYLES,
    _equal_up_to_phase,
    _window_unitary,
    actions,
    apply_action,
    check_rules,
    cleanup,
)
from qtandem.compile.search import search, search_style, search_window, window_cost
from qtandem.compile.verify import verify_equivalent
from qtandem.errors import CompileError

PUSH, PULL = RULES.index("run_push"), RULES.index("run_pull")
ALL = lambda s, o, a: np.zeros(len(a))  # noqa: E731  (every rewrite scores the same)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_rule_is_proven_on_random_angles_in_each_style(style, seed):
    checked = check_rules(seed=seed, trials=120, style=style)
    assert checked["run_push"] > 10 and checked["run_pull"] > 10
    assert checked["cx_flip"] > 0 and checked["commute"] > 0


def test_check_rules_rejects_an_unknown_style():
    with pytest.raises(ValueError, match="unknown window style 'xyz'"):
        check_rules(style="xyz")


def test_run_push_moves_the_z_part_of_a_run_through_the_control():
    # u(0, 0, 0.7) is rz(0.7): all of it commutes through the control and merges with the u after the cx
    w = [("u", (0,), (0.0, 0.0, 0.7)), ("cx", (0, 1), None), ("u", (0,), (0.4, 0.1, 0.2))]
    assert (PUSH, 0) in actions(w)
    out = apply_action(w, (PUSH, 0), style="u")
    assert out is not None and out[0] == ("cx", (0, 1), None) and out[1][0] == "rz"
    clean = cleanup(out, 2, "u")
    assert [g for g, _, _ in clean] == ["cx", "u"]
    assert _equal_up_to_phase(_window_unitary(w, 2), _window_unitary(clean, 2))


def test_run_pull_merges_x_rotations_across_a_target_in_nam():
    # rx(0.3) = h rz(0.3) h on the target, then cx, then rx(0.4): they merge into one rx(0.7) (7 gates -> 4)
    w = [("h", (1,), None), ("rz", (1,), 0.3), ("h", (1,), None), ("cx", (0, 1), None),
         ("h", (1,), None), ("rz", (1,), 0.4), ("h", (1,), None)]
    best, _ = search_window(w, 2, ALL, max_expansions=30)
    assert window_cost(best) == (4, 1)
    assert _equal_up_to_phase(_window_unitary(w, 2), _window_unitary(best, 2))
    assert sorted(g for g, _, _ in best) == ["cx", "h", "h", "rz"]


def test_run_push_in_zsx_shortens_a_word_next_to_a_control():
    # two full zsx words around a control: the trailing rz of the first moves through the cx and merges
    word = [("rz", 0.4), ("sx", None), ("rz", 0.5), ("sx", None), ("rz", 0.9)]
    after = [("rz", 0.3), ("sx", None), ("rz", 0.2), ("sx", None), ("rz", 0.6)]
    w = [(g, (0,), a) for g, a in word] + [("cx", (0, 1), None)] + [(g, (0,), a) for g, a in after]
    best, _ = search_window(w, 2, ALL, max_expansions=40, style="zsx")
    assert window_cost(best) == (10, 1)
    assert all(g in STYLE_GATES["zsx"] for g, _, _ in best)
    assert _equal_up_to_phase(_window_unitary(w, 2), _window_unitary(best, 2))


def test_run_rules_are_not_offered_when_nothing_moves():
    # a lone sx before the target commutes on its own (the commute rule moves it); no run lands after the cx
    assert all(r not in (PUSH, PULL) for r, _ in actions([("sx", (1,), None), ("cx", (0, 1), None)]))
    assert all(r not in (PUSH, PULL) for r, _ in actions([("rz", (0,), 0.4), ("cx", (0, 1), None),
                                                         ("sx", (0,), None)]))


def test_search_style_follows_the_gate_set():
    assert search_style(generate("qaoa", 4, seed=0, basis="ibm")) == "zsx"
    assert search_style(generate("qaoa", 4, seed=0, basis="u")) == "u"
    assert search_style(generate("qaoa", 4, seed=0, basis="nam")) == "nam"
    assert search_style(Circuit(2).rx(0.3, 0).cx(0, 1)) == "nam"  # rx is not searched; it cuts the windows
    with pytest.raises(CompileError, match="unknown search style 'ibm'"):
        search(Circuit(2).cx(0, 1), style="ibm")


@pytest.mark.parametrize("basis", ["ibm", "u", "nam"])
@pytest.mark.parametrize("family", ["qaoa", "hea_cx", "trotter_ising", "random_rot"])
def test_search_on_generated_rotation_circuits_is_equivalent_in_basis_and_never_worse(basis, family):
    c = generate(family, 4, seed=11, basis=basis, depth=1)
    for policy in ("learned", "random"):
        result = search(c, seed=2, policy=policy, budget_expansions=300)
        out = result.circuit
        assert same_unitary(c, out)
        verify_equivalent(c, out)
        assert result.stats.after <= result.stats.before and out.num_gates() <= c.num_gates()
        assert {i.name for i in out} <= set(BASIS_GATES[basis])


def test_search_shortens_naive_u_circuits():
    c = generate("qaoa", 5, seed=3, basis="u", depth=1)  # one u per logical gate: runs of u to merge
    result = search(c, seed=0, policy="learned", budget_expansions=400)
    assert result.stats.style == "u" and result.stats.improved_windows > 0
    assert result.circuit.num_gates() < c.num_gates()
    assert same_unitary(c, result.circuit)


@pytest.mark.parametrize("basis", ["ibm", "u"])
def test_search_is_deterministic_for_a_seed(basis):
    c = generate("trotter_xy", 4, seed=5, basis=basis, depth=1)
    a = search(c, seed=9, policy="learned", budget_expansions=300)
    b = search(c, seed=9, policy="learned", budget_expansions=300)
    assert a.circuit == b.circuit
    assert (a.stats.expansions, a.stats.candidates, a.stats.improved_windows) == \
        (b.stats.expansions, b.stats.candidates, b.stats.improved_windows)


def test_stats_report_candidates_per_second():
    c = generate("hea_cx", 4, seed=1, basis="ibm", depth=1)
    stats = search(c, seed=0, policy="random", budget_expansions=200).stats
    assert stats.candidates > 0 and stats.search_s > 0
    assert stats.candidates_per_s == pytest.approx(stats.candidates / stats.search_s)


def test_window_search_never_returns_a_costlier_window():
    rng = np.random.default_rng(4)
    for style in STYLES:
        for _ in range(15):
            c = generate("random_rot", 3, seed=int(rng.integers(1 << 30)),
                         basis={"nam": "nam", "zsx": "ibm", "u": "u"}[style], depth=1)
            w = [(i.name, i.qubits, tuple(float(p) for p in i.params) if i.name == "u" else
                  (float(i.params[0]) if i.params else None)) for i in c][:20]
            best, _ = search_window(w, 3, ALL, max_expansions=15, style=style)
            assert window_cost(best) <= window_cost(w)
            assert _equal_up_to_phase(_window_unitary(w, 3), _window_unitary(best, 3))


def test_shipped_policy_loads_from_safetensors_with_its_rules_and_numpy_scores_match_torch():
    net = pretrained_policy()
    assert net.info["rules"] == ",".join(RULES)
    c = generate("qnn", 3, seed=2, basis="ibm", depth=1)
    w = [(i.name, i.qubits, float(i.params[0]) if i.params else None) for i in c][:24]
    acts = actions(w)
    torch_logits = net(*featurize(w)).detach().numpy()
    np_logits = net._forward_np(*_graph_arrays(w, None))
    assert np.allclose(torch_logits, np_logits, atol=1e-4)
    scores = net.score_actions(w, None, acts)
    assert scores.shape == (len(acts),) and np.all(np.isfinite(scores))
    assert math.isclose(float(scores[0]), float(torch_logits[acts[0][1], acts[0][0]]), abs_tol=1e-4)
