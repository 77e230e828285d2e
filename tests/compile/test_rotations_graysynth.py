"""GraySynth: known phase polynomials, seeded random {cx, x, rz} circuits, cost never worse, idempotence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.compile.compile_helpers import same_unitary

from qtandem import Circuit
from qtandem.compile.dag import to_ops
from qtandem.compile.passes.graysynth import GraySynth, _regions, graysynth, synth_linear
from qtandem.compile.verify import verify_equivalent


def naive_phase_circuit(n: int, terms: list[tuple[int, float]]) -> Circuit:
    """Each parity computed onto its lowest wire by a cx ladder, rotated, and uncomputed."""
    c = Circuit(n)
    for mask, theta in terms:
        bits = [q for q in range(n) if mask >> q & 1]
        for q in bits[1:]:
            c.cx(q, bits[0])
        c.rz(theta, bits[0])
        for q in reversed(bits[1:]):
            c.cx(q, bits[0])
    return c


def random_region_circuit(n: int, n_gates: int, seed: int, *, others: bool = False) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(n_gates):
        r = rng.random()
        a, b = (int(q) for q in rng.permutation(n)[:2])
        if r < 0.45:
            c.cx(a, b)
        elif r < 0.8:
            c.rz(float(rng.choice([0.3, -0.7, math.pi / 4, 1.1])), a)
        elif r < 0.88:
            c.x(a)
        elif r < 0.94 or not others:
            c.append(str(rng.choice(["t", "s", "tdg", "z"])), [a])
        else:
            c.append(str(rng.choice(["h", "sx"])), [a])
    return c


def test_ccz_phase_polynomial_reaches_six_cx() -> None:
    terms = [(m, math.pi / 4 * (-1) ** bin(m).count("1")) for m in range(1, 8)]
    c = naive_phase_circuit(3, terms)
    assert c.count_ops()["cx"] == 10
    out = GraySynth().run(c)
    assert out.count_ops() == {"rz": 7, "cx": 6}   # the known optimum for CCZ's phase polynomial
    assert same_unitary(c, out)


def test_all_parities_of_four_variables() -> None:
    gates, state = graysynth([(m, 0.1 * m) for m in range(1, 16)], 4)
    cx = [g for g in gates if g[0] == "cx"]
    assert len(cx) == 11                           # one cx per non-singleton parity: a Gray-code walk
    assert len(synth_linear(state, [1, 2, 4, 8], 4)) == 3


def test_synth_linear_gives_the_map() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        c = Circuit(5)
        for _ in range(12):
            a, b = (int(q) for q in rng.permutation(5)[:2])
            c.cx(a, b)
        state = [1 << q for q in range(5)]
        for i in c:
            state[i.qubits[1]] ^= state[i.qubits[0]]
        rebuilt = Circuit(5)
        for ctl, tgt in synth_linear([1, 2, 4, 8, 16], state, 5):
            rebuilt.cx(ctl, tgt)
        assert same_unitary(c, rebuilt)


def test_kept_only_when_cheaper() -> None:
    c = Circuit(2).cx(0, 1).rz(0.3, 1).cx(0, 1)        # already optimal
    assert GraySynth().run(c) == c
    c = Circuit(2).cx(0, 1).rz(0.3, 0)                 # one cx: never touched
    assert GraySynth().run(c) == c


def test_clifford_t_region_keeps_clifford_t_gates() -> None:
    c = naive_phase_circuit(3, [(3, math.pi / 4), (5, -math.pi / 4), (6, math.pi / 4), (7, -math.pi / 4)])
    out = GraySynth().run(c)
    assert {i.name for i in out} <= {"cx", "t", "tdg", "s", "sdg", "z", "rz"}
    assert same_unitary(c, out)


@pytest.mark.parametrize("objective", ["gates", "cx"])
@pytest.mark.parametrize("seed", range(8))
def test_random_regions_equivalent_never_worse(seed: int, objective: str) -> None:
    n = 3 + seed % 3
    c = random_region_circuit(n, 60, seed, others=seed % 2 == 1)
    props = {"objective": objective}
    out = GraySynth(objectives=None).run(c, props)
    before = (c.count_ops().get("cx", 0), c.num_gates())
    after = (out.count_ops().get("cx", 0), out.num_gates())
    if objective == "gates":
        before, after = before[::-1], after[::-1]
    assert after <= before
    assert same_unitary(c, out)
    verify_equivalent(c, out)
    assert GraySynth(objectives=None).run(out, props) == out


def test_objectives_select_when_it_acts() -> None:
    c = random_region_circuit(4, 80, 2)
    assert GraySynth().run(c, {"objective": "gates"}) == c
    assert GraySynth().run(c, {"objective": "cx"}).count_ops()["cx"] < c.count_ops()["cx"]
    assert GraySynth().run(c).count_ops()["cx"] < c.count_ops()["cx"]    # no objective given: acts (gates first)


def test_random_regions_improve() -> None:
    saved = 0
    for seed in range(6):
        c = random_region_circuit(4, 80, seed)
        saved += c.count_ops()["cx"] - GraySynth().run(c, {"objective": "cx"}).count_ops()["cx"]
    assert saved > 20


def test_regions_are_bounded_and_closed_by_other_gates() -> None:
    c = random_region_circuit(6, 2000, 1, others=True)
    ops = to_ops(c)
    regions = _regions(ops, 6, 50, 4)
    assert all(len(r) <= 50 and len({q for i in r for q in ops[i].qubits}) <= 4 for r in regions)
    assert sum(len(r) for r in regions) == sum(1 for i in c if i.name not in ("h", "sx"))
    out = GraySynth(max_gates=50, max_wires=4).run(c, {"objective": "cx"})
    verify_equivalent(c, out)


def test_non_unitary_and_symbolic_gates_close_regions() -> None:
    from qtandem import Parameter
    from qtandem.compile.passes.rotation_merge import RotationMerge

    theta = Parameter("theta")
    c = Circuit(3, 1).cx(0, 1).rz(0.2, 1).cx(0, 1).measure(1, 0).cx(0, 1).rz(theta, 1).cx(0, 1)
    c.barrier().cx(1, 2).rz(0.3, 2).reset(0).cx(1, 2).rz(0.1, 1)
    for p in (GraySynth(objectives=None), RotationMerge(frame=True)):
        out = p.run(c)
        assert [i.name for i in out if not i.is_gate] == [i.name for i in c if not i.is_gate]
        assert sum(1 for i in out if i.is_parametrized) == 1
    assert GraySynth(objectives=None).run(Circuit(0)) == Circuit(0)
    assert RotationMerge(frame=True).run(Circuit(0)) == Circuit(0)


def test_optimize_level3_cx_objective_uses_graysynth() -> None:
    from qtandem.compile import optimize

    c = Circuit(4)
    for q in range(4):
        c.h(q)
    for a in range(4):
        for b in range(a + 1, 4):
            c.cx(a, b).rz(0.3 + a + b, b).cx(a, b)       # a ZZ layer on the complete graph: 12 cx
    for q in range(4):
        c.h(q)
    out, _ = optimize(c, level=3, objective="cx", policy=None)
    assert out.count_ops()["cx"] <= 9
    assert same_unitary(c, out)


def test_diagonal_u_gates_are_phases() -> None:
    terms = [(m, 0.3 * m) for m in (3, 5, 6, 7)]
    c = Circuit(3)
    for i in naive_phase_circuit(3, terms):
        if i.name == "rz":
            c.u(0.0, 0.1, float(i.params[0]) - 0.1, i.qubits[0])      # diag(1, e^{i theta}): rz up to phase
        else:
            c.append(i)
    c.u(0.4, 0.1, 0.2, 0)                                              # not diagonal: closes the region on wire 0
    out = GraySynth(objectives=None).run(c)
    assert out.count_ops()["cx"] < c.count_ops()["cx"]
    assert set(out.count_ops()) == {"cx", "u"}
    assert same_unitary(c, out)
    verify_equivalent(c, out)
