"""Rewrite search guided by a learned policy: :func:`search`.

The circuit is cut into small windows (consecutive gates of a locality-first
topological order, so a window is a convex piece on few qubits). Each window
is searched best-first over the verified rewrite rules of
:mod:`qtandem.compile.rules`: from the cheapest circuit found so far, the
policy ranks the applicable rewrites and the ``k`` best are applied, each
followed by the cheap cleanup; circuits up to ``slack`` gates worse than the
best are kept in the queue, so the search can go uphill to reach a cheaper
circuit. A window replaces its original only when it is cheaper and its dense
unitary matches; the whole result is verified again by :func:`optimize`.

The policy (:class:`~qtandem.compile.policy.RewritePolicy`) is a small graph
network over the window's gates, trained by imitation of an exhaustive
look-ahead (``qtandem compile train``). ``policy="random"`` ranks rewrites in
a seeded random order instead, and ``policy="all"`` tries every rewrite: the
ablations of the benchmark, at the same budget; ``policy="prior"`` ranks them by
how often each rule was a good rewrite in the policy's training data (a rule-frequency
prior, the second baseline).

The budget is counted in expanded circuits (``budget_expansions``, by default
scaled with the circuit's size), so a seeded search gives the same result on any
machine; ``budget_s`` is only an upper bound on the wall-clock time (the result
depends on the machine only when it binds first, which :attr:`SearchStats.stopped`
records).

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(3).cx(0, 1).cx(1, 2).cx(0, 1).h(2).h(2)
    >>> result = search(c, seed=0, policy="all", budget_expansions=500)
    >>> result.circuit.count_ops(), result.stats.improved_windows, result.stats.stopped
    ({'cx': 2}, 1, 'converged')
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.compile.dag import PHASE_ANGLE, Op, Wires, to_circuit, to_ops
from qtandem.compile.rules import (
    GATES,
    STYLE_GATES,
    STYLES,
    Gate,
    _equal_up_to_phase,
    _window_unitary,
    actions,
    apply_action,
    cleanup,
)
from qtandem.compile.rules import to_window_ops as _ops
from qtandem.errors import CompileError
from qtandem.random import as_generator

__all__ = ["POLICIES", "SearchResult", "SearchStats", "default_budget_expansions", "dfs_order", "search",
           "search_style", "search_window", "window_cost", "windows"]

POLICIES = ("learned", "random", "prior", "all")
"""How rewrites are ranked: the shipped policy, a seeded random order, the rule-frequency prior, or all of them
(no pruning)."""

Scorer = Callable[[Sequence[Gate], list[Op] | None, list[tuple[int, int]]], np.ndarray]

_PI4 = math.pi / 4


def window_cost(window: Sequence[Gate], objective: str = "gates") -> tuple[int, ...]:
    """The objective of a window as a tuple (lower is better), like :func:`~qtandem.compile.optimize.objective_cost`.

    Examples:
        >>> import math
        >>> window = [("cx", (0, 1), None), ("rz", (1,), math.pi / 4), ("h", (0,), None)]
        >>> # gates: (gates, cx); cx: (cx, gates); t: (t, gates, cx)
        >>> window_cost(window), window_cost(window, "cx"), window_cost(window, "t")
        ((3, 1), (1, 3), (1, 3, 1))
    """
    g = len(window)
    cx = t = 0
    for name, _, angle in window:
        if name == "cx":
            cx += 1
        elif isinstance(angle, float):
            k = angle / _PI4
            if abs(k - round(k)) < 1e-9 and round(k) % 2:
                t += 1
    if objective in {"cx", "fidelity"}:
        return (cx, g)
    if objective == "t":
        return (t, g, cx)
    if objective == "depth":
        return (_depth(window), g, cx)
    return (g, cx)


def _depth(window: Sequence[Gate]) -> int:
    level: dict[int, int] = {}
    for _, qs, _ in window:
        d = 1 + max(level.get(q, 0) for q in qs)
        for q in qs:
            level[q] = d
    return max(level.values(), default=0)


def dfs_order(ops: Sequence[Op], n_qubits: int) -> list[Op]:
    """A topological order of ``ops`` that finishes what is local first (depth-first over the wires).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> order = dfs_order(to_ops(Circuit(3).h(0).cx(1, 2).cx(0, 1).h(2)), 3)
        >>> [(op.name, op.qubits) for op in order]
        [('h', (0,)), ('cx', (1, 2)), ('cx', (0, 1)), ('h', (2,))]
    """
    live = [op for op in ops if op.alive]
    w = Wires(live, n_qubits)
    waiting = {id(op): len(op.qubits) for op in live}
    for q in range(n_qubits):
        op = w.first[q]
        if op is not None:
            waiting[id(op)] -= 1
    ready = [op for op in reversed(live) if waiting[id(op)] == 0]
    out: list[Op] = []
    while ready:
        op = ready.pop()
        out.append(op)
        for k in range(len(op.qubits) - 1, -1, -1):
            nxt = op.nxt[k]
            if nxt is not None:
                waiting[id(nxt)] -= 1
                if waiting[id(nxt)] == 0:
                    ready.append(nxt)
    assert len(out) == len(live)
    return out


def windows(order: Sequence[Op], size: int, offset: int = 0,
            max_qubits: int = 8, style: str = "nam") -> list[tuple[int, int]]:
    """``(start, stop)`` slices of ``order`` with at most ``size`` searchable gates on at most ``max_qubits`` wires.

    Gates outside the style's window gates (:data:`~qtandem.compile.rules.STYLE_GATES`; {h, x, cx, rz} and the
    named phase gates for ``nam``) or opaque ones end a window.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile.dag import to_ops
        >>> order = dfs_order(to_ops(Circuit(3).h(0).cx(0, 1).ccx(0, 1, 2).x(1).h(0)), 3)
        >>> [op.name for op in order], windows(order, 24)        # the ccx is not searchable: it cuts the windows
        (['h', 'cx', 'ccx', 'h', 'x'], [(0, 2), (3, 5)])
    """
    out: list[tuple[int, int]] = []
    i = 0
    n = len(order)
    first = True
    while i < n:
        if not _searchable(order[i], style):
            i += 1
            continue
        limit = size - offset if first and offset else size
        first = False
        j = i
        qs: set[int] = set()
        while j < n and j - i < limit and _searchable(order[j], style):
            nq = qs | set(order[j].qubits)
            if len(nq) > max_qubits:
                break
            qs = nq
            j += 1
        if j - i >= 2:
            out.append((i, j))
        i = j
    return out


def _searchable(op: Op, style: str = "nam") -> bool:
    if op.opaque:
        return False
    if style == "nam":
        return op.name in GATES or op.name in PHASE_ANGLE
    return op.name in STYLE_GATES[style]


def search_style(circuit: Circuit) -> str:
    """The window style (:data:`~qtandem.compile.rules.STYLES`) :func:`search` uses for ``circuit``'s gates.

    ``u`` when the gates are in {u, cx} (with a ``u``), ``zsx`` when they are in {rz, sx, x, cx} (with an
    ``sx``), else ``nam`` (only its gates are searched then; others cut the windows).

    Examples:
        >>> from qtandem import Circuit
        >>> search_style(Circuit(2).h(0).cx(0, 1)), search_style(Circuit(2).sx(0).cx(0, 1).rz(0.1, 1))
        ('nam', 'zsx')
        >>> search_style(Circuit(2).u(0.1, 0.2, 0.3, 0).cx(0, 1))
        'u'
    """
    names = {i.name for i in circuit if i.is_gate and i.name != "barrier"}
    if "u" in names and names <= STYLE_GATES["u"]:
        return "u"
    if "sx" in names and names <= STYLE_GATES["zsx"]:
        return "zsx"
    return "nam"


_NAMED = {round(a / _PI4) % 8: name for name, a in PHASE_ANGLE.items()}
"""Multiples of pi/4 (mod 2 pi) -> the named phase gate (t, s, z, sdg, tdg)."""


def _restore(gates: Sequence[Gate], back: list[int], named: bool) -> list[Op] | None:
    """Window gates as ops on the circuit's qubits; with ``named``, rz become t/s/z/sdg/tdg (``None`` if one cannot)."""
    out = []
    for g, qs, a in gates:
        wires = tuple(back[q] for q in qs)
        if isinstance(a, tuple):
            out.append(Op(g, wires, None, a))
            continue
        if named and g == "rz":
            k = a / _PI4  # type: ignore[operator]
            if abs(k - round(k)) > 1e-9 or round(k) % 8 not in _NAMED:
                return None  # not one named gate (3 pi/4 would be two): keep the window as it was
            out.append(Op(_NAMED[round(k) % 8], wires))
        else:
            out.append(Op(g, wires, a))
    return out


