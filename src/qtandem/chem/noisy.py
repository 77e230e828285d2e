"""Noisy VQE on a device: compile for the device, remap the Hamiltonian, run its noise model, mitigate.

:func:`device_energy` estimates ``<H>`` of an ansatz circuit as a device would give it:

1. :func:`qtandem.compile.prepare_for_device` lays the circuit out, routes it (SWAPs) and translates it to
   the device's native gates, on the physical qubits it uses renumbered ``0..k-1``;
2. the Hamiltonian is remapped through the routing's final layout: logical qubit ``v`` ends on compiled
   qubit ``final_layout[v]``, so a Pauli letter on ``v`` is measured there
   (:meth:`qtandem.mitigate.Observable.relabel`); noiselessly the routed energy equals the unrouted one
   (tests/chem/test_chem_noisy.py checks it);
3. the circuit runs on the device's noise model cut to those qubits (``device.subset``), exact outcome
   distributions of the density-matrix simulator sampled with ``shots`` per measured basis
   (:func:`qtandem.mitigate.simulator_executor`);
4. :func:`qtandem.mitigate.execute` applies the mitigation (``"readout"``, ``"zne"``, ``"readout+zne"``,
   or a list of :mod:`qtandem.mitigate` methods; readout is calibrated with its own one-off shots, ZNE folds
   the whole circuit at the scales :data:`ZNE_SCALES` = 1, 3 (``U`` and ``U U^dag U``) and fits an
   exponential).

Why whole folds only: a fractional global fold (scale 1.5, in ``qtandem.mitigate.zne``'s default before
session 34, which is now 1, 3) folds only the last gates of the circuit, so the noise it adds depends on
which gates end the compiled circuit, and
the exponential fit then lands on a bias that changes with the circuit's structure. Measured on the ten final
circuits of ``bench/results/chem_noisy_vqe.json`` (LiH CAS(2,2) on ``line_5``, exact readout matrices, 10^8
shots, so no shot noise): the bias against the noiseless energy was -11.0 mHa on every 21-``cx`` circuit
(an angle COBYLA left at ~1e-19, whose gates the compiler dropped: :func:`nudge_small_angles` now keeps
them) and +8.3 to +9.6 mHa on the 22-23-``cx`` ones at 1.595 A, the +-10 mHa
scatter between seeds whose standard errors were < 1 mHa; with whole folds at 1, 3 it is -1.8 to +3.0 mHa
(1.595 A) and +0.7 to +2.7 mHa (3.0 A). The reported standard errors were right (shot noise only; repeated
estimates of one circuit scatter by them): what they cannot show is the extrapolation's bias.

:func:`noisy_vqe` (``qtandem.chem.vqe(problem, ansatz, device=..., mitigation=...)``) optimises the ansatz
parameters on those estimates with a gradient-free optimizer, then estimates the energy of the best
parameters once more with ``final_shots`` fresh shots, raw and mitigated. Parameters smaller than
:data:`ZERO_NUDGE` in magnitude are run as that many radians (:func:`nudge_small_angles`): the compiler would
otherwise drop their gates, and the Hartree-Fock start would carry less noise than every other point
(measured: LiH CAS(2,2) on ``line_5``, 19 instead of 22 ``cx``), which made raw VQE keep the start.

Examples:
    >>> from types import SimpleNamespace
    >>> from qtandem.circuit.pauli import PauliSum
    >>> from qtandem.circuit import Circuit
    >>> prob = SimpleNamespace(hamiltonian=PauliSum.from_string("-1.0*Z0 Z2 + 0.5*X1"), n_qubits=3)
    >>> e = device_energy(prob, Circuit(3).x(0).x(2), "line_5", mitigation="readout", shots=4000, seed=1)
    >>> round(e.value, 1), e.raw > e.value                 # readout errors pull the raw value up
    (-1.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.errors import ChemistryError

__all__ = ["MITIGATIONS", "DeviceEnergy", "device_energy", "mitigation_methods", "noisy_vqe", "nudge_small_angles",
           "routed_observable"]

MITIGATIONS = ("none", "readout", "zne", "readout+zne")
ZERO_NUDGE = 1e-6
ZNE_SCALES = (1.0, 3.0)
"""Noise scales of the ``"zne"`` spec: whole-circuit folds only, so every gate's noise is scaled alike
(module docstring: fractional folds left a circuit-dependent +-10 mHa bias)."""


def mitigation_methods(mitigation: Any) -> list[Any]:
    """The :mod:`qtandem.mitigate` methods of a mitigation spec.

    ``"zne"`` is ``qtandem.mitigate.zne(ZNE_SCALES)``: global folding at scales 1 and 3, exponential fit.

    Args:
        mitigation: ``None``/``"none"``, ``"readout"``, ``"zne"``, ``"readout+zne"`` or a list of methods.

    Raises:
        ChemistryError: an unknown name.

    Examples:
        >>> [type(m).__name__ for m in mitigation_methods("readout+zne")]
        ['ReadoutMitigation', 'ZNE']
        >>> mitigation_methods("zne")[0].scale_factors
        [1.0, 3.0]
    """
    from qtandem.mitigate import readout, zne

    if mitigation is None or mitigation == "none":
        return []
    if isinstance(mitigation, str):
        parts = [p.strip() for p in mitigation.split("+")]
        out: list[Any] = []
        for part in parts:
            if part == "readout":
                out.append(readout())
            elif part == "zne":
                out.append(zne(ZNE_SCALES))
            else:
                raise ChemistryError(f"unknown mitigation {mitigation!r}; choose one of {', '.join(MITIGATIONS)} "
                                     f"or pass qtandem.mitigate methods")
        if [type(m).__name__ for m in out] not in (["ReadoutMitigation"], ["ZNE"], ["ReadoutMitigation", "ZNE"]):
            raise ChemistryError(f"mitigation {mitigation!r}: readout goes first, each at most once")
        return out
    return list(mitigation)


def nudge_small_angles(x: Any) -> np.ndarray:
    """Angles smaller than :data:`ZERO_NUDGE` in magnitude raised to it (sign kept, zero counts as positive).

    The compiler drops a rotation whose angle is (numerically) zero, so without this the circuit's gate
    count, hence its noise, would depend on whether an angle is 0, 1e-19 or 1e-3. Measured: COBYLA left
    one LiH CAS(2,2) angle at 4.7e-19 on 3 of 5 seeds, whose circuits then had 21 instead of 22-23 ``cx``
    and a ZNE bias of the opposite sign. The energy moves by ~1e-12 Ha.

    Examples:
        >>> nudge_small_angles([0.0, -1e-19, 0.3]).tolist()
        [1e-06, -1e-06, 0.3]
    """
    v = np.asarray(x, dtype=np.float64)
    small = np.abs(v) < ZERO_NUDGE
    out: np.ndarray = np.where(small, np.where(np.signbit(v) & (v != 0.0), -ZERO_NUDGE, ZERO_NUDGE), v)
    return out


def _device(device: Any) -> Any:
    from qtandem.compile.layout import resolve_device

    return resolve_device(device)


def routed_observable(problem: Any, circuit: Circuit, device: Any, *, seed: int = 0) -> tuple[Circuit, Any, Any,
                                                                                            dict[str, Any]]:
    """Compile ``circuit`` for ``device`` and remap ``problem.hamiltonian`` through the final layout.

    Returns:
        ``(compiled circuit, observable, device cut to the used qubits, report)``; the observable is a
        :class:`qtandem.mitigate.Observable` on the compiled circuit's qubits.

    Examples:
        >>> from types import SimpleNamespace
        >>> from qtandem.circuit.pauli import PauliSum
        >>> prob = SimpleNamespace(hamiltonian=PauliSum.from_string("Z0 Z2"), n_qubits=3)
        >>> c, obs, dev, rep = routed_observable(prob, Circuit(3).h(0).cx(0, 2), "line_5")
        >>> len(rep["final_layout"]), obs.kind
        (3, 'pauli')
    """
    from qtandem.compile import prepare_for_device
    from qtandem.mitigate import parse_observable

    dev = _device(device)
    n = int(problem.n_qubits)
    if circuit.n_qubits != n:
        raise ChemistryError(f"the circuit has {circuit.n_qubits} qubits, the problem {n}")
    obs = parse_observable(problem.hamiltonian, n)
    compiled, report = prepare_for_device(circuit, dev, seed=seed)
    if report["changed"]:
        layout = report["final_layout"]
        obs = obs.relabel([int(layout[v]) for v in range(n)], compiled.n_qubits)
        target = dev.subset(report["physical_qubits"])
    else:
        target = dev
    return compiled, obs, target, report


@dataclass
class DeviceEnergy:
    """One energy estimate on a device (:func:`device_energy`).

    Attributes:
        value: the mitigated estimate (the raw one when no mitigation); ``stderr`` its standard error.
        raw, raw_stderr: the unmitigated estimate at the same shots (NaN when not run).
        shots_used: shots of the estimate(s), one-off calibrations excluded.
        methods: the mitigation methods applied.
        report: :func:`qtandem.compile.prepare_for_device`'s report (layout, swaps, two-qubit gates).

    Examples:
        >>> DeviceEnergy(-1.0, 0.01, -0.9, 0.01, 1000, ["readout"]).value
        -1.0
    """

    value: float
    stderr: float
    raw: float
    raw_stderr: float
    shots_used: int
    methods: list[str]
    report: dict[str, Any] = field(default_factory=dict)


def device_energy(problem: Any, circuit: Circuit, device: Any, *, mitigation: Any = "readout+zne",
                  shots: int = 10_000, seed: int = 0, raw: bool = True, compile_seed: int = 0,
                  executor: Any = None) -> DeviceEnergy:
    """Estimate ``<problem.hamiltonian>`` of ``circuit`` (logical qubits) on ``device`` (module docstring).

    Args:
        problem: an object with ``hamiltonian`` and ``n_qubits``.
        circuit: the state preparation (no measurements needed).
        device: a :class:`~qtandem.device.Device` or a preset/file name.
        mitigation: see :func:`mitigation_methods`.
        shots: shots per measured basis of the unmitigated estimate; the mitigated estimate spends
            ``shots`` times the number of bases in total.
        seed: sampling seed.
        raw: also estimate the unmitigated value (same shots).
        compile_seed: layout and routing seed.
        executor: an executor for the cut device (default: a new cached density-matrix simulator).

    Raises:
        ChemistryError: unknown mitigation, a circuit of another width.
        CompileError: an unknown device.

    Examples:
        >>> from types import SimpleNamespace
        >>> from qtandem.circuit.pauli import PauliSum
        >>> prob = SimpleNamespace(hamiltonian=PauliSum.from_string("Z0 + Z1"), n_qubits=2)
        >>> e = device_energy(prob, Circuit(2).x(1), "line_5", mitigation="none", shots=2000, seed=0)
        >>> bool(abs(e.value) < 0.2), e.methods
        (True, [])
    """
    from qtandem.mitigate import simulator_executor

    methods = mitigation_methods(mitigation)
    compiled, obs, target, report = routed_observable(problem, circuit, device, seed=compile_seed)
    run = executor if executor is not None else simulator_executor(target, seed=seed)
    return _estimate(compiled, obs, target, report, methods, shots, seed, raw, run)


def _estimate(compiled: Circuit, obs: Any, target: Any, report: dict[str, Any], methods: list[Any], shots: int,
              seed: int, raw: bool, run: Any) -> DeviceEnergy:
    from qtandem.mitigate import execute

    total = int(shots) * max(1, len(obs.groups))
    res = execute(compiled, obs, run, methods=methods, shots=total, seed=seed, noise=target,
                  raw=raw and bool(methods))
    if not methods:
        return DeviceEnergy(float(res.value), float(res.stderr), float(res.value), float(res.stderr),
                            int(res.shots_used), [], _summary(report))
    return DeviceEnergy(float(res.value), float(res.stderr), float(res.raw), float(res.raw_stderr),
                        int(res.shots_used), list(res.methods), _summary(report))


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    keys = ("physical_qubits", "initial_layout", "final_layout", "swaps", "two_qubit_before", "two_qubit_after")
    return {k: report.get(k) for k in keys}


def noisy_vqe(problem: Any, ansatz: Any = "uccsd", *, device: Any, mitigation: Any = "readout+zne",
              shots: int = 10_000, optimizer: str = "cobyla", initial: Any = None, seed: int = 0,
              max_evaluations: int | None = 60, final_shots: int | None = None, compile_seed: int = 0,
              callback: Any = None, **options: Any) -> Any:
    """VQE whose every energy is a (mitigated) estimate on ``device``; see the module docstring.

    Args:
        problem: a :class:`~qtandem.chem.problem.ChemProblem`.
        ansatz: a fixed ansatz name (``"uccsd"``, ``"hea"``, ...) or an :class:`~qtandem.chem.ansatz.Ansatz`
            (e.g. the operators an exact ADAPT run chose).
        device: the device (preset name, file or :class:`~qtandem.device.Device`).
        mitigation: see :func:`mitigation_methods`; ``"none"`` optimises raw estimates.
        shots: shots per measured basis per energy.
        optimizer: ``"cobyla"`` or ``"spsa"``.
        initial: start parameters (default zeros: Hartree-Fock).
        seed: sampling and SPSA seed.
        max_evaluations: energy evaluations of the optimisation.
        final_shots: shots per basis of the final raw and mitigated estimates (default ``10 * shots``).
        compile_seed: layout/routing seed.
        callback: ``callback(n_evaluations, energy, parameters)``.
        **options: passed to the ansatz builder.

    Returns:
        A :class:`~qtandem.chem.vqe.VQEResult`: ``energy`` is the final mitigated estimate, ``exact_energy``
        the noiseless energy of the parameters; ``extra`` has ``raw_energy``, ``mitigated_energy`` and their
        standard errors, ``device``, ``mitigation``, ``shots_per_evaluation`` and the routing ``report``.

    Raises:
        ChemistryError: an adaptive ansatz name (choose the operators first), a gradient-based optimizer.

    Examples:
        >>> from types import SimpleNamespace
        >>> from qtandem.circuit.pauli import PauliSum
        >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z2 + 0.2*X0*X2 + 0.2*Y0*Y2")
        >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0001, n_alpha=1, n_beta=0,
        ...                        n_orbitals=2, references={"casci": -0.4})
        >>> r = noisy_vqe(prob, "uccsd", device="line_5", mitigation="readout", shots=2000, max_evaluations=15,
        ...               compile_level=None)
        >>> abs(r.exact_energy + 0.4) < 0.05, r.extra["mitigation"]
        (True, 'readout')
    """
    from qtandem.chem.ansatz import Ansatz
    from qtandem.chem.ansatz import ansatz as build_ansatz
    from qtandem.chem.vqe import ADAPTIVE, finish, minimize
    from qtandem.mitigate import simulator_executor

    if isinstance(ansatz, str) and ansatz in ADAPTIVE:
        raise ChemistryError("noisy VQE takes a fixed ansatz; run ADAPT exactly first and pass "
                             "Ansatz(problem, operators)")
    if optimizer not in ("cobyla", "spsa"):
        raise ChemistryError(f"noisy VQE needs a gradient-free optimizer ('cobyla' or 'spsa'), got {optimizer!r}")
    compile_level = options.pop("compile_level", 1)
    a = ansatz if isinstance(ansatz, Ansatz) else build_ansatz(problem, ansatz, **options)
    x0 = np.zeros(a.n_parameters) if initial is None else np.asarray(initial, dtype=np.float64)
    if x0.shape != (a.n_parameters,):
        raise ChemistryError(f"initial parameters have shape {x0.shape}, the ansatz takes ({a.n_parameters},)")
    dev = _device(device)
    name = mitigation if isinstance(mitigation, str) or mitigation is None else "custom"
    rng = np.random.default_rng(seed)
    executors: dict[tuple[int, ...], Any] = {}

    def estimate(x: np.ndarray, n_shots: int, spec: Any, raw: bool) -> DeviceEnergy:
        # zero and tiny angles (the Hartree-Fock start, coordinates the optimizer has not moved, or moved to
        # 1e-19) would let the compiler drop their gates, so those points would carry less noise than every
        # other one; a real run compiles the parameterised circuit once (nudge_small_angles).
        xd = nudge_small_angles(x)
        # one cached executor per physical-qubit set, so readout calibrations are shared across evaluations
        compiled, obs, target, report = routed_observable(problem, a.circuit(xd), dev, seed=compile_seed)
        key = tuple(report["physical_qubits"])
        if key not in executors:
            executors[key] = simulator_executor(target, seed=int(rng.integers(2**31)))
        return _estimate(compiled, obs, target, report, mitigation_methods(spec), n_shots,
                         int(rng.integers(2**31)), raw, executors[key])

    def energy(x: np.ndarray) -> float:
        return estimate(x, shots, mitigation, False).value

    x, _, history, _ = minimize(energy, x0, optimizer=optimizer, max_evaluations=max_evaluations, seed=seed,
                                callback=callback)
    final = estimate(x, int(final_shots or 10 * shots), mitigation if name != "none" else "readout+zne", True)
    value = final.raw if name == "none" else final.value
    extra = {"raw_energy": final.raw, "raw_stderr": final.raw_stderr, "mitigated_energy": final.value,
             "mitigated_stderr": final.stderr, "device": getattr(dev, "name", str(device)),
             "mitigation": name, "shots_per_evaluation": shots, "report": final.report}
    out = finish(problem, a, x, value, history, 0, optimizer, compile_level, extra)
    return out
