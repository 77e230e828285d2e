"""The entry point :func:`optimize`: presets of passes, objectives, verification.

The work is split: :mod:`qtandem.compile.presets` (levels, objectives, pass lists),
:mod:`qtandem.compile.stretches` (one basis: translate, optimize and prove every stretch),
:mod:`qtandem.compile.via` (level 3 through other bases); this module checks the arguments,
routes and corrects, and reads and writes files."""

from __future__ import annotations

import importlib
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qtandem.circuit import Circuit
from qtandem.compile.passes.basis import BASES
from qtandem.compile.passmanager import Counts, PropertySet, Report, counts
from qtandem.compile.presets import LEVELS, OBJECTIVES, objective_cost, preset_passes
from qtandem.compile.stretches import named_basis, optimize_unitary
from qtandem.compile.via import via_bases
from qtandem.errors import CompileError

__all__ = ["LEVELS", "OBJECTIVES", "objective_cost", "optimize", "optimize_file", "preset_passes", "qasm_version"]


def optimize(circuit: Circuit, *, level: int = 2, hardware: Any = None, objective: str = "gates",
             basis: str | Iterable[str] | None = None, budget_expansions: int | None = None,
             budget_s: float | None = None, seed: int | None = None,
             policy: Any = "learned", progress: Callable[[int, int], None] | None = None,
             corrections: Any = None, permute_output: bool = False) -> tuple[Circuit, Report]:
    """Optimize ``circuit`` and verify the result against it.

    Measurements, resets, barriers, delays and classically controlled operations stay
    in place; the unitary stretches between them are optimized (a delay is a timing
    barrier on its qubits: no gate moves across it). Every rewrite is proven
    where it is made (:mod:`qtandem.compile.windows`): a stretch's candidates are
    proven against the whole stretch (path sum, or the exact unitary up to 10 active
    qubits); when that proof fails or is inconclusive the stretch is optimized in
    windows of at most ``WINDOW_QUBITS`` (8) wires and ``WINDOW_GATES`` (200) gates, each
    proven on its own (boundaries shifted between rounds), and a window whose rewrite
    cannot be proven keeps its gates (the report says so). Proven windows compose to a
    proof; :func:`qtandem.compile.verify.verify_equivalent` on the whole stretch is then
    a second check: a real difference raises, an inconclusive one is reported.

    The result never costs more than the baseline under ``objective``: the input when it is
    already in the target basis, else its direct translation (proven the same way). With no
    ``basis`` or ``hardware`` the output uses the smallest named basis containing the input's
    gates (:data:`~qtandem.compile.passes.basis.BASES`; a Clifford+T input may gain
    ``s``/``z`` where two ``t`` merge); when no named basis contains them, keeping the input's
    gates, ``nam`` and ``ibm`` are tried per circuit and the cheapest is used. When the input is already in the
    output basis, the result also has no more gates and no more CX than the input under any objective (``cx``
    may trade CX for one-qubit gates: then a proven repair within the input's counts, or the input, is returned).

    Args:
        circuit: the input (not modified).
        level: 0..3 (see :data:`LEVELS`).
        hardware: a :class:`~qtandem.device.Device` (or preset/file name) to lay out and
            route for (the routing module's passes run after optimization). Named ``hardware``
            because ``device`` means a torch device elsewhere in qtandem.
        objective: one of :data:`OBJECTIVES`; its cost (:func:`objective_cost`) picks between candidate
            results in every window, stops the passes' repetitions and guards the result.
        basis: target basis name or gate set (translated first and last).
        budget_expansions: level 3's rewrite search budget in expanded circuits (default
            :func:`~qtandem.compile.search.default_budget_expansions` of the gate count). Level 3's
            pass repetitions are bounded by counts too, so with ``budget_s=None`` a seeded run gives
            the same circuit on any machine.
        budget_s: wall-clock upper bound in seconds for the whole run, verification included (default
            none). The clock is read between windows, variants, passes' repetitions, the search and the
            checks; past 80% of it optimizing stops, what is proven is kept, a required translation is
            still made and proven, and ``report.skipped`` lists what was left out. When it binds, the
            result depends on the machine's speed.
        seed: seed of the randomized steps (level 3 search).
        policy: how level 3's rewrite search (:func:`qtandem.compile.search.search`) ranks rewrites:
            ``"learned"`` (the shipped policy), ``"random"``, ``"all"``, a
            :class:`~qtandem.compile.policy.RewritePolicy`, or ``None`` to skip the search.
        progress: called as ``progress(expansions_done, budget_expansions)`` while level 3 searches (once
            per unitary stretch, each counting from 0); for a progress bar, it does not change the result.
        corrections: a :class:`~qtandem.device.Device` (or its preset/file name, a calibration with a
            ``device()`` method, or a :class:`~qtandem.compile.passes.corrections.CoherentCorrections` pass) whose
            coherent errors are cancelled last, after routing (:func:`qtandem.compile.correct.correct_for_device`);
            with no ``hardware`` the circuit is routed for this device. The correction report is in
            ``report.corrections``.
        permute_output: allow the result to end in a permutation of the wires (off by default): swaps are
            removed and two-qubit blocks that are cheaper up to a swap are written so
            (:mod:`qtandem.compile.permute`), as tket does with its implicit permutation. The state of the
            input's wire ``i`` ends on wire ``report.permutation[i]`` (``None`` when nothing moved); the result is
            proven with it (``verify_equivalent(circuit, out, permutation=report.permutation)``). Only for
            circuits without measurements or other non-gate instructions, and not with ``hardware``.

    Returns:
        ``(optimized circuit, report)``; the report's ``windows`` counts proven and dropped rewrites,
        ``verification`` says how the result was proven, ``skipped`` what the budget cut.

    Raises:
        CompileError: bad level, objective, basis, budget or ``hardware`` (not a Device or a name);
            a gate the basis cannot express; free parameters at level > 0 (bind them first).
        VerificationError: the global check found the optimized circuit different from the input
            (never returned), or a required basis translation could not be proven.

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
    fix = None
    if corrections is not None:
        from qtandem.compile.passes.corrections import CoherentCorrections

        if isinstance(corrections, CoherentCorrections):
            fix = corrections
        elif callable(getattr(corrections, "device", None)):  # a qtandem.learn Calibration
            fix = CoherentCorrections(corrections.device())
        else:
            fix = CoherentCorrections(_hardware(corrections))
        hardware = fix.device if hardware is None else hardware
    if hardware is not None:
        hardware = _hardware(hardware)
    if circuit.parameters and level > 0:
        names = [p.name for p in circuit.parameters]
        raise CompileError(f"the circuit has free parameters {names}; optimize() proves every result equivalent "
                           "and the verifier needs numbers: bind them first (circuit.bind({...})), or use level=0")
    if permute_output and (hardware is not None or not all(i.is_gate for i in circuit)):
        raise CompileError("permute_output=True needs a circuit of gates only (no measurements, resets, barriers or "
                           "delays) and no hardware (routing returns its own permutation)")
    start = time.perf_counter()
    props = PropertySet(objective=objective, seed=seed, level=level, policy=policy,
                        budget_expansions=budget_expansions, progress=progress)
    if hardware is not None:
        # the Pauli-gadget start's phase polynomials couple distant wires freely: fewer logical CX, more after
        # routing (generate("qaoa", 6, seed=1) on heavy_hex_27: 113 routed CX against 84 without it)
        props["gadgets"] = False
    named = named_basis(circuit, basis)
    sources: list[tuple[Circuit, list[int] | None]] = [(circuit, None)]
    if permute_output and level > 0:
        from qtandem.compile.permute import elide_swaps

        elided, moved = elide_swaps(circuit)
        # the elided input can take another path through the passes: both are optimized, the cheaper kept
        sources = [(elided, moved)]
        if elided is not circuit:
            sources.append((circuit, list(range(circuit.n_qubits))))
    best: tuple[tuple, Circuit, Report] | None = None
    for k, (source, start_perm) in enumerate(sources):
        run_props = props if k == 0 else PropertySet(objective=objective, seed=seed, level=level, policy=policy,
                                                      budget_expansions=budget_expansions, progress=progress)
        out, report = optimize_unitary(source, level, basis, cost, run_props, budget_s, start)
        if level == 3:
            out, report = via_bases(source, out, report, named, cost, run_props, budget_s, start)
        if start_perm is not None:
            out, report.permutation = _permuted(circuit, out, start_perm, named, run_props, report)
        if best is None or cost(counts(out)) < best[0]:
            best = (cost(counts(out)), out, report)
    assert best is not None
    _, out, report = best
    if len(sources) > 1:
        report.notes.append("permute_output: the input with its swaps elided and the input itself were both "
                            "optimized; the cheaper result is kept")
    if level > 0 and hardware is None:
        out, report = _no_worse_than_input(circuit, out, report, named, cost, props, budget_s, start)
    if hardware is not None:
        out = _route(out, hardware, props, report, budget_s=budget_s, start=start)
    if fix is not None:  # last: the corrections need the final native gates and their timing
        out = fix.run(out)
        report.corrections = fix.report_
        dev = fix.device
        if hasattr(dev, "qubits") and not any(q.detuning or q.sx_angle_error or q.x_angle_error
                                              for q in dev.qubits) and not any(
                e.angle_error or e.zz for e in dev.edges.values()):
            report.notes.append(f"device {dev.name!r} has no coherent errors (detuning, angle errors, ZZ): "
                                "the corrections changed nothing")
    report.final = counts(out)
    report.notes.extend(f"skipped: {s}" for s in report.skipped)
    report.notes.extend(report.verification)
    report.notes.append(f"verified against the input in {time.perf_counter() - start:.2f} s total run time")
    return out, report


def _no_worse_than_input(circuit: Circuit, out: Circuit, report: Report, named: str | None,
                         cost: Callable[[Counts], tuple], props: PropertySet, budget_s: float | None,
                         start: float) -> tuple[Circuit, Report]:
    """``out``, or a result with no more gates and no more CX than ``circuit`` when ``out`` has more of either.

    The objective picks ``out`` (``cx`` may trade 8 CX for 5 more one-qubit gates: QASMBench variational_n4 in
    {rz, sx, x, cx}, 58/16 gates/CX -> 63/8); the input bounds both counts. Only when the input is already in
    the output basis (else its counts are in another basis). Candidates, each proven: level 2 on ``out`` under
    the cost "gates and CX above the input's, then the objective" (chained with ``out``'s proof, same output
    permutation), level 2 on the input under objective ``gates``, and the input itself; the cheapest under the
    objective among those within the input's counts is returned (variational_n4: 44/16).
    """
    ref, got = counts(circuit), counts(out)
    if got.gates <= ref.gates and got.cx <= ref.cx:
        return out, report
    allowed = BASES[named] if named is not None else frozenset(i.name for i in circuit if i.is_gate)
    if not all(i.name in allowed for i in circuit if i.is_gate):
        return out, report

    def excess(c: Counts) -> int:
        return max(0, c.gates - ref.gates) + max(0, c.cx - ref.cx)

    def repair_cost(c: Counts) -> tuple:
        return (excess(c), *cost(c))

    now = time.perf_counter()
    late = budget_s is not None and now - start > budget_s
    if late or named is None:
        report.notes.append(f"the optimized circuit ({got.gates}/{got.cx} gates/CX) has more gates or CX than the "
                            f"input ({ref.gates}/{ref.cx}); returned the input")
        report.permutation = None
        return circuit, report
    # the two level-2 runs share what is left of budget_s plus 10% of it (the cap may be overrun by that much)
    cap = None if budget_s is None else budget_s - (now - start) + 0.1 * budget_s
    best: tuple[tuple, Circuit, Report, list[int] | None, str] = (cost(ref), circuit, report, None, "the input")
    tries = ((out, repair_cost, report.permutation, "level 2 on it under 'no more gates or CX than the input, then "
              "the objective'"),
             (circuit, objective_cost("gates"), None, "level 2 on the input under objective 'gates'"))
    for source, fn, perm, how in tries:
        cand, cand_report = optimize_unitary(source, 2, named, fn, PropertySet(props, level=2, policy=None),
                                             cap, now)
        c = counts(cand)
        if excess(c) == 0 and cost(c) < best[0]:
            best = (cost(c), cand, cand_report, perm, f"{how} gave {c.gates}/{c.cx} (proven)")
    _, fixed, fixed_report, perm, how = best
    if fixed is not circuit:
        fixed_report.initial = report.initial
        fixed_report.entries[:0] = report.entries
        fixed_report.notes[:0] = report.notes
        fixed_report.skipped[:0] = report.skipped
        fixed_report.verification[:0] = report.verification
    fixed_report.permutation = perm
    fixed_report.notes.append(f"the objective's result ({got.gates}/{got.cx} gates/CX) had more gates or CX than the "
                              f"input ({ref.gates}/{ref.cx}); kept the cheapest result within the input's counts: "
                              f"{how}")
    return fixed, fixed_report


def _permuted(circuit: Circuit, out: Circuit, perm: list[int], named: str | None, props: PropertySet,
              report: Report) -> tuple[Circuit, list[int] | None]:
    """``out`` (proven equal to ``circuit`` then ``perm``) with the swaps it still holds absorbed into the
    permutation, proven against ``circuit``; the permutation is ``None`` when it is the identity."""
    from qtandem.compile.permute import absorb_swaps, compose_permutations, elide_swaps
    from qtandem.compile.verify import verify_equivalent
    from qtandem.errors import VerificationError

    moved = sum(p != i for i, p in enumerate(perm))
    out, more = elide_swaps(out)
    perm = compose_permutations(perm, more)
    style = {"ibm": "zsx", "nam": "nam", "u": "u"}.get(named or "")
    if style is not None and props.get("kak", True):
        for _ in range(3):
            out, more = absorb_swaps(out, style, props)
            if more == list(range(len(more))):
                break
            perm = compose_permutations(perm, more)
    try:
        verify_equivalent(circuit, out, permutation=perm)
    except VerificationError as err:
        if "inconclusive" not in str(err) or "not equivalent" in str(err):
            raise
        report.verification.append("output permutation: the global check was inconclusive; each swap elision is "
                                   "exact and each absorbed block's word was checked against its matrix")
    else:
        report.verification.append("output permutation proven against the input")
    if perm == list(range(len(perm))):
        return out, None
    report.notes.append(f"output permutation {perm} ({moved} wires moved by elided swaps in the input, "
                        f"{sum(p != i for i, p in enumerate(perm))} in the end)")
    return out, perm


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


def _route(circuit: Circuit, device: Any, props: PropertySet, report: Report, *, budget_s: float | None = None,
           start: float = 0.0) -> Circuit:
    """Lay out and route for ``device``; with ``budget_s``, half of what is left of it (at least 0.5 s) goes to the
    router, which starts no new layout trial past it (at least two run)."""
    try:
        routing = importlib.import_module("qtandem.compile.routing")
    except ImportError as err:
        raise CompileError("device-aware compilation needs qtandem.compile.routing, which is not installed") from err
    fn = getattr(routing, "route_and_verify", None) or getattr(routing, "route", None)
    if fn is None:
        raise CompileError("qtandem.compile.routing has no route() function")
    kw = {} if budget_s is None else {"budget_s": max(budget_s - (time.perf_counter() - start), 0.5) * 0.5}
    result = fn(circuit, device, seed=props.get("seed"), objective=props.get("objective"), **kw)
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
    version = qasm_version(src)
    if version == 2 and any(inst.name == "delay" for inst in out):
        version = 3
        report.notes.append("written as OpenQASM 3: the corrections' ZZ echoes use delay, which OpenQASM 2 lacks")
    dump(out, dst, version=version)
    return circuit, out, report
