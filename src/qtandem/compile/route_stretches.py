"""Routing one unitary stretch at a time, for circuits with mid-circuit measurements, resets or conditions.

Each stretch between fences (measure, reset, barrier, a classically controlled gate) is routed by
:func:`qtandem.compile.sabre.sabre_pass` from the layout the previous stretch ended in; a conditioned
two-qubit gate whose qubits are apart is preceded by swaps along a shortest path. Each routed stretch
gets the plain cleanup (no two-qubit resynthesis), so it stays easy to prove against its input
(:mod:`qtandem.compile.route_verify`). :func:`qtandem.compile.routing.route` calls
``route_stretches`` for such circuits.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.compile.routing import route
    >>> res = route(Circuit(3, 1).cx(0, 2).measure(2, 0).cx(0, 2), "line_5", seed=0, trials=2)
    >>> len(res.stretches), res.device.validate(res.circuit)
    (2, [])
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.compile.route_emit import _emit, _finish
from qtandem.compile.sabre import _path, _swap, sabre_pass
from qtandem.errors import CompileError

__all__: list[str] = []

Stretch = tuple[Circuit, Circuit, list[int], list[int]]


def route_stretches(circuit: Circuit, device: Any, layout: list[int], adj: np.ndarray, dist: np.ndarray,
                    costs: np.ndarray, rng: np.random.Generator, kw: dict[str, Any],
                    swap_trials: int) -> tuple[Circuit, list[int], int, list[Stretch]]:
    """Route unitary stretch by stretch, carrying the layout; fences (measure, reset, conditioned gates,
    barriers) are placed where their qubits are, after swaps that bring a conditioned pair together.

    Returns:
        ``(routed circuit, final layout, swaps, stretches)``: per unitary stretch ``(input stretch,
        routed stretch, layout at its start, layout at its end)``.
    """
    from qtandem.compile.passmanager import split_stretches

    big_n, n = device.num_qubits, circuit.n_qubits
    nbrs = [np.nonzero(adj[p])[0].tolist() for p in range(big_n)]
    parts, fences = split_stretches(circuit)
    out = Circuit(big_n, circuit.n_clbits, name=circuit.name, cregs=circuit.cregs if circuit.n_clbits else None)
    cur = list(layout)
    stretches: list[Stretch] = []
    swaps = 0
    for k, part in enumerate(parts):
        ops = list(part)
        emitted, fin, sw = min((sabre_pass(ops, n, cur, adj, dist, costs, rng, **kw)
                                for _ in range(max(swap_trials, 1))), key=lambda r: r[2])
        raw = _emit(ops, emitted, big_n, Circuit(n))
        fin = list(fin)
        inv = [0] * big_n
        for v, p in enumerate(fin):
            inv[p] = v
        group = fences[k] if k < len(fences) else []
        for inst in group:
            if inst.is_gate and len(inst.qubits) > 2:
                raise CompileError(f"classically controlled {inst.label} on {len(inst.qubits)} qubits cannot be "
                                   "routed; decompose it into one- and two-qubit conditioned gates")
            if inst.is_gate and len(inst.qubits) == 2 and not adj[fin[inst.qubits[0]], fin[inst.qubits[1]]]:
                path = _path(nbrs, fin[inst.qubits[0]], fin[inst.qubits[1]])
                for p1, p2 in itertools.pairwise(path[:-1]):
                    _swap(fin, inv, p1, p2)
                    raw.cx(p1, p2).cx(p2, p1).cx(p1, p2)
                    sw += 1
        routed = _finish(raw, device, kak=False)  # stretches are verified one by one: keep them path-sum friendly
        stretches.append((part, routed, list(cur), list(fin)))
        for inst in routed:
            out.append(inst)
        for inst in group:
            qs = inst.qubits if inst.qubits else tuple(range(n))
            out.append(inst.replace(qubits=tuple(fin[q] for q in qs)))
        cur = fin
        swaps += sw
    return out, cur, swaps, stretches
