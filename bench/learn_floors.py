"""Why some of qtandem.learn's errors stop falling as 1/sqrt(shots), and where both tools sit at their bound.

Issue 15's open questions, each a part (``--parts``), all on the hidden devices of ``bench/learn.py``
(``Device.random(5, "line", seed=s)``, truth known):

* ``p10``: no runs. Readout p10 in the whole-device comparison (``bench/results/learn_device_s*.json``
  before the optimizer fix, ``learn_device_conv_s*.json`` after it): per budget the median relative
  error, the mean of estimate - truth, the mean of ``sin^2(e_x / 2)`` (the population an over-rotated
  ``x`` pulse leaves in ``|0>``: the whole-device plan has no ``amplify_x``, so its fit puts the x
  pulse's error into p10), the spread, and the median error once that part is taken out.
* ``bound``: no shots. Cramer-Rao bounds of the whole-device comparison at each budget B, per hidden
  qubit, for T1, T2 (Ramsey), the sx angle, readout p01 and p10:
  qtandem: the expected Fisher information of its one-qubit share of the plan (readout, T1, Ramsey, echo,
  sx amplification, 21 B / 22 shots per experiment, the fitted parameters of the joint fit, the
  hidden device's other numbers fixed) at the true values, inverted (nuisance parameters included).
  qiskit-experiments: its own models at its own designs, at the true values: T1 ``A exp(-t/T1) + B``
  (20 delays on [0, 3 T1], B / 20 shots each), T2Ramsey ``A exp(-t/T2) cos(2 pi f t + phi) + B`` (30
  delays on [0, 1.5 T2]), FineSXAmplitude ``amp / 2 cos((pi / 2 + d_theta) n - pi) + base`` (its 14
  repetition counts), LocalReadoutError a count of B / 2 shots per qubit and state.
  The median over qubits of 0.674 x the bound's standard deviation / truth is the median relative error
  an efficient estimator reaches; its ratio between the tools is the ratio at the bound.
* ``sx_design``: no shots. The sx angle's bound (qtandem's joint model, as ``bound``) for other
  ``amplify_sx`` counts: with circuits at the pole (``4k + 2``) that show the contrast, and deeper;
  ``rule_poles`` is ``characterization(amplify="poles")``'s rule from the prior.
* ``spectators``: no shots. Readout p01 at the bound if every one-qubit circuit of the whole-device plan
  also read the qubits not coupled to its own (idle in ``|0>``: each such shot is a p01 draw), against
  the plan as it is and LocalReadoutError: the one legitimate route past LocalReadoutError's count at
  equal total shots (not implemented in the plan).
* ``cap``: the whole-device fit (seed, budget ``--rb-budget``) with calibrate's old 300-iteration cap and
  with the current optimizer, same shots: how much a second optimisation from each result still lowers the
  NLL, and the readout p10 errors.
* ``rb``: the RB sx error (per-experiment comparison: readout, rb, irb). qtandem's estimate is the
  fitted device's sx infidelity with no angle errors in its model: coherent errors of ``sx`` and ``x``
  (both in the Clifford words) become depolarizing. Fits with the published prior and with the true
  sx/x angles in the prior (an oracle), same data; relative error of the sx infidelity per qubit.
* ``loop_diag``: why the whole-device fit misses the held-out target (issue 15, section 4: random 5-qubit
  circuits, 10^4 shots, TVD within 1.5x of the true device's two-sample floor). Per seed: the whole-device
  calibration at ``--rb-budget`` per parameter set (``--loop-plan whole``: readout in parallel, T1, Ramsey, echo,
  amplify_sx at the poles; ``pairs`` adds amplify_x, amplify_cx, zz and the pair readout), then the loop's
  held-out circuits with exact distributions: the model's bias TVD(model, true), and the loop ratio's expectation
  (``--loop-reps`` independent shot draws per circuit) for the fitted device and for the fitted device with the
  truth put back one group of numbers at a time (readout, readout correlations, one-qubit coherent, one-qubit
  incoherent, cx angle, cx error, ZZ): the group whose truth brings the ratio down is what the fit is missing.

Run (lane lock): ``flock /tmp/qt_lane_a.lock python bench/learn_floors.py --parts bound --json
bench/results/learn_floors_bound.json``.
"""

from __future__ import annotations

import argparse
import copy
import glob
import json
import math
import os
import statistics
import sys
import time
import warnings
from typing import Any

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from learn import default_executor, gate_infidelity, hidden_device, published

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
Z50 = 0.6744897501960817  # median of |N(0, 1)|


