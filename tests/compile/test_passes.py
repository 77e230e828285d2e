"""Every pass: exact outputs on hand-written cases, equivalence on random circuits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from compile_helpers import circuits, same_unitary
from hypothesis import given, settings

from qtandem import Circuit
from qtandem.compile.passes.basis import BasisTranslation, resolve_basis
from qtandem.compile.passes.cancellation import GateCancellation
from qtandem.compile.passes.hadamard import HadamardReduction
from qtandem.compile.passes.phase_folding import PhaseFolding, phase_word
from qtandem.compile.passes.resynth_1q import Resynthesis1Q
from qtandem.compile.synth1q import equal_up_to_phase, matrix_1q, synth_1q
from qtandem.errors import CompileError

PI4 = math.pi / 4


def _names(c: Circuit) -> list[tuple[str, tuple[int, ...]]]:
    return [(i.name, i.qubits) for i in c]


# -- cancellation ---------------------------------------------------------------
def test_cancellation_commutes_rz_through_control_and_x_through_target() -> None:
    c = Circuit(2).cx(0, 1).rz(0.3, 0).x(1).cx(0, 1).rz(0.2, 0)
    out = GateCancellation().run(c)
    assert _names(out) == [("x", (1,)), ("rz", (0,))]
    assert out[1].params[0] == pytest.approx(0.5)


def test_cancellation_blocked_by_non_commuting_gate() -> None:
    c = Circuit(2).cx(0, 1).h(1).cx(0, 1)
    assert GateCancellation().run(c) == c
    c = Circuit(2).cx(0, 1).cx(1, 0).cx(0, 1)
    assert GateCancellation().run(c) == c


def test_cancellation_pairs_and_zero_rotations() -> None:
    c = Circuit(3).h(0).h(0).t(1).tdg(1).cx(0, 2).cx(1, 2).cx(0, 2).rz(2 * math.pi, 1).s(2).sdg(2)
    assert _names(GateCancellation().run(c)) == [("cx", (1, 2))]


# -- phase folding --------------------------------------------------------------
def test_phase_folding_merges_equal_parities_across_cx() -> None:
    c = Circuit(2).cx(0, 1).t(1).cx(0, 1).cx(1, 0).t(0).cx(1, 0)
    out = PhaseFolding().run(c)
    assert out.count_ops() == {"cx": 4, "s": 1}
    assert _names(out)[1] == ("s", (1,))
    assert same_unitary(c, out)


def test_phase_folding_affine_x_flips_sign() -> None:
    c = Circuit(1).rz(PI4, 0).x(0).rz(PI4, 0).x(0)
    out = PhaseFolding().run(c)
    assert out.count_ops() == {"x": 2}
    assert same_unitary(c, out)


def test_phase_folding_h_is_a_fresh_variable_and_placement_last() -> None:
    assert PhaseFolding().run(Circuit(1).t(0).h(0).t(0).h(0).t(0)).count_ops() == {"t": 3, "h": 2}
    c = Circuit(2).cx(0, 1).t(1).h(0).cx(0, 1).cx(1, 0).t(0).cx(1, 0)  # both t see x0 + x1
    out = PhaseFolding().run(c)
    assert _names(out)[:3] == [("cx", (0, 1)), ("s", (1,)), ("h", (0,))] and out.count_ops()["cx"] == 4
    last = PhaseFolding(placement="last").run(c)
    assert _names(last)[-2:] == [("s", (0,)), ("cx", (1, 0))] and "t" not in last.count_ops()
    assert same_unitary(c, out) and same_unitary(c, last)
    with pytest.raises(CompileError, match="placement"):
        PhaseFolding(placement="middle")


def test_phase_word() -> None:
    assert phase_word(math.pi) == ["z"]
    assert phase_word(-3 * PI4) == ["sdg", "tdg"]
    assert phase_word(2 * math.pi) == []
    assert phase_word(0.1) is None
    assert phase_word(-math.pi + 1e-15) == ["z"]  # rounds to -4 quarter turns: same as +4


def test_phase_folding_floats_a_rotation_out_of_a_cx_pair() -> None:
    # the merged t+t on x0+x1 would sit between the two cx(0, 1); x0+x1 also lives on wire 0 after cx(1, 0)
    c = Circuit(2).cx(0, 1).t(1).t(1).cx(0, 1).cx(1, 0)
    out = PhaseFolding(placement="smart").run(c)
    assert same_unitary(c, out)
    first = PhaseFolding(placement="first").run(c)
    assert _names(GateCancellation().run(out)) == [("cx", (1, 0)), ("s", (0,))]
    assert GateCancellation().run(first).count_ops()["cx"] == 3


# -- Hadamard reduction ---------------------------------------------------------
def test_hadamard_rules() -> None:
    c = Circuit(2).h(0).h(1).cx(0, 1).h(0).h(1)
    assert _names(HadamardReduction().run(c)) == [("cx", (1, 0))]
    c = Circuit(1).h(0).s(0).h(0)
    assert _names(HadamardReduction().run(c)) == [("sdg", (0,)), ("h", (0,)), ("sdg", (0,))]
    c = Circuit(2).h(1).s(1).cx(0, 1).sdg(1).h(1)
    assert _names(HadamardReduction().run(c)) == [("sdg", (1,)), ("cx", (0, 1)), ("s", (1,))]
    c = Circuit(2).h(1).rz(-math.pi / 2, 1).cx(0, 1).rz(math.pi / 2, 1).h(1)
    out = HadamardReduction().run(c)
    assert out.count_ops() == {"rz": 2, "cx": 1}
    for case in (c, Circuit(1).h(0).rz(-math.pi / 2, 0).h(0)):
        assert same_unitary(case, HadamardReduction().run(case))


# -- one-qubit synthesis --------------------------------------------------------
@pytest.mark.parametrize("style", ["nam", "zsx"])
def test_synth_1q_random_and_short_forms(style: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        z = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
        u, _ = np.linalg.qr(z)
        word = synth_1q(u, style)
        m = np.eye(2, dtype=complex)
        for g, a in word:
            m = matrix_1q(g, a) @ m
        assert equal_up_to_phase(m, u) and len(word) <= 5
    assert [g for g, _ in synth_1q(matrix_1q("x"), style)] == ["x"]
    assert [g for g, _ in synth_1q(matrix_1q("t"), style)] == ["rz"]
    with pytest.raises(CompileError, match="basis"):
        synth_1q(np.eye(2), "euler")


def test_resynthesis_exact() -> None:
    c = Circuit(2).h(0).rz(0.2, 0).rz(0.3, 0).h(0).h(0).x(0).x(0).cx(0, 1).h(1).h(1)
    out = Resynthesis1Q("nam").run(c)
    assert _names(out) == [("h", (0,)), ("rz", (0,)), ("cx", (0, 1))]
    out = Resynthesis1Q("zsx").run(Circuit(1).h(0))
    assert out.count_ops() == {"rz": 2, "sx": 1}


# -- basis translation ----------------------------------------------------------
def test_basis_translation_named_bases() -> None:
    c = Circuit(3).ccx(0, 1, 2).cz(0, 1).swap(1, 2).crz(0.4, 2, 0).y(1).u(0.1, 0.2, 0.3, 0).append("ccz", [0, 1, 2])
    for basis, gates in [("nam", {"h", "x", "cx", "rz"}), ("ibm", {"rz", "sx", "x", "cx"}),
                         ("ibm_cz", {"rz", "sx", "x", "cz"})]:
        out = BasisTranslation(basis).run(c)
        assert set(out.count_ops()) <= gates
        assert same_unitary(c, out)
    ct = Circuit(3).ccx(0, 1, 2).s(0).rz(3 * PI4, 1).cz(1, 2)
    out = BasisTranslation("clifford_t").run(ct)
    assert set(out.count_ops()) <= {"h", "s", "sdg", "t", "tdg", "x", "z", "cx"}
    assert out.count_ops()["cx"] == 7 and same_unitary(ct, out)


def test_basis_translation_errors() -> None:
    with pytest.raises(CompileError, match="not a multiple of pi/4"):
        BasisTranslation("clifford_t").run(Circuit(1).rz(0.3, 0))
    with pytest.raises(CompileError, match="unknown basis 'nam2'"):
        BasisTranslation("nam2")
    with pytest.raises(CompileError, match="no named basis contains"):
        resolve_basis({"ccx", "h"})
    with pytest.raises(CompileError, match=r"unitary on 3 qubits has no rule"):  # cu translates now (KAK)
        BasisTranslation("nam").run(Circuit(3).unitary(np.kron(np.eye(4), [[0, 1], [1, 0]]) @ np.diag(
            np.exp(1j * np.arange(8))), [0, 1, 2]))


# -- equivalence on random circuits -----------------------------------------------
PASSES = [GateCancellation(), PhaseFolding(), PhaseFolding(placement="last"), HadamardReduction(),
          Resynthesis1Q("nam"), Resynthesis1Q("zsx"), BasisTranslation("nam"), BasisTranslation("ibm"),
          BasisTranslation("ibm_cz")]


def _pass_id(p: object) -> str:
    return f"{p.name}-{getattr(p, 'placement', getattr(p, 'style', getattr(p, 'basis', '')))}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("p", PASSES, ids=_pass_id)
@settings(max_examples=40, deadline=None)
@given(c=circuits(n=3))
def test_pass_preserves_unitary(p: object, c: Circuit) -> None:
    out = p.run(c)  # type: ignore[attr-defined]
    assert same_unitary(c, out)


@settings(max_examples=40, deadline=None)
@given(c=circuits(n=4, max_gates=40, nam=True))
def test_nam_pipeline_preserves_unitary_and_gate_set(c: Circuit) -> None:
    out = c
    for p in (HadamardReduction(), GateCancellation(), PhaseFolding(), GateCancellation(), Resynthesis1Q("nam")):
        out = p.run(out)
    assert set(out.count_ops()) <= {"h", "x", "cx", "rz"}
    assert out.num_gates() <= c.num_gates()
    assert same_unitary(c, out)


# -- Toffoli decompositions -----------------------------------------------------
def test_toffoli_pairs_use_relative_phase() -> None:
    from qtandem.compile.passes.toffoli import ToffoliDecomposition

    pair = Circuit(4).ccx(0, 1, 2).cx(2, 3).t(0).ccx(1, 0, 2)
    out = ToffoliDecomposition("nam").run(pair)
    assert out.count_ops()["cx"] == 7 and sum(1 for i in out if i.name == "rz") == 8
    assert same_unitary(pair, out)
    blocked = Circuit(4).ccx(0, 1, 2).cx(3, 2).ccx(0, 1, 2)  # x-type on the target in between
    out = ToffoliDecomposition("clifford_t").run(blocked)
    assert out.count_ops()["cx"] == 13 and out.count_ops()["t"] + out.count_ops()["tdg"] == 14
    assert same_unitary(blocked, out)
    with pytest.raises(CompileError, match="style"):
        ToffoliDecomposition("ibm")


@settings(max_examples=30, deadline=None)
@given(c=circuits(n=4, max_gates=20))
def test_toffoli_random(c: Circuit) -> None:
    from qtandem.compile.passes.toffoli import ToffoliDecomposition

    out = ToffoliDecomposition("nam").run(c)
    assert "ccx" not in out.count_ops() and same_unitary(c, out)


# -- two-qubit KAK ------------------------------------------------------------------
def test_kak_word_reproduces_random_and_special_unitaries() -> None:
    from qtandem.compile.kak import kak_word, word_matrix

    rng = np.random.default_rng(11)
    specials = [np.eye(4), np.eye(4)[[0, 2, 1, 3]], np.diag([1, 1, 1, -1]), np.eye(4)[[0, 3, 2, 1]]]
    randoms = [np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0] for _ in range(40)]
    for u in specials + randoms:
        word = kak_word(u)
        assert sum(1 for k, _, _ in word if k == "cx") == 3
        assert equal_up_to_phase(word_matrix(word), u, 1e-7)
    with pytest.raises(CompileError, match="4x4 unitary"):
        kak_word(np.ones((4, 4)))


def test_kak_pass_replaces_only_when_cheaper() -> None:
    from qtandem.compile.passes.kak import TwoQubitResynthesis

    c = Circuit(3).h(2).cx(0, 1).rz(0.3, 1).cx(1, 0).rz(0.2, 0).cx(0, 1).h(0).cx(1, 0).rz(0.1, 1).cx(0, 1).cx(2, 1)
    out = TwoQubitResynthesis("nam").run(c, {"objective": "cx"})  # type: ignore[arg-type]
    assert out.count_ops()["cx"] == 3 and same_unitary(c, out)  # the 5-CX block has Weyl c3 = 0: 2 CX
    assert out[len(out) - 1].name == "cx" and out[len(out) - 1].qubits == (2, 1)
    small = Circuit(2).cx(0, 1).rz(0.3, 1).cx(0, 1)
    assert TwoQubitResynthesis("nam").run(small) == small
    assert TwoQubitResynthesis("zsx", min_cx=1).run(small).count_ops()["cx"] == 2  # 3-CX form is not cheaper


@settings(max_examples=25, deadline=None)
@given(c=circuits(n=3, max_gates=30))
def test_kak_random(c: Circuit) -> None:
    from qtandem.compile.passes.kak import TwoQubitResynthesis

    out = TwoQubitResynthesis("nam", min_cx=2).run(c)
    assert same_unitary(c, out)


# -- Toffoli recognition ----------------------------------------------------------
def test_toffoli_recognition_folds_standard_circuits() -> None:
    from qtandem.compile.passes.toffoli_recognition import ToffoliRecognition

    c = Circuit(4).ccx(0, 1, 2).cx(2, 3).ccx(1, 0, 2).ccx(0, 3, 2).append("ccz", [1, 2, 3])
    nam = BasisTranslation("nam").run(c)
    out = ToffoliRecognition().run(nam)
    assert out.count_ops() == {"ccx": 3, "cx": 1, "ccz": 1} and same_unitary(c, out)
    # h h between Toffolis on one target dropped, as in the Nam suite files
    pair = BasisTranslation("nam").run(Circuit(3).ccx(0, 1, 2).ccx(0, 1, 2))
    ops = list(pair)
    idx = [i for i, g in enumerate(ops) if g.name == "h"]
    del ops[idx[2]]
    del ops[idx[1]]
    dropped = Circuit(3)
    for g in ops:
        dropped.append(g)
    assert ToffoliRecognition().run(dropped).count_ops() == {"ccx": 2}
    broken = Circuit(3).cx(1, 2).t(2).cx(0, 2).t(2).cx(1, 2).tdg(2).cx(0, 2).t(2)  # right shape, not a CCZ
    assert ToffoliRecognition().run(broken) == broken


@settings(max_examples=30, deadline=None)
@given(c=circuits(n=4, max_gates=16))
def test_toffoli_recognition_random(c: Circuit) -> None:
    from qtandem.compile.passes.toffoli_recognition import ToffoliRecognition

    nam = BasisTranslation("nam").run(c)
    out = ToffoliRecognition().run(nam)
    assert same_unitary(c, out)


# -- NOT propagation ----------------------------------------------------------------
def test_not_propagation_exact_and_random() -> None:
    from qtandem.compile.passes.not_propagation import NotPropagation

    c = Circuit(3).x(0).cx(0, 1).t(0).x(1).cx(0, 1).x(0).h(2).x(2).h(2)
    out = NotPropagation().run(c)
    assert _names(out) == [("cx", (0, 1)), ("tdg", (0,)), ("cx", (0, 1)), ("h", (2,)), ("x", (2,)), ("h", (2,)),
                           ("x", (1,))]
    assert same_unitary(c, out)


@settings(max_examples=40, deadline=None)
@given(c=circuits(n=3, max_gates=30))
def test_not_propagation_random(c: Circuit) -> None:
    from qtandem.compile.passes.not_propagation import NotPropagation

    assert same_unitary(c, NotPropagation().run(c))
