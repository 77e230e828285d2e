"""RotationMerge and the commutation table: hand cases, seeded random circuits of each basis, idempotence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.compile.compile_helpers import same_unitary

from qtandem import Circuit
from qtandem.circuit.gates import get_gate
from qtandem.compile.commutation import commutes_with, rotation_of
from qtandem.compile.dag import to_ops
from qtandem.compile.passes.rotation_merge import RotationMerge
from qtandem.compile.verify import verify_equivalent

ANGLES = [0.3, -0.3, 0.7, math.pi / 2, -math.pi / 2, math.pi / 4, math.pi]


def random_circuit(basis: str, n: int, n_gates: int, seed: int) -> Circuit:
    """A seeded random circuit in ``basis``; few distinct angles so that merges happen."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    one = {"ibm": ["rz", "sx", "x"], "u": ["u"], "nam": ["h", "rz", "x"],
           "pauli": ["rz", "rx", "ry", "h", "sx", "t", "y", "s"]}[basis]
    two = {"ibm": ["cx"], "u": ["cx"], "nam": ["cx"],
           "pauli": ["cx", "cz", "rzz", "rxx", "ryy", "swap", "cy", "rzz", "rxx"]}[basis]
    for _ in range(n_gates):
        a, b = (int(q) for q in rng.permutation(n)[:2])
        theta = float(rng.choice(ANGLES))
        if rng.random() < 0.55:
            g = str(rng.choice(one))
            if g in ("rz", "rx", "ry"):
                c.append(g, [a], [theta])
            elif g == "u":
                shape = int(rng.integers(4))
                params = [(0.0, 0.0, theta), (theta, -math.pi / 2, math.pi / 2), (theta, 0.0, 0.0),
                          (theta, 0.2, -0.4)][shape]
                c.append("u", [a], list(params))
            else:
                c.append(g, [a])
        else:
            g = str(rng.choice(two))
            c.append(g, [a, b], [theta] if g in ("rzz", "rxx", "ryy") else [])
    return c


def ops_of(c: Circuit) -> list[tuple[str, tuple[int, ...], tuple[float, ...]]]:
    return [(i.name, i.qubits, tuple(round(float(p), 9) for p in i.params)) for i in c]


# --- hand cases ---

def test_rz_on_control_merges_through_cx() -> None:
    c = Circuit(2).rz(0.3, 0).cx(0, 1).rz(0.4, 0)
    out = RotationMerge().run(c)
    assert ops_of(out) == [("cx", (0, 1), ()), ("rz", (0,), (0.7,))]
    assert same_unitary(c, out)


def test_rx_on_target_merges_through_cx() -> None:
    c = Circuit(2).rx(0.3, 1).cx(0, 1).rx(-0.5, 1)
    out = RotationMerge().run(c)
    assert ops_of(out) == [("cx", (0, 1), ()), ("rx", (1,), (-0.2,))]
    assert same_unitary(c, out)


def test_rx_on_control_does_not_move() -> None:
    c = Circuit(2).rx(0.3, 0).cx(0, 1).rx(0.4, 0)
    assert RotationMerge().run(c) == c


def test_rzz_merges_across_commuting_gates() -> None:
    c = Circuit(3).rzz(0.2, 0, 1).cz(0, 1).rz(0.1, 1).cx(0, 2).rxx(0.3, 0, 1).rzz(0.5, 1, 0)
    out = RotationMerge().run(c)
    assert [op for op in ops_of(out) if op[0] == "rzz"] == [("rzz", (1, 0), (0.7,))]
    assert out.count_ops()["rzz"] == 1 and out.num_gates() == c.num_gates() - 1
    assert same_unitary(c, out)


def test_rzz_blocked_by_cx_target() -> None:
    c = Circuit(2).rzz(0.2, 0, 1).cx(0, 1).rzz(0.5, 0, 1)
    assert RotationMerge().run(c) == c


def test_inverse_pair_cancels_and_zero_dropped() -> None:
    c = Circuit(3).ryy(0.4, 0, 2).cy(1, 0).ryy(-0.4, 2, 0).rz(0.0, 1).u(0.0, 0.5, -0.5, 2)
    out = RotationMerge().run(c)
    assert ops_of(out) == [("cy", (1, 0), ())]
    assert same_unitary(c, out)


def test_sx_pairs_in_ibm_basis() -> None:
    c = Circuit(2).sx(1).cx(0, 1).sx(1).cx(0, 1).sx(1).rz(0.2, 0).x(1)
    out = RotationMerge().run(c, {"basis": "ibm"})
    assert out.count_ops() == {"cx": 2, "sx": 1, "rz": 1}
    assert same_unitary(c, out)
    # without sxdg in the basis, sx + x (= 3 pi / 2) stays two gates
    c2 = Circuit(1).sx(0).x(0)
    assert RotationMerge().run(c2, {"basis": "ibm"}) == c2


def test_fixed_and_continuous_merge_keep_the_continuous_kind() -> None:
    c = Circuit(2).t(0).cx(0, 1).rz(0.3, 0).p(0.1, 1).cz(0, 1).z(1)
    out = RotationMerge().run(c)
    assert out.count_ops() == {"cx": 1, "rz": 1, "cz": 1, "p": 1}
    assert same_unitary(c, out)


def test_u_rotations_merge_in_u_basis() -> None:
    c = Circuit(2).u(0.0, 0.0, 0.4, 0).cx(0, 1).u(0.0, 0.1, 0.2, 0).u(0.5, -math.pi / 2, math.pi / 2, 1)
    c.cx(0, 1).u(0.25, -math.pi / 2, math.pi / 2, 1)
    out = RotationMerge().run(c)
    assert out.count_ops() == {"cx": 2, "u": 2}
    assert same_unitary(c, out)


