"""From the router's emitted list to the routed circuit on native gates.

:func:`qtandem.compile.sabre.sabre_pass` returns a list of ``("op", physical qubits, index)`` and
``("swap", (p1, p2), -1)`` entries. :func:`_emit` writes it as a circuit on the device's physical
qubits: each swap as 3 CX, except a swap right after a CX on the same pair, which is absorbed
(``cx(c, t) . SWAP = cx(t, c) . cx(c, t)``, 1 more CX instead of 3), and each bridge
``("bridge", (a, m, b), index)`` as 4 CX over the middle qubit; an elided input swap
(``("relabel", ...)``) writes nothing. :func:`_emitted_cx` predicts the
two-qubit gates of the output before any cleanup runs, so trials can be ranked cheaply; it counts
the merge of a swap into the block of CX before it on its pair (a swap after a block of 3 CX costs
no CX once the cleanup resynthesizes the block). :func:`_finish` is that cleanup: native gates,
cancellation, two-qubit block resynthesis (KAK) and one-qubit resynthesis.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> ops = list(Circuit(3).cx(0, 1).cx(0, 2))
    >>> emitted = [("op", (0, 1), 0), ("swap", (0, 1), -1), ("op", (1, 2), 1)]   # line 0-1-2
    >>> out = _emit(ops, emitted, 3, Circuit(3))
    >>> _cx(out), _emitted_cx(ops, emitted), native_basis(Device.preset("line_5"))
    (3, 3, 'ibm')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qtandem.circuit import Circuit, Instruction
from qtandem.errors import CompileError

__all__ = ["native_basis"]


def native_basis(device: Any) -> str:
    """The named basis (``qtandem.compile.passes.basis.BASES``) matching a device's native gates.

    Raises:
        CompileError: no named basis fits.

    Examples:
        >>> from qtandem.device import Device
        >>> native_basis(Device.preset("heavy_hex_27"))                 # cx, rz, sx, x
        'ibm'
    """
    native = set(device.native_gates)
    for name, gates in (("ibm", {"rz", "sx", "x", "cx"}), ("ibm_cz", {"rz", "sx", "x", "cz"}),
                        ("nam", {"h", "x", "cx", "rz"})):
        if gates <= native:
            return name
    raise CompileError(f"device {device.name!r} native gates {sorted(native)} match no basis "
                       "(ibm {rz, sx, x, cx}, ibm_cz {rz, sx, x, cz}, nam {h, x, cx, rz})")


def _prepare(circuit: Circuit) -> Circuit:
    """Gates on three or more qubits expanded into CX and one-qubit gates."""
    if not any(i.is_gate and len(i.qubits) > 2 for i in circuit):
        return circuit
    from qtandem.compile.passes.basis import BasisTranslation

    return BasisTranslation("nam").run(circuit)


def _emit(ops: Sequence[Instruction], emitted: list[tuple[str, tuple[int, ...], int]], big_n: int,
          like: Circuit) -> Circuit:
    """The routed circuit: ops on their physical qubits, each swap as CX, absorbed where it can be.

    A swap right after a CX on the same pair (only unconditioned one-qubit gates on the two
    qubits in between) is absorbed: ``cx(c, t) . SWAP = cx(t, c) . cx(c, t)`` once those
    one-qubit gates move past the swap (relabelled ``p1 <-> p2``), so it costs 1 more CX, not 3.
    """
    insts: list[list[Instruction]] = []
    hist: list[list[int]] = [[] for _ in range(big_n)]  # per physical qubit: indices into insts
    for kind, qs, i in emitted:
        if kind == "op":
            insts.append([ops[i].replace(qubits=qs)])
            for q in qs if qs else range(big_n):
                hist[q].append(len(insts) - 1)
            continue
        if kind == "relabel":  # an input swap elided: the layout moved, no gate
            continue
        if kind == "bridge":  # cx(a, b) over a common neighbour m, no qubit moved
            a, m, b = qs
            insts.append([Instruction("cx", (a, m)), Instruction("cx", (m, b)), Instruction("cx", (a, m)),
                          Instruction("cx", (m, b))])
            for q in qs:
                hist[q].append(len(insts) - 1)
            continue
        p1, p2 = qs
        tails = [_one_qubit_tail(insts, hist[p]) for p in (p1, p2)]
        j1 = hist[p1][-1 - len(tails[0])] if len(hist[p1]) > len(tails[0]) else -1
        j2 = hist[p2][-1 - len(tails[1])] if len(hist[p2]) > len(tails[1]) else -2
        if j1 == j2 and len(insts[j1]) == 1 and insts[j1][0].name == "cx" and insts[j1][0].condition is None:
            c, t = insts[j1][0].qubits
            insts[j1] = [Instruction("cx", (t, c)), Instruction("cx", (c, t))]
            for _, other, tail in ((p1, p2, tails[0]), (p2, p1, tails[1])):
                for k in tail:
                    insts[k] = [insts[k][0].replace(qubits=(other,))]
            cut1, cut2 = len(hist[p1]) - len(tails[0]), len(hist[p2]) - len(tails[1])
            hist[p1], hist[p2] = hist[p1][:cut1] + tails[1], hist[p2][:cut2] + tails[0]
            continue
        insts.append([Instruction("cx", (p1, p2)), Instruction("cx", (p2, p1)), Instruction("cx", (p1, p2))])
        hist[p1].append(len(insts) - 1)
        hist[p2].append(len(insts) - 1)
    out = Circuit(big_n, like.n_clbits, name=like.name, cregs=like.cregs if like.n_clbits else None)
    for group in insts:
        for inst in group:
            out.append(inst)
    return out


def _emitted_cx(ops: Sequence[Instruction], emitted: list[tuple[str, tuple[int, ...], int]]) -> int:
    """Two-qubit gates :func:`_emit` will write for ``emitted`` (3 per swap, 1 more per absorbed swap)."""
    partner: dict[int, int] = {}
    block: dict[int, int] = {}  # CX in the run on (p, partner[p]) ending at p
    count = 0
    for kind, qs, i in emitted:
        if kind == "relabel":
            continue
        if kind == "bridge":
            count += 4
            for q in qs:
                partner[q] = -1
            continue
        if kind == "swap":
            p1, p2 = qs
            if partner.get(p1) == p2 and partner.get(p2) == p1:  # cx + swap: 2 CX in all; 3-CX block + swap: 3
                count += 0 if block[p1] >= 3 else 1
                partner[p1] = partner[p2] = -2  # the absorbing pair is used up
            else:
                count += 3
                partner[p1] = partner[p2] = -1
            continue
        inst = ops[i]
        if inst.is_gate and len(qs) == 2:
            count += 1
            if inst.name == "cx" and inst.condition is None:
                a, b = qs
                k = block[a] + 1 if partner.get(a) == b and partner.get(b) == a else 1
                partner[a], partner[b] = b, a
                block[a] = block[b] = k
                continue
        elif inst.is_gate and len(qs) == 1 and inst.condition is None:
            continue
        for q in qs if qs else list(partner):
            partner[q] = -1
    return count


def _cx(circuit: Circuit) -> int:
    return sum(1 for i in circuit if i.is_gate and len(i.qubits) == 2)


def _one_qubit_tail(insts: list[list[Instruction]], hist: list[int]) -> list[int]:
    """The trailing run of unconditioned one-qubit gates in a qubit's history (indices, in order)."""
    k = len(hist)
    while k > 0:
        group = insts[hist[k - 1]]
        if len(group) != 1 or not group[0].is_gate or len(group[0].qubits) != 1 or group[0].condition is not None:
            break
        k -= 1
    return hist[k:]


