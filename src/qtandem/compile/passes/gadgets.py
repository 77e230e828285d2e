"""Pauli-gadget resynthesis of Clifford + rotation circuits: :class:`PauliGadgets`.

A circuit of Clifford gates (``h``, ``s``, ``sx``, ``x``, ``cx``, ``cz``, rotations by multiples of
``pi / 2``...) and rotations about Pauli strings (``rz``, ``rx``, ``ry``, ``rzz``..., a general ``u`` as
``rz ry rz``) is ``C . R_m ... R_1``: each rotation moved to the front through the Cliffords before it
becomes a rotation about an input-frame Pauli string ``P_k`` (Zhang and Chen 2019), and ``C`` is the
product of all the Clifford gates, i.e. the circuit with its rotations deleted (its *Clifford skeleton*).
This is the view of tket's ``PauliSimp`` (Cowtan et al. 2020, arXiv:1906.01734):

1. rotations move back past every earlier group they commute with and join the earliest such group of
   mutually commuting rotations; rotations about the same string merge (their angles add);
2. each group is diagonalized by one Clifford ``D`` (greedily: the string with the fewest ``X``/``Y``
   letters left is mapped onto one wire's ``Z`` with ``|B| - 1`` ``cx``, and that wire is settled), which
   turns the group into a phase polynomial rebuilt by GraySynth
   (:func:`~qtandem.compile.passes.graysynth.graysynth`, CX ladders shared between the group's
   rotations) or, when that needs fewer CX, one CX ladder per term; ``D`` and its inverse surround it,
   so the ladders of consecutive groups can cancel in the later passes;
3. where each group is written (two frames, :func:`pauli_gadgets`'s ``frame``): ``"input"``, every group
   in the input frame and then ``C``, as the skeleton (which the later passes shrink: for Trotter and UCC
   circuits it cancels to nothing) or stim's synthesis of its tableau, whichever has fewer ``cx``;
   ``"local"``, the circuit's own Clifford gates in order, with each group inserted (conjugated by them,
   ``F P F^dagger``) where the rotation that opened it was, which keeps that rotation's string short
   (better when the circuit's Cliffords do not cancel, e.g. a Hadamard layer in front of QAOA).
   :class:`PauliGadgets` tries both and keeps the one with fewer ``cx`` after gate cancellation.

The rewrite is one of level 3's starting points (:mod:`qtandem.compile.stretches`): the usual passes run
after it, and the result is kept only when it is cheaper than the other variants and proven equivalent
like every candidate. Set ``props["gadgets"] = False`` to leave it out (the ablation).

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(3)
    >>> for q in (0, 1):                        # exp(-i t X0 X1 X2) twice, written with two CX ladders each
    ...     _ = c.h(0).h(1).h(2).cx(0, 1).cx(1, 2).rz(0.3, 2).cx(1, 2).cx(0, 1).h(0).h(1).h(2)
    >>> out = PauliGadgets().run(c)
    >>> out.count_ops()["cx"], sum(1 for i in out if i.name == "rz")   # one merged rotation
    (4, 1)
"""

from __future__ import annotations

from typing import Any

from qtandem.circuit import Circuit
from qtandem.compile.commutation import rotation_of
from qtandem.compile.dag import Op, is_zero_angle, normalize_angle, to_circuit, to_ops
from qtandem.compile.passes.graysynth import graysynth, synth_linear
from qtandem.compile.passes.rotation_merge import _clifford_steps
from qtandem.compile.passmanager import PropertySet
from qtandem.errors import CompileError

__all__ = ["MAX_GADGET_QUBITS", "PauliGadgets", "pauli_gadgets"]

MAX_GADGET_QUBITS = 16
"""Widest circuit the rewrite is tried on."""

_STIM_NAME = {"H": "h", "S": "s", "S_DAG": "sdg", "CX": "cx", "CZ": "cz", "X": "x", "Y": "y", "Z": "z",
              "SQRT_X": "sx", "SQRT_X_DAG": "sxdg", "SWAP": "swap"}
