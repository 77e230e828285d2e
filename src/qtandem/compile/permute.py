"""An opt-in output permutation: swaps turned into a relabelling of the wires (``optimize(permute_output=True)``).

A SWAP costs three CX, but a compiler that may return its circuit "up to a final permutation of the
wires" pays nothing for it: every later gate has its two wires exchanged instead, and the caller reads
the output state of wire ``i`` of the input on wire ``permutation[i]`` (the convention of
:func:`qtandem.compile.verify.verify_equivalent`). tket's ``FullPeepholeOptimise`` does this by default
(its "implicit permutation"); most of its CX lead on QFT-like circuits, whose final swaps reverse the
qubit order, comes from it. Here it is off unless asked for, because a caller that ignores the
permutation reads the wrong qubits.

Two steps, each exact by construction and proven again at the end:

* :func:`elide_swaps`: ``swap`` gates and CX triples ``cx(a, b) cx(b, a) cx(a, b)`` (either orientation,
  nothing else on ``a`` or ``b`` between them) are removed and later gates relabelled;
* :func:`absorb_swaps`: two-qubit blocks whose product with a SWAP needs fewer CX
  (:class:`~qtandem.compile.passes.swap_absorb.SwapAbsorption`'s test) are written as ``SWAP . U``, with the
  swap left in the permutation instead of undone at the end.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(3).h(0).cp(0.5, 0, 1).swap(0, 2).cx(2, 1)
    >>> out, perm = elide_swaps(c)
    >>> out.count_ops(), perm       # the cx now acts on wire 0, where the state of wire 2 ended up
    ({'h': 1, 'cp': 1, 'cx': 1}, [2, 1, 0])
"""

from __future__ import annotations

from collections.abc import Sequence

from qtandem.circuit import Circuit
from qtandem.compile.dag import Op, to_circuit, to_ops
from qtandem.compile.passmanager import PropertySet

__all__ = ["absorb_swaps", "compose_permutations", "elide_swaps"]


def compose_permutations(first: Sequence[int], then: Sequence[int]) -> list[int]:
    """The permutation of ``first`` followed by ``then`` (wire ``i`` goes to ``then[first[i]]``).

    Examples:
        >>> compose_permutations([1, 0, 2], [0, 2, 1])
        [2, 0, 1]
    """
    return [int(then[p]) for p in first]


def _unitary_only(ops: list[Op]) -> bool:
    return not any(op.inst is not None for op in ops)


def elide_swaps(circuit: Circuit) -> tuple[Circuit, list[int]]:
    """Remove ``swap`` gates and three-CX swaps, relabelling the gates after them.

    Returns ``(out, permutation)`` with ``out`` equal to ``circuit`` followed by moving the state of wire ``i``
    to wire ``permutation[i]``. A circuit with a non-gate or opaque instruction (measurement, condition,
    symbolic angle) is returned unchanged with the identity permutation: relabelling would move the reads.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).rz(0.3, 0).cx(0, 1).cx(1, 0).cx(0, 1).rx(0.1, 1)
        >>> out, perm = elide_swaps(c)
        >>> [(i.name, i.qubits) for i in out], perm
        ([('rz', (0,)), ('rx', (0,))], [1, 0])
    """
    n = circuit.n_qubits
    ops = to_ops(circuit)
    if not _unitary_only(ops):
        return circuit, list(range(n))
    nxt: list[dict[int, int]] = [{} for _ in ops]  # op index -> {wire: index of the next op on that wire}
    last: dict[int, int] = {}
    for i, op in enumerate(ops):
        for q in op.qubits:
            if q in last:
                nxt[last[q]][q] = i
            last[q] = i
    dead: set[int] = set()
    swap_at: set[int] = set()  # indices of ops that act as a swap of their two wires (the triple's last one)
    for i, op in enumerate(ops):
        if i in dead:
            continue
        if op.name == "swap" and len(op.qubits) == 2:
            dead.add(i)
            swap_at.add(i)
            continue
        if op.name != "cx":
            continue
        a, b = op.qubits
        j = nxt[i].get(a)
        if j is None or j != nxt[i].get(b) or j in dead or ops[j].name != "cx" or ops[j].qubits != (b, a):
            continue
        k = nxt[j].get(a)
        if k is None or k != nxt[j].get(b) or k in dead or ops[k].name != "cx" or ops[k].qubits != (a, b):
            continue
        dead.update((i, j, k))
        swap_at.add(k)
    if not swap_at:
        return circuit, list(range(n))
    wire = list(range(n))  # wire of the input -> wire of the output where its state now lives
    out: list[Op] = []
    for i, op in enumerate(ops):
        if i in swap_at:
            a, b = op.qubits
            wire[a], wire[b] = wire[b], wire[a]
        if i in dead:
            continue
        out.append(Op(op.name, tuple(wire[q] for q in op.qubits), op.angle, op.params))
    return to_circuit(out, circuit), wire


def absorb_swaps(circuit: Circuit, style: str, props: PropertySet | None = None) -> tuple[Circuit, list[int]]:
    """Write every two-qubit block that is cheaper up to a swap as ``SWAP . U``, keeping the swaps as a permutation.

    Then the blocks are merged again (:class:`~qtandem.compile.passes.kak.TwoQubitResynthesis`), with
    cancellation and one-qubit merging. Returns ``(out, permutation)`` (see :func:`elide_swaps`); ``circuit``
    itself and the identity when nothing is cheaper under the property set's objective (default ``cx``).

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).cx(0, 1).rz(0.3, 1).cx(1, 0).cx(0, 1)    # a swap times a ZZ rotation: 3 CX
        >>> out, perm = absorb_swaps(c, "zsx")
        >>> out.count_ops()["cx"], perm
        (2, [1, 0])
    """
    from qtandem.compile.passes.cancellation import GateCancellation
    from qtandem.compile.passes.kak import TwoQubitResynthesis
    from qtandem.compile.passes.resynth_1q import Resynthesis1Q
    from qtandem.compile.passes.swap_absorb import _key, absorb_blocks
    from qtandem.compile.passmanager import counts

    n = circuit.n_qubits
    ops = to_ops(circuit)
    if not _unitary_only(ops):
        return circuit, list(range(n))
    objective = props.get("objective", "cx") if props is not None else "cx"
    key = _key(objective)
    best, best_perm, best_cost = circuit, list(range(n)), key(counts(circuit))
    for mode in dict.fromkeys((objective, "cx")):
        # absorb_blocks undoes the permutation with CX triples at the very end; elide_swaps takes them out again
        cand = absorb_blocks(circuit, style, mode, terminal=True)
        if cand is None:
            continue
        cand, perm = elide_swaps(cand)
        cand = TwoQubitResynthesis(style).run(cand, props)
        cand = Resynthesis1Q(style).run(GateCancellation().run(cand))
        cost = key(counts(cand))
        if cost < best_cost:
            best, best_perm, best_cost = cand, perm, cost
    return best, best_perm
