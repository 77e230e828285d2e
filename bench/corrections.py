"""Do the suggested corrections cancel a device's coherent errors? (issue 15 section 3)

Hidden devices: ``Device.random(5, "line", seed=s)`` (contract ranges: sx/x/cx over-rotations
0.01-0.05 rad, detuning, ZZ, T1/T2, depolarizing and readout errors). For each device the circuits
below are corrected with ``correct_for_device`` (the true device, or with ``--fitted`` a device
fitted by ``qtandem.learn.calibrate`` from simulated shots) and measured on the TRUE device:

* coherent infidelity ``1 - |tr(U^dagger V)/d|^2`` of the faulty-gate circuit against the ideal
  input: without ZZ (over-rotations and detuning; corrected for the device with its ZZ set to 0, no
  echoes or ZZ frames), and ``zz`` with ZZ (the full correction; final measurements left out, since
  the ZZ while waiting for the readout does not change the counts);
* ``state_zz``: the coherent error from the start state ``|0...0>`` with ZZ, ``1 - |<psi|phi>|^2`` (what
  the ZZ frames aim at: a spectator in a known basis state turns its ZZ into a Z turn);
* fidelity on the full noisy device (density matrix): the classical (Hellinger) fidelity of the
  measured distribution (readout included) with the ideal one, and the state fidelity
  ``<psi|rho|psi>`` (no readout), before and after.

Circuits (5 qubits, all measured): ``rep_sx`` / ``rep_x`` (50 layers of sx / x on every qubit,
barriers between layers so that each pulse stays a pulse), ``rep_cx`` (50 layers of cx on (0,1) and
(2,3)), ``mirror_clifford`` (8 random Clifford layers and their inverse; output |00000>),
``mirror_su2`` (the same with random one-qubit rotations), ``qaoa`` (a generated 5-qubit QAOA circuit
compiled for the device).

Usage (seeds in parts of five, each under the CPU lock, then merged)::

    flock /tmp/qtandem-cpu1.lock .venv/bin/python bench/corrections.py --first-seed 0 --seeds 5 \\
        --json bench/results/corrections_0.json          # and --first-seed 5
    .venv/bin/python bench/corrections.py --merge bench/results/corrections_[05].json \\
        --json bench/results/corrections.json
    # fitted devices: fit once (slow), then correct with the fits
    flock /tmp/qtandem-cpu1.lock .venv/bin/python bench/corrections.py --fitted --fit-only \\
        --first-seed 0 --seeds 4 --json bench/results/corrections_fits_0.json   # and 4 (3 seeds), 7 (3)
    flock /tmp/qtandem-cpu1.lock .venv/bin/python bench/corrections.py --first-seed 0 --seeds 5 \\
        --fits bench/results/corrections_fits_*.json --json bench/results/corrections_fitted_0.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from typing import Any

import numpy as np

from qtandem import Circuit
from qtandem.compile import correct_for_device, optimize
from qtandem.compile.correct import CoherentModel, coherent_infidelity, faulty_circuit, noisy_state_fidelity
from qtandem.device import Device

N = 5
DEPTH = 50


def repeated(gate: str) -> Circuit:
    """50 layers of one gate, barriers between layers, then measure."""
    c = Circuit(N, N)
    for _ in range(DEPTH):
        if gate == "cx":
            c.cx(0, 1).cx(2, 3)
        else:
            for q in range(N):
                getattr(c, gate)(q)
        c.barrier()
    return c


def _native_inverse(c: Circuit) -> Circuit:
    out = Circuit(c.n_qubits, c.n_clbits)
    for inst in reversed(list(c)):
        q = inst.qubits[0]
        if inst.name == "rz":
            out.rz(-float(inst.params[0]), q)  # type: ignore[arg-type]
        elif inst.name == "sx":
            out.rz(math.pi, q).sx(q).rz(math.pi, q)
        else:
            out.append(inst)
    return out


def mirror(seed: int, *, clifford: bool, layers: int = 8) -> Circuit:
    """Random layers (one-qubit words in rz/sx, cx brickwork) and their native inverse."""
    rng = np.random.default_rng(seed)
    half = Circuit(N, N)
    for layer in range(layers):
        for q in range(N):
            if clifford:
                for _ in range(int(rng.integers(0, 3))):
                    half.rz(int(rng.integers(0, 4)) * math.pi / 2, q).sx(q)
            else:
                half.rz(float(rng.uniform(-math.pi, math.pi)), q).sx(q).rz(float(rng.uniform(-math.pi, math.pi)), q)
                half.sx(q).rz(float(rng.uniform(-math.pi, math.pi)), q)
        for a in range(layer % 2, N - 1, 2):
            half.cx(a, a + 1)
    return half.compose(_native_inverse(half))


def qaoa(device: Device, seed: int) -> Circuit:
    from qtandem.compile.generate import generate

    out, _ = optimize(generate("qaoa", N, seed=seed), level=2, hardware=device, seed=0)
    return out


def measured(c: Circuit) -> Circuit:
    out = Circuit(max(c.n_qubits, N), N)
    for inst in c:
        if inst.name != "measure":
            out.append(inst)
    for q in range(N):
        out.measure(q, q)
    return out


def hellinger(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum(np.sqrt(np.clip(p, 0, None) * np.clip(q, 0, None))) ** 2)


def noisy_fidelity(run: Circuit, reference: Circuit, device: Device) -> float:
    """Hellinger fidelity of ``run`` on the noisy ``device`` with ``reference`` run ideally (the corrected
    circuit is compared with its input: ideal gates on the corrected angles would be wrong on purpose)."""
    from qtandem.sim import probabilities

    ideal = probabilities(measured(reference)).numpy()
    noisy = device.noise_model().outcome_probabilities(measured(run)).detach().numpy()
    return hellinger(ideal, noisy)


def unmeasured(c: Circuit) -> Circuit:
    """``c`` without its (final) measurements: the ZZ while waiting for the readout does not change the counts."""
    out = Circuit(c.n_qubits, c.n_clbits)
    for inst in c:
        if inst.name != "measure":
            out.append(inst)
    return out


def without_zz(device: Device) -> Device:
    """``device`` with its ZZ set to 0 (the columns without ZZ: the corrections a ZZ-free device gets)."""
    dev = Device.from_dict(device.to_dict())
    for e in dev.edges.values():
        e.zz = 0.0
    return dev


def state_infidelity(run: Circuit, reference: Circuit, device: Device) -> float:
    """Coherent error from the start state ``|0...0>``: ``1 - |<psi|phi>|^2`` with ``phi`` the state ``run`` reaches
    with the device's faulty gates, detuning and ZZ, ``psi`` the state ``reference`` reaches with ideal gates."""
    from qtandem.sim import statevector

    def gates(c: Circuit) -> Circuit:
        out = Circuit(c.n_qubits)
        for inst in c:
            if inst.is_gate:
                out.append(inst)
        return out

    phi = statevector(gates(faulty_circuit(unmeasured(run), device, zz=True))).numpy().reshape(-1)
    psi = statevector(gates(reference)).numpy().reshape(-1)
    return float(max(0.0, 1.0 - abs(np.vdot(psi, phi)) ** 2))


