"""Why the mitigated noisy-VQE estimates scattered +-10 mHa with stderrs < 1 mHa (issue 18), and the ZNE choice.

DEV set: the ten final circuits of bench/results/chem_noisy_vqe.json (LiH CAS(2,2), 1.595 and 3.0 A, seeds
0-4, compiled for line_5 with their seeds, exactly as that run compiled them: tiny angles not nudged).
For each, <H> is estimated with exact readout matrices (readout(calibration="noise")) and 10^8 shots, so shot
noise (~0.3 mHa) is negligible, under several ZNE settings; reported: the bias against the noiseless energy of
the same parameters. Then the stderr check: one circuit estimated with 5 sampling seeds as the run did
(calibrated readout + the old ZNE, 10^6 shots per basis): the spread of the values against their stderrs.

Usage:
    python bench/chem_noisy_zne_dev.py          # -> bench/results/chem_noisy_zne_dev.json (~3 min)
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    from qtandem.chem import Molecule
    from qtandem.chem.ansatz import ansatz
    from qtandem.chem.noisy import ZNE_SCALES, device_energy, routed_observable
    from qtandem.mitigate import execute, readout, simulator_executor, zne

    variants = {"fold_global [1, 1.5, 2] (old default)": zne,
                "fold_global [1, 3] (ZNE_SCALES)": lambda: zne(list(ZNE_SCALES)),
                "fold_global [1, 3, 5]": lambda: zne([1, 3, 5]),
                "fold_global [1, 3, 5] richardson": lambda: zne([1, 3, 5], "richardson"),
                "parameter [1, 1.5, 2] (needs the noise model)": lambda: zne(scaling="parameter")}
    runs = json.loads((RESULTS / "chem_noisy_vqe.json").read_text())["rows"]
    rows = []
    for dist in (1.595, 3.0):
        p = Molecule(f"Li 0 0 0; H 0 0 {dist}").problem(active=(2, 2), references="none")
        a = ansatz(p, "uccsd")
        for r in (r for r in runs if r["distance"] == dist):
            x = np.asarray(r["mitigated"]["parameters"])
            exact = a.energy(x)
            compiled, obs, target, report = routed_observable(p, a.circuit(x), "line_5", seed=r["seed"])
            row = {"distance": dist, "seed": r["seed"], "parameters": x.tolist(), "cx": report["two_qubit_after"],
                   "bias_mha": {}}
            for name, make in variants.items():
                res = execute(compiled, obs, simulator_executor(target, seed=5), shots=10**8, seed=3, noise=target,
                              methods=[readout(calibration="noise"), make()], raw=False)
                row["bias_mha"][name] = 1e3 * (res.value - exact)
            rows.append(row)
            print(dist, r["seed"], row["cx"], {k: round(v, 2) for k, v in row["bias_mha"].items()}, flush=True)
    summary = {}
    for dist in (1.595, 3.0):
        sub = [r for r in rows if r["distance"] == dist]
        summary[str(dist)] = {k: {"min": min(r["bias_mha"][k] for r in sub),
                                  "max": max(r["bias_mha"][k] for r in sub)} for k in variants}
    # the stderr check: one circuit (1.595 A, seed 0), five sampling seeds, the run's own estimator
    p = Molecule("Li 0 0 0; H 0 0 1.595").problem(active=(2, 2), references="none")
    a = ansatz(p, "uccsd")
    x = np.asarray(runs[0]["mitigated"]["parameters"])
    vals, errs = [], []
    for s in range(5):
        e = device_energy(p, a.circuit(x), "line_5", mitigation=[readout(), zne()], shots=1_000_000, seed=100 + s,
                          compile_seed=0, raw=False)
        vals.append(e.value)
        errs.append(e.stderr)
    stderr_check = {"values_mha_vs_exact": [1e3 * (v - a.energy(x)) for v in vals],
                    "stderrs_mha": [1e3 * e for e in errs], "std_of_values_mha": 1e3 * float(np.std(vals, ddof=1)),
                    "mean_stderr_mha": 1e3 * float(np.mean(errs))}
    print("stderr check:", {k: np.round(v, 2).tolist() for k, v in stderr_check.items()})
    out = {"rows": rows, "summary": summary, "stderr_check": stderr_check, "python": sys.version.split()[0],
           "platform": platform.platform(), "numpy": np.__version__, "command": " ".join(sys.argv)}
    path = RESULTS / "chem_noisy_zne_dev.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
