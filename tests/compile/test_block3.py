"""Three-qubit synthesis (qtandem.compile.qsd) and the block pass (passes/block3.py), against dense unitaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import unitary_group

from qtandem import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.compile.dag import to_ops
from qtandem.compile.passes.block3 import ThreeQubitResynthesis, collect_blocks3
from qtandem.compile.passmanager import PropertySet
from qtandem.compile.qsd import synth_3q, word_cx, word_matrix
from qtandem.compile.verify import verify_equivalent
from qtandem.errors import CompileError
from qtandem.sim import unitary
from qtandem.sim.dense import dense_unitary, equal_up_to_phase


def _u(ops: list) -> np.ndarray:
    return dense_unitary([(qs, gate_matrix(name, list(params)).numpy()) for name, qs, params in ops], 3)


def _circuit_u(c: Circuit) -> np.ndarray:
    return np.asarray(unitary(c))


@pytest.mark.parametrize("seed", range(8))
def test_qsd_random_unitaries(seed: int) -> None:
    u = unitary_group.rvs(8, random_state=seed)
    form, word = synth_3q(u)
    assert form == "qsd"
    assert word_cx(word) == 20  # KAK 3 + three 2-CX up to diagonal (6) + two multiplexed rz (8) + ry multiplexor (3)
    assert equal_up_to_phase(word_matrix(word), u, 1e-7)


@pytest.mark.parametrize(("name", "ops", "form", "cx"), [
    ("toffoli", [("ccx", (0, 1, 2), ())], "conjugated", 6),
    ("toffoli, target 0", [("ccx", (2, 1, 0), ())], "conjugated", 6),
    ("ccz", [("ccz", (0, 1, 2), ())], "cnot_dihedral", 6),
    ("fredkin", [("cswap", (0, 1, 2), ())], "conjugated", 8),
])
def test_special_forms(name: str, ops: list, form: str, cx: int) -> None:
    u = _u(ops)
    got_form, word = synth_3q(u)
    assert (got_form, word_cx(word)) == (form, cx)
    assert equal_up_to_phase(word_matrix(word), u, 1e-7)


def test_controlled_rzz_is_a_four_cx_phase_polynomial() -> None:
    # rzz(0.7) on qubits 1, 2 when qubit 0 is 1
    u = np.diag([np.exp(-0.35j * (1 if (x >> 1 & 1) == (x >> 2 & 1) else -1)) if x & 1 else 1.0 for x in range(8)])
    form, word = synth_3q(u)
    assert (form, word_cx(word)) == ("cnot_dihedral", 4)
    assert equal_up_to_phase(word_matrix(word), u, 1e-7)


def test_random_diagonal_is_a_six_cx_phase_polynomial() -> None:
    rng = np.random.default_rng(5)
    u = np.diag(np.exp(1j * rng.uniform(-math.pi, math.pi, 8)))
    form, word = synth_3q(u)
    assert (form, word_cx(word)) == ("cnot_dihedral", 6)  # 2^n - 2: Gray code over the four multi-qubit parities
    assert equal_up_to_phase(word_matrix(word), u, 1e-7)


def test_sparse_diagonal_and_linear_part() -> None:
    # a CX network with one rz: the phase polynomial needs only the parities it shows
    c = Circuit(3).cx(0, 1).rz(0.4, 1).cx(1, 2).x(2)
    form, word = synth_3q(_circuit_u(c))
    assert form == "cnot_dihedral"
    assert word_cx(word) == 2
    assert equal_up_to_phase(word_matrix(word), _circuit_u(c), 1e-7)


def test_phase_branch_cut_does_not_cost_cx() -> None:
    # cz on (0, 1) with a global phase of -1: entries at angle pi and -pi, still one parity pair
    u = -_u([("cz", (0, 1), ()), ("rz", (2,), (0.3,))])
    _, word = synth_3q(u)
    assert word_cx(word) <= 2
    assert equal_up_to_phase(word_matrix(word), u, 1e-7)


def test_two_qubit_times_one_qubit_and_multiplexor() -> None:
    v = unitary_group.rvs(4, random_state=2)
    a = unitary_group.rvs(2, random_state=3)
    local2 = dense_unitary([((0, 2), v), ((1,), a)], 3)
    form, word = synth_3q(local2)
    assert (form, word_cx(word)) == ("local2", 3)
    assert equal_up_to_phase(word_matrix(word), local2, 1e-7)
    ctrl_v = dense_unitary([((1, 2, 0), np.block([[np.eye(4), np.zeros((4, 4))], [np.zeros((4, 4)), v]]))], 3)
    form, word = synth_3q(ctrl_v)
    assert form == "multiplexor"
    assert word_cx(word) <= 9
    assert equal_up_to_phase(word_matrix(word), ctrl_v, 1e-7)


def test_synth_3q_rejects_bad_input() -> None:
    with pytest.raises(CompileError, match="8x8 unitary"):
        synth_3q(np.ones((8, 8)))
    with pytest.raises(CompileError, match="no three-qubit form within 5 CX"):
        synth_3q(unitary_group.rvs(8, random_state=0), max_cx=5)


def test_collect_blocks3_merges_and_closes() -> None:
    c = Circuit(4).h(0).cx(0, 1).cx(2, 3).cx(1, 2).t(1).cx(0, 1).cx(1, 3)
    blocks = collect_blocks3(to_ops(c))
    # cx(1, 2) joins {0, 1} and {2, 3}: 4 qubits, so both close and {1, 2} opens; cx(0, 1) grows it to {0, 1, 2}
    assert blocks == [((0, 1, 2), [3, 4, 5])]
    # a block's ops are contiguous on each of its wires: nothing outside touches them in between
    ops = to_ops(c)
    for qs, idx in blocks:
        for q in qs:
            on_q = [i for i, op in enumerate(ops) if q in op.qubits]
            mine = [i for i in idx if q in ops[i].qubits]
            if mine:
                start = on_q.index(mine[0])
                assert on_q[start:start + len(mine)] == mine


def _random_circuit(n: int, m: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(m):
        r = rng.random()
        if r < 0.45:
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            c.cx(a, b)
        elif r < 0.5:
            a, b, t = (int(q) for q in rng.choice(n, 3, replace=False))
            c.ccx(a, b, t)
        else:
            q = int(rng.integers(n))
            g = str(rng.choice(["h", "t", "rz", "sx", "x"]))
            if g == "rz":
                c.rz(float(rng.uniform(-3, 3)), q)
            else:
                getattr(c, g)(q)
    return c


def _cx_cost(c: Circuit) -> int:
    ops = c.count_ops()
    return ops.get("cx", 0) + 6 * ops.get("ccx", 0)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("objective", ["cx", "gates"])
def test_pass_on_random_circuits_is_exact_and_never_worse(seed: int, objective: str) -> None:
    n = 3 + seed % 3
    c = _random_circuit(n, 50, seed)
    p = ThreeQubitResynthesis("nam" if seed % 2 else "zsx", min_cx=3)
    out = p.run(c, PropertySet(objective=objective))
    assert equal_up_to_phase(_circuit_u(out), _circuit_u(c), 1e-6)
    before, after = (_cx_cost(c), c.num_gates()), (_cx_cost(out), out.num_gates())
    if objective == "gates":
        before, after = before[::-1], after[::-1]
    assert after <= before
    assert (after < before) == (p.stats["replaced"] > 0)
    verify_equivalent(c, out)


def test_pass_wins_on_a_long_three_qubit_block() -> None:
    c = _random_circuit(3, 120, 99)
    out = ThreeQubitResynthesis("zsx").run(c, PropertySet(objective="cx"))
    assert out.count_ops()["cx"] == 20
    assert set(out.count_ops()) <= {"cx", "rz", "sx", "x"}
    assert equal_up_to_phase(_circuit_u(out), _circuit_u(c), 1e-6)


def test_pass_cache_and_bound() -> None:
    block = Circuit(4).ccx(0, 1, 2).cx(0, 1).ccx(0, 1, 2)
    c = Circuit(4)
    for _ in range(3):
        c = c.compose(block).cx(2, 3).cx(2, 3)  # cx(2, 3) spans a fourth qubit and closes the block
    p = ThreeQubitResynthesis("nam", max_blocks=1)
    out = p.run(c, PropertySet(objective="cx"))
    assert p.stats["synthesized"] == 1  # one synthesis, the cache answers the rest
    assert p.stats["replaced"] == 3
    assert equal_up_to_phase(_circuit_u(out), _circuit_u(c), 1e-6)
    with pytest.raises(CompileError, match="style must be one of"):
        ThreeQubitResynthesis("u3")


def test_level3_uses_the_pass() -> None:
    from qtandem.compile.optimize import optimize

    rng = np.random.default_rng(7)
    c = Circuit(3)
    for _ in range(40):
        a, b = (int(q) for q in rng.choice(3, 2, replace=False))
        c.h(a).rz(float(rng.uniform(-3, 3)), b).cx(a, b).rz(float(rng.uniform(-3, 3)), a)
    out, _ = optimize(c, level=3, objective="cx", policy=None, seed=0)
    assert out.count_ops()["cx"] <= 20  # a generic three-qubit block: the two-qubit passes alone cannot get here
    assert equal_up_to_phase(_circuit_u(out), _circuit_u(c), 1e-6)


def test_local2_uses_the_minimal_two_qubit_count() -> None:
    # rxx(0.3) rzz(0.5) on (1, 2) has Weyl c3 = 0 (2 CX), times ry on qubit 0
    c = Circuit(3).rxx(0.3, 1, 2).rzz(0.5, 1, 2).ry(0.7, 0)
    form, word = synth_3q(_circuit_u(c))
    assert (form, word_cx(word)) == ("local2", 2)
    assert equal_up_to_phase(word_matrix(word), _circuit_u(c), 1e-7)


@pytest.mark.parametrize("style", ["u", "zxz"])
def test_every_one_qubit_style(style: str) -> None:
    c = _random_circuit(3, 120, 99)
    out = ThreeQubitResynthesis(style).run(c, PropertySet(objective="cx"))
    assert out.count_ops()["cx"] == 20
    assert set(out.count_ops()) <= ({"cx", "u"} if style == "u" else {"cx", "rz", "rx", "x"})
    assert equal_up_to_phase(_circuit_u(out), _circuit_u(c), 1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_clifford_t_blocks_stay_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = Circuit(3)
    for _ in range(60):
        a, b = (int(q) for q in rng.choice(3, 2, replace=False))
        [c.h, c.t, c.tdg, c.s][int(rng.integers(4))](a)
        c.cx(a, b)
    out = ThreeQubitResynthesis("nam").run(c, PropertySet(objective="cx"))
    for inst in out:
        for angle in inst.params:
            assert abs(float(angle) / (math.pi / 4) - round(float(angle) / (math.pi / 4))) < 1e-9
    assert equal_up_to_phase(_circuit_u(out), _circuit_u(c), 1e-6)


def test_level3_basis_u_does_not_crash() -> None:
    # regression: level 3 with basis "u" gave the pass style "u", which it rejected (CompileError)
    from qtandem.compile.optimize import optimize

    c = _random_circuit(3, 40, 3)
    out, _ = optimize(c, level=3, basis="u", policy=None, seed=0)
    assert set(out.count_ops()) <= {"cx", "u"}
    assert equal_up_to_phase(_circuit_u(out), _circuit_u(c), 1e-6)
