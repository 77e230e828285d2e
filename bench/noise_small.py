"""Noisy density-matrix simulation of many tiny circuits (what device characterization runs).

Circuits of 1-3 active qubits on a seeded ``Device.random`` noise model: Ramsey (sx, delay, rz, sx),
amplified sx trains (1-41 gates) and, from 2 qubits, cx trains; every circuit measured. Times per
circuit for ``NoiseModel.outcome_probabilities`` and for ``qtandem.sample`` (1000 shots), with the
small-state NumPy path (``qtandem.noise.density._SMALL_QUBITS``) on and switched off (the fused,
compiled program every size used before). Both paths must give the same probabilities (checked).

Usage: ``flock /tmp/qtandem-cpu.lock python bench/noise_small.py [--circuits 120] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import qtandem
from qtandem import Circuit
from qtandem.device import Device
from qtandem.noise import density


def circuits(n: int, count: int) -> list[Circuit]:
    out: list[Circuit] = []
    k = 0
    while len(out) < count:
        q = k % n
        m = n  # full width, every qubit measured
        ramsey = Circuit(n, m).sx(q).delay(150.0 * k, q).rz(0.02 * k, q).sx(q)
        train = Circuit(n, m)
        if n > 1:
            train.x((q + 1) % n)
        for _ in range(1 + 4 * (k % 11)):
            train.sx(q)
        for c in (ramsey, train):
            for i in range(n):
                c.measure(i, i)
        out += [ramsey, train]
        if n > 1:
            cxs = Circuit(n, m).sx(0)
            for _ in range(1 + k % 8):
                cxs.cx(0, 1)
            for i in range(n):
                cxs.measure(i, i)
            out.append(cxs)
        k += 1
    return out[:count]


def timed(fn, items) -> tuple[float, list]:
    fn(items[0])  # warm caches once
    t0 = time.perf_counter()
    results = [fn(c) for c in items]
    return (time.perf_counter() - t0) / len(items) * 1e3, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--circuits", type=int, default=120)
    ap.add_argument("--out", default="bench/results/noise_small.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for n in (1, 2, 3):
        model = Device.random(n, "line", seed=0).noise_model()
        items = circuits(n, args.circuits)
        row: dict[str, object] = {"qubits": n, "circuits": len(items)}
        probs = {}
        for label, small in (("numpy_small", density._SMALL_QUBITS), ("fused", 0)):
            saved = density._SMALL_QUBITS
            density._SMALL_QUBITS = small
            try:
                row[f"probabilities_ms_{label}"], probs[label] = timed(model.outcome_probabilities, items)
                row[f"sample_1000_ms_{label}"], _ = timed(
                    lambda c, m=model: qtandem.sample(c, shots=1000, seed=1, noise=m).counts, items)
            finally:
                density._SMALL_QUBITS = saved
        row["max_abs_diff"] = max(float((a - b).abs().max()) for a, b in zip(probs["numpy_small"], probs["fused"],
                                                                               strict=True))
        row["speedup_probabilities"] = row["probabilities_ms_fused"] / row["probabilities_ms_numpy_small"]
        row["speedup_sample"] = row["sample_1000_ms_fused"] / row["sample_1000_ms_numpy_small"]
        print(json.dumps(row))
        rows.append(row)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "noise_small", "python": platform.python_version(),
                                          "torch": torch.__version__, "threads": 1, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