@dataclass
class SearchStats:
    """What :func:`search` did.

    Attributes:
        windows: windows searched (over all rounds).
        improved_windows: windows replaced by a cheaper equivalent.
        expansions: circuits expanded in all.
        budget_expansions: the expansion budget of the run.
        rounds: passes over the circuit.
        stopped: why the search ended: ``"converged"`` (a round found nothing), ``"rounds"`` (``max_rounds``
            done), ``"expansions"`` (the expansion budget, machine-independent) or ``"time"`` (``budget_s``:
            the result may differ between machines).
        before, after: :func:`window_cost` of the whole circuit.
        seconds: wall-clock time.
        policy: the ranking used.
        style: the window gate set (:func:`search_style`).
        candidates: candidate rewrites evaluated (applied, cleaned up and costed) in all.
        candidates_per_s: ``candidates`` per second of the window searches (ranking, rewriting, cleanup and
            cost; the dense checks of improved windows and the polish are not in it).
        search_s: seconds spent in the window searches.

    Examples:
        >>> from qtandem import Circuit
        >>> stats = search(Circuit(3).cx(0, 1).cx(1, 2).cx(0, 1), seed=0, budget_expansions=2).stats
        >>> stats.expansions, stats.budget_expansions, stats.stopped, stats.after
        (2, 2, 'expansions', (2, 2))
    """

    windows: int = 0
    improved_windows: int = 0
    expansions: int = 0
    budget_expansions: int = 0
    rounds: int = 0
    stopped: str = "rounds"
    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    seconds: float = 0.0
    policy: str = "learned"
    style: str = "nam"
    candidates: int = 0
    candidates_per_s: float = 0.0
    search_s: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    """What :func:`search` returns: the circuit (never costlier than the input) and its :class:`SearchStats`.

    Examples:
        >>> from qtandem import Circuit
        >>> result = search(Circuit(2).cx(0, 1).cx(0, 1), seed=0, policy="random", budget_expansions=10)
        >>> result.circuit.num_gates(), result.stats.before, result.stats.after
        (0, (2, 2), (0, 0))
    """

    circuit: Circuit
    stats: SearchStats