_INVERSE = {"h": "h", "s": "sdg", "sdg": "s", "cx": "cx", "cz": "cz", "x": "x", "y": "y", "z": "z",
            "sx": "sxdg", "sxdg": "sx", "swap": "swap"}


def _rotations(ops: list[Op], n: int) -> tuple[list[tuple[Any, float, int]], list[Op]] | None:
    """``(input-frame rotations (string, angle, number of Clifford ops before it) in time order, Clifford ops)``;
    ``None`` when a gate is neither a Clifford nor a rotation."""
    import stim

    sim = stim.TableauSimulator()
    sim.set_num_qubits(max(n, 1))
    rots: list[tuple[Any, float, int]] = []
    cliffords: list[Op] = []

    def add(letters: str, qubits: tuple[int, ...], theta: float) -> None:
        local = stim.PauliString(n)
        for q, a in zip(qubits, letters, strict=True):
            local[q] = a
        image = sim.current_inverse_tableau()(local)
        sign = image.sign.real
        image.sign = 1
        rots.append((image, sign * theta, len(cliffords)))

    for op in ops:
        if op.opaque or not op.alive:
            return None
        rot = rotation_of(op)
        steps = _clifford_steps(op, rot)
        if steps is not None:
            for method, qubits in steps:
                getattr(sim, method)(*qubits)
            cliffords.append(op)
        elif rot is not None:
            add(rot[0], op.qubits, rot[1])
        elif op.name in ("u", "u3") and len(op.params) == 3:  # u(t, p, l) = rz(p) ry(t) rz(l) up to phase
            theta, phi, lam = (float(v) for v in op.params)
            for axis, angle in (("Z", lam), ("Y", theta), ("Z", phi)):
                piece = Op("rz" if axis == "Z" else "ry", op.qubits, angle)
                steps = _clifford_steps(piece, (axis, angle))
                if steps is not None:  # a quarter turn: part of the Clifford skeleton
                    for method, qubits in steps:
                        getattr(sim, method)(*qubits)
                    cliffords.append(piece)
                else:
                    add(axis, op.qubits, angle)
        else:
            return None
    return rots, cliffords


def _groups(rots: list[tuple[Any, float, int]]) -> list[tuple[int, list[list[Any]]]]:
    """Rotations in groups of mutually commuting ones (each ``[string, angle]``), equal strings merged; each group
    with the Clifford position of the rotation that opened it (increasing)."""
    groups: list[list[list[Any]]] = []
    where: list[int] = []
    for p, theta, pos in rots:
        k = len(groups)
        while k > 0 and all(p.commutes(q) for q, _ in groups[k - 1]):
            k -= 1
            for entry in groups[k]:
                if entry[0] == p:  # it commutes with everything between: merge here
                    entry[1] += theta
                    break
            else:
                continue
            break
        else:
            if k == len(groups):
                groups.append([])
                where.append(pos)
            groups[k].append([p, theta])
    return [(pos, [e for e in g if not is_zero_angle(normalize_angle(e[1]))]) for pos, g in zip(where, groups,
                                                                                                strict=True)]


def _xy(p: Any, q: int) -> bool:
    return p[q] in (1, 2)


def _diagonalize(strings: list[Any], n: int) -> tuple[list[tuple[str, tuple[int, ...]]], list[Any]]:
    """Clifford gates ``D`` (time order) with every ``D P D^dagger`` a signed ``Z`` string, and those strings."""
    import stim

    cur = [p.copy() for p in strings]
    gates: list[tuple[str, tuple[int, ...]]] = []

    def apply(name: str, qubits: tuple[int, ...]) -> None:
        gates.append((name, qubits))
        circ = stim.Circuit()
        circ.append({"h": "H", "sdg": "S_DAG", "cx": "CX"}[name], list(qubits))
        for i, p in enumerate(cur):
            cur[i] = p.after(circ)

    while True:
        open_ = [p for p in cur if any(_xy(p, q) for q in range(n))]
        if not open_:
            return gates, cur
        best = min(open_, key=lambda p: sum(_xy(p, q) for q in range(n)))
        wires = [q for q in range(n) if _xy(best, q)]
        # pivot: the wire whose X/Y letter is shared by the most other open strings (their ladders then shrink)
        pivot = max(wires, key=lambda q: (sum(_xy(p, q) for p in open_), -q))
        for q in wires:
            if best[q] == 2:  # Y -> X
                apply("sdg", (q,))
        for q in wires:
            if q != pivot:
                apply("cx", (pivot, q))
        apply("h", (pivot,))


