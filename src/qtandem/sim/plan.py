"""Gate fusion planning: which gates merge into one block (the one planner of both paths).

Planning looks only at the qubits each gate touches (and, optionally, which gates are
diagonal), so one plan serves every parameter value and every batch row. The torch
path (:mod:`qtandem.sim.core`) multiplies a block's gates into one ``2**m x 2**m``
matrix (batched and differentiable); the native path (:mod:`qtandem.sim.fusion`)
does the same in NumPy before classifying and cache-blocking the result. Either way
the state is touched once per block instead of once per gate.

The greedy rule, in circuit order: a gate joins the latest block that touches its
qubits, and earlier blocks it touches are pulled into that block when no block in
between touches their qubits, as long as the union has at most ``max_qubits`` qubits
(``max_diag_qubits`` when the gate and those blocks are all diagonal: a diagonal costs
one multiply per amplitude whatever its width); otherwise the gate tries the latest
block alone, and else opens a new block. Blocks are emitted in creation order; a
pulled block only moves past blocks that share none of its qubits, so the reordering
only swaps commuting operations.

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


def fuse_plan(gate_qubits: Sequence[Sequence[int]], max_qubits: int, *,
              diagonal: Sequence[bool] | None = None, max_diag_qubits: int = 0) -> list[Block]:
    """Group gates into blocks of at most ``max_qubits`` qubits (rule in the module docstring).

    Args:
        gate_qubits: the qubits of each gate, in circuit order.
        max_qubits: largest block (a gate wider than this forms a block alone).
        diagonal: which gates are diagonal (default: none).
        max_diag_qubits: largest block made only of diagonal gates (if above ``max_qubits``).

    Returns:
        Blocks in a valid execution order; every gate index appears once, and the
        members of a block are in circuit order.

    Examples:
        >>> [(b.qubits, b.members) for b in fuse_plan([(0,), (1,), (0, 1), (2,), (1, 2)], max_qubits=2)]
        [((0, 1), (0, 1, 2)), ((1, 2), (3, 4))]
        >>> chain = [(0, 1), (1, 2), (2, 3)]
        >>> [b.qubits for b in fuse_plan(chain, 2)]
        [(0, 1), (1, 2), (2, 3)]
        >>> [b.qubits for b in fuse_plan(chain, 2, diagonal=[True] * 3, max_diag_qubits=4)]   # e.g. three cz
        [(0, 1, 2, 3)]
    """
    wide = max(max_diag_qubits, max_qubits)
    blocks: list[tuple[set[int], list[int], bool] | None] = []  # (qubits, members, all diagonal)
    last: dict[int, int] = {}  # qubit -> latest block touching it
    for idx, qubits in enumerate(gate_qubits):
        qs = set(qubits)
        diag = bool(diagonal[idx]) if diagonal is not None else False
        cands = sorted({last[q] for q in qs if q in last})
        target = None
        if cands:
            b = cands[-1]
            latest = blocks[b]
            assert latest is not None
            others = [c for c in cands[:-1] if all(last[q] == c for q in blocks[c][0])]  # type: ignore[index]
            if len(others) == len(cands) - 1:
                parts = [blocks[c] for c in others]
                union = qs.union(latest[0], *(p[0] for p in parts if p is not None))
                all_diag = diag and latest[2] and all(p is not None and p[2] for p in parts)
                if len(union) <= (wide if all_diag else max_qubits):
                    for c in others:  # pull earlier independent blocks into b
                        part = blocks[c]
                        assert part is not None
                        latest[1].extend(part[1])
                        latest[0].update(part[0])
                        for q in part[0]:
                            last[q] = b
                        blocks[c] = None
                    blocks[b] = (latest[0], latest[1], all_diag)
                    target = b
            if target is None:
                all_diag = diag and latest[2]
                if len(qs | latest[0]) <= (wide if all_diag else max_qubits):
                    blocks[b] = (latest[0], latest[1], all_diag)
                    target = b
        if target is None:
            blocks.append((set(), [], diag))
            target = len(blocks) - 1
        block = blocks[target]
        assert block is not None
        block[1].append(idx)
        block[0].update(qs)
        for q in qs:
            last[q] = target
    return [Block(tuple(sorted(blk[0])), tuple(sorted(blk[1]))) for blk in blocks if blk is not None]