# -- p10: what the whole-device fits put into readout p10 ----------------------------------------------
def p10_table(pattern: str) -> dict[str, Any]:
    rows: dict[int, dict[str, list[float]]] = {}
    for path in sorted(glob.glob(os.path.join(RESULTS, pattern))):
        with open(path) as fh:
            runs = json.load(fh).get("runs", [])
        for run in runs:
            seed, budget = int(run["seed"]), int(run["budget_per_parameter_set"])
            dev = hidden_device(seed)
            est, truth = run["qtandem"]["estimates"], run["truth"]
            r = rows.setdefault(budget, {"diff": [], "x": [], "truth": [], "peer": []})
            for i, q in enumerate(dev.qubits):
                key = f"q{i}.readout_p10"
                if key not in est:
                    continue
                r["diff"].append(est[key] - truth[key])
                r["x"].append(math.sin(q.x_angle_error / 2) ** 2)
                r["truth"].append(truth[key])
                if "qiskit" in run and key in run["qiskit"]["estimates"]:
                    r["peer"].append(abs(run["qiskit"]["estimates"][key] - truth[key]) / truth[key])
    out: dict[str, Any] = {}
    for budget in sorted(rows):
        a: dict[str, np.ndarray] = {k: np.asarray(v) for k, v in rows[budget].items()}
        rel = np.abs(a["diff"]) / a["truth"]
        out[str(budget)] = {
            "qubits": len(rel), "median_rel_error": float(np.median(rel)),
            "mean_diff": float(a["diff"].mean()), "mean_sin2_half_x": float(a["x"].mean()),
            "sd_diff": float(a["diff"].std(ddof=1)),
            "median_rel_error_without_x": float(np.median(np.abs(a["diff"] - a["x"]) / a["truth"])),
            "median_rel_error_qiskit": float(np.median(a["peer"])) if len(a["peer"]) else None,
        }
    return out


# -- bound: Cramer-Rao bounds of both designs -------------------------------------------------------
_FIT = ["readout_p01", "readout_p10", "t1", "t2", "detuning", "sx_angle_error", "gate_error_1q"]


def qtandem_bound(dev: Any, q: int, budget: int, seed: int, *, spectator_shots: float = 0.0,
                  amplify: str = "equator") -> dict[str, float]:
    """Standard deviations at the Cramer-Rao bound of qtandem's joint fit, one qubit's share of the plan.

    ``amplify``: the ``amplify_sx`` counts (``"equator"``, the design of the stored
    ``learn_floors_bound.json``; ``characterization``'s default is ``"poles"`` since session 34).

    ``spectator_shots``: shots in which ``q`` idles in ``|0>`` and is read out beside another qubit's
    experiment (each a Bernoulli(p01) draw: Fisher information ``1 / (p01 (1 - p01))`` about p01 alone).
    """
    from qtandem.learn import characterization
    from qtandem.learn.likelihood import LikelihoodModel

    pub = published(dev)
    plan = characterization([q], experiments=["readout", "t1", "ramsey", "echo", "amplify_sx"], seed=seed,
                            prior=pub, width=dev.num_qubits, amplify=amplify)
    share = 21 * budget / 22  # the whole-device split: 21 B over 22 experiments
    shots = [share / len(e.circuits) for e in plan.experiments for _ in e.circuits]
    truth = copy.deepcopy(dev)
    truth.readout_correlations = {}  # one qubit at a time: no pair is read together
    names = [f"q{q}.{f}" for f in _FIT]
    lik = LikelihoodModel(names, truth, [q])
    theta = lik.theta0()
    info = _fisher(lik, plan.circuits, shots, theta)
    p01 = float(dev.qubits[q].readout_p01)
    k01 = _FIT.index("readout_p01")
    info[k01, k01] += spectator_shots / (p01 * (1 - p01))
    # a gate error below its relaxation floor carries no information (the depolarizing part clamps at 0): drop it
    keep = [i for i in range(len(_FIT)) if float(info[i, i]) > 0]
    cov = torch.linalg.inv(info[keep][:, keep])
    sd = dict.fromkeys(_FIT, math.inf)
    sd.update({_FIT[i]: math.sqrt(float(cov[k, k])) for k, i in enumerate(keep)})
    # the same with the gate error known (not a nuisance parameter): amplify_sx's circuits all sit on the equator,
    # where the angle and the contrast the gate error takes away enter nearly as a product
    known = [i for i in keep if _FIT[i] != "gate_error_1q"]
    cov = torch.linalg.inv(info[known][:, known])
    k = known.index(_FIT.index("sx_angle_error"))
    sd["sx_angle_error_gate_error_known"] = math.sqrt(float(cov[k, k]))
    return sd


def _fisher(lik: Any, circuits: list[Any], shots: list[float], theta: torch.Tensor) -> torch.Tensor:
    """``sum_c n_c J_c^T diag(1/p_c) J_c`` with central differences for J (relative steps)."""
    base = torch.cat(lik.probabilities(circuits, theta)).detach()
    cols = []
    for i in range(len(theta)):
        h = 1e-4 * max(abs(float(theta[i])), 1e-3)
        up, dn = theta.clone(), theta.clone()
        up[i] += h
        dn[i] -= h
        cols.append((torch.cat(lik.probabilities(circuits, up)) - torch.cat(lik.probabilities(circuits, dn))) / (2 * h))
    jac = torch.stack(cols, dim=1)
    sizes = [2**c.n_clbits for c in circuits]
    w = torch.cat([torch.full((s,), float(n), dtype=torch.float64) for s, n in zip(sizes, shots, strict=True)])
    w = torch.where(base > 1e-12, w / base.clamp_min(1e-12), torch.zeros_like(base))
    return jac.T @ (w[:, None] * jac)


def _curve_bound(t: np.ndarray, n_per: float, model: Any, params: np.ndarray, which: int) -> float:
    """Cramer-Rao sd of ``params[which]`` for binomial points ``P(t) = model(t, params)`` (numeric Jacobian)."""
    p = np.clip(model(t, params), 1e-9, 1 - 1e-9)
    jac = np.empty((len(t), len(params)))
    for k in range(len(params)):
        h = 1e-6 * max(abs(params[k]), 1e-6)
        up, dn = params.copy(), params.copy()
        up[k] += h
        dn[k] -= h
        jac[:, k] = (model(t, up) - model(t, dn)) / (2 * h)
    info = jac.T @ (jac * (n_per / (p * (1 - p)))[:, None])
    return float(math.sqrt(np.linalg.inv(info)[which, which]))