def _phase_poly(strings: list[Any], angles: list[float], n: int) -> list[tuple[str, tuple[int, ...], float | None]]:
    """``cx``/``rz`` gates applying ``exp(-i a Z_mask / 2)`` for each diagonal string (sign folded into the angle)."""
    terms: dict[int, float] = {}
    for p, a in zip(strings, angles, strict=True):
        mask = sum(1 << q for q in range(n) if p[q] == 3)
        if mask:
            terms[mask] = terms.get(mask, 0.0) + p.sign.real * a
    items = [(m, t) for m, t in terms.items() if not is_zero_angle(normalize_angle(t))]
    if not items:
        return []
    best: list[tuple[str, tuple[int, ...], float | None]] | None = None
    for s1_first in (False, True):
        for last_tie in (False, True):
            gs, state = graysynth(items, n, s1_first=s1_first, last_tie=last_tie)
            out: list[tuple[str, tuple[int, ...], float | None]] = [
                ("cx", (g[1], int(g[2])), None) if g[0] == "cx" else ("rz", (g[1],), float(g[2])) for g in gs]
            out += [("cx", (c, t), None) for c, t in synth_linear(state, [1 << q for q in range(n)], n)]
            if best is None or sum(g[0] == "cx" for g in out) < sum(g[0] == "cx" for g in best):
                best = out
    naive: list[tuple[str, tuple[int, ...], float | None]] = []  # one CX ladder per term, undone after it
    for mask, theta in items:
        wires = [q for q in range(n) if mask >> q & 1]
        ladder = [("cx", (w, wires[-1]), None) for w in wires[:-1]]
        naive += [*ladder, ("rz", (wires[-1],), theta), *reversed(ladder)]
    assert best is not None
    return naive if sum(g[0] == "cx" for g in naive) < sum(g[0] == "cx" for g in best) else best


def _input_frame(circuit: Circuit, rots: list[tuple[Any, float, int]], cliffords: list[Op], n: int) -> Circuit:
    """Every group in the input frame, then the Clifford product (the skeleton or stim's synthesis)."""
    import stim

    sim = stim.TableauSimulator()
    sim.set_num_qubits(max(n, 1))
    for op in cliffords:
        for method, qubits in _clifford_steps(op, rotation_of(op)) or []:
            getattr(sim, method)(*qubits)
    tableau = sim.current_inverse_tableau().inverse()
    out: list[Op] = []
    for _, group in _groups(rots):
        if not group:
            continue
        diag, strings = _diagonalize([p for p, _ in group], n)
        ops = [Op(name, qubits) for name, qubits in diag]
        for name, qubits, angle in _phase_poly(strings, [a for _, a in group], n):
            ops.append(Op(name, qubits, angle))
        ops += [Op(_INVERSE[name], qubits) for name, qubits in reversed(diag)]
        out += ops
    skeleton = [Op(op.name, op.qubits, op.angle, op.params) for op in cliffords]
    synth: list[Op] = []
    identity = tableau == type(tableau)(n)
    for inst in [] if identity else tableau.to_circuit(method="elimination"):
        gate = _STIM_NAME.get(inst.name)
        if gate is None:
            synth = []
            break
        targets = [t.value for t in inst.targets_copy()]
        width = 2 if gate in ("cx", "cz", "swap") else 1
        synth += [Op(gate, tuple(targets[i:i + width])) for i in range(0, len(targets), width)]
    else:
        if sum(op.name in ("cx", "cz") for op in synth) < sum(len(op.qubits) == 2 for op in skeleton):
            skeleton = synth
    return to_circuit(out + skeleton, circuit)


