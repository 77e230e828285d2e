"""SABRE-style layout and routing on a device coupling map, noise-aware, verified.

Li, Ding, Xie, "Tackling the qubit mapping problem for NISQ-era quantum devices"
(ASPLOS 2019): gates run as soon as their qubits are adjacent; when the whole
front layer is blocked, the swap on an edge next to a front-layer qubit that
minimizes

    max(decay[p1], decay[p2]) * (mean_F D + W * mean_E D) + gamma * cost(p1, p2)

is inserted (``F`` the front layer, ``E`` an extended set of the next two-qubit
gates, ``decay`` grows on recently swapped qubits). ``D`` mixes hop distance and
error-weighted distance (``-ln(1 - e)`` per edge) and ``cost`` is the swap edge's
error, so swap paths prefer good couplings. The initial layout comes from
forward-backward passes (the final layout of routing the reversed circuit is the
next initial layout) started from the best-calibrated connected region
(:func:`~qtandem.compile.layout.best_region`) or random placements; several
seeded trials run and the best by the objective (expected success probability,
:mod:`qtandem.compile.esp`, or CX count) is kept.

A swap on the pair of the CX that just ran on both its qubits (only one-qubit gates in
between) is absorbed into it, ``cx(c, t) . SWAP = cx(t, c) . cx(c, t)``: 1 more CX
instead of 3 (the idea of Liu, Li, Zhou, "Not all SWAPs have the same cost", HPCA 2022).
The router scores such swaps with a bonus (``absorb``) and ranks trials by the CX they
emit; the cheapest get the cleanup (native gates, cancellation, two-qubit resynthesis
of every block on one pair, one-qubit resynthesis) and the post-routing placement.

Each layout refinement's backward pass is itself a routing of the circuit when read backwards
(swaps are their own inverses), from the layout it ends in; the cheapest of them competes with the
trial's forward passes (``bidirectional``). A blocked CX over distance 2 may run as a bridge, 4 CX
through the common neighbour with no qubit moved (``bridge``), when every swap that would bring its
pair together scores worse. Swap gates of the input cost nothing: the layout records the exchange and
the final permutation includes it (``elide_swaps``). The cleanup first runs the passes that never put a
two-qubit gate on a new pair (Hadamard reduction, cancellation, phase folding, rotation merging), so
the CX of inserted swaps can cancel against the circuit's own (``fold``).

Before any trial, a perfect-layout check (:func:`~qtandem.compile.layout.vf2_layout`, as
Qiskit's ``VF2Layout``) looks for a placement putting every interacting pair on a coupling;
when one is found within its call budget, the best-calibrated match is used and no swap is
inserted.

The output is on the device's physical qubits, other swaps expanded into 3 CX and every
gate translated to the device's native gates (``{rz, sx, x, cx}`` for the IBM-style
presets), so ``device.validate(out)`` is empty. ``RoutingResult.permutation``
records where each input wire's state ends, for
:func:`~qtandem.compile.verify.verify_equivalent` (:func:`route_and_verify`
checks it, see :mod:`qtandem.compile.route_verify`). Terminal measurements are
placed at the final layout; circuits with mid-circuit measurements, resets or
classically controlled gates are routed one unitary stretch at a time, the
layout carried across each fence. Coupling maps are undirected
(``Device.coupling_map`` is a ``networkx.Graph``): a CX may run either way.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(3).h(0).cx(0, 1).cx(0, 2).cx(1, 2)
    >>> out, res = route_and_verify(c, "line_5", seed=1)
    >>> res.device.validate(out), res.cx >= 3
    ([], True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.terminal import terminal_measurements
from qtandem.compile.esp import expected_success_probability
from qtandem.compile.layout import (
    best_region,
    compact_region,
    distance_tables,
    edge_cost,
    greedy_layout,
    random_layout,
    resolve_device,
    vf2_layout,
)
from qtandem.compile.postlayout import improve_placement
from qtandem.compile.route_emit import _cx, _emit, _emitted_cx, _finish, _prepare, native_basis
from qtandem.compile.route_stretches import route_stretches
from qtandem.compile.sabre import sabre_pass
from qtandem.errors import CompileError
from qtandem.random import as_generator

__all__ = ["RoutingResult", "native_basis", "route", "route_and_verify", "sabre_pass"]
# _cx, _emit, _emitted_cx, _finish and _prepare (qtandem.compile.route_emit) are imported here for the
# modules and tests that use them through this one


@dataclass
class RoutingResult:
    """A routed circuit and its layouts.

    Attributes:
        circuit: the routed circuit on ``device.num_qubits`` physical qubits.
        device: the device.
        initial_layout: ``initial_layout[v]``: physical qubit of virtual qubit ``v``
            at the start (``v < n``: circuit qubits; above: idle ancillas).
        final_layout: the same at the end.
        swaps: swaps inserted.
        cx: CX count of the output.
        esp: expected success probability of the output.
        trial: index of the winning trial; ``trials``: per-trial ``(cx, esp)``.
        elided: input swap gates turned into layout changes (``permutation`` includes them).

    Examples:
        >>> from qtandem import Circuit
        >>> result = route(Circuit(3).h(0).cx(0, 2).cx(1, 2), "heavy_hex_27", seed=1, trials=2)
        >>> result.circuit.n_qubits, len(result.initial_layout), 0 < result.esp <= 1
        (27, 27, True)
    """

    circuit: Circuit
    device: Any
    initial_layout: list[int]
    final_layout: list[int]
    swaps: int
    cx: int
    esp: float
    trial: int = 0
    trials: list[tuple[int, float]] = field(default_factory=list)
    elided: int = 0
    """Swap gates of the input that became layout changes (no gate; see ``route(elide_swaps=)``)."""
    raw: Circuit | None = field(default=None, repr=False)
    stretches: list[tuple[Circuit, Circuit, list[int], list[int]]] | None = field(default=None, repr=False)
    """For circuits with mid-circuit measurements, resets or conditions: per unitary stretch
    ``(input stretch, routed stretch, layout at its start, layout at its end)``."""

    @property
    def permutation(self) -> list[int]:
        """``perm[p]``: where the state on physical qubit ``p`` at the start ends (for verification)."""
        perm = [0] * len(self.initial_layout)
        for v, p in enumerate(self.initial_layout):
            perm[p] = self.final_layout[v]
        return perm

    def embedded_input(self, circuit: Circuit) -> Circuit:
        """``circuit`` relabelled onto the physical qubits of the initial layout (the reference to verify)."""
        out = Circuit(len(self.initial_layout), circuit.n_clbits)
        for inst in circuit:
            qs = inst.qubits if inst.qubits or inst.name != "barrier" else tuple(range(circuit.n_qubits))
            out.append(inst.replace(qubits=tuple(self.initial_layout[q] for q in qs)))
        return out


def route(circuit: Circuit, device: Any, *, seed: Any = None, trials: int = 48, objective: str | None = "fidelity",
          iterations: int = 3, lookahead: int = 20, weight: float = 0.5, noise_weight: float = 0.5,
          swap_trials: int = 4, post_layout: bool = True, absorb: float = 1.0, finish: int = 3,
          vf2_calls: int = 20000, min_cx: int = 1, commute: bool = True, front_sum: bool = True,
          decay_reset: int = 0, budget_s: float | None = None, bidirectional: bool = True,
          bridge: float | None = 0.0, elide_swaps: bool = True,
          fold: bool = True) -> RoutingResult:
    """Lay out and route ``circuit`` for ``device``; the best of ``trials`` seeded trials.

    Args:
        circuit: the input (any gates the basis translation knows; measurements,
            resets and barriers are routed in place).
        device: a :class:`~qtandem.device.Device` or a preset/file name.
        seed: seed of the random layouts and tie-breaks.
        trials: number of trials (0: greedy layout on the best region with the
            noise-aware distance; 1: the same with hop distance; then random
            layouts on the region and on the whole device, alternating the two
            distances).
        objective: ``"fidelity"`` (default): keep the highest expected success
            probability (the fewest CX among trials within 2% of it); anything
            else: fewest CX, then highest ESP.
        iterations: forward-backward layout refinements per trial.
        lookahead: size of the extended set (trials cycle through 1, 1/2 and
            3/2 times it).
        weight: weight of the extended set (trials cycle through 1, 0.6 and 1.4
            times it).
        noise_weight: weight of the error-weighted distance and of the swap edge's
            error in the score of even trials (odd trials use hop distance only).
        swap_trials: final routing passes from the chosen layout (different
            tie-breaks); the one with fewest swaps is kept.
        post_layout: re-place each routed trial on better-calibrated matching
            qubits (:func:`~qtandem.compile.postlayout.improve_placement`).
        finish: the cleanup (native gates, cancellation, two-qubit resynthesis) and the
            post-routing placement run on this many trials with the fewest emitted CX among
            the noise-weighted trials and as many among the hop-distance ones; the objective
            picks among those.
        absorb: score bonus (in units of one hop over the front layer) of a swap on the pair of
            the CX just run on both its qubits, which the emitted circuit absorbs (1 more CX, not 3);
            half of the trials use it, half do not.
        vf2_calls: call budget of the perfect-layout check (:func:`~qtandem.compile.layout.vf2_layout`):
            when the circuit's interaction graph embeds in the coupling map, that layout (the
            best-calibrated match) is routed with no swap and no trials run; 0 skips the check.
        fold: the cleanup first runs the passes that never put a two-qubit gate on a new pair (Hadamard
            reduction, cancellation, phase folding, rotation merging; see ``route_emit._finish``).
        min_cx: the cleanup resynthesizes two-qubit blocks with at least this many two-qubit gates
            (1: every block, e.g. a swap merged with the CX next to it on the same pair).
        commute: commutation-aware front layer: gates that commute on their shared qubits (CX
            sharing a control or a target, rz on a control, ...) may run in either order.
        front_sum: score the front layer by its summed distance (LightSABRE) instead of its mean.
        decay_reset: also reset the swap decay every this many swaps (0: only when a gate runs).
        bidirectional: each layout refinement's backward pass (the reversed circuit routed from the forward
            pass's final layout) is itself a routing of the circuit when read backwards, from the layout it ends
            in; the cheapest of them competes with the trial's forward passes (circuits without mid-circuit
            measurements, resets or conditions).
        bridge: ``None``: no bridges; a number: a blocked CX over distance 2 may run as 4 CX through the
            common neighbour, no qubit moved, when that scores better than the best swap by this margin
            (see :func:`~qtandem.compile.sabre.sabre_pass`).
        elide_swaps: swap gates of the input cost nothing: the layout records the exchange (the result's
            ``final_layout`` and :attr:`RoutingResult.permutation` include it, so verification and the terminal
            measurements account for it; ``RoutingResult.elided`` counts them). Not in the perfect-layout
            path, where the input's swaps are couplings like any other gate.
        budget_s: wall-clock cap in seconds: no new trial starts past it (at least two run);
            ``None``: all ``trials`` run (the result then depends only on ``seed``).

    Returns:
        A :class:`RoutingResult`.

    Raises:
        CompileError: unknown device, disconnected coupling map, circuit wider than
            the device, a gate the basis translation cannot express.

    Examples:
        >>> from qtandem import Circuit
        >>> res = route(Circuit(2).cx(0, 1), "line_5", seed=0)
        >>> res.swaps, res.cx
        (0, 1)
    """
    start = time.perf_counter()
    device = resolve_device(device, circuit)
    if budget_s is not None and not budget_s > 0:
        raise CompileError(f"budget_s must be positive, got {budget_s!r}")
    if trials < 1:
        raise CompileError(f"trials must be >= 1, got {trials}")
    big_n = device.num_qubits
    # every measurement terminal (qtandem.circuit.terminal) and nothing classically controlled: route
    # the unitary body and measure at the end, in the same order
    measures = terminal_measurements(circuit)
    conditioned = any(inst.condition is not None for inst in circuit)
    terminal = list(measures.pairs) if measures.all_terminal and not conditioned else []
    body = circuit
    if terminal:
        body = Circuit(circuit.n_qubits, circuit.n_clbits)
        for inst in circuit:
            if inst.name != "measure":
                body.append(inst)
    prepared = _prepare(body)
    fenced = not terminal and any(not i.is_gate or i.condition is not None for i in prepared)
    ops = list(prepared)
    rev = list(reversed(ops))
    adj = np.zeros((big_n, big_n), dtype=bool)
    for a, b in device.coupling_map.edges():
        adj[a, b] = adj[b, a] = True
    hops, noisy = distance_tables(device)
    costs = np.zeros((big_n, big_n))
    for a, b in device.coupling_map.edges():
        costs[a, b] = costs[b, a] = edge_cost(device, a, b)
    mean_cost = costs[adj].mean() if adj.any() else 1.0
    costs = costs / mean_cost
    n = circuit.n_qubits
    region = best_region(device, max(n, 1))
    compact = compact_region(hops, max(n, 1))
    rng = as_generator(seed)
    results: list[tuple[tuple, RoutingResult]] = []
    candidates: list[tuple[int, int, list[int], tuple[list[tuple[str, tuple[int, ...], int]], list[int], int]]] = []
    perfect = vf2_layout(prepared, device, call_limit=vf2_calls) if vf2_calls > 0 else None
    if perfect is not None:  # every interaction on a coupling: no swaps, no trials
        kw0: dict[str, Any] = {"lookahead": lookahead, "weight": weight}
        if fenced:
            res = _stretched(prepared, device, perfect, adj, hops, costs, rng, kw0, 1)
            res.trials = [(res.cx, res.esp)]
            return res
        run0 = sabre_pass(ops, n, perfect, adj, hops, costs, rng, **kw0)
        candidates.append((_emitted_cx(ops, run0[0]), 0, list(perfect), run0))
    for t in range(trials if perfect is None else 0):
        if budget_s is not None and t >= 2 and time.perf_counter() - start > budget_s:
            break  # out of time: the trials so far (at least one of each distance kind) compete
        nw = noise_weight if t % 2 == 0 else 0.0
        dist = hops + nw * noisy
        if t <= 1:
            layout = greedy_layout(prepared, device, region=region, dist=hops)
        elif t in (2, 3):
            layout = greedy_layout(prepared, device, region=compact, dist=hops)
        elif t % 4 in (2, 3):
            layout = random_layout(prepared, device, seed=rng, region=region)
        else:
            layout = random_layout(prepared, device, seed=rng)
        vary = (t // 2) % 3  # an ensemble of lookahead settings across trials
        kw: dict[str, Any] = {"lookahead": (lookahead, max(lookahead // 2, 1), lookahead * 3 // 2)[vary],
                              "weight": weight * (1.0, 0.6, 1.4)[vary], "gamma": 0.1 * nw,
                              "absorb": absorb * (((t + 1) // 2) % 2), "commute": commute,
                              "front_sum": front_sum, "decay_reset": decay_reset,
                              "bridge": bridge,
                              "elide": elide_swaps}
        reverse: tuple | None = None  # the cheapest backward pass, read forwards (see ``bidirectional``)
        for _ in range(iterations):
            _, fin, _ = sabre_pass(ops, n, layout, adj, dist, costs, rng, **kw)
            back, layout, back_swaps = sabre_pass(rev, n, fin, adj, dist, costs, rng, **kw)
            if bidirectional and not fenced:
                back_cx = _emitted_cx(rev, back)
                if reverse is None or back_cx < reverse[0]:
                    reverse = (back_cx, list(layout), (_reversed(back, len(ops)), list(fin), back_swaps))
        if fenced:
            res = _stretched(prepared, device, layout, adj, dist, costs, rng, kw, swap_trials)
            res.trial = t
            results.append(((res.cx, -res.esp), res))
            continue
        runs = [sabre_pass(ops, n, layout, adj, dist, costs, rng, **kw) for _ in range(max(swap_trials, 1))]
        k = min(range(len(runs)), key=lambda j: (_emitted_cx(ops, runs[j][0]), runs[j][2]))
        forward = (_emitted_cx(ops, runs[k][0]), t, list(layout), runs[k])
        if reverse is not None and reverse[0] < forward[0]:
            forward = (reverse[0], t, reverse[1], reverse[2])
        candidates.append(forward)
    # the cleanup and the post-routing placement only for the cheapest trials of each distance kind
    by_cx = sorted(candidates, key=lambda c: (c[0], c[1]))
    chosen = [c for c in by_cx if c[1] % 2 == 0][:finish] + [c for c in by_cx if c[1] % 2][:finish]
    for _, t, layout, (emitted, final, swaps) in sorted(chosen, key=lambda c: c[1]):
        raw = _emit(ops, emitted, big_n, circuit)
        routed = _finish(raw, device, min_cx=min_cx, fold=fold)
        for q, c in terminal:
            routed.measure(final[q], c)
            raw.measure(final[q], c)
        if post_layout:
            routed, moved = improve_placement(routed, device)
            if moved != list(range(big_n)):
                raw = Circuit(big_n, raw.n_clbits).compose(raw, qubits=moved)
                layout = [moved[p] for p in layout]
                final = [moved[p] for p in final]
        cx = _cx(routed)
        esp = expected_success_probability(routed, device)
        res = RoutingResult(routed, device, list(layout), list(final), swaps, cx, esp, trial=t, raw=raw,
                            elided=sum(1 for kind, _, _ in emitted if kind == "relabel"))
        results.append(((cx, -esp), res))
    if objective in (None, "fidelity"):  # highest ESP; within 2% of it, fewest CX
        top = max(r.esp for _, r in results)
        pool = [kr for kr in results if kr[1].esp >= 0.98 * top]
    else:
        pool = results
    best = min(pool, key=lambda kr: kr[0])[1]
    best.trials = [(r.cx, r.esp) for _, r in results]
    return best


def _reversed(back: list[tuple[str, tuple[int, ...], int]], m: int) -> list[tuple[str, tuple[int, ...], int]]:
    """A routing of the reversed ops (indices into them), read backwards: a routing of the ops themselves.

    Swaps are their own inverses and the ops keep their physical qubits, so the reversed list routes
    ``ops`` from the layout the backward pass ended in to the one it started from.

    Examples:
        >>> _reversed([("op", (0, 1), 0), ("swap", (1, 2), -1), ("op", (0, 1), 1)], 2)
        [('op', (0, 1), 0), ('swap', (1, 2), -1), ('op', (0, 1), 1)]
    """
    return [(kind, qs, i if kind == "swap" else m - 1 - i) for kind, qs, i in reversed(back)]


def _stretched(circuit: Circuit, device: Any, layout: list[int], adj: np.ndarray, dist: np.ndarray,
               costs: np.ndarray, rng: np.random.Generator, kw: dict[str, Any], swap_trials: int) -> RoutingResult:
    """:func:`~qtandem.compile.route_stretches.route_stretches` as a :class:`RoutingResult`."""
    out, final, swaps, stretches = route_stretches(circuit, device, layout, adj, dist, costs, rng, kw, swap_trials)
    cx = sum(1 for i in out if i.is_gate and len(i.qubits) == 2)
    esp = expected_success_probability(out, device)
    return RoutingResult(out, device, list(layout), final, swaps, cx, esp, stretches=stretches)


def route_and_verify(circuit: Circuit, device: Any, *, seed: Any = None, objective: str | None = "fidelity",
                     **options: Any) -> tuple[Circuit, RoutingResult]:
    """:func:`route`, then prove the output equivalent to the input (see :mod:`qtandem.compile.route_verify`).

    Examples:
        >>> from qtandem import Circuit
        >>> out, res = route_and_verify(Circuit(3, 3).h(0).cx(0, 2).measure_all(), "line_5", seed=0)
        >>> res.device.validate(out)
        []
    """
    from qtandem.compile.route_verify import route_and_verify as _rv

    return _rv(circuit, device, seed=seed, objective=objective, **options)