def default_budget_expansions(n_gates: int) -> int:
    """The default expansion budget of :func:`search`: 2000 plus 5 per gate, at most 30000.

    (About 2 s plus 5 ms per gate at ~900 expansions per second on one core, the time budget it replaces.)

    Examples:
        >>> default_budget_expansions(100), default_budget_expansions(10 ** 6)
        (2500, 30000)
    """
    return min(30000, 2000 + 5 * n_gates)


def search_window(window: Sequence[Gate], n_qubits: int, score: Scorer, *, k: int = 6, slack: int = 2,
                  max_expansions: int = 200, deadline: float = math.inf, objective: str = "gates",
                  max_depth: int = 12, tree: list[Any] | None = None, style: str = "nam",
                  tally: dict[str, int] | None = None) -> tuple[list[Gate], int]:
    """Best-first rewrite search on one window.

    Args:
        window: the gates (local qubit indices ``0..n_qubits-1``).
        n_qubits: window width.
        score: ranks the applicable actions (higher first).
        k: rewrites tried per expanded circuit.
        slack: how many gates (first objective entry) worse than the best a queued circuit may be.
        max_expansions: circuits expanded at most.
        deadline: ``time.perf_counter()`` value to stop at.
        objective: see :func:`window_cost`.
        max_depth: rewrites from the start at most.
        tree: when a list, every expanded circuit is appended as ``(state, actions, child keys, cost)``
            (a child key is ``None`` where the rewrite was not tried or could not be placed); training
            labels come from it (:mod:`qtandem.compile.train_policy`).
        style: the window gate set (:data:`~qtandem.compile.rules.STYLES`): rewrites are written and
            cleaned up in it.
        tally: when a dict, ``tally["candidates"]`` is increased by the rewrites evaluated.

    Returns:
        ``(the cheapest window found, expansions done)``.

    Examples:
        >>> import numpy as np
        >>> window = [("h", (0,), None), ("h", (1,), None), ("cx", (0, 1), None), ("h", (0,), None), ("h", (1,), None)]
        >>> unranked = lambda state, ops, actions: np.zeros(len(actions))        # every rewrite scores the same
        >>> best, expansions = search_window(window, 2, unranked, max_expansions=20)
        >>> best                                                                  # H⊗H cx H⊗H is the reversed cx
        [('cx', (1, 0), None)]
    """
    start = list(window)
    best, best_c = start, window_cost(start, objective)
    heap: list[tuple[tuple[int, ...], int, int, list[Gate]]] = [(best_c, 0, 0, start)]
    seen = {tuple(start)}
    counter = 1
    done = 0
    cands = 0
    while heap and done < max_expansions and time.perf_counter() < deadline:
        _, _, depth, state = heapq.heappop(heap)
        ops = _ops(state)
        wires = Wires(ops, n_qubits)
        acts = actions(state, ops, wires)
        done += 1
        if not acts:
            continue
        scores = score(state, ops, acts)
        order = np.argsort(-scores, kind="stable")[:k]
        keys: list[tuple[Gate, ...] | None] = [None] * len(acts)
        if tree is not None:
            tree.append((state, acts, keys, window_cost(state, objective)))
        for j in order:
            nxt = apply_action(state, acts[int(j)], ops, wires, style=style)
            if nxt is None:
                continue
            cands += 1
            nxt = cleanup(nxt, n_qubits, style)
            key = tuple(nxt)
            keys[int(j)] = key
            if key in seen:
                continue
            seen.add(key)
            c = window_cost(nxt, objective)
            if c < best_c:
                best, best_c = nxt, c
            if depth + 1 < max_depth and c[0] <= best_c[0] + slack:
                heapq.heappush(heap, (c, counter, depth + 1, nxt))
                counter += 1
    if tally is not None:
        tally["candidates"] = tally.get("candidates", 0) + cands
    return best, done


