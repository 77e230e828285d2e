"""The entry point :func:`optimize`: presets of passes, objectives, verification."""

from __future__ import annotations

import importlib
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qtandem.circuit import Circuit
from qtandem.compile.passes.basis import BASES, BasisTranslation, resolve_basis
from qtandem.compile.passes.cancellation import GateCancellation
from qtandem.compile.passes.hadamard import HadamardReduction
from qtandem.compile.passes.kak import TwoQubitResynthesis
from qtandem.compile.passes.not_propagation import NotPropagation
from qtandem.compile.passes.phase_folding import PhaseFolding
from qtandem.compile.passes.resynth_1q import STYLE_GATES, Resynthesis1Q
from qtandem.compile.passes.toffoli import ToffoliDecomposition
from qtandem.compile.passes.toffoli_recognition import ToffoliRecognition
from qtandem.compile.passmanager import Counts, Pass, PassManager, PropertySet, Report, counts, split_stretches
from qtandem.errors import CompileError

__all__ = ["LEVELS", "OBJECTIVES", "objective_cost", "optimize", "optimize_file", "preset_passes", "qasm_version"]

OBJECTIVES = ("gates", "cx", "t", "depth", "fidelity")
"""What :func:`optimize` minimizes first (ties broken by total gates)."""

LEVELS = (0, 1, 2, 3)
"""0: translate only; 1: cancellation; 2: Hadamard reduction, phase folding, cancellation, 1q resynthesis
to a fixpoint; 3: level 2 from several variants, best kept, then the learned rewrite search
(:mod:`qtandem.compile.search`)."""


def objective_cost(objective: str) -> Callable[[Counts], tuple]:
    """``cost(counts)`` for an objective (lower is better).

    Raises:
        CompileError: unknown objective.

    Examples:
        >>> objective_cost("cx")(Counts(gates=10, cx=3, t=1, depth=5))
        (3, 10, 5)
    """
    keys = {"gates": ("gates", "cx", "depth"), "cx": ("cx", "gates", "depth"), "t": ("t", "gates", "cx"),
            "depth": ("depth", "gates", "cx"), "fidelity": ("cx", "gates", "depth")}
    if objective not in keys:
        raise CompileError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    fields = keys[objective]
    return lambda c: tuple(getattr(c, f) for f in fields)


def _style(gates: frozenset[str]) -> str | None:
    one_q = {g for g in gates if g not in ("cx", "cz")}
    for style, allowed in STYLE_GATES.items():
        if one_q <= allowed:
            return style
    return None


def preset_passes(level: int, *, style: str | None, placement: str = "smart", kak: bool = False) -> list[Pass]:
    """The pass list of a level.

    Args:
        level: 0..3.
        style: one-qubit resynthesis style (``"nam"``, ``"zsx"``), ``None`` to skip it.
        placement: phase-folding placement.
        kak: add two-qubit KAK resynthesis at level 3 (needs ``cx`` in the basis).

    Raises:
        CompileError: level not in 0..3.

    Examples:
        >>> [p.name for p in preset_passes(2, style="nam")]
        ['hadamard_reduction', 'cancellation', 'phase_folding', 'cancellation', 'resynthesis_1q']
        >>> preset_passes(0, style=None)
        []
        >>> preset_passes(4, style=None)
        Traceback (most recent call last):
        ...
        qtandem.errors.CompileError: level must be one of ...
    """
    if level not in LEVELS:
        raise CompileError(f"level must be one of {LEVELS}, got {level!r}")
    if level == 0:
        return []
    if level == 1:
        return [GateCancellation()]
    passes: list[Pass] = [HadamardReduction(), GateCancellation(), PhaseFolding(placement=placement),
                          GateCancellation()]
    if style is not None:
        passes.append(Resynthesis1Q(style))
        if level >= 3 and kak:
            passes.append(TwoQubitResynthesis(style))
    return passes


def _verifier() -> Callable[[Circuit, Circuit], None]:
    try:
        from qtandem.compile.verify import verify_equivalent
    except ImportError as err:  # pragma: no cover - the verifier ships with the package
        raise CompileError("qtandem.compile.verify is not available, so the result cannot be verified; "
                           "optimize() never returns an unverified circuit") from err
    return verify_equivalent


