"""qtandem.compile.verify: hand cases, path sums at mid size, Nam circuits, property tests against the exact check."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import pytest
from compile_helpers import circuits, same_unitary
from hypothesis import given, settings
from hypothesis import strategies as st

from qtandem import Circuit
from qtandem.compile.pathsum import canonical_1q_runs, check_identity, permutation_swaps
from qtandem.compile.verify import equivalent, verify_equivalent
from qtandem.errors import QtandemError, VerificationError

NAM = Path(os.environ.get("QTANDEM_NAM_DIR", Path(__file__).resolve().parents[3] / "shared" / "data" / "nam"))


def test_equal_global_phase_and_not_equal() -> None:
    verify_equivalent(Circuit(2).cz(0, 1), Circuit(2).h(1).cx(0, 1).h(1))
    verify_equivalent(Circuit(1).rz(0.4, 0), Circuit(1).p(0.4, 0))  # differ by a global phase
    with pytest.raises(VerificationError, match="global phase"):
        verify_equivalent(Circuit(1).rz(0.4, 0), Circuit(1).p(0.4, 0), up_to_global_phase=False)
    verify_equivalent(Circuit(1).s(0), Circuit(1).t(0).t(0), up_to_global_phase=False)
    for method in ("exact", "pathsum"):
        with pytest.raises(VerificationError, match=method) as err:
            verify_equivalent(Circuit(2).cx(0, 1), Circuit(2).cx(1, 0), method=method)
        assert isinstance(err.value, QtandemError) and isinstance(err.value, ValueError)
    with pytest.raises(VerificationError, match="column 1"):
        verify_equivalent(Circuit(1).z(0), Circuit(1), method="exact")
    assert not equivalent(Circuit(1).s(0), Circuit(1).sdg(0))


def test_bad_arguments() -> None:
    with pytest.raises(VerificationError, match="widths"):
        verify_equivalent(Circuit(1), Circuit(2))
    with pytest.raises(VerificationError, match="unknown verification method"):
        verify_equivalent(Circuit(1), Circuit(1), method="zx")
    with pytest.raises(VerificationError, match="permutation"):
        verify_equivalent(Circuit(2), Circuit(2), permutation=[0, 0])
    with pytest.raises(VerificationError, match="unsupported gate"):
        verify_equivalent(Circuit(2).ch(0, 1), Circuit(2).ch(0, 1), method="pathsum")
    verify_equivalent(Circuit(2).ch(0, 1), Circuit(2).ch(0, 1))  # auto falls back to exact


def test_permutation_and_swaps() -> None:
    swap3 = Circuit(3).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 2).cx(2, 1).cx(1, 2)
    perm = [2, 0, 1]  # state of 0 ends on 2, 1 on 0, 2 on 1
    for method in ("exact", "pathsum"):
        verify_equivalent(Circuit(3), swap3, permutation=perm, method=method)
        with pytest.raises(VerificationError):
            verify_equivalent(Circuit(3), swap3, method=method)
    assert permutation_swaps([1, 2, 0]) == [(0, 2), (1, 2)]


def test_measurement_skeleton() -> None:
    a = Circuit(2, 2).h(0).cx(0, 1).measure(0, 0).h(1).h(1).measure(1, 1)
    b = Circuit(2, 2).h(0).cx(0, 1).measure(0, 0).measure(1, 1)
    verify_equivalent(a, b)
    c = Circuit(2, 2).h(0).cx(0, 1).measure(1, 0).measure(0, 1)
    with pytest.raises(VerificationError, match="skeleton"):
        verify_equivalent(a, c)


def test_pathsum_mid_size_ladders() -> None:
    n = 40
    a = Circuit(n)
    for q in range(n - 2):
        a.ccx(q, q + 1, q + 2).t(q).h(q + 1).rz(0.37, q + 2)
    b = Circuit(n)  # same gates, ccx expanded into Clifford+T, h spelled as sx-rz
    for q in range(n - 2):
        x, y, t = q, q + 1, q + 2
        b.h(t).cx(y, t).tdg(t).cx(x, t).t(t).cx(y, t).tdg(t).cx(x, t).t(y).t(t).h(t).cx(x, y).t(x).tdg(y).cx(x, y)
        b.t(q).rz(math.pi / 2, q + 1).sx(q + 1).rz(math.pi / 2, q + 1).rz(0.37, q + 2)
    res = check_identity(a, b)
    assert res.verdict == "equal", res.detail
    verify_equivalent(a, b)
    broken = b.copy()
    broken._instructions[2] = broken[2].replace(name="t")  # a tdg becomes t
    with pytest.raises(VerificationError):
        verify_equivalent(a, broken)


def _mutate(c: Circuit, rng: random.Random) -> Circuit:
    out = Circuit(c.n_qubits)
    insts = list(c)
    k = rng.randrange(len(insts))
    for i, inst in enumerate(insts):
        if i == k:
            if inst.name == "cx":
                out.append(inst.replace(qubits=inst.qubits[::-1]))
            elif inst.name == "rz":
                out.append(inst.replace(params=(-inst.params[0],)))
            else:
                out.append(inst)
                out.t(inst.qubits[0])
        else:
            out.append(inst)
    return out


@settings(max_examples=40, deadline=None)
@given(circuits(n=3, max_gates=18), st.integers(0, 10**6))
def test_random_rewrites_agree_with_exact(c: Circuit, seed: int) -> None:
    rng = random.Random(seed)
    # rewrite: insert random gate pairs that cancel, and canonicalize one-qubit runs
    r = Circuit(c.n_qubits)
    for inst in c:
        r.append(inst)
        if rng.random() < 0.3:
            q = rng.randrange(c.n_qubits)
            g = rng.choice(["h", "t", "s", "x"])
            r.append(g, [q])
            r.append({"h": "h", "t": "tdg", "s": "sdg", "x": "x"}[g], [q])
    canon = canonical_1q_runs(r)
    assert canon is not None
    for b in (r, canon):
        assert same_unitary(c, b)
        verify_equivalent(c, b, method="exact")
        res = check_identity(c, b)
        assert res.verdict in ("equal", "inconclusive")
        verify_equivalent(c, b)  # auto proves it (path sum or exact)
    if c.num_gates():
        m = _mutate(c, rng)
        truth = bool(same_unitary(c, m))
        for method in ("exact", "pathsum", "auto"):
            assert equivalent(c, m, method=method) is truth or (method == "pathsum" and not truth)
        if not truth:
            assert check_identity(c, m).verdict != "equal"


def _nam(name: str) -> Circuit:
    path = NAM / f"{name}.qasm"
    if not path.exists():
        pytest.skip(f"{path} not present")
    return Circuit.from_qasm(path.read_text())


@pytest.mark.parametrize("name", ["tof_5", "barenco_tof_10", "adder_8", "gf2^16_mult",
                                  pytest.param("gf2^32_mult", marks=pytest.mark.slow)])
def test_nam_vs_qiskit_and_broken(name: str) -> None:
    qasm2 = pytest.importorskip("qiskit.qasm2")
    from qiskit import transpile

    a = _nam(name)
    qc = transpile(qasm2.loads(a.to_qasm()), basis_gates=["h", "x", "cx", "rz"], optimization_level=3,
                   seed_transpiler=1)
    b = Circuit.from_qasm(qasm2.dumps(qc))
    verify_equivalent(a, b)
    rng = random.Random(0)
    insts = list(b)
    rz = [i for i, x in enumerate(insts)  # rz(-pi) equals rz(pi) up to a global phase: flip only sign-sensitive ones
          if x.name == "rz" and abs(math.remainder(float(x.params[0]), math.pi)) > 1e-9]
    cx = [i for i, x in enumerate(insts) if x.name == "cx"]
    for k, change in ((rng.choice(rz), "rz"), (rng.choice(cx), "cx")):
        broken = Circuit(b.n_qubits)
        for i, x in enumerate(insts):
            if i != k:
                broken.append(x)
            elif change == "rz":
                broken.append(x.replace(params=(-x.params[0],)))
            else:
                broken.append(x.replace(qubits=x.qubits[::-1]))
        with pytest.raises(VerificationError):
            verify_equivalent(a, broken)


def test_dyadic_residual_phase_against_brute_force() -> None:
    from qtandem.compile.pathsum import _dyadic_constant, _mod2

    a, b = 0b10, 0b100
    assert _dyadic_constant([(a, 1.0), (b, 1.0), (a ^ b, 1.0)]) is True  # pi (a + b + a^b) = 2 pi (..) = 0
    assert _dyadic_constant([(a, 0.5), (b, 0.5), (a ^ b, -0.5)]) is False  # pi a b
    assert _dyadic_constant([(a, 0.3)]) is None
    rng = random.Random(1)
    for _ in range(300):
        terms = [(rng.randrange(2, 64) & ~1, rng.choice([0.25, 0.5, 1.0, 1.5, 1.75])) for _ in range(rng.randint(1, 6))]
        values = set()
        for x in range(32):
            v = x << 1 | 1
            values.add(round(_mod2(sum(t for m, t in terms if bin(m & v).count("1") % 2)) * 1e6) % 2_000_000)
        assert _dyadic_constant(terms) is (len(values) == 1)
