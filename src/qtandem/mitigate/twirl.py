"""Pauli twirling: random Pauli frames around every two-qubit Clifford gate.

Each two-qubit Clifford gate ``G`` (``cx``, ``cz``, ``swap``, ``iswap``, ...) is replaced by
``P' G P`` with a uniformly random two-qubit Pauli ``P`` before it and ``P' = G P G^dagger``
after it, so the ideal circuit is unchanged up to a global phase, while the average over
frames turns any error of the gate into a Pauli channel (Wallman and Emerson, PRA 94,
052325 (2016)): its Pauli transfer matrix, relative to the ideal gate, becomes diagonal.

The frames are merged into the neighbouring one-qubit gates: a run of one-qubit gates in
``{rz, sx, x}`` that receives a frame is resynthesized (``rz sx rz sx rz`` at most, by
:func:`qtandem.compile.synth1q.synth_1q`) when that is no longer than the run plus the
frame written out (``x``, ``rz(pi)``, or both for ``Y``), so a frame next to an ``rz`` costs
no extra gate. Runs with other gates keep their gates and get the frame as ``x``/``y``/``z``.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.sim.dense import equal_up_to_phase
    >>> c = Circuit(2).rz(0.3, 0).sx(0).cx(0, 1).rz(0.2, 1)
    >>> t = twirl_circuit(c, seed=1)
    >>> bool(equal_up_to_phase(t.to_matrix().numpy(), c.to_matrix().numpy(), 1e-9))
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.errors import ArgumentTypeError, SimulationError
from qtandem.mitigate.core import Context, Estimate, Estimator, split_shots
from qtandem.random import Seed, as_generator

__all__ = ["Twirl", "conjugate_pauli", "emit_with_paulis", "twirl", "twirl_circuit"]

_P = {
    "I": np.eye(2, dtype=np.complex128),
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}
_ZSX = frozenset({"rz", "sx", "x"})


def _word_matrix(letters: str) -> np.ndarray:
    """The matrix of ``letters`` (letter ``j`` on the gate's ``j``-th qubit, qubit 0 least significant)."""
    m: np.ndarray = np.ones((1, 1), dtype=np.complex128)
    for a in letters:
        m = np.kron(_P[a], m)
    return m


@cache
def _conjugate_cached(key: bytes, k: int, letters: str) -> tuple[int, str] | None:
    u = np.frombuffer(key, dtype=np.complex128).reshape(2**k, 2**k)
    image = u @ _word_matrix(letters) @ u.conj().T
    for cand in _words(k):
        overlap = np.trace(_word_matrix(cand).conj().T @ image) / 2**k
        if abs(abs(overlap) - 1) < 1e-9:
            if abs(overlap.imag) > 1e-9:
                return None
            return (1 if overlap.real > 0 else -1), cand
    return None


@cache
def _words(k: int) -> tuple[str, ...]:
    out = [""]
    for _ in range(k):
        out = [w + a for w in out for a in "IXYZ"]
    return tuple(out)


def conjugate_pauli(matrix: np.ndarray, letters: str) -> tuple[int, str] | None:
    """``U P U^dagger`` for a Pauli ``P`` on a gate's qubits: ``(sign, letters)``, or ``None`` if not a Pauli.

    Args:
        matrix: the gate's ``2**k x 2**k`` unitary (qtandem's convention: first qubit least significant).
        letters: ``k`` letters among ``IXYZ``, letter ``j`` on the gate's ``j``-th qubit.

    Examples:
        >>> from qtandem.circuit.gates import gate_matrix
        >>> cx = gate_matrix("cx").numpy()
        >>> conjugate_pauli(cx, "XI"), conjugate_pauli(cx, "IZ"), conjugate_pauli(cx, "YY")
        ((1, 'XX'), (1, 'ZZ'), (-1, 'XZ'))
    """
    u = np.ascontiguousarray(np.asarray(matrix, dtype=np.complex128))
    k = len(letters)
    if u.shape != (2**k, 2**k):
        raise ArgumentTypeError(f"conjugate_pauli: a {k}-letter Pauli needs a {2**k}x{2**k} matrix, got {u.shape}")
    if set(letters) - set("IXYZ"):
        raise ArgumentTypeError(f"conjugate_pauli: letters are I, X, Y, Z, got {letters!r}")
    return _conjugate_cached(u.tobytes(), k, letters)


def _matrix(inst: Instruction) -> np.ndarray | None:
    """The numeric matrix of a gate instruction, or ``None`` (symbolic angles, not a gate)."""
    if not inst.is_gate or inst.condition is not None:
        return None
    from qtandem.sim.core import instruction_matrix

    try:
        return np.asarray(instruction_matrix(inst).numpy(), dtype=np.complex128)
    except Exception:  # an unbound parameter: the frame cannot be merged numerically
        return None


@cache
def _clifford_2q(key: bytes) -> bool:
    u = np.frombuffer(key, dtype=np.complex128).reshape(4, 4)
    return all(_conjugate_cached(key, 2, w) is not None for w in ("XI", "ZI", "IX", "IZ")) and u.shape == (4, 4)


def _frame_gates(letter: str, q: int, zsx: bool) -> list[Instruction]:
    if letter == "I":
        return []
    if not zsx:
        return [Instruction(letter.lower(), [q])]
    if letter == "X":
        return [Instruction("x", [q])]
    if letter == "Z":
        return [Instruction("rz", [q], [math.pi])]
    return [Instruction("rz", [q], [math.pi]), Instruction("x", [q])]  # Y = i X Z


def _flush(out: Circuit, q: int, run: list[Instruction | str], merge: str) -> None:
    """Emit a qubit's pending one-qubit gates and frame letters, merged when ``merge`` allows.

    ``merge``: ``"shorter"`` (the resynthesized run is no longer than the run plus the frames),
    ``"same"`` (the resynthesized run has exactly the run's gate names, so a noise model by gate
    name gives it the same noise), ``"none"``.
    """
    gates = [item for item in run if isinstance(item, Instruction)]
    frames = [item for item in run if isinstance(item, str) and item != "I"]
    if not frames:
        for inst in gates:
            out.append(inst)
        return
    zsx = all(inst.name in _ZSX and not inst.ctrl and not inst.inverted for inst in gates)
    explicit: list[Instruction] = []
    for item in run:
        explicit.extend([item] if isinstance(item, Instruction) else _frame_gates(item, q, zsx))
    if merge != "none" and zsx:
        total = np.eye(2, dtype=np.complex128)
        for item in run:
            m = _P[item] if isinstance(item, str) else _matrix(item)
            if m is None:
                total = None  # type: ignore[assignment]
                break
            total = m @ total
        if total is not None:
            from qtandem.compile.synth1q import synth_1q

            word = synth_1q(total, "zsx")
            same = sorted(name for name, _ in word) == sorted(inst.name for inst in gates)
            if (merge == "shorter" and len(word) <= len(explicit)) or (merge == "same" and same):
                explicit = [Instruction(name, [q], [] if ang is None else [ang]) for name, ang in word]
    for inst in explicit:
        out.append(inst)


def twirl_circuit(circuit: Circuit, seed: Seed = None, *, merge: bool = True) -> Circuit:
    """One Pauli-twirled instance of ``circuit`` (same unitary up to a global phase).

    Every two-qubit gate whose matrix maps Paulis to Paulis gets a random frame ``P``
    before and ``G P G^dagger`` after; other gates (non-Clifford two-qubit gates,
    symbolic angles) are left as they are.

    Args:
        circuit: the circuit (measurements, barriers and resets fence the frames).
        seed: seed of the frames.
        merge: merge frames into neighbouring ``{rz, sx, x}`` runs (see the module docs).

    Returns:
        The twirled circuit, with the registers of ``circuit``.

    Raises:
        ArgumentTypeError: ``circuit`` is not a Circuit.

    Examples:
        >>> c = Circuit(2).cx(0, 1)
        >>> sorted({str(twirl_circuit(c, seed=s).count_ops().get("cx")) for s in range(5)})
        ['1']
    """
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"twirl_circuit needs a qtandem Circuit, got {type(circuit).__name__}")
    rng = as_generator(seed)
    items: list[Instruction | tuple[int, str]] = []
    for inst in circuit:
        m = _matrix(inst) if inst.is_gate and len(inst.qubits) == 2 else None
        if m is None or not _clifford_2q(np.ascontiguousarray(m).tobytes()):
            items.append(inst)
            continue
        before = "".join(rng.choice(list("IXYZ"), size=2))
        image = conjugate_pauli(m, before)
        assert image is not None
        a, b = inst.qubits
        items.extend([(a, before[0]), (b, before[1]), inst, (a, image[1][0]), (b, image[1][1])])
    return emit_with_paulis(circuit, items, merge="shorter" if merge else "none")