def peer_bound(dev: Any, q: int, budget: int) -> dict[str, float]:
    """Standard deviations at the Cramer-Rao bound of qiskit-experiments' models and designs (true values)."""
    props = dev.qubits[q]
    p01, p10 = props.readout_p01, props.readout_p10
    amp = 1 - p01 - p10
    t1, t2 = props.t1, props.t2
    grid = np.linspace(0.0, 3 * t1, 20)
    t1_sd = _curve_bound(grid, budget / 20, lambda t, a: a[0] * np.exp(-t / a[2]) + a[1],
                         np.array([amp, p01, t1]), 2)
    span = 1.5 * t2
    ramsey = np.linspace(0.0, span, 30)
    f = 4.0 / span + props.detuning / (2 * math.pi)
    t2_sd = _curve_bound(ramsey, budget / 30,
                         lambda t, a: a[0] * np.exp(-t / a[1]) * np.cos(2 * math.pi * a[2] * t + a[3]) + a[4],
                         np.array([amp / 2, t2, f, 0.0, 0.5]), 1)
    reps = np.array([0, 1, 2, 3, 5, 7, 9, 11, 13, 15, 17, 21, 23, 25], dtype=float)  # FineSXAmplitude's default
    sx_sd = _curve_bound(reps, budget / len(reps),
                         lambda n, a: a[0] / 2 * np.cos((math.pi / 2 + a[2]) * n - math.pi) + a[1],
                         np.array([amp, p01 + amp / 2, props.sx_angle_error]), 2)
    n = budget / 2
    return {"t1": t1_sd, "t2": t2_sd, "sx_angle_error": sx_sd, "readout_p01": math.sqrt(p01 * (1 - p01) / n),
            "readout_p10": math.sqrt(p10 * (1 - p10) / n)}


def run_bound(seeds: list[int], budget: int) -> list[dict[str, Any]]:
    """Per hidden qubit: bound standard deviations / truth of both tools at ``budget`` (they scale as 1/sqrt(B))."""
    rows = []
    for seed in seeds:
        dev = hidden_device(seed)
        for q, props in enumerate(dev.qubits):
            ours = qtandem_bound(dev, q, budget, seed)
            peer = peer_bound(dev, q, budget)
            rows.append({"seed": seed, "qubit": q, "budget": budget,
                         "qtandem": {**{f: ours[f] / abs(getattr(props, f)) for f in peer},
                                     "sx_angle_error_gate_error_known":
                                         ours["sx_angle_error_gate_error_known"] / abs(props.sx_angle_error)},
                         "qiskit": {f: peer[f] / abs(getattr(props, f)) for f in peer}})
        print(f"bound: seed {seed} done", flush=True)
    return rows


def run_spectators(seeds: list[int], budget: int) -> list[dict[str, Any]]:
    """p01 at the bound if every one-qubit circuit also read the qubits not coupled to its own (idle in ``|0>``).

    Whole-device split: 21 B over 22 experiments, four of them (t1, ramsey, echo, amplify_sx) per qubit; a qubit
    not coupled to ``p`` is read in all of ``p``'s shots. Coupled qubits are left out: a device's correlated
    readout is between coupled pairs, so the spectators' readout is independent of the active qubit's.
    """
    from qtandem.learn import characterization

    rows = []
    for seed in seeds:
        dev = hidden_device(seed)
        share = 21 * budget / 22
        plan = characterization(range(dev.num_qubits), experiments=["t1", "ramsey", "echo", "amplify_sx"],
                                prior=published(dev), spectators=True)
        for q, props in enumerate(dev.qubits):
            others = [p for p in range(dev.num_qubits) if p != q and not dev.coupling_map.has_edge(p, q)]
            spect = 4 * share * len(others)
            # characterization(spectators=True): spectators uncoupled to each other too, least-read first
            rule = share * sum(q in e.meta.get("spectators", []) for e in plan.experiments)
            ours = qtandem_bound(dev, q, budget, seed, spectator_shots=spect)
            ours_rule = qtandem_bound(dev, q, budget, seed, spectator_shots=rule)
            plain = qtandem_bound(dev, q, budget, seed)
            peer = peer_bound(dev, q, budget)
            rows.append({"seed": seed, "qubit": q, "budget": budget, "spectator_shots": spect,
                         "spectator_shots_plan_rule": rule,
                         "qtandem_plan_rule": {"readout_p01": ours_rule["readout_p01"] / props.readout_p01},
                         "qtandem": {"readout_p01": ours["readout_p01"] / props.readout_p01},
                         "qtandem_plain": {"readout_p01": plain["readout_p01"] / props.readout_p01},
                         "qiskit": {"readout_p01": peer["readout_p01"] / props.readout_p01}})
        print(f"spectators: seed {seed} done", flush=True)
    return rows