def _verify_parts(before: list[Circuit], after: list[Circuit]) -> None:
    verify_equivalent = _verifier()
    for a, b in zip(before, after, strict=True):
        if a != b:  # an unchanged stretch is equivalent to itself
            verify_equivalent(a, b)


def _run(pm: PassManager, parts: list[Circuit], props: PropertySet, report: Report) -> list[Circuit]:
    return [pm.run(p, props, report=report) if p.num_gates() else p for p in parts]


def optimize(circuit: Circuit, *, level: int = 2, hardware: Any = None, objective: str = "gates",
             basis: str | Iterable[str] | None = None, budget_expansions: int | None = None,
             budget_s: float | None = None, seed: int | None = None,
             policy: Any = "learned", progress: Callable[[int, int], None] | None = None) -> tuple[Circuit, Report]:
    """Optimize ``circuit`` and verify the result against it.

    Measurements, resets, barriers and classically controlled operations stay in
    place; the unitary stretches between them are optimized and each is checked
    by :func:`qtandem.compile.verify.verify_equivalent`. With no ``basis`` or
    ``hardware`` the output uses the smallest named basis containing the input's
    gates (:data:`~qtandem.compile.passes.basis.BASES`; a Clifford+T input may
    gain ``s``/``z`` where two ``t`` merge), or only the input's own gates when no
    named basis contains them.

    Args:
        circuit: the input (not modified).
        level: 0..3 (see :data:`LEVELS`).
        hardware: a :class:`~qtandem.device.Device` (or preset/file name) to lay out and
            route for (the routing module's passes run after optimization). Named ``hardware``
            because ``device`` means a torch device elsewhere in qtandem.
        objective: one of :data:`OBJECTIVES`; picks between candidate results.
        basis: target basis name or gate set (translated first and last).
        budget_expansions: level 3's rewrite search budget in expanded circuits (default
            :func:`~qtandem.compile.search.default_budget_expansions` of the gate count). Level 3's
            pass repetitions are bounded by counts too, so with ``budget_s=None`` a seeded run gives
            the same circuit on any machine.
        budget_s: wall-clock upper bound in seconds for level 3's repetitions and search (default none;
            when it binds, the result depends on the machine's speed).
        seed: seed of the randomized steps (level 3 search).
        policy: how level 3's rewrite search (:func:`qtandem.compile.search.search`) ranks rewrites:
            ``"learned"`` (the shipped policy), ``"random"``, ``"all"``, a
            :class:`~qtandem.compile.policy.RewritePolicy`, or ``None`` to skip the search.
        progress: called as ``progress(expansions_done, budget_expansions)`` while level 3 searches (once
            per unitary stretch, each counting from 0); for a progress bar, it does not change the result.

    Returns:
        ``(optimized circuit, report)``.

    Raises:
        CompileError: bad level, objective, basis, budget or ``hardware`` (not a Device or a name);
            a gate the basis cannot express; free parameters at level > 0 (bind them first).
        VerificationError: the optimized circuit is not equivalent to the input
            (never returned).

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2, 1).cx(0, 1).t(1).cx(0, 1).measure(0, 0).cx(0, 1).tdg(1).cx(0, 1)
        >>> out, report = optimize(c, level=2)
        >>> out.count_ops()
        {'cx': 4, 't': 1, 'measure': 1, 'tdg': 1}
    """
    if level not in LEVELS:
        raise CompileError(f"level must be one of {LEVELS}, got {level!r}")
    cost = objective_cost(objective)
    if budget_s is not None and budget_s <= 0:
        raise CompileError(f"budget_s must be positive, got {budget_s!r}")
    if budget_expansions is not None and (isinstance(budget_expansions, bool)
                                          or not isinstance(budget_expansions, int) or budget_expansions < 1):
        raise CompileError(f"budget_expansions must be a positive int, got {budget_expansions!r}")
    if hardware is not None:
        hardware = _hardware(hardware)
    if circuit.parameters and level > 0:
        names = [p.name for p in circuit.parameters]
        raise CompileError(f"the circuit has free parameters {names}; optimize() proves every result equivalent "
                           "and the verifier needs numbers: bind them first (circuit.bind({...})), or use level=0")
    start = time.perf_counter()
    props = PropertySet(objective=objective, seed=seed, level=level, policy=policy,
                        budget_expansions=budget_expansions, progress=progress)
    report = Report(initial=counts(circuit))
    in_parts, fences = split_stretches(circuit)
    in_gates = frozenset(i.name for i in circuit if i.is_gate)
    target = resolve_basis(basis) if basis is not None else None
    if target is None:
        try:
            named = resolve_basis(in_gates) if in_gates else "nam"
        except CompileError:
            named = None
    else:
        named = target
    props["basis"] = named
    allowed = BASES[named] if named is not None else in_gates
    props["kak"] = "cx" in allowed
    style = None if named is None else ("zsx" if named.startswith("ibm") else
                                        "nam" if named == "nam" else "u" if named == "u" else None)
    if named is None:
        style = _style(in_gates)
    props["toffoli_style"] = ("nam" if style == "nam" and {"h", "cx", "rz"} <= allowed else
                              "clifford_t" if named == "clifford_t" else None)
    parts = list(in_parts)
    verified = False
    if target is not None:
        toffoli = ToffoliDecomposition("clifford_t" if target == "clifford_t" else "nam")
        parts = _run(PassManager([toffoli, BasisTranslation(target)]), parts, props, report)
    if level >= 1:
        repeat = 1 if level == 1 else 8
        if level <= 2:
            pm = PassManager(preset_passes(level, style=style), repeat=repeat, budget_s=budget_s, cost=cost)
            parts = _run(pm, parts, props, report)
        else:
            parts = _level3(parts, in_parts, props, report, style=style, cost=cost, budget_s=budget_s,
                            start=start, seed=seed)
            verified = True
    if target is not None and any(i.name not in allowed for p in parts for i in p if i.is_gate):
        parts = _run(PassManager([BasisTranslation(target)]), parts, props, report)
        verified = False
    from qtandem.compile.passmanager import stitch

    if not verified:
        _verify_parts(in_parts, parts)
    out = stitch(parts, fences, circuit)
    if hardware is not None:
        out = _route(out, hardware, props, report)
    report.final = counts(out)
    report.notes.append(f"verified against the input in {time.perf_counter() - start:.2f} s total run time")
    return out, report


