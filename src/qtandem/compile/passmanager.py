"""Pass framework: :class:`PassManager`, :class:`PropertySet`, :class:`Report`.

A pass is any object with ``name`` and ``run(circuit, props) -> Circuit``. The
manager splits a circuit into unitary stretches around measurements, resets,
barriers and classically controlled operations (per wire: a measurement on
qubit 2 does not cut the gates on qubits 0-1), runs every pass on every
stretch, stitches the pieces back and records counts and time per pass.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.compile.passes.cancellation import GateCancellation
    >>> c = Circuit(3, 1).h(0).measure(2, 0).h(0).cx(0, 1).cx(0, 1)
    >>> pm = PassManager([GateCancellation()])
    >>> out = pm.run(c)
    >>> out.count_ops()
    {'measure': 1}
    >>> pm.report.entries[0].before.gates, pm.report.entries[0].after.gates
    (4, 0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from qtandem.circuit import Circuit
from qtandem.circuit.instruction import Instruction

__all__ = ["Counts", "Pass", "PassManager", "PassRecord", "PropertySet", "Report", "counts", "split_stretches",
           "stitch"]


class PropertySet(dict[str, Any]):
    """Facts passes share (``basis``, ``objective``, ``seed``, ``deadline``...); a plain dict.

    Examples:
        >>> props = PropertySet(basis="nam", seed=7)
        >>> props["basis"], isinstance(props, dict)
        ('nam', True)
    """


class Pass(Protocol):
    """What the manager needs from a pass.

    Examples:
        >>> from qtandem import Circuit
        >>> class DropBarriers:                      # any object with ``name`` and ``run`` is a pass
        ...     name = "drop_barriers"
        ...     def run(self, circuit, props=None):
        ...         out = Circuit(circuit.n_qubits, circuit.n_clbits)
        ...         for inst in circuit:
        ...             if inst.name != "barrier":
        ...                 out.append(inst)
        ...         return out
        >>> PassManager([DropBarriers()]).run(Circuit(1).h(0).x(0)).count_ops()
        {'h': 1, 'x': 1}
    """

    name: str

    def run(self, circuit: Circuit, props: PropertySet | None = None) -> Circuit:
        """Return an equivalent circuit."""
        ...


_T_NAMES = frozenset({"t", "tdg"})
_ROT = frozenset({"rz", "p", "u1"})


def _is_odd_quarter(theta: float) -> bool:
    k = theta / (math.pi / 4)
    return abs(k - round(k)) < 1e-9 and round(k) % 2 == 1


@dataclass(frozen=True)
class Counts:
    """Gate counts of a circuit: all gates, CX, T (``t``/``tdg`` and odd multiples of pi/4), depth.

    Examples:
        >>> from qtandem import Circuit
        >>> counts(Circuit(2).h(0).t(1).cx(0, 1))
        Counts(gates=3, cx=1, t=1, depth=2)
    """

    gates: int
    cx: int
    t: int
    depth: int

    def as_dict(self) -> dict[str, int]:
        """The counts as a dict."""
        return asdict(self)


def counts(circuit: Circuit) -> Counts:
    """Count ``circuit``'s gates (see :class:`Counts`).

    Examples:
        >>> from qtandem import Circuit
        >>> counts(Circuit(2).h(0).cx(0, 1).t(1).rz(0.7853981633974483, 0))
        Counts(gates=4, cx=1, t=2, depth=3)
    """
    g = cx = t = 0
    for inst in circuit:
        if not inst.is_gate:
            continue
        g += 1
        if inst.name == "cx":
            cx += 1
        elif inst.name in _T_NAMES or (inst.name in _ROT and not inst.is_parametrized
                                       and _is_odd_quarter(float(inst.params[0]))):  # type: ignore[arg-type]
            t += 1
    return Counts(g, cx, t, circuit.depth())


@dataclass(frozen=True)
class PassRecord:
    """What one pass did: counts before and after and the seconds it took.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.passes.cancellation import GateCancellation
        >>> pm = PassManager([GateCancellation()])
        >>> _ = pm.run(Circuit(1).h(0).h(0))
        >>> record = pm.report.entries[0]
        >>> record.name, record.before.gates, record.after.gates
        ('cancellation', 2, 0)
    """

    name: str
    before: Counts
    after: Counts
    seconds: float
    windows_proven: int = 0
    windows_dropped: int = 0


@dataclass
class Report:
    """Per-pass records of a run (see :meth:`table` and :meth:`to_dict`).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.passes.cancellation import GateCancellation
        >>> pm = PassManager([GateCancellation()])
        >>> _ = pm.run(Circuit(1).h(0).h(0).x(0))
        >>> pm.report.initial.gates, pm.report.final.gates, len(pm.report.entries)
        (3, 1, 1)
        >>> "final" in pm.report.to_dict()
        True
    """

    entries: list[PassRecord] = field(default_factory=list)
    initial: Counts | None = None
    final: Counts | None = None
    notes: list[str] = field(default_factory=list)
    windows: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    verification: list[str] = field(default_factory=list)
    corrections: Any = None  # optimize(corrections=...): the CorrectionReport
    permutation: list[int] | None = None  # optimize(permute_output=True): wire i's state ends on permutation[i]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``windows``: proven/dropped counts; ``skipped``: what the budget cut;
        ``verification``: how the result was proven and what the global second check said)."""
        return {
            "initial": None if self.initial is None else self.initial.as_dict(),
            "final": None if self.final is None else self.final.as_dict(),
            "passes": [{"name": e.name, "before": e.before.as_dict(), "after": e.after.as_dict(),
                        "seconds": e.seconds, "windows_proven": e.windows_proven,
                        "windows_dropped": e.windows_dropped} for e in self.entries],
            "windows": dict(self.windows),
            "skipped": list(self.skipped),
            "verification": list(self.verification),
            "notes": list(self.notes),
            **({"corrections": self.corrections.to_dict()} if self.corrections is not None else {}),
            **({"permutation": list(self.permutation)} if self.permutation is not None else {}),
        }

    def rows(self) -> list[list[Any]]:
        """Table rows: pass, gates, cx, t, depth (before -> after), seconds, windows proven/dropped."""
        return [[e.name] + [f"{getattr(e.before, k)} -> {getattr(e.after, k)}" for k in ("gates", "cx", "t", "depth")]
                + [f"{e.seconds:.3f}", f"{e.windows_proven}/{e.windows_dropped}"] for e in self.entries]

    def table(self) -> Any:
        """A :class:`rich.table.Table` of the passes (print it with ``rich.print``)."""
        from rich.table import Table

        tab = Table(title="qtandem optimize")
        width = max([len(e.name) for e in self.entries] + [5])
        tab.add_column("pass", justify="left", no_wrap=True, min_width=width)
        for col in ("gates", "cx", "t", "depth", "s", "ok/drop"):
            tab.add_column(col, justify="right")
        for row in self.rows():
            tab.add_row(*row)
        if self.initial is not None and self.final is not None:
            i, f = self.initial, self.final
            w = self.windows
            tab.add_row("[b]total[/b]", *[f"{getattr(i, k)} -> {getattr(f, k)}" for k in ("gates", "cx", "t", "depth")],
                        f"{sum(e.seconds for e in self.entries):.3f}",
                        f"{w.get('proven', 0)}/{w.get('dropped', 0)}" if w else "")
        return tab

    def __str__(self) -> str:
        head = f"{'pass':<24}{'gates':>16}{'cx':>14}{'t':>14}{'depth':>16}{'seconds':>10}{'windows':>10}"
        lines = [head] + [f"{r[0]:<24}{r[1]:>16}{r[2]:>14}{r[3]:>14}{r[4]:>16}{r[5]:>10}{r[6]:>10}"
                          for r in self.rows()]
        return "\n".join(lines)


