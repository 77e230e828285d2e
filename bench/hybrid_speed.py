"""Hybrid-layer training step speed against PennyLane (and TorchQuantum where installed), one run.

Workload (issue 5): angle encoding (RY per feature) + hardware-efficient ansatz
(RY, RZ on every qubit, CX ring) with ``layers`` layers, <Z_i> on every qubit,
MSE loss against random targets, forward + backward, float32/complex64 where the
tool allows, 2 threads. Cases: 12 qubits x batch 256 (6 layers), 16 x 32, 20 x 4.

Tools:
* qtandem ``QuantumLayer`` with ``diff_method="backprop"`` and ``"adjoint"``;
* PennyLane ``default.qubit`` (torch interface, backprop, parameter broadcasting);
* PennyLane ``lightning.qubit`` with ``diff_method="adjoint"`` (broadcast batch);
* TorchQuantum (``tq.QuantumDevice`` batched, backprop) if it imports.

Before timing, every tool's outputs on the same inputs and weights are compared
with qtandem's (max |difference| printed). Each time is the median of
``--repeats`` steps after one warm-up; the whole measurement is repeated ``--runs`` times
(default 3, tools rebuilt each run) and the table reports the median run, with the slowdown
range over runs (peer timings vary a lot between runs on a shared machine). A peer that takes longer than
``--peer-timeout`` seconds for one step is reported as such and not repeated.

``--memory`` also measures peak RSS of one training step at 20 qubits and batch 8
(fresh subprocesses): adjoint at 5 and 50 layers, backprop at 5 and 10 layers
(backprop keeps a state per fused block, so 50 layers would need tens of GB).

Run: python bench/hybrid_speed.py [--cases 12x256,16x32,20x4] [--layers 6] [--repeats 3] [--runs 3] [--json OUT]
[--memory]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np
import torch

from qtandem.hybrid import QuantumLayer


def timed(step, repeats: int, budget: float) -> float:
    t0 = time.perf_counter()
    step()  # warm-up
    first = time.perf_counter() - t0
    if first > budget:
        return first
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def qtandem_step(n: int, layers: int, x: torch.Tensor, y: torch.Tensor, w: np.ndarray, method: str):
    layer = QuantumLayer(n_qubits=n, layers=layers, diff_method=method, dtype=torch.float32)
    with torch.no_grad():
        layer.weights.copy_(torch.as_tensor(w.reshape(-1), dtype=torch.float32))

    def step():
        layer.zero_grad()
        loss = ((layer(x) - y) ** 2).mean()
        loss.backward()
        return loss

    return step, lambda: layer(x).detach().numpy()


def pennylane_step(n: int, layers: int, x: torch.Tensor, y: torch.Tensor, w: np.ndarray, device: str):
    import pennylane as qml

    dev = qml.device(device, wires=n)
    diff = "backprop" if device == "default.qubit" else "adjoint"

    @qml.qnode(dev, interface="torch", diff_method=diff)
    def circuit(inputs, weights):
        for i in range(n):
            qml.RY(inputs[..., i], wires=i)
        for layer in range(layers):
            for q in range(n):
                qml.RY(weights[layer, q, 0], wires=q)
                qml.RZ(weights[layer, q, 1], wires=q)
            for q in range(n):
                qml.CNOT(wires=[q, (q + 1) % n])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    dtype = torch.float32 if device == "default.qubit" else torch.float64
    weights = torch.tensor(w, dtype=dtype, requires_grad=True)
    xx, yy = x.to(dtype), y.to(dtype)

    def forward():
        return torch.stack(circuit(xx, weights), dim=-1)

    def step():
        weights.grad = None
        loss = ((forward() - yy) ** 2).mean()
        loss.backward()
        return loss

    return step, lambda: forward().detach().numpy()


def torchquantum_step(n: int, layers: int, x: torch.Tensor, y: torch.Tensor, w: np.ndarray):
    import torchquantum as tq
    import torchquantum.functional as tqf

    weights = torch.tensor(w, dtype=torch.float32, requires_grad=True)

    def forward():
        qdev = tq.QuantumDevice(n_wires=n, bsz=x.shape[0], device="cpu")
        for i in range(n):
            tqf.ry(qdev, wires=i, params=x[:, i])
        for layer in range(layers):
            for q in range(n):
                tqf.ry(qdev, wires=q, params=weights[layer, q, 0].expand(x.shape[0]))
                tqf.rz(qdev, wires=q, params=weights[layer, q, 1].expand(x.shape[0]))
            for q in range(n):
                tqf.cnot(qdev, wires=[q, (q + 1) % n])
        return _tq_z(qdev, n)

    def step():
        weights.grad = None
        loss = ((forward() - y) ** 2).mean()
        loss.backward()
        return loss

    return step, lambda: forward().detach().numpy()


def _tq_z(qdev, n: int) -> torch.Tensor:
    probs = qdev.get_states_1d().abs() ** 2  # (B, 2**n), wire 0 is the most significant bit in TorchQuantum
    idx = torch.arange(2**n)
    cols = [(1 - 2 * ((idx >> (n - 1 - i)) & 1)).to(probs.dtype) for i in range(n)]
    return torch.stack([probs @ c for c in cols], dim=-1)


def summarize_runs(runs: dict[str, list[float]]) -> dict[str, Any]:
    """Median of each tool's runs, and each peer's slowdown against qtandem backprop per run and at the median.

    Peer timings vary a lot between runs on a shared machine, so one run's ratio can overstate; the
    ``seconds`` of a row are the medians, ``runs`` keeps every run, ``slowdown_range`` the spread.

    Examples:
        >>> row = summarize_runs({"qtandem backprop": [0.3, 0.4, 0.35], "peer": [2.4, 14.7, 9.0]})
        >>> row["seconds"]["peer"], round(row["slowdown_median"]["peer"], 1), row["slowdown_range"]["peer"]
        (9.0, 25.7, [8.0, 36.7])
    """
    seconds = {name: statistics.median(ts) for name, ts in runs.items()}
    base = runs.get("qtandem backprop")
    slow: dict[str, float] = {}
    spread: dict[str, list[float]] = {}
    if base:
        for name, ts in runs.items():
            if not name.startswith("qtandem"):
                slow[name] = seconds[name] / seconds["qtandem backprop"]
                per_run = [t / b for t, b in zip(ts, base, strict=False)]
                spread[name] = [round(min(per_run), 1), round(max(per_run), 1)]
    return {"seconds": seconds, "runs": runs, "slowdown_median": slow, "slowdown_range": spread}


def report_row(row: dict[str, Any]) -> str:
    """One line per peer: median slowdown against qtandem backprop and the range over runs."""
    return "\n".join(f"  {name}: median {row['seconds'][name]:.3f} s/step, {s:.1f}x slower than qtandem backprop "
                     f"(runs: {row['slowdown_range'][name][0]}x to {row['slowdown_range'][name][1]}x, "
                     f"{len(row['runs'][name])} runs)" for name, s in row["slowdown_median"].items())


def memory_probe(method: str, layers: int) -> int:
    """Peak RSS (bytes) of one training step at 20 qubits, batch 8, in a fresh process."""
    code = f"""
