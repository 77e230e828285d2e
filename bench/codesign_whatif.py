"""Hardware what-if (issue 20 section 2): is the first-order upgrade ranking of ``qtandem.codesign.sensitivity`` right?

Target (issue 20): for +-20% changes of each of the 10 most sensitive parameters, the first-order
prediction is within 10% of re-simulation, and the ranking of upgrades agrees with the re-simulated
ranking (Kendall tau >= 0.8).

Devices: ``Device.random(8, "heavy_hex", seed)`` for seeds 0-4 (fixed before any of them was run;
the method was developed on ``Device.random(3, "line", seed=0)`` only). Workloads, compiled once
per device by ``prepare_for_device`` (seed 0): GHZ-8 (state fidelity, and success probability of the
two GHZ strings with readout errors), QFT-5 on ``|10101>`` (fidelity), a 6-qubit brickwork of 4
``layered`` layers (fidelity), QAOA p=1 MaxCut on a random 3-regular 6-node graph (``expval``: the
error ``|<C>_noisy - <C>_ideal|`` of the cut operator ``C = sum Z_a Z_b``); with ``--set vqe`` the VQE
energy errors ``|<H>_noisy - <H>_ideal|`` of H2 (4 qubits) and LiH CAS(2,3) (6 qubits) at their noiseless
UCCSD optimum (``qtandem.chem.vqe``; needs the chem extra). For each: gradients of
every T1/T2/readout/gate-error/coherent-error number by autograd (one backward pass), the 10
parameters of largest predicted +20% upgrade gain, their +20% and -20% changes re-simulated (20
simulations; a T2 is capped at 2 T1), in three coordinates of the same gradient: ``json`` (the device
file's own numbers: the issue's target), ``rates`` (T1/T2 as 1/T) and ``physical`` (rates, and
coherent angles by their square).

Usage: ``flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/codesign_whatif.py
--seeds 0 1 2 --out bench/results/codesign_whatif_a.json``, then ``python bench/codesign_whatif.py --merge
bench/results/codesign_whatif_a.json bench/results/codesign_whatif_b.json --out bench/results/codesign_whatif.json``.

Choosing the first-order variables (session 33): ``--select --seeds 10 11 12 13 14 [--set vqe] --out
bench/results/codesign_whatif_select_dev_circuits.json`` checks every combination of ``CANDIDATE_POWERS`` on
the DEV devices; ``--choose FILE...`` ranks them over both sets (``codesign_whatif_select_dev.json``); the
winner is ``qtandem.codesign.sensitivity.SELECTED_POWERS`` (the ``"selected"`` column), reported on TEST
seeds 20-24 (``--seeds 20 21 22 23 24 --out bench/results/codesign_whatif_test.json``, and ``--set vqe``).

Second order (session 34): ``--select-second --seeds 10 11 12 13 14 [--set vqe] --out
bench/results/codesign_whatif_second_dev_{circuits,vqe}.json`` checks ``SECOND_CANDIDATES`` (exact
curvature of the coherent angles only, or of every parameter; coherent power 1 / 1.5 / 2) beside the
first-order ``selected`` on DEV; the winner is ``qtandem.codesign.sensitivity.SECOND_ORDER`` (the
``"second_order"`` column), reported on TEST seeds 20-24 (``--out bench/results/codesign_whatif_test_s34.json``,
``--set vqe --out bench/results/codesign_whatif_vqe_test_s34.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import torch

from qtandem import Circuit
from qtandem.circuit.library import ghz, layered, qft
from qtandem.codesign import Workload, sensitivity
from qtandem.device import Device

COORDINATES = ("json", "rates", "physical", "selected", "second_order")

# --select: the candidate powers per field class (first order in a**p; 0 = log a; -1 = a rate 1/T)
# ("zz", a field, overrides its class "coherent": the always-on ZZ accumulates over the whole schedule)
CANDIDATE_POWERS = {"times": (1.0, 0.0, -1.0), "errors": (1.0, 0.0), "coherent": (1.0, 1.5, 2.0),
                    "zz": (1.0, 1.5, 2.0, 0.0)}


COHERENT_FIELDS = ("detuning", "sx_angle_error", "x_angle_error", "angle_error", "zz")


def candidates() -> list[dict[str, float]]:
    """Every combination of :data:`CANDIDATE_POWERS` (72 coordinate systems)."""
    import itertools

    names = list(CANDIDATE_POWERS)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*CANDIDATE_POWERS.values())]


def candidate_key(powers: dict[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in powers.items())


def qaoa_maxcut(n: int, seed: int) -> tuple[Circuit, str]:
    graph = nx.random_regular_graph(3, n, seed=seed)
    rng = np.random.default_rng(seed)
    gamma, beta = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)
    c = Circuit(n)
    for q in range(n):
        c.h(q)
    for a, b in sorted(graph.edges()):
        c.rzz(2 * gamma, a, b)
    for q in range(n):
        c.rx(2 * beta, q)
    return c, " + ".join(f"Z{a} Z{b}" for a, b in sorted(graph.edges()))


def workloads(seed: int) -> list[Workload]:
    qft_in = Circuit(5)
    for q in (0, 2, 4):
        qft_in.x(q)
    qaoa, cut = qaoa_maxcut(6, seed)
    return [Workload(ghz(8), "fidelity", name="ghz8_fidelity"),
            Workload(ghz(8, measure=True), "success", name="ghz8_success"),
            Workload(qft_in.compose(qft(5)), "fidelity", name="qft5_fidelity"),
            Workload(layered(6, 4, seed=seed), "fidelity", name="brickwork6_fidelity"),
            Workload(qaoa, "expval", cut, name="qaoa6_expval")]


def vqe_workloads() -> list[Workload]:
    """VQE energy errors (needs the chem extra): the UCCSD circuit at its noiseless optimum, metric
    ``|<H>_noisy - <H>_ideal|`` in hartree (the device's cost on top of the VQE's own error)."""
    from qtandem.chem import Molecule, vqe

    out = []
    for name, geometry, space in (("vqe_h2_expval", "H 0 0 0; H 0 0 0.735", None),
                                  ("vqe_lih_cas23_expval", "Li 0 0 0; H 0 0 1.595", (2, 3))):
        problem = Molecule(geometry).problem(space) if space else Molecule(geometry).problem()
        result = vqe(problem, "uccsd")
        out.append(Workload(result.circuit, "expval", problem.hamiltonian, name=name))
    return out


def kind(path: str) -> str:
    """The field of a parameter path (``readout_correlation`` for a joint readout matrix)."""
    return "readout_correlation" if path.startswith("readout_correlations") else path.rsplit(".", 1)[-1]


def run_case(work: Workload, device: Device, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    prog = work.program(device)
    t1 = time.perf_counter()
    sens = sensitivity(work, device)
    t2 = time.perf_counter()
    checks = {c: sens.check(0.2, 10, coordinates=c) for c in COORDINATES}
    t3 = time.perf_counter()
    row: dict[str, Any] = {
        "workload": work.name, "metric": work.metric, "device_seed": seed, "device": device.name,
        "compiled_qubits": prog.circuit.n_qubits, "compiled_ops": prog.circuit.count_ops(),
        "value": sens.value, "parameters": len(sens.gradients),
        "seconds": {"compile": t1 - t0, "gradient": t2 - t1, "checks": t3 - t2},
        "resimulations": len(sens._resimulated),
        "top10_json": [[p, g] for p, g in sens.ranking()[:10]],
    }
    for c, chk in checks.items():
        row[c] = {"within_10pct": chk.within(0.1), "kendall_tau": chk.kendall_tau,
                  "worst_rel_error": max(r["rel_error"] for r in chk.rows),
                  "failing": sorted({kind(r["path"]) for r in chk.rows if r["rel_error"] > 0.1}),
                  "rows": chk.rows}
    return row


SECOND_CANDIDATES = {f"{scope}:coherent={p:g}": (scope, {"times": -1.0, "errors": 1.0, "coherent": p, "order": 2})
                     for scope in ("coherent", "all") for p in (1.0, 1.5, 2.0)}


def select_second_case(work: Workload, device: Device, seed: int) -> dict[str, Any]:
    """DEV (session 34): second-order candidates (curvature of the coherent angles only, or of every
    parameter; coherent power 1 / 1.5 / 2), beside the first-order ``selected`` coordinates."""
    t0 = time.perf_counter()
    sens = sensitivity(work, device, curvature="all")
    every = dict(sens.curvatures)
    out: dict[str, Any] = {"workload": work.name, "device_seed": seed, "value": sens.value, "candidates": {}}
    for key, (scope, powers) in [("selected", ("none", "selected")), *SECOND_CANDIDATES.items()]:
        sens.curvatures = every if scope == "all" else {p: h for p, h in every.items()
                                                        if scope == "coherent" and kind(p) in COHERENT_FIELDS}
        chk = sens.check(0.2, 10, coordinates=powers)
        out["candidates"][key] = {
            "within_10pct": chk.within(0.1), "kendall_tau": chk.kendall_tau,
            "failing": sorted({f"{kind(r['path'])}{r['change']:+g}" for r in chk.rows if r["rel_error"] > 0.1})}
    out["resimulations"] = len(sens._resimulated)
    out["seconds"] = time.perf_counter() - t0
    return out


def select_case(work: Workload, device: Device, seed: int) -> dict[str, Any]:
    """DEV: the +-20% check of the top 10 in every candidate coordinate system (re-simulations shared)."""
    t0 = time.perf_counter()
    sens = sensitivity(work, device)
    out: dict[str, Any] = {"workload": work.name, "device_seed": seed, "value": sens.value, "candidates": {}}
    for powers in candidates():
        chk = sens.check(0.2, 10, coordinates=powers)
        out["candidates"][candidate_key(powers)] = {
            "within_10pct": chk.within(0.1), "kendall_tau": chk.kendall_tau,
            "failing": sorted({f"{kind(r['path'])}{r['change']:+g}" for r in chk.rows if r["rel_error"] > 0.1})}
    out["resimulations"] = len(sens._resimulated)
    out["seconds"] = time.perf_counter() - t0
    return out


def choose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rank the candidates over DEV rows: pairs meeting the target, then the mean share within 10%."""
    table = []
    for key in rows[0]["candidates"]:
        cells = [r["candidates"][key] for r in rows]
        met = sum(c["within_10pct"] == 1.0 and c["kendall_tau"] >= 0.8 for c in cells)
        table.append({"coordinates": key, "pairs": len(cells), "target_met": met,
                      "all_within_10pct": sum(c["within_10pct"] == 1.0 for c in cells),
                      "tau_ge_0.8": sum(c["kendall_tau"] >= 0.8 for c in cells),
                      "within_10pct_mean": statistics.fmean(c["within_10pct"] for c in cells)})
    table.sort(key=lambda e: (-e["target_met"], -e["within_10pct_mean"]))
    return {"ranking": table, "chosen": table[0]["coordinates"]}


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in dict.fromkeys(r["workload"] for r in rows):
        mine = [r for r in rows if r["workload"] == name]
        entry: dict[str, Any] = {"cases": len(mine), "value_mean": statistics.fmean(r["value"] for r in mine)}
        for c in [c for c in COORDINATES if all(c in r for r in mine)]:
            within = [r[c]["within_10pct"] for r in mine]
            taus = [r[c]["kendall_tau"] for r in mine]
            entry[c] = {"within_10pct_mean": statistics.fmean(within), "within_10pct_min": min(within),
                        "tau_mean": statistics.fmean(taus), "tau_min": min(taus),
                        "cases_meeting_target": sum(w == 1.0 and t >= 0.8 for w, t in zip(within, taus, strict=True)),
                        "failing_fields": sorted({f for r in mine for f in r[c]["failing"]})}
        out[name] = entry
    return out


