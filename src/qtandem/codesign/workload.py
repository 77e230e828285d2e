"""A workload: a circuit and the figure of merit a device is judged by, differentiable in the calibration.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> ghz = Workload(Circuit(3).h(0).cx(0, 1).cx(1, 2), "fidelity", name="ghz3")
    >>> 0.8 < ghz.evaluate(Device.random(3, "line", seed=0)) < 1.0
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.pauli import PauliSum
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import ConfigError

if TYPE_CHECKING:
    from qtandem.device import Device

__all__ = ["METRICS", "Workload"]

METRICS = ("fidelity", "success", "expval")
"""Figures of merit: ``fidelity`` and ``success`` (higher is better), ``expval`` (an error: lower is better)."""


@dataclass(frozen=True)
class _Program:
    """A workload compiled for one coupling map: the native circuit and where it runs."""

    circuit: Circuit            # native, on compiled qubits 0..k-1
    physical: tuple[int, ...]   # device qubit behind compiled qubit i
    observable: PauliSum | None  # on the compiled qubits
    psi: torch.Tensor           # ideal state of the compiled circuit (measurements removed)
    measured: tuple[int, ...]   # compiled qubits read out (all when the circuit measures none)
    targets: tuple[int, ...]    # most likely ideal outcomes over ``measured`` (success)
    ideal_value: float          # <O> of the ideal state (expval)


def _without_measurements(circuit: Circuit) -> Circuit:
    marks = terminal_measurements(circuit)
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    for i, inst in enumerate(circuit):
        if i not in marks.indices:
            out.append(inst)
    return out


def _remap(observable: PauliSum, layout: list[int]) -> PauliSum:
    out = PauliSum()
    for coef, word in observable.terms:
        out = out + PauliSum.term(coef, {layout[q]: letter for q, letter in word})
    return out


def _marginal(probs: torch.Tensor, n: int, keep: tuple[int, ...]) -> torch.Tensor:
    """Distribution of the qubits ``keep`` (``keep[0]`` the least significant bit) from ``(2**n,)``."""
    if keep == tuple(range(n)):
        return probs
    t = probs.reshape((2,) * n)  # axis 0 is the most significant qubit n-1
    axes = [n - 1 - q for q in reversed(keep)]  # most significant kept qubit first
    rest = [a for a in range(n) if a not in axes]
    return t.permute(axes + rest).reshape(2 ** len(keep), -1).sum(dim=1)


class Workload:
    """A circuit and its figure of merit on a device.

    ``metric``:

    - ``"fidelity"``: ``<psi|rho|psi>``, the noisy output state ``rho`` against the ideal pure
      state ``psi`` of the same (measurement-free) circuit; higher is better.
    - ``"success"``: the probability of reading one of the ideal most likely bitstrings (all
      outcomes within 1e-6 of the top one, e.g. both GHZ strings) of the measured qubits
      (every qubit when the circuit measures none), readout errors included; higher is better.
    - ``"expval"``: ``|<O>_noisy - <O>_ideal|`` for ``observable`` ``O`` (a :class:`PauliSum`
      or its text), an error: **lower is better** (:attr:`higher_is_better` says which).

    A circuit that is not native to the device is compiled once per coupling map with
    :func:`qtandem.compile.prepare_for_device` (seed 0) and the compiled program is reused for
    every calibration of that coupling map, so what-if comparisons run the same program.

    Args:
        circuit: the circuit (parameters bound; no mid-circuit measurement or reset).
        metric: ``"fidelity"``, ``"success"`` or ``"expval"``.
        observable: the observable of ``"expval"`` (on the circuit's qubits).
        name: a label for reports.

    Raises:
        ConfigError: an unknown metric, ``expval`` without an observable, a circuit that is
            not a qtandem Circuit, has free parameters or mid-circuit measurements.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.device import Device
        >>> dev = Device.random(2, "line", seed=2)
        >>> bell = Circuit(2).h(0).cx(0, 1)
        >>> err = Workload(bell, "expval", "Z0 Z1").evaluate(dev)      # |<ZZ>_noisy - 1|
        >>> 0.0 < err < 0.1, Workload(bell, "expval", "Z0 Z1").higher_is_better
        (True, False)
        >>> Workload(bell, "energy")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: Workload metric 'energy' is not one of fidelity, success, expval
    """

    def __init__(self, circuit: Circuit, metric: str = "fidelity", observable: PauliSum | str | None = None, *,
                 name: str = "") -> None:
        if not isinstance(circuit, Circuit):
            raise ConfigError(f"Workload takes a qtandem Circuit, got {type(circuit).__name__}")
        if metric not in METRICS:
            raise ConfigError(f"Workload metric {metric!r} is not one of {', '.join(METRICS)}")
        if metric == "expval" and observable is None:
            raise ConfigError("Workload metric 'expval' needs an observable (a PauliSum or text like 'Z0 Z1')")
        if circuit.parameters:
            raise ConfigError(f"Workload circuits have their parameters bound (circuit.bind(values)); this one has "
                              f"{len(circuit.parameters)} free: {', '.join(p.name for p in circuit.parameters[:3])}")
        marks = terminal_measurements(circuit)
        if not marks.all_terminal or any(inst.name == "reset" or inst.condition is not None for inst in circuit):
            raise ConfigError("Workload circuits end in their measurements: no mid-circuit measurement, "
                              "reset or classically controlled gate")
        self.circuit = circuit
        self.metric = metric
        self.observable = PauliSum.from_string(observable) if isinstance(observable, str) else observable
        if self.observable is not None and self.observable.num_qubits > circuit.n_qubits:
            raise ConfigError(f"Workload observable acts on {self.observable.num_qubits} qubits, "
                              f"the circuit has {circuit.n_qubits}")
        self.name = name or f"{metric}_{circuit.n_qubits}q"
        self._programs: dict[Any, _Program] = {}

    @property
    def higher_is_better(self) -> bool:
        """``True`` for fidelity and success, ``False`` for expval (an error)."""
        return self.metric != "expval"

    def __repr__(self) -> str:
        return f"Workload({self.name!r}, metric={self.metric!r}, qubits={self.circuit.n_qubits})"

    # -- compiling -------------------------------------------------------------
    def program(self, device: Device) -> _Program:
        """The compiled program for ``device``'s coupling map (cached per coupling map and native gates)."""
        key = (device.num_qubits, tuple(sorted(device.edges)), tuple(sorted(device.native_gates)))
        if key not in self._programs:
            self._programs[key] = self._compile(device)
        return self._programs[key]

    def _compile(self, device: Device) -> _Program:
        from qtandem.codesign.params import _set, device_parameters
        from qtandem.compile import prepare_for_device
        from qtandem.sim import statevector

        plain = _set(device, device_parameters(device))  # routing reads the numbers: no tensors there
        compiled, report = prepare_for_device(self.circuit, plain, seed=0)
        physical = tuple(int(q) for q in report["physical_qubits"])
        final = [int(q) for q in report["final_layout"]]
        bare = _without_measurements(compiled)
        psi = statevector(bare).detach()
        k = compiled.n_qubits
        pairs = terminal_measurements(compiled).pairs
        measured = tuple(dict.fromkeys(q for q, _ in pairs)) or tuple(range(k))
        observable = None if self.observable is None else _remap(self.observable, final)
        ideal = _marginal(psi.abs() ** 2, k, tuple(sorted(measured)))
        top = float(ideal.max())
        targets = tuple(int(i) for i in torch.nonzero(ideal >= top - 1e-6).flatten())
        ideal_value = 0.0
        if observable is not None:
            from qtandem.sim.expectation import dm_expectation

            ideal_value = float(dm_expectation(torch.outer(psi, psi.conj()), observable).real)
        return _Program(compiled, physical, observable, psi, tuple(sorted(measured)), targets, ideal_value)

    # -- evaluating ------------------------------------------------------------
    def evaluate_torch(self, device: Device) -> torch.Tensor:
        """The figure of merit as a 0-dim float64 tensor, differentiable in every calibration number of
        ``device`` that is a tensor requiring grad (exact density-matrix simulation of the device's
        noise model; :func:`qtandem.codesign.sensitivity` uses it).

        Examples:
            >>> import torch
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> from qtandem.codesign.params import _set
            >>> dev = Device.random(2, "line", seed=0)
            >>> e = torch.tensor(dev.edges[(0, 1)].error, dtype=torch.float64, requires_grad=True)
            >>> f = Workload(Circuit(2).h(0).cx(0, 1)).evaluate_torch(_set(dev, {"edges.0-1.error": e}))
            >>> f.backward()
            >>> bool(e.grad < 0)                                # a worse cx lowers the fidelity
            True
        """
        prog = self.program(device)
        sub = device.subset(list(prog.physical))
        model = sub.noise_model()
        if self.metric == "success":
            probs = model.outcome_probabilities(prog.circuit)
            marg = _marginal(probs, prog.circuit.n_qubits, prog.measured)
            return marg[list(prog.targets)].sum()
        rho = model.density_matrix(_without_measurements(prog.circuit))
        psi = prog.psi.to(rho.dtype)
        if self.metric == "fidelity":
            return (psi.conj() @ rho @ psi).real
        from qtandem.sim.expectation import dm_expectation

        assert prog.observable is not None
        return (dm_expectation(rho, prog.observable).real - prog.ideal_value).abs()

    def evaluate(self, device: Device) -> float:
        """The figure of merit of this workload on ``device`` (see the class; :attr:`higher_is_better`).

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.device import Device
            >>> ghz = Workload(Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2]), "success")
            >>> 0.8 < ghz.evaluate(Device.random(3, "line", seed=0)) < 1.0
            True
        """
        with torch.no_grad():
            return float(self.evaluate_torch(device))