def pauli_gadgets(circuit: Circuit, frame: str = "input") -> Circuit | None:
    """The Pauli-gadget rewrite of ``circuit`` (see the module), or ``None`` when it does not apply
    (a gate that is neither a Clifford nor a Pauli rotation, no rotation, or more than
    :data:`MAX_GADGET_QUBITS` qubits). The output uses ``h``, ``s``, ``sdg``, ``cx``, ``rz`` and the
    input's Clifford gates (a quarter turn of a general ``u`` as ``rz``/``ry``); it is not translated to a
    basis.

    Args:
        circuit: the input (not modified).
        frame: ``"input"``: every group written in the input frame, then the whole Clifford (steps 1-2 of the
            module, the Clifford as the skeleton or stim's synthesis of its tableau, whichever has fewer
            ``cx``); ``"local"``: step 3, each group in the frame of the Cliffords before it.

    Raises:
        CompileError: unknown ``frame``.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).cx(0, 1).rz(0.2, 1).cx(0, 1).cx(0, 1).rz(0.3, 1).cx(0, 1)
        >>> pauli_gadgets(c).count_ops()
        {'cx': 2, 'rz': 1}
        >>> pauli_gadgets(Circuit(1).h(0)) is None       # no rotation
        True
    """
    import stim

    if frame not in ("input", "local"):
        raise CompileError(f"frame must be 'input' or 'local', got {frame!r}")
    n = circuit.n_qubits
    if n > MAX_GADGET_QUBITS or not all(i.is_gate for i in circuit):
        return None
    got = _rotations(to_ops(circuit), n)
    if got is None or not got[0]:
        return None
    rots, cliffords = got
    if frame == "input":
        return _input_frame(circuit, rots, cliffords, n)
    sim = stim.TableauSimulator()  # the Clifford prefix emitted so far
    sim.set_num_qubits(max(n, 1))
    out: list[Op] = []
    done = 0
    for pos, group in _groups(rots):
        for op in cliffords[done:pos]:
            out.append(Op(op.name, op.qubits, op.angle, op.params))
            for method, qubits in _clifford_steps(op, rotation_of(op)) or []:
                getattr(sim, method)(*qubits)
        done = max(done, pos)
        if not group:
            continue
        forward = sim.current_inverse_tableau().inverse()
        diag, strings = _diagonalize([forward(p) for p, _ in group], n)
        out += [Op(name, qubits) for name, qubits in diag]
        out += [Op(name, qubits, angle) for name, qubits, angle in _phase_poly(strings, [a for _, a in group], n)]
        out += [Op(_INVERSE[name], qubits) for name, qubits in reversed(diag)]
    out += [Op(op.name, op.qubits, op.angle, op.params) for op in cliffords[done:]]
    return to_circuit(out, circuit)


class PauliGadgets:
    """The Pauli-gadget rewrite as a pass (:func:`pauli_gadgets` in both frames, gate cancellation after each,
    the one with fewer ``cx`` kept); returns its input when the rewrite does not apply or ``props["gadgets"]``
    is ``False``.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).cx(0, 1).rz(0.2, 1).cx(0, 1).h(0).h(0).cx(0, 1).rz(0.3, 1).cx(0, 1)
        >>> PauliGadgets().run(c).count_ops()
        {'cx': 2, 'rz': 1}
    """

    name = "pauli_gadgets"

    def run(self, circuit: Circuit, props: PropertySet | dict | None = None) -> Circuit:
        """Both frames' rewrites after gate cancellation; the one with fewer ``cx`` (then gates)."""
        from qtandem.compile.passes.cancellation import GateCancellation

        if props is not None and props.get("gadgets", True) is False:
            return circuit
        best: Circuit | None = None
        for frame in ("input", "local"):
            out = pauli_gadgets(circuit, frame)
            if out is None:
                return circuit
            out = GateCancellation().run(out)
            if best is None or (out.count_ops().get("cx", 0), len(out)) < (best.count_ops().get("cx", 0), len(best)):
                best = out
        assert best is not None
        return best