def test_matrix_check_for_unknown_gates() -> None:
    rz, cy, swap, ch = to_ops(Circuit(2).rz(0.3, 0).cy(0, 1).swap(0, 1).ch(0, 1))
    assert commutes_with(rz, "Z", cy) and commutes_with(rz, "Z", ch)   # Z on the control, found by the matrix check
    assert not commutes_with(rz, "Z", swap)
    (ry,) = to_ops(Circuit(2).ry(0.2, 1))
    assert commutes_with(ry, "Y", cy)                                     # Y on a cy target
    zz = to_ops(Circuit(2).rzz(0.1, 0, 1))[0]
    assert commutes_with(zz, "ZZ", swap)
    assert rotation_of(to_ops(Circuit(1).h(0))[0]) is None


def test_opaque_ops_block() -> None:
    c = Circuit(1, 1).rz(0.3, 0).measure(0, 0).rz(0.2, 0)
    assert RotationMerge().run(c) == c


def test_frame_merge_past_hadamards() -> None:
    # two t about X0 (h t h) on both sides of a cx target: t t = s in Clifford+T, kept where the first one was
    c = Circuit(2).h(0).t(0).h(0).cx(1, 0).h(0).t(0).h(0)
    out = RotationMerge(frame=True).run(c, {"basis": "clifford_t"})
    assert [i.name for i in out] == ["h", "s", "h", "cx", "h", "h"]
    assert same_unitary(c, out)
    assert RotationMerge(frame=True).run(c) == c  # s is not among the input gates: nothing to write
    c = Circuit(2).h(0).rz(0.3, 0).h(0).cx(1, 0).h(0).rz(-0.3, 0).h(0)   # Z0 -> X0 on both sides of a cx target
    out = RotationMerge(frame=True).run(c)
    assert out.count_ops() == {"h": 4, "cx": 1}
    assert same_unitary(c, out)
    assert RotationMerge(frame=False).run(c) == c


def test_frame_merge_respects_anticommuting_rotations() -> None:
    c = Circuit(1).h(0).rz(0.3, 0).h(0).rz(0.2, 0).rx(0.4, 0)
    out = RotationMerge(frame=True).run(c)          # the rz(0.2) about Z sits between two X rotations
    assert out.count_ops() == c.count_ops()
    assert same_unitary(c, out)


# --- random circuits of each basis ---

@pytest.mark.parametrize("basis", ["ibm", "u", "nam", "pauli"])
@pytest.mark.parametrize("seed", range(6))
def test_random_circuits_equivalent_and_idempotent(basis: str, seed: int) -> None:
    n = 3 if seed % 2 else 4
    c = random_circuit(basis, n, 40, seed)
    props = {"basis": "ibm"} if basis == "ibm" else None
    out = RotationMerge(frame=seed % 2 == 0).run(c, props)
    assert out.num_gates() <= c.num_gates()
    assert same_unitary(c, out)
    verify_equivalent(c, out)
    assert RotationMerge(frame=seed % 2 == 0).run(out, props) == out
    if basis != "pauli":
        assert {i.name for i in out} <= {i.name for i in c}


def test_random_circuits_do_merge() -> None:
    removed = sum(random_circuit(b, 3, 40, s).num_gates() - RotationMerge().run(random_circuit(b, 3, 40, s)).num_gates()
                  for b in ("ibm", "u", "pauli") for s in range(4))
    assert removed > 10


def test_frame_merging_finds_more_than_the_wire_walk() -> None:
    local = frame = 0
    for seed in range(10):
        c = random_circuit("pauli", 3, 40, seed)
        local += c.num_gates() - RotationMerge(frame=False).run(c).num_gates()
        frame += c.num_gates() - RotationMerge(frame=True).run(c).num_gates()
    assert frame > local


def test_commutes_with_agrees_with_dense_matrices() -> None:
    rng = np.random.default_rng(5)
    rot_gates = [("rz", 1), ("rx", 1), ("ry", 1), ("rzz", 2), ("rxx", 2), ("ryy", 2), ("t", 1), ("sx", 1), ("x", 1)]
    others = [("h", 1), ("cx", 2), ("cz", 2), ("cy", 2), ("ch", 2), ("swap", 2), ("ccx", 3), ("crz", 2), ("s", 1),
              ("rzz", 2), ("rxx", 2), ("u", 1), ("iswap", 2)] + rot_gates
    checked = agreed = 0
    for _ in range(300):
        name, k = rot_gates[int(rng.integers(len(rot_gates)))]
        oname, ok = others[int(rng.integers(len(others)))]
        qa = [int(q) for q in rng.permutation(3)[:k]]
        qb = [int(q) for q in rng.permutation(3)[:ok]]
        c = Circuit(3)
        for g, qs in ((name, qa), (oname, qb)):
            c.append(g, qs, [float(v) for v in rng.uniform(-3, 3, get_gate(g).num_params)])
        a, b = to_ops(c)
        rot = rotation_of(a)
        assert rot is not None
        claim = commutes_with(a, rot[0], b)
        ab = Circuit(3)
        ab.append(c[0])
        ab.append(c[1])
        ba = Circuit(3)
        ba.append(c[1])
        ba.append(c[0])
        truth = same_unitary(ab, ba)
        checked += 1
        if claim:
            assert truth, (c[0], c[1])                  # sound: never claims a false commutation
        agreed += claim == truth
    assert checked > 200 and agreed / checked > 0.95     # and rarely misses one (only at special angles)
