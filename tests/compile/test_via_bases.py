"""Level 3 also optimizes in another basis (VIA_BASES) and translates the result: proven, never worse."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile import counts, optimize
from qtandem.compile.optimize import objective_cost
from qtandem.sim import unitary

VIA = importlib.import_module("qtandem.compile.via")


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    k = np.argmax(np.abs(a.ravel()))
    phase = b.ravel()[k] / a.ravel()[k]
    return abs(abs(phase) - 1) < 1e-7 and np.allclose(a * phase, b, atol=1e-7)


def _tof(c: Circuit, a: int, b: int, t: int) -> None:
    """A Toffoli written out in Clifford+T (6 CX, 7 T), as in the Nam suite."""
    c.h(t).cx(b, t).tdg(t).cx(a, t).t(t).cx(b, t).tdg(t).cx(a, t).t(b).t(t).h(t).cx(a, b).t(a).tdg(b).cx(a, b)


def _toffolis_in_u() -> Circuit:
    c = Circuit(5)
    for a, b, t in ((0, 1, 3), (2, 3, 4), (0, 1, 3)):
        _tof(c, a, b, t)
    return optimize(c, level=0, basis="u")[0]  # every T and H now a u gate: the {u, cx} passes miss the phases


def test_a_toffoli_circuit_in_u_gets_fewer_cx_through_another_basis(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _toffolis_in_u()
    assert set(c.count_ops()) <= {"u", "cx"}
    via, report = optimize(c, level=3, basis="u", seed=0)
    monkeypatch.setattr(VIA, "VIA_BASES", {})
    direct, _ = optimize(c, level=3, basis="u", seed=0)
    assert set(via.count_ops()) <= {"u", "cx"}
    assert counts(via).cx < counts(direct).cx  # 12 vs 18: nam's phase folding merges the T phases
    assert any("then level 2 into u" in n for n in report.notes)
    assert _same_up_to_phase(unitary(c), unitary(via))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("basis", ["u", "ibm"])
def test_random_circuits_through_other_bases_stay_equivalent_and_never_cost_more(
        seed: int, basis: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    c = Circuit(3)
    for _ in range(24):
        kind = rng.integers(5)
        q = [int(x) for x in rng.permutation(3)]
        if kind == 0:
            c.cx(q[0], q[1])
        elif kind == 1:
            c.rz(float(rng.uniform(-3, 3)), q[0])
        elif kind == 2:
            c.h(q[0])
        elif kind == 3:
            c.t(q[0])
        else:
            c.ccx(q[0], q[1], q[2])
    c = optimize(c, level=0, basis=basis)[0]
    cost = objective_cost("gates")
    via, _ = optimize(c, level=3, basis=basis, seed=seed)
    assert _same_up_to_phase(unitary(c), unitary(via))
    monkeypatch.setattr(VIA, "VIA_BASES", {})
    direct, _ = optimize(c, level=3, basis=basis, seed=seed)
    assert cost(counts(via)) <= cost(counts(direct))


def test_a_tight_budget_skips_the_other_bases_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    c = _toffolis_in_u()
    clock = iter(float(k) for k in range(0, 10_000, 3))  # every clock read: 3 s later
    monkeypatch.setattr(VIA.time, "perf_counter", lambda: next(clock))
    _, report = optimize(c, level=3, basis="u", seed=0, budget_s=20)
    assert any("then translated to u (budget)" in s for s in report.skipped)


def test_routing_gets_what_is_left_of_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    routing = importlib.import_module("qtandem.compile.routing")
    seen: list[dict] = []
    real = routing.route_and_verify

    def spy(circuit, device, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw)
        return real(circuit, device, **kw)

    monkeypatch.setattr(routing, "route_and_verify", spy)
    c = Circuit(3).h(0).cx(0, 2).cx(1, 2)
    optimize(c, level=1, hardware="heavy_hex_27", seed=0, budget_s=30)
    optimize(c, level=1, hardware="heavy_hex_27", seed=0)
    assert 0.25 <= seen[0]["budget_s"] <= 15 and "budget_s" not in seen[1]
