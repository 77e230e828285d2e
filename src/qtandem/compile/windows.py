"""Windows: optimize a unitary circuit piece by piece and prove each piece where it is rewritten.

:func:`cut_windows` cuts a circuit without measurements into *windows*: each is a set of
gates on at most ``max_qubits`` wires (at most ``max_gates`` gates) that comes first on
those wires among the gates not yet taken, so the circuit equals its windows applied one
after the other (gates of different windows on disjoint wires are only reordered where
they commute trivially). :func:`optimize_windows` rewrites every window with a candidate
function, proves the cheapest candidate equivalent to that window
(:func:`prove_window`: the path sum, or the exact dense unitary for at most
``max_exact_qubits`` active qubits) and keeps the window's original when the proof fails or
is inconclusive. The composition of proven windows is a proof for the whole circuit.
``first_gates`` shortens the first window so that boundaries shift between rounds and
rewrites can cross them.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(3).h(0).h(0).cx(1, 2).cx(1, 2).t(0)
    >>> [(w.wires, len(w.circuit)) for w in cut_windows(c, max_qubits=2, max_gates=10)]
    [((0,), 3), ((1, 2), 2)]
    >>> from qtandem.compile.passes.cancellation import GateCancellation
    >>> out, stats = optimize_windows(c, lambda w: [GateCancellation().run(w)], max_qubits=2)
    >>> out.count_ops(), stats.proven
    ({'t': 1}, 2)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from qtandem.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.compile.passmanager import Counts, counts
from qtandem.errors import VerificationError

__all__ = ["Window", "WindowStats", "cut_windows", "optimize_windows", "prove_window"]


@dataclass(frozen=True)
class Window:
    """One window: its wires in the full circuit and its gates on compacted wires ``0..len(wires)-1``.

    Examples:
        >>> from qtandem import Circuit
        >>> w = cut_windows(Circuit(4).cx(3, 1), max_qubits=2, max_gates=5)[0]
        >>> w.wires, w.circuit.n_qubits, [i.qubits for i in w.expand(w.circuit)]
        ((1, 3), 2, [(3, 1)])
    """

    wires: tuple[int, ...]
    circuit: Circuit

    def expand(self, circuit: Circuit) -> list[Instruction]:
        """The gates of ``circuit`` (on this window's compacted wires) on the full circuit's wires."""
        return [inst.replace(qubits=tuple(self.wires[q] for q in inst.qubits)) for inst in circuit]


@dataclass
class WindowStats:
    """What :func:`optimize_windows` did: windows seen, proven, dropped, unchanged, skipped.

    Attributes:
        windows: windows cut.
        proven: windows replaced by a cheaper candidate proven equivalent.
        dropped: candidates whose proof failed or was inconclusive (the window's previous
            gates were kept, or the next candidate tried).
        unchanged: windows where no candidate was cheaper.
        skipped: windows not optimized because the deadline had passed.
        reasons: the first few reasons a proof failed.
        seconds: wall-clock time.

    Examples:
        >>> s = WindowStats(windows=3, proven=1, dropped=1)
        >>> s.merge(WindowStats(windows=2, skipped=2)).as_dict()["windows"]
        5
    """

    windows: int = 0
    proven: int = 0
    dropped: int = 0
    unchanged: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: WindowStats) -> WindowStats:
        """Add ``other``'s counts to this one (returns ``self``)."""
        self.windows += other.windows
        self.proven += other.proven
        self.dropped += other.dropped
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.seconds += other.seconds
        self.reasons.extend(r for r in other.reasons if len(self.reasons) < 5)
        return self

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {"windows": self.windows, "proven": self.proven, "dropped": self.dropped,
                "unchanged": self.unchanged, "skipped": self.skipped, "reasons": list(self.reasons),
                "seconds": round(self.seconds, 4)}


def cut_windows(circuit: Circuit, *, max_qubits: int, max_gates: int, first_gates: int | None = None,
                lookahead: int | None = None) -> list[Window]:
    """Cut a unitary circuit into windows (see the module docs).

    Args:
        circuit: gates only (no measurements, resets, barriers or conditions).
        max_qubits: wires per window (a wider gate gets a window of its own).
        max_gates: gates per window.
        first_gates: size of the first window (default ``max_gates``); shifts all boundaries.
        lookahead: gates scanned past the last one taken before a window closes
            (default ``4 * max_gates``); bounds the time on wide circuits.

    Returns:
        The windows in order; applying them one after the other equals ``circuit``.

    Raises:
        VerificationError: a non-gate instruction (cut with
            :func:`~qtandem.compile.passmanager.split_stretches` first).

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).h(0).cx(0, 1).h(1).h(0)
        >>> [len(w.circuit) for w in cut_windows(c, max_qubits=2, max_gates=2)]
        [2, 2]
        >>> [len(w.circuit) for w in cut_windows(c, max_qubits=2, max_gates=2, first_gates=1)]
        [1, 2, 1]
    """
    for inst in circuit:
        if not inst.is_gate or inst.condition is not None:
            raise VerificationError(f"cut_windows needs a unitary circuit; found {inst.label!r}")
    if max_qubits < 1 or max_gates < 1:
        raise VerificationError(f"max_qubits and max_gates must be positive, got {max_qubits}, {max_gates}")
    look = 4 * max_gates if lookahead is None else lookahead
    rest: list[Instruction] = list(circuit)
    out: list[Window] = []
    limit = max_gates if first_gates is None else max(1, first_gates)
    while rest:
        wires: set[int] = set()
        blocked: set[int] = set()
        taken: list[Instruction] = []
        left: list[Instruction] = []
        since = 0
        k = 0
        for k, inst in enumerate(rest):  # noqa: B007 - k marks where the scan stopped
            qs = set(inst.qubits)
            if len(taken) < limit and not (qs & blocked) and (
                    qs <= wires or len(wires | qs) <= max_qubits or not wires):
                taken.append(inst)
                wires |= qs
                since = 0
            else:
                blocked |= qs
                left.append(inst)
                since += 1
                if len(taken) >= limit or since > look or len(blocked) >= circuit.n_qubits:
                    break
        else:
            k = len(rest)
        left.extend(rest[k + 1:] if k < len(rest) else [])
        order = tuple(sorted(wires))
        pos = {w: i for i, w in enumerate(order)}
        win = Circuit(len(order))
        for inst in taken:
            win.append(inst.replace(qubits=tuple(pos[q] for q in inst.qubits)))
        out.append(Window(order, win))
        rest = left
        limit = max_gates
    return out


def prove_window(a: Circuit, b: Circuit, *, max_exact_qubits: int = 10) -> str | None:
    """Prove ``b`` equivalent to ``a`` (up to global phase); ``None`` when proven, else the reason.

    The path sum is tried first; the exact dense unitary settles what it leaves open on at most
    ``max_exact_qubits`` active qubits.

    Examples:
        >>> from qtandem import Circuit
        >>> prove_window(Circuit(1).h(0).h(0), Circuit(1)) is None
        True
        >>> prove_window(Circuit(1).x(0), Circuit(1).z(0))
        'pathsum: not equivalent: output wire 0 is 1 ^ x0 instead of x0; witness input |0> (qubit 0 rightmost)'
    """
    from qtandem.compile.verify import verify_equivalent

    if a == b:
        return None
    try:
        verify_equivalent(a, b, max_exact_qubits=max_exact_qubits)
    except VerificationError as err:
        return str(err)
    return None


def optimize_windows(circuit: Circuit, candidates: Callable[[Circuit], Sequence[Circuit]], *,
                     cost: Callable[[Counts], tuple] | None = None, max_qubits: int = 8, max_gates: int = 200,
                     first_gates: int | None = None, keep_original: bool = True, max_exact_qubits: int = 10,
                     deadline: float | None = None, stop_on_inconclusive: bool = False,
                     on_accept: Callable[[Circuit, int], None] | None = None,
                     on_drop: Callable[[Circuit, int, str], None] | None = None) -> tuple[Circuit, WindowStats]:
    """Rewrite ``circuit`` window by window, keeping only proven rewrites.

    Args:
        circuit: a unitary circuit.
        candidates: ``candidates(window) -> circuits`` on the window's compacted wires.
        cost: ``cost(counts)``, lower is better (default: gates, then CX).
        max_qubits: wires per window.
        max_gates: gates per window.
        first_gates: size of the first window (shifts the boundaries; see :func:`cut_windows`).
        keep_original: the window's own gates are an acceptable result (``False`` when they must
            be translated: then the cheapest proven candidate is kept even if it costs more, and a
            window with no proven candidate raises).
        max_exact_qubits: exact-check width (see :func:`prove_window`).
        deadline: a :func:`time.perf_counter` value after which windows are no longer optimized
            (counted as skipped; with ``keep_original=False`` they are still rewritten and proven).
        stop_on_inconclusive: try no further candidate of a window after an inconclusive proof (a
            proof that finds a difference still moves on to the next one).
        on_accept: called as ``on_accept(candidate, k)`` with the kept candidate and its index.
        on_drop: called as ``on_drop(candidate, k, reason)`` for each candidate whose proof failed.

    Returns:
        ``(circuit, stats)``.

    Raises:
        VerificationError: ``keep_original=False`` and no candidate of a window was proven.

    Examples:
        >>> from qtandem import Circuit
        >>> wrong = lambda w: [Circuit(w.n_qubits)]            # cheaper, but not equivalent
        >>> out, stats = optimize_windows(Circuit(2).cx(0, 1), wrong)
        >>> out.count_ops(), stats.dropped, stats.proven
        ({'cx': 1}, 1, 0)
    """
    cost = cost or (lambda c: (c.gates, c.cx))
    t0 = time.perf_counter()
    stats = WindowStats()
    out = Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name, qregs=circuit.qregs,
                  cregs=circuit.cregs)
    for window in cut_windows(circuit, max_qubits=max_qubits, max_gates=max_gates, first_gates=first_gates):
        stats.windows += 1
        w = window.circuit
        late = deadline is not None and time.perf_counter() > deadline
        if late and keep_original:
            stats.skipped += 1
            kept = w
        else:
            stats.skipped += int(late)
            kept = _best(w, candidates(w), cost, keep_original, max_exact_qubits, stats, on_accept, on_drop,
                         stop_on_inconclusive)
        for inst in window.expand(kept):
            out.append(inst)
    stats.seconds = time.perf_counter() - t0
    return out, stats


