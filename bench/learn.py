"""Learning a hidden device from its shots: qtandem.learn against qiskit-experiments (issue 15, section 4).

Both methods run on the same simulated physics: qiskit-experiments through
``bench/learn_backend.py`` (a Qiskit BackendV2 whose ``run()`` executes on qtandem's noisy
simulator of the hidden Device), qtandem through ``plan.run(executor)`` with the same kind of
executor (``qtandem.learn.simulator_executor``; fresh, independently seeded shots).

Parts (``--parts``):

* ``anchor``: qiskit-experiments' ``FineSXAmplitude`` on one qubit whose ``sx`` over-rotates
  by 0.03 rad (no other noise): mean absolute error of ``d_theta`` at 100 and 1,000 shots per
  circuit, and at 10,000 with amplitude damping gamma = 0.002 after each ``sx``. It checks that
  the backend reproduces the issue's numbers (0.0014, 0.0005, ~0.0009).
* ``compare``: hidden ``Device.random(5, "line", seed=s)`` devices. For each device and total
  budget B (shots per parameter set), qiskit-experiments runs one experiment per parameter set:
  per qubit T1, T2Ramsey, T2Hahn, FineSXAmplitude and StandardRB, LocalReadoutError on the
  five qubits, InterleavedRB (cx) per coupling: 5*5 + 1 + 4 = 30 experiments, each with
  ``B // n_circuits`` shots per circuit. Shot accounting: qtandem gets the SAME total (the
  sum of what qiskit-experiments actually ran) spread evenly over its characterization plan
  (``total // n_plan_circuits`` shots per circuit), then ``calibrate`` fits everything jointly.
  Both get the same published numbers as prior knowledge (the backend's Target: T1, T2, gate
  errors, durations, readout; no angle errors, detuning or ZZ): qiskit-experiments' delay
  grids are set from them, qtandem's plan and fit take them as ``prior``.
  Truth: the hidden device's fields (T1; T2 for both T2* and T2 echo: the simulated dephasing
  is Markovian; ``sx_angle_error``; ``readout_p01``/``p10``), and for RB/IRB the average gate
  infidelity of the hidden device's own ``sx`` / ``cx`` channel (computed from its noise
  model, coherent part included); qtandem's RB/IRB-comparable numbers are the same
  infidelities of its fitted device.
  Error: median over (seeds x qubits or couplings) of |estimate - truth| / |truth|.
  Ratios: qiskit-experiments' median error / qtandem's at equal shots, and the shots ratio at
  equal error (qiskit-experiments' error-vs-shots curve interpolated in log-log at qtandem's
  error; beyond the measured range only a bound, ``>R`` or ``<R``).
* ``loop``: closing the loop. The device fitted at the largest budget predicts held-out random
  circuits (5 qubits, native gates, 10^4 shots): TVD between a 10^4-shot sample of the fitted
  model and one of the true device, against the floor TVD between two independent 10^4-shot
  samples of the true device; target ratio <= 1.5.

Everything is seeded. ``--quick`` runs a smoke configuration (2 seeds, small budgets).
Run under the CPU lock: ``flock /tmp/qtandem-cpu.lock python bench/learn.py --json bench/results/learn.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from learn_backend import DistributionExecutor, QtandemBackend, noise_executor
from qtandem import Circuit
from qtandem.device import Device

Executor = Callable[[Sequence[Circuit], int], list[dict[str, int]]]

GROUPS = ("t1", "t2_ramsey", "t2_echo", "sx_angle_error", "readout_p01", "readout_p10", "sx_error", "cx_error")
LABELS = {"t1": "T1", "t2_ramsey": "T2* (Ramsey)", "t2_echo": "T2 (echo)", "sx_angle_error": "sx angle error",
          "readout_p01": "readout p01", "readout_p10": "readout p10", "sx_error": "sx error (RB EPG)",
          "cx_error": "cx error (IRB)"}


# -- the hidden device and what is published ------------------------------------------------------
def hidden_device(seed: int, n: int = 5, *, damping_t1: float | None = None) -> Device:
    """The hidden truth: ``Device.random(n, "line", seed=seed)`` (optionally with every T1 set to ``damping_t1``)."""
    dev = Device.random(n, "line", seed=seed)
    if damping_t1 is not None:
        for q in dev.qubits:
            q.t1 = damping_t1
            q.t2 = min(q.t2, 2 * damping_t1)
    return dev


def published(dev: Device) -> Device:
    """What a backend publishes: T1, T2, gate errors, durations, readout; coherent errors zeroed."""
    pub = copy.deepcopy(dev)
    for q in pub.qubits:
        for name in ("detuning", "sx_angle_error", "x_angle_error"):
            if hasattr(q, name):
                setattr(q, name, 0.0)
    for e in pub.edges.values():
        for name in ("angle_error", "zz"):
            if hasattr(e, name):
                setattr(e, name, 0.0)
    if hasattr(pub, "readout_correlations"):
        pub.readout_correlations = {}
    pub.name = f"{dev.name}_published"
    return pub


def default_executor(dev: Device, seed: int) -> Executor:
    """The hidden device's shots: exact distributions on the touched qubits, cached, sampled (seeded)."""
    return DistributionExecutor(dev, seed=seed)


