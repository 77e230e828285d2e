"""LiH VQE energy on a drifted device with gate-noise mitigation that uses the believed noise model (issue 20, s.3).

The loop's ``vqe_lih`` workload (LiH CAS(2,2), 4 qubits, the noiseless UCCSD state) mitigates only
readout, so its error is the incoherent noise of ~20 CX that no calibration removes, the same under
every belief (``bench/codesign_loop.py``: 0.99x). Here the same state, compiled by the loop's compile
stage for the believed device (``compile_for_device``: noise-aware layout, believed coherent errors
cancelled), is estimated with ``qtandem.mitigate.execute`` and two methods built from the believed
device only (no extra shots): ``readout(calibration=device)`` (inverse of the believed confusion
matrices) and then ``pec(model="exact")``, probabilistic error cancellation whose layer models are the
Pauli-twirled gate channels of the *believed* device's noise model. A stale belief cancels the
published noise (T1 30% too long, no over-rotations); the learned belief the learned one. Idle noise
between gates is not in PEC's layer models, for any belief.

Hidden devices ``hidden_device(10, seed, coupling="heavy_hex")``; learned = ``codesign_loop.loop_learn``
(200 shots per characterization circuit, ~91k shots); oracle = the actual device. DEV seeds 10, 11
(where PEC's settings were looked at: 400 sampled circuits, 200,000 shots); TEST seeds 0-4.

Usage: ``flock /tmp/qt_lane_a.lock env OMP_NUM_THREADS=1 .venv/bin/python bench/codesign_vqe_pec.py
--seeds 0 1 2 3 4 --out bench/results/codesign_vqe_pec_test.json`` (about 4 min per seed).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def state_on_device(prep: dict[str, Any], device: Any, seed: int) -> tuple[Any, list[int], dict[str, int]]:
    """The VQE state compiled by the loop's compile stage for ``device`` (measurements stripped), the device
    qubit of each logical qubit after routing, and the compiled gate counts."""
    from qtandem.circuit import Circuit
    from qtandem.codesign.workloads import compile_for_device

    n = prep["n_qubits"]
    c = Circuit(n, n)
    for inst in prep["state"]:
        c.append(inst)
    for v in range(n):
        c.measure(v, v)
    compiled, _ = compile_for_device(c, device, seed=seed, corrections=True)
    body = Circuit(compiled.n_qubits)
    phys = [-1] * n
    for inst in compiled:
        if inst.name == "measure":
            phys[inst.clbits[0]] = inst.qubits[0]
        else:
            body.append(inst)
    return body, phys, compiled.count_ops()


METHODS = ("readout", "readout+pec", "readout+idle_pec")


def run(seeds: list[int], *, shots: int, samples: int, n_qubits: int, methods: tuple[str, ...] = METHODS[:2],
        beliefs: tuple[str, ...] = ("stale", "learned", "oracle")) -> list[dict[str, Any]]:
    import codesign_loop
    from qtandem.circuit.pauli import PauliSum
    from qtandem.codesign.drift import hidden_device
    from qtandem.codesign.idle_pec import idle_pec
    from qtandem.codesign.workloads import VQEWorkload
    from qtandem.mitigate import execute, readout
    from qtandem.mitigate.pec import pec

    prep = VQEWorkload().prepare()
    ham = prep["problem"].hamiltonian
    exact = prep["exact_energy"]
    constant = sum(c.real for c, word in ham.terms if not word)
    rows = []
    for seed in seeds:
        hidden = hidden_device(n_qubits, seed=seed, coupling="heavy_hex")
        learned, spent = codesign_loop.loop_learn(hidden.published, hidden.executor(0, seed=1000 + seed),
                                                  shots=codesign_loop.LEARN_SHOTS, seed=seed)
        for belief, device in (("stale", hidden.published), ("learned", learned), ("oracle", hidden.actual(0))):
            if belief not in beliefs:
                continue
            t0 = time.perf_counter()
            body, phys, ops = state_on_device(prep, device, seed)
            # the constant stays out of the estimator: PEC's signed samples would carry it as variance
            obs = PauliSum({tuple((phys[q], p) for q, p in word): c for c, word in ham.terms if word})
            row: dict[str, Any] = {"seed": seed, "belief": belief, "qubits": phys, "cx": ops.get("cx", 0),
                                   "learn_shots": spent if belief == "learned" else 0, "shots": shots}
            chains = {"readout": [readout(calibration=device)],
                      "readout+pec": [readout(calibration=device), pec(model="exact", samples=samples)],
                      # session 34: the believed idle relaxation cancelled too (qtandem.codesign.idle_pec)
                      "readout+idle_pec": [readout(calibration=device), idle_pec(samples)]}
            for label, chain in [(m, chains[m]) for m in methods]:
                res = execute(body, obs, hidden.executor(0, seed=100 + seed), methods=chain, shots=shots,
                              seed=seed, noise=device, raw=label == "readout")
                row[label] = {"energy": constant + res.value, "error": abs(constant + res.value - exact),
                              "stderr": res.stderr}
                if label == "readout":
                    row["raw"] = {"energy": constant + res.raw, "error": abs(constant + res.raw - exact),
                                  "stderr": res.raw_stderr}
                else:
                    row["gamma"] = row[label]["gamma"] = res.details["pec"]["gamma"]
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            print(json.dumps({k: (round(v["error"], 4) if isinstance(v, dict) else v) for k, v in row.items()
                              if k not in ("qubits",)}), flush=True)
    return rows


def _gmean(xs: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(max(x, 1e-12)) for x in xs))


def table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seeds = sorted({r["seed"] for r in rows})
    for method in [m for m in ("raw", *METHODS) if any(m in r for r in rows)]:
        by = {(r["seed"], r["belief"]): r[method] for r in rows if method in r}
        entry: dict[str, Any] = {}
        for belief in ("stale", "learned", "oracle"):
            errs = [by[(s, belief)]["error"] for s in seeds if (s, belief) in by]
            entry[f"{belief}_error_mean"] = statistics.fmean(errs) if errs else math.nan
            entry[f"per_seed_{belief}"] = errs
        entry["stderr_mean"] = statistics.fmean(v["stderr"] for v in by.values())
        for belief in ("learned", "oracle"):
            pairs = [(by[(s, "stale")]["error"], by[(s, belief)]["error"]) for s in seeds
                     if (s, "stale") in by and (s, belief) in by]
            if pairs:
                entry[f"stale_over_{belief}_gmean"] = _gmean([a for a, _ in pairs]) / _gmean([b for _, b in pairs])
                entry[f"{belief}_better_in"] = sum(b < a for a, b in pairs)
        out[method] = entry
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--shots", type=int, default=200_000)
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--n-qubits", type=int, default=10)
    ap.add_argument("--merge", nargs="*", default=None)
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS[:2]))
    ap.add_argument("--beliefs", nargs="+", choices=["stale", "learned", "oracle"],
                    default=["stale", "learned", "oracle"])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.merge:
        rows = [r for f in args.merge for r in json.loads(Path(f).read_text())["rows"]]
        result: dict[str, Any] = {"merged": args.merge}
    else:
        t0 = time.perf_counter()
        rows = run(args.seeds, shots=args.shots, samples=args.samples, n_qubits=args.n_qubits,
                   methods=tuple(args.methods), beliefs=tuple(args.beliefs))
        result = {"seeds": args.seeds, "methods": args.methods, "beliefs": args.beliefs,
                  "shots": args.shots, "samples": args.samples, "n_qubits": args.n_qubits,
                  "machine": platform.platform(), "seconds": time.perf_counter() - t0}
    result.update({"target": "stale / learned error >= 2 (geometric mean over seeds)", "rows": rows,
                   "table": table(rows)})
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for method, entry in result["table"].items():
        print(method, json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in entry.items()
                                  if not k.startswith("per_seed")}))


if __name__ == "__main__":
    main()
