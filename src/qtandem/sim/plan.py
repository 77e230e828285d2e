"""Gate fusion planning: which consecutive gates merge into one block.

Planning looks only at the qubits each gate touches, so one plan serves every
parameter value (and every batch row): the torch path multiplies the gates of a
block into one ``2**m x 2**m`` matrix (batched and differentiable) and touches
the state once per block instead of once per gate.

The greedy rule: each qubit has at most one *open* block. A gate on qubits ``Q``
merges with the open blocks on ``Q`` when the union of their qubits has at most
``max_qubits`` qubits; otherwise those blocks are closed (emitted) and the gate
opens a new block. A block on qubits ``S`` can be emitted later than gates on
other qubits because every block emitted in between is disjoint from ``S``, so
the reordering only swaps commuting operations.

Examples:
    >>> fuse_plan([(0,), (1,), (0, 1), (2,), (1, 2)], max_qubits=2)
    [Block(qubits=(0, 1), members=(0, 1, 2)), Block(qubits=(1, 2), members=(3, 4))]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Block", "fuse_plan"]


@dataclass(frozen=True)
class Block:
    """A fused block: its qubits (sorted) and the indices of its gates, in order.

    Examples:
        >>> blocks = fuse_plan([(0,), (0, 1)], max_qubits=2)
        >>> blocks[0].qubits, blocks[0].members
        ((0, 1), (0, 1))
    """

    qubits: tuple[int, ...]
    members: tuple[int, ...]


def fuse_plan(gate_qubits: Sequence[Sequence[int]], max_qubits: int) -> list[Block]:
    """Group gates into blocks of at most ``max_qubits`` qubits.

    Args:
        gate_qubits: the qubits of each gate, in circuit order.
        max_qubits: largest block (a gate wider than this forms a block alone).

    Returns:
        Blocks in a valid execution order; every gate index appears once.

    Examples:
        >>> [(b.qubits, b.members) for b in fuse_plan([(0,), (1,), (0, 1), (2,), (1, 2)], max_qubits=2)]
        [((0, 1), (0, 1, 2)), ((1, 2), (3, 4))]
    """
    open_of: dict[int, int] = {}  # qubit -> id of its open block
    blocks: dict[int, tuple[set[int], list[int]]] = {}
    out: list[Block] = []
    next_id = 0

    def close(bid: int) -> None:
        qs, members = blocks.pop(bid)
        for q in qs:
            open_of.pop(q, None)
        out.append(Block(tuple(sorted(qs)), tuple(members)))

    for idx, qubits in enumerate(gate_qubits):
        qset = set(qubits)
        bids = {open_of[q] for q in qset if q in open_of}
        union = set(qset)
        for b in bids:
            union |= blocks[b][0]
        # close the largest open blocks first until the rest fits together with the gate
        keep = sorted(bids, key=lambda b: len(blocks[b][0]))
        while keep and len(qset.union(*(blocks[b][0] for b in keep))) > max_qubits:
            close(keep.pop())
        union = qset.union(*(blocks[b][0] for b in keep))
        members: list[int] = []
        for b in keep:
            members.extend(blocks.pop(b)[1])
        members.sort()  # merged blocks act on disjoint qubits: interleaving by index keeps each one's order
        members.append(idx)
        bid = next_id
        next_id += 1
        blocks[bid] = (union, members)
        for q in union:
            open_of[q] = bid
    for b in sorted(blocks):
        close(b)
    return out