# -- truth: average gate infidelity of a device's own noisy gate ---------------------------------
_STATES = {"0": np.array([1, 0], complex), "1": np.array([0, 1], complex),
           "+": np.array([1, 1], complex) / math.sqrt(2), "-": np.array([1, -1], complex) / math.sqrt(2),
           "r": np.array([1, 1j], complex) / math.sqrt(2), "l": np.array([1, -1j], complex) / math.sqrt(2)}
_PAULI_PROJ = {"I": [("0", 1.0), ("1", 1.0)], "X": [("+", 1.0), ("-", -1.0)],
               "Y": [("r", 1.0), ("l", -1.0)], "Z": [("0", 1.0), ("1", -1.0)]}
_PAULI = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
          "Z": np.diag([1.0, -1.0])}


def gate_infidelity(dev: Device, gate: str, qubits: tuple[int, ...]) -> float:
    """1 - average gate fidelity of ``dev``'s noisy ``gate`` on ``qubits`` (coherent part included).

    The channel is probed on the device restricted to ``qubits`` (no idle neighbours): the
    entanglement fidelity ``F = sum_P Tr(U P U^dag E(P)) / d^3`` from E applied to products of
    Pauli eigenstates, then ``1 - (d F + 1) / (d + 1)``.
    """
    import itertools

    sub = dev.subset(list(qubits))
    model = sub.noise_model(idle=False, readout=False, strict=False)
    k = len(qubits)
    d = 2**k
    circ = Circuit(k)
    getattr(circ, gate)(*range(k))
    u = circ.to_matrix().numpy()
    cache: dict[tuple[str, ...], np.ndarray] = {}

    def evolve(labels: tuple[str, ...]) -> np.ndarray:
        if labels not in cache:
            psi = np.ones(1, complex)
            for lab in reversed(labels):  # qubit k-1 is the most significant factor
                psi = np.kron(psi, _STATES[lab])
            rho = np.outer(psi, psi.conj())
            cache[labels] = model.density_matrix(circ, initial_state=torch.tensor(rho)).detach().numpy()
        return cache[labels]

    total = 0.0
    for paulis in itertools.product("IXYZ", repeat=k):
        p = np.ones((1, 1), complex)
        for lab in reversed(paulis):
            p = np.kron(p, _PAULI[lab])
        target = u @ p @ u.conj().T
        for combo in itertools.product(*[_PAULI_PROJ[lab] for lab in paulis]):
            sign = float(np.prod([s for _, s in combo]))
            total += sign * float(np.real(np.trace(target @ evolve(tuple(lab for lab, _ in combo)))))
    f_pro = total / d**3
    return 1.0 - (d * f_pro + 1.0) / (d + 1.0)


def truth(dev: Device) -> dict[str, float]:
    out: dict[str, float] = {}
    for i, q in enumerate(dev.qubits):
        out[f"q{i}.t1"] = q.t1
        out[f"q{i}.t2_ramsey"] = q.t2
        out[f"q{i}.t2_echo"] = q.t2
        out[f"q{i}.sx_angle_error"] = q.sx_angle_error
        out[f"q{i}.readout_p01"] = q.readout_p01
        out[f"q{i}.readout_p10"] = q.readout_p10
        out[f"q{i}.sx_error"] = gate_infidelity(dev, "sx", (i,))
    for (a, b) in sorted(dev.edges):
        out[f"e{a}-{b}.cx_error"] = gate_infidelity(dev, "cx", (a, b))
    return out


# -- qiskit-experiments ----------------------------------------------------------------------------
def _rb_lengths_1q() -> list[int]:
    return [1, 50, 100, 200, 400, 700, 1000]


def _rb_lengths_2q() -> list[int]:
    return [1, 5, 10, 20, 35, 50, 75]


