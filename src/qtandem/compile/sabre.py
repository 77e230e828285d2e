"""The SABRE swap-insertion pass (Li, Ding, Xie, ASPLOS 2019) used by :mod:`qtandem.compile.routing`.

Examples:
    >>> import numpy as np
    >>> from qtandem import Circuit
    >>> adj = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=bool)  # a line 0-1-2
    >>> hops = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=float)
    >>> ops = list(Circuit(3).cx(0, 2))
    >>> out, final, swaps = sabre_pass(ops, 3, [0, 1, 2], adj, hops, np.zeros((3, 3)), np.random.default_rng(0))
    >>> swaps, [kind for kind, _, _ in out]
    (1, ['swap', 'op'])
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from qtandem.circuit import Instruction

__all__ = ["sabre_pass"]


_Z = frozenset({"rz", "z", "s", "sdg", "t", "tdg", "p", "u1", "cz", "rzz", "cp", "crz"})
_X = frozenset({"x", "rx", "sx", "sxdg", "rxx"})


def _wire_kinds(inst: Instruction) -> tuple[str | None, ...]:
    """Per qubit of ``inst``: ``"z"`` (diagonal there), ``"x"`` (X-diagonal there) or ``None``.

    Two gates whose kinds agree on every shared qubit commute: on each shared wire both act
    inside the same commutative algebra (``span{I, Z}`` or ``span{I, X}``).
    """
    if not inst.is_gate or inst.condition is not None:
        return (None,) * len(inst.qubits)
    if inst.name == "cx":
        return ("z", "x")
    if inst.name in _Z:
        return ("z",) * len(inst.qubits)
    if inst.name in _X:
        return ("x",) * len(inst.qubits)
    return (None,) * len(inst.qubits)


def _dag(ops: Sequence[Instruction], nq: int, commute: bool = False) -> tuple[list[list[int]], list[int]]:
    """Successors and in-degrees of ``ops``; with ``commute``, gates that commute on a wire (both Z-diagonal
    or both X-diagonal there, e.g. CX sharing a control) are not ordered on it: each depends only on the
    previous run of a different kind on that wire."""
    succ: list[list[int]] = [[] for _ in ops]
    indeg = [0] * len(ops)
    # per wire: (kind of the current run, gates of the current run, gates of the run before it)
    runs: dict[int, tuple[str | None, list[int], list[int]]] = {}
    for i, inst in enumerate(ops):
        qs = list(inst.qubits) if inst.qubits else list(range(nq))
        kinds: list[str | None] = list(_wire_kinds(inst)) if commute and inst.qubits else [None] * len(qs)
        wires = qs + [nq + c for c in inst.clbits + (inst.condition[0] if inst.condition else ())]
        kinds += [None] * (len(wires) - len(qs))
        preds: set[int] = set()
        for w, k in zip(wires, kinds, strict=True):
            kind, cur, before = runs.get(w, (None, [], []))
            if k is not None and k == kind:
                preds.update(before)
                cur.append(i)
            else:
                preds.update(cur)
                runs[w] = (k, [i], cur)
        for p in preds:
            succ[p].append(i)
            indeg[i] += 1
    return succ, indeg


def _is2q(inst: Instruction) -> bool:
    return inst.is_gate and len(inst.qubits) == 2


def sabre_pass(ops: Sequence[Instruction], nq: int, layout: Sequence[int], adj: np.ndarray, dist: np.ndarray,
               swap_cost: np.ndarray, rng: np.random.Generator, *, lookahead: int = 20, weight: float = 0.5,
               decay_step: float = 0.001, gamma: float = 0.0, absorb: float = 0.0, front_sum: bool = False,
               decay_reset: int = 0, stall: int | None = None, commute: bool = False,
               bridge: float | None = None, elide: bool = False,
               ) -> tuple[list[tuple[str, tuple[int, ...], int]], list[int], int]:
    """One SABRE pass over ``ops`` (virtual qubits ``0..nq-1``) from ``layout``.

    Args:
        lookahead: size of the extended set; ``weight``: its weight (its mean distance).
        decay_step: decay added to both qubits of each swap.
        gamma: weight of the swap edge's cost.
        absorb: bonus of a swap on the pair of the CX just run (see :mod:`qtandem.compile.routing`).
        front_sum: score the front layer by its summed distance (LightSABRE, Qiskit's routing
            heuristic) instead of its mean.
        decay_reset: also reset the decay every this many swaps (0: only when a gate runs).
        stall: swaps without a gate run before the release valve walks the closest front gate
            together (default ``4 * N``).
        commute: gates that commute on their shared qubits may run in either order (see ``_dag``).
        bridge: ``None``: no bridges. A number: a front-layer CX whose qubits have a common neighbour ``m``
            may run as a bridge, 4 CX on the path without moving any qubit (``cx(a, b) = cx(m, b) cx(a, m)
            cx(m, b) cx(a, m)``), which costs what a swap and the CX cost. It is chosen when its score (the
            front layer with that CX counted as adjacent, the extended set unchanged) is below the best swap's
            score by more than ``bridge`` (so when every swap that would bring the pair together moves other
            gates' qubits apart).
        elide: a swap gate of the input (unconditioned) costs nothing: its two virtual qubits trade physical
            places in the layout instead (``("relabel", (p1, p2), index)`` in ``emitted``); the final layout
            says where each wire ended, so the permutation that verification and measurements use includes it.

    Returns:
        ``(emitted, final_layout, swaps)``; ``emitted`` holds ``("op", physical
        qubits, index into ops)``, ``("swap", (p1, p2), -1)`` and ``("bridge", (a, m, b), index)``
        entries (a bridge's CX is ``ops[index]`` with control on ``a`` and target on ``b``).

    Examples:
        >>> from qtandem import Circuit
        >>> adj = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=bool)      # a line 0-1-2
        >>> dist = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=float)
        >>> emitted, final, swaps = sabre_pass(list(Circuit(3).cx(0, 2)), 3, [0, 1, 2], adj, dist,
        ...                                    np.ones((3, 3)), np.random.default_rng(0))
        >>> emitted, final, swaps
        ([('swap', (1, 2), -1), ('op', (0, 1), 0)], [0, 2, 1], 1)
    """
    big_n = len(layout)
    lay = list(layout)
    inv = [0] * big_n
    for v, p in enumerate(lay):
        inv[p] = v
    nbrs = [np.nonzero(adj[p])[0].tolist() for p in range(big_n)]
    succ, indeg = _dag(ops, nq, commute)
    ready = [i for i in range(len(ops)) if indeg[i] == 0]
    out: list[tuple[str, tuple[int, ...], int]] = []
    decay = np.ones(big_n)
    swaps = since = 0
    stall = 4 * big_n if stall is None else stall
    partner = [-1] * big_n  # partner[p]: the other qubit of p's last two-qubit gate (a CX), -1 if none since
    block = [0] * big_n  # CX in the run on (p, partner[p]) that ends there (a swap after 3 of them costs 0 CX)
    while ready:
        stack = ready[::-1]
        blocked: list[int] = []
        executed = False
        while stack:
            i = stack.pop()
            inst = ops[i]
            if elide and inst.name == "swap" and inst.condition is None and len(inst.qubits) == 2:
                p1, p2 = lay[inst.qubits[0]], lay[inst.qubits[1]]
                _swap(lay, inv, p1, p2)
                out.append(("relabel", (p1, p2), i))
                executed = True
                for s in succ[i]:
                    indeg[s] -= 1
                    if indeg[s] == 0:
                        stack.append(s)
                continue
            if _is2q(inst) and not adj[lay[inst.qubits[0]], lay[inst.qubits[1]]]:
                blocked.append(i)
                continue
            qs = inst.qubits if inst.qubits else tuple(range(nq))
            phys = tuple(lay[q] for q in qs)
            out.append(("op", phys, i))
            executed = True
            if len(phys) == 2 and inst.name == "cx" and inst.condition is None:
                a, b = phys
                k = block[a] + 1 if partner[a] == b and partner[b] == a else 1
                partner[a], partner[b] = b, a
                block[a] = block[b] = k
            elif not (inst.is_gate and len(phys) == 1 and inst.condition is None):
                for p in phys:
                    partner[p] = -1
            for s in succ[i]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    stack.append(s)
        ready = blocked
        if not ready:
            break
        if executed or (decay_reset and since and since % decay_reset == 0):
            decay[:] = 1.0
        if executed:
            since = 0
        if since > stall:  # release valve: walk the closest front gate together
            i = min(ready, key=lambda j: dist[lay[ops[j].qubits[0]], lay[ops[j].qubits[1]]])
            a, b = lay[ops[i].qubits[0]], lay[ops[i].qubits[1]]
            path = _path(nbrs, a, b)
            for p1, p2 in itertools.pairwise(path[:-1]):
                _swap(lay, inv, p1, p2)
                out.append(("swap", (p1, p2), -1))
                partner[p1] = partner[p2] = -1
                swaps += 1
            since = 0
            continue
        front = [(ops[i].qubits[0], ops[i].qubits[1]) for i in ready]
        ext: list[tuple[int, int]] = []
        seen = set(ready)
        queue = list(ready)
        head = 0
        while head < len(queue) and len(ext) < lookahead:
            for s in succ[queue[head]]:
                if s not in seen:
                    seen.add(s)
                    queue.append(s)
                    if _is2q(ops[s]):
                        ext.append((ops[s].qubits[0], ops[s].qubits[1]))
            head += 1
        cands = sorted({(min(lay[q], nb), max(lay[q], nb)) for pair in front for q in pair for nb in nbrs[lay[q]]})
        best: list[tuple[int, int]] = []
        best_score = np.inf
        for p1, p2 in cands:
            def pos(v: int, p1: int = p1, p2: int = p2) -> int:
                p = lay[v]
                return p2 if p == p1 else p1 if p == p2 else p

            f = sum(dist[pos(a), pos(b)] for a, b in front) / (1 if front_sum else len(front))
            e = sum(dist[pos(a), pos(b)] for a, b in ext) / len(ext) if ext else 0.0
            score = max(decay[p1], decay[p2]) * (f + weight * e) + gamma * swap_cost[p1, p2]
            if absorb and partner[p1] == p2 and partner[p2] == p1:
                # the swap merges into the block before it: 1 more CX (block of 1-2 CX), or none (3 CX)
                score -= absorb * (1.5 if block[p1] >= 3 else 1.0) / (1 if front_sum else len(front))
            if score < best_score - 1e-12:
                best_score, best = score, [(p1, p2)]
            elif abs(score - best_score) <= 1e-12:
                best.append((p1, p2))
        if bridge is not None:
            picked = _bridge(ops, ready, front, ext, lay, adj, dist, swap_cost, weight, gamma, front_sum,
                             best_score - bridge)
            if picked is not None:
                i, a, m, b = picked
                out.append(("bridge", (a, m, b), i))
                ready.remove(i)
                for s in succ[i]:
                    indeg[s] -= 1
                    if indeg[s] == 0:
                        ready.append(s)
                partner[a] = partner[m] = partner[b] = -1
                decay[:] = 1.0
                since = 0
                continue
        p1, p2 = best[int(rng.integers(len(best)))] if len(best) > 1 else best[0]
        _swap(lay, inv, p1, p2)
        out.append(("swap", (p1, p2), -1))
        partner[p1] = partner[p2] = -1
        decay[p1] += decay_step
        decay[p2] += decay_step
        swaps += 1
        since += 1
    return out, lay, swaps


def _bridge(ops: Sequence[Instruction], ready: list[int], front: list[tuple[int, int]], ext: list[tuple[int, int]],
            lay: list[int], adj: np.ndarray, dist: np.ndarray, swap_cost: np.ndarray, weight: float, gamma: float,
            front_sum: bool, bound: float) -> tuple[int, int, int, int] | None:
    """The front-layer CX to bridge, ``(index, a, m, b)``, if its score is below ``bound``; else ``None``."""
    f_now = sum(dist[lay[x], lay[y]] for x, y in front)
    e_now = sum(dist[lay[x], lay[y]] for x, y in ext) / len(ext) if ext else 0.0
    picked: tuple[int, int, int, int] | None = None
    for i in ready:
        inst = ops[i]
        if inst.name != "cx" or inst.condition is not None:
            continue
        a, b = lay[inst.qubits[0]], lay[inst.qubits[1]]
        mids = np.nonzero(adj[a] & adj[b])[0]
        if not len(mids):
            continue
        m = int(min(mids, key=lambda q: (dist[a, q] + dist[q, b], q)))
        f = (f_now - dist[a, b] + (dist[a, m] + dist[m, b]) / 2) / (1 if front_sum else len(front))
        score = f + weight * e_now + gamma * (swap_cost[a, m] + swap_cost[m, b]) / 2
        if score < bound:
            bound, picked = score, (i, a, m, b)
    return picked


def _swap(lay: list[int], inv: list[int], p1: int, p2: int) -> None:
    v1, v2 = inv[p1], inv[p2]
    lay[v1], lay[v2] = p2, p1
    inv[p1], inv[p2] = v2, v1


def _path(nbrs: list[list[int]], a: int, b: int) -> list[int]:
    prev = {a: a}
    frontier = [a]
    while frontier and b not in prev:
        nxt = []
        for p in frontier:
            for q in nbrs[p]:
                if q not in prev:
                    prev[q] = p
                    nxt.append(q)
        frontier = nxt
    path = [b]
    while path[-1] != a:
        path.append(prev[path[-1]])
    return path[::-1]