import torch
torch.set_num_threads(2)
from qtandem.hybrid import QuantumLayer
layer = QuantumLayer(n_qubits=20, layers={layers}, diff_method={method!r}, dtype=torch.float32, seed=0)
x = torch.rand(8, 20)
loss = (layer(x) ** 2).mean()
loss.backward()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (large) parent process
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(int(hwm.split()[1]) * 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        return -1
    return int(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="12x256,16x32,20x4")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peer-timeout", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=3,
                    help="independent runs per case (each tool is rebuilt and timed again); the table is their median")
    ap.add_argument("--tools", default=None,
                    help="comma-separated tool names to time (default: all available), e.g. "
                         "'qtandem backprop,pennylane default.qubit'")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true", help="skip the timings")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    tools: list[tuple[str, object]] = [
        ("qtandem backprop", lambda *a: qtandem_step(*a, method="backprop")),
        ("qtandem adjoint", lambda *a: qtandem_step(*a, method="adjoint")),
    ]
    try:
        import pennylane  # noqa: F401

        tools.append(("pennylane default.qubit", lambda *a: pennylane_step(*a, device="default.qubit")))
        tools.append(("pennylane lightning adjoint", lambda *a: pennylane_step(*a, device="lightning.qubit")))
    except ImportError:
        print("note: pennylane not installed (pip install -e .[bench])")
    try:
        import torchquantum  # noqa: F401

        tools.append(("torchquantum", torchquantum_step))
    except Exception as exc:
        print(f"note: torchquantum not available ({type(exc).__name__}: {exc})")
    if args.tools:
        wanted = [t.strip() for t in args.tools.split(",")]
        unknown = sorted(set(wanted) - {name for name, _ in tools})
        if unknown:
            ap.error(f"unknown or unavailable tools {unknown}; available: {[name for name, _ in tools]}")
        tools = [(name, make) for name, make in tools if name in wanted]
    rows = []
    for case in ([] if args.memory_only else args.cases.split(",")):
        n, batch = (int(v) for v in case.split("x"))
        rng = np.random.default_rng(0)
        x = torch.tensor(rng.uniform(0, np.pi, (batch, n)), dtype=torch.float32)
        y = torch.tensor(rng.uniform(-1, 1, (batch, n)), dtype=torch.float32)
        w = rng.uniform(0, 2 * np.pi, (args.layers, n, 2))
        print(f"\n{n} qubits, batch {batch}, {args.layers} layers")
        ref = None
        runs: dict[str, list[float]] = {}
        for run in range(args.runs):
            for name, make in tools:
                try:
                    step, fwd = make(n, args.layers, x, y, w)  # type: ignore[operator]
                    out = fwd()
                except Exception as exc:
                    print(f"  {name:<30} failed: {type(exc).__name__}: {str(exc)[:100]}")
                    continue
                if ref is None:
                    ref = out
                diff = float(np.abs(np.asarray(out, dtype=np.float64) - ref).max())
                t = timed(step, args.repeats, args.peer_timeout)
                runs.setdefault(name, []).append(t)
                print(f"  run {run + 1}/{args.runs} {name:<30} {t:9.3f} s/step   max|out - qtandem| = {diff:.1e}",
                      flush=True)
        row = summarize_runs(runs)
        print(report_row(row))
        rows.append({"qubits": n, "batch": batch, "layers": args.layers, **row})
    memory = {}
    if args.memory or args.memory_only:
        # backprop keeps one state per fused block: at 50 layers it would need tens of GB, so it is
        # probed at 5 and 10 layers to show the growth; adjoint at 5 and 50 layers
        for method, layers in (("adjoint", 5), ("adjoint", 50), ("backprop", 5), ("backprop", 10)):
            rss = memory_probe(method, layers)
            memory[f"{method} {layers} layers"] = rss
            print(f"peak RSS, 20 qubits x {layers} layers x batch 8, {method}: {rss / 2**30:.2f} GiB", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": args.threads, "rows": rows, "peak_rss_20q_b8": memory}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
