"""Gate fusion and program compilation for the native kernels (pure NumPy).

Input: *numeric ops* ``(qubits, matrix)`` as in ``docs/design.md`` (first listed
qubit = least significant bit of the matrix index). Output: a :class:`Program`
for :func:`qtandem.sim._kernels.run_program`. The pipeline and what each stage
buys (layered rx/rz/cx benchmark, 2 threads; see ``bench/statevector.py``):

1. :func:`fuse` -- greedy fusion into blocks of at most ``max_qubits`` qubits
   (diagonal-only blocks up to ``max_diag_qubits``), respecting order: an op
   joins the latest block touching its qubits, and earlier blocks it touches are
   pulled in when no block in between touches their qubits. Cuts the number of
   sweeps over the state (rx*rz on a qubit becomes one 2x2, a CX absorbs its two
   neighbours); at fixed flops per amplitude, fewer sweeps means less traffic.
2. :func:`classify` -- from the fused matrix's *values*: qubits it acts on
   trivially are dropped, "controls" (identity where the bit is 0) are split off,
   and the remaining block is a DIAG (one complex multiply per amplitude), a
   PERM with phases (data movement only: a CX swaps half the amplitudes with no
   arithmetic) or a DENSE matrix (2^k complex multiply-adds per amplitude).
3. :func:`plan` -- cache blocking. Consecutive ops are grouped into *chunk
   segments*: a set ``S`` of ``local`` qubits (always including the lowest
   ``low`` qubits, so chunks are made of contiguous runs) such that every op of
   the segment acts inside ``S``. The kernel gathers each of the ``2^(n-local)``
   chunks into an L2-resident buffer, applies the whole segment, and scatters it
   back: one pass over memory per segment instead of one per op. Ops on high
   qubits simply pick a different ``S`` (the gather handles strided chunks), so
   no explicit qubit swaps are needed.
4. :func:`pack` -- int64 code + complex128 data, the format documented at the
   top of ``_kernels.c`` (optionally with L1 tile markers, see ``tile``).

Measured on a 2-core Zen 3 VM (noisy, shared): fusion width 1 -> 2 made the
n=20 run 1.7x faster (382 dense + 190 perm ops -> 181 dense + 9 perm); width 3
was 10-25% slower than 2 with the final kernels. Cache blocking needs 4-14
passes over memory at n=24 instead of ~230; each pass costs ~25 ms there, so
the pass count matters (``low=2`` instead of 4 gave 8 passes instead of 14, -8%).
Second-level L1 tiles were neutral and are off by default. Splitting 1-qubit
gates into diagonal*real*diagonal (real matrices need half the multiply-adds)
gained 1.4x in-cache for complex128 but nothing for complex64 and multiplied
the passes (wide diagonals need many local qubits), so it was dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qtandem.sim.dense import dense_unitary
from qtandem.sim.plan import fuse_plan

DENSE, DIAG, PERM, TILE = 0, 1, 2, 3
SEG_GLOBAL, SEG_CHUNK = 1, 2
MAX_KERNEL_TARGETS = 6  # dense / permutation targets the C kernels accept
MAX_DIAG_TARGETS = 16
ATOL = 1e-14  # entries this small count as structural zeros

NumericOp = tuple[tuple[int, ...], np.ndarray]


@dataclass
class KernelOp:
    """One classified op in the kernels' convention (ascending qubits).

    Attributes:
        kind: ``DENSE``, ``DIAG`` or ``PERM``.
        targets: ascending target qubits; index bit ``j`` is ``targets[j]``.
        controls: ascending control qubits (the op acts where all are 1).
        data: complex128 matrix (``DENSE``, ``K x K``), diagonal (``DIAG``, ``K``)
            or phases (``PERM``, ``K``) with ``K = 2**len(targets)``.
        perm: for ``PERM``: ``new[perm[r]] = data[r] * old[r]``.
    """

    kind: int
    targets: tuple[int, ...]
    controls: tuple[int, ...] = ()
    data: np.ndarray = field(default_factory=lambda: np.ones(1, complex))
    perm: np.ndarray | None = None

    @property
    def qubits(self) -> tuple[int, ...]:
        """All qubits the op touches, ascending."""
        return tuple(sorted(self.targets + self.controls))

    def matrix(self) -> np.ndarray:
        """The op as a dense matrix on ``targets`` (controls not included)."""
        if self.kind == DENSE:
            k = round(len(self.data) ** 0.5)
            return self.data.reshape(k, k)
        if self.kind == DIAG:
            return np.diag(self.data)
        k = len(self.data)
        m = np.zeros((k, k), dtype=complex)
        m[self.perm, np.arange(k)] = self.data
        return m


@dataclass
class Program:
    """A compiled op list: native steps ``("native", code, data)`` interleaved
    with rare ``("numpy", qubits, matrix)`` steps for ops too wide for the C
    kernels. ``stats`` counts ops, kinds and memory passes (for benchmarks)."""

    n_qubits: int
    steps: list[tuple] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


def canonicalize(qubits: tuple[int, ...], matrix: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """Reorder ``matrix`` so that its index bit ``j`` refers to the ``j``-th smallest qubit."""
    order = np.argsort(qubits, kind="stable")
    k = len(qubits)
    if all(order[i] == i for i in range(k)):
        return tuple(qubits), matrix
    t = matrix.reshape([2] * (2 * k))
    # tensor axis i (rows) / k+i (cols) is index bit k-1-i
    axes = [k - 1 - order[k - 1 - i] for i in range(k)]
    t = t.transpose(axes + [k + a for a in axes])
    return tuple(int(qubits[i]) for i in order), t.reshape(2**k, 2**k)


_OFFDIAG: dict[int, np.ndarray] = {}


def _is_diag(m: np.ndarray) -> bool:
    d = m.shape[0]
    mask = _OFFDIAG.get(d)
    if mask is None:
        mask = _OFFDIAG[d] = ~np.eye(d, dtype=bool)
    return d == 1 or bool(np.abs(m[mask]).max() <= ATOL)


# --------------------------------------------------------------------------- fusion


def fuse(ops: list[NumericOp], max_qubits: int = 2, max_diag_qubits: int = 8) -> list[NumericOp]:
    """Fuse ops into blocks planned by :func:`qtandem.sim.plan.fuse_plan` (module docstring, step 1).

    Args:
        ops: numeric ops in circuit order.
        max_qubits: widest block that contains a non-diagonal op. ``0``
            disables fusion (ops are only canonicalised).
        max_diag_qubits: widest all-diagonal block (a diagonal costs one
            multiply per amplitude whatever its width).

    Returns:
        Fused ops ``(ascending qubits, matrix)`` whose product, in order, equals
        the product of ``ops``.
    """
    if max_qubits <= 0:
        return [canonicalize(tuple(q), np.asarray(m, dtype=complex)) for q, m in ops]
    checked = [(tuple(int(q) for q in qubits), np.asarray(mat, dtype=complex)) for qubits, mat in ops]
    blocks = fuse_plan([q for q, _ in checked], max_qubits, diagonal=[_is_diag(m) for _, m in checked],
                       max_diag_qubits=max_diag_qubits)
    return [_block_matrix(set(b.qubits), [checked[i] for i in b.members]) for b in blocks]


def _block_matrix(qubits: set[int], ops: list[NumericOp]) -> NumericOp:
    qs = tuple(sorted(qubits))
    if len(ops) == 1:
        return canonicalize(*ops[0])
    pos = {q: i for i, q in enumerate(qs)}
    return qs, dense_unitary([(tuple(pos[q] for q in oq), m) for oq, m in ops], len(qs))


# --------------------------------------------------------------------------- classification


def _bit_split(k: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(2**k)
    return idx[(idx >> j) & 1 == 0], idx[(idx >> j) & 1 == 1]


def classify(qubits: tuple[int, ...], matrix: np.ndarray) -> KernelOp:
    """Classify one op (ascending ``qubits``) into the cheapest kernel (step 2)."""
    m = np.asarray(matrix, dtype=complex)
    if m.shape[0] > 1 and not np.any(np.abs(m) <= ATOL):  # no zero at all: plain dense
        return KernelOp(DENSE, tuple(qubits), (), np.ascontiguousarray(m.reshape(-1)))
    targets = list(qubits)
    controls: list[int] = []
    changed = True
    while changed and targets:
        changed = False
        for j in range(len(targets)):
            zero, one = _bit_split(len(targets), j)
            off_zero = np.abs(m[np.ix_(zero, one)]).max(initial=0) <= ATOL and \
                np.abs(m[np.ix_(one, zero)]).max(initial=0) <= ATOL
            if not off_zero:
                continue
            m00, m11 = m[np.ix_(zero, zero)], m[np.ix_(one, one)]
            if np.abs(m00 - m11).max(initial=0) <= ATOL:  # acts trivially on this qubit
                m = m00
            elif np.abs(m00 - np.eye(len(zero))).max(initial=0) <= ATOL:  # a control
                controls.append(targets[j])
                m = m11
            else:
                continue
            del targets[j]
            changed = True
            break
    t, c = tuple(targets), tuple(sorted(controls))
    if _is_diag(m):
        return KernelOp(DIAG, t, c, np.ascontiguousarray(np.diagonal(m)))
    nz = np.abs(m) > ATOL
    if np.all(nz.sum(axis=0) == 1) and np.all(nz.sum(axis=1) == 1):
        perm = np.argmax(nz, axis=0)
        return KernelOp(PERM, t, c, np.ascontiguousarray(m[perm, np.arange(len(perm))]), perm.astype(np.int64))
    return KernelOp(DENSE, t, c, np.ascontiguousarray(m.reshape(-1)))


# --------------------------------------------------------------------------- cache blocking


def plan(n: int, kops: list[KernelOp], local: int, low: int = 4) -> list[tuple[int, tuple[int, ...], list[KernelOp]]]:
    """Group ops into memory passes (step 3).

    Returns ``(SEG_CHUNK, S, ops)`` segments (``S`` ascending, ``len(S) == local``)
    and ``(SEG_GLOBAL, (), ops)`` segments, in execution order. Global segments
    hold everything when ``n <= local`` and ops too wide for any chunk.
    """
    if n <= local:
        return [(SEG_GLOBAL, (), list(kops))] if kops else []
    low = min(low, local)
    segments: list[tuple[int, tuple[int, ...], list[KernelOp]]] = []
    remaining = list(kops)
    while remaining:
        first = set(remaining[0].qubits)
        if len(first | set(range(low))) > local:
            segments.append((SEG_GLOBAL, (), [remaining.pop(0)]))
            continue
        s = set(range(low))
        blocked: set[int] = set()
        taken, rest = [], []
        for op in remaining:
            q = set(op.qubits)
            if q & blocked:
                blocked |= q
                rest.append(op)
            elif q <= s or len(s | q) <= local:
                s |= q
                taken.append(op)
            else:
                blocked |= q
                rest.append(op)
        for extra in range(n):  # pad with the lowest free qubits (longer contiguous runs)
            if len(s) >= local:
                break
            s.add(extra)
        segments.append((SEG_CHUNK, tuple(sorted(s)), taken))
        remaining = rest
    return segments


# --------------------------------------------------------------------------- packing


def _encode(op: KernelOp, remap: dict[int, int] | None, code: list[int], data: list[np.ndarray],
            doff: int) -> int:
    r = remap.__getitem__ if remap else int
    code += [op.kind, len(op.targets), len(op.controls), doff]
    code += [r(q) for q in op.targets] + [r(q) for q in op.controls]
    if op.perm is not None:
        code += [int(p) for p in op.perm]
    data.append(op.data)
    return doff + len(op.data)


def _tile_schedule(ops: list[KernelOp], qubits_of, tile: int) -> list[tuple[bool, list[KernelOp]]]:
    """Split ops into ``(True, group)`` items whose qubits are all ``< tile`` (applied
    tile by tile while an L1-sized tile is hot) and ``(False, [op])`` items, keeping
    every op behind the earlier ops it shares a qubit with."""
    out: list[tuple[bool, list[KernelOp]]] = []
    remaining = list(ops)
    while remaining:
        taken: list[KernelOp] = []
        rest: list[KernelOp] = []
        blocked: set[int] = set()
        for op in remaining:
            q = set(qubits_of(op))
            if q & blocked or max(q, default=-1) >= tile:
                blocked |= q
                rest.append(op)
            else:
                taken.append(op)
        if len(taken) >= 2:
            out.append((True, taken))
            remaining = rest
        else:
            out.append((False, [remaining[0]]))
            remaining = remaining[1:]
    return out


def pack(n: int, segments: list[tuple[int, tuple[int, ...], list[KernelOp]]],
         tile: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pack segments into the ``(int64 code, complex128 data)`` of ``run_program``.

    ``tile > 0`` adds tile markers (second-level blocking, see ``_kernels.c``) for
    runs of ops on the ``tile`` lowest (local) qubits.
    """
    code: list[int] = []
    data: list[np.ndarray] = []
    doff = 0
    for kind, s, ops in segments:
        if not ops:
            continue
        remap = None
        width = n
        if kind == SEG_CHUNK:
            code += [SEG_CHUNK, len(s), *s]
            remap = {q: i for i, q in enumerate(s)}
            width = len(s)
        else:
            code.append(SEG_GLOBAL)
        items = [(False, [op]) for op in ops]
        if 0 < tile < width:
            items = _tile_schedule(ops, (lambda op, r=remap: [r[q] for q in op.qubits]) if remap else
                                   (lambda op: op.qubits), tile)
        code.append(sum(len(group) + is_tile for is_tile, group in items))
        for is_tile, group in items:
            if is_tile:
                code += [TILE, tile, len(group), 0]
            for op in group:
                doff = _encode(op, remap, code, data, doff)
    arr = np.concatenate(data).astype(np.complex128) if data else np.zeros(1, np.complex128)
    return np.asarray(code, dtype=np.int64), np.ascontiguousarray(arr)


