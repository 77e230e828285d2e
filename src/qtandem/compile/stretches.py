"""One :func:`~qtandem.compile.optimize.optimize` run in one target basis: every unitary stretch translated,
optimized (candidates of the level, proven whole or window by window) and searched, before routing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from qtandem.circuit import Circuit
from qtandem.compile.passes.basis import BASES, BasisTranslation, resolve_basis
from qtandem.compile.passes.not_propagation import NotPropagation
from qtandem.compile.passes.toffoli import ToffoliDecomposition
from qtandem.compile.passes.toffoli_recognition import ToffoliRecognition
from qtandem.compile.passmanager import (
    Counts,
    PassManager,
    PassRecord,
    PropertySet,
    Report,
    counts,
    split_stretches,
    stitch,
)
from qtandem.compile.presets import _style, preset_passes
from qtandem.compile.windows import WindowStats, optimize_windows, prove_window
from qtandem.errors import CompileError, VerificationError

__all__: list[str] = []  # internal to qtandem.compile; the entry point is qtandem.compile.optimize

def _verifier() -> Callable[[Circuit, Circuit], None]:
    try:
        from qtandem.compile.verify import verify_equivalent
    except ImportError as err:  # pragma: no cover - the verifier ships with the package
        raise CompileError("qtandem.compile.verify is not available, so the result cannot be verified; "
                           "optimize() never returns an unverified circuit") from err
    return verify_equivalent


WINDOW_QUBITS = 8
"""Wires per window when a whole stretch cannot be proven at once (exact dense checks stay fast)."""

WINDOW_GATES = 200
"""Gates per window in that case."""

_EXACT_QUBITS = 10   # widest exact check optimize() starts (a 12-qubit dense check of a long stretch takes minutes)
_OPT_SHARE = 0.8     # share of budget_s after which optimization stops (the rest: translation proofs, checks)
_PER_GATE_S = 5e-5   # and a reserve per input gate for stitching and counting (46k gates: 2.3 s); both
                     # reserves together at most 40% of the budget
_ROUNDS = 3          # rounds of windows, boundaries shifted between them
_WHOLE_GATES = 3000  # longer stretches with angles off the pi/4 grid go straight to windows (a path sum of
                     # thousands of such rotations is slow and inconclusive: 20 s for 5k gates on 21 qubits)


def _unprovable_whole(c: Circuit) -> bool:
    """Too long, too wide and off the pi/4 grid for a whole-circuit proof (path sum stuck, exact too wide)."""
    return len(c) > _WHOLE_GATES and not _dyadic(c) and len({q for i in c for q in i.qubits}) > _EXACT_QUBITS


def _dyadic(c: Circuit) -> bool:
    """Every numeric angle a multiple of pi/4 (the path sum proves such circuits at any width)."""
    for inst in c:
        for p in inst.params:
            k = float(p) / (math.pi / 4)  # type: ignore[arg-type]
            if abs(k - round(k)) > 1e-9:
                return False
    return True


class _Plan:
    """What every stretch of one optimize() call shares: basis, style, cost, the clock."""

    def __init__(self, *, level: int, target: str | None, allowed: frozenset[str], style: str | None,
                 cost: Callable[[Counts], tuple], props: PropertySet, budget_s: float | None, start: float,
                 report: Report) -> None:
        self.level, self.target, self.allowed, self.style = level, target, allowed, style
        self.cost, self.props, self.budget_s, self.start, self.report = cost, props, budget_s, start, report
        self.tally: dict[str, list[Any]] = {}
        self.gates = report.initial.gates if report.initial is not None else 0
        self.stats = WindowStats()

    def note_once(self, text: str) -> None:
        if text not in self.report.notes:
            self.report.notes.append(text)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def late(self) -> bool:
        """Past the share of the budget given to optimizing (never with ``budget_s=None``)."""
        return self.budget_s is not None and self.elapsed() > self._opt_s()

    def remaining(self) -> float | None:
        return None if self.budget_s is None else max(self._opt_s() - self.elapsed(), 0.01)

    def deadline(self) -> float | None:
        return None if self.budget_s is None else self.start + self._opt_s()

    def _opt_s(self) -> float:
        """Seconds of the budget given to optimizing."""
        assert self.budget_s is not None
        reserve = min(_PER_GATE_S * self.gates, 0.2 * self.budget_s)
        return _OPT_SHARE * self.budget_s - reserve

    def in_basis(self, c: Circuit) -> bool:
        return all(i.name in self.allowed for i in c if i.is_gate)

    def finish(self, c: Circuit) -> Circuit:
        """Translate what a pass left outside the target basis (e.g. a Toffoli decomposition's gates)."""
        if self.target is None or self.in_basis(c):
            return c
        return BasisTranslation(self.target).run(c, self.props)

    def translate(self, c: Circuit) -> Circuit:
        assert self.target is not None
        toffoli = ToffoliDecomposition("clifford_t" if self.target == "clifford_t" else "nam")
        return BasisTranslation(self.target).run(toffoli.run(c, self.props), self.props)

    def record(self, rep: Report, *, proven: bool) -> None:
        """Add a candidate's pass records to the per-pass totals (summed over windows and repetitions)."""
        for e in rep.entries:
            row = self.tally.setdefault(e.name, [[0, 0, 0, 0], [0, 0, 0, 0], 0.0, 0, 0])
            if proven:
                for k, f in enumerate(("gates", "cx", "t", "depth")):
                    row[0][k] += getattr(e.before, f)
                    row[1][k] += getattr(e.after, f)
                row[2] += e.seconds
            if e.after != e.before:
                row[3 if proven else 4] += 1

    def records(self) -> list[PassRecord]:
        return [PassRecord(name, Counts(*b), Counts(*a), s, p, d) for name, (b, a, s, p, d) in self.tally.items()]


def _candidates(w: Circuit, plan: _Plan) -> list[tuple[Circuit, Report]]:
    """Rewrites of one window (already in the target basis), not yet verified; none once time is short."""
    if plan.level == 0 or plan.late():
        return []
    if plan.level <= 2:
        rep = Report()
        pm = PassManager(preset_passes(plan.level, style=plan.style), repeat=1 if plan.level == 1 else 8,
                         budget_s=plan.remaining(), cost=plan.cost, deadline=plan.deadline())
        return [(plan.finish(pm.run(w, plan.props, report=rep)), rep)]
    return _level3_candidates(w, plan)


def _level3_candidates(part: Circuit, plan: _Plan) -> list[tuple[Circuit, Report]]:
    """Level 3's variants: NOT propagation and Toffoli recognition as starts, three phase-folding placements."""
    props = plan.props
    starts: list[tuple[str, Circuit, list]] = [("", part, [])]
    if any(i.name == "x" for i in part):
        not_report = Report()
        moved = PassManager([NotPropagation()]).run(part, props, report=not_report)
        if moved != part:
            starts.append(("NOT-propagated ", moved, not_report.entries))
    if props.get("toffoli_style") is not None:
        for label, begin, pre in list(starts):
            recog = PassManager([ToffoliRecognition(), ToffoliDecomposition(props["toffoli_style"])])
            rec_report = Report()
            rec = recog.run(begin, props, report=rec_report)
            if rec != begin:
                starts.append((f"{label}toffoli-aware ", rec, pre + rec_report.entries))
    if props.get("gadgets", True) and props["kak"]:
        from qtandem.compile.passes.gadgets import PauliGadgets

        gadget_report = Report()
        gadgets = PassManager([PauliGadgets()]).run(part, props, report=gadget_report)
        # a start far above the input in CX rarely comes back below it, and each start costs a pass run
        if gadgets != part and gadgets.count_ops().get("cx", 0) <= 1.25 * part.count_ops().get("cx", 0) + 2:
            starts.append(("Pauli-gadget ", gadgets, gadget_report.entries))
    out: list[tuple[Circuit, Report]] = []
    for label, begin, pre in starts:
        for placement in ("smart", "first", "last") if not label.startswith("Pauli") else ("smart",):
            if out and plan.late():
                plan.note_once("level 3 stopped trying variants (budget)")
                break
            # swap absorption only in the first variant: its greedy choice can lead the later passes
            # elsewhere (gen_uccsd_4 at level 3: 159/66 gates/CX with it, 157/62 without), so the
            # other variants keep the route without it and the cheapest result wins
            passes = preset_passes(3, style=plan.style, placement=placement, kak=props["kak"],
                                   swaps=placement == "smart")
            pm = PassManager(passes, repeat=30, budget_s=plan.remaining(), cost=plan.cost, deadline=plan.deadline())
            cand = plan.finish(pm.run(begin, props, report=Report()))
            rep = Report(entries=list(pre) + pm.report.entries)
            rep.notes.append(f"level 3 kept the {label}variant with {placement} placement")
            out.append((cand, rep))
    if not plan.late():  # the learned pass-sequence choice: the selector's top pipelines join the candidates
        from qtandem.compile.select import learned_candidates

        for _, cand, rep in learned_candidates(part, props, style=plan.style, cost=plan.cost,
                                               budget_s=plan.remaining()):
            out.append((plan.finish(cand), rep))
    return out


def _window_fn(plan: _Plan, report: Report) -> Callable[[Circuit], list[Circuit]]:
    """``candidates(window)`` for :func:`~qtandem.compile.windows.optimize_windows`, recording reports."""
    reps: list[Report] = []

    def fn(w: Circuit) -> list[Circuit]:
        pairs = _candidates(w, plan)
        reps[:] = [r for _, r in pairs]
        return [c for c, _ in pairs]

    def accept(_: Circuit, k: int) -> None:
        plan.record(reps[k], proven=True)
        for n in reps[k].notes:
            if n not in report.notes:
                report.notes.append(n)

    def drop(_: Circuit, k: int, reason: str) -> None:
        plan.record(reps[k], proven=False)
        report.notes.append(f"a cheaper candidate was not provably equivalent ({short(reason)}); "
                            "kept the window's previous gates or the next candidate")

    fn.accept = accept  # type: ignore[attr-defined]
    fn.drop = drop  # type: ignore[attr-defined]
    return fn


def short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _stage(report: Report, name: str, before: Circuit, after: Circuit, t0: float, stats: WindowStats) -> None:
    report.entries.append(PassRecord(name, counts(before), counts(after), time.perf_counter() - t0,
                                     stats.proven, stats.dropped))


def _translate_stretch(part: Circuit, plan: _Plan, report: Report) -> tuple[Circuit, int]:
    """The stretch's direct translation into the target basis, proven (whole, else window by window)."""
    if plan.target is None or plan.in_basis(part):
        return part, 0
    t0 = time.perf_counter()
    stats = WindowStats(windows=1)
    reason: str | None
    if _unprovable_whole(part):
        whole, reason = part, f"{len(part)} gates off the pi/4 grid: proven in windows"
    else:
        whole = plan.translate(part)
        reason = prove_window(part, whole, max_exact_qubits=_EXACT_QUBITS)
    if reason is None:
        stats.proven = 1
        out = whole
    else:
        out, stats = optimize_windows(part, lambda w: [plan.translate(w)], cost=plan.cost, max_qubits=WINDOW_QUBITS,
                                      max_gates=WINDOW_GATES, keep_original=False, max_exact_qubits=_EXACT_QUBITS)
        report.verification.append(f"translation proven in {stats.proven} windows (whole stretch: "
                                   f"{short(reason, 100)})")
    _stage(report, "translation", part, out, t0, stats)
    plan.stats.merge(stats)
    return out, 1


def _optimize_stretch(part: Circuit, plan: _Plan, report: Report) -> tuple[Circuit, int]:
    """Optimize a stretch already in the target basis; returns the result and how many proofs chain to it."""
    if plan.level == 0 or not part.num_gates():
        return part, 0
    fn = _window_fn(plan, report)
    t0 = time.perf_counter()
    if plan.late():
        report.skipped.append(f"a stretch of {part.num_gates()} gates was not optimized (budget)")
        return part, 0
    if len(part) <= _WHOLE_GATES or _dyadic(part):
        out, stats = optimize_windows(part, fn, cost=plan.cost, max_qubits=max(part.n_qubits, 1),
                                      max_gates=max(len(part), 1), max_exact_qubits=_EXACT_QUBITS,
                                      deadline=plan.deadline(), stop_on_inconclusive=not _dyadic(part),
                                      on_accept=fn.accept, on_drop=fn.drop)  # type: ignore[attr-defined]
        _stage(report, "whole stretch", part, out, t0, stats)
        plan.stats.merge(stats)
        if stats.proven or not stats.dropped:
            return out, int(stats.proven)
        why = f"the whole-stretch result could not be proven ({short(stats.reasons[0], 100)})"
    else:
        why = f"a stretch of {len(part)} gates with rotation angles off the pi/4 grid"
    report.verification.append(f"{why}: optimized in windows of <= {WINDOW_QUBITS} qubits and {WINDOW_GATES} "
                               "gates, each proven")
    cur = part
    for r in range(_ROUNDS):
        if plan.late():
            report.skipped.append(f"window rounds {r + 1}..{_ROUNDS} (budget)")
            break
        t0 = time.perf_counter()
        first = None if r == 0 else max(1, WINDOW_GATES * r // _ROUNDS)
        new, stats = optimize_windows(cur, fn, cost=plan.cost, max_qubits=WINDOW_QUBITS, max_gates=WINDOW_GATES,
                                      first_gates=first, max_exact_qubits=_EXACT_QUBITS, deadline=plan.deadline(),
                                      on_accept=fn.accept, on_drop=fn.drop)  # type: ignore[attr-defined]
        _stage(report, f"windows round {r + 1}", cur, new, t0, stats)
        plan.stats.merge(stats)
        if stats.skipped:
            report.skipped.append(f"{stats.skipped} of {stats.windows} windows in round {r + 1} (budget)")
        improved = plan.cost(counts(new)) < plan.cost(counts(cur))
        if improved:
            cur = new
        if not improved:
            break
    return cur, 2


def _global_check(original: Circuit, result: Circuit, plan: _Plan, report: Report, k: int) -> None:
    """The second check: a real difference raises; an inconclusive one is reported (the windows are proven)."""
    if plan.budget_s is not None and plan.late():
        report.skipped.append(f"global second check of stretch {k} (budget); the result is proven window by window")
        return
    if _unprovable_whole(original):
        report.verification.append(f"stretch {k}: global second check not attempted (a path sum over "
                                   f"{len(original)} off-grid rotations on {original.n_qubits} qubits is slow and "
                                   "inconclusive); the result is proven window by window")
        return
    try:
        _verifier()(original, result, max_exact_qubits=_EXACT_QUBITS)  # type: ignore[call-arg]
    except VerificationError as err:
        if "not equivalent" in str(err):
            raise
        report.verification.append(f"stretch {k}: global second check inconclusive ({short(str(err), 120)}); "
                                   "the result is proven window by window")
        return
    report.verification.append(f"stretch {k}: global second check passed")


def _run_all(in_parts: list[Circuit], plan: _Plan, report: Report, seed: int | None) -> tuple[list[Circuit],
                                                                                                list[Circuit]]:
    """Every stretch translated (proven), optimized (proven), searched (proven); returns (baselines, results)."""
    bases: list[Circuit] = []
    outs: list[Circuit] = []
    left = sum(p.num_gates() for p in in_parts)
    for k, part in enumerate(in_parts):
        base, links = _translate_stretch(part, plan, report)
        best, more = _optimize_stretch(base, plan, report)
        links += more
        share = part.num_gates() / max(left, 1)  # the search's time: this stretch's share of what is left
        left -= part.num_gates()
        if plan.level == 3 and best.num_gates() and _unprovable_whole(best):
            report.skipped.append(f"the learned rewrite search on stretch {k}: its result could not be proven "
                                  f"as a whole ({len(best)} gates off the pi/4 grid)")
        elif plan.level == 3 and best.num_gates():
            rem = plan.remaining()
            found = _search(best, plan.props, report, cost=plan.cost, budget_s=None if rem is None else rem * share,
                            start=time.perf_counter(), seed=seed, late=plan.late())
            if found is not best:
                reason = prove_window(part, found, max_exact_qubits=_EXACT_QUBITS)
                if reason is None:
                    best, links = found, 1
                else:
                    reason2 = prove_window(best, found, max_exact_qubits=_EXACT_QUBITS)
                    if reason2 is None:
                        best, links = found, links + 1
                    else:
                        report.notes.append(f"the search result was not provably equivalent ({short(reason2)}); "
                                            "kept the pass result")
        if links > 1 and best != part:
            _global_check(part, best, plan, report, k)
        bases.append(base)
        outs.append(best)
    return bases, outs


def _choose_basis(in_parts: list[Circuit], fences: list, circuit: Circuit, plan: _Plan, report: Report) -> str | None:
    """No basis given and none named holds the input's gates: the cheapest of keeping them, nam or ibm
    (the level's passes once on the whole circuit, unverified; the chosen one is then run and proven)."""
    best: tuple[tuple, int, str | None] | None = None
    for k, option in enumerate((None, "nam", "ibm")):
        try:
            allowed = BASES[option] if option else plan.allowed
            sub = _Plan(level=plan.level, target=option, allowed=allowed,
                        style=plan.style if option is None else ("zsx" if option == "ibm" else "nam"),
                        cost=plan.cost, props=PropertySet(plan.props, basis=option, kak="cx" in allowed),
                        budget_s=None, start=plan.start, report=Report())
            pm = PassManager(preset_passes(min(plan.level, 3), style=sub.style, kak="cx" in allowed), repeat=8,
                             cost=plan.cost, deadline=plan.deadline())
            parts = [p if option is None or sub.in_basis(p) else sub.translate(p) for p in in_parts]
            parts = [sub.finish(pm.run(p, sub.props)) if p.num_gates() else p for p in parts]
        except CompileError:
            continue
        c = plan.cost(counts(stitch(parts, fences, circuit)))
        if best is None or (c, k) < best[:2]:
            best = (c, k, option)
        if plan.late():
            break
    chosen = None if best is None else best[2]
    report.notes.append(f"basis chosen per circuit (none given, no named basis holds the input's gates): "
                        f"{chosen or 'the input gates'}")
    return chosen



def optimize_unitary(circuit: Circuit, level: int, basis: str | Iterable[str] | None, cost: Callable[[Counts], tuple],
                      props: PropertySet, budget_s: float | None, start: float) -> tuple[Circuit, Report]:
    """:func:`optimize` in one target basis, before routing: translate, optimize and prove every stretch."""
    report = Report(initial=counts(circuit))
    in_parts, fences = split_stretches(circuit)
    in_gates = frozenset(i.name for i in circuit if i.is_gate)
    target = resolve_basis(basis) if basis is not None else None
    named = named_basis(circuit, basis)
    plan = _make_plan(level, named, target, in_gates, cost, props, budget_s, start, report)
    if target is None and named is None and level >= 2:
        chosen = _choose_basis(in_parts, fences, circuit, plan, report)
        if chosen is not None:
            plan = _make_plan(level, chosen, chosen, in_gates, cost, props, budget_s, start, report)
    bases, parts = _run_all(in_parts, plan, report, props.get("seed"))
    report.entries[:0] = plan.records()
    report.windows = plan.stats.as_dict()
    out = stitch(parts, fences, circuit)
    baseline = stitch(bases, fences, circuit)
    if basis is None:  # no basis fixed: the input itself is always an acceptable result
        baseline, bases = circuit, list(in_parts)
    if level >= 1 and cost(counts(out)) > cost(counts(baseline)):
        which = "the input" if bases == in_parts else "its direct translation"
        report.notes.append(f"the optimized circuit costs more than {which} under objective {props['objective']!r} "
                            f"({counts(out)} vs {counts(baseline)}); returned {which}")
        out = baseline
    if plan.stats.dropped:
        report.notes.append(f"{plan.stats.dropped} rewrite(s) could not be proven and were dropped; "
                            f"{plan.stats.proven} window(s) proven")
    return out, report



def _make_plan(level: int, named: str | None, target: str | None, in_gates: frozenset[str],
               cost: Callable[[Counts], tuple], props: PropertySet, budget_s: float | None, start: float,
               report: Report) -> _Plan:
    props["basis"] = named
    allowed = BASES[named] if named is not None else in_gates
    props["kak"] = "cx" in allowed
    style = None if named is None else ("zsx" if named.startswith("ibm") else
                                        "nam" if named == "nam" else "u" if named == "u" else None)
    if named is None:
        style = _style(in_gates)
    props["toffoli_style"] = ("nam" if style == "nam" and {"h", "cx", "rz"} <= allowed else
                              "clifford_t" if named == "clifford_t" else None)
    return _Plan(level=level, target=target, allowed=allowed, style=style, cost=cost, props=props,
                 budget_s=budget_s, start=start, report=report)


def _search(circuit: Circuit, props: PropertySet, report: Report, *, cost: Callable[[Counts], tuple],
            budget_s: float | None, start: float, seed: int | None, late: bool = False) -> Circuit:
    if props.get("policy") is None:
        return circuit
    from qtandem.compile.search import search
    from qtandem.errors import CheckpointError

    rem = None if budget_s is None else budget_s - (time.perf_counter() - start)
    if late or (rem is not None and rem <= 0):
        report.skipped.append("the learned rewrite search (budget)")
        return circuit
    t0 = time.perf_counter()
    before = counts(circuit)
    try:
        result = search(circuit, budget_expansions=props.get("budget_expansions"), budget_s=rem, seed=seed,
                        objective=props.get("objective", "gates"), policy=props["policy"],
                        progress=props.get("progress"))
    except CheckpointError as err:
        report.notes.append(f"learned search skipped: {err}")
        return circuit
    cand, stats = result.circuit, result.stats
    report.notes.append(f"rewrite search ({stats.policy} policy): {stats.improved_windows} of {stats.windows} windows "
                        f"improved in {stats.rounds} rounds, {stats.expansions} of {stats.budget_expansions} "
                        f"expansions, stopped: {stats.stopped}, {stats.seconds:.2f} s, {stats.candidates} "
                        f"candidate rewrites ({stats.candidates_per_s:.0f}/s, {stats.style} windows)")
    after = counts(cand)
    report.entries.append(PassRecord("search", before, after, time.perf_counter() - t0))
    return cand if cost(after) < cost(before) else circuit


def named_basis(circuit: Circuit, basis: str | Iterable[str] | None) -> str | None:
    """The named basis of the output: ``basis`` resolved, else the smallest named basis holding the input's gates."""
    if basis is not None:
        return resolve_basis(basis)
    in_gates = frozenset(i.name for i in circuit if i.is_gate)
    try:
        return resolve_basis(in_gates) if in_gates else "nam"
    except CompileError:
        return None
