"""Synthesis: minimal-CX two-qubit words (Weyl chamber), one-qubit Euler forms, the {u, cx} basis."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from compile_helpers import circuits, same_unitary
from hypothesis import given, settings

from qtandem import Circuit
from qtandem.compile.kak import CX01, CX10, word_matrix
from qtandem.compile.optimize import optimize
from qtandem.compile.passes.basis import BASES, BasisTranslation
from qtandem.compile.passes.kak import TwoQubitResynthesis
from qtandem.compile.passes.resynth_1q import STYLE_GATES
from qtandem.compile.synth1q import STYLES, equal_up_to_phase, matrix_1q, snap_angle, synth_1q, synth_ops
from qtandem.compile.verify import verify_equivalent
from qtandem.compile.weyl import canonical_kak, cx_count, cx_counts, interaction, two_qubit_word, weyl_coordinates
from qtandem.errors import CompileError
from qtandem.sim import unitary

EXACT = {k * math.pi / 4 for k in range(-3, 5)} | {-math.pi / 4, -math.pi / 2, -3 * math.pi / 4, 0.0}


def _haar(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / abs(np.diag(r)))


def _local(rng: np.random.Generator) -> np.ndarray:
    return np.kron(_haar(rng, 2), _haar(rng, 2))


def _n_cx(word: list) -> int:
    return sum(kind == "cx" for kind, _, _ in word)


def _gate(name: str, *params: float) -> np.ndarray:
    return unitary(Circuit(2).append(name, [0, 1], list(params))).numpy()


# -- Weyl chamber and minimal CX counts ----------------------------------------------
SQRT_ISWAP = np.array([[1, 0, 0, 0], [0, 1, 1j, 0], [0, 1j, 1, 0], [0, 0, 0, 1]]) / np.array(
    [[1, 1, 1, 1], [1, math.sqrt(2), math.sqrt(2), 1], [1, math.sqrt(2), math.sqrt(2), 1], [1, 1, 1, 1]])


@pytest.mark.parametrize(("u", "n"), [
    (np.eye(4), 0), (np.kron(matrix_1q("h"), matrix_1q("t")), 0), (CX01, 1), (CX10, 1),
    (_gate("cz"), 1), (_gate("cp", math.pi), 1), (_gate("cy"), 1), (_gate("ch"), 1), (_gate("csx"), 2),
    (_gate("swap"), 3), (_gate("iswap"), 2), (SQRT_ISWAP, 2), (_gate("rzz", 0.3), 2), (_gate("rxx", 1.1), 2),
    (_gate("ryy", -0.4), 2), (_gate("cp", 0.3), 2), (_gate("crz", 0.7), 2), (_gate("crx", 2.0), 2),
    (CX01 @ CX10, 2), (_gate("rzz", math.pi / 2), 1), (_gate("swap") @ CX01, 2),
])
def test_known_minimal_cx_counts(u: np.ndarray, n: int) -> None:
    assert cx_count(u) == n and cx_counts(u[None]).tolist() == [n]
    word = two_qubit_word(u)
    assert _n_cx(word) == n
    assert equal_up_to_phase(word_matrix(word), u, 1e-9)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_products_of_k_cx_with_random_locals_need_exactly_k(k: int) -> None:
    rng = np.random.default_rng(100 + k)
    us = []
    for _ in range(60):
        u = _local(rng)
        for _ in range(k):
            u = (CX01 if rng.random() < 0.5 else CX10) @ _local(rng) @ u
        word = two_qubit_word(u)
        assert _n_cx(word) == k, weyl_coordinates(u)
        assert equal_up_to_phase(word_matrix(word), u, 1e-9)
        us.append(u)
    assert cx_counts(np.stack(us)).tolist() == [k] * 60  # the invariants agree with the Weyl coordinates


def test_random_unitaries_need_three_and_coordinates_are_canonical_and_local_invariant() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        u = _haar(rng, 4)
        k1, c, k2 = canonical_kak(u)
        assert math.pi / 4 + 1e-12 >= c[0] >= c[1] >= abs(c[2]) - 1e-12
        assert equal_up_to_phase(k1 @ interaction(c) @ k2, u, 1e-9)
        moved = weyl_coordinates(_local(rng) @ u @ _local(rng))
        assert np.allclose(moved, c, atol=1e-8)
        word = two_qubit_word(u)
        assert _n_cx(word) == 3 and equal_up_to_phase(word_matrix(word), u, 1e-9)


def test_mirror_classes_and_chamber_faces() -> None:
    # (a, b, c) and (a, b, -c) differ unless a = pi/4; on that face c3 >= 0
    assert weyl_coordinates(interaction((0.5, 0.2, -0.1)))[2] < 0
    c = weyl_coordinates(interaction((math.pi / 4, 0.2, -0.1)))
    assert c[0] == pytest.approx(math.pi / 4) and c[2] == pytest.approx(0.1)
    # shifts by pi/2 and permutations are local
    assert np.allclose(weyl_coordinates(interaction((0.1 + math.pi / 2, -0.3, 0.2))), (0.3, 0.2, -0.1))


def test_bad_input_is_a_compile_error() -> None:
    with pytest.raises(CompileError, match="4x4 unitary"):
        two_qubit_word(np.ones((4, 4)))
    with pytest.raises(CompileError, match="4x4 unitary"):
        cx_count(np.eye(2))
    with pytest.raises(CompileError, match="batch"):
        cx_counts(np.eye(4))


# -- one-qubit Euler forms ----------------------------------------------------------
def _word_matrix_1q(ops: list) -> np.ndarray:
    m = np.eye(2, dtype=complex)
    for op in ops:
        m = matrix_1q(op.name, op.angle, op.params) @ m
    return m


@pytest.mark.parametrize("style", STYLES)
def test_one_qubit_styles_random_and_special(style: str) -> None:
    rng = np.random.default_rng(3)
    most = {"nam": 5, "zsx": 5, "zxz": 3, "u": 1}[style]
    specials = [matrix_1q(g) for g in ("h", "x", "sx", "s", "t", "y", "z")] + [matrix_1q("rx", 0.3)]
    for u in specials + [_haar(rng, 2) for _ in range(50)]:
        ops = synth_ops(u, 0, style)
        assert len(ops) <= most
        assert {op.name for op in ops} <= STYLE_GATES[style]
        assert equal_up_to_phase(_word_matrix_1q(ops), u, 1e-9)
    assert synth_ops(np.eye(2) * 1j, 0, style) == []


def test_one_qubit_fewest_gates() -> None:
    assert [op.name for op in synth_ops(matrix_1q("sx"), 0, "zsx")] == ["sx"]
    assert [op.name for op in synth_ops(matrix_1q("x"), 0, "zsx")] == ["x"]
    assert [op.name for op in synth_ops(matrix_1q("h"), 0, "nam")] == ["h"]
    assert [op.name for op in synth_ops(matrix_1q("t"), 0, "zxz")] == ["rz"]
    assert [op.name for op in synth_ops(matrix_1q("rx", 0.3), 0, "zxz")] == ["rx"]
    assert [op.name for op in synth_ops(matrix_1q("h"), 0, "zsx")] == ["rz", "sx", "rz"]


def test_angles_snap_to_exact_multiples_of_pi_over_4() -> None:
    assert snap_angle(math.pi / 4 + 3e-13) == math.pi / 4
    assert snap_angle(-math.pi + 1e-13) == math.pi
    assert snap_angle(math.pi / 4 + 1e-9) != math.pi / 4  # only within 1e-12
    rng = np.random.default_rng(5)
    names = ["h", "t", "tdg", "s", "sdg", "x", "z", "sx"]
    for _ in range(200):
        u = np.eye(2, dtype=complex)
        for g in rng.choice(names, size=6):
            u = matrix_1q(str(g)) @ u
        for style in ("nam", "zsx", "zxz"):
            for name, angle in synth_1q(u, style):
                if name == "rz":  # Clifford+T runs give exact angles in nam; multiples of pi/4 in every style
                    assert angle in EXACT, (style, angle)


# -- the pass ------------------------------------------------------------------------
def _random_rotation_circuit(rng: np.random.Generator, n: int, gates: int) -> Circuit:
    c = Circuit(n)
    one = [("rx", 1), ("ry", 1), ("rz", 1), ("u", 3), ("h", 0), ("t", 0), ("sx", 0)]
    two = [("cx", 0), ("cz", 0), ("swap", 0), ("rzz", 1), ("rxx", 1), ("ryy", 1), ("cp", 1), ("crz", 1),
           ("iswap", 0), ("csx", 0)]
    for _ in range(gates):
        if rng.random() < 0.5:
            name, k = one[rng.integers(len(one))]
            c.append(name, [int(rng.integers(n))], list(rng.uniform(-math.pi, math.pi, size=k)))
        else:
            name, k = two[rng.integers(len(two))]
            a, b = rng.choice(n, size=2, replace=False)
            c.append(name, [int(a), int(b)], list(rng.uniform(-math.pi, math.pi, size=k)))
    return c


@pytest.mark.parametrize("style", STYLES)
def test_pass_on_random_rotation_circuits(style: str) -> None:
    rng = np.random.default_rng(21)
    for _ in range(12):
        c = _random_rotation_circuit(rng, 3, 30)
        out = TwoQubitResynthesis(style).run(c, {"objective": "cx"})  # type: ignore[arg-type]
        assert same_unitary(c, out)
        verify_equivalent(c, out)
        assert out.count_ops().get("cx", 0) <= 3 * sum(len(i.qubits) == 2 for i in c)


@pytest.mark.parametrize("objective", ["gates", "cx", "depth"])
def test_pass_never_worse_on_its_objective_in_basis(objective: str) -> None:
    rng = np.random.default_rng(8)
    for basis, style in (("ibm", "zsx"), ("nam", "nam"), ("u", "u")):
        for _ in range(6):
            c = BasisTranslation(basis).run(_random_rotation_circuit(rng, 4, 40))
            out = TwoQubitResynthesis(style).run(c, {"objective": objective})  # type: ignore[arg-type]
            assert same_unitary(c, out)
            before, after = c.count_ops().get("cx", 0), out.count_ops().get("cx", 0)
            if objective == "cx":
                assert after <= before
            if objective == "gates":
                assert out.num_gates() <= c.num_gates()


@settings(max_examples=25, deadline=None)
@given(c=circuits(n=3, max_gates=30))
def test_pass_random_clifford_t_circuits_stay_exact(c: Circuit) -> None:
    nam = BasisTranslation("nam").run(c)
    out = TwoQubitResynthesis("nam").run(nam, {"objective": "cx"})  # type: ignore[arg-type]
    assert same_unitary(c, out)
    if all(float(i.params[0]) in EXACT for i in nam if i.name == "rz"):
        assert all(float(i.params[0]) in EXACT for i in out if i.name == "rz")


def test_every_block_is_tried_no_threshold() -> None:
    # two two-qubit gates that are one CX together: cz . cx = controlled-(iY)
    c = Circuit(2).cz(0, 1).cx(0, 1)
    out = TwoQubitResynthesis("nam").run(BasisTranslation("nam").run(c), {"objective": "cx"})  # type: ignore[arg-type]
    assert out.count_ops()["cx"] == 1 and same_unitary(c, out)
    # a routing swap next to a cx on its pair: 2 CX, not 4
    c = BasisTranslation("ibm").run(Circuit(2).cx(0, 1).swap(0, 1))
    out = TwoQubitResynthesis("zsx").run(c, {"objective": "cx"})  # type: ignore[arg-type]
    assert out.count_ops()["cx"] == 2 and same_unitary(c, out)
    # a foreign gate (iswap) is always rewritten into the style, with its minimal 2 CX
    out = TwoQubitResynthesis("u").run(Circuit(2).append("iswap", [0, 1]))
    assert set(out.count_ops()) <= {"u", "cx"} and out.count_ops()["cx"] == 2


def test_pass_keeps_blocks_that_are_not_cheaper() -> None:
    c = Circuit(2).cx(0, 1).rz(0.3, 1).cx(0, 1)  # rzz: already 2 CX and 3 gates
    for objective in ("gates", "cx", "depth"):
        assert TwoQubitResynthesis("nam").run(c, {"objective": objective}) == c  # type: ignore[arg-type]
    with pytest.raises(CompileError, match="style must be one of"):
        TwoQubitResynthesis("ibm")


# -- the {u, cx} basis -----------------------------------------------------------------
def test_u_basis_translation_and_optimize() -> None:
    c = Circuit(3).h(0).cx(0, 1).rzz(0.3, 1, 2).rx(0.2, 2).t(0).swap(0, 2).ccx(0, 1, 2).append("iswap", [1, 2])
    out = BasisTranslation("u").run(c)
    assert set(out.count_ops()) <= BASES["u"] and same_unitary(c, out)
    for i, j in zip(list(out)[:-1], list(out)[1:], strict=True):  # runs merged: never two u in a row on a wire
        assert not (i.name == j.name == "u" and i.qubits == j.qubits)
    for level in (1, 2, 3):
        res, _ = optimize(c, basis="u", level=level, seed=0, budget_expansions=200)
        assert set(res.count_ops()) <= BASES["u"] and same_unitary(c, res)
        ibm, _ = optimize(c, basis="ibm", level=level, seed=0, budget_expansions=200)
        assert set(ibm.count_ops()) <= BASES["ibm"] and same_unitary(c, ibm)


def test_u_basis_qasm_round_trip_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qtandem.cli.main import main
    from qtandem.qasm import dumps, load, loads

    c = BasisTranslation("u").run(Circuit(2).h(0).cx(0, 1).ry(0.7, 1).s(0))
    for version in (2, 3):
        assert loads(dumps(c, version=version)) == c
    src, dst = tmp_path / "in.qasm", tmp_path / "out.qasm"
    src.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\nrx(0.3) q[0];\ncx q[0],q[1];\n'
                   "rz(0.2) q[1];\ncx q[0],q[1];\nry(0.1) q[1];\n")
    with pytest.raises(SystemExit) as info:
        main(["optimize", str(src), "-o", str(dst), "--basis", "u", "--level", "2"])
    assert int(info.value.code or 0) == 0, capsys.readouterr().err
    got = load(dst)
    assert set(got.count_ops()) <= {"u", "cx"} and same_unitary(load(src), got)


def test_fast_one_qubit_matrices_agree_with_the_registry() -> None:
    from qtandem.circuit.gates import gate_matrix

    rng = np.random.default_rng(9)
    for name, k in (("rz", 1), ("p", 1), ("u1", 1), ("rx", 1), ("ry", 1), ("u", 3), ("u3", 3)):
        for _ in range(10):
            params = tuple(rng.uniform(-7, 7, size=k))
            assert np.allclose(matrix_1q(name, None, params), gate_matrix(name, list(params)).numpy(), atol=1e-14)


@pytest.mark.parametrize("basis", ["ibm", "nam", "u"])
def test_optimize_level3_random_rotation_circuits_in_each_basis(basis: str) -> None:
    rng = np.random.default_rng(31)
    for _ in range(2):
        c = _random_rotation_circuit(rng, 3, 14)
        out, _ = optimize(c, level=3, basis=basis, seed=0, budget_expansions=100)
        assert set(out.count_ops()) <= BASES[basis] and same_unitary(c, out)


def test_two_qubit_mcx_block() -> None:
    c = Circuit(2).h(0).append("mcx", [0, 1]).cx(0, 1).rz(0.2, 1)  # mcx on two qubits is a cx
    out = TwoQubitResynthesis("zsx").run(c, {"objective": "gates"})  # type: ignore[arg-type]
    assert same_unitary(c, out) and "cx" not in out.count_ops()