def compile_program(n: int, ops: list[NumericOp], *, fusion: int = 2, diag_fusion: int = 8,
                    local: int = 15, low: int = 4, tile: int = 0) -> Program:
    """Fuse, classify, cache-block and pack ``ops`` for an ``n``-qubit state."""
    prog = Program(n)
    kops: list[KernelOp] = []
    stats = {"ops": len(ops), "dense": 0, "real": 0, "diag": 0, "perm": 0, "passes": 0, "numpy": 0}

    def flush() -> None:
        segs = plan(n, kops, local, low)
        if segs:
            prog.steps.append(("native", *pack(n, segs, tile)))
            stats["passes"] += sum(1 if k == SEG_CHUNK else len(o) for k, _, o in segs)
        kops.clear()

    for qs, m in fuse(ops, fusion, diag_fusion):
        op = classify(qs, m)
        wide = len(op.targets) > (MAX_DIAG_TARGETS if op.kind == DIAG else MAX_KERNEL_TARGETS)
        if wide:
            flush()
            prog.steps.append(("numpy", qs, m))
            stats["numpy"] += 1
            continue
        stats[("dense", "diag", "perm")[op.kind]] += 1
        stats["real"] += op.kind == DENSE and not np.any(op.data.imag)
        kops.append(op)
    flush()
    prog.stats = stats
    return prog
