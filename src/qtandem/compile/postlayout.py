"""Noise-aware placement after routing (in the spirit of Qiskit's VF2PostLayout).

A routed circuit only uses some couplings. Any other placement of its qubits
that maps every used coupling onto a coupling of the device (a subgraph
monomorphism of the circuit's interaction graph into the coupling map) runs the
same gates; among those found, the one with the best calibrated score (two-qubit
gate, one-qubit gate and readout errors, weighted by how often each is used)
is kept if it raises the expected success probability.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.preset("line_5")
    >>> out, moved = improve_placement(Circuit(5).cx(0, 1).measure_all(), dev)
    >>> dev.validate(out), len(moved)
    ([], 5)
"""

from __future__ import annotations

import math
import time
from typing import Any

import networkx as nx
from networkx.algorithms import isomorphism

from qtandem.circuit import Circuit
from qtandem.compile.esp import VIRTUAL_GATES, expected_success_probability

__all__ = ["improve_placement"]


def _usage(circuit: Circuit) -> tuple[dict[tuple[int, int], int], dict[int, int], dict[int, int]]:
    two: dict[tuple[int, int], int] = {}
    one: dict[int, int] = {}
    meas: dict[int, int] = {}
    for inst in circuit:
        qs = inst.qubits
        if inst.name == "measure":
            for q in qs:
                meas[q] = meas.get(q, 0) + 1
        elif inst.is_gate and len(qs) == 2:
            key = (min(qs), max(qs))
            two[key] = two.get(key, 0) + 1
        elif inst.is_gate and len(qs) == 1 and inst.name not in VIRTUAL_GATES:
            one[qs[0]] = one.get(qs[0], 0) + 1
        for q in qs:
            one.setdefault(q, 0)
    return two, one, meas


def improve_placement(circuit: Circuit, device: Any, *, max_matches: int = 3000,
                      time_limit_s: float = 1.0) -> tuple[Circuit, list[int]]:
    """Re-place a routed circuit on the best-calibrated matching qubits.

    Args:
        circuit: a routed circuit on the device's qubits (two-qubit gates on couplings).
        device: the device.
        max_matches: at most this many placements are scored.
        time_limit_s: and for at most this long.

    Returns:
        ``(circuit, moved)``: the (possibly unchanged) circuit and the permutation
        ``moved[p]`` = new physical qubit of old physical qubit ``p``.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> dev = Device.preset("heavy_hex_27")
        >>> routed = Circuit(27).h(0).cx(0, 1)                       # on a coupling already
        >>> out, moved = improve_placement(routed, dev, max_matches=50)
        >>> out.n_qubits, sorted(moved) == list(range(27)), dev.validate(out) == dev.validate(routed)
        (27, True, True)
    """
    n = device.num_qubits
    two, one, meas = _usage(circuit)
    ident = list(range(n))
    if not one:
        return circuit, ident
    pattern = nx.Graph()
    pattern.add_nodes_from(one)
    pattern.add_edges_from(two)

    def score(m: dict[int, int]) -> float:
        s = 0.0
        for (a, b), k in two.items():
            x, y = m[a], m[b]
            e = device.edges.get((min(x, y), max(x, y)))
            s += k * math.log1p(-min(e.error if e else 0.0, 1 - 1e-12))
        for q, k in one.items():
            p = device.qubits[m[q]]
            s += k * math.log1p(-p.gate_error_1q)
            s += meas.get(q, 0) * math.log1p(-(p.readout_p01 + p.readout_p10) / 2)
        return s

    best_m = {q: q for q in one}
    best_s = score(best_m)
    matcher = isomorphism.GraphMatcher(device.coupling_map, pattern)
    start = time.perf_counter()
    for k, mono in enumerate(matcher.subgraph_monomorphisms_iter()):
        if k >= max_matches or time.perf_counter() - start > time_limit_s:
            break
        m = {c: d for d, c in mono.items()}
        s = score(m)
        if s > best_s + 1e-12:
            best_s, best_m = s, m
    if all(best_m[q] == q for q in best_m):
        return circuit, ident
    moved = [-1] * n
    for q, p in best_m.items():
        moved[q] = p
    free = iter(sorted(set(range(n)) - set(best_m.values())))
    for q in range(n):
        if moved[q] < 0:
            moved[q] = next(free)
    out = Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name,
                  cregs=circuit.cregs if circuit.n_clbits else None)
    for inst in circuit:
        out.append(inst.replace(qubits=tuple(moved[q] for q in inst.qubits)))
    if expected_success_probability(out, device) <= expected_success_probability(circuit, device):
        return circuit, ident
    return out, moved