def _is_fence(inst: Instruction) -> bool:
    return not inst.is_gate or inst.condition is not None


def split_stretches(circuit: Circuit) -> tuple[list[Circuit], list[list[Instruction]]]:
    """Cut ``circuit`` into unitary stretches and the fences between them.

    A fence is a measurement, reset, barrier, delay or classically controlled
    instruction. Stretch ``k`` holds every gate whose wires (qubits and the bits
    fences use) have seen ``k`` fence levels, so gates on wires a fence does not
    touch stay together. The original circuit is ``stretch[0], fences[0],
    stretch[1], fences[1], ..., stretch[-1]`` (``len(fences) == len(stretches) - 1``).

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(3, 1).h(0).measure(2, 0).cx(0, 1).cx(1, 2)
        >>> parts, fences = split_stretches(c)
        >>> [p.count_ops() for p in parts], [[f.name for f in fs] for fs in fences]
        ([{'h': 1, 'cx': 1}, {'cx': 1}], [['measure']])
    """
    lq = [0] * circuit.n_qubits
    lc = [0] * circuit.n_clbits
    gates: list[tuple[int, Instruction]] = []
    fences: list[tuple[int, Instruction]] = []
    for inst in circuit:
        bits = inst.clbits + (inst.condition[0] if inst.condition else ())
        level = max([lq[q] for q in inst.qubits] + [lc[c] for c in bits], default=0)
        if _is_fence(inst):
            level += 1
            fences.append((level, inst))
        else:
            gates.append((level, inst))
        for q in inst.qubits:
            lq[q] = level
        for c in bits:
            lc[c] = level
    top = max([lv for lv, _ in fences] + [0])
    parts = [Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name, qregs=circuit.qregs,
                     cregs=circuit.cregs) for _ in range(top + 1)]
    for lv, inst in gates:
        parts[lv].append(inst)
    fence_lists: list[list[Instruction]] = [[] for _ in range(top)]
    for lv, inst in fences:
        fence_lists[lv - 1].append(inst)
    return parts, fence_lists