def blank(true: Device) -> Device:
    """What is known before learning: the true device's layout, durations and incoherent numbers, with every
    coherent error (the numbers the corrections use) set to 0."""
    dev = Device.from_dict(true.to_dict())
    for q in dev.qubits:
        q.sx_angle_error = q.x_angle_error = q.detuning = 0.0
    for e in dev.edges.values():
        e.angle_error = e.zz = 0.0
    return dev


FIT_STEPS = (((0, 1), [(0, 1)], ("amplify_sx", "amplify_x", "ramsey", "amplify_cx", "zz"), "qe"),
             ((2, 3), [(2, 3)], ("amplify_sx", "amplify_x", "ramsey", "amplify_cx", "zz"), "qe"),
             ((4,), [], ("amplify_sx", "amplify_x", "ramsey"), "q"),
             ((1, 2), [(1, 2)], ("amplify_cx", "zz"), "e"),
             ((3, 4), [(3, 4)], ("amplify_cx", "zz"), "e"))
"""The fit in five small steps (qubits, pairs, experiments, which numbers it sets): one joint 5-qubit fit
takes too long for the CPU lock's 10 minutes; later steps start from the earlier steps' numbers."""


def fitted_device(true: Device, seed: int, shots: int) -> tuple[Device, dict[str, Any]]:
    """Characterize ``true`` through the noisy simulator and fit its coherent errors (qtandem.learn.calibrate,
    prior: :func:`blank`); returns the fitted device and the fitted vs true numbers."""
    from qtandem.learn import characterization, simulator_executor
    from qtandem.learn.calibrate import calibrate, parse_param

    guess = blank(true)
    fitted: dict[str, float] = {}
    stderr: dict[str, float] = {}
    truth: dict[str, float] = {}
    n_circuits = n_shots = 0
    for k, (qubits, pairs, experiments, sets) in enumerate(FIT_STEPS):
        plan = characterization(list(qubits), pairs=pairs or None, seed=seed + 100 * k, prior=guess,
                                experiments=list(experiments))
        data = plan.run(simulator_executor(true, seed=seed + 100 * k), shots=shots, seed=seed + 100 * k)
        n_circuits += len(data.counts)
        n_shots += int(sum(data.shots))
        cal = calibrate(data, prior=guess, restarts=1, seed=seed)
        for name, value in cal.values.items():
            kind, where, fieldname = parse_param(name)
            if kind not in sets or fieldname in ("t1", "t2", "readout_p01", "readout_p10", "gate_error_1q", "error"):
                continue  # only the coherent numbers (the incoherent ones stay known)
            obj = guess.qubits[where] if kind == "q" else guess.edges[where]  # type: ignore[index]
            setattr(obj, fieldname, float(value))
            fitted[name], stderr[name] = float(value), float(cal.stderr.get(name, math.nan))
            tobj = true.qubits[where] if kind == "q" else true.edges[where]  # type: ignore[index]
            truth[name] = float(getattr(tobj, fieldname))
    return guess, {"fitted": fitted, "stderr": stderr, "true": truth, "circuits": n_circuits, "shots_total": n_shots}


