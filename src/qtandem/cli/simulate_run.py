"""The work behind ``qtandem simulate`` (imported only when the command runs: torch is loaded here).

One rule for every mode: what the program measures is what is reported. The
classical register's distribution comes from :func:`qtandem.sim.distribution`
(exact, also across mid-circuit measurement, reset and feed-forward) or from
:func:`qtandem.sample` (shots, keyed the same way). An expectation value with
``--shots`` is estimated the way hardware does it: the Pauli terms are grouped
into qubit-wise commuting bases, each basis is rotated onto Z and measured
``--shots`` times. With a device, every circuit that is simulated is compiled
for it first (:func:`qtandem.compile.prepare_for_device`), so the device's noise
model covers every gate; a noise model that does not cover the circuit is
refused with its problems (:meth:`qtandem.noise.NoiseModel.check`).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import qtandem
from qtandem.circuit import Circuit, Parameter
from qtandem.circuit.pauli import PauliSum
from qtandem.circuit.terminal import terminal_measurements
from qtandem.errors import NoiseError, ObservableError, ParameterError, SimulationError
from qtandem.sim.estimate import basis_circuit, basis_seed, pauli_values, without_terminal_measurements

EPS = 1e-12
"""Probabilities at or below this are not listed."""

PROGRESS_WORK = 2_000_000
"""Show a progress bar when ``shots x qubits`` reaches this (and stderr is a terminal)."""

MAX_PROBLEMS = 12
"""How many validation problems an error message lists."""


@dataclass(frozen=True)
class Options:
    """The command line of ``qtandem simulate``, checked for consistency by the command."""

    file: Path
    shots: int = 0
    seed: int | None = None
    expval: str | None = None
    dtype: str = "complex128"
    params: list[str] = field(default_factory=list)
    top: int = 16
    noise: str | None = None
    method: str = "auto"
    compile: bool = True
    qubits: bool = False
    statevector: bool = False


@dataclass
class Noise:
    """A resolved ``--noise``: the noise model, and the device it comes from (if any)."""

    spec: str
    kind: str
    model: Any
    device: Any = None


def run(opts: Options) -> dict[str, Any]:
    """Simulate as ``opts`` asks; the JSON-ready result (what ``--json`` prints)."""
    circuit = qtandem.load(opts.file)
    values = parse_params(opts.params, [p.name for p in circuit.parameters])
    if values:
        circuit = circuit.bind(values)
    noise = load_noise(opts.noise) if opts.noise is not None else None
    out: dict[str, Any] = {"file": str(opts.file), "qubits": circuit.n_qubits, "clbits": circuit.n_clbits,
                           "dtype": opts.dtype}
    if values:
        out["params"] = values
    if noise is not None:
        out["noise"] = noise.spec
        out["noise_kind"] = noise.kind
    t0 = time.perf_counter()
    sim = _Simulator(opts, noise)
    if opts.statevector:
        out.update(sim.statevector(circuit))
    elif opts.expval is not None:
        out.update(sim.expval(circuit, opts.expval))
    elif opts.shots:
        out.update(sim.shots(circuit))
    else:
        out.update(sim.exact(circuit))
    if sim.reports:
        out["compile"] = sim.reports
    out["seconds"] = round(time.perf_counter() - t0, 6)
    return out


class _Simulator:
    """One run of the command: compiles (with a device), picks the method, simulates."""

    def __init__(self, opts: Options, noise: Noise | None) -> None:
        self.opts = opts
        self.noise = noise
        self.dtype = getattr(torch, opts.dtype)
        self.reports: list[dict[str, Any]] = []

    # -- the circuit the noise applies to -----------------------------------------
    def prepare(self, circuit: Circuit, name: str = "circuit") -> tuple[Circuit, Any]:
        """``(circuit to simulate, noise model)``: compiled for the device when needed, coverage checked."""
        if self.noise is None:
            return circuit, None
        device, model = self.noise.device, self.noise.model
        if device is not None:
            if not self.opts.compile:
                problems = device.validate(circuit)
                if problems:
                    raise NoiseError(problem_text(
                        f"--noise {self.noise.spec}: device {device.name!r} cannot run this circuit as it is",
                        problems, "drop --no-compile to compile it for the device first (layout, routing, "
                                  "native gates)"))
            else:
                circuit, model, report = compile_for(circuit, device, seed=self.opts.seed or 0)
                self.reports.append({"circuit": name, **report})
        problems = model.check(circuit)
        if problems:
            what = "device" if device is not None else "noise model"
            raise NoiseError(problem_text(
                f"--noise {self.noise.spec}: the {what} has no noise for part of this circuit, which would "
                "run noiseless", problems,
                "add rules for these gates (or a rule for every gate) to the noise model, or use a device "
                "(preset name or device JSON) to compile the circuit for"))
        return circuit, model

    # -- methods -------------------------------------------------------------------
    def _noisy_method(self, circuit: Circuit) -> tuple[str, str]:
        from qtandem.noise.simulate import pick_method

        chosen = pick_method(circuit, self.opts.method)
        if self.opts.method != "auto":
            return chosen, f"--method {self.opts.method}"
        conditioned = any(inst.condition is not None for inst in circuit)
        if chosen == "density" and not terminal_measurements(circuit).single_run:
            return "trajectories", ("auto: mid-circuit measurement or reset, so Monte Carlo trajectories (one per "
                                    "shot, each following its own outcomes)")
        if chosen == "density":
            return chosen, (f"auto: {circuit.n_qubits} qubits <= 10 and no classically controlled gates, so an "
                            "exact density matrix; shots drawn from it")
        why = "classically controlled gates" if conditioned else f"{circuit.n_qubits} qubits > 10"
        return chosen, f"auto: {why}, so Monte Carlo trajectories (one per shot)"

    def _exact_method(self, circuit: Circuit, model: Any) -> tuple[str, str]:
        if model is not None:
            if self.opts.method == "trajectories":
                raise SimulationError("--method trajectories samples: give --shots N, or use --method density "
                                      "(or auto) for the exact distribution")
            how = "--method density" if self.opts.method == "density" else "auto: no --shots"
            return "density", f"{how}, so the exact density matrix, readout errors included"
        if terminal_measurements(circuit).single_run:
            return "statevector", "no noise and every measurement at the end: one exact state vector"
        return "branching", ("no noise; mid-circuit measurement, reset or feed-forward: exact, branching over "
                             "measurement outcomes")

    # -- modes ---------------------------------------------------------------------
    def _measured(self, circuit: Circuit) -> Circuit:
        """Before compiling for a device: a circuit that measures nothing gets qubit ``i`` measured into bit ``i``
        (as :func:`qtandem.sample` reads it), so the outcomes keep the input's qubit order after layout."""
        if self.noise is None or self.noise.device is None or not self.opts.compile:
            return circuit
        from qtandem.sim.branching import measured_circuit

        return measured_circuit(circuit)

    def exact(self, circuit: Circuit) -> dict[str, Any]:
        bits = bits_info(circuit, qubits=self.opts.qubits)
        circuit, model = self.prepare(circuit if self.opts.qubits else self._measured(circuit))
        if self.opts.qubits and self.reports and self.reports[-1]["changed"]:
            raise SimulationError("--qubits after compiling for a device would report the device's physical "
                                  "qubits; measure the qubits you want into a classical register instead")
        method, reason = self._exact_method(circuit, model)
        dist = qtandem.distribution(circuit, noise=model, qubits=self.opts.qubits, dtype=self.dtype)
        ranked = sorted(((k, float(v)) for k, v in dist.items() if v > EPS), key=lambda kv: (-kv[1], kv[0]))
        shown = ranked[:self.opts.top]
        return {"mode": "exact", "method": method, "method_reason": reason,
                "bits": bits, "probabilities": dict(shown),
                "shown": len(shown), "total": len(ranked)}

    def shots(self, circuit: Circuit) -> dict[str, Any]:
        bits = bits_info(circuit, qubits=False)
        circuit, model = self.prepare(self._measured(circuit))
        method, reason = self._sample_method(circuit, model)
        result = self._sample(circuit, model)
        ranked = sorted(result.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return {"mode": "shots", "method": method, "method_reason": reason, "shots": self.opts.shots,
                "seed": self.opts.seed, "bits": bits, "counts": dict(ranked),
                "shown": min(self.opts.top, len(ranked)), "total": len(ranked)}

    def _sample_method(self, circuit: Circuit, model: Any) -> tuple[str, str]:
        if model is not None:
            return self._noisy_method(circuit)
        if terminal_measurements(circuit).single_run:
            return "statevector", "no noise and every measurement at the end: shots drawn from one state vector"
        return "branching", ("no noise; mid-circuit measurement, reset or feed-forward: every shot follows its "
                             "own measurement outcomes")

    def _sample(self, circuit: Circuit, model: Any, *, seed: Any = None) -> Any:
        kwargs: dict[str, Any] = {}
        if model is not None:
            kwargs.update(noise=model, method=self._noisy_method(circuit)[0])
        if want_progress(self.opts.shots, circuit.n_qubits, sys.stderr):
            kwargs["progress"] = True
        return qtandem.sample(circuit, shots=self.opts.shots, seed=self.opts.seed if seed is None else seed,
                              dtype=self.dtype, **kwargs)

    def statevector(self, circuit: Circuit) -> dict[str, Any]:
        layout = terminal_measurements(circuit)
        if not layout.single_run:
            raise SimulationError("--statevector: this circuit measures or resets mid-circuit (or has classically "
                                  "controlled gates), so it has no single final state; drop --statevector for "
                                  "its exact distribution")
        unmeasured = without_terminal_measurements(circuit)
        state = qtandem.statevector(unmeasured, dtype=self.dtype).detach()
        probs = (state.real ** 2 + state.imag ** 2).to(torch.float64)
        total = int((probs > EPS).sum())
        k = min(self.opts.top, total)
        order = torch.argsort(probs, descending=True, stable=True)[:k].tolist()
        n = circuit.n_qubits
        rows = [{"state": format(i, f"0{n}b") if n else "", "real": float(state[i].real),
                 "imag": float(state[i].imag), "probability": float(probs[i])} for i in order]
        return {"mode": "statevector", "method": "statevector",
                "method_reason": "the noiseless final state; measurements at the end are left out",
                "bits": bits_info(circuit, qubits=True), "amplitudes": rows, "shown": len(rows), "total": total}

    def expval(self, circuit: Circuit, text: str) -> dict[str, Any]:
        obs = PauliSum.from_string(text)
        if obs.num_qubits > circuit.n_qubits:
            raise ObservableError(f"--expval {text!r} acts on qubit {obs.num_qubits - 1} but the circuit has "
                                  f"{circuit.n_qubits} qubits")
        if not obs.is_hermitian():
            raise ObservableError(f"--expval {text!r} is not Hermitian (complex coefficients): its expectation "
                                  "value is not a measured quantity")
        out: dict[str, Any] = {"mode": "expval", "observable": str(obs)}
        unmeasured = without_terminal_measurements(circuit)
        if self.noise is None and not self.opts.shots and terminal_measurements(unmeasured).single_run:
            value = float(qtandem.expval(unmeasured, obs, dtype=self.dtype))
            out.update(method="statevector", method_reason="no noise, no --shots: exact, on one state vector",
                       expval=value)
            return out
        constant = sum(c.real for c, w in obs.terms if not w)
        groups = PauliSum({w: c for c, w in obs.terms if w}).group_commuting("qubitwise")
        value, variance, methods = constant, 0.0, set()
        readout = False
        for k, group in enumerate(groups):
            basis, letters = basis_circuit(circuit, group)
            name = "basis " + " ".join(f"{p}{q}" for q, p in letters)
            compiled, model = self.prepare(basis, name)
            readout = readout or (model is not None and _has_readout(model))
            offset = circuit.n_clbits
            if self.opts.shots:
                methods.add(self._sample_method(compiled, model))
                result = self._sample(compiled, model, seed=basis_seed(self.opts.seed, k))
                bits = result.bits[:, offset:offset + len(letters)].astype(np.int64)
                per_shot = pauli_values(group, letters, bits)
                value += float(per_shot.mean())
                variance += float(per_shot.var(ddof=1)) / len(per_shot) if len(per_shot) > 1 else 0.0
            else:
                methods.add(self._exact_method(compiled, model))
                dist = qtandem.distribution(compiled, noise=model, dtype=self.dtype)
                keys = list(dist)
                width = compiled.n_clbits
                bits = np.array([[int(key[width - 1 - (offset + j)]) for j in range(len(letters))] for key in keys],
                                dtype=np.int64).reshape(len(keys), len(letters))
                probs = np.array([dist[key] for key in keys], dtype=np.float64)
                value += float(probs @ pauli_values(group, letters, bits))
        method, reason = sorted(methods)[0] if methods else ("none", "the observable is a constant")
        out.update(method=method, method_reason=reason, expval=value)
        if self.opts.shots:
            out.update(stderr=math.sqrt(variance), shots=self.opts.shots * len(groups), bases=len(groups),
                       shots_per_basis=self.opts.shots)
        if readout:
            out["readout_included"] = True
        return out


# -- helpers -----------------------------------------------------------------------------


def want_progress(shots: int, n_qubits: int, stream: Any) -> bool:
    """Show a progress bar: long sampling (``shots x qubits`` >= :data:`PROGRESS_WORK`) seen on a terminal.

    Examples:
        >>> import io
        >>> want_progress(10**6, 20, io.StringIO())      # not a terminal
        False
    """
    isatty = getattr(stream, "isatty", None)
    return shots * max(n_qubits, 1) >= PROGRESS_WORK and bool(isatty is not None and isatty())


def _has_readout(model: Any) -> bool:
    return bool(getattr(model, "readout", None) or getattr(model, "default_readout", None))


def bits_info(circuit: Circuit, *, qubits: bool) -> dict[str, Any]:
    """How outcomes are written: the registers, most significant first, and the bit order (stated once).

    Examples:
        >>> bits_info(Circuit(3, 3, cregs=[("a", 1), ("b", 2)]).measure_all(), qubits=False)["label"]
        'b[1..0] a[0], bit 0 rightmost'
        >>> bits_info(Circuit(2), qubits=False)["label"]
        'q[1..0] (no classical bits: every qubit measured), qubit 0 rightmost'
    """
    measured = terminal_measurements(circuit).any_measure
    if qubits or not measured:
        width = circuit.n_qubits if qubits else max(circuit.n_qubits, circuit.n_clbits)
        regs = circuit.qregs if width == circuit.n_qubits else [("q", width)]
        note = "" if qubits else (" (no classical bits: every qubit measured)" if not circuit.n_clbits
                                  else " (nothing measured: qubit i into bit i)")
        order = ", qubit 0 rightmost"
    else:
        regs, note, order = circuit.cregs, "", ", bit 0 rightmost"
    parts = [f"{name}[{size - 1}..0]" if size > 1 else f"{name}[0]" for name, size in reversed(regs) if size]
    if not parts:
        return {"label": "(no qubits, no classical bits)", "registers": [], "widths": []}
    return {"label": " ".join(parts) + note + order, "registers": [{"name": n, "size": s} for n, s in regs],
            "widths": [s for _, s in reversed(regs) if s]}


def problem_text(head: str, problems: list[str], fix: str) -> str:
    """A refusal listing ``problems`` (at most :data:`MAX_PROBLEMS`) and what to do."""
    lines = [f"{head} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines += [f"  - {p}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"  ... and {len(problems) - MAX_PROBLEMS} more")
    lines.append(fix)
    return "\n".join(lines)


def parse_params(items: list[str], names: list[str]) -> dict[str | Parameter, float]:
    """``--param name=value`` items as a mapping; every input parameter must be bound."""
    values: dict[str | Parameter, float] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"--param expects name=value, got {item!r}")
        key, _, val = item.partition("=")
        try:
            values[key.strip()] = float(val)
        except ValueError:
            raise ParameterError(f"--param {key}: {val!r} is not a number") from None
    unknown = [k for k in values if k not in names]
    if unknown:
        raise ParameterError(f"--param {unknown[0]}: the circuit has no such parameter (it has {names or 'none'})")
    missing = [n for n in names if n not in values]
    if missing:
        raise ParameterError(f"the circuit has input parameter(s) {missing}: bind them with --param name=value")
    return values


def load_noise(spec: str) -> Noise:
    """A device preset name, a device JSON file or a noise-model JSON file."""
    from qtandem.device import load_noise_source

    kind, model, device = load_noise_source(spec)
    return Noise(spec, kind, model, device)


# -- compiling for a device ---------------------------------------------------------------------


def compile_for(circuit: Circuit, device: Any, *, seed: int) -> tuple[Circuit, Any, dict[str, Any]]:
    """``(compiled circuit, its noise model, report)`` (:func:`qtandem.compile.prepare_for_device`).

    The compiled circuit acts on the physical qubits it uses, renumbered; its noise
    model is that of the device restricted to them (``report["physical_qubits"]``).
    """
    from qtandem.compile import prepare_for_device

    compiled, report = prepare_for_device(circuit, device, seed=seed)
    model = device.subset(report["physical_qubits"]).noise_model() if report["changed"] else device.noise_model()
    return compiled, model, report
