"""The loop's built-in workloads: GHZ fidelity (``"ghz"``) and the LiH VQE energy (``"vqe_lih"``).

Each compiles with the device the pipeline *believes* (:func:`compile_for_device`: noise-aware
layout and routing, then the believed coherent errors cancelled in every one-qubit run), runs on
the executor (the hardware), and mitigates readout with the believed readout errors. A stale
belief hurts three ways: routing picks qubits that have decayed, over-rotations that appeared are
not cancelled, and the readout inversion uses the wrong confusion matrices.

Examples:
    >>> from qtandem.device import Device
    >>> from qtandem.device.executors import simulator_executor
    >>> dev = Device.preset("line_5")
    >>> res = GHZWorkload(3).run(dev, simulator_executor(dev, seed=1), shots=2000, seed=0)
    >>> res.name, 0.8 < res.value <= 1.05, sorted(res.observations)
    ('ghz3', True, ['parity_shots', 'z_bits'])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.codesign.stages import WorkloadResult, register_workload
from qtandem.errors import ConfigError

if TYPE_CHECKING:
    from qtandem.device import Device
    from qtandem.device.executors import Executor

__all__ = ["GHZWorkload", "VQEWorkload", "compile_for_device", "counts_to_bits", "fast_corrections", "ghz_circuit",
           "readout_estimate"]


def ghz_circuit(n_qubits: int) -> Circuit:
    """``(|0...0> + |1...1>) / sqrt(2)`` by ``h`` and a chain of ``cx`` (no measurements).

    Examples:
        >>> ghz_circuit(3).count_ops()
        {'h': 1, 'cx': 2}
    """
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 2:
        raise ConfigError(f"workload.n_qubits: a GHZ state needs an integer >= 2, got {n_qubits!r}")
    c = Circuit(n_qubits, name=f"ghz{n_qubits}")
    c.h(0)
    for i in range(n_qubits - 1):
        c.cx(i, i + 1)
    return c


def compile_for_device(circuit: Circuit, device: Device, *, seed: int = 0,
                       corrections: bool = True) -> tuple[Circuit, dict[str, Any]]:
    """The loop's compile stage: lay out, route and translate for ``device``, then cancel its coherent errors.

    :func:`qtandem.compile.prepare_for_device` picks the layout by expected success
    probability under ``device``'s calibration (so a stale calibration can pick decayed
    qubits), routes and translates to native gates. With ``corrections`` every one-qubit
    run is then resynthesized from ``device``'s faulty ``sx`` pulses
    (:func:`qtandem.compile.passes.corrections.resynthesize`, the first step of
    :func:`qtandem.compile.correct_for_device`; the full pass, with its density-matrix
    judging and proof, takes about a minute on 10 qubits, too slow inside a loop).

    Args:
        circuit: the logical circuit (measurements, if any, at the end; without any, each
            qubit ``v`` is measured into bit ``v``).
        device: the device the pipeline believes.
        seed: layout and routing seed.
        corrections: cancel the believed ``sx``/``x`` over-rotations.

    Returns:
        ``(compiled, report)``: the compiled circuit on the *device's* qubit indices (full
        width, so any executor of the device runs it) and
        :func:`~qtandem.compile.prepare_for_device`'s report (``physical_qubits``,
        ``final_layout``, ...; ``final_layout`` in device indices too).

    Examples:
        >>> from qtandem.device import Device
        >>> out, rep = compile_for_device(ghz_circuit(3), Device.preset("line_5"))
        >>> out.n_qubits, rep["physical_qubits"], sorted(out.count_ops())   # the best three qubits
        (5, [2, 3, 4], ['cx', 'measure', 'rz', 'sx'])
    """
    from qtandem.compile import prepare_for_device

    compact, report = prepare_for_device(circuit, device, seed=seed)
    phys = [int(p) for p in report["physical_qubits"]]
    if corrections:
        compact = fast_corrections(compact, device.subset(phys))
    full = Circuit(device.num_qubits, compact.n_clbits, name=circuit.name)
    for inst in compact:
        full.append(inst.replace(qubits=tuple(phys[q] for q in inst.qubits)))
    report = dict(report)
    report["final_layout"] = [phys[i] for i in report["final_layout"]]
    report["initial_layout"] = [phys[i] for i in report["initial_layout"]]
    return full, report


def fast_corrections(circuit: Circuit, device: Device, *, model: Any = None) -> Circuit:
    """``device``'s coherent errors cancelled in ``circuit`` (native gates, device indices), without proof.

    The steps of :func:`qtandem.compile.correct_for_device` that cost little: two-qubit
    over-rotations paired and frame-flipped (Pauli-string tracking), every one-qubit run
    resynthesized from faulty ``sx`` pulses, idle detuning phases and static-ZZ phases next
    to basis-state partners cancelled by virtual ``rz``. Left out: ZZ echoes, the
    density-matrix judging and the equivalence proof, which take about a minute on 10
    qubits (tested against the full pass in tests/codesign/test_codesign_loop_stages.py).
    ``model``: ``CoherentModel.of(device)`` when the caller already has it.

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> dev.qubits[0].sx_angle_error = 0.05
        >>> from qtandem.compile.correct import coherent_infidelity
        >>> c = Circuit(1).sx(0).rz(0.4, 0).sx(0)
        >>> coherent_infidelity(fast_corrections(c, dev), dev, reference=c) < 1e-12 < coherent_infidelity(c, dev)
        True
    """
    from qtandem.compile import correct as cc
    from qtandem.compile.passes.corrections import flip_gates, pair_two_qubit_errors, resynthesize

    model = model if model is not None else cc.CoherentModel.of(device)
    report = cc.CorrectionReport()
    flips, _stuck, _pairs = pair_two_qubit_errors(circuit, model)
    out = resynthesize(flip_gates(circuit, flips), model, report)
    out = cc._frames(out, model, report)
    if any(model.zz.values()) and circuit.n_qubits <= 16:
        out, _ = cc._zz_frames(out, model, mean=False)
    return out


def counts_to_bits(counts: Mapping[str, int], n_bits: int) -> np.ndarray:
    """Per-shot classical bits, ``(shots, n_bits)`` bool, column ``v`` = classical bit ``v``
    (the rightmost character of a key is bit 0), shots grouped by outcome in key order.

    Examples:
        >>> counts_to_bits({"01": 2, "10": 1}, 2).astype(int).tolist()
        [[1, 0], [1, 0], [0, 1]]
    """
    rows = [np.array([key[-1 - v] == "1" for v in range(n_bits)], dtype=bool) for key in sorted(counts)]
    reps = [int(counts[key]) for key in sorted(counts)]
    if not rows:
        return np.zeros((0, n_bits), dtype=bool)
    out: np.ndarray = np.repeat(np.stack(rows), reps, axis=0)
    return out


def readout_estimate(bits: np.ndarray, qubits: Sequence[int], device: Device | None,
                     phis: Mapping[int, Sequence[float]]) -> np.ndarray:
    """Per-shot values of ``prod_q phi_q(b_q)`` with ``device``'s readout errors inverted (``None``: raw).

    ``bits[:, j]`` is the readout of device qubit ``qubits[j]``; the mean of the result is
    the readout-mitigated expectation (:meth:`qtandem.mitigate.readout.ReadoutModel.apply`,
    tensored matrices from ``readout_p01``/``readout_p10``).

    Examples:
        >>> from qtandem.device import Device
        >>> dev = Device.preset("line_5")
        >>> dev.qubits[0].readout_p01, dev.qubits[0].readout_p10 = 0.1, 0.1
        >>> bits = np.array([[0]] * 9 + [[1]], dtype=bool)
        >>> round(float(readout_estimate(bits, [0], dev, {0: [1, -1]}).mean()), 6)  # 0.8 read -> 1.0
        1.0
    """
    if device is None:
        out = np.ones(bits.shape[0])
        for j, q in enumerate(qubits):
            if q in phis:
                out = out * np.asarray(phis[q], dtype=float)[bits[:, j].astype(np.int64)]
        return out
    from qtandem.mitigate.readout import ReadoutModel

    singles = {}
    for q in qubits:
        p01, p10 = float(device.qubits[q].readout_p01), float(device.qubits[q].readout_p10)
        singles[int(q)] = [[1 - p01, p10], [p01, 1 - p10]]
    model = ReadoutModel.tensored(singles, source="believed device")
    return model.apply(list(qubits), {int(q): np.asarray(v, dtype=float) for q, v in phis.items()},
                       bits.astype(np.int64))


class GHZWorkload:
    """The fidelity of an ``n``-qubit GHZ state, from the workload's own shots.

    ``F = (P(0...0) + P(1...1)) / 2 + Re rho(0...0, 1...1)``: the populations from one
    Z-basis setting, the coherence from ``K`` parity settings (``K`` the smallest odd number
    above ``n``): each qubit measured along ``cos(phi_j) X + sin(phi_j) Y`` with
    ``phi_j = 2 pi j / K``, whose parity is ``2 Re(rho01 exp(i n phi_j))`` plus terms of
    other frequencies ``n - 2w`` that the discrete Fourier sum ``rho01 = sum_j <P_j>
    exp(-i n phi_j) / K`` cancels exactly (``K`` odd and ``> n``). Every estimate is
    readout-mitigated with the *believed* device's readout errors; ``details`` keeps the
    raw fidelity too.

    Args:
        n_qubits: GHZ size (>= 2).
        corrections: cancel the believed coherent errors when compiling.
        name: the result's name (default ``"ghz<n>"``).

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.device.executors import simulator_executor
        >>> dev = Device.preset("line_5")
        >>> w = GHZWorkload(2)
        >>> r = w.run(dev, simulator_executor(dev, seed=2), shots=1600, seed=1)
        >>> abs(r.error - (1 - r.value)) < 1e-12, r.details["settings"]
        (True, 4)
    """

    def __init__(self, n_qubits: int = 10, *, corrections: bool = True, name: str = "") -> None:
        ghz_circuit(n_qubits)  # validates
        self.n_qubits = int(n_qubits)
        self.corrections = bool(corrections)
        self.name = name or f"ghz{n_qubits}"

    @property
    def n_phases(self) -> int:
        """``K``: the smallest odd number above ``n``."""
        k = self.n_qubits + 1
        return k if k % 2 else k + 1

    def circuits(self, device: Device, *, seed: int = 0) -> tuple[list[Circuit], list[int]]:
        """The Z-basis circuit then the ``K`` parity circuits, compiled for ``device``, and the
        device qubit read into each classical bit.

        Examples:
            >>> from qtandem.device import Device
            >>> cs, qubits = GHZWorkload(3).circuits(Device.preset("line_5"))   # K = 5 phases
            >>> len(cs), sorted(qubits)
            (6, [2, 3, 4])
        """
        compiled, report = compile_for_device(ghz_circuit(self.n_qubits), device, seed=seed,
                                              corrections=False)
        body = Circuit(compiled.n_qubits, self.n_qubits, name=compiled.name)
        for inst in compiled:
            if inst.name != "measure":
                body.append(inst)
        final = [int(q) for q in report["final_layout"]]
        out = []
        for j in range(self.n_phases + 1):
            c = body.copy()
            c.name = f"{self.name}_{'z' if not j else f'phase{j - 1}'}"
            if j:
                phi = 2 * math.pi * (j - 1) / self.n_phases
                for q in final:  # H rz(-phi) in native gates: rz(pi/2) sx rz(pi/2) after rz(-phi)
                    c.rz(_wrap(math.pi / 2 - phi), q).sx(q).rz(math.pi / 2, q)
            for v, q in enumerate(final):
                c.measure(q, v)
            out.append(c)
        if self.corrections:
            from qtandem.compile.correct import CoherentModel

            model = CoherentModel.of(device)  # builds the noise model: once for every setting
            out = [fast_corrections(c, device, model=model) for c in out]
        return out, final

    def run(self, device: Device, executor: Executor, *, shots: int, seed: int) -> WorkloadResult:
        """Compile for ``device``, run ``shots`` shots in all (split evenly over the settings) on ``executor``.

        Examples:
            >>> from qtandem.device import Device
            >>> from qtandem.device.executors import simulator_executor
            >>> dev = Device.preset("line_5")
            >>> GHZWorkload(2).run(dev, simulator_executor(dev), shots=400, seed=0).shots
            400
        """
        from qtandem.device.executors import accepts_seed

        circuits, qubits = self.circuits(device, seed=seed)
        per = max(1, int(shots) // len(circuits))
        results = executor(circuits, per, seed=seed) if accepts_seed(executor) else executor(circuits, per)
        bits = [counts_to_bits(r, self.n_qubits) for r in results]
        values: dict[str, float] = {}
        parity_shots = np.stack([readout_estimate(b, qubits, None, {q: [1.0, -1.0] for q in qubits})
                                 for b in bits[1:]], axis=1)
        for label, belief in (("raw", None), ("mitigated", device)):
            p0 = readout_estimate(bits[0], qubits, belief, {q: [1.0, 0.0] for q in qubits}).mean()
            p1 = readout_estimate(bits[0], qubits, belief, {q: [0.0, 1.0] for q in qubits}).mean()
            k = self.n_phases
            par = np.array([readout_estimate(b, qubits, belief, {q: [1.0, -1.0] for q in qubits}).mean()
                            for b in bits[1:]])
            rho01 = complex(np.sum(par * np.exp(-1j * self.n_qubits * 2 * np.pi * np.arange(k) / k)) / k)
            values[f"fidelity_{label}"] = float((p0 + p1) / 2 + rho01.real)
            values[f"coherence_{label}"] = float(2 * abs(rho01))
            values[f"populations_{label}"] = float(p0 + p1)
        fid = values["fidelity_mitigated"]
        return WorkloadResult(
            self.name, fid, abs(1.0 - fid), per * len(circuits),
            {"z_bits": bits[0], "parity_shots": parity_shots},
            {**values, "error_raw": abs(1.0 - values["fidelity_raw"]), "settings": len(circuits),
             "qubits": list(qubits), "shots_per_setting": per,
             "labels": {"z_bits": [f"q{q}" for q in qubits],
                        "parity_shots": [f"phase{j}" for j in range(self.n_phases)]}})

    def __repr__(self) -> str:
        return f"GHZWorkload(n_qubits={self.n_qubits}, corrections={self.corrections})"


def _wrap(angle: float) -> float:
    return float(math.remainder(angle, 2 * math.pi))


def _ghz_factory(**options: Any) -> GHZWorkload:
    return GHZWorkload(**options)


register_workload("ghz", _ghz_factory)


class VQEWorkload:
    """The LiH ground-state energy from a VQE state on the device: ``|E - E_exact|``.

    The problem: LiH (bond ``bond`` angstrom, STO-3G) in an active space of ``active``
    (electrons, orbitals), Jordan-Wigner mapped; ``E_exact`` is the lowest eigenvalue of its
    qubit Hamiltonian (the active space's FCI). The state: the UCCSD (Givens) ansatz at the
    parameters a noiseless VQE finds (classical, once per workload: the loop tests what the
    device does to a known-good state, not the optimizer). On the device each qubit-wise
    commuting group of the Hamiltonian is one circuit (state, basis change, measurement),
    compiled for the believed device (:func:`compile_for_device`, corrections included) and
    readout-mitigated with the believed readout errors; ``shots`` are split evenly over the groups.

    Args:
        active: ``(electrons, orbitals)`` of the active space (``(2, 2)``: 4 qubits).
        bond: the Li-H distance in angstrom.
        corrections: cancel the believed coherent errors when compiling.
        zne: also run every group with each ``cx`` tripled (``cx cx cx = cx``: its incoherent
            noise three times) and extrapolate linearly to zero noise, ``E = (3 E_1 - E_3) / 2``
            (readout-mitigated energies; twice the circuits, same total ``shots``).
        name: the result's name (default ``"vqe_lih"``).

    Examples:
        >>> VQEWorkload(active=(2, 2), bond=1.6)
        VQEWorkload(active=(2, 2), bond=1.6)
        >>> VQEWorkload(active=(2, 0))
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: workload.active: (electrons, orbitals) positive integers, got (2, 0)
    """

    def __init__(self, active: tuple[int, int] | list[int] = (2, 2), bond: float = 1.595, *,
                 corrections: bool = True, zne: bool = False, name: str = "vqe_lih") -> None:
        if len(active) != 2 or not all(isinstance(a, int) and a > 0 for a in active):
            raise ConfigError(f"workload.active: (electrons, orbitals) positive integers, got {active!r}")
        if not isinstance(bond, int | float) or not 0.5 <= float(bond) <= 5.0:
            raise ConfigError(f"workload.bond: a Li-H distance in angstrom in [0.5, 5], got {bond!r}")
        self.active = (int(active[0]), int(active[1]))
        self.bond = float(bond)
        self.corrections = bool(corrections)
        self.zne = bool(zne)
        self.name = name
        self._prepared: dict[str, Any] | None = None

    def prepare(self) -> dict[str, Any]:
        """The problem, the exact energy, the noiseless VQE state circuit and the measurement groups (cached;
        PySCF and a noiseless VQE: about 4 s the first time).

        Examples:
            >>> p = VQEWorkload().prepare()  # doctest: +SKIP
            >>> p["n_qubits"], abs(p["vqe_energy"] - p["exact_energy"]) < 1e-6  # doctest: +SKIP
            (4, True)
            >>> callable(VQEWorkload.prepare)
            True
        """
        if self._prepared is None:
            from qtandem.chem import Molecule
            from qtandem.chem.grouping import measurement_groups
            from qtandem.chem.vqe import vqe

            problem = Molecule(f"Li 0 0 0; H 0 0 {self.bond}").problem(active=self.active, references="none")
            h = problem.hamiltonian
            exact = float(np.linalg.eigvalsh(h.to_matrix(problem.n_qubits).numpy())[0])
            res = vqe(problem, "uccsd", optimizer="bfgs", seed=0, compile_level=1)
            constant = float(sum(c.real for c, w in h.terms if not w))
            self._prepared = {"problem": problem, "n_qubits": problem.n_qubits, "exact_energy": exact,
                              "vqe_energy": float(res.energy), "state": res.circuit, "constant": constant,
                              "groups": measurement_groups(h, "qubitwise", problem.n_qubits)}
        return self._prepared

    def run(self, device: Device, executor: Executor, *, shots: int, seed: int) -> WorkloadResult:
        """Estimate the energy on ``executor`` (the hardware) with ``device`` as the believed model.

        Examples:
            >>> from qtandem.device import Device
            >>> from qtandem.device.executors import simulator_executor
            >>> dev = Device.preset("line_5")
            >>> res = VQEWorkload().run(dev, simulator_executor(dev, seed=0), shots=900, seed=0)  # doctest: +SKIP
            >>> res.details["groups"]  # doctest: +SKIP
            9
            >>> callable(VQEWorkload.run)
            True
        """
        from qtandem.device.executors import accepts_seed

        prep = self.prepare()
        n = prep["n_qubits"]
        circuits, layouts = [], []
        model = None
        if self.corrections:
            from qtandem.compile.correct import CoherentModel

            model = CoherentModel.of(device)
        scales = (1, 3) if self.zne else (1,)
        for g in prep["groups"]:
            c = Circuit(n, n, name=f"{self.name}_group")
            for inst in prep["state"]:
                c.append(inst)
            for inst in g.circuit:
                c.append(inst)
            for v in range(n):
                c.measure(v, v)
            compiled, _ = compile_for_device(c, device, seed=seed, corrections=False)
            for scale in scales:
                folded = compiled
                if scale > 1:
                    folded = Circuit(compiled.n_qubits, compiled.n_clbits, name=f"{compiled.name}_x{scale}")
                    for inst in compiled:
                        for _ in range(scale if inst.name == "cx" else 1):
                            folded.append(inst)
                if model is not None:
                    folded = fast_corrections(folded, device, model=model)
                circuits.append(folded)
                layouts.append(_measured_qubits(folded, n))
        per = max(1, int(shots) // len(circuits))
        results = executor(circuits, per, seed=seed) if accepts_seed(executor) else executor(circuits, per)
        energies: dict[str, float] = {}
        observations: dict[str, np.ndarray] = {}
        labels: dict[str, list[str]] = {}
        groups = [g for g in prep["groups"] for _ in scales]
        scale_of = [sc for _ in prep["groups"] for sc in scales]
        for label, belief in (("raw", None), ("mitigated", device)):
            for scale in scales:
                e = prep["constant"]
                for k, (g, counts, qubits) in enumerate(zip(groups, results, layouts, strict=True)):
                    if scale_of[k] != scale:
                        continue
                    bits = counts_to_bits(counts, n)
                    if label == "raw" and scale == 1:
                        observations[f"group{k // len(scales)}"] = bits
                        labels[f"group{k // len(scales)}"] = [f"q{q}" for q in qubits]
                    for (coef, _), mask, sign in zip(g.strings, g.masks, g.signs, strict=True):
                        phis = {qubits[v]: [1.0, -1.0] for v in range(n) if mask >> v & 1}
                        e += coef.real * sign * float(readout_estimate(bits, qubits, belief, phis).mean())
                energies[f"{label}_x{scale}"] = float(e)
        value = energies["mitigated_x1"]
        if self.zne:
            value = (3 * energies["mitigated_x1"] - energies["mitigated_x3"]) / 2
        exact = prep["exact_energy"]
        used = sorted({q for qs in layouts for q in qs})
        return WorkloadResult(self.name, value, abs(value - exact), per * len(circuits), observations,
                              {"energy_raw": energies["raw_x1"], "error_raw": abs(energies["raw_x1"] - exact),
                               "energy_readout_mitigated": energies["mitigated_x1"],
                               "error_readout_mitigated": abs(energies["mitigated_x1"] - exact),
                               "energies": energies, "exact_energy": exact, "groups": len(prep["groups"]),
                               "circuits": len(circuits), "qubits": used, "labels": labels,
                               "shots_per_circuit": per})

    def __repr__(self) -> str:
        return f"VQEWorkload(active={self.active}, bond={self.bond}{', zne=True' if self.zne else ''})"


def _measured_qubits(circuit: Circuit, n_bits: int) -> list[int]:
    """The device qubit measured into each classical bit ``0..n_bits-1``."""
    out = [-1] * n_bits
    for inst in circuit:
        if inst.name == "measure":
            out[inst.clbits[0]] = inst.qubits[0]
    return out


def _vqe_factory(**options: Any) -> VQEWorkload:
    if "active" in options:
        options["active"] = tuple(options["active"])
    return VQEWorkload(**options)


register_workload("vqe_lih", _vqe_factory)
