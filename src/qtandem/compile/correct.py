"""Corrections for a device's coherent errors: :func:`correct_for_device` and its proof.

A device's calibration may carry coherent errors (contract fields of
:class:`~qtandem.device.QubitProperties` / :class:`~qtandem.device.EdgeProperties`): the native
``sx`` is ``rx(pi/2 + e)``, ``x`` is ``rx(pi + e)``, a two-qubit gate ``g`` on ``(c, t)`` is
followed by ``rzx(e)``, an idle qubit turns by ``rz(detuning * t)`` and coupled pairs pick up
``rzz(zeta * t / 2)``. :func:`faulty_circuit` writes that model out as a plain circuit;
:func:`correct_for_device` rewrites a circuit already in the device's native gates and layout so
that the circuit *with the faulty gates* does what the input does with ideal ones:

1. every one-qubit run is resynthesized from faulty ``sx`` pulses (two, or three when the run
   turns the Bloch sphere by more than ``pi - 2|e|``) and virtual ``rz`` angles solved exactly;
2. two-qubit over-rotations cancel in pairs: the error ``exp(-i e/2 Z_c X_t)`` of one gate is
   followed through the later gates until it meets a gate whose own error is the same rotation;
   that gate is run in its frame-flipped form ``rz(pi)_t g rz(pi)_t`` (plus ``rz(pi)_c`` for ``cx``),
   whose error has the opposite sign. Up to 8 active qubits the errors are followed as dense
   generators ``H_k = W_k Z_c X_t W_k^dagger`` (``W_k``: the ideal gates after gate ``k``), so they pass
   any gate; nested pairs cancel exactly (a mirror circuit's), and a pair is taken only when the open
   errors between them commute with it. Wider circuits follow Pauli strings through Clifford gates.
   An error with no partner (or stuck at a measurement) stays, and the report lists its gate; the
   leftovers' signs (frame flips, free) are chosen to make their summed generator smallest;
3. detuning: the circuit is scheduled with the device durations (the same as-soon-as-possible clock
   as the density-matrix simulator) and a virtual ``rz(-detuning * wait)`` cancels each idle phase;
4. ZZ: each static-ZZ turn ``rzz(phi)`` next to a qubit ``b`` in a basis state is a Z turn of its
   partner, cancelled by a virtual ``rz``; with the partner's ``<Z_b>`` in general (mean field); the
   mode that lowers the error from ``|0...0>`` is kept. Idle windows of at least ``echo_min`` are
   echoed (``delay, x, delay, rz(pi) x rz(pi)``: the two faulty ``x`` pulses are exact inverses);
5. judging: each echo, and the whole result, is kept only where the fidelity ``<psi|rho|psi>`` under
   the device's full noise model (coherent and incoherent) rises (density matrix, up to 8 qubits and
   final measurements only; wider circuits judge echoes on the coherent error). When the corrections
   would lower it (small errors, where the extra pulses cost more), the input comes back unchanged.

The result is verified (:func:`qtandem.compile.verify.verify_equivalent`): the corrected circuit
with the device's faulty gates (ZZ left out, since it is reduced, not removed; the ZZ turns are added
after the proof) equals the input with ideal gates, except the rotations of the gates the report lists
as uncorrected.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.preset("line_5")
    >>> dev.qubits[0].sx_angle_error = 0.04
    >>> fixed, report = correct_for_device(Circuit(1).sx(0).sx(0), dev)
    >>> report.verified, report.coherent_infidelity_after < 1e-12 < report.coherent_infidelity_before
    ('exact', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.instruction import Instruction
from qtandem.compile.dag import normalize_angle
from qtandem.compile.passes.corrections import (
    flip_gates,
    pair_two_qubit_errors,
    pair_two_qubit_errors_dense,
    resynthesize,
)
from qtandem.compile.passes.resynth_1q import map_instruction_runs
from qtandem.errors import CompileError

__all__ = ["CoherentModel", "CorrectionReport", "coherent_infidelity", "correct_for_device", "faulty_circuit",
           "noisy_state_fidelity"]

_TOL = 1e-9

def _num(value: Any) -> float:
    return float(value.detach()) if hasattr(value, "detach") else float(value)


@dataclass
class CoherentModel:
    """A device's coherent errors as plain numbers, and its gate clock.

    Attributes:
        sx: ``sx`` angle error per qubit (rad).
        x: ``x`` angle error per qubit (rad).
        detuning: per qubit (rad per time unit).
        edge: two-qubit gate angle error per coupling ``(a, b)``, ``a < b`` (rad).
        zz: ZZ rate per coupling (rad per time unit).
        noise: the device's noise model (only its durations and idle switch are used).

    Examples:
        >>> from qtandem.device import Device
        >>> model = CoherentModel.of(Device.preset("line_5"))
        >>> len(model.sx), model.edge[(0, 1)]
        (5, 0.0)
    """

    sx: list[float]
    x: list[float]
    detuning: list[float]
    edge: dict[tuple[int, int], float]
    zz: dict[tuple[int, int], float]
    noise: Any = None
    partners: dict[int, list[tuple[int, float]]] = field(default_factory=dict)

    @classmethod
    def of(cls, device: Any) -> CoherentModel:
        """Read the coherent-error fields of ``device`` (missing fields count as 0)."""
        qs = device.qubits
        edge = {tuple(sorted(k)): _num(getattr(e, "angle_error", 0.0)) for k, e in device.edges.items()}
        zz = {tuple(sorted(k)): _num(getattr(e, "zz", 0.0)) for k, e in device.edges.items()}
        partners: dict[int, list[tuple[int, float]]] = {}
        for (a, b), z in zz.items():
            if z:
                partners.setdefault(a, []).append((b, z))
                partners.setdefault(b, []).append((a, z))
        return cls(sx=[_num(getattr(q, "sx_angle_error", 0.0)) for q in qs],
                   x=[_num(getattr(q, "x_angle_error", 0.0)) for q in qs],
                   detuning=[_num(getattr(q, "detuning", 0.0)) for q in qs], edge=edge, zz=zz,  # type: ignore[arg-type]
                   noise=device.noise_model(readout=False, strict=False), partners=partners)

    def duration(self, inst: Instruction) -> float:
        """How long ``inst`` takes on the device clock (a delay: its own length)."""
        if inst.name == "delay":
            return float(inst.params[0])  # type: ignore[arg-type]
        return float(self.noise.duration(inst)) if self.noise is not None else 0.0

    @property
    def timed(self) -> bool:
        """True when implicit waits count as idle time (the device model has idle noise and durations)."""
        return self.noise is not None and bool(self.noise.has_idle and self.noise.durations)

    def edge_error(self, qubits: tuple[int, ...]) -> float:
        """The angle error of the two-qubit gate on ``qubits``."""
        return self.edge.get((min(qubits), max(qubits)), 0.0)


def schedule(circuit: Circuit, model: CoherentModel) -> list[list[dict[int, float]]]:
    """Idle time per instruction: for instruction ``i``, the groups of ``{qubit: idle time}`` that end
    at it (the implicit wait before it; for a ``delay`` also its own length), as the density-matrix
    simulator's clock counts them.

    Examples:
        >>> from qtandem.device import Device
        >>> model = CoherentModel.of(Device.preset("line_5"))
        >>> c = Circuit(2).sx(0).sx(0).cx(0, 1)
        >>> [round(w, 1) for w in schedule(c, model)[2][0].values()]
        [0.0, 71.2]
    """
    clock = [0.0] * circuit.n_qubits
    out: list[list[dict[int, float]]] = []
    timed = model.timed
    for inst in circuit:
        groups: list[dict[int, float]] = []
        qs = inst.qubits
        if not qs:
            out.append(groups)
            continue
        start = max(clock[q] for q in qs) if timed else 0.0
        if timed:
            groups.append({q: start - clock[q] for q in qs})
            for q in qs:
                clock[q] = start
        if inst.name == "delay":
            length = model.duration(inst)
            groups.append(dict.fromkeys(qs, length))
            for q in qs:
                clock[q] = start + length
        elif inst.name != "barrier" and timed:
            end = start + model.duration(inst)
            for q in qs:
                clock[q] = end
        out.append(groups)
    return out


def faulty_circuit(circuit: Circuit, device: Any, *, zz: bool = False, model: CoherentModel | None = None) -> Circuit:
    """``circuit`` as the device runs it, coherent errors only: ``sx -> rx(pi/2 + e)``, ``x -> rx(pi + e)``,
    a two-qubit gate followed by ``rzx(e)`` (written ``h rzz h``), ``rz(detuning * t)`` for each idle time
    (not before a measurement or reset, where a Z phase does nothing) and, with ``zz=True``, the pairs'
    ``rzz(zeta * t / 2)``. Delays and barriers are dropped; measurements and resets stay.

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> dev.qubits[0].sx_angle_error = 0.01
        >>> [(i.name, round(float(i.params[0]), 4)) for i in faulty_circuit(Circuit(1).sx(0), dev)]
        [('rx', 1.5808)]
    """
    model = model or CoherentModel.of(device)
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    for inst, groups in zip(circuit, schedule(circuit, model), strict=True):
        _idle_phases(out, inst, groups, model, zz=zz)
        for op in _faulty_ops(inst, model):
            out.append(op)
    return out


def _faulty_ops(inst: Instruction, model: CoherentModel) -> list[Instruction]:
    """One instruction as the device runs it (coherent errors, no idle phases); delays and barriers vanish."""
    if inst.name in ("delay", "barrier"):
        return []
    if inst.condition is not None or not inst.is_gate:
        return [inst]
    q = inst.qubits
    if inst.name == "sx":
        return [Instruction("rx", q, (math.pi / 2 + model.sx[q[0]],))]
    if inst.name == "x":
        return [Instruction("rx", q, (math.pi + model.x[q[0]],))]
    angle = model.edge_error(q) if len(q) == 2 else 0.0
    if not angle:
        return [inst]
    return [inst, Instruction("h", (q[1],)), Instruction("rzz", q, (angle,)), Instruction("h", (q[1],))]


def _rzx(out: Circuit, angle: float, c: int, t: int) -> None:
    if angle:
        out.h(t).rzz(angle, c, t).h(t)


def _idle_phases(out: Circuit, inst: Instruction, groups: list[dict[int, float]], model: CoherentModel, *,
                 zz: bool) -> None:
    for waits in groups:
        if inst.name not in ("measure", "reset"):
            for q, w in waits.items():
                if w > 0 and model.detuning[q]:
                    out.rz(model.detuning[q] * w, q)
        if zz:
            for key, phi in _zz_terms(waits, model, out.n_qubits):
                out.rzz(phi, *key)


def _zz_terms(waits: dict[int, float], model: CoherentModel, n: int) -> list[tuple[tuple[int, int], float]]:
    """The static-ZZ turns ``rzz(phi)`` of one group of idle times (the noise model's rule, once per pair)."""
    terms: list[tuple[tuple[int, int], float]] = []
    done: set[tuple[int, int]] = set()
    for q, w in waits.items():
        if w <= 0:
            continue
        for b, zeta in model.partners.get(q, []):
            key = (min(q, b), max(q, b))
            if b >= n or key in done:
                continue
            done.add(key)
            terms.append((key, zeta * max(w, waits.get(b, 0.0)) / 2))
    return terms


# -- the whole correction -----------------------------------------------------------------------------
@dataclass
class CorrectionReport:
    """What :func:`correct_for_device` changed, and the coherent error before and after.

    Attributes:
        runs: one-qubit runs resynthesized from faulty pulses.
        pulses_before: ``sx`` + ``x`` pulses in the input; ``pulses_after`` in the output.
        pairs: two-qubit over-rotations cancelled in pairs; ``flipped``: gates run frame-flipped.
        uncorrected: two-qubit gates whose over-rotation stays (``{"index", "gate", "qubits", "angle"}``,
            input indices): its error got stuck at a gate it does not commute with or found no partner.
        frames: virtual ``rz`` frame updates against detuning.
        zz_frames: virtual ``rz`` turns against static ZZ (``zz_frame_mode``: ``"basis"`` where the partner is
            in a known basis state, exact there; ``"mean"`` by the partner's ``<Z>``; ``""`` none kept).
        echoes: ZZ echoes kept, of ``echoes_tried``.
        coherent_infidelity_before / coherent_infidelity_after: ``1 - |tr(U^dagger V)/d|^2`` of the
            faulty-gate circuit against the ideal input, without ZZ (``None`` past 12 active qubits);
            ``..._zz_...`` with ZZ.
        state_infidelity_zz_before / state_infidelity_zz_after: the same from the device's start state
            ``|0...0>`` (coherent errors and ZZ), ``1 - |<psi|phi>|^2``.
        fidelity_before / fidelity_after: expected total fidelity ``<psi|rho|psi>`` under the device's full
            noise model (coherent and incoherent, no readout) of the input and of the output (``None`` when
            not judged: past :data:`JUDGE_MAX_QUBITS` qubits, or a measurement before the end).
        kept_input: the corrections would lower the expected total fidelity, so the input came back unchanged
            (the ``..._after`` numbers are then the input's; ``notes`` gives the rejected fidelity).
        verified: the proof method (``"exact"`` or ``"pathsum"``).

    Examples:
        >>> CorrectionReport().to_dict()["pairs"]
        0
    """

    runs: int = 0
    pulses_before: int = 0
    pulses_after: int = 0
    pairs: int = 0
    flipped: int = 0
    uncorrected: list[dict[str, Any]] = field(default_factory=list)
    frames: int = 0
    zz_frames: int = 0
    zz_frame_mode: str = ""
    echoes: int = 0
    echoes_tried: int = 0
    coherent_infidelity_before: float | None = None
    coherent_infidelity_after: float | None = None
    coherent_infidelity_zz_before: float | None = None
    coherent_infidelity_zz_after: float | None = None
    state_infidelity_zz_before: float | None = None
    state_infidelity_zz_after: float | None = None
    fidelity_before: float | None = None
    fidelity_after: float | None = None
    kept_input: bool = False
    verified: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dict(self.__dict__)


JUDGE_MAX_QUBITS = 8
"""Widest circuit whose echoes and result are judged by its simulated noisy fidelity (density matrix)."""
ECHO_PASSES = 3
"""Passes over the idle windows when placing echoes (a pass that keeps none ends the search)."""


def correct_for_device(circuit: Circuit, device: Any, *, echo: bool = True, echo_min: float = 200.0,
                       zz_frames: bool = True, judge: bool = True,
                       verify: bool = True) -> tuple[Circuit, CorrectionReport]:
    """Cancel ``device``'s coherent errors in ``circuit`` (already in its native gates and layout).

    Args:
        circuit: native gates (``rz``, ``sx``, ``x``, ``id``, the couplings' two-qubit gate), measurements,
            resets, barriers and delays, on device qubit indices (run :func:`~qtandem.compile.optimize`
            with ``hardware=`` first).
        device: a :class:`~qtandem.device.Device` whose calibration has coherent errors (fields that are
            absent count as zero).
        echo: try ZZ echoes in idle windows of at least ``echo_min`` (device time unit).
        echo_min: shortest idle window worth an echo.
        zz_frames: add virtual ``rz`` turns against static ZZ where they lower the coherent error from the
            start state ``|0...0>`` (no pulses added).
        judge: keep each echo, and the result, only where the expected total fidelity under the device's
            full noise model rises (density matrix, up to :data:`JUDGE_MAX_QUBITS` qubits and final
            measurements only; otherwise echoes are judged on the coherent error).
        verify: prove the result (see the module docstring); ``False`` only for speed in benchmarks.

    Returns:
        ``(corrected circuit, report)``.

    Raises:
        CompileError: a gate that is not native, a two-qubit gate off the coupling map, free parameters,
            a circuit wider than the device.
        VerificationError: the proof failed (never expected).

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> dev.edges[(0, 1)].angle_error = 0.03
        >>> fixed, report = correct_for_device(Circuit(2).cx(0, 1).cx(0, 1), dev)
        >>> report.pairs, report.flipped, report.uncorrected
        (1, 1, [])
    """
    _check_native(circuit, device)
    model = CoherentModel.of(device)
    report = CorrectionReport(pulses_before=_pulses(circuit))
    flips, stuck, report.pairs = pair_two_qubit_errors(circuit, model)
    dense = pair_two_qubit_errors_dense(circuit, model) if stuck else None
    if dense is not None:  # exact through any gate (and it signs the leftovers)
        flips, stuck, report.pairs = dense
    report.flipped = len(flips)
    report.uncorrected = [{"index": i, "gate": circuit[i].name, "qubits": list(circuit[i].qubits),
                           "angle": model.edge_error(circuit[i].qubits) * (-1 if i in flips else 1)} for i in stuck]
    out = resynthesize(flip_gates(circuit, flips), model, report)
    small = len(_active_qubits(circuit)) <= 12
    has_zz = any(model.zz.values())
    judged = judge and _judgeable(circuit)
    mode = ""
    if zz_frames and has_zz and circuit.n_qubits <= 20 and _judgeable(circuit, width=20):
        mode = _zz_mode(_frames(out, model, CorrectionReport()), circuit, model)
    if echo and small and has_zz and "x" in device.native_gates:
        out = _echoes(out, circuit, model, echo_min, report, mode, judged)
    out = _frames(out, model, report)
    proven = out
    if mode:
        out, report.zz_frames = _zz_frames(out, model, mean=mode == "mean")
        report.zz_frame_mode = mode
    report.pulses_after = _pulses(out)
    expected = _expected(circuit, stuck, flips, model)
    if small:
        ideal = _strip(circuit)
        report.coherent_infidelity_before = _infidelity(faulty_circuit(circuit, device, model=model), ideal)
        report.coherent_infidelity_after = _infidelity(faulty_circuit(proven, device, model=model), ideal)
        if has_zz:
            report.coherent_infidelity_zz_before = _infidelity(
                faulty_circuit(_unmeasured(circuit), device, zz=True, model=model), ideal)
            report.coherent_infidelity_zz_after = _infidelity(
                faulty_circuit(_unmeasured(out), device, zz=True, model=model), ideal)
    if circuit.n_qubits <= 20 and _judgeable(circuit, width=20):
        report.state_infidelity_zz_before = _state_infidelity(circuit, circuit, model)
        report.state_infidelity_zz_after = _state_infidelity(out, circuit, model)
    if verify:
        from qtandem.compile.verify import verify_equivalent

        method = "exact" if small else "auto"
        verify_equivalent(expected, faulty_circuit(proven, device, model=model), method=method)
        report.verified = method if small else "pathsum"
    if stuck:
        report.notes.append(f"{len(stuck)} two-qubit over-rotation(s) left uncorrected (no partner to cancel with)")
    if mode:
        report.notes.append(f"{report.zz_frames} virtual rz turn(s) against static ZZ added after the proof "
                            f"({'exact where the partner is in a basis state' if mode == 'basis' else 'mean field'})")
    if judged:
        report.fidelity_before = noisy_state_fidelity(circuit, circuit, model)
        report.fidelity_after = noisy_state_fidelity(out, circuit, model)
        if report.fidelity_after < report.fidelity_before - 1e-9:
            report.notes.append(f"kept the input: the corrections would lower the expected fidelity "
                                f"({report.fidelity_before:.6g} -> {report.fidelity_after:.6g})")
            report.kept_input = True
            report.pulses_after, report.fidelity_after = report.pulses_before, report.fidelity_before
            report.coherent_infidelity_after = report.coherent_infidelity_before
            report.coherent_infidelity_zz_after = report.coherent_infidelity_zz_before
            report.state_infidelity_zz_after = report.state_infidelity_zz_before
            return circuit, report
    return out, report


def _judgeable(circuit: Circuit, *, width: int = JUDGE_MAX_QUBITS) -> bool:
    """Small enough to simulate, and unitary up to final measurements (a measured qubit is not used again)."""
    if circuit.n_qubits > width:
        return False
    done: set[int] = set()
    for inst in circuit:
        if inst.name in ("barrier", "delay"):
            continue
        if inst.condition is not None or inst.name == "reset" or done & set(inst.qubits):
            return False
        if inst.name == "measure":
            done.update(inst.qubits)
    return True


def _unmeasured(circuit: Circuit) -> Circuit:
    """``circuit`` without its final measurements (the ZZ and detuning of the wait for the readout do not change
    the counts); a measurement followed by anything on its qubit stays."""
    later: set[int] = set()
    drop: set[int] = set()
    for i in range(len(circuit) - 1, -1, -1):
        inst = circuit[i]
        if inst.name == "measure" and not later & set(inst.qubits):
            drop.add(i)
        elif inst.name not in ("barrier", "measure"):
            later.update(inst.qubits)
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    for i, inst in enumerate(circuit):
        if i not in drop:
            out.append(inst)
    return out


def _ideal_state(reference: Circuit) -> np.ndarray:
    from qtandem.sim import statevector

    return np.asarray(statevector(_strip(reference, keep_fences=False)).detach().numpy()).reshape(-1)


def noisy_state_fidelity(run: Circuit, reference: Circuit, model: CoherentModel) -> float:
    """``<psi|rho|psi>``: ``run`` on the device's full noise model (no readout) from ``|0...0>`` against
    ``reference`` run ideally (final measurements left out).

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> dev.qubits[0].x_angle_error = 0.1
        >>> c = Circuit(1).x(0)
        >>> round(noisy_state_fidelity(c, c, CoherentModel.of(dev)), 4)   # about cos(0.05)^2, less the gate error
        0.9972
    """
    psi = _ideal_state(reference)
    rho = model.noise.density_matrix(_unmeasured(run)).detach().numpy()
    return float(np.real(psi.conj() @ rho @ psi))


def _state_infidelity(run: Circuit, reference: Circuit, model: CoherentModel) -> float:
    from qtandem.sim import statevector

    phi = np.asarray(statevector(_strip(faulty_circuit(_unmeasured(run), None, zz=True, model=model),
                                        keep_fences=False))
                     .detach().numpy()).reshape(-1)
    return float(max(0.0, 1.0 - abs(np.vdot(_ideal_state(reference), phi)) ** 2))


def _zz_mode(circuit: Circuit, original: Circuit, model: CoherentModel) -> str:
    """Which ZZ frames lower the coherent error from ``|0...0>`` most: ``"basis"``, ``"mean"`` or none."""
    best, mode = _state_infidelity(circuit, original, model), ""
    for trial in ("basis", "mean"):
        c, count = _zz_frames(circuit, model, mean=trial == "mean")
        if count and (s := _state_infidelity(c, original, model)) < best - 1e-12:
            best, mode = s, trial
    return mode


def _zz_frames(circuit: Circuit, model: CoherentModel, *, mean: bool) -> tuple[Circuit, int]:
    """Virtual ``rz`` turns against each static-ZZ turn ``rzz(phi)`` on ``(a, b)``: ``rz(-<Z_b> phi)`` on ``a``.

    ``<Z_b>`` comes from the state the device's faulty gates reach from ``|0...0>`` (ZZ left out). Where
    ``b`` is in a basis state, ``rzz(phi)`` *is* ``rz(+-phi)`` on ``a`` and the turn cancels it exactly; with
    ``mean=True`` every turn uses ``<Z_b>`` (the mean-field part of the ZZ), otherwise only those.
    """
    from qtandem.sim.core import numeric_ops, resolve_params
    from qtandem.sim.dense import apply_dense

    n = circuit.n_qubits
    state = np.zeros(2**n, dtype=complex)
    state[0] = 1.0
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    signs = 1.0 - 2.0 * bits  # (2**n, n): Z eigenvalue of each qubit in each basis state
    out = Circuit(n, circuit.n_clbits)
    count = 0
    for inst, groups in zip(circuit, schedule(circuit, model), strict=True):
        turn: dict[int, float] = {}
        for waits in groups:
            terms = _zz_terms(waits, model, n)
            if not terms:
                continue
            z = (np.abs(state) ** 2) @ signs
            for (a, b), phi in terms:
                for me, other in ((a, b), (b, a)):
                    if abs(abs(z[me]) - 1) < 1e-9 or not (mean or abs(abs(z[other]) - 1) < 1e-9):
                        continue
                    turn[me] = turn.get(me, 0.0) - float(z[other]) * phi
        for q, angle in sorted(turn.items()):
            if abs(angle) > 1e-12:
                out.rz(normalize_angle(angle), q)
                count += 1
        out.append(inst)
        ops = [op for op in _faulty_ops(inst, model) if op.is_gate and op.condition is None]
        if ops:
            small = Circuit(n)
            for op in ops:
                small.append(op)
            for qubits, m in numeric_ops(list(small), resolve_params(small, None)):
                state = apply_dense(state, n, qubits, m)
    return _merge_rz(out), count


def coherent_infidelity(circuit: Circuit, device: Any, *, zz: bool = False, reference: Circuit | None = None) -> float:
    """``1 - |tr(U^dagger V)/d|^2`` of ``circuit`` run with ``device``'s faulty gates (coherent errors only)
    against ``reference`` (default: ``circuit`` itself with ideal gates), on the active qubits (<= 12).

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> dev.qubits[0].x_angle_error = 0.02
        >>> round(coherent_infidelity(Circuit(1).x(0), dev), 6)   # sin(0.01)^2
        0.0001
    """
    return _infidelity(faulty_circuit(circuit, device, zz=zz), _strip(reference if reference is not None else circuit))


def _infidelity(faulty: Circuit, ideal: Circuit) -> float:
    from qtandem.sim.core import numeric_ops, resolve_params
    from qtandem.sim.dense import dense_unitary

    faulty, ideal = _strip(faulty, keep_fences=False), _strip(ideal, keep_fences=False)
    wires = sorted(_active_qubits(faulty) | _active_qubits(ideal))
    if len(wires) > 12:
        raise CompileError(f"coherent infidelity needs a dense unitary: {len(wires)} active qubits is past 12")
    pos = {w: i for i, w in enumerate(wires)}
    mats = []
    for c in (faulty, ideal):
        small = Circuit(max(1, len(wires)))
        for inst in c:
            small.append(inst.replace(qubits=tuple(pos[q] for q in inst.qubits)))
        mats.append(dense_unitary(numeric_ops(list(small), resolve_params(small, None)), small.n_qubits))
    d = mats[0].shape[0]
    return float(max(0.0, 1.0 - abs(np.trace(mats[1].conj().T @ mats[0]) / d) ** 2))


def _active_qubits(circuit: Circuit) -> set[int]:
    return {q for inst in circuit if inst.name not in ("barrier", "delay") for q in inst.qubits}


def _strip(circuit: Circuit, *, keep_fences: bool = True) -> Circuit:
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    for inst in circuit:
        if inst.name in ("barrier", "delay") or (not keep_fences and not inst.is_gate):
            continue
        out.append(inst)
    return out


def _pulses(circuit: Circuit) -> int:
    return sum(1 for inst in circuit if inst.name in ("sx", "x"))


def _check_native(circuit: Circuit, device: Any) -> None:
    if circuit.parameters:
        names = [p.name for p in circuit.parameters]
        raise CompileError(f"correct_for_device needs numbers: bind the parameters {names} first")
    if circuit.n_qubits > device.num_qubits:
        raise CompileError(f"the circuit has {circuit.n_qubits} qubits, device {device.name!r} has {device.num_qubits}")
    if "sx" not in device.native_gates or "rz" not in device.native_gates:
        raise CompileError(f"corrections resynthesize one-qubit runs from sx pulses and virtual rz: device "
                           f"{device.name!r} has native gates {', '.join(sorted(device.native_gates))}")
    native = set(device.native_gates) | {"barrier", "delay", "measure", "reset"}
    for i, inst in enumerate(circuit):
        if inst.name not in native:
            raise CompileError(f"instruction {i}: {inst.name!r} is not a native gate of {device.name!r} "
                               f"({', '.join(sorted(device.native_gates))}); corrections run on compiled circuits: "
                               "optimize(circuit, hardware=device) first")
        if inst.is_gate and len(inst.qubits) == 2 and not device.coupling_map.has_edge(*inst.qubits):
            raise CompileError(f"instruction {i}: {inst.name} on {inst.qubits} is not on the coupling map of "
                               f"{device.name!r}; route the circuit first (optimize(circuit, hardware=device))")
        if inst.is_gate and len(inst.qubits) > 2:
            raise CompileError(f"instruction {i}: {inst.name} acts on {len(inst.qubits)} qubits")


def _frames(circuit: Circuit, model: CoherentModel, report: CorrectionReport) -> Circuit:
    if not any(model.detuning):
        return circuit
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    for inst, groups in zip(circuit, schedule(circuit, model), strict=True):
        if inst.name not in ("measure", "reset"):
            turn: dict[int, float] = {}
            for waits in groups:
                for q, w in waits.items():
                    if w > 0 and model.detuning[q]:
                        turn[q] = turn.get(q, 0.0) - model.detuning[q] * w
            for q, angle in sorted(turn.items()):
                out.rz(normalize_angle(angle), q)
                report.frames += 1
        out.append(inst)
    return _merge_rz(out)


def _merge_rz(circuit: Circuit) -> Circuit:
    def merged(q: int, run: list[Instruction]) -> list[Instruction]:
        angle = normalize_angle(sum(float(inst.params[0]) for inst in run))  # type: ignore[arg-type]
        return [Instruction("rz", (q,), (angle,))] if abs(angle) > 1e-12 else []

    return map_instruction_runs(circuit, lambda inst: inst.name == "rz" and inst.condition is None, merged)


def _echoes(circuit: Circuit, original: Circuit, model: CoherentModel, echo_min: float,
            report: CorrectionReport, mode: str, judged: bool) -> Circuit:
    """Echo long idle windows of qubits with a ZZ partner, one window at a time, keeping an echo only when the
    expected total fidelity under the full noise model rises (``judged``; frames and ZZ frames applied), or
    else when the coherent infidelity (ZZ included) falls."""
    ideal = _strip(original)

    def finish(c: Circuit) -> Circuit:
        c = _frames(c, model, CorrectionReport())
        return _zz_frames(c, model, mean=mode == "mean")[0] if mode else c

    def score(c: Circuit) -> float:
        if judged:
            return -noisy_state_fidelity(finish(c), original, model)
        return _infidelity(faulty_circuit(finish(c), None, zz=True, model=model), ideal)

    best = score(circuit)
    for _ in range(ECHO_PASSES):  # an echo kept later can make an earlier-rejected window worth it
        kept = report.echoes
        i = 0
        sched = schedule(circuit, model)
        while i < len(circuit):
            groups = sched[i]
            if not groups:
                i += 1
                continue
            done = False
            for q, w in groups[0].items():
                dx = model.duration(Instruction("x", (q,)))
                if w < max(echo_min, 2 * dx) or q not in model.partners:
                    continue
                half = (w - 2 * dx) / 2
                trial = Circuit(circuit.n_qubits, circuit.n_clbits)
                for inst2 in list(circuit)[:i]:
                    trial.append(inst2)
                trial.delay(half, q).x(q).delay(half, q).rz(math.pi, q).x(q).rz(math.pi, q)
                for inst2 in list(circuit)[i:]:
                    trial.append(inst2)
                report.echoes_tried += 1
                s = score(trial)
                if s < best:
                    best, circuit, done = s, trial, True
                    sched = schedule(circuit, model)
                    report.echoes += 1
                    break
            i += 6 if done else 1  # after an echo: the same instruction again, for its other waiting qubits
        if report.echoes == kept:
            break
    return circuit


def _expected(circuit: Circuit, stuck: list[int], flips: set[int], model: CoherentModel) -> Circuit:
    """The input with ideal gates, plus the over-rotations the correction leaves (after their gates; a flipped
    gate's with the opposite sign)."""
    keep = set(stuck)
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    for i, inst in enumerate(circuit):
        if inst.name in ("barrier", "delay"):
            continue
        out.append(inst)
        if i in keep:
            _rzx(out, model.edge_error(inst.qubits) * (-1 if i in flips else 1), *inst.qubits)
    return out