def summarize_spectators(rows: list[dict[str, Any]]) -> dict[str, Any]:
    peer = _median_abs_normal([r["qiskit"]["readout_p01"] for r in rows])
    out: dict[str, Any] = {"qubits": len(rows), "budget": rows[0]["budget"] if rows else None,
                           "qiskit_median_rel_error_at_bound": peer}
    for m in ("qtandem_plain", "qtandem", "qtandem_plan_rule"):
        if not all(m in r for r in rows):
            continue
        ours = _median_abs_normal([r[m]["readout_p01"] for r in rows])
        out[m] = {"median_rel_error_at_bound": ours, "ratio_at_bound": peer / ours}
    return out


def summarize_bound(rows: list[dict[str, Any]], budgets: list[int]) -> dict[str, Any]:
    """Median relative error at the bound per parameter and budget, both tools, and their ratio."""
    out: dict[str, Any] = {}
    for field in ("t1", "t2", "sx_angle_error", "readout_p01", "readout_p10"):
        out[field] = {}
        for budget in budgets:
            sd = {m: [r[m][field] * math.sqrt(r["budget"] / budget) for r in rows] for m in ("qtandem", "qiskit")}
            ours, peer = _median_abs_normal(sd["qtandem"]), _median_abs_normal(sd["qiskit"])
            out[field][str(budget)] = {"qubits": len(rows), "qtandem_median_rel_error_at_bound": ours,
                                       "qiskit_median_rel_error_at_bound": peer, "ratio_at_bound": peer / ours}
            if field == "sx_angle_error":
                known = _median_abs_normal([r["qtandem"]["sx_angle_error_gate_error_known"]
                                            * math.sqrt(r["budget"] / budget) for r in rows])
                out[field][str(budget)].update(qtandem_gate_error_known=known, ratio_gate_error_known=peer / known)
    return out


def _median_abs_normal(sds: list[float], draws: int = 4000) -> float:
    """Median over qubits and shots of |N(0, sd_i)|: what the comparison's median relative error is at the bound."""
    rng = np.random.default_rng(0)
    z = np.abs(rng.standard_normal((draws, len(sds)))) * np.asarray(sds)[None, :]
    return float(np.median(z))


# -- sx_design: the amplification design's bound ---------------------------------------------------------
SX_DESIGNS: dict[str, list[float] | str | None] = {
    "plan": "equator",  # characterization's default before session 34: 4k + 1 counts up to 29, all on the equator
    "rule_poles": "poles",  # characterization(amplify="poles"): 4k + 1 / 4k + 2 alternately up to twice the limit
    "poles": [1, 2, 5, 9, 14, 17, 25, 30],  # three of them 4k + 2 (x^(2k+1): the pole, where the contrast shows)
    "deep": [1, 5, 9, 17, 25, 33, 45, 57],
    "deep_poles": [1, 2, 9, 18, 25, 34, 45, 58],
}


def _design_sd(plan: Any, circuits_of: Any, budget: int, q: int, truth: Any, field: str) -> float:
    """Cramer-Rao sd of one fitted field of qubit ``q`` when each of ``plan``'s experiments is replaced by
    ``circuits_of(experiment)`` (21/22 of ``budget`` spread evenly over each experiment's circuits)."""
    from qtandem.learn.likelihood import LikelihoodModel

    circuits: list[Any] = []
    shots: list[float] = []
    for e in plan.experiments:
        cs = circuits_of(e)
        circuits += cs
        shots += [21 * budget / 22 / len(cs)] * len(cs)
    lik = LikelihoodModel([f"q{q}.{f}" for f in _FIT], truth, [q])
    info = _fisher(lik, circuits, shots, lik.theta0())
    keep = [i for i in range(len(_FIT)) if float(info[i, i]) > 0]
    cov = torch.linalg.inv(info[keep][:, keep])
    k = keep.index(_FIT.index(field))
    return math.sqrt(float(cov[k, k]))


def run_sx_design(seeds: list[int], budget: int) -> list[dict[str, Any]]:
    """Bound sd / |truth| of the sx angle for other ``amplify_sx`` counts (same 8 circuits, same shots)."""
    from qtandem.learn import characterization
    from qtandem.learn.experiments import build_experiment

    rows = []
    for seed in seeds:
        dev = hidden_device(seed)
        pub = published(dev)
        truth = copy.deepcopy(dev)
        truth.readout_correlations = {}
        for q in range(dev.num_qubits):
            plan = characterization([q], experiments=["readout", "t1", "ramsey", "echo", "amplify_sx"], seed=seed,
                                    prior=pub, width=dev.num_qubits, amplify="equator")
            row: dict[str, Any] = {"seed": seed, "qubit": q, "budget": budget,
                                   "qiskit": peer_bound(dev, q, budget)["sx_angle_error"] / abs(
                                       dev.qubits[q].sx_angle_error)}
            for name, xs in SX_DESIGNS.items():
                def circuits_of(e: Any, xs: Any = xs, q: int = q, dev: Any = dev, pub: Any = pub) -> list[Any]:
                    if e.name != "amplify_sx" or xs is None:
                        return list(e.circuits)
                    return list(build_experiment(
                        "amplify_sx", (q,), width=dev.num_qubits, xs=None if isinstance(xs, str) else xs, prior=pub,
                        amplify=xs if isinstance(xs, str) else "equator").circuits)
                row[name] = _design_sd(plan, circuits_of, budget, q, truth, "sx_angle_error") / abs(
                    dev.qubits[q].sx_angle_error)
            rows.append(row)
        print(f"sx_design: seed {seed} done", flush=True)
    return rows


