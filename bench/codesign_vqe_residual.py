"""Where the LiH VQE energy error of the co-design loop comes from (issue 20 s.3 diagnosis; no shots, exact).

The loop's LiH state (``VQEWorkload``, CAS(2,2)) is compiled by the loop's compile stage for the
hidden device's *actual* calibration (the oracle belief: noise-aware layout, its coherent errors
cancelled where the compiler can), and its energy error ``|E - E_exact|`` (Ha) is computed exactly
(density matrix, no readout) under parts of the actual device's noise:

- ``full``: every error of the actual device (what readout-mitigated shots estimate);
- ``coherent``: only the coherent ones (over-rotations, detuning, static ZZ; T1/T2 at 1e12, gate
  errors 0): what PEC, which inverts Pauli-twirled channels, cannot remove;
- ``incoherent``: only relaxation and gate errors (coherent angles 0);
- ``no_idle``: every error but the idle ones (``noise_model(idle=False)``).

Usage: ``flock /tmp/qt_lane_b.lock env OMP_NUM_THREADS=1 .venv/bin/python bench/codesign_vqe_residual.py
--seeds 0 1 2 3 4 --out bench/results/codesign_vqe_residual.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

COHERENT = ("detuning", "sx_angle_error", "x_angle_error", "angle_error", "zz")
INCOHERENT = ("error", "gate_error_1q")


def parts(device: Any) -> dict[str, Any]:
    """Noise models of the parts of ``device``'s noise (readout left out)."""
    from qtandem.codesign.params import device_parameters, with_parameters

    params = device_parameters(device)
    coherent_off = {p: 0.0 for p in params if p.rsplit(".", 1)[-1] in COHERENT}
    incoherent_off = {p: 0.0 for p in params if p.rsplit(".", 1)[-1] in INCOHERENT}
    incoherent_off |= {p: 1e12 for p in params if p.rsplit(".", 1)[-1] in ("t1", "t2")}
    return {"full": device.noise_model(readout=False),
            "coherent": with_parameters(device, incoherent_off).noise_model(readout=False),
            "incoherent": with_parameters(device, coherent_off).noise_model(readout=False),
            "no_idle": device.noise_model(readout=False, idle=False)}


def run(seeds: list[int], n_qubits: int) -> list[dict[str, Any]]:
    import torch

    from codesign_vqe_pec import state_on_device
    from qtandem.circuit.pauli import PauliSum
    from qtandem.codesign.drift import hidden_device
    from qtandem.codesign.workloads import VQEWorkload
    from qtandem.noise.density import density_matrix
    from qtandem.sim.expectation import dm_expectation

    torch.set_num_threads(1)
    prep = VQEWorkload().prepare()
    ham = prep["problem"].hamiltonian
    exact = prep["exact_energy"]
    constant = sum(c.real for c, word in ham.terms if not word)
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        actual = hidden_device(n_qubits, seed=seed, coupling="heavy_hex").actual(0)
        body, phys, ops = state_on_device(prep, actual, seed)
        obs = PauliSum({tuple((phys[q], p) for q, p in word): c for c, word in ham.terms if word})
        row: dict[str, Any] = {"seed": seed, "cx": ops.get("cx", 0), "qubits": phys}
        for name, model in parts(actual).items():
            rho = density_matrix(body, noise=model)
            energy = constant + float(dm_expectation(rho, obs).real)
            row[name] = abs(energy - exact)
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "qubits"}),
              flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--n-qubits", type=int, default=10)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    rows = run(args.seeds, args.n_qubits)
    summary = {k: statistics.fmean(r[k] for r in rows) for k in ("full", "coherent", "incoherent", "no_idle")}
    print(json.dumps({k: round(v, 4) for k, v in summary.items()}))
    args.out.write_text(json.dumps({"benchmark": "codesign_vqe_residual", "belief": "oracle (actual device)",
                                    "seeds": args.seeds, "n_qubits": args.n_qubits, "error_mean_ha": summary,
                                    "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
