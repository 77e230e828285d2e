"""Level 3 through other bases: optimize in a middle basis, translate the result, keep the cheapest."""

from __future__ import annotations

import time
from collections.abc import Callable

from qtandem.circuit import Circuit
from qtandem.compile.passmanager import Counts, PropertySet, Report, counts
from qtandem.compile.stretches import optimize_unitary, short
from qtandem.errors import CompileError

__all__: list[str] = []  # internal to qtandem.compile; optimize(level=3) uses it

VIA_BASES: dict[str, tuple[str, ...]] = {"u": ("ibm", "nam"), "ibm": ("nam",)}
"""Level 3 in a target basis (key) also optimizes the circuit in each of these bases, translates that result
to the target at level 2, and keeps the cheapest of all under the objective: Nam's phase folding and
Toffoli-aware variants and the {rz, sx, x} rules find CX savings that the {u, cx} passes miss (dev set:
tof_5 in {u, cx} 89/42 direct, 56/24 through nam)."""

_VIA_MIN_SHARE = 0.25  # with budget_s, the other bases are tried only while this share of it is left



def via_bases(circuit: Circuit, out: Circuit, report: Report, target: str | None, cost: Callable[[Counts], tuple],
               props: PropertySet, budget_s: float | None, start: float) -> tuple[Circuit, Report]:
    """The direct result ``out`` against level 3 in each of ``VIA_BASES[target]``, then level 2 into ``target``
    (``out`` itself when ``target`` has no entry).

    Each route is two proven :func:`optimize` runs chained (the input against the middle basis, that result
    against its translation), so its result is proven like the direct one; the cheapest under ``cost`` is
    returned (the direct one on ties).
    """
    if target not in VIA_BASES:
        return out, report
    best, best_report, best_cost = out, report, cost(counts(out))
    tried: list[str] = []
    routes = VIA_BASES[target]
    for k, mid in enumerate(routes):
        share = None
        if budget_s is not None:
            left = budget_s - (time.perf_counter() - start)
            if left < _VIA_MIN_SHARE * budget_s:
                report.skipped.append(f"level 3 in {', '.join(routes[k:])} then translated to {target} (budget)")
                break
            share = left / (len(routes) - k)
        t0 = time.perf_counter()
        try:
            mid_out, rep1 = optimize_unitary(circuit, 3, mid, cost, PropertySet(props), None if share is None
                                              else 0.7 * share, t0)
            t1 = time.perf_counter()
            final, rep2 = optimize_unitary(mid_out, 2, target, cost, PropertySet(props, level=2),
                                            None if share is None else share - (t1 - t0), t1)
        except CompileError as err:  # a gate the middle basis cannot express
            report.notes.append(f"level 3 in {mid} not tried: {short(str(err), 100)}")
            continue
        c = counts(final)
        tried.append(f"{mid} {c.gates}/{c.cx}")
        if cost(c) < best_cost:
            merged = Report(initial=report.initial, entries=[*rep1.entries, *rep2.entries],
                            notes=[*rep1.notes, *rep2.notes], skipped=[*rep1.skipped, *rep2.skipped],
                            verification=[*rep1.verification, *rep2.verification],
                            windows={key: rep1.windows.get(key, 0) + rep2.windows.get(key, 0)
                                     for key in {*rep1.windows, *rep2.windows}})
            best, best_report, best_cost = final, merged, cost(c)
            best_report.notes.append(f"level 3 in {mid}, then level 2 into {target}, was cheaper than level 3 in "
                                     f"{target} ({c.gates}/{c.cx} vs {counts(out).gates}/{counts(out).cx} gates/CX); "
                                     "both steps proven")
    if best is out:
        report.notes.append(f"level 3 in {target} kept over the other bases (gates/CX: {', '.join(tried) or 'none'})")
    else:
        best_report.skipped.extend(s for s in report.skipped if s not in best_report.skipped)
    return best, best_report