def emit_with_paulis(template: Circuit, items: Sequence[Instruction | tuple[int, str]], *,
                     merge: str = "shorter") -> Circuit:
    """A circuit of ``items`` (instructions and ``(qubit, letter)`` Paulis), Paulis merged into one-qubit runs.

    Args:
        template: the circuit whose size, registers and name the result takes.
        items: instructions and Paulis in circuit order.
        merge: ``"shorter"``, ``"same"`` or ``"none"``: when a run of one-qubit gates in ``{rz, sx, x}``
            that receives Paulis is resynthesized (no longer than written out; with the same gate
            names; never). Paulis are written ``x``, ``rz(pi)`` (``Y``: both) next to ``{rz, sx, x}``
            runs, else ``x``, ``y``, ``z``.

    Examples:
        >>> c = emit_with_paulis(Circuit(1), [Instruction("rz", [0], [0.5]), (0, "Z")])
        >>> [(i.name, round(float(i.params[0]), 4)) for i in c]
        [('rz', -2.6416)]
    """
    if merge not in ("shorter", "same", "none"):
        raise ArgumentTypeError(f"merge is 'shorter', 'same' or 'none', got {merge!r}")
    out = Circuit(template.n_qubits, template.n_clbits, name=template.name, qregs=template.qregs or None,
                  cregs=template.cregs or None)
    pending: dict[int, list[Instruction | str]] = {}

    def flush(qubits: Sequence[int]) -> None:
        for q in qubits:
            run = pending.pop(q, None)
            if run:
                _flush(out, q, run, merge)

    for item in items:
        if isinstance(item, tuple):
            pending.setdefault(int(item[0]), []).append(item[1])
        elif item.is_gate and len(item.qubits) == 1 and item.condition is None:
            pending.setdefault(item.qubits[0], []).append(item)
        else:
            flush(range(template.n_qubits) if item.name == "barrier" and not item.qubits else item.qubits)
            out.append(item)
    flush(sorted(pending))
    return out


