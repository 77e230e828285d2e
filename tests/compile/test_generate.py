"""qtandem.compile.generate: seeded determinism, the basis gate sets, unitary sanity and errors."""

from __future__ import annotations

import math

import pytest
from compile_helpers import same_unitary

from qtandem import Circuit
from qtandem.circuit import gate_matrix
from qtandem.compile.generate import BASES, FAMILIES, _Builder, _logical, generate
from qtandem.compile.verify import verify_equivalent
from qtandem.errors import CompileError


def logical_circuit(family: str, n: int, seed: int, depth: int | None = None) -> Circuit:
    """The family's gates before translation, as a circuit of h, x, sx, rx, ry, rz, cx, cz."""
    ops, _ = _logical(family, n, seed, depth)
    c = Circuit(n)
    for name, qs, p in ops:
        c.append(name, list(qs), list(p))
    return c


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_circuit_other_seed_other_circuit(family: str) -> None:
    a = generate(family, 5, seed=11)
    assert a == generate(family, 5, seed=11)
    assert a.name == f"{family}_5_s11"
    if family != "aqft":  # the QFT part is fixed; only its input state changes with the seed
        assert a != generate(family, 5, seed=12)
    else:
        assert a.count_ops() == generate(family, 5, seed=12).count_ops()
        assert a != generate(family, 5, seed=12)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("basis", sorted(BASES))
def test_gate_set_and_unitary_match_the_logical_circuit(family: str, basis: str) -> None:
    c = generate(family, 4, seed=3, basis=basis)
    assert set(c.count_ops()) <= set(BASES[basis])
    assert c.count_ops()["cx"] > 0
    assert same_unitary(c, logical_circuit(family, 4, 3))


@pytest.mark.parametrize("family", FAMILIES)
def test_bases_agree_and_the_verifier_agrees(family: str) -> None:
    ibm, u, nam = (generate(family, 5, seed=7, basis=b) for b in ("ibm", "u", "nam"))
    assert same_unitary(ibm, u) and same_unitary(u, nam)
    verify_equivalent(ibm, u)
    verify_equivalent(ibm, nam)
    # naive translation: the u form has one gate per logical one-qubit gate, the ibm form up to five
    assert u.count_ops()["cx"] == ibm.count_ops()["cx"] == nam.count_ops()["cx"]
    assert u.num_gates() < ibm.num_gates()


def _builder_circuit(fill: object, n: int) -> Circuit:
    b = _Builder(n)
    fill(b)  # type: ignore[operator]
    c = Circuit(n)
    for name, qs, p in b.ops:
        c.append(name, list(qs), list(p))
    return c


def test_building_blocks_are_the_textbook_gates() -> None:
    for theta in (0.3, -1.7, math.pi / 2):
        ref = Circuit(2).append("rzz", [0, 1], [theta])
        assert same_unitary(_builder_circuit(lambda b, t=theta: b.rzz(t, 0, 1), 2), ref)
        ref = Circuit(2).cp(theta, 0, 1)
        assert same_unitary(_builder_circuit(lambda b, t=theta: b.cp(t, 0, 1), 2), ref)
        for word, gate in (("XX", "rxx"), ("YY", "ryy"), ("ZZ", "rzz")):
            ref = Circuit(2).append(gate, [0, 1], [theta])
            got = _builder_circuit(lambda b, w=word, t=theta: b.pauli_exp({0: w[0], 1: w[1]}, t), 2)
            assert same_unitary(got, ref), word
    assert same_unitary(_builder_circuit(lambda b: b.swap(0, 1), 2), Circuit(2).swap(0, 1))
    assert gate_matrix("rzz", [0.0]).shape == (4, 4)


def test_pauli_exponential_with_z_string_on_three_qubits() -> None:
    import numpy as np
    import scipy.linalg

    from qtandem.sim import unitary

    theta = 0.61
    got = unitary(_builder_circuit(lambda b: b.pauli_exp({0: "X", 1: "Z", 2: "Y"}, theta), 3)).numpy()
    x = np.array([[0, 1], [1, 0]])
    y = np.array([[0, -1j], [1j, 0]])
    z = np.diag([1, -1])
    pauli = np.kron(np.kron(y, z), x)  # little-endian: qubit 0 is the rightmost factor
    want = scipy.linalg.expm(-0.5j * theta * pauli)
    k = int(np.argmax(np.abs(want)))
    assert np.allclose(got * (want.flat[k] / got.flat[k]), want, atol=1e-9)


def test_family_shapes() -> None:
    # QAOA on 6 qubits: a 3-regular graph (9 edges), 3 layers, 2 CX per edge
    assert generate("qaoa", 6, seed=0).count_ops()["cx"] == 54
    # odd width: 2-regular graph
    assert generate("qaoa", 5, seed=0, depth=1).count_ops()["cx"] == 2 * 5
    # QNN: full ZZ feature map (2 reps) plus reverse-linear ansatz
    n = 8
    assert generate("qnn", n, seed=0).count_ops()["cx"] == 2 * 2 * n * (n - 1) // 2 + 3 * (n - 1)
    # Heisenberg: 3 terms per bond, 2 CX each, per step
    assert generate("trotter_heisenberg", 4, seed=0, depth=2).count_ops()["cx"] == 2 * 3 * 3 * 2
    assert generate("random_rot", 6, seed=0, depth=3).count_ops()["cx"] == 9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family": "qoa", "n_qubits": 4}, "unknown circuit family 'qoa'"),
        ({"family": "qaoa", "n_qubits": 2}, "needs an integer n_qubits >= 3"),
        ({"family": "uccsd", "n_qubits": 3}, "needs an integer n_qubits >= 4"),
        ({"family": "qnn", "n_qubits": 2.0}, "needs an integer n_qubits"),
        ({"family": "qnn", "n_qubits": 3, "basis": "clifford"}, "unknown basis 'clifford'"),
        ({"family": "qnn", "n_qubits": 3, "depth": 0}, "depth must be a positive integer"),
    ],
)
def test_bad_arguments_raise_compile_error(kwargs: dict, match: str) -> None:
    with pytest.raises(CompileError, match=match):
        generate(seed=0, **kwargs)
