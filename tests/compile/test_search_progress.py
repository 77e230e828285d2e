"""Level 3's progress callback: counts expansions of the budget and never changes the result."""

import io

from rich.console import Console

from qtandem import Circuit
from qtandem.cli.optimize import _Progress
from qtandem.compile import optimize
from qtandem.compile.search import search


def _circuit() -> Circuit:
    c = Circuit(3)
    for _ in range(4):
        c.cx(0, 1).t(1).cx(0, 1).h(2).cx(1, 2).tdg(2).cx(1, 2).h(2)
    return c


def test_search_reports_expansions_of_the_budget_and_same_result():
    calls: list[tuple[int, int]] = []
    a = search(_circuit(), seed=3, budget_expansions=200, progress=lambda d, t: calls.append((d, t)))
    b = search(_circuit(), seed=3, budget_expansions=200)
    assert a.circuit == b.circuit
    assert calls and all(t == 200 for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == a.stats.expansions <= 200


def test_optimize_passes_progress_to_level3_only():
    calls: list[tuple[int, int]] = []
    out, _ = optimize(_circuit(), level=3, seed=1, budget_expansions=150, progress=lambda d, t: calls.append((d, t)))
    ref, _ = optimize(_circuit(), level=3, seed=1, budget_expansions=150)
    assert out == ref and calls
    calls.clear()
    optimize(_circuit(), level=2, progress=lambda d, t: calls.append((d, t)))
    assert calls == []


def test_cli_bar_draws_on_a_terminal():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    with _Progress(enabled=True, console=console, label="optimizing x.qasm") as bar:
        bar.update(10, 40)
        bar.update(40, 40)
    with _Progress(enabled=False, console=console, label="x") as off:
        off.update(1, 2)  # ignored
    assert "optimizing x.qasm" in buf.getvalue()
