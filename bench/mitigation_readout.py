"""Readout calibration on issue 17's device: how many shots, and whether to remove the x gates' own error.

The 10-qubit GHZ parity (``bench/mitigation.py``'s ``ghz`` family, test seed 1000) is estimated with
``--shots`` shots and readout-mitigated with a confusion model measured by
:func:`qtandem.mitigate.readout.calibrate`, once per calibration seed (``--seeds``), for
``gate_error`` in {"ignore", "extrapolate"} and calibration shots 2^13 and 2^15 per circuit; the
reference is the exact parity *before* readout (density matrix, gate noise only), so what remains is
the calibration's error plus the estimate's own shot noise (``known_matrices``: the true matrices).
Calibration is a one-off per device, so its error is common to every circuit mitigated with it.

Usage (lane B, ~10 s of CPU)::

    flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python \\
        bench/mitigation_readout.py --json bench/results/mitigation_readout.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mitigation import ONE_QUBIT_GATES, P1, P2, bench_noise, ghz
from qtandem.mitigate import Context, ReadoutModel, base_estimator, parse_observable, simulator_executor
from qtandem.mitigate.readout import calibrate
from qtandem.noise import NoiseModel, depolarizing_qiskit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="calibration seeds")
    parser.add_argument("--shots", type=int, default=200_000, help="shots of each mitigated estimate")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    start = time.perf_counter()
    noise = bench_noise()
    gates = (NoiseModel(num_qubits=10).add(depolarizing_qiskit(P1, 1), gates=list(ONE_QUBIT_GATES))
             .add(depolarizing_qiskit(P2, 2), gates=["cx"]))
    circuit, _ = ghz(1000)
    obs = parse_observable(" ".join(f"Z{q}" for q in range(10)), 10)
    exact = obs.exact(circuit, noise=gates)
    run = simulator_executor(noise, seed=0)

    def errors(model_for_seed) -> dict[str, float]:
        errs = []
        for s in range(args.seeds):
            est = base_estimator(Context.create(obs, 10, run)).with_inverse(model_for_seed(s), "bench")
            errs.append(est([circuit], [args.shots], 500 + s)[0].value - exact)
        e = np.array(errs)
        return {"mean_error": float(e.mean()), "sem": float(e.std(ddof=1) / np.sqrt(len(e))),
                "rmse": float(np.sqrt((e ** 2).mean())), "errors": [float(x) for x in e]}

    out: dict[str, object] = {"observable": obs.text, "exact_before_readout": exact, "estimate_shots": args.shots,
                              "seeds": args.seeds, "raw": None, "variants": {}}
    raw = base_estimator(Context.create(obs, 10, run))([circuit], [args.shots], 1)[0]
    out["raw"] = {"value": raw.value, "stderr": raw.stderr}
    variants: dict[str, object] = {}
    for mode in ("ignore", "extrapolate"):
        for cal_shots in (2**13, 2**15):
            variants[f"{mode}_{cal_shots}"] = errors(
                lambda s, mode=mode, cal_shots=cal_shots: calibrate(run, 10, shots=cal_shots, seed=100 + s,
                                                                    gate_error=mode))
            row = variants[f"{mode}_{cal_shots}"]
            print(f"{mode:12s} {cal_shots:6d} shots/circuit: mean error {row['mean_error']:+.4f} "  # type: ignore[index]
                  f"+- {row['sem']:.4f}, rmse {row['rmse']:.4f}", flush=True)  # type: ignore[index]
    true = ReadoutModel.from_noise(noise, 10)
    variants["known_matrices"] = errors(lambda s: true)
    out["variants"] = variants
    out["seconds"] = time.perf_counter() - start
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"known matrices: rmse {variants['known_matrices']['rmse']:.4f}; wrote {args.json}")  # type: ignore[index]


if __name__ == "__main__":
    main()