def peer_experiments(pub: Device, seed: int, *, quick: bool = False,
                     only: set[str] | None = None) -> list[tuple[str, Any]]:
    """(parameter-set name, qiskit-experiments experiment) for every parameter set, with stated settings.

    Delay grids come from the published T1/T2 (what a user of the backend would do):
    T1: 20 delays in [0, 3 T1]; T2Ramsey: 30 delays in [0, 1.5 T2] with ``osc_freq`` giving
    4 oscillations over the grid; T2Hahn: 20 total delays in [0, 2 T2], one echo;
    FineSXAmplitude: its default 14 repetition counts; LocalReadoutError: 2 circuits on all
    qubits; StandardRB: lengths 1..1000 (7), 5 samples; InterleavedRB (cx): lengths 1..75 (7),
    5 samples (70 circuits).
    """
    from qiskit.circuit.library import CXGate
    from qiskit_experiments.library import (
        T1,
        FineSXAmplitude,
        InterleavedRB,
        LocalReadoutError,
        StandardRB,
        T2Hahn,
        T2Ramsey,
    )

    unit = 1e-9
    n_samples = 2 if quick else 5
    out: list[tuple[str, Any]] = []
    for i, q in enumerate(pub.qubits):
        t1, t2 = q.t1 * unit, q.t2 * unit
        out.append((f"q{i}.t1", T1((i,), np.linspace(0.0, 3 * t1, 20))))
        ramsey_span = 1.5 * t2
        out.append((f"q{i}.t2_ramsey", T2Ramsey((i,), np.linspace(0.0, ramsey_span, 30),
                                                osc_freq=4.0 / ramsey_span)))
        out.append((f"q{i}.t2_echo", T2Hahn((i,), np.linspace(0.0, 2 * t2, 20), num_echoes=1)))
        out.append((f"q{i}.sx_angle_error", FineSXAmplitude((i,))))
        out.append((f"q{i}.rb", StandardRB((i,), _rb_lengths_1q(), num_samples=n_samples, seed=seed * 1000 + i)))
    out.append(("readout", LocalReadoutError(list(range(pub.num_qubits)))))
    for (a, b) in sorted(pub.edges):
        out.append((f"e{a}-{b}.irb", InterleavedRB(CXGate(), (a, b), _rb_lengths_2q(), num_samples=n_samples,
                                                   seed=seed * 1000 + 100 + a)))
    return [(name, exp) for name, exp in out if only is None or name.rsplit(".", 1)[-1] in only]


def _value(data: Any, name: str) -> float:
    frame = data.analysis_results(name, dataframe=True)
    v = frame.iloc[0].value
    return float(getattr(v, "nominal_value", v))