def _level3(parts: list[Circuit], originals: list[Circuit], props: PropertySet, report: Report, *,
            style: str | None, cost: Callable[[Counts], tuple], budget_s: float | None, start: float,
            seed: int | None) -> list[Circuit]:
    """Level 3 on each stretch: every variant, cheapest first; the first one the verifier proves is kept."""
    from qtandem.errors import VerificationError

    verify_equivalent = _verifier()
    out: list[Circuit] = []
    for part, original in zip(parts, originals, strict=True):
        if not part.num_gates() and not original.num_gates():
            out.append(part)
            continue
        cands: list[tuple[tuple, int, Circuit, Report]] = []
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
        for label, begin, pre in starts:
            for placement in ("smart", "first", "last"):
                elapsed = time.perf_counter() - start
                if cands and budget_s is not None and elapsed > budget_s:
                    report.notes.append(f"level 3 stopped trying variants after {elapsed:.1f} s (budget)")
                    break
                rem = None if budget_s is None else max(budget_s - elapsed, 0.1)
                passes = preset_passes(3, style=style, placement=placement, kak=props["kak"])
                pm = PassManager(passes, repeat=30, budget_s=rem, cost=cost)
                cand = pm.run(begin, props, report=Report())
                rep = Report(entries=list(pre) + pm.report.entries)
                rep.notes.append(f"level 3 kept the {label}variant with {placement} placement")
                cands.append((cost(counts(cand)), len(cands), cand, rep))
        cands.sort(key=lambda c: (c[0], c[1]))
        first_error: VerificationError | None = None
        best: Circuit | None = None
        failed: list[Circuit] = []
        for _, _, cand, rep in cands:
            if any(cand == f for f in failed):
                continue
            try:
                verify_equivalent(original, cand)
            except VerificationError as err:
                first_error = first_error or err
                failed.append(cand)
                report.notes.append(f"a cheaper level 3 variant was not provably equivalent ({err}); next one")
                continue
            best = cand
            report.entries.extend(rep.entries)
            report.notes.extend(rep.notes)
            break
        if best is None:
            assert first_error is not None
            raise first_error
        found = _search(best, props, report, cost=cost, budget_s=budget_s, start=start, seed=seed)
        if found is not best:
            try:
                verify_equivalent(original, found)
                best = found
            except VerificationError as err:
                report.notes.append(f"the search result was not provably equivalent ({err}); kept the pass result")
        out.append(best)
    return out