def _scorer(policy: Any, seed: int | None) -> Scorer:
    if policy == "all":
        return lambda s, o, a: np.zeros(len(a))
    if policy == "random":
        rng = as_generator(seed)
        return lambda s, o, a: rng.random(len(a))
    if policy == "prior":
        from qtandem.compile.policy import RulePrior

        policy = RulePrior.pretrained(seed=seed)
    if policy == "learned":
        from qtandem.compile.policy import pretrained_policy

        policy = pretrained_policy()
    if hasattr(policy, "score_actions"):
        return policy.score_actions  # type: ignore[no-any-return]
    raise CompileError(f"unknown search policy {policy!r}; choose one of {', '.join(POLICIES)} or pass a RewritePolicy")


def search(circuit: Circuit, *, budget_expansions: int | None = None, budget_s: float | None = None,
           seed: int | None = None, objective: str = "gates", policy: Any = "learned", window: int = 24, k: int = 3,
           slack: int = 2, max_expansions: int = 60, max_rounds: int = 6, polish: bool = True,
           prioritize: bool = True, progress: Callable[[int, int], None] | None = None,
           style: str | None = None) -> SearchResult:
    """Search for a cheaper equivalent circuit by verified rewrites (see the module docs).

    Args:
        circuit: a unitary circuit (no measurements inside; :func:`~qtandem.compile.optimize` passes stretches).
            Windows hold {h, x, cx, rz} and the named phase gates (t, tdg, s, sdg, z, searched as rz and written
            back by name when the circuit has no rz, so a Clifford+T circuit stays Clifford+T); other gates are
            left alone and cut the windows.
        budget_expansions: circuits expanded in all (default :func:`default_budget_expansions` of the gate
            count). A seeded run whose expansion budget binds first gives the same circuit on any machine.
        budget_s: wall-clock upper bound in seconds (default: none).
        seed: seed of the window offsets and of the random policy (and the prior's tie-breaks).
        objective: ``gates``, ``cx``, ``t``, ``depth`` or ``fidelity`` (as in ``optimize``).
        policy: ``"learned"`` (the shipped :func:`~qtandem.compile.policy.pretrained_policy`), ``"random"``,
            ``"prior"`` (:class:`~qtandem.compile.policy.RulePrior`), ``"all"``, or an object with
            ``score_actions`` (a :class:`~qtandem.compile.policy.RewritePolicy`).
        window: gates per window.
        k: rewrites tried per expanded circuit (``"all"`` ignores it).
        slack: how far uphill (gates) the search may go.
        max_expansions: circuits expanded per window.
        max_rounds: passes over the circuit (window offsets alternate), stopping early when one finds nothing.
        polish: run the level-2 passes once more on the result (circuits in {h, x, cx, rz} only, so
            the output stays in the input's gate set).
        prioritize: search the windows in the order of the policy's best score for their first rewrites
            (the budget goes to promising windows first; the order only matters when the budget runs out).
        progress: called as ``progress(expansions_done, budget_expansions)`` after every window (a
            progress bar; it does not change the result).
        style: the window gate set (:data:`~qtandem.compile.rules.STYLES`; default :func:`search_style` of
            the circuit): windows hold its gates and results are written in them.

    Returns:
        A :class:`SearchResult`: ``.circuit`` (never costlier than the input) and ``.stats``.

    Raises:
        CompileError: unknown policy or style, a budget that is not positive, or a circuit with measurements,
            resets or conditions.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(4).cx(0, 1).cx(1, 2).cx(0, 1).h(3).h(3)
        >>> a = search(c, seed=7, budget_expansions=300)
        >>> a.circuit.count_ops(), a.circuit == search(c, seed=7, budget_expansions=300).circuit
        ({'cx': 2}, True)
    """
    t0 = time.perf_counter()
    if any(not i.is_gate or i.condition is not None for i in circuit if i.name != "barrier"):
        raise CompileError("search() works on unitary circuits; optimize() passes it the stretches between "
                           "measurements, resets and conditioned gates")
    if budget_expansions is not None and (isinstance(budget_expansions, bool) or
                                          not isinstance(budget_expansions, int) or budget_expansions < 1):
        raise CompileError(f"budget_expansions must be a positive int, got {budget_expansions!r}")
    if budget_s is not None and not budget_s > 0:
        raise CompileError(f"budget_s must be positive (or None for no time limit), got {budget_s!r}")
    if style is None:
        style = search_style(circuit)
    elif style not in STYLES:
        raise CompileError(f"unknown search style {style!r}; choose one of {', '.join(STYLES)}")
    n_gates = circuit.num_gates()
    if budget_expansions is None:
        budget_expansions = default_budget_expansions(n_gates)
    deadline = math.inf if budget_s is None else t0 + budget_s
    score = _scorer(policy, seed)
    if policy == "all":
        k = 10 ** 6
    stats = SearchStats(policy=policy if isinstance(policy, str) else "custom", budget_expansions=budget_expansions,
                        style=style)
    tally = {"candidates": 0}
    stats.before = window_cost(_as_window(to_ops(circuit)), objective)
    rng = as_generator(seed)
    current = to_ops(circuit)  # barriers and other opaque ops stay, and cut the windows
    # Clifford+T input (t, s, z and inverses, no rz): windows see rz, results go back to the named gates
    names = {i.name for i in circuit}
    named = style == "nam" and "rz" not in names and bool(names & set(PHASE_ANGLE))
    for rnd in range(max_rounds):
        if _out_of_budget(stats, deadline):
            break
        order = dfs_order(current, circuit.n_qubits)
        offset = 0 if rnd == 0 else int(rng.integers(1, window))
        spans = windows(order, window, offset, style=style)
        pieces = [_localize(order[i:j]) for i, j in spans]
        results: dict[int, list[Op]] = {}
        for t in _by_promise(pieces, score, prioritize):
            if _out_of_budget(stats, deadline):
                break
            local, back = pieces[t]
            stats.windows += 1
            cap = min(max_expansions, budget_expansions - stats.expansions)
            t_win = time.perf_counter()
            best, done = search_window(local, len(back), score, k=k, slack=slack, max_expansions=cap,
                                       deadline=deadline, objective=objective, style=style, tally=tally)
            stats.search_s += time.perf_counter() - t_win
            stats.expansions += done
            if progress is not None:
                progress(stats.expansions, budget_expansions)
            if window_cost(best, objective) < window_cost(local, objective) and _same(local, best, len(back)):
                restored = _restore(best, back, named)
                if restored is not None:
                    results[t] = restored
        improved = len(results)
        new_order: list[Op] = []
        last = 0
        for t, (i, j) in enumerate(spans):
            new_order.extend(order[last:i])
            new_order.extend(results.get(t, order[i:j]))
            last = j
        new_order.extend(order[last:])
        current = new_order
        stats.rounds = rnd + 1
        stats.improved_windows += improved
        if stats.stopped in ("expansions", "time") or _out_of_budget(stats, deadline):
            break
        if improved == 0 and rnd > 0:
            stats.stopped = "converged"
            break
    out = to_circuit(current, circuit)
    in_style = all(i.name in (GATES if style == "nam" else STYLE_GATES[style]) for i in circuit)
    if polish and in_style and style != "u" and time.perf_counter() < deadline and stats.improved_windows:
        from qtandem.compile.optimize import preset_passes
        from qtandem.compile.passmanager import PassManager, counts

        polished = PassManager(preset_passes(2, style=style), repeat=4).run(out)
        if counts(polished).gates <= counts(out).gates:
            out = polished
    stats.after = window_cost(_as_window(to_ops(out)), objective)
    if stats.after > stats.before:  # never costlier than the input
        out = circuit
        stats.after = stats.before
    stats.seconds = time.perf_counter() - t0
    stats.candidates = tally["candidates"]
    stats.candidates_per_s = stats.candidates / stats.search_s if stats.search_s > 0 else 0.0
    return SearchResult(out, stats)