def run_peer(dev: Device, budget: int, seed: int, executor: Executor, *, quick: bool = False,
             transpiled: dict[str, Any] | None = None,
             only: set[str] | None = None) -> tuple[dict[str, float], int, float]:
    """qiskit-experiments on the hidden ``dev``: (estimates, shots spent, seconds).

    ``transpiled`` caches each experiment's transpiled circuits across budgets (same seeds, same circuits).
    """
    pub = published(dev)
    backend = QtandemBackend(pub, executor=executor)
    est: dict[str, float] = {}
    t0 = time.perf_counter()
    for name, exp in peer_experiments(pub, seed, quick=quick, only=only):
        exp.backend = backend
        if transpiled is not None:
            if name not in transpiled:
                transpiled[name] = exp._transpiled_circuits()
            exp._transpiled_circuits = lambda name=name: transpiled[name]  # type: ignore[method-assign]
        n_circ = len(exp.circuits())
        shots = max(1, budget // n_circ)
        exp.set_run_options(shots=shots)
        try:
            data = exp.run(backend_run=True).block_for_results()
            _collect(name, data, est, pub)
        except Exception as err:
            print(f"  qiskit-experiments {name} failed: {type(err).__name__}: {err}", file=sys.stderr)
    return est, backend.shots_used, time.perf_counter() - t0


def _collect(name: str, data: Any, est: dict[str, float], pub: Device) -> None:
    if name.endswith(".t1"):
        est[name] = _value(data, "T1") * 1e9
    elif name.endswith(".t2_ramsey"):
        est[name] = _value(data, "T2star") * 1e9
    elif name.endswith(".t2_echo"):
        est[name] = _value(data, "T2") * 1e9
    elif name.endswith(".sx_angle_error"):
        est[name] = _value(data, "d_theta")
    elif name.endswith(".rb"):
        est[name.replace(".rb", ".sx_error")] = _value(data, "EPG_sx")
    elif name.endswith(".irb"):
        est[name.replace(".irb", ".cx_error")] = _value(data, "EPC")
    elif name == "readout":
        mitigator = data.analysis_results("Local Readout Mitigator", dataframe=True).iloc[0].value
        for i in range(pub.num_qubits):
            a = np.asarray(mitigator.assignment_matrix(i))  # a[meas, prep]
            est[f"q{i}.readout_p01"] = float(a[1, 0])
            est[f"q{i}.readout_p10"] = float(a[0, 1])


# -- qtandem.learn -----------------------------------------------------------------------------------
def run_qtandem(dev: Device, total_shots: int, seed: int, executor: Executor,
                experiments: list[str] | None = None, restarts: int = 3, *, readout: str = "single",
                allocate: str = "circuit", amplify: str = "poles",
                spectators: bool = False) -> tuple[dict[str, float], int, float, Any]:
    """characterization + calibrate on the hidden ``dev`` with ``total_shots`` in all: (estimates, shots, s, cal).

    ``readout``, ``amplify``, ``spectators`` and ``allocate`` are ``characterization(readout=, amplify=,
    spectators=)`` and ``plan.allocate(by=)``.
    """
    from qtandem.learn import characterization
    from qtandem.learn.calibrate import calibrate

    pub = published(dev)
    n = dev.num_qubits
    t0 = time.perf_counter()
    needs_pairs = experiments is None or any(e in ("amplify_cx", "zz", "irb") for e in experiments)
    plan = characterization(list(range(n)), pairs=sorted(dev.edges) if needs_pairs else None,
                            experiments=experiments, seed=seed, prior=pub, readout=readout, amplify=amplify,
                            spectators=spectators)
    shots = plan.allocate(total_shots, by=allocate)
    data = plan.run(executor, shots, seed=seed)
    cal = calibrate(data, prior=pub, seed=seed, restarts=restarts)
    fitted = cal.device()  # base: the published prior plus the joint readout matrices the data measured
    v = cal.values
    est: dict[str, float] = {}
    for i in range(n):
        for key, field in (("t1", "t1"), ("t2_ramsey", "t2"), ("t2_echo", "t2"), ("sx_angle_error", "sx_angle_error"),
                           ("readout_p01", "readout_p01"), ("readout_p10", "readout_p10")):
            if f"q{i}.{field}" in v:
                est[f"q{i}.{key}"] = float(v[f"q{i}.{field}"])
        if experiments is None or "rb" in experiments:
            est[f"q{i}.sx_error"] = gate_infidelity(fitted, "sx", (i,))
    if experiments is None or "irb" in experiments:
        for (a, b) in sorted(dev.edges):
            est[f"e{a}-{b}.cx_error"] = gate_infidelity(fitted, "cx", (a, b))
    return est, sum(shots), time.perf_counter() - t0, fitted


# -- comparison --------------------------------------------------------------------------------------
def group_of(key: str) -> str:
    return key.split(".", 1)[1]


def rel_errors(est: dict[str, float], true: dict[str, float]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {g: [] for g in GROUPS}
    present = {group_of(k) for k in est}  # a group the method did not run is left out, a failed fit is inf
    for key, t in true.items():
        g = group_of(key)
        if g not in out:
            continue
        e = est.get(key)
        if e is None and g not in present:
            continue
        out[g].append(float("inf") if e is None or not math.isfinite(e) else abs(e - t) / abs(t))
    return out


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def shots_ratio(budgets: list[int], peer: list[float | None], ours: list[float | None]) -> list[str | None]:
    """Per budget: qiskit-experiments' shots for qtandem's error at that budget, over the budget.

    Interpolated in log-log on qiskit-experiments' measured error-vs-shots curve. Where qtandem's
    error lies outside that curve's range the ratio is only bounded: ``">R"`` when
    qiskit-experiments never got that low within the measured budgets (R = largest budget /
    this budget), ``"<R"`` when it was never that high (R = smallest budget / this budget).
    """
    pts = [(math.log(b), math.log(e)) for b, e in zip(budgets, peer, strict=True)
           if e is not None and 0 < e < float("inf")]
    if len(pts) < 2:
        return [None] * len(budgets)
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    out: list[str | None] = []
    for b, e in zip(budgets, ours, strict=True):
        if e is None or not 0 < e < float("inf"):
            out.append(None)
        elif math.log(e) < ys.min():
            out.append(f">{math.exp(xs.max()) / b:.3g}")
        elif math.log(e) > ys.max():
            out.append(f"<{math.exp(xs.min()) / b:.3g}")
        else:
            # the first crossing along increasing shots: the fewest shots reaching qtandem's error
            y = math.log(e)
            x = xs[0]
            for k in range(len(xs) - 1):
                lo, hi = ys[k], ys[k + 1]
                if min(lo, hi) <= y <= max(lo, hi):
                    x = xs[k] if hi == lo else xs[k] + (y - lo) * (xs[k + 1] - xs[k]) / (hi - lo)
                    break
            else:
                x = float(xs[int(np.argmin(np.abs(ys - y)))])
            out.append(f"{math.exp(x) / b:.3g}")
    return out


# -- anchor ------------------------------------------------------------------------------------------
def run_anchor(seeds: int) -> list[dict[str, Any]]:
    import networkx as nx
    from qiskit_experiments.library import FineSXAmplitude

    from qtandem.device import QubitProperties
    from qtandem.noise import NoiseModel, amplitude_damping, coherent_rotation

    graph = nx.Graph()
    graph.add_node(0)
    dev = Device("anchor_1q", 1, graph, ["sx", "x", "rz", "measure"],
                 [QubitProperties(t1=100e3, t2=100e3, gate_duration_1q=35.6)], {})
    rows = []
    for gamma, shots in ((0.0, 100), (0.0, 1000), (0.0, 10000), (0.002, 1000), (0.002, 10000)):
        model = NoiseModel().add(coherent_rotation("x", 0.03), gates=["sx"]).set_ideal(["rz"])
        if gamma:
            model.add(amplitude_damping(gamma), gates=["sx"])
        errs = []
        t0 = time.perf_counter()
        for s in range(seeds):
            backend = QtandemBackend(dev, executor=noise_executor(model, seed=s))
            exp = FineSXAmplitude((0,), backend=backend)
            exp.set_run_options(shots=shots)
            data = exp.run(backend_run=True).block_for_results()
            errs.append(abs(_value(data, "d_theta") - 0.03))
        rows.append({"gamma": gamma, "shots_per_circuit": shots, "circuits": backend.circuits_run,
                     "seeds": seeds, "mae": float(np.mean(errs)), "median_abs_error": float(np.median(errs)),
                     "seconds": time.perf_counter() - t0})
        print(f"anchor FineSXAmplitude gamma={gamma} shots/circuit={shots}: MAE {rows[-1]['mae']:.5f} rad "
              f"(median {rows[-1]['median_abs_error']:.5f}, {seeds} seeds)", flush=True)
    return rows


# -- T1 design information -------------------------------------------------------------------------
def run_t1_fisher(seeds: list[int]) -> dict[str, Any]:
    """Fisher information per shot about log T1 of the two T1 designs on the hidden qubits (no shots).

    qiskit-experiments' grid (20 linear delays on [0, 3 T1] from the published T1, which is the true
    one) against qtandem's plan (12 delays, robust to a prior off by 3x either way), readout error the
    qubit's mean of p01 and p10 (:func:`qtandem.learn.experiments.decay_information`). The
    per-parameter-set comparison gives qtandem's T1 circuits 12/110 of 11 B = 1.2 B shots against
    B: the predicted error ratio at the Cramer-Rao bound is sqrt(1.2 I_qtandem / I_qiskit).
    """
    from qtandem.learn.experiments import decay_information, default_xs

    per: list[tuple[float, float]] = []
    for seed in seeds:
        dev = hidden_device(seed)
        pub = published(dev)
        for q, props in enumerate(dev.qubits):
            r = (props.readout_p01 + props.readout_p10) / 2
            grid = [float(t) for t in np.linspace(0.0, 3 * pub.qubits[q].t1, 20)]
            mine = default_xs("t1", (q,), pub)
            per.append((decay_information(grid, props.t1, readout=r) / len(grid),
                        decay_information(mine, props.t1, readout=r) / len(mine)))
    peer, ours = (statistics.mean(x) for x in zip(*per, strict=True))
    out = {"seeds": seeds, "info_per_shot_qiskit": peer, "info_per_shot_qtandem": ours,
           "predicted_error_ratio_equal_shots": math.sqrt(ours / peer),
           "predicted_error_ratio_per_parameter_set": math.sqrt(1.2 * ours / peer)}
    print(f"T1 Fisher information per shot about log T1: qiskit-experiments grid {peer:.3f}, qtandem plan {ours:.3f}; "
          f"predicted error ratio qiskit/qtandem at the bound: {out['predicted_error_ratio_equal_shots']:.2f} at equal "
          f"T1 shots, {out['predicted_error_ratio_per_parameter_set']:.2f} with the comparison's split", flush=True)
    return out


# -- readout p01 diagnostic -------------------------------------------------------------------------
def run_readout_diag(seeds: list[int], budgets: list[int], restarts: int,
                     save: Callable[[list[dict[str, Any]]], None] = lambda rows: None) -> list[dict[str, Any]]:
    """Why qtandem's p01 error is above LocalReadoutError's in the per-parameter-set comparison.

    On qtandem's own data of that comparison (readout, t1, amplify_sx on 5 qubits, the total of
    11 qiskit-experiments parameter sets spread evenly per circuit), three estimates of every
    qubit's p01: the plain binomial count of its ``|0>`` readout circuit, the ML fit of the readout
    experiments alone (``model="readout"``) and the joint ML fit; plus the shots behind each count
    (qtandem's ``|0>`` circuit against LocalReadoutError's, which reads all five qubits at once).
    """
    from qtandem.learn import characterization
    from qtandem.learn.calibrate import calibrate

    rows: list[dict[str, Any]] = []
    for seed in seeds:
        dev = hidden_device(seed)
        pub = published(dev)
        executor = default_executor(dev, seed=10_000 + seed)
        for budget in budgets:
            plan = characterization(list(range(dev.num_qubits)), experiments=["readout", "t1", "amplify_sx"],
                                    seed=seed, prior=pub)
            shots = 11 * budget // len(plan.circuits)
            data = plan.run(executor, shots, seed=seed)
            joint = calibrate(data, prior=pub, seed=seed, restarts=restarts)
            alone = calibrate(data, prior=pub, seed=seed, restarts=restarts, model="readout")
            for exp, counts, _ in data.experiments():
                if exp.name != "readout":
                    continue
                q = exp.qubits[0]
                t = dev.qubits[q].readout_p01
                count = counts[0].get("1", 0) / sum(counts[0].values())
                key = f"q{q}.readout_p01"
                rows.append({"seed": seed, "budget_per_parameter_set": budget, "qubit": q, "truth": t,
                             "qtandem_zero_shots": shots, "qiskit_zero_shots": budget // 2,
                             "count": count, "ml_readout_only": alone.values[key], "ml_joint": joint.values[key],
                             "ml_joint_stderr": joint.stderr.get(key)})
                r = rows[-1]
                print(f"seed {seed} B {budget} q{q}: truth {t:.5f} count {count:.5f} ML readout-only "
                      f"{r['ml_readout_only']:.5f} ML joint {r['ml_joint']:.5f}", flush=True)
            save(rows)
    for budget in budgets:
        sel = [r for r in rows if r["budget_per_parameter_set"] == budget]
        med = {k: statistics.median(abs(r[k] - r["truth"]) / r["truth"] for r in sel)
               for k in ("count", "ml_readout_only", "ml_joint")}
        print(f"B {budget}: median relative p01 error: count {med['count']:.4f}, ML readout only "
              f"{med['ml_readout_only']:.4f}, ML joint {med['ml_joint']:.4f} ({sel[0]['qtandem_zero_shots']} shots "
              f"in qtandem's |0> circuit, {sel[0]['qiskit_zero_shots']} in LocalReadoutError's)", flush=True)
    return rows


# -- closing the loop --------------------------------------------------------------------------------
def random_circuit(n: int, layers: int, seed: int, edges: list[tuple[int, int]]) -> Circuit:
    """A random native circuit: layers of rz(random) sx rz(random) on every qubit, cx on alternating couplings."""
    rng = np.random.default_rng(seed)
    c = Circuit(n, n)
    for layer in range(layers):
        for q in range(n):
            c.rz(float(rng.uniform(-math.pi, math.pi)), q).sx(q).rz(float(rng.uniform(-math.pi, math.pi)), q)
        for a, b in edges[layer % 2::2]:
            c.cx(a, b) if rng.random() < 0.5 else c.cx(b, a)
    c.measure(list(range(n)), list(range(n)))
    return c


def tvd(a: dict[str, int], b: dict[str, int]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def run_loop(dev: Device, fitted: Device, seed: int, n_circuits: int, shots: int = 10_000) -> dict[str, Any]:
    edges = sorted(dev.edges)
    circuits = [random_circuit(dev.num_qubits, 4, 1000 * seed + k, edges) for k in range(n_circuits)]
    true_device = default_executor(dev, seed=30_000 + seed)
    true_a = true_device(circuits, shots)
    true_b = true_device(circuits, shots)  # fresh draws from the same exact distributions
    model = default_executor(fitted, seed=50_000 + seed)(circuits, shots)
    floor = [tvd(a, b) for a, b in zip(true_a, true_b, strict=True)]
    pred = [tvd(m, a) for m, a in zip(model, true_a, strict=True)]
    ratios = [p / f for p, f in zip(pred, floor, strict=True)]
    return {"seed": seed, "floor_tvd": floor, "model_tvd": pred, "ratio": ratios,
            "median_ratio": statistics.median(ratios)}


# -- main --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="anchor,compare,loop")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budgets", default="10000,100000,1000000", help="total shots per parameter set")
    ap.add_argument("--anchor-seeds", type=int, default=20)
    ap.add_argument("--loop-circuits", type=int, default=10)
    ap.add_argument("--damping-t1", type=float, default=None,
                    help="set every hidden T1 to this (ns): the damping + over-rotation case")
    ap.add_argument("--methods", default="qiskit,qtandem")
    ap.add_argument("--peer-only", default=None,
                    help="qiskit-experiments parameter sets (t1,t2_ramsey,t2_echo,sx_angle_error,rb,readout,irb)")
    ap.add_argument("--qtandem-experiments", default=None, help="qtandem plan experiments (default: all)")
    ap.add_argument("--restarts", type=int, default=3, help="calibrate's restarts")
    ap.add_argument("--readout", default="single", choices=("single", "parallel"),
                    help="qtandem plan: characterization(readout=)")
    ap.add_argument("--amplify", default="poles", choices=("equator", "poles"),
                    help="qtandem plan: characterization(amplify=), the amplify_sx counts")
    ap.add_argument("--spectators", action="store_true",
                    help="qtandem plan: characterization(spectators=True), idle uncoupled qubits read in every "
                         "one-qubit circuit (their shots pooled into readout p01)")
    ap.add_argument("--allocate", default="circuit", choices=("circuit", "experiment"),
                    help="qtandem shots: plan.allocate(total, by=)")
    ap.add_argument("--whole-device", action="store_true",
                    help="the whole-device comparison: qiskit-experiments T1, T2Ramsey, T2Hahn, FineSXAmplitude per "
                         "qubit and LocalReadoutError (each B shots); qtandem readout (parallel), t1, ramsey, echo, "
                         "amplify_sx over the same total, shots split evenly per experiment, one joint fit")
    ap.add_argument("--loop-experiments", default=None,
                    help="loop part: fit a separate calibration from these experiments (30 x the largest budget)")
    ap.add_argument("--quick", action="store_true", help="smoke configuration: 2 seeds, budgets 2000,20000")
    ap.add_argument("--json", default=None)
    ap.add_argument("--summarize", nargs="+", default=None, metavar="JSON",
                    help="no runs: merge the compare runs (and loops) of these result files, print tables, plot")
    ap.add_argument("--plot", default=None)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    if args.summarize:
        return summarize_files(args.summarize, args.json, args.plot)
    if args.whole_device:
        args.peer_only = "t1,t2_ramsey,t2_echo,sx_angle_error,readout"
        args.qtandem_experiments = args.qtandem_experiments or "readout,t1,ramsey,echo,amplify_sx"
        args.readout, args.allocate = "parallel", "experiment"
    if args.quick:
        args.seeds, args.anchor_seeds, args.loop_circuits = 2, 2, 2
        args.budgets = "2000,20000"
    parts = set(args.parts.split(","))
    methods = set(args.methods.split(","))
    budgets = [int(float(b)) for b in args.budgets.split(",")]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    only = set(args.peer_only.split(",")) if args.peer_only else None
    qt_exps = args.qtandem_experiments.split(",") if args.qtandem_experiments else None
    result: dict[str, Any] = {"config": vars(args), "platform": platform.platform(),
                              "python": platform.python_version()}
    try:
        import qiskit_experiments

        result["qiskit_experiments"] = qiskit_experiments.__version__
    except ImportError:
        print("qiskit-experiments is not installed (pip install -e .[bench])", file=sys.stderr)
        return 2

    if "anchor" in parts:
        result["anchor"] = run_anchor(args.anchor_seeds)
        _save(result, args.json)

    if "t1_fisher" in parts:
        result["t1_fisher"] = run_t1_fisher(seeds)
        _save(result, args.json)
    if "readout_diag" in parts:
        def save_diag(rows: list[dict[str, Any]]) -> None:
            result["readout_diag"] = rows
            _save(result, args.json)

        save_diag(run_readout_diag(seeds, budgets, args.restarts, save_diag))

    fitted_at_max: dict[int, Device] = {}
    if "compare" in parts:
        runs: list[dict[str, Any]] = []
        result["runs"] = runs
        for seed in seeds:
            dev = hidden_device(seed, damping_t1=args.damping_t1)
            true = truth(dev)
            executor = default_executor(dev, seed=10_000 + seed)  # one cache of exact distributions per device
            transpiled: dict[str, Any] = {}
            for budget in budgets:
                row: dict[str, Any] = {"seed": seed, "budget_per_parameter_set": budget}
                total = None
                if "qiskit" in methods:
                    est, used, secs = run_peer(dev, budget, seed, executor, quick=args.quick, transpiled=transpiled,
                                               only=only)
                    row["qiskit"] = {"estimates": est, "shots": used, "seconds": secs,
                                     "rel_errors": rel_errors(est, true)}
                    total = used
                if "qtandem" in methods:
                    total = total or budget * 30
                    est, used, secs, fitted = run_qtandem(dev, total, seed, executor, qt_exps, args.restarts,
                                                          readout=args.readout, allocate=args.allocate,
                                                          amplify=args.amplify, spectators=args.spectators)
                    row["qtandem"] = {"estimates": est, "shots": used, "seconds": secs,
                                      "rel_errors": rel_errors(est, true)}
                    if budget == max(budgets):
                        fitted_at_max[seed] = fitted
                row["truth"] = true
                runs.append(row)
                msg = " ".join(f"{m}: {row[m]['shots']} shots {row[m]['seconds']:.0f} s" for m in ("qiskit", "qtandem")
                               if m in row)
                print(f"seed {seed} budget {budget}: {msg}", flush=True)
                _save(result, args.json)
        result["summary"] = summarize(runs, budgets)
        print_tables(result["summary"], budgets)
        _save(result, args.json)
        if args.plot:
            plot(result["summary"], budgets, args.plot)
    if "loop" in parts and args.loop_experiments:
        for seed in seeds:
            dev = hidden_device(seed, damping_t1=args.damping_t1)
            _, used, secs, fitted_at_max[seed] = run_qtandem(
                dev, 30 * max(budgets), seed, default_executor(dev, seed=60_000 + seed),
                args.loop_experiments.split(","), args.restarts, amplify=args.amplify, spectators=args.spectators)
            print(f"loop calibration seed {seed}: {used} shots, {secs:.0f} s", flush=True)
    if "loop" in parts and fitted_at_max:
        loops = []
        for seed, fitted in fitted_at_max.items():
            loops.append(run_loop(hidden_device(seed, damping_t1=args.damping_t1), fitted, seed,
                                  args.loop_circuits))
            print(f"loop seed {seed}: median TVD ratio {loops[-1]['median_ratio']:.2f}", flush=True)
        all_ratios = [r for lp in loops for r in lp["ratio"]]
        result["loop"] = {"runs": loops, "median_ratio": statistics.median(all_ratios),
                          "share_within_1.5": sum(r <= 1.5 for r in all_ratios) / len(all_ratios)}
        print(f"closing the loop: median TVD(model, true)/TVD(true, true) = {result['loop']['median_ratio']:.2f}, "
              f"{100 * result['loop']['share_within_1.5']:.0f}% of circuits within 1.5x")
        _save(result, args.json)
    return 0


def summarize_files(paths: list[str], out: str | None, plot_path: str | None) -> int:
    """Merge the ``runs`` and ``loop`` of several result files (chunks of seeds), then tables and plot."""
    runs: list[dict[str, Any]] = []
    loops: list[dict[str, Any]] = []
    for path in paths:
        with open(path) as fh:
            part = json.load(fh)
        runs += part.get("runs", [])
        loops += part.get("loop", {}).get("runs", [])
    budgets = sorted({r["budget_per_parameter_set"] for r in runs})
    result: dict[str, Any] = {"sources": paths, "seeds": sorted({r["seed"] for r in runs}),
                              "summary": summarize(runs, budgets)}
    print_tables(result["summary"], budgets)
    if loops:
        ratios = [r for lp in loops for r in lp["ratio"]]
        result["loop"] = {"seeds": [lp["seed"] for lp in loops], "circuits": len(ratios),
                          "median_floor_tvd": statistics.median(t for lp in loops for t in lp["floor_tvd"]),
                          "median_model_tvd": statistics.median(t for lp in loops for t in lp["model_tvd"]),
                          "median_ratio": statistics.median(ratios),
                          "share_within_1.5": sum(r <= 1.5 for r in ratios) / len(ratios)}
        print(f"closing the loop ({len(ratios)} circuits): median TVD ratio {result['loop']['median_ratio']:.2f}, "
              f"{100 * result['loop']['share_within_1.5']:.0f}% within 1.5x")
    _save(result, out)
    if plot_path:
        plot(result["summary"], budgets, plot_path)
    return 0


def _both(row: dict[str, Any], group: str) -> bool:
    """Both methods estimated ``group`` in this run (only such runs enter the comparison)."""
    return all(m in row and row[m]["rel_errors"].get(group) for m in ("qiskit", "qtandem"))


def summarize(runs: list[dict[str, Any]], budgets: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"budgets": budgets, "groups": {}}
    for g in GROUPS:
        entry: dict[str, Any] = {}
        for m in ("qiskit", "qtandem"):
            meds, shots = [], []
            for b in budgets:
                errs = [e for r in runs if r["budget_per_parameter_set"] == b and _both(r, g)
                        for e in r[m]["rel_errors"].get(g, [])]
                meds.append(_median(errs))
            entry["seeds"] = len({r["seed"] for r in runs if _both(r, g)})
            for b in budgets:
                sh = [r[m]["shots"] for r in runs if r["budget_per_parameter_set"] == b and m in r]
                shots.append(statistics.mean(sh) if sh else None)
            entry[m] = {"median_rel_error": meds, "mean_total_shots": shots}
        if "qiskit" in entry and "qtandem" in entry:
            p, q = entry["qiskit"]["median_rel_error"], entry["qtandem"]["median_rel_error"]
            entry["error_ratio"] = [None if a is None or b is None or b == 0 else a / b
                                    for a, b in zip(p, q, strict=True)]
            entry["shots_ratio"] = shots_ratio(budgets, p, q)
        out["groups"][g] = entry
    return out


def print_tables(summary: dict[str, Any], budgets: list[int]) -> None:
    head = "| parameter | seeds | " + " | ".join(
        f"B={b:.0e} qiskit-exp / qtandem (err ratio; shots ratio)" for b in budgets)
    print(head + " |")
    print("|---|---:|" + "---|" * len(budgets))
    for g, e in summary["groups"].items():
        cells = []
        for i in range(len(budgets)):
            p, q = e["qiskit"]["median_rel_error"][i], e["qtandem"]["median_rel_error"][i]
            r = e.get("error_ratio", [None] * len(budgets))[i]
            s = e.get("shots_ratio", [None] * len(budgets))[i]
            cells.append(f"{_fmt(p)} / {_fmt(q)} ({_fmt(r, 2)}x; {s or '-'})")
        print(f"| {LABELS[g]} | {e.get('seeds', '-')} | " + " | ".join(cells) + " |")


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "-"
    if x == float("inf"):
        return "inf"
    return f"{x:.{digits}g}"


def plot(summary: dict[str, Any], budgets: list[int], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(14, 6.5), sharex=True)
    for ax, (g, e) in zip(axes.flat, summary["groups"].items(), strict=False):
        for m, style in (("qiskit", "o--"), ("qtandem", "s-")):
            ys = e[m]["median_rel_error"]
            pts = [(b, y) for b, y in zip(budgets, ys, strict=True) if y is not None and y < float("inf")]
            if pts:
                ax.loglog(*zip(*pts, strict=True), style, label="qiskit-experiments" if m == "qiskit" else "qtandem")
        ax.set_title(LABELS[g], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("shots per parameter set")
    for ax in axes[:, 0]:
        ax.set_ylabel("median relative error")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _save(result: dict[str, Any], path: str | None) -> None:
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(result, fh, indent=1, default=float)
        os.replace(tmp, path)


if __name__ == "__main__":
    raise SystemExit(main())