def fit_only(seeds: range, shots: int) -> dict[str, Any]:
    """Fit the devices of ``seeds`` (the slow part) and keep them, so the corrections can be rerun on them."""
    fits = []
    for seed in seeds:
        t0 = time.perf_counter()
        guide, fit = fitted_device(Device.random(N, "line", seed=seed), seed, shots)
        t_fit = time.perf_counter() - t0
        fits.append({"seed": seed, "seconds": round(t_fit, 1), **fit, "device": guide.to_dict()})
        print(f"seed {seed}: fitted {len(fit['fitted'])} numbers from {fit['shots_total']} shots in {t_fit:.0f} s",
              flush=True)
    return {"fits": fits}


def run(seeds: range, fitted: bool, shots: int, saved: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    fits: list[dict[str, Any]] = []
    for seed in seeds:
        true = Device.random(N, "line", seed=seed)
        guide = true
        t_fit = 0.0
        if saved is not None:
            fit = dict(saved[seed])
            guide = Device.from_dict(fit.pop("device"))
            t_fit = float(fit["seconds"])
            fits.append(fit)
        elif fitted:
            t0 = time.perf_counter()
            guide, fit = fitted_device(true, seed, shots)
            t_fit = time.perf_counter() - t0
            fits.append({"seed": seed, "seconds": round(t_fit, 1), **fit})
            print(f"seed {seed}: fitted {len(fit['fitted'])} numbers from {fit['shots_total']} shots in "
                  f"{t_fit:.0f} s", flush=True)
        circuits = {"rep_sx": repeated("sx"), "rep_x": repeated("x"), "rep_cx": repeated("cx"),
                    "mirror_clifford": mirror(seed, clifford=True), "mirror_su2": mirror(seed, clifford=False),
                    "qaoa": qaoa(true, seed)}
        for name, c in circuits.items():
            t0 = time.perf_counter()
            out0, _ = correct_for_device(c, without_zz(guide), echo=False, zz_frames=False, judge=False)
            out, rep = correct_for_device(c, guide)
            t_corr = time.perf_counter() - t0
            model = CoherentModel.of(true)
            row = {
                "seed": seed, "circuit": name, "gates": c.num_gates(), "cx": c.count_ops().get("cx", 0),
                "coherent_before": coherent_infidelity(c, true),
                "coherent_after": coherent_infidelity(out0, true, reference=c),
                "coherent_zz_before": coherent_infidelity(unmeasured(c), true, zz=True, reference=c),
                "coherent_zz_after": coherent_infidelity(unmeasured(out), true, zz=True, reference=c),
                "state_zz_before": state_infidelity(c, c, true), "state_zz_after": state_infidelity(out, c, true),
                "fidelity_before": noisy_fidelity(c, c, true), "fidelity_after": noisy_fidelity(out, c, true),
                "state_fidelity_before": noisy_state_fidelity(c, c, model),
                "state_fidelity_after": noisy_state_fidelity(out, c, model),
                "pulses_before": rep.pulses_before, "pulses_after": rep.pulses_after, "pairs": rep.pairs,
                "uncorrected_cx": len(rep.uncorrected), "frames": rep.frames, "zz_frames": rep.zz_frames,
                "zz_frame_mode": rep.zz_frame_mode, "echoes": rep.echoes, "echoes_tried": rep.echoes_tried,
                "kept_input": rep.kept_input, "verified": rep.verified, "seconds_correct": round(t_corr, 3),
                "seconds_fit": round(t_fit, 1),
            }
            rows.append(row)
            print(f"seed {seed} {name:16s} coherent {row['coherent_before']:.3e} -> {row['coherent_after']:.3e} "
                  f"(zz {row['coherent_zz_before']:.3e} -> {row['coherent_zz_after']:.3e}, from |0> "
                  f"{row['state_zz_before']:.3e} -> {row['state_zz_after']:.3e})  fidelity "
                  f"{row['fidelity_before']:.4f} -> {row['fidelity_after']:.4f} (state "
                  f"{row['state_fidelity_before']:.4f} -> {row['state_fidelity_after']:.4f})  left "
                  f"{len(rep.uncorrected)} echoes {rep.echoes}/{rep.echoes_tried} zz frames {rep.zz_frames} "
                  f"{rep.zz_frame_mode} kept input {rep.kept_input}  {t_corr:.1f} s", flush=True)
    return {"rows": rows, "summary": summarize(rows), "fits": fits}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per circuit family and over all: ratios of the mean errors before/after (mean over seeds), median and
    worst (largest) error after, fidelities median and worst (lowest), how often the fidelity rose / fell."""
    out: dict[str, Any] = {}
    for name in [*sorted({r["circuit"] for r in rows}), "all"]:
        rs = [r for r in rows if r["circuit"] == name or name == "all"]
        entry: dict[str, Any] = {"rows": len(rs)}
        for key in ("coherent", "coherent_zz", "state_zz"):
            before = statistics.mean(r[f"{key}_before"] for r in rs)
            after = statistics.mean(r[f"{key}_after"] for r in rs)
            entry[f"{key}_before_mean"], entry[f"{key}_after_mean"] = before, after
            entry[f"{key}_ratio"] = before / after if after > 0 else math.inf
            entry[f"{key}_after_median"] = statistics.median(r[f"{key}_after"] for r in rs)
            entry[f"{key}_after_worst"] = max(r[f"{key}_after"] for r in rs)
        for key in ("fidelity", "state_fidelity"):
            for when in ("before", "after"):
                entry[f"{key}_{when}_median"] = statistics.median(r[f"{key}_{when}"] for r in rs)
                entry[f"{key}_{when}_worst"] = min(r[f"{key}_{when}"] for r in rs)
            entry[f"{key}_improved"] = sum(r[f"{key}_after"] > r[f"{key}_before"] + 1e-12 for r in rs)
            entry[f"{key}_lower"] = sum(r[f"{key}_after"] < r[f"{key}_before"] - 1e-12 for r in rs)
            entry[f"{key}_change_worst"] = min(r[f"{key}_after"] - r[f"{key}_before"] for r in rs)
        entry["uncorrected_cx_mean"] = statistics.mean(r["uncorrected_cx"] for r in rs)
        entry["kept_input"] = sum(bool(r["kept_input"]) for r in rs)
        entry["echoes_mean"] = statistics.mean(r["echoes"] for r in rs)
        out[name] = entry
    return out


def merge(paths: list[str]) -> dict[str, Any]:
    """One result from several seed files (rows and fits joined, summary recomputed)."""
    rows: list[dict[str, Any]] = []
    fits: list[dict[str, Any]] = []
    configs = []
    for path in paths:
        with open(path) as fh:
            part = json.load(fh)
        rows += part["rows"]
        fits += part.get("fits", [])
        configs.append(part["config"])
    rows.sort(key=lambda r: r["seed"])
    return {"rows": rows, "summary": summarize(rows), "fits": fits,
            "config": {**configs[0], "seeds": len({r["seed"] for r in rows}), "parts": configs, "merged": paths}}


def table(result: dict[str, Any]) -> None:
    print(f"\n{'circuit':16s} {'coherent':>9s} {'after':>9s} {'ratio':>8s} {'+ZZ ratio':>9s} {'|0> +ZZ':>9s} "
          f"{'after':>9s} {'ratio':>7s} {'fid':>7s} {'after':>7s} {'worst':>7s} {'up':>5s} {'down':>4s} {'kept':>4s}")
    for name, s in result["summary"].items():
        print(f"{name:16s} {s['coherent_before_mean']:9.3g} {s['coherent_after_mean']:9.2g} "
              f"{s['coherent_ratio']:8.3g} {s['coherent_zz_ratio']:9.3g} {s['state_zz_before_mean']:9.3g} "
              f"{s['state_zz_after_mean']:9.2g} {s['state_zz_ratio']:7.3g} {s['fidelity_before_median']:7.4f} "
              f"{s['fidelity_after_median']:7.4f} {s['fidelity_after_worst']:7.4f} {s['fidelity_improved']:5d} "
              f"{s['fidelity_lower']:4d} {s['kept_input']:4d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--fitted", action="store_true", help="correct with a device fitted from shots")
    parser.add_argument("--shots", type=int, default=2000, help="shots per circuit when --fitted")
    parser.add_argument("--fit-only", action="store_true",
                        help="with --fitted: only fit the devices and write them (with --json) for --fits")
    parser.add_argument("--fits", nargs="*", default=None,
                        help="fit files written by --fit-only: correct with those fitted devices")
    parser.add_argument("--json", default=None)
    parser.add_argument("--merge", nargs="*", default=None, help="result files to join into --json (no run)")
    args = parser.parse_args()
    if args.merge:
        result = merge(args.merge)
        table(result)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(result, fh, indent=1, default=float)
        return
    t0 = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if args.fit_only:
        result = fit_only(seeds, args.shots)
        result["config"] = {"seeds": args.seeds, "first_seed": args.first_seed, "shots": args.shots,
                            "seconds": round(time.perf_counter() - t0, 1)}
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(result, fh, indent=1, default=float)
        return
    saved = None
    if args.fits:
        saved = {}
        for path in args.fits:
            with open(path) as fh:
                saved.update({f["seed"]: f for f in json.load(fh)["fits"]})
        args.fitted = True
    result = run(seeds, args.fitted, args.shots, saved)
    result["config"] = {"seeds": args.seeds, "first_seed": args.first_seed, "fitted": args.fitted,
                        "shots": args.shots if args.fitted else None,
                        "qubits": N, "depth": DEPTH, "seconds": round(time.perf_counter() - t0, 1)}
    table(result)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