def print_table(summ: dict[str, Any]) -> None:
    print(f"{'workload':22s} {'value':>6s} " + " ".join(f"{c + ' within':>16s} {'tau':>10s}" for c in COORDINATES))
    for name, e in summ.items():
        cells = " ".join(f"{e[c]['within_10pct_mean']:7.2f} (min {e[c]['within_10pct_min']:.2f}) "
                         f"{e[c]['tau_mean']:5.2f}/{e[c]['tau_min']:4.2f}" for c in COORDINATES if c in e)
        print(f"{name:22s} {e['value_mean']:6.3f} {cells}")


def cases(which: str, seeds: list[int]) -> Any:
    """(workload, device, device seed) of a run: one 8-qubit heavy-hex device per seed, with the set's workloads."""
    torch.set_num_threads(1)
    chem = vqe_workloads() if which == "vqe" else []
    for seed in seeds:
        device = Device.random(8, "heavy_hex", seed=seed)
        for work in chem or workloads(seed):
            yield work, device, seed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--merge", nargs="+", help="merge these result files instead of running")
    ap.add_argument("--select", action="store_true",
                    help="DEV: check every candidate coordinate system (CANDIDATE_POWERS) instead of COORDINATES")
    ap.add_argument("--select-second", action="store_true",
                    help="DEV: check the second-order candidates (SECOND_CANDIDATES) instead of COORDINATES")
    ap.add_argument("--choose", nargs="+", help="rank the candidates over these --select result files")
    ap.add_argument("--set", choices=["standard", "vqe"], default="standard",
                    help="standard: the five circuit workloads; vqe: H2 and LiH CAS(2,3) UCCSD energy errors")
    ap.add_argument("--out", default="bench/results/codesign_whatif.json")
    args = ap.parse_args(argv)
    if args.choose or args.select or args.select_second:
        if args.choose:
            rows = [r for f in args.choose for r in json.loads(Path(f).read_text())["rows"]]
        else:
            rows = []
            for work, device, seed in cases(args.set, args.seeds):
                rows.append((select_second_case if args.select_second else select_case)(work, device, seed))
                print(json.dumps({k: rows[-1][k] for k in ("workload", "device_seed", "seconds")}), flush=True)
        chosen = choose(rows)
        for e in chosen["ranking"][:8]:
            print(f"{e['coordinates']:40s} met {e['target_met']}/{e['pairs']} within-all {e['all_within_10pct']} "
                  f"tau {e['tau_ge_0.8']} mean within {e['within_10pct_mean']:.3f}")
        Path(args.out).write_text(json.dumps({
            "benchmark": "codesign_whatif_select", "role": "DEV (coordinate choice)",
            "candidate_powers": {k: list(v) for k, v in SECOND_CANDIDATES.items()} if args.select_second
            else CANDIDATE_POWERS, "seeds": sorted({r["device_seed"] for r in rows}),
            "sources": args.choose or [], **chosen, "rows": [] if args.choose else rows}, indent=1) + "\n")
        return
    if args.merge:
        rows = [r for f in args.merge for r in json.loads(Path(f).read_text())["rows"]]
    else:
        rows = []
        for work, device, seed in cases(args.set, args.seeds):
            row = run_case(work, device, seed)
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("workload", "device_seed", "value")}
                             | {c: [round(row[c]["within_10pct"], 2), round(row[c]["kendall_tau"], 3)]
                                for c in COORDINATES} | {"s": round(sum(row["seconds"].values()), 1)}),
                  flush=True)
    summ = summary(rows)
    print_table(summ)
    Path(args.out).write_text(json.dumps({
        "benchmark": "codesign_whatif", "python": platform.python_version(), "torch": torch.__version__,
        "target": "per workload and device: all 20 (+-20% of the top-10) predictions within 10% of "
                  "re-simulation and Kendall tau >= 0.8 between predicted and re-simulated upgrade gains",
        "seeds": sorted({r["device_seed"] for r in rows}), "summary": summ, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