def summarize_sx_design(rows: list[dict[str, Any]]) -> dict[str, Any]:
    peer = _median_abs_normal([r["qiskit"] for r in rows])
    out: dict[str, Any] = {"qubits": len(rows), "budget": rows[0]["budget"] if rows else None,
                           "qiskit_median_rel_error_at_bound": peer}
    for name in SX_DESIGNS:
        ours = _median_abs_normal([r[name] for r in rows])
        out[name] = {"median_rel_error_at_bound": ours, "ratio_at_bound": peer / ours}
    return out


# -- t2_design: T2's bound for other Ramsey / echo delays ---------------------------------------------------
def _t2_designs(pub: Any, q: int) -> dict[str, dict[str, list[float]]]:
    """Ramsey and echo delays to compare (same circuit counts: 20 Ramsey, 12 echo; same shots)."""
    from qtandem.learn.experiments import _DENSE, _geometric, _ramsey_rate, default_xs

    t2 = float(pub.qubits[q].t2)
    ramsey, echo = default_xs("ramsey", (q,), pub), default_xs("echo", (q,), pub)
    dt = math.pi / (2 * 2 * _ramsey_rate(pub, (q,), zz=False))  # a quarter period of the fastest fringe
    dense = [float(round(k * dt, 3)) for k in range(_DENSE)]
    to_2 = dense + _geometric(_DENSE * dt, 2.0 * t2, 20 - _DENSE) if 20 * dt < 2.0 * t2 else ramsey
    dense4 = dense[:4] + _geometric(4 * dt, 1.5 * t2, 16) if 20 * dt < 1.5 * t2 else ramsey
    near = [0.0, *_geometric(0.5 * t2, 2.0 * t2, 11)]  # trusts the prior's T2 (the worst-case rule does not)
    return {"plan": {"ramsey": ramsey, "echo": echo},
            "ramsey_to_2T2": {"ramsey": to_2, "echo": echo},
            "ramsey_dense4": {"ramsey": dense4, "echo": echo},
            "echo_near_T2": {"ramsey": ramsey, "echo": near},
            "ramsey_to_2T2_echo_near_T2": {"ramsey": to_2, "echo": near}}


def run_t2_design(seeds: list[int], budget: int) -> list[dict[str, Any]]:
    """Bound sd / truth of T2 (qtandem's joint one-qubit model, Ramsey and echo share T2) for other delays."""
    from qtandem.learn import characterization
    from qtandem.learn.experiments import build_experiment

    rows = []
    for seed in seeds:
        dev = hidden_device(seed)
        pub = published(dev)
        truth = copy.deepcopy(dev)
        truth.readout_correlations = {}
        for q in range(dev.num_qubits):
            plan = characterization([q], experiments=["readout", "t1", "ramsey", "echo", "amplify_sx"], seed=seed,
                                    prior=pub, width=dev.num_qubits)
            row: dict[str, Any] = {"seed": seed, "qubit": q, "budget": budget,
                                   "qiskit": peer_bound(dev, q, budget)["t2"] / dev.qubits[q].t2}
            for name, xs in _t2_designs(pub, q).items():
                def t2_circuits_of(e: Any, xs: Any = xs, q: int = q, dev: Any = dev, pub: Any = pub) -> list[Any]:
                    if e.name not in xs:
                        return list(e.circuits)
                    return list(build_experiment(e.name, (q,), width=dev.num_qubits, xs=xs[e.name], prior=pub).circuits)
                row[name] = _design_sd(plan, t2_circuits_of, budget, q, truth, "t2") / dev.qubits[q].t2
            rows.append(row)
        print(f"t2_design: seed {seed} done", flush=True)
    return rows


def median_ratio_spread(peer: list[float], ours: list[float], draws: int = 20_000) -> dict[str, float]:
    """Both tools efficient (errors N(0, sd) per qubit): the spread of the measured ratio of median relative
    errors over these qubits (5%, 50%, 95% and P(ratio < 1.7))."""
    rng = np.random.default_rng(0)
    zp = np.abs(rng.standard_normal((draws, len(peer)))) * np.asarray(peer)[None, :]
    zo = np.abs(rng.standard_normal((draws, len(ours)))) * np.asarray(ours)[None, :]
    r = np.median(zp, axis=1) / np.median(zo, axis=1)
    q05, q50, q95 = (float(v) for v in np.quantile(r, [0.05, 0.5, 0.95]))
    return {"q05": q05, "median": q50, "q95": q95, "p_below_1.7": float((r < 1.7).mean())}


def summarize_t2_design(rows: list[dict[str, Any]]) -> dict[str, Any]:
    peer = _median_abs_normal([r["qiskit"] for r in rows])
    out: dict[str, Any] = {"qubits": len(rows), "budget": rows[0]["budget"] if rows else None,
                           "qiskit_median_rel_error_at_bound": peer}
    for name in [k for k in rows[0] if k not in ("seed", "qubit", "budget", "qiskit")] if rows else []:
        ours = _median_abs_normal([r[name] for r in rows])
        out[name] = {"median_rel_error_at_bound": ours, "ratio_at_bound": peer / ours,
                     "measured_ratio_spread": median_ratio_spread([r["qiskit"] for r in rows], [r[name] for r in rows])}
    return out


