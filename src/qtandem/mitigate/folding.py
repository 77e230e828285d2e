"""Noise scaling for zero-noise extrapolation: pure functions ``(circuit, scale) -> circuit``.

Unitary folding (Giurgica-Tiron et al., arXiv:2005.10921, Mitiq's style) replaces a
circuit ``G`` by one with the same unitary and about ``scale`` times its gates:

* :func:`fold_global`: ``G (G^dag G)^k`` followed by a partial fold ``L^dag L`` of the
  last gates ``L`` for a fractional scale;
* :func:`fold_gates`: every gate ``g -> g (g^dag g)^k`` (local folding), the extra folds
  on gates chosen at random (seeded), from the left or from the right.

Terminal measurements are taken off, the unitary body folded and the measurements put
back; barriers stay where they are (the inverse blocks keep them, so no gate crosses
one); a mid-circuit measurement or reset is refused (the body must be unitary).

**Folding in the executed basis.** Circuits compiled to ``{rz, sx, x, cx}`` stay in it:
``x``, ``cx`` are their own inverse, ``rz(t)^dag = rz(-t)``, and ``sx^dag`` (not a basis
gate) is written with basis gates only, no noise-free or foreign gate is added:

* ``sx_inverse="rz"`` (the default of :func:`fold_global`): an ``sx`` next to an ``rz`` on
  its wire inverts as ``rz(pi) sx rz(pi)`` (``sx^dag`` up to a global phase), another as
  ``x sx``, and the ``rz`` of each inverse block are merged on their wire (``rz(a) rz(b) =
  rz(a + b)``, dropped when the sum is 0 mod 2 pi; never across a barrier or into the
  circuit's own gates). A compiled one-qubit run ``rz sx rz sx rz`` then inverts to a run
  of the same length, so a global fold scales every gate count exactly;
* ``sx_inverse="x"`` (the default of :func:`fold_gates`): ``sx^dag = x sx`` exactly (``sx^2 = x``,
  ``sx^4 = I``): one extra basis gate per inverted ``sx`` (there is no neighbouring ``rz``
  inside a local fold to merge with);
* ``sx_inverse="sxdg"``: the named inverse, for devices that have it.

:func:`noise_scale` gives the realized scale (gate-count ratio, optionally weighted by
error rates) that extrapolation should use. :func:`scale_noise` is parameter scaling, the
simulator's analogue of pulse stretching: a noise model whose every error is raised to
the power ``scale`` (Pauli fidelities ``f -> f^scale``, damping ``1 - gamma -> (1 -
gamma)^scale``, relaxation times divided, coherent angles multiplied).

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2, 2).rz(0.3, 0).sx(0).rz(0.2, 0).cx(0, 1).measure([0, 1], [0, 1])
    >>> fold_global(c, 3).count_ops()
    {'rz': 6, 'sx': 3, 'cx': 3, 'measure': 2}
    >>> noise_scale(c, fold_global(c, 3))
    3.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit, inverse_instruction
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import is_symbolic
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import ArgumentTypeError, CircuitError, NoiseError
from qtandem.noise import channels as ch
from qtandem.noise.model import NoiseModel, _Rule
from qtandem.random import Seed, as_generator

__all__ = ["fold_gates", "fold_global", "noise_scale", "scale_noise"]

_SX_INVERSES = ("rz", "x", "sxdg")


def _check_scale(scale: object, what: str) -> float:
    try:
        value = float(scale)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{what}: the scale factor must be a number >= 1, got {scale!r}") from None
    if not math.isfinite(value) or value < 1.0:
        raise CircuitError(f"{what}: the scale factor must be a finite number >= 1, got {scale!r}")
    return value


def _split(circuit: Circuit, what: str) -> tuple[list[Instruction], list[Instruction]]:
    """``(unitary body, terminal measurements)``; refuses anything else non-unitary."""
    if not isinstance(circuit, Circuit):
        raise ArgumentTypeError(f"{what}: expected a qtandem Circuit, got {type(circuit).__name__}")
    final = terminal_measurements(circuit).indices
    body: list[Instruction] = []
    tail: list[Instruction] = []
    for i, inst in enumerate(circuit):
        if i in final:
            tail.append(inst)
        elif inst.name in ("measure", "reset") or inst.condition is not None:
            kind = "classically controlled" if inst.condition is not None else inst.name
            raise CircuitError(f"{what}: instruction {i} ({inst.label}) is a mid-circuit {kind}; folding needs a "
                               f"unitary body followed by terminal measurements")
        else:
            body.append(inst)
    return body, tail


def _rz_flanked(block: Sequence[Instruction]) -> set[int]:
    """Indices of the ``sx`` in ``block`` next to a numeric ``rz`` on their wire (before or after)."""
    prev: dict[int, int] = {}
    out: set[int] = set()

    def is_rz(j: int | None) -> bool:
        return j is not None and block[j].name == "rz" and not is_symbolic(block[j].params[0])

    for i, inst in enumerate(block):
        for q in inst.qubits:
            j = prev.get(q)
            if inst.name == "sx" and is_rz(j):
                out.add(i)
            if j is not None and block[j].name == "sx" and is_rz(i):
                out.add(j)
            prev[q] = i
    return out


def _inverse_block(block: Sequence[Instruction], sx_inverse: str) -> list[Instruction]:
    """The adjoint of ``block`` in the basis of its gates (``sx`` per ``sx_inverse``), ``rz`` merged."""
    out: list[Instruction | None] = []
    last: dict[int, int] = {}  # qubit -> index in out of the last instruction on it

    def put(inst: Instruction) -> None:
        if inst.name == "rz" and not is_symbolic(inst.params[0]) and sx_inverse == "rz":
            q = inst.qubits[0]
            j = last.get(q)
            prev = out[j] if j is not None else None
            if prev is not None and prev.name == "rz" and not is_symbolic(prev.params[0]):
                angle = math.remainder(float(prev.params[0]) + float(inst.params[0]), 2 * math.pi)  # type: ignore[arg-type]
                out[j] = prev.replace(params=(angle,))  # type: ignore[index]
                return
        for q in inst.qubits:
            last[q] = len(out)
        out.append(inst)

    flanked = _rz_flanked(block) if sx_inverse == "rz" else set()
    for i in range(len(block) - 1, -1, -1):
        inst = block[i]
        if inst.name == "sx" and sx_inverse != "sxdg":
            q = inst.qubits[0]
            if i in flanked:
                for part in (Instruction("rz", [q], [math.pi]), inst, Instruction("rz", [q], [math.pi])):
                    put(part)
            else:
                put(Instruction("x", [q]))
                put(inst)
            continue
        put(inverse_instruction(inst))
    return [inst for inst in out if inst is not None and not (
        inst.name == "rz" and not is_symbolic(inst.params[0]) and sx_inverse == "rz"
        and abs(math.remainder(float(inst.params[0]), 2 * math.pi)) < 1e-12)]  # type: ignore[arg-type]


def _rebuild(circuit: Circuit, parts: Sequence[Instruction]) -> Circuit:
    out = Circuit(circuit.n_qubits, circuit.n_clbits, name=circuit.name, qregs=circuit.qregs or None,
                  cregs=circuit.cregs or None)
    # every instruction is one of the circuit's own or its inverse on the same qubits: already valid
    # and canonical, so they are stored as Circuit.copy stores them (append's checks cost 10x the fold)
    out._instructions = list(parts)
    return out


def fold_global(circuit: Circuit, scale: float, *, sx_inverse: str = "rz",
                weights: Mapping[str, float] | None = None) -> Circuit:
    """Global unitary folding: ``G (G^dag G)^k L^dag L`` with about ``scale`` times the gates of ``G``.

    ``k = floor((scale - 1) / 2)``; ``L`` is the last ``round(N (scale - 1 - 2k) / 2)`` gates
    of ``G`` (``N`` gates), so the gate count is ``scale * N`` up to rounding (exactly, for odd
    integer scales on a circuit whose inverse has as many gates as itself).

    Args:
        circuit: a unitary body followed by terminal measurements (barriers allowed).
        scale: the noise scale factor, ``>= 1``.
        sx_inverse: how ``sx^dag`` is written: ``"rz"``, ``"x"`` or ``"sxdg"`` (module docs).
        weights: optional error weight per gate name (as :func:`noise_scale` takes them): the
            partial fold then takes the shortest tail ``L`` whose weight reaches the fraction of
            the circuit's weight that the scale asks for, so the *error* scales as asked (by count,
            half the gates of a circuit whose ``cx`` come last carry nearly all its error).

    Returns:
        A new circuit with the same unitary (up to a global phase) and the same measurements.

    Raises:
        CircuitError: a scale below 1, a mid-circuit measurement, reset or condition.
        ArgumentTypeError: not a Circuit, a scale that is not a number, an unknown ``sx_inverse``.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(1).rz(0.5, 0).sx(0).rz(0.25, 0)
        >>> [(i.name, round(i.params[0], 4)) if i.params else i.name for i in fold_global(c, 3)][3:6]
        [('rz', 2.8916), 'sx', ('rz', 2.6416)]
        >>> len(fold_global(Circuit(1).x(0).x(0).x(0).x(0), 1.5))   # one partial fold of the last gate
        6
    """
    if sx_inverse not in _SX_INVERSES:
        raise ArgumentTypeError(f"fold_global: sx_inverse must be one of {_SX_INVERSES}, got {sx_inverse!r}")
    value = _check_scale(scale, "fold_global")
    body, tail = _split(circuit, "fold_global")
    gate_at = [i for i, inst in enumerate(body) if inst.is_gate]
    n = len(gate_at)
    k = int((value - 1.0) // 2 + 1e-9)
    partial = round(n * (value - 1.0 - 2 * k) / 2 + 1e-9)
    if weights is not None and partial:
        w = [float(weights.get(body[i].name, 0.0)) for i in gate_at]
        want, acc, partial = sum(w) * (value - 1.0 - 2 * k) / 2, 0.0, 0
        while partial < n and acc + w[n - 1 - partial] / 2 < want:  # stop where the tail's weight is nearest
            acc += w[n - 1 - partial]
            partial += 1
    inverse = _inverse_block(body, sx_inverse)
    parts = list(body)
    for _ in range(k):
        parts += inverse + body
    if partial:
        last = body[gate_at[n - partial]:]
        parts += _inverse_block(last, sx_inverse) + last
    return _rebuild(circuit, parts + tail)


def fold_gates(circuit: Circuit, scale: float, *, where: str = "random", seed: Seed = None,
               sx_inverse: str = "x") -> Circuit:
    """Local unitary folding: each gate ``g -> g (g^dag g)^k``, about ``scale`` times the gates in all.

    ``F = round(N (scale - 1) / 2)`` folds for ``N`` gates: every gate gets ``F // N`` of
    them, and ``F % N`` gates one more, chosen by ``where``.

    Args:
        circuit: a unitary body followed by terminal measurements (barriers allowed).
        scale: the noise scale factor, ``>= 1``.
        where: ``"random"`` (distinct gates drawn with ``seed``), ``"left"`` (the first
            gates) or ``"right"`` (the last gates).
        seed: seed of the random choice (``where="random"``).
        sx_inverse: how ``sx^dag`` is written: ``"x"`` (default), ``"rz"`` or ``"sxdg"``.

    Returns:
        A new circuit with the same unitary (up to a global phase) and the same measurements.

    Raises:
        CircuitError: a scale below 1, a mid-circuit measurement, reset or condition.
        ArgumentTypeError: an unknown ``where`` or ``sx_inverse``, not a Circuit.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).rz(0.3, 0).cx(0, 1).x(1)
        >>> [i.name for i in fold_gates(c, 5 / 3, where="left")]
        ['rz', 'rz', 'rz', 'cx', 'x']
        >>> fold_gates(c, 3).count_ops()
        {'rz': 3, 'cx': 3, 'x': 3}
    """
    if where not in ("random", "left", "right"):
        raise ArgumentTypeError(f"fold_gates: where must be 'random', 'left' or 'right', got {where!r}")
    if sx_inverse not in _SX_INVERSES:
        raise ArgumentTypeError(f"fold_gates: sx_inverse must be one of {_SX_INVERSES}, got {sx_inverse!r}")
    value = _check_scale(scale, "fold_gates")
    body, tail = _split(circuit, "fold_gates")
    gate_at = [i for i, inst in enumerate(body) if inst.is_gate]
    n = len(gate_at)
    folds = round(n * (value - 1.0) / 2 + 1e-9)
    count = dict.fromkeys(gate_at, folds // n if n else 0)
    extra = folds % n if n else 0
    if extra:
        if where == "left":
            chosen = gate_at[:extra]
        elif where == "right":
            chosen = gate_at[n - extra:]
        else:
            chosen = [gate_at[int(j)] for j in as_generator(seed).choice(n, size=extra, replace=False)]
        for i in chosen:
            count[i] += 1
    parts: list[Instruction] = []
    for i, inst in enumerate(body):
        parts.append(inst)
        if count.get(i):
            unit = _inverse_block([inst], sx_inverse) + [inst]
            parts += unit * count[i]
    return _rebuild(circuit, parts + tail)


def noise_scale(original: Circuit, scaled: Circuit, *, weights: Mapping[str, float] | None = None) -> float:
    """The realized noise scale of a folded circuit: its gate count over the original's.

    Args:
        original: the circuit before folding.
        scaled: the folded circuit.
        weights: optional error weight per gate name (e.g. ``{"cx": 0.01, "sx": 0.002}``;
            names not listed weigh 0): the ratio of summed weights instead of counts.

    Returns:
        The ratio (1.0 for a circuit without gates).

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).sx(0).cx(0, 1)
        >>> noise_scale(c, fold_gates(c, 2, where="right"))
        2.0
        >>> noise_scale(c, fold_gates(c, 2, where="right"), weights={"cx": 0.01, "sx": 0.001, "x": 0.001})
        2.8181818181818183
    """
    def total(circuit: Circuit) -> float:
        return float(sum((1.0 if weights is None else float(weights.get(i.name, 0.0))) for i in circuit if i.is_gate))

    base = total(original)
    return 1.0 if base == 0 else total(scaled) / base


# -- parameter scaling ------------------------------------------------------------------------------------------


def _unitary_power(u: torch.Tensor, scale: float) -> torch.Tensor:
    w, v = np.linalg.eig(u.detach().cpu().numpy())
    powered = (v * np.exp(1j * scale * np.angle(w))) @ np.linalg.inv(v)
    return torch.as_tensor(powered, dtype=torch.complex128)


def _scale_channel(channel: ch.KrausChannel, scale: float) -> ch.KrausChannel:
    parts = channel._parts
    if parts is not None:
        first, second = _scale_channel(parts[1], scale), _scale_channel(parts[2], scale)
        return first.compose(second) if parts[0] == "compose" else first.tensor(second)
    p = channel.params
    name = channel.name
    if name == "depolarizing":
        d2 = 4 ** int(p["num_qubits"])
        f = 1.0 - p["p"] * d2 / (d2 - 1)
        if f < 0:
            raise NoiseError(f"scale_noise: depolarizing p={p['p']} has a negative fidelity; it has no power {scale}")
        return ch.depolarizing((1.0 - f**scale) * (d2 - 1) / d2, int(p["num_qubits"]))
    if name == "pauli_channel":
        px, py, pz = p["px"], p["py"], p["pz"]
        fx, fy, fz = 1 - 2 * (py + pz), 1 - 2 * (px + pz), 1 - 2 * (px + py)
        if min(fx, fy, fz) < 0:
            raise NoiseError(f"scale_noise: the Pauli channel {p} has a negative fidelity; it has no power {scale}")
        gx, gy, gz = fx**scale, fy**scale, fz**scale
        return ch.pauli_channel((1 + gx - gy - gz) / 4, (1 - gx + gy - gz) / 4, (1 - gx - gy + gz) / 4)
    if name == "amplitude_damping":
        return ch.amplitude_damping(1 - (1 - p["gamma"]) ** scale)
    if name == "phase_damping":
        return ch.phase_damping(1 - (1 - p["lam"]) ** scale)
    if name == "generalized_amplitude_damping":
        return ch.generalized_amplitude_damping(p["p"], 1 - (1 - p["gamma"]) ** scale)
    if name == "thermal_relaxation":
        return ch.thermal_relaxation(**{**p, "time": p["time"] * scale})
    if len(channel.kraus) == 1:  # a coherent error: U -> U^scale (principal branch)
        return ch.KrausChannel([_unitary_power(channel.kraus[0], scale)], name=name, check=False)
    if float(scale).is_integer():
        out = channel
        for _ in range(int(scale) - 1):
            out = out.compose(channel)
        return out
    raise NoiseError(f"scale_noise: the channel {name!r} ({len(channel.kraus)} Kraus operators, no known "
                     f"parameters) can only be scaled by an integer factor, got {scale}")


def _as_model(noise: Any) -> NoiseModel:
    if isinstance(noise, NoiseModel):
        return noise
    from qtandem.device.device import Device

    if isinstance(noise, Device):
        return noise.noise_model()
    if hasattr(noise, "device") and callable(noise.device):  # a learn.Calibration (mitigate sits above learn)
        device = noise.device()
        if isinstance(device, Device):
            return device.noise_model()
    raise ArgumentTypeError(f"scale_noise needs a NoiseModel, Device or Calibration, got {type(noise).__name__}")


def scale_noise(noise: Any, scale: float) -> NoiseModel:
    """Parameter noise scaling: the model with every error raised to the power ``scale``.

    Gate errors: depolarizing and Pauli channels keep their Pauli fidelities ``f -> f^scale``;
    amplitude and phase damping ``1 - gamma -> (1 - gamma)^scale``; thermal relaxation runs
    ``scale`` times as long; a coherent error ``U -> U^scale``; composed and tensored channels
    are scaled part by part; another channel only by an integer factor (composed with itself).
    Idle errors: ``T1``, ``T2`` divided by ``scale``, detuning and ZZ multiplied by it.
    Readout errors are kept (they do not scale with the gates; mitigate them apart).
    ``scale_noise(m, 2)`` equals every gate's error applied twice.

    Args:
        noise: a :class:`~qtandem.noise.NoiseModel`, a :class:`~qtandem.device.Device` or a
            fitted ``qtandem.learn.Calibration``.
        scale: the factor, ``>= 1`` (values in ``(0, 1)`` are accepted: weaker noise).

    Returns:
        A new noise model (the input is not changed).

    Raises:
        NoiseError: a channel that cannot be scaled by this factor.
        ArgumentTypeError: ``noise`` of another type, a non-positive scale.

    Examples:
        >>> from qtandem.noise import NoiseModel, depolarizing
        >>> m = NoiseModel().add(depolarizing(0.03), gates=["sx"])
        >>> round(scale_noise(m, 2).rules[0].channel.params["p"], 6)    # 1 - 4p/3 squared
        0.0588
    """
    model = _as_model(noise)
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"scale_noise: the scale must be a positive number, got {scale!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ArgumentTypeError(f"scale_noise: the scale must be a positive number, got {scale!r}")
    rules = [_Rule(_scale_channel(r.channel, value), r.gates, r.qubits) for r in model.rules]
    idle = {q: (t[0] / value, t[1] / value) for q, t in model.idle.items()}
    default_idle = None if model.default_idle is None else (model.default_idle[0] / value,
                                                             model.default_idle[1] / value)
    return replace(model, rules=rules, readout=dict(model.readout), idle=idle, default_idle=default_idle,
                   detuning={q: d * value for q, d in model.detuning.items()},
                   default_detuning=model.default_detuning * value,
                   zz={k: z * value for k, z in model.zz.items()}, durations=dict(model.durations),
                   ideal=set(model.ideal))
