"""optimize() orchestration (issue 14): windows proven where they are rewritten, the objective respected,
the budget kept (fake clock), the report."""

from __future__ import annotations

import importlib
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile.optimize import objective_cost, optimize
from qtandem.compile.passmanager import counts
from qtandem.compile.pathsum_core import PathSumResult
from qtandem.compile.verify import equivalent
from qtandem.compile.windows import cut_windows, optimize_windows, prove_window
from qtandem.errors import VerificationError
from qtandem.sim.dense import equal_up_to_phase

OPT = importlib.import_module("qtandem.compile.stretches")  # where optimize() builds and proves candidates


def dense(c: Circuit) -> np.ndarray:
    from qtandem.sim import unitary

    return unitary(c).numpy()


def random_circuit(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(gates):
        r = rng.random()
        if r < 0.35:
            a, b = rng.choice(n, size=2, replace=False).tolist()
            c.cx(a, b)
        elif r < 0.55:
            c.h(int(rng.integers(n)))
        elif r < 0.8:
            c.rz(float(rng.uniform(-math.pi, math.pi)), int(rng.integers(n)))
        elif r < 0.9:
            c.t(int(rng.integers(n)))
        else:
            c.rx(float(rng.uniform(-math.pi, math.pi)), int(rng.integers(n)))
    return c


def _basis_change(c: Circuit, q: int, kind: str, sign: int) -> None:
    if kind == "h":
        c.h(q)
    else:
        c.rx(sign * math.pi / 2, q)


def uccsd_like(n: int, terms: int, seed: int) -> Circuit:
    """UCCSD-style Pauli exponentials: h / rx(pi/2) basis changes, a CX ladder, rz, the ladder back."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(terms):
        qs = sorted(rng.choice(n, size=4, replace=False).tolist())
        kinds = [str(rng.choice(["h", "rx"])) for _ in qs]
        for q, k in zip(qs, kinds, strict=True):
            _basis_change(c, q, k, 1)
        for a, b in itertools.pairwise(qs):
            c.cx(a, b)
        c.rz(float(rng.uniform(-1, 1)), qs[-1])
        for a, b in reversed(list(itertools.pairwise(qs))):
            c.cx(a, b)
        for q, k in zip(qs, kinds, strict=True):
            _basis_change(c, q, k, -1)
    return c


def _stuck(*args: object, **kwargs: object) -> PathSumResult:
    return PathSumResult("inconclusive", detail="forced by the test")


# --- windows -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("max_qubits", "max_gates", "first"), [(2, 5, None), (3, 7, 2), (4, 40, 13), (1, 3, 1)])
def test_cut_windows_compose_to_the_circuit(seed: int, max_qubits: int, max_gates: int, first: int | None) -> None:
    c = random_circuit(5, 60, seed)
    wins = cut_windows(c, max_qubits=max_qubits, max_gates=max_gates, first_gates=first)
    back = Circuit(5)
    for w in wins:
        assert w.circuit.n_qubits <= max(max_qubits, 2)  # a cx is one gate: it gets a window of its own at 1
        assert len(w.circuit) <= max_gates
        for inst in w.expand(w.circuit):
            back.append(inst)
    assert sum(len(w.circuit) for w in wins) == len(c)
    assert equal_up_to_phase(dense(back), dense(c))


def test_first_gates_shifts_the_boundaries() -> None:
    c = Circuit(2)
    for _ in range(6):
        c.h(0).cx(0, 1)
    sizes = [len(w.circuit) for w in cut_windows(c, max_qubits=2, max_gates=4)]
    shifted = [len(w.circuit) for w in cut_windows(c, max_qubits=2, max_gates=4, first_gates=2)]
    assert sizes == [4, 4, 4] and shifted == [2, 4, 4, 2]


def test_cut_windows_refuses_measurements() -> None:
    with pytest.raises(VerificationError, match="unitary circuit"):
        cut_windows(Circuit(1, 1).measure(0, 0), max_qubits=2, max_gates=4)


def test_optimize_windows_keeps_only_proven_rewrites() -> None:
    c = Circuit(3).h(0).h(0).cx(1, 2).t(2).cx(1, 2)

    def half_wrong(w: Circuit) -> list[Circuit]:  # drops every window's last gate: cheaper, wrong unless it cancels
        out = Circuit(w.n_qubits)
        for inst in list(w)[:-1]:
            out.append(inst)
        return [out]

    out, stats = optimize_windows(c, half_wrong, max_qubits=2, max_gates=10)
    assert equivalent(c, out)
    assert stats.dropped >= 1 and stats.reasons and "not equivalent" in stats.reasons[0]


def test_optimize_windows_translation_must_be_proven() -> None:
    with pytest.raises(VerificationError, match="could be proven"):
        optimize_windows(Circuit(1).x(0), lambda w: [Circuit(w.n_qubits).z(0)], keep_original=False)


def test_prove_window_uses_the_exact_check_where_the_path_sum_is_stuck(monkeypatch: pytest.MonkeyPatch) -> None:
    import qtandem.compile.verify as verify

    monkeypatch.setattr(verify, "check_identity", _stuck)
    a = Circuit(2).h(0).rz(0.3, 0).h(0).rx(0.2, 0).cx(0, 1)
    b = Circuit(2).rx(0.5, 0).cx(0, 1)
    assert prove_window(a, b) is None
    assert "not equivalent" in (prove_window(a, Circuit(2).rx(0.4, 0).cx(0, 1)) or "")
    assert "inconclusive" in (prove_window(a, b, max_exact_qubits=1) or "")


# --- the objective is respected -------------------------------------------------------------------------------


def test_a_circuit_already_in_the_basis_is_never_made_worse() -> None:
    """The issue's QAOA bug: input in {cx, rz, sx, x} went 270 -> 350 gates with --basis ibm."""
    from qtandem.compile.generate import generate

    c = generate("qaoa", 6, seed=0, basis="ibm")
    assert set(c.count_ops()) <= {"cx", "rz", "sx", "x"}
    for objective in ("gates", "cx", "depth"):
        out, _ = optimize(c, level=2, basis="ibm", objective=objective)
        cost = objective_cost(objective)
        assert cost(counts(out)) <= cost(counts(c))
        assert set(out.count_ops()) <= {"cx", "rz", "sx", "x"}
        assert equal_up_to_phase(dense(out), dense(c))


def test_costlier_passes_fall_back_to_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    class Inflate:  # equivalent but costlier: h h appended on every qubit
        name = "inflate"

        def run(self, circuit: Circuit, props: object = None) -> Circuit:
            out = circuit.copy()
            for q in range(circuit.n_qubits):
                out.h(q).h(q)
            return out

    monkeypatch.setattr(OPT, "preset_passes", lambda level, **kw: [Inflate()])
    c = Circuit(2).sx(0).cx(0, 1).rz(0.3, 1)
    out, _ = optimize(c, level=2, basis="ibm")
    assert out == c


def test_objective_cx_changes_what_optimize_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two equivalent level 3 variants: fewer gates (2, 2 CX) vs fewer CX (6, 0 CX); the objective picks."""
    fewer_gates = Circuit(2).cx(0, 1).cx(0, 1)
    fewer_cx = Circuit(2).x(0).x(0).x(1).x(1).h(0).h(0)

    class Give:
        name = "give"

        def __init__(self, which: Circuit) -> None:
            self.which = which

        def run(self, circuit: Circuit, props: object = None) -> Circuit:
            return self.which.copy()

    def presets(level: int, **kw: object) -> list:
        return [Give(fewer_gates if kw.get("placement") == "smart" else fewer_cx)]

    monkeypatch.setattr(OPT, "preset_passes", presets)
    import qtandem.compile.select as select

    monkeypatch.setattr(select, "learned_candidates", lambda *a, **k: [])  # only the two variants above
    c = Circuit(2).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 0).x(0).x(0)  # swap . swap = identity
    by_gates, _ = optimize(c, level=3, objective="gates", policy=None)
    by_cx, _ = optimize(c, level=3, objective="cx", policy=None)
    assert by_gates == fewer_gates and by_cx == fewer_cx


def test_objective_cost_reaches_the_window_choice() -> None:
    """optimize_windows keeps the cheapest proven candidate under the given cost: gates vs CX first."""
    c = Circuit(2).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 0).x(0).x(0)  # swap . swap = identity
    fewer_gates = Circuit(2).cx(0, 1).cx(0, 1)                                           # 2 gates, 2 CX
    fewer_cx = Circuit(2).x(0).x(0).x(1).x(1).h(0).h(0)                                  # 6 gates, 0 CX
    cands = lambda w: [fewer_gates, fewer_cx]  # noqa: E731
    by_gates, _ = optimize_windows(c, cands, cost=objective_cost("gates"), max_qubits=2, max_gates=100)
    by_cx, _ = optimize_windows(c, cands, cost=objective_cost("cx"), max_qubits=2, max_gates=100)
    assert by_gates == fewer_gates and by_cx == fewer_cx


# --- verification where each rewrite is made -------------------------------------------------------------------


def test_chemistry_13_qubits_optimizes_when_the_path_sum_is_stuck(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: `qtandem optimize` exited 2 with 'pathsum inconclusive' on a 13-qubit chemistry circuit.

    With the path sum made useless, the whole 13-qubit stretch cannot be proven (exact is limited to 10
    active qubits in optimize); windows of <= 8 qubits are proven exactly and the global check is reported
    inconclusive, not raised."""
    import qtandem.compile.verify as verify

    monkeypatch.setattr(verify, "check_identity", _stuck)
    c = uccsd_like(13, 12, seed=3)
    out, report = optimize(c, level=2, basis="ibm")
    assert set(out.count_ops()) <= {"cx", "rz", "sx", "x"}
    assert counts(out).gates < counts(c).gates * 2
    w = report.windows
    assert w["windows"] > 1 and w["proven"] >= 1
    assert any("inconclusive" in v for v in report.verification)
    monkeypatch.undo()
    assert equivalent(c, out)  # the real path sum (or exact per stretch) agrees


def test_chemistry_13_qubits_real_run_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qtandem.cli.main import main
    from qtandem.qasm import dump, load

    c = uccsd_like(13, 20, seed=5)
    src, dst = tmp_path / "chem.qasm", tmp_path / "out.qasm"
    dump(c, src)
    with pytest.raises(SystemExit) as info:
        main(["optimize", str(src), "-o", str(dst), "--expansions", "200", "--basis", "ibm", "--json", "--passes"])
    assert int(info.value.code or 0) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["final"]["gates"] <= data["initial"]["gates"] * 2
    assert "windows" in data and "verification" in data and "skipped" in data
    assert all("windows_proven" in p and "seconds" in p for p in data["passes"])
    assert equivalent(c, load(dst))


def test_a_real_difference_in_the_global_check_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows proven but the composition differs (a broken stitch, simulated): the second check raises."""
    real = OPT._optimize_stretch

    def broken(part: Circuit, plan: object, report: object) -> tuple[Circuit, int]:
        out, _ = real(part, plan, report)
        return out.copy().x(0), 2  # claims two proof links, so the global check runs

    monkeypatch.setattr(OPT, "_optimize_stretch", broken)
    with pytest.raises(VerificationError, match="not equivalent"):
        optimize(Circuit(2).h(0).cx(0, 1).t(1), level=2)


@pytest.mark.parametrize("seed", range(4))
def test_random_circuits_stay_equivalent_in_windows(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import qtandem.compile.verify as verify

    monkeypatch.setattr(verify, "check_identity", _stuck)  # force the window path: no path sum, and exact
    monkeypatch.setattr(OPT, "_EXACT_QUBITS", 4)             # checks only up to 4 qubits
    monkeypatch.setattr(OPT, "WINDOW_QUBITS", 4)
    monkeypatch.setattr(OPT, "WINDOW_GATES", 30)
    c = random_circuit(7, 150, seed)
    out, report = optimize(c, level=2)
    assert report.windows["windows"] > 2 and report.windows["proven"] >= 1
    assert counts(out).gates <= counts(c).gates
    monkeypatch.undo()
    verify.verify_equivalent(c, out, method="exact")  # the dense unitaries agree


# --- budget (fake clock) ---------------------------------------------------------------------------------------


def test_budget_caps_the_run_with_a_fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every clock reading is 1 s later: with budget_s=10 optimization stops early, what is proven is kept,
    and the report says what was skipped."""
    clock = [0.0]

    def slow() -> float:
        clock[0] += 1.0
        return clock[0]

    c = Circuit(3, 1)
    for k in range(6):
        c.h(0).h(0).cx(0, 1).cx(0, 1).t(2)
        if k % 2:
            c.measure(2, 0)
    monkeypatch.setattr(time, "perf_counter", slow)
    out, report = optimize(c, level=3, budget_s=10, seed=0)
    monkeypatch.undo()
    assert equivalent(c, out)
    assert report.skipped, report.notes
    assert any(n.startswith("skipped: ") for n in report.notes)
    assert counts(out).gates <= counts(c).gates


def test_budget_late_still_translates_and_proves(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]

    def slow() -> float:
        clock[0] += 5.0
        return clock[0]

    c = Circuit(3).h(0).cx(0, 1).ccx(0, 1, 2).h(2).h(2)
    monkeypatch.setattr(time, "perf_counter", slow)
    out, report = optimize(c, level=3, budget_s=1, basis="ibm", seed=0)
    monkeypatch.undo()
    assert set(out.count_ops()) <= {"cx", "rz", "sx", "x"}
    assert equivalent(c, out)
    assert report.skipped


def test_without_budget_the_result_does_not_depend_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    c = uccsd_like(5, 6, seed=1)
    ref, _ = optimize(c, level=3, seed=0, budget_expansions=200)
    clock = [0.0]

    def slow() -> float:
        clock[0] += 3.0
        return clock[0]

    monkeypatch.setattr(time, "perf_counter", slow)
    out, _ = optimize(c, level=3, seed=0, budget_expansions=200)
    monkeypatch.undo()
    assert out == ref


# --- report ----------------------------------------------------------------------------------------------------


def test_report_has_per_pass_counts_and_window_tallies() -> None:
    c = Circuit(3).h(0).h(0).cx(0, 1).t(1).cx(0, 1).cx(0, 1).tdg(1).cx(0, 1)
    _, report = optimize(c, level=2)
    d = report.to_dict()
    names = [p["name"] for p in d["passes"]]
    assert "cancellation" in names and "whole stretch" in names
    canc = next(p for p in d["passes"] if p["name"] == "cancellation")
    assert canc["before"]["gates"] > canc["after"]["gates"] and canc["windows_proven"] >= 1
    assert d["windows"]["proven"] == 1 and d["windows"]["dropped"] == 0
    assert "ok/drop" in str(report) or "windows" in str(report)
    json.dumps(d)


def test_pass_manager_starts_no_pass_after_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    from qtandem.compile.passes.cancellation import GateCancellation
    from qtandem.compile.passmanager import PassManager

    clock = [0.0]

    def slow() -> float:
        clock[0] += 1.0
        return clock[0]

    monkeypatch.setattr(time, "perf_counter", slow)
    pm = PassManager([GateCancellation(), GateCancellation(), GateCancellation()], repeat=5, deadline=2.5)
    out = pm.run(Circuit(1).h(0).h(0).x(0))
    monkeypatch.undo()
    assert len(pm.report.entries) == 1 and out.count_ops() == {"x": 1}
    assert any("deadline" in n for n in pm.report.notes)


def test_stop_on_inconclusive_tries_no_further_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    import qtandem.compile.verify as verify

    monkeypatch.setattr(verify, "check_identity", _stuck)
    c = Circuit(3).h(0).h(0).cx(0, 1).cx(0, 1).cx(1, 2)
    cands = lambda w: [Circuit(w.n_qubits).cx(1, 2), Circuit(w.n_qubits).cx(1, 2).h(0).h(0)]  # noqa: E731
    _, stats = optimize_windows(c, cands, max_qubits=3, max_gates=10, max_exact_qubits=1, stop_on_inconclusive=True)
    assert stats.dropped == 1
    _, stats = optimize_windows(c, cands, max_qubits=3, max_gates=10, max_exact_qubits=1)
    assert stats.dropped == 2


def test_long_stretches_off_the_pi4_grid_go_straight_to_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OPT, "_WHOLE_GATES", 20)
    c = uccsd_like(6, 4, seed=2)
    out, report = optimize(c, level=2)
    assert report.windows["windows"] > 1 and report.windows["proven"] >= 1
    assert any("off the pi/4 grid" in v for v in report.verification)
    assert equal_up_to_phase(dense(out), dense(c))
    clifford_t = Circuit(3)
    for _ in range(8):
        clifford_t.h(0).cx(0, 1).t(1).cx(1, 2).tdg(2)
    _, report = optimize(clifford_t, level=2)
    assert report.windows["windows"] == 1  # on the pi/4 grid: the whole stretch, proven by the path sum


