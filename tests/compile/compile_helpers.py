"""Shared helpers for the compile tests: an exact unitary check and random circuits."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from qtandem import Circuit
from qtandem.sim import unitary


def same_unitary(a: Circuit, b: Circuit, tol: float = 1e-8) -> bool:
    """Exact check (dense unitaries, up to global phase): the tests' oracle, independent of compile.verify."""
    ua, ub = unitary(a).numpy(), unitary(b).numpy()
    k = int(np.argmax(np.abs(ua)))
    ph = ub.flat[k] / ua.flat[k]
    return abs(abs(ph) - 1) < 1e-7 and bool(np.allclose(ua * ph, ub, atol=tol))


ANGLES = [math.pi / 4, -math.pi / 4, math.pi / 2, -math.pi / 2, math.pi, 0.3, -1.1]
ONE_Q = ["h", "x", "t", "tdg", "s", "sdg", "z", "rz"]
TWO_Q = ["cx", "cx", "cx", "cz", "swap"]


@st.composite
def circuits(draw: st.DrawFn, *, n: int = 3, max_gates: int = 24, nam: bool = False) -> Circuit:
    """Random circuits of Clifford+T/rz/cz/swap/ccx gates on ``n`` qubits (``nam``: only h, x, cx, rz)."""
    c = Circuit(n)
    one = ["h", "x", "rz"] if nam else ONE_Q
    two = ["cx"] if nam else TWO_Q
    for _ in range(draw(st.integers(0, max_gates))):
        kind = draw(st.integers(0, 9))
        if kind < 5:
            g = draw(st.sampled_from(one))
            q = draw(st.integers(0, n - 1))
            if g == "rz":
                c.rz(draw(st.sampled_from(ANGLES)), q)
            else:
                c.append(g, [q])
        elif kind < 9 or nam or n < 3:
            a, b = draw(st.permutations(list(range(n))))[:2]
            c.append(draw(st.sampled_from(two)), [a, b])
        else:
            a, b, t = draw(st.permutations(list(range(n))))[:3]
            c.ccx(a, b, t)
    return c
