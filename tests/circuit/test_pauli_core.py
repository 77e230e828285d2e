import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtandem.circuit.pauli import PauliSum, X, Y, Z
from qtandem.errors import ObservableError

P = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1, -1])}


def dense(word: dict[int, str], n: int) -> np.ndarray:
    out = np.ones((1, 1))
    for q in reversed(range(n)):  # qubit n-1 is the most significant factor
        out = np.kron(out, P[word.get(q, "I")])
    return out


def test_parse_and_print_round_trip():
    h = PauliSum.from_string("0.5*Z0 Z1 - 1.2*X2 + Y0 - 3 + (1+2j)*X1*Y3 + 2.5e-3 Z4")
    assert len(h) == 6
    assert PauliSum.from_string(str(h)) == h
    assert PauliSum.from_string("-X0") == -X(0)
    assert PauliSum.from_string("I3 Z1") == Z(1)
    assert PauliSum.from_label("XIZ") == X(2) @ Z(0)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("", "empty observable", 1),
        ("Q0", "unexpected character 'Q'", 1),
        ("0.5*Z", "needs a qubit index", 6),
        ("Z0 +", "dangling operator", 5),
        ("Z0 Z0", "appears twice", 4),
        ("2 * * X1", "dangling '\\*'", 3),
    ],
)
def test_parse_errors_point_at_the_column(text, message, column):
    with pytest.raises(ObservableError, match=message) as info:
        PauliSum.from_string(text)
    assert f"column {column}:" in str(info.value)
    assert "^" in str(info.value)


def test_multiplication_table_and_algebra():
    assert X(0) @ Y(0) == 1j * Z(0)
    assert Y(0) @ X(0) == -1j * Z(0)
    assert Z(0) @ Z(0) == PauliSum.identity()
    a, b, c = X(0) + Z(1), 2 * Y(0) - Z(2), X(1) @ Z(0)
    assert a @ (b + c) == a @ b + a @ c
    comm = X(0) @ Y(0) - Y(0) @ X(0)
    assert comm == 2j * Z(0)
    assert (X(0) * 3 / 3) == X(0)
    assert (1j * X(0)).adjoint() == -1j * X(0)
    assert not (1j * X(0)).is_hermitian()
    assert (X(0) - X(0)).simplify() == PauliSum()


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.floats(-2, 2), st.dictionaries(st.integers(0, 3), st.sampled_from("XYZ"), max_size=4)),
                min_size=1, max_size=5))
def test_to_matrix_matches_kron(terms):
    obs = sum((PauliSum.term(c, w) for c, w in terms), PauliSum())
    n = 4
    expected = sum(c * dense(w, n) for c, w in terms)
    np.testing.assert_allclose(obs.to_matrix(n).numpy(), expected, atol=1e-12)
    # products agree with matrix products
    other = X(1) + 0.5 * Y(3) @ Z(0)
    np.testing.assert_allclose((obs @ other).to_matrix(n).numpy(), expected @ other.to_matrix(n).numpy(), atol=1e-12)


def test_grouping_is_valid():
    h = PauliSum.from_string("Z0 Z1 + X0 X1 + Y0 Y1 + Z0 + X1 + Z2 X3 + Y2")
    for kind in ("qubitwise", "general"):
        groups = h.group_commuting(kind)
        total = sum(groups, PauliSum())
        assert total == h
        for g in groups:
            mats = [PauliSum({w: 1}).to_matrix(4).numpy() for _, w in g.terms]
            for a in mats:
                for b in mats:
                    assert np.allclose(a @ b, b @ a)
    assert len(h.group_commuting("general")) <= len(h.group_commuting("qubitwise"))


def test_dense_limit():
    with pytest.raises(ObservableError, match="limit is 14 qubits"):
        Z(20).to_matrix()
