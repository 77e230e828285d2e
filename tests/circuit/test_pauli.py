"""PauliSum: parsing (with error columns), algebra, dense matrices, printing, grouping."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtandem.circuit.pauli import I, PauliSum, X, Y, Z, word_masks
from qtandem.errors import ObservableError, QtandemError

PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}
HELPER = {"X": X, "Y": Y, "Z": Z}


def kron_word(word: dict[int, str], n: int) -> np.ndarray:
    """Explicit little-endian Kronecker product: qubit n-1 is the leftmost factor."""
    out = np.ones((1, 1), dtype=complex)
    for q in reversed(range(n)):
        out = np.kron(out, PAULI[word.get(q, "I")])
    return out


def dense(obs_terms: list[tuple[complex, dict[int, str]]], n: int) -> np.ndarray:
    return sum((c * kron_word(w, n) for c, w in obs_terms), np.zeros((2**n, 2**n), dtype=complex))


def as_sum(obs_terms: list[tuple[complex, dict[int, str]]]) -> PauliSum:
    return sum((PauliSum.term(c, w) for c, w in obs_terms), PauliSum())


# --- strategies -------------------------------------------------------------------
words = st.dictionaries(st.integers(0, 3), st.sampled_from("XYZ"), max_size=4)
real_coefs = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
coefs = st.one_of(real_coefs, st.builds(complex, real_coefs, real_coefs))
term_lists = st.lists(st.tuples(coefs, words), min_size=1, max_size=6)
QUICK = settings(max_examples=40, deadline=None, derandomize=True)


# --- parsing ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5*Z0 Z1 - 1.2*X2 + Y0", 0.5 * Z(0) @ Z(1) - 1.2 * X(2) + Y(0)),
        ("Z0", Z(0)),
        ("-X0", -X(0)),
        ("+X0", X(0)),
        ("X0Y1Z2", X(0) @ Y(1) @ Z(2)),
        ("X0*Y1*Z2", X(0) @ Y(1) @ Z(2)),
        ("2 X0", 2 * X(0)),
        ("2X0", 2 * X(0)),
        ("2*3*X0", 6 * X(0)),
        ("1e-3*Z4", 1e-3 * Z(4)),
        ("2.5E+2 Z4", 250 * Z(4)),
        (".5*X0", 0.5 * X(0)),
        ("3.", PauliSum.identity(3)),
        ("(1+2j)*X1*Y3", (1 + 2j) * X(1) @ Y(3)),
        ("(1-2j) X1", (1 - 2j) * X(1)),
        ("( -0.5 ) Z0", -0.5 * Z(0)),
        ("2j*Z0", 2j * Z(0)),
        ("-2j Z0", -2j * Z(0)),
        ("3", PauliSum.identity(3)),
        ("3 - Z0", 3 - Z(0)),
        ("Z0 + -0.5*X1", Z(0) - 0.5 * X(1)),
        ("Z0 - -X1", Z(0) + X(1)),
        ("I3 Z1", Z(1)),
        ("I0", I()),
        ("x0 y1 z2", X(0) @ Y(1) @ Z(2)),
        ("Z12", Z(12)),
        ("Z0 + Z0", 2 * Z(0)),
        ("Z1 Z0 - Z0 Z1", PauliSum()),
        ("  Z0\n + X1\t", Z(0) + X(1)),
    ],
)
def test_parse_good_strings(text, expected):
    assert PauliSum.from_string(text) == expected
    assert PauliSum(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("", "empty observable", 1),
        ("   ", "empty observable", 1),
        ("Q0", "unexpected character 'Q': not a Pauli letter", 1),
        ("Z0 + W1", "not a Pauli letter", 6),
        ("0.5*Z", "'Z' needs a qubit index", 6),
        ("X0 Y + Z1", "'Y' needs a qubit index", 5),
        ("Z0 +", "dangling operator '\\+' at the end", 5),
        ("Z0 -", "dangling operator '-' at the end", 5),
        ("-", "dangling operator", 2),
        ("Z0 *", "dangling '\\*'", 4),
        ("*Z0", "dangling '\\*'", 1),
        ("Z0 + * X1", "dangling '\\*'", 6),
        ("2 * * X1", "dangling '\\*'", 3),
        ("Z0 Z0", "qubit 0 appears twice", 4),
        ("Z0 X1 Y0", "qubit 0 appears twice.*column 1", 7),
        ("Z0 2", "coefficient must come before", 4),
        ("X12.5", "coefficient must come before", 4),
        ("2 3 X0", "two coefficients in a row", 3),
        ("1.5.2", "two coefficients in a row", 4),
        ("(1+2j", "unclosed '\\('", 1),
        ("(1+x)", "bad complex number", 1),
        ("Z0 & X1", "unexpected character '&'", 4),
        ("1e400*X0", "not finite", 1),
        ("1e200*1e200*X0", "not finite", 7),
    ],
)
def test_parse_errors_point_at_the_column(text, message, column):
    with pytest.raises(ObservableError, match=message) as info:
        PauliSum.from_string(text)
    err = info.value
    assert isinstance(err, QtandemError)
    assert isinstance(err, ValueError)
    assert err.column == column
    first, excerpt, caret = str(err).split("\n")
    assert first.startswith(f"column {column}: ")
    assert excerpt == "    " + text.replace("\n", " ")
    assert caret == "    " + " " * (column - 1) + "^"


def test_parse_rejects_non_strings():
    with pytest.raises(ObservableError, match="expects a str"):
        PauliSum.from_string(3)  # type: ignore[arg-type]


def test_long_input_excerpt_is_windowed():
    text = " + ".join(f"Z{q}" for q in range(100)) + " + Q1"
    with pytest.raises(ObservableError) as info:
        PauliSum.from_string(text)
    _, excerpt, caret = str(info.value).split("\n")
    assert len(excerpt) < 130
    # the caret still sits under the offending character
    assert excerpt[caret.index("^")] == "Q"


def test_from_label_qiskit_order():
    assert PauliSum.from_label("XIZ") == X(2) @ Z(0)
    assert PauliSum.from_label("Z") == Z(0)
    assert PauliSum.from_label("III") == I()
    assert PauliSum.from_label("YX", 0.5) == 0.5 * Y(1) @ X(0)
    assert PauliSum.from_label("-XX") == -X(0) @ X(1)
    assert PauliSum.from_label("iZ") == 1j * Z(0)
    assert PauliSum.from_label("-iZ") == -1j * Z(0)
    assert PauliSum.from_label("-1jZ", 2) == -2j * Z(0)


@pytest.mark.parametrize(("label", "message", "column"),
                         [("XAZ", "unknown Pauli letter 'A'", 2), ("", "empty Pauli label", 1),
                          ("-", "empty Pauli label", 2), ("xz", "upper-case", 1), ("-iXQ", "'Q'", 4)])
def test_from_label_errors(label, message, column):
    with pytest.raises(ObservableError, match=message) as info:
        PauliSum.from_label(label)
    assert info.value.column == column


def test_from_label_matches_qiskit_labels():
    qi = pytest.importorskip("qiskit.quantum_info")
    for label in ["XIZ", "YYXZ", "IZ", "ZYXI"]:
        np.testing.assert_allclose(PauliSum.from_label(label).to_matrix(len(label)).numpy(),
                                   qi.Pauli(label).to_matrix(), atol=0)


# --- constructors ---------------------------------------------------------------------
def test_constructors_and_helpers():
    assert PauliSum.identity() == I() == PauliSum.identity(1.0)
    assert PauliSum.identity(2.5) == 2.5
    assert PauliSum.term(0.5, {0: "Z", 3: "X"}) == 0.5 * Z(0) @ X(3)
    assert PauliSum.term(2, {}) == 2 * I()
    assert PauliSum.term(1, {1: "I", 0: "z"}) == Z(0)
    assert PauliSum({((1, "X"), (0, "Z")): 2}) == 2 * Z(0) @ X(1)
    assert PauliSum({((0, "X"),): 1, ((0, "x"),): 1}) == 2 * X(0)
    assert PauliSum() == 0
    assert PauliSum(None) == PauliSum({})
    assert len(PauliSum()) == 0
    assert X(np.int64(2)) == X(2)
    assert X(0).terms == [(1 + 0j, ((0, "X"),))]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: X(-1), "qubit indices must be >= 0"),
        (lambda: X(1.5), "must be integers"),
        (lambda: PauliSum.term(1, {0: "A"}), "unknown Pauli letter 'A'"),
        (lambda: PauliSum({((0, "X"), (0, "Z")): 1}), "appears twice"),
        (lambda: PauliSum({"X0": 1}), "sequence of \\(qubit, letter\\) pairs"),
        (lambda: PauliSum({(): "abc"}), "must be a number"),
        (lambda: PauliSum({(): float("nan")}), "finite"),
        (lambda: X(0) * float("inf"), "finite"),
        (lambda: PauliSum([1, 2]), "takes a mapping"),
        (lambda: PauliSum.term(1, [(0, "X")]), "expects a mapping"),
        (lambda: X(0) / 0, "division of a PauliSum by zero"),
        (lambda: X(0) ** -1, ">= 0"),
    ],
)
def test_constructor_errors(build, message):
    with pytest.raises(ObservableError, match=message):
        build()


# --- algebra --------------------------------------------------------------------------
def test_pauli_multiplication_table_with_phases():
    assert X(0) @ Y(0) == 1j * Z(0)
    assert Y(0) @ Z(0) == 1j * X(0)
    assert Z(0) @ X(0) == 1j * Y(0)
    assert Y(0) @ X(0) == -1j * Z(0)
    assert Z(0) @ Y(0) == -1j * X(0)
    assert X(0) @ Z(0) == -1j * Y(0)
    for p in (X, Y, Z):
        assert p(3) @ p(3) == I()
        assert p(3) @ I() == I() @ p(3) == p(3)
    # every pair of letters, compared with the 2x2 matrices
    for a, b in itertools.product("XYZ", repeat=2):
        prod = HELPER[a](0) * HELPER[b](0)  # * is the operator product too
        np.testing.assert_array_equal(prod.to_matrix(1).numpy(), PAULI[a] @ PAULI[b])
    # different qubits commute and simply multiply
    assert X(0) @ Y(1) == Y(1) @ X(0) == PauliSum.term(1, {0: "X", 1: "Y"})


def test_commutators():
    def comm(a, b):
        return (a @ b - b @ a).simplify()

    assert comm(X(0), Y(0)) == 2j * Z(0)
    assert comm(Y(0), Z(0)) == 2j * X(0)
    assert comm(Z(0), X(0)) == 2j * Y(0)
    assert comm(X(0), X(1)) == PauliSum()
    assert comm(X(0) @ X(1), Z(0) @ Z(1)) == PauliSum()  # two anticommuting sites
    assert (X(0) @ Y(0) + Y(0) @ X(0)).simplify() == PauliSum()  # anticommutator


@QUICK
@given(term_lists, term_lists, term_lists)
def test_algebra_identities(ta, tb, tc):
    a, b, c = as_sum(ta), as_sum(tb), as_sum(tc)
    close = {"rtol": 1e-12, "atol": 1e-12}
    ma, mb, mc = (dense(t, 4) for t in (ta, tb, tc))
    np.testing.assert_allclose((a @ (b + c)).to_matrix(4).numpy(), ma @ (mb + mc), **close)
    np.testing.assert_allclose(((a + b) @ c).to_matrix(4).numpy(), (ma + mb) @ mc, **close)
    np.testing.assert_allclose(((a @ b) @ c).to_matrix(4).numpy(), ma @ (mb @ mc), **close)
    np.testing.assert_allclose((a @ b - b @ a).to_matrix(4).numpy(), ma @ mb - mb @ ma, **close)
    np.testing.assert_allclose((a * b).to_matrix(4).numpy(), ma @ mb, **close)
    np.testing.assert_allclose(a.adjoint().to_matrix(4).numpy(), ma.conj().T, **close)
    np.testing.assert_allclose((a @ b).adjoint().to_matrix(4).numpy(), (mb.conj().T @ ma.conj().T), **close)
    assert a + b == b + a
    assert (a - a).simplify() == PauliSum()
    if a.is_hermitian(tol=0):
        np.testing.assert_allclose(ma, ma.conj().T, atol=0)
    assert (a + a.adjoint()).is_hermitian()


def test_scalar_arithmetic():
    h = X(0) + 2 * Z(1)
    assert 2 * h == h * 2 == h + h
    assert (1j * h) / 1j == h
    assert h / 2 == 0.5 * X(0) + Z(1)
    assert -h == (-1) * h
    assert +h is h
    assert h - 1 == -(1 - h)
    assert 1 + h == h + 1 == h + PauliSum.identity()
    assert sum([X(0), Y(0), Z(0)]) == X(0) + Y(0) + Z(0)
    # numpy scalars defer to PauliSum rather than building arrays
    assert np.float64(2.0) * h == 2 * h
    assert h * np.complex128(1j) == 1j * h
    assert np.int64(1) + h == h + 1
    assert h**0 == I() and h**1 == h and h**2 == h @ h
    assert (X(0) + Y(1)) ** 2 == 2 + 2 * X(0) @ Y(1)
    for bad in ("a", [1], None):
        with pytest.raises(TypeError):
            _ = h * bad
        with pytest.raises(TypeError):
            _ = h + bad
    assert (h == "X0") is False


def test_equality_hash_simplify_adjoint():
    a = PauliSum.from_string("Z0 Z1 + 0.5*X2")
    b = PauliSum.from_string("0.5*X2 + Z1 Z0")
    assert a == b and hash(a) == hash(b)
    assert a != a + 1e-15 * Y(0)  # exact comparison...
    assert (a + 1e-15 * Y(0)).simplify() == a  # ...unless simplified
    assert (a + 1e-6 * Y(0)).simplify(tol=1e-5) == a
    assert len(a + 0 * Y(0)) == 3 and len((a + 0 * Y(0)).simplify()) == 2
    assert a + 0 * Y(0) == a and hash(a + 0 * Y(0)) == hash(a)
    assert hash(PauliSum.identity(3)) == hash(3) and PauliSum.identity(3) == 3
    assert hash(PauliSum()) == hash(0)
    assert {a, b} == {a}
    c = (1 + 2j) * X(0) + 3j * Z(1)
    assert c.adjoint() == (1 - 2j) * X(0) - 3j * Z(1)
    assert c.dagger() == c.adjoint()
    assert not c.is_hermitian()
    assert (c + c.adjoint()).is_hermitian()
    assert (X(0) + 1e-14j * Z(0)).is_hermitian()
    assert not (X(0) + 1e-14j * Z(0)).is_hermitian(tol=0)


def test_structure():
    h = PauliSum.from_string("0.5*Z0 Z1 - 1.2*X2 + Y0 + 4")
    assert h.num_qubits == 3
    assert len(h) == 4
    assert list(h) == h.terms
    assert h.terms[0] == (0.5 + 0j, ((0, "Z"), (1, "Z")))
    assert h.terms[-1] == (4 + 0j, ())
    assert PauliSum.identity().num_qubits == 0
    assert PauliSum().num_qubits == 0
    assert Z(7).num_qubits == 8
    assert word_masks(((0, "X"), (1, "Y"), (2, "Z"))) == (0b011, 0b110, 1)


# --- printing -------------------------------------------------------------------------
def test_str_and_repr():
    assert str(PauliSum.from_string("0.5*Z0 Z1 - 1.2*X2")) == "0.5*Z0*Z1 - 1.2*X2"
    assert str(-X(0) + 2j * Y(1) - 2j * Z(2)) == "-X0 + 2j*Y1 - 2j*Z2"
    assert str((1 - 2j) * X(0) + (-1 + 2j) * Y(0)) == "(1-2j)*X0 - (1-2j)*Y0"
    assert str(PauliSum()) == "0"
    assert str(PauliSum.identity(-3)) == "-3"
    assert repr(X(0) + 1) == "PauliSum('X0 + 1')"
    h = 0.1 * X(0) - 1e-20 * Z(3) + 1e20 * Y(1) + (1 / 3) * I()
    assert eval(repr(h), {"PauliSum": PauliSum}) == h


@QUICK
@given(st.lists(st.tuples(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                                    st.complex_numbers(allow_nan=False, allow_infinity=False)),
                          st.dictionaries(st.integers(0, 30), st.sampled_from("XYZ"), max_size=5)),
                min_size=1, max_size=6))
def test_str_round_trips_exactly(raw):
    h = sum((PauliSum.term(c, w) for c, w in raw), PauliSum())
    back = PauliSum.from_string(str(h))
    assert back == h  # exact: repr of floats round-trips
    assert str(back) == str(h)


# --- dense matrices ---------------------------------------------------------------------
def test_to_matrix_little_endian():
    # X on qubit 0 flips the least significant bit of the basis index
    np.testing.assert_array_equal(X(0).to_matrix(2).numpy(), np.kron(np.eye(2), PAULI["X"]))
    np.testing.assert_array_equal(X(1).to_matrix(2).numpy(), np.kron(PAULI["X"], np.eye(2)))
    zz = (Z(0) @ Y(2)).to_matrix().numpy()
    np.testing.assert_array_equal(zz, np.kron(np.kron(PAULI["Y"], np.eye(2)), PAULI["Z"]))
    assert PauliSum.identity(2).to_matrix().shape == (1, 1)
    assert PauliSum().to_matrix(2).abs().sum() == 0
    import torch

    assert X(0).to_matrix(dtype=torch.complex64).dtype == torch.complex64


@settings(max_examples=30, deadline=None, derandomize=True)
@given(term_lists)
def test_to_matrix_matches_kron(terms):
    np.testing.assert_allclose(as_sum(terms).to_matrix(4).numpy(), dense(terms, 4), atol=1e-12)
    np.testing.assert_allclose(as_sum(terms).to_matrix(5).numpy(), dense(terms, 5), atol=1e-12)


def test_to_matrix_matches_qiskit():
    qi = pytest.importorskip("qiskit.quantum_info")
    rng = np.random.default_rng(11)
    n = 4
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(8)]
    cs = rng.normal(size=8) + 1j * rng.normal(size=8)
    ours = sum((PauliSum.from_label(lab, c) for lab, c in zip(labels, cs)), PauliSum())
    ref = qi.SparsePauliOp(labels, cs).to_matrix()
    np.testing.assert_allclose(ours.to_matrix(n).numpy(), ref, atol=1e-12)


def test_to_matrix_guards():
    with pytest.raises(ObservableError, match="limit is 14 qubits"):
        Z(20).to_matrix()
    with pytest.raises(ObservableError, match="limit is 14 qubits"):
        Z(0).to_matrix(15)
    with pytest.raises(ObservableError, match="acts on 4 qubits, more than n_qubits=2"):
        Z(3).to_matrix(2)
    import torch

    with pytest.raises(ObservableError, match="complex dtype"):
        Z(0).to_matrix(dtype=torch.float64)


# --- grouping ---------------------------------------------------------------------------
def _commute(a: PauliSum, b: PauliSum, n: int) -> bool:
    ma, mb = a.to_matrix(n).numpy(), b.to_matrix(n).numpy()
    return np.allclose(ma @ mb, mb @ ma)


def _qubitwise(wa, wb) -> bool:
    da = dict(wa)
    return all(da.get(q, p) == p for q, p in wb)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(real_coefs, words), min_size=1, max_size=12), st.sampled_from(["qubitwise", "general"]))
def test_grouping_is_valid(terms, kind):
    h = as_sum(terms)
    groups = h.group_commuting(kind)
    # a partition: union of the groups is h, each word in exactly one group
    assert sum(groups, PauliSum()) == h
    assert sorted(w for g in groups for _, w in g.terms) == sorted(w for _, w in h.terms)
    for g in groups:
        assert len(g) > 0
        for (_, wa), (_, wb) in itertools.combinations(g.terms, 2):
            pa, pb = PauliSum({wa: 1}), PauliSum({wb: 1})
            assert _commute(pa, pb, 4)
            if kind == "qubitwise":
                assert _qubitwise(wa, wb)


def test_grouping_examples():
    h = PauliSum.from_string("Z0 Z1 + X0 X1 + Y0 Y1 + Z0 + X1 + Z2 X3 + Y2 + 7")
    qw, gen = h.group_commuting("qubitwise"), h.group_commuting("general")
    assert len(gen) <= len(qw)
    together = [g for g in gen if all(w in {w2 for _, w2 in g.terms} for w in
                                      (((0, "X"), (1, "X")), ((0, "Y"), (1, "Y")), ((0, "Z"), (1, "Z"))))]
    assert len(together) == 1  # XX, YY and ZZ commute as operators, not qubitwise
    assert len(qw) >= 3
    assert PauliSum().group_commuting() == []
    assert PauliSum.from_string("Z0 + Z1 + Z0 Z1").group_commuting() == [PauliSum.from_string("Z0 Z1 + Z0 + Z1")]
    with pytest.raises(ObservableError, match="kind must be"):
        h.group_commuting("bogus")