def test_the_translation_is_chosen_per_circuit_when_no_basis_is_given() -> None:
    """Input gates in no named basis (ry): keeping them, nam and ibm are tried; the cheapest verified one wins."""
    c = Circuit(3)
    for q in range(3):
        for k in range(6):
            c.ry(0.1 * (k + 1) + q, q)
    c.cx(0, 1).cx(1, 2)
    out, report = optimize(c, level=2)
    note = next(n for n in report.notes if n.startswith("basis chosen per circuit"))
    assert counts(out).gates < counts(c).gates
    assert ("nam" in note and set(out.count_ops()) <= {"h", "x", "cx", "rz"}) or \
        ("ibm" in note and set(out.count_ops()) <= {"sx", "x", "cx", "rz"}) or "input gates" in note
    assert equal_up_to_phase(dense(out), dense(c))


def test_long_off_grid_translation_is_proven_in_windows_and_the_search_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OPT, "_WHOLE_GATES", 20)
    monkeypatch.setattr(OPT, "_EXACT_QUBITS", 4)
    monkeypatch.setattr(OPT, "WINDOW_QUBITS", 4)
    c = uccsd_like(6, 5, seed=4)
    out, report = optimize(c, level=3, basis="ibm", seed=0)
    assert set(out.count_ops()) <= {"cx", "rz", "sx", "x"}
    assert "translation" in [e.name for e in report.entries]
    assert any("translation proven in" in v for v in report.verification)
    assert any("learned rewrite search" in s for s in report.skipped)
    monkeypatch.undo()
    assert equal_up_to_phase(dense(out), dense(c))


def test_chemistry_13_qubits_cli_level3_exits_0_when_the_path_sum_is_stuck(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's failure mode at the default level: exit 0, windows proven, the global check reported."""
    import qtandem.compile.verify as verify
    from qtandem.cli.main import main
    from qtandem.qasm import dump, load

    c = uccsd_like(13, 10, seed=7)
    src, dst = tmp_path / "chem.qasm", tmp_path / "out.qasm"
    dump(c, src)
    monkeypatch.setattr(verify, "check_identity", _stuck)
    with pytest.raises(SystemExit) as info:
        main(["optimize", str(src), "-o", str(dst), "--expansions", "100", "--json"])
    monkeypatch.undo()
    assert int(info.value.code or 0) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["windows"]["proven"] >= 1
    assert any("inconclusive" in v for v in data["verification"])
    assert equivalent(c, load(dst))
