"""Clifford+T gauge fixing of minimal-CX two-qubit words (:func:`qtandem.compile.weyl.clifford_t_gauge`).

The local gates of a KAK word are fixed only up to rotations that commute with each CX (``rz`` on the
control, ``rx`` on the target); which gauge the eigen-solver lands in depends on the LAPACK build. Exact
(Clifford+T) blocks must resynthesize to exact words whatever that gauge is.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile.dag import to_ops
from qtandem.compile.kak import rz_matrix, word_matrix
from qtandem.compile.passes.kak import TwoQubitResynthesis, _exact, _matrix, _resynth
from qtandem.compile.verify import verify_equivalent
from qtandem.compile.weyl import clifford_t_gauge, cx_count, two_qubit_word, weyl_coordinates
from qtandem.sim.dense import equal_up_to_phase

_Q = math.pi / 4


def _rx(t: float) -> np.ndarray:
    return np.array([[math.cos(t / 2), -1j * math.sin(t / 2)], [-1j * math.sin(t / 2), math.cos(t / 2)]])


def _exact_run(r: random.Random) -> np.ndarray:
    return rz_matrix(r.randrange(8) * _Q) @ _rx(r.randrange(8) * _Q) @ rz_matrix(r.randrange(8) * _Q)


def _is_exact_matrix(g: np.ndarray) -> bool:
    ex = [rz_matrix(a * _Q) @ _rx(b * _Q) @ rz_matrix(c * _Q) for a in range(8) for b in range(8) for c in range(8)]
    return any(abs(abs(np.trace(e.conj().T @ g)) - 2) < 1e-8 for e in ex)


def _regauge(word: list, r: random.Random) -> list:
    """The same unitary with a random rz (control) / rx (target) pair moved across every CX."""
    out: list = []
    for kind, q, g in word:
        if kind == "cx":
            phi, chi = r.uniform(-3, 3), r.uniform(-3, 3)
            out += [("1q", q, rz_matrix(phi)), ("1q", 1 - q, _rx(chi)), (kind, q, g),
                    ("1q", q, rz_matrix(-phi)), ("1q", 1 - q, _rx(-chi))]
        else:
            out.append((kind, q, g))
    return out


@pytest.mark.parametrize("n_cx", [1, 2, 3])
def test_gauge_fix_recovers_exact_runs_from_any_gauge(n_cx: int) -> None:
    r = random.Random(n_cx)
    for _ in range(6):
        word: list = []
        for _ in range(n_cx):
            word += [("1q", 0, _exact_run(r)), ("1q", 1, _exact_run(r)), ("cx", r.randrange(2), None)]
        word += [("1q", 0, _exact_run(r)), ("1q", 1, _exact_run(r))]
        a, b = _regauge(word, r), _regauge(word, r)
        assert not all(_is_exact_matrix(g) for k, _, g in a if k == "1q")  # the random gauge broke exactness
        fa, fb = clifford_t_gauge(a), clifford_t_gauge(b)
        assert equal_up_to_phase(word_matrix(fa), word_matrix(word), 1e-9)
        assert all(g is None or _is_exact_matrix(g) for _, _, g in fa)
        assert [(k, q) for k, q, _ in fa] == [(k, q) for k, q, _ in fb]  # same result from either gauge
        for (k, _, ga), (_, _, gb) in zip(fa, fb, strict=True):
            if ga is not None and gb is not None:
                assert abs(abs(np.trace(ga.conj().T @ gb)) - 2) < 1e-8


def test_gauge_fix_leaves_inexact_words_alone() -> None:
    word = [("1q", 0, _rx(0.3)), ("cx", 0, None), ("1q", 1, rz_matrix(0.2))]
    assert clifford_t_gauge(word) is word


def _block(c: Circuit) -> tuple:
    return tuple((o.name, o.qubits, o.angle, o.params) for o in to_ops(c))


_ONE_CX = [
    Circuit(2).cx(1, 0).t(0).cx(1, 0).s(1).cx(0, 1),  # the block of the routing test (1-CX KAK word)
    Circuit(2).t(1).tdg(0).t(0).cx(1, 0).tdg(0).cx(0, 1).s(1).tdg(1).tdg(0).cx(0, 1),
    Circuit(2).cx(0, 1).cx(1, 0).h(1).cx(1, 0).tdg(1).cx(0, 1).t(1).cx(1, 0).s(0).t(0).cx(1, 0),
    Circuit(2).cx(0, 1).s(0).cx(1, 0).t(0).t(1).cx(1, 0).t(1),
]


@pytest.mark.parametrize("style", ["nam", "zsx", "u"])
def test_exact_blocks_resynthesize_exactly(style: str) -> None:
    for c in _ONE_CX:
        block = _block(c)
        assert cx_count(_matrix(block)) == 1 and c.count_ops()["cx"] >= 3
        new = _resynth(block, style)
        assert new is not None and _exact(new)
        assert sum(1 for s in new if len(s[1]) == 2) == 1
        out = TwoQubitResynthesis(style).run(c)
        assert out.count_ops()["cx"] == 1
        verify_equivalent(c, out, method="exact")


def test_random_exact_blocks_stay_exact_per_cx_class() -> None:
    # random Clifford+T blocks on two qubits: every 1-CX class block and every 2-CX block off the
    # degenerate classes (c1 = c2 or c2 = c3 = 0 have extra local symmetries the CX gauge does not span)
    r = random.Random(7)
    seen = {1: 0, 2: 0}
    for _ in range(300):
        c = Circuit(2)
        for _ in range(r.randrange(3, 14)):
            if r.random() < 0.35:
                c.cx(*r.sample([0, 1], 2))
            else:
                c.append(r.choice(["h", "t", "s", "tdg", "sdg", "x"]), [r.randrange(2)])
        block = _block(c)
        u = _matrix(block)
        n = cx_count(u)
        w = weyl_coordinates(u)
        if n == 1 or (n == 2 and abs(w[0] - w[1]) > 1e-6 and abs(w[1]) > 1e-6):
            new = _resynth(block, "nam")
            assert new is not None and _exact(new), [s[:3] for s in block]
            assert equal_up_to_phase(_matrix(new), u, 1e-7)
            seen[n] += 1
    assert seen[1] >= 50 and seen[2] >= 5


def test_two_qubit_word_of_exact_unitaries_is_still_minimal() -> None:
    c = Circuit(2).cx(1, 0).t(0).cx(1, 0).s(1).cx(0, 1)
    word = clifford_t_gauge(two_qubit_word(_matrix(_block(c))))
    assert sum(k == "cx" for k, _, _ in word) == 1