def stitch(parts: Sequence[Circuit], fences: Sequence[Sequence[Instruction]], like: Circuit) -> Circuit:
    """Inverse of :func:`split_stretches`.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(1, 1).h(0).measure(0, 0).x(0)
        >>> parts, fences = split_stretches(c)
        >>> stitch(parts, fences, c) == c
        True
    """
    out = Circuit(like.n_qubits, like.n_clbits, name=like.name, qregs=like.qregs, cregs=like.cregs)
    for k, part in enumerate(parts):
        for inst in part:
            out.append(inst)
        if k < len(fences):
            for inst in fences[k]:
                out.append(inst)
    return out


class PassManager:
    """Run passes in order on every unitary stretch of a circuit.

    Args:
        passes: the passes.
        repeat: run the whole list again while it still lowers the cost, at most
            this many times (1: once).
        budget_s: stop repeating after this many seconds.
        cost: ``cost(counts) -> comparable``; the default is the gate count.
        deadline: a :func:`time.perf_counter` value; no pass starts after it (each pass returns an
            equivalent circuit, so stopping between passes keeps a valid result).

    Attributes:
        report: the :class:`Report` of the last :meth:`run`.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.passes.cancellation import GateCancellation
        >>> pm = PassManager([GateCancellation()], repeat=3)
        >>> pm.run(Circuit(2).cx(0, 1).x(0).x(0).cx(0, 1).h(1)).count_ops()
        {'h': 1}
        >>> pm.report.final.gates
        1
    """

    name = "pass_manager"

    def __init__(self, passes: Sequence[Pass], *, repeat: int = 1, budget_s: float | None = None,
                 cost: Callable[[Counts], Any] | None = None, deadline: float | None = None) -> None:
        self.deadline = deadline
        self.passes = list(passes)
        self.repeat = int(repeat)
        self.budget_s = budget_s
        self.cost = cost or (lambda c: (c.gates, c.cx))
        self.report = Report()

    def run(self, circuit: Circuit, props: PropertySet | None = None, *, report: Report | None = None) -> Circuit:
        """Optimize ``circuit``; per-pass records go to ``report`` (or a new one in ``self.report``).

        Returns:
            The optimized circuit (fences kept in place).
        """
        props = PropertySet() if props is None else props
        report = Report() if report is None else report
        self.report = report
        parts, fences = split_stretches(circuit)
        start = time.perf_counter()
        if report.initial is None:
            report.initial = counts(circuit)
        cur_counts = _sum_counts(parts, fences, circuit)
        best_cost = self.cost(cur_counts)
        late = False
        for _ in range(max(self.repeat, 1)):
            for p in self.passes:
                t0 = time.perf_counter()
                if self.deadline is not None and t0 > self.deadline:
                    report.notes.append(f"stopped before pass {getattr(p, 'name', type(p).__name__)} (deadline)")
                    late = True
                    break
                parts = [p.run(part, props) if part.num_gates() else part for part in parts]
                after = _sum_counts(parts, fences, circuit)
                report.entries.append(PassRecord(getattr(p, "name", type(p).__name__), cur_counts, after,
                                                 time.perf_counter() - t0))
                cur_counts = after
            if late:
                break
            new_cost = self.cost(cur_counts)
            if new_cost >= best_cost:
                break
            best_cost = new_cost
            if self.budget_s is not None and time.perf_counter() - start > self.budget_s:
                report.notes.append(f"stopped repeating after {time.perf_counter() - start:.1f} s (budget)")
                break
        out = stitch(parts, fences, circuit)
        report.final = counts(out)
        return out


def _sum_counts(parts: Sequence[Circuit], fences: Sequence[Sequence[Instruction]], like: Circuit) -> Counts:
    if not fences:
        return counts(parts[0])
    return counts(stitch(parts, fences, like))