def _out_of_budget(stats: SearchStats, deadline: float) -> bool:
    """Whether the budget is spent (the expansion count first, so a binding count never depends on the clock)."""
    if stats.expansions >= stats.budget_expansions:
        stats.stopped = "expansions"
    elif time.perf_counter() >= deadline:
        stats.stopped = "time"
    else:
        return False
    stats.notes.append(f"{stats.stopped} budget reached in round {stats.rounds + 1}")
    return True


def _by_promise(pieces: Sequence[tuple[list[Gate], list[int]]], score: Scorer, prioritize: bool) -> list[int]:
    """Window indices, most promising first: by the best score of a window's first rewrites (stable)."""
    if not prioritize:
        return list(range(len(pieces)))
    best: list[float] = []
    for local, _ in pieces:
        acts = actions(local)
        best.append(float(np.max(score(local, None, acts))) if acts else -math.inf)
    return sorted(range(len(pieces)), key=lambda t: -best[t])


def _as_window(ops: Sequence[Op]) -> list[Gate]:
    return [(op.name, op.qubits, op.angle) for op in ops if op.alive and op.name != "barrier"]


def _localize(piece: Sequence[Op]) -> tuple[list[Gate], list[int]]:
    """The piece on local qubits ``0..m-1`` (named phase gates as ``rz``) and the local -> circuit qubit map."""
    back: list[int] = []
    index: dict[int, int] = {}
    for op in piece:
        for q in op.qubits:
            if q not in index:
                index[q] = len(back)
                back.append(q)
    return [("rz", (index[op.qubits[0]],), PHASE_ANGLE[op.name]) if op.name in PHASE_ANGLE else
            (op.name, tuple(index[q] for q in op.qubits),
             tuple(float(p) for p in op.params) if op.name == "u" else op.angle) for op in piece], back


def _same(a: Sequence[Gate], b: Sequence[Gate], n: int) -> bool:
    return n <= 10 and _equal_up_to_phase(_window_unitary(a, n), _window_unitary(b, n))