def _best(w: Circuit, cands: Sequence[Circuit], cost: Callable[[Counts], tuple], keep_original: bool,
          max_exact_qubits: int, stats: WindowStats, on_accept: Callable[[Circuit, int], None] | None,
          on_drop: Callable[[Circuit, int, str], None] | None, stop_on_inconclusive: bool = False) -> Circuit:
    base = cost(counts(w))
    ranked = sorted(((cost(counts(c)), k, c) for k, c in enumerate(cands)), key=lambda t: (t[0], t[1]))
    tried: list[Circuit] = []
    first_reason = ""
    for c_cost, k, cand in ranked:
        if keep_original and c_cost >= base:
            break
        if cand == w and keep_original:
            continue
        if any(cand == t for t in tried):
            continue
        reason = prove_window(w, cand, max_exact_qubits=max_exact_qubits)
        if reason is None:
            stats.proven += 1
            if on_accept is not None:
                on_accept(cand, k)
            return cand
        tried.append(cand)
        stats.dropped += 1
        first_reason = first_reason or reason
        if len(stats.reasons) < 5:
            stats.reasons.append(reason)
        if on_drop is not None:
            on_drop(cand, k, reason)
        if stop_on_inconclusive and "not equivalent" not in reason:
            break
    if not keep_original:
        raise VerificationError(f"no rewrite of a {w.n_qubits}-qubit window of {len(w)} gates into the target "
                                f"basis could be proven equivalent: {first_reason or 'no candidate'}")
    stats.unchanged += int(not tried)
    return w