def t2_efficiency(paths: list[str], bound_path: str) -> dict[str, Any]:
    """Measured T2* errors of both tools over their bound sd (``learn_floors_bound.json``, scaled as 1/sqrt(B)):
    the median |z| / 0.674 and the rms z are 1 for an efficient estimator; and the measured ratio's spread."""
    with open(bound_path) as fh:
        bound = {(r["seed"], r["qubit"]): r for r in json.load(fh)["bound_rows"]}
    runs: list[dict[str, Any]] = []
    for path in paths:
        with open(path) as fh:
            runs += json.load(fh)["runs"]
    out: dict[str, Any] = {}
    for budget in sorted({int(r["budget_per_parameter_set"]) for r in runs}):
        z: dict[str, list[float]] = {"qtandem": [], "qiskit": []}
        sd: dict[str, list[float]] = {"qtandem": [], "qiskit": []}
        err: dict[str, list[float]] = {"qtandem": [], "qiskit": []}
        for run in runs:
            if int(run["budget_per_parameter_set"]) != budget:
                continue
            for q in range(5):
                b = bound.get((run["seed"], q))
                key = f"q{q}.t2_ramsey"
                if b is None or key not in run["qtandem"]["estimates"]:
                    continue
                t = run["truth"][key]
                for tool in ("qtandem", "qiskit"):
                    s = b[tool]["t2"] * math.sqrt(b["budget"] / budget)
                    e = (run[tool]["estimates"][key] - t) / t
                    z[tool].append(e / s)
                    sd[tool].append(s)
                    err[tool].append(abs(e))
        out[str(budget)] = {
            "qubits": len(z["qtandem"]),
            "measured_ratio": statistics.median(err["qiskit"]) / statistics.median(err["qtandem"]),
            **{f"{tool}_median_abs_z_over_0.674": statistics.median(abs(v) for v in z[tool]) / Z50 for tool in z},
            **{f"{tool}_rms_z": math.sqrt(statistics.fmean(v * v for v in z[tool])) for tool in z},
            "ratio_spread_if_both_efficient": median_ratio_spread(sd["qiskit"], sd["qtandem"]),
        }
    return out


def _fit_and_refit(data: Any, prior: Any, seed: int, calibrate: Any, max_iter: int | None = None) -> tuple[Any, float]:
    """``calibrate(restarts=1)`` (its optimizer capped at ``max_iter`` iterations when given), then a second
    optimisation from its result: how much lower the NLL gets (0 at a true optimum)."""
    import importlib

    mod = importlib.import_module("qtandem.learn.calibrate")
    minimize = mod._minimize
    seen: dict[str, Any] = {}

    def spy(obj: Any, tr: Any, u0: Any, **kw: Any) -> Any:
        if max_iter is not None:
            kw["max_iter"] = max_iter
        u, val = minimize(obj, tr, u0, **kw)
        seen.update(obj=obj, tr=tr, u=u, val=val)
        return u, val

    setattr(mod, "_minimize", spy)  # noqa: B010
    try:
        cal = calibrate(data, prior=prior, seed=seed, restarts=1)
    finally:
        setattr(mod, "_minimize", minimize)  # noqa: B010
    _, again = minimize(seen["obj"], seen["tr"], seen["u"])
    return cal, float(seen["val"] - again)


def run_cap(seeds: list[int], budget: int) -> list[dict[str, Any]]:
    """The whole-device fit at ``budget`` with the old 300-iteration cap and with the current optimizer (same
    shots): the NLL a second optimisation still finds, and the readout p10 errors."""
    from qtandem.learn import characterization
    from qtandem.learn.calibrate import calibrate

    rows = []
    for seed in seeds:
        dev = hidden_device(seed)
        pub = published(dev)
        plan = characterization(list(range(dev.num_qubits)), experiments=["readout", "t1", "ramsey", "echo",
                                                                          "amplify_sx"], seed=seed, prior=pub,
                                readout="parallel", amplify="equator")  # the stored results' design
        data = plan.run(default_executor(dev, seed=10_000 + seed), plan.allocate(21 * budget), seed=seed)
        row: dict[str, Any] = {"seed": seed, "budget": budget}
        for label, cap in (("cap_300", 300), ("now", None)):
            cal, drop = _fit_and_refit(data, pub, seed, calibrate, cap)
            row[label] = {"refit_nll_drop": drop, "p10_error": [
                cal.values[f"q{i}.readout_p10"] - q.readout_p10 for i, q in enumerate(dev.qubits)],
                "p10_stderr": [cal.stderr[f"q{i}.readout_p10"] for i in range(dev.num_qubits)]}
            print(f"cap seed {seed} {label}: refit lowers the NLL by {drop:.2f}", flush=True)
        rows.append(row)
    return rows