def _finish(routed: Circuit, device: Any, *, kak: bool = True, min_cx: int = 1, fold: bool | None = None) -> Circuit:
    """Native gates, cancellation, two-qubit block resynthesis (blocks of ``min_cx`` or more two-qubit gates).

    With ``fold`` (default: as ``kak``), the routed circuit first goes through the passes that never put a
    two-qubit gate on a new pair, in the {h, x, cx, rz} basis: Hadamard reduction, cancellation, phase folding,
    rotation merging. Swaps leave CX next to the circuit's own and phases between them; folding the phases
    lets those CX cancel or join one block.
    """
    from qtandem.compile.passes.basis import BasisTranslation
    from qtandem.compile.passes.cancellation import GateCancellation
    from qtandem.compile.passes.kak import TwoQubitResynthesis
    from qtandem.compile.passes.resynth_1q import Resynthesis1Q
    from qtandem.compile.passmanager import PassManager

    basis = native_basis(device)
    if kak if fold is None else fold:
        from qtandem.compile.passes.hadamard import HadamardReduction
        from qtandem.compile.passes.phase_folding import PhaseFolding
        from qtandem.compile.passes.rotation_merge import RotationMerge

        routed = PassManager([HadamardReduction(), GateCancellation(), PhaseFolding(placement="smart"),
                              GateCancellation(), RotationMerge()]).run(BasisTranslation("nam").run(routed))
    out = BasisTranslation(basis).run(routed)
    style = "nam" if basis == "nam" else "zsx"
    passes: list[Any] = [GateCancellation(), Resynthesis1Q(style), GateCancellation()]
    if kak and basis != "ibm_cz":  # a swap next to gates on its pair: one block of <= 3 CX
        passes[1:1] = [TwoQubitResynthesis(style, min_cx=min_cx)]
    out = PassManager(passes, repeat=2).run(out)
    if any(i.is_gate and i.name not in device.native_gates for i in out):
        out = BasisTranslation(basis).run(out)
    return out
