"""SwapAbsorption: two-qubit blocks resynthesized up to a swap of their wires, the permutation undone at the end."""

from __future__ import annotations

import random

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile.passes.kak import TwoQubitResynthesis, _exact
from qtandem.compile.passes.swap_absorb import SwapAbsorption
from qtandem.compile.passmanager import PropertySet, counts
from qtandem.compile.presets import preset_passes
from qtandem.errors import CompileError
from qtandem.sim.core import unitary
from qtandem.sim.dense import equal_up_to_phase


def _dense(c: Circuit) -> np.ndarray:
    return unitary(c).numpy()


def _givens_swap(c: Circuit, a: int, b: int, theta: float) -> Circuit:
    """A fermionic-swap-network step as a transpiler writes it: XX+YY rotation then a swap (5 CX)."""
    c.h(a).h(b).cx(a, b).rz(theta, b).cx(a, b).h(a).h(b)          # exp(-i theta/2 XX)
    c.sdg(a).sdg(b).h(a).h(b).cx(a, b).rz(theta, b).cx(a, b).h(a).h(b).s(a).s(b)   # exp(-i theta/2 YY)
    return c.cx(a, b).cx(b, a).cx(a, b)


def test_swap_around_a_rotation_is_absorbed() -> None:
    c = Circuit(3).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 2).rz(0.2, 2).cx(1, 2).cx(0, 1).cx(1, 0).cx(0, 1)
    out = SwapAbsorption("zsx").run(c)
    assert out.count_ops()["cx"] == 2
    assert equal_up_to_phase(_dense(out), _dense(c), 1e-8)


def test_swap_network_beats_plain_block_resynthesis() -> None:
    # four layers of a 4-qubit odd-even swap network (it reverses the qubits)
    r = random.Random(3)
    c = Circuit(4)
    for layer in range(4):
        for a in ((0, 2) if layer % 2 == 0 else (1,)):
            _givens_swap(c, a, a + 1, r.uniform(-1, 1))
    plain = TwoQubitResynthesis("zsx").run(c)
    out = SwapAbsorption("zsx").run(c)
    assert equal_up_to_phase(_dense(out), _dense(c), 1e-8)
    # every block: 3 CX alone, 2 with its swap absorbed; undoing the reversal at the end costs 4 back
    assert counts(plain).cx == 3 * 6
    assert counts(out).cx <= 2 * 6 + 4


@pytest.mark.parametrize(("objective", "seed"), [("cx", 0), ("gates", 1), ("depth", 2), ("t", 3)])
def test_random_circuits_stay_equal_and_never_cost_more(objective: str, seed: int) -> None:
    r = random.Random(seed)
    key = {"cx": lambda k: (k.cx, k.gates), "gates": lambda k: (k.gates, k.cx),
           "depth": lambda k: (k.depth, k.cx, k.gates), "t": lambda k: (k.t, k.gates, k.cx)}[objective]
    changed = 0
    for _ in range(8):
        n = r.choice([3, 4, 5])
        c = Circuit(n)
        for _ in range(40):
            x = r.random()
            if x < 0.3:
                c.cx(*r.sample(range(n), 2))
            elif x < 0.45:
                a, b = r.sample(range(n), 2)
                c.cx(a, b).cx(b, a).cx(a, b)
            elif x < 0.75:
                c.append(r.choice(["h", "sx", "t", "s"]), [r.randrange(n)])
            else:
                c.rz(r.uniform(-3, 3), r.randrange(n))
        out = SwapAbsorption("nam" if objective == "t" else "zsx").run(c, PropertySet(objective=objective))
        assert equal_up_to_phase(_dense(out), _dense(c), 1e-7)
        assert key(counts(out)) <= key(counts(c))
        changed += out != c
    assert changed >= 1


def test_clifford_t_circuits_stay_exact() -> None:
    c = Circuit(3)
    for a, b in ((0, 1), (1, 2), (0, 1)):
        c.cx(a, b).cx(b, a).cx(a, b).t(a).cx(a, b).tdg(b).cx(b, a).h(b)
    out = SwapAbsorption("nam").run(c, PropertySet(objective="cx"))
    ops = [(i.name, tuple(i.qubits), float(i.params[0]) if i.params else None, ()) for i in out]
    assert _exact(tuple(ops))
    assert equal_up_to_phase(_dense(out), _dense(c), 1e-8)


def test_level3_runs_it_and_bad_style() -> None:
    assert "swap_absorption" in [p.name for p in preset_passes(3, style="zsx", kak=True)]
    assert "swap_absorption" not in [p.name for p in preset_passes(3, style="zsx", kak=False)]
    with pytest.raises(CompileError, match="style"):
        SwapAbsorption("cz")