class Twirl:
    """Pauli twirling as a mitigation method (see :func:`twirl`).

    Examples:
        >>> twirl(8).name, twirl(8).n
        ('twirl', 8)
    """

    name = "twirl"

    def __init__(self, n: int = 16, *, merge: bool = True) -> None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ArgumentTypeError(f"twirl(n=...) takes a positive number of instances, got {n!r}")
        self.n = int(n)
        self.merge = bool(merge)

    def __repr__(self) -> str:
        return f"twirl(n={self.n})"

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """An estimator averaging ``estimator`` over ``n`` twirled instances of each circuit.

        Each circuit's shots are split evenly among ``min(n, shots)`` instances, all sent in one
        batch. The value is the shot-weighted mean of the instances; its standard error is the
        spread of the instances (which holds both the frames' randomness and the shot noise)
        when there are two or more, else the inner standard error.
        """
        n, merge = self.n, self.merge

        def estimate(circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed = None) -> list[Estimate]:
            circuits, shots = list(circuits), [int(s) for s in shots]
            if len(circuits) != len(shots):
                raise SimulationError(f"{len(circuits)} circuits but {len(shots)} shot values")
            rng = as_generator(seed)
            batch: list[Circuit] = []
            parts: list[list[int]] = []
            for circuit, total in zip(circuits, shots, strict=True):
                k = max(1, min(n, total))
                split = split_shots(total, [1.0] * k, minimum=min(1, total))
                parts.append(split)
                batch.extend(twirl_circuit(circuit, rng, merge=merge) for _ in range(k))
            inner = estimator(batch, [s for p in parts for s in p], rng)
            out: list[Estimate] = []
            pos = 0
            for split in parts:
                ests = inner[pos:pos + len(split)]
                pos += len(split)
                w = np.asarray(split, dtype=float)
                w = w / w.sum() if w.sum() > 0 else np.full(len(split), 1.0 / len(split))
                v = np.array([e.value for e in ests])
                value = float(w @ v)
                if len(ests) >= 2:
                    k = len(ests)
                    stderr = math.sqrt(float(np.sum(w**2 * (v - value) ** 2)) * k / (k - 1))
                    how = "spread of the instances"
                else:
                    stderr, how = float(ests[0].stderr), "inner"
                details: dict[str, Any] = {"twirl": {"instances": len(ests), "stderr": how},
                                           "inner": ests[0].details}
                out.append(Estimate(value, stderr, int(sum(e.shots for e in ests)), details))
            return out

        return estimate


def twirl(n: int = 16, *, merge: bool = True) -> Twirl:
    """Pauli twirling of every two-qubit Clifford gate, averaged over ``n`` random instances.

    Compose it inside other methods (``methods=[twirl(), zne()]``: each folded circuit is
    twirled) or alone. Shots are split evenly among the instances; frames are seeded from
    the estimator's seed.

    Args:
        n: instances per circuit (fewer if a circuit gets fewer shots).
        merge: merge the frames into neighbouring one-qubit gates.

    Raises:
        ArgumentTypeError: ``n`` is not a positive integer.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.noise import NoiseModel, depolarizing
        >>> from qtandem.device.executors import simulator_executor
        >>> from qtandem.mitigate.core import execute
        >>> run = simulator_executor(NoiseModel(strict=False).add(depolarizing(0.01, 2), gates=["cx"]), seed=0)
        >>> res = execute(Circuit(2).h(0).cx(0, 1), "Z0 Z1", run, methods=[twirl(4)], shots=4000, seed=1)
        >>> round(res.value, 1), res.shots_used
        (1.0, 4000)
    """
    return Twirl(n, merge=merge)