# -- rb: coherent errors in the RB sx estimate --------------------------------------------------------
def run_rb(seeds: list[int], budget: int) -> list[dict[str, Any]]:
    from qtandem.learn import characterization
    from qtandem.learn.calibrate import calibrate

    rows = []
    for seed in seeds:
        dev = hidden_device(seed)
        pub = published(dev)
        oracle = copy.deepcopy(pub)
        for q, t in zip(oracle.qubits, dev.qubits, strict=True):
            q.sx_angle_error, q.x_angle_error = t.sx_angle_error, t.x_angle_error
        plan = characterization(list(range(dev.num_qubits)), pairs=sorted(dev.edges),
                                experiments=["readout", "rb", "irb"], seed=seed, prior=pub)
        shots = plan.allocate(10 * budget, by="circuit")  # the per-experiment total: 5 rb, 4 irb, readout
        data = plan.run(default_executor(dev, seed=10_000 + seed), shots, seed=seed)
        row: dict[str, Any] = {"seed": seed, "budget": budget, "shots": sum(shots)}
        for label, prior in (("published", pub), ("true_angles", oracle)):
            t0 = time.perf_counter()
            cal, drop = _fit_and_refit(data, prior, seed, calibrate)
            fitted = cal.device(base=prior)
            true_err = [gate_infidelity(dev, "sx", (i,)) for i in range(dev.num_qubits)]
            row[label] = {"seconds": time.perf_counter() - t0, "refit_nll_drop": drop, "rel_error": [
                (gate_infidelity(fitted, "sx", (i,)) - t) / t for i, t in enumerate(true_err)]}
        row["coherent_share"] = [(1 - math.cos(q.sx_angle_error)) / 3 / gate_infidelity(dev, "sx", (i,))
                                 for i, q in enumerate(dev.qubits)]
        rows.append(row)
        print(f"rb seed {seed}: median |rel| published "
              f"{statistics.median(abs(x) for x in row['published']['rel_error']):.4f}, true angles "
              f"{statistics.median(abs(x) for x in row['true_angles']['rel_error']):.4f}", flush=True)
    return rows


# -- loop_diag: which numbers the held-out prediction misses ---------------------------------------------------
_LOOP_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "readout": ("q", ("readout_p01", "readout_p10")),
    "readout_correlations": ("dev", ("readout_correlations",)),
    "coherent_1q": ("q", ("detuning", "sx_angle_error", "x_angle_error")),
    "incoherent_1q": ("q", ("t1", "t2", "gate_error_1q")),
    "cx_angle": ("e", ("angle_error",)),
    "cx_error": ("e", ("error",)),
    "zz": ("e", ("zz",)),
}


def with_truth(fitted: Any, dev: Any, groups: list[str]) -> Any:
    """``fitted`` with the hidden ``dev``'s numbers put back for ``groups`` (keys of ``_LOOP_GROUPS``)."""
    out = copy.deepcopy(fitted)
    for g in groups:
        kind, fields = _LOOP_GROUPS[g]
        for f in fields:
            if kind == "dev":
                setattr(out, f, copy.deepcopy(getattr(dev, f)))
            elif kind == "q":
                for a, b in zip(out.qubits, dev.qubits, strict=True):
                    setattr(a, f, getattr(b, f))
            else:
                for key, e in out.edges.items():
                    setattr(e, f, getattr(dev.edges[key], f))
    return out


def loop_calibration(dev: Any, seed: int, budget: int, plan_kind: str) -> Any:
    """The whole-device fit (``plan_kind="whole"``) or one with the pair experiments (``"pairs"``)."""
    from learn import run_qtandem

    if plan_kind == "whole":
        exps = ["readout", "t1", "ramsey", "echo", "amplify_sx"]
        _, _, secs, fitted = run_qtandem(dev, 21 * budget, seed, default_executor(dev, seed=10_000 + seed), exps, 1,
                                         readout="parallel", allocate="experiment", amplify="poles")
    else:
        exps = ["readout", "t1", "ramsey", "echo", "amplify_sx", "amplify_x", "amplify_cx", "zz"]
        _, _, secs, fitted = run_qtandem(dev, 30 * budget, seed, default_executor(dev, seed=60_000 + seed), exps, 1,
                                         amplify="poles")
    print(f"loop_diag: seed {seed} {plan_kind} calibration {secs:.0f} s", flush=True)
    return fitted