def _search(circuit: Circuit, props: PropertySet, report: Report, *, cost: Callable[[Counts], tuple],
            budget_s: float | None, start: float, seed: int | None) -> Circuit:
    if props.get("policy") is None:
        return circuit
    from qtandem.compile.passmanager import PassRecord
    from qtandem.compile.search import search
    from qtandem.errors import CheckpointError

    rem = None if budget_s is None else budget_s - (time.perf_counter() - start)
    if rem is not None and rem <= 0:
        report.notes.append("no budget left for the learned search")
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
                        f"expansions, stopped: {stats.stopped}, {stats.seconds:.2f} s")
    after = counts(cand)
    report.entries.append(PassRecord("search", before, after, time.perf_counter() - t0))
    return cand if cost(after) < cost(before) else circuit


def _hardware(hardware: Any) -> Any:
    """``hardware`` as a :class:`~qtandem.device.Device` (a preset or file name is loaded), or a clear error."""
    from qtandem.device import Device

    if isinstance(hardware, Device):
        return hardware
    if isinstance(hardware, str | os.PathLike):
        from qtandem.compile.layout import resolve_device

        return resolve_device(str(hardware))
    hint = (" (that is a torch device; hardware= is the quantum device to route for)"
            if type(hardware).__module__.startswith("torch") else "")
    raise CompileError(f"hardware must be a qtandem.device.Device or a device preset/file name such as "
                       f"'heavy_hex_27', got {type(hardware).__name__} {hardware!r}{hint}")


def _route(circuit: Circuit, device: Any, props: PropertySet, report: Report) -> Circuit:
    try:
        routing = importlib.import_module("qtandem.compile.routing")
    except ImportError as err:
        raise CompileError("device-aware compilation needs qtandem.compile.routing, which is not installed") from err
    fn = getattr(routing, "route_and_verify", None) or getattr(routing, "route", None)
    if fn is None:
        raise CompileError("qtandem.compile.routing has no route() function")
    result = fn(circuit, device, seed=props.get("seed"), objective=props.get("objective"))
    return result[0] if isinstance(result, tuple) else result


_VERSION = re.compile(rb"^\s*(?://[^\n]*\n\s*|/\*.*?\*/\s*)*OPENQASM\s+([23])", re.S)


def qasm_version(path: str | os.PathLike[str]) -> int:
    """The OpenQASM major version a file declares (2 when it declares none).

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.qasm"
        >>> _ = path.write_text("// a comment\\nOPENQASM 3.0;\\nqubit q;\\n")
        >>> qasm_version(path)
        3
    """
    m = _VERSION.match(Path(path).read_bytes()[:4096])
    return int(m.group(1)) if m else 2


def optimize_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, hardware: Any = None,
                  **options: Any) -> tuple[Circuit, Circuit, Report]:
    """Read an OpenQASM file, :func:`optimize` it and write the result in the same OpenQASM version.

    Args:
        src: input file (OpenQASM 2 or 3).
        dst: output file (written atomically).
        hardware: device preset/file name or :class:`~qtandem.device.Device` to route for.
        **options: passed to :func:`optimize` (``level``, ``objective``, ``budget_expansions``, ``budget_s``,
            ``seed``, ``basis``).

    Returns:
        ``(input circuit, optimized circuit, report)``.

    Examples:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "in.qasm").write_text('OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; h q[0]; h q[0];')
        >>> qasm_version(folder / "in.qasm")
        2
    """
    from qtandem.qasm import dump, load

    circuit = load(src)
    out, report = optimize(circuit, hardware=hardware, **options)
    dump(out, dst, version=qasm_version(src))
    return circuit, out, report