def _tvd(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


def loop_ratios(dev: Any, model: Any, circuits: list[Any], shots: int, reps: int, seed: int) -> dict[str, Any]:
    """Exact-distribution view of the loop: bias TVD and the ratio TVD(model shots, true shots) / TVD(true, true)."""
    from learn_backend import DistributionExecutor

    true_ex, model_ex = DistributionExecutor(dev), DistributionExecutor(model)
    rng = np.random.default_rng(seed)
    bias, ratios, exp_model, exp_floor = [], [], [], []
    for c in circuits:
        kt, pt = true_ex._distribution(c)
        km, pm = model_ex._distribution(c)
        keys = sorted(set(kt) | set(km))
        p = np.zeros(len(keys))
        q = np.zeros(len(keys))
        p[[keys.index(k) for k in kt]] = pt
        q[[keys.index(k) for k in km]] = pm
        bias.append(_tvd(p, q))
        rs, ms, fs = [], [], []
        for _ in range(reps):
            a, b, m = (rng.multinomial(shots, x) / shots for x in (p, p, q))
            fs.append(_tvd(a, b))
            ms.append(_tvd(m, a))
            rs.append(ms[-1] / fs[-1])
        ratios += rs
        exp_model.append(float(np.mean(ms)))
        exp_floor.append(float(np.mean(fs)))
    return {"bias_tvd": bias, "median_bias_tvd": statistics.median(bias),
            "median_floor_tvd": statistics.median(exp_floor), "median_model_tvd": statistics.median(exp_model),
            "median_ratio": statistics.median(ratios), "share_within_1.5": sum(r <= 1.5 for r in ratios) / len(ratios)}


def run_loop_diag(seeds: list[int], budget: int, plan_kind: str, n_circuits: int, reps: int) -> list[dict[str, Any]]:
    from learn import random_circuit

    rows = []
    for seed in seeds:
        dev = hidden_device(seed)
        fitted = loop_calibration(dev, seed, budget, plan_kind)
        edges = sorted(dev.edges)
        circuits = [random_circuit(dev.num_qubits, 4, 1000 * seed + k, edges) for k in range(n_circuits)]
        row: dict[str, Any] = {"seed": seed, "plan": plan_kind, "budget": budget}
        variants: list[tuple[str, list[str]]] = [("fitted", []), ("all_true", list(_LOOP_GROUPS))]
        variants += [(f"true_{g}", [g]) for g in _LOOP_GROUPS]
        variants += [(f"fitted_only_{g}", [h for h in _LOOP_GROUPS if h != g]) for g in _LOOP_GROUPS]
        for name, groups in variants:
            row[name] = loop_ratios(dev, with_truth(fitted, dev, groups), circuits, 10_000, reps, 7 + seed)
            print(f"loop_diag seed {seed} {name}: median ratio {row[name]['median_ratio']:.2f}, within 1.5x "
                  f"{row[name]['share_within_1.5']:.2f}, bias TVD {row[name]['median_bias_tvd']:.4f}", flush=True)
        rows.append(row)
    return rows


def summarize_loop_diag(rows: list[dict[str, Any]]) -> dict[str, Any]:
    names = [k for k in rows[0] if isinstance(rows[0][k], dict)]
    return {name: {"median_ratio_over_seeds": statistics.median(r[name]["median_ratio"] for r in rows),
                   "mean_share_within_1.5": statistics.fmean(r[name]["share_within_1.5"] for r in rows),
                   "median_bias_tvd": statistics.median(r[name]["median_bias_tvd"] for r in rows)} for name in names}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="p10")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budgets", default="10000,100000,1000000")
    ap.add_argument("--rb-budget", type=float, default=1e6)
    ap.add_argument("--merge-bound", nargs="+", default=None, metavar="JSON", help="merge the bound rows of these")
    ap.add_argument("--t2-efficiency", nargs="+", default=None, metavar="JSON",
                    help="no runs: T2* errors of these bench/learn.py --whole-device results over the stored bound")
    ap.add_argument("--merge-sx-design", nargs="+", default=None, metavar="JSON")
    ap.add_argument("--loop-plan", default="whole", choices=("whole", "pairs"))
    ap.add_argument("--loop-circuits", type=int, default=20)
    ap.add_argument("--loop-reps", type=int, default=20)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    budgets = [int(float(b)) for b in args.budgets.split(",")]
    result: dict[str, Any] = {"config": vars(args)}
    parts = args.parts.split(",")
    if "p10" in parts:
        result["p10"] = {"before_fix": p10_table("learn_device_s[0-9].json"),
                         "after_fix": p10_table("learn_device_conv_s*.json")}
        print(json.dumps(result["p10"], indent=1))
    if "bound" in parts:  # one seed takes ~10 s: run seeds as separate jobs, then --merge-bound their files
        result["bound_rows"] = run_bound(seeds, budgets[0])
        result["bound"] = summarize_bound(result["bound_rows"], budgets)
    if args.merge_bound:
        rows = []
        for path in args.merge_bound:
            with open(path) as fh:
                rows += json.load(fh)["bound_rows"]
        result["bound_rows"] = rows
        result["bound"] = summarize_bound(rows, budgets)
        print(json.dumps(result["bound"], indent=1))
    if "sx_design" in parts:  # ~8 s a seed
        result["sx_design_rows"] = run_sx_design(seeds, budgets[0])
        result["sx_design"] = summarize_sx_design(result["sx_design_rows"])
    if args.merge_sx_design:
        rows = []
        for path in args.merge_sx_design:
            with open(path) as fh:
                rows += json.load(fh)["sx_design_rows"]
        result["sx_design_rows"] = rows
        result["sx_design"] = summarize_sx_design(rows)
        print(json.dumps(result["sx_design"], indent=1))
    if "t2_design" in parts:  # ~15 s a seed
        result["t2_design_rows"] = run_t2_design(seeds, budgets[0])
        result["t2_design"] = summarize_t2_design(result["t2_design_rows"])
        print(json.dumps(result["t2_design"], indent=1))
    if args.t2_efficiency:  # no runs: measured T2* errors against the stored bound
        result["t2_efficiency"] = t2_efficiency(args.t2_efficiency, os.path.join(RESULTS, "learn_floors_bound.json"))
        print(json.dumps(result["t2_efficiency"], indent=1))
    if "spectators" in parts:  # ~20 s a seed
        result["spectators_rows"] = run_spectators(seeds, budgets[0])
        result["spectators"] = summarize_spectators(result["spectators_rows"])
        print(json.dumps(result["spectators"], indent=1))
    if "cap" in parts:  # ~2 min a seed
        result["cap"] = run_cap(seeds, int(args.rb_budget))
    if "rb" in parts:
        result["rb"] = run_rb(seeds, int(args.rb_budget))
    if "loop_diag" in parts:  # ~1 min a seed (whole), more with pairs
        result["loop_diag_rows"] = run_loop_diag(seeds, int(args.rb_budget), args.loop_plan, args.loop_circuits,
                                                 args.loop_reps)
        result["loop_diag"] = summarize_loop_diag(result["loop_diag_rows"])
        print(json.dumps(result["loop_diag"], indent=1))
    if args.json:
        from qtandem.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
