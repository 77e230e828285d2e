"""QAOA simulation speed: qtandem's diagonal kernels against QOKit's C simulator, Qiskit Aer and PennyLane.

The problem: MaxCut on a 3-regular graph, ``networkx.random_regular_graph(3, n, seed=n)``, depth
``p = 10``, angles ``gammas ~ U(0.1, 0.6)``, ``betas ~ U(-0.6, -0.1)`` from ``default_rng(1234)``.
Timed: one energy ``<C>`` (state preparation from ``|+>``, p layers, expectation) and, for qtandem,
one energy plus its full gradient (adjoint). Min over ``--repeats`` after one warm-up. The cost
diagonal is computed once per instance beforehand for every simulator that uses one (its time is
reported separately), as QOKit does.

QOKit: its C simulator (``qokit/fur/c/csim/src``: ``fur.c``, ``diagonal.c``, ``qaoa_fur.c``) built from
QOKit's sources with its makefile and ``CFLAGS="-O3 -march=native -fopenmp -fPIC"`` into a shared
library (``make -C .../csim/src CFLAGS=... TARGET_DIR=/tmp/qokit_build``); pass ``--qokit-lib PATH``
or set ``QOKIT_CSIM_LIB``; without it the column is skipped. It is called through ctypes with the ABI
of QOKit's ``qokit/fur/c/csim/lib.py``::

    void apply_qaoa_furx(double *sv_real, double *sv_imag, double *gammas, double *betas,
                         double *hc_diag, unsigned int n_qubits, size_t n_states, size_t n_layers)

which applies ``exp(-i gammas[k]/2 * hc_diag)`` then ``exp(-i betas[k] X)`` on every qubit. With
``hc_diag = -cut`` (QOKit's MaxCut terms) and ``gammas = 2 * gamma`` its state and objective (minus the
expected cut, ``get_qaoa_maxcut_objective``) equal qtandem's ``qaoa_expectation`` at ``gamma``, which the
bench checks (``max_abs_diff``). Two timings: ``qokit_c_apply_s`` (the C call alone, on preallocated
split real/imag arrays, initial state written before the clock starts) and ``qokit_c_energy_s``
(writing ``|+>`` + C call + NumPy expectation, what an energy evaluation costs through QOKit's
Python wrapper). The speed ratio of the target is against the faster, ``qokit_c_apply_s``.

MaxCut's cost is bit-flip symmetric, so by default qtandem's energy and gradient evolve half the state
(``qtandem.sim.diagonal.SYMMETRY``; ``--no-symmetry`` times the full-state path; ``gradient_path`` says which ran,
``workspace_bytes`` what the work arrays take).

Threads: both sides run in this process with ``OMP_NUM_THREADS`` (default 2) OpenMP threads; qtandem
gets the same number explicitly. Qiskit Aer (statevector method, ``max_parallel_threads``) and
PennyLane ``lightning.qubit`` run the exported circuit (``rzz`` + ``rx``), up to ``--peer-max-n``.

Usage::

    flock /tmp/qtandem-cpu0.lock flock /tmp/qtandem-cpu1.lock \\
        python bench/qaoa.py --sizes 20,22,24 --qokit-lib /tmp/qokit_build/libcsim.so --json bench/results/qaoa_a.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse
import ctypes
import json
import platform
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import torch

from qtandem.opt import maxcut
from qtandem.opt.qaoa import qaoa_circuit
from qtandem.sim import diagonal as D


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    out = fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _qokit(path: str | None) -> Any:
    if not path:
        return None
    lib = ctypes.CDLL(path)
    dp = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
    lib.apply_qaoa_furx.argtypes = [dp, dp, dp, dp, dp, ctypes.c_uint, ctypes.c_size_t, ctypes.c_size_t]
    lib.apply_qaoa_furx.restype = None
    return lib


def _aer(circ: Any, diag: np.ndarray, threads: int) -> Callable[[], float] | None:
    try:
        from qiskit import transpile
        from qiskit_aer import AerSimulator
    except ImportError:
        return None
    from qtandem.interop import to_qiskit

    qc = to_qiskit(circ)
    qc.save_statevector()
    sim = AerSimulator(method="statevector", max_parallel_threads=threads, fusion_enable=True)
    tqc = transpile(qc, sim, optimization_level=0)

    def run() -> float:
        sv = np.asarray(sim.run(tqc).result().get_statevector())
        return float(np.dot(diag, sv.real**2 + sv.imag**2))
    return run


def _lightning(circ: Any, diag: np.ndarray) -> Callable[[], float] | None:
    try:
        import pennylane as qml
    except ImportError:
        return None
    n = circ.n_qubits
    dev = qml.device("lightning.qubit", wires=n)
    insts = list(circ)

    @qml.qnode(dev)
    def probs() -> Any:
        for inst in insts:
            w = [n - 1 - q for q in inst.qubits]  # PennyLane: wire 0 is the most significant bit
            if inst.name == "h":
                qml.Hadamard(w[0])
            elif inst.name == "rx":
                qml.RX(float(inst.params[0]), w[0])
            elif inst.name == "rzz":
                qml.IsingZZ(float(inst.params[0]), wires=w)
            else:
                raise ValueError(inst.name)
        return qml.probs(wires=range(n))

    def run() -> float:
        return float(np.dot(diag, np.asarray(probs())))
    return run


def bench(n: int, p: int, repeats: int, threads: int, qokit: Any, peer_max_n: int) -> dict[str, Any]:
    rng = np.random.default_rng(1234)
    gammas, betas = rng.uniform(0.1, 0.6, p), rng.uniform(-0.6, -0.1, p)
    prob = maxcut(nx.random_regular_graph(3, n, seed=n))
    t = time.perf_counter()
    diag = prob.qubo.diagonal()
    t_diag = time.perf_counter() - t
    t = time.perf_counter()
    cost = D.DiagonalCost(diag)
    t_prep = time.perf_counter() - t
    row: dict[str, Any] = {"n": n, "p": p, "threads": threads, "diagonal_s": t_diag, "prepare_s": t_prep,
                           "levels": None if cost.values is None else int(cost.values.size)}
    t_e, e = _time(lambda: D._energy_only(cost, gammas, betas, threads), repeats)
    t_g, (e2, _dg, _db) = _time(lambda: D.qaoa_energy_and_gradient(cost, gammas, betas, threads=threads), repeats)
    store = getattr(cost, "_store", None)
    half = getattr(cost, "_half_args", lambda g, b: None)(gammas, betas) is not None
    path = "stored" if store is not None and store.size else "fused"
    work = cost._work.values() if isinstance(cost._work, dict) else [cost._work]  # older diagonal.py: a list
    row.update(qtandem_energy_s=t_e, qtandem_grad_s=t_g, grad_over_energy=t_g / t_e, energy=e,
               energy_from_grad_call=e2, gradient_path=f"{path}, symmetric half state" if half else path,
               gradient_store_bytes=0 if store is None else int(store.nbytes),
               workspace_bytes=sum(int(a.nbytes) for arrays in work for a in arrays),
               max_rss_mib_so_far=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"n={n}: qtandem energy {t_e:.4f} s, energy+gradient {t_g:.4f} s ({t_g / t_e:.2f}x, "
          f"{row['gradient_path']}, store {row['gradient_store_bytes'] / 2**20:.0f} MiB), E={e:.6f}", flush=True)
    if qokit is not None:
        N = 2**n
        re, im = np.empty(N), np.empty(N)
        g2 = np.ascontiguousarray(2 * gammas)
        b2 = np.ascontiguousarray(betas)

        def apply_only() -> float:
            re[:] = 2 ** (-n / 2)
            im[:] = 0.0
            t0 = time.perf_counter()
            qokit.apply_qaoa_furx(re, im, g2, b2, diag, n, N, p)
            return time.perf_counter() - t0

        def energy() -> float:
            re[:] = 2 ** (-n / 2)
            im[:] = 0.0
            qokit.apply_qaoa_furx(re, im, g2, b2, diag, n, N, p)
            return float(np.dot(diag, re * re + im * im))

        apply_only()
        t_apply = min(apply_only() for _ in range(repeats))
        t_qe, eq = _time(energy, repeats)
        row.update(qokit_c_apply_s=t_apply, qokit_c_energy_s=t_qe, qokit_energy=eq, max_abs_diff=abs(eq - e),
                   speedup_vs_qokit_apply=t_apply / t_e, speedup_vs_qokit_energy=t_qe / t_e)
        print(f"  QOKit C apply {t_apply:.4f} s, energy {t_qe:.4f} s: {t_apply / t_e:.2f}x / {t_qe / t_e:.2f}x; "
              f"|dE| = {abs(eq - e):.2e}", flush=True)
        del re, im
    if n <= peer_max_n:
        circ = qaoa_circuit(prob, gammas, betas)
        for name, make in (("aer", lambda: _aer(circ, diag, threads)), ("lightning", lambda: _lightning(circ, diag))):
            run = make()
            if run is None:
                row[f"{name}_s"] = None
                continue
            t_peer, ep = _time(run, max(1, repeats - 1))
            row.update({f"{name}_s": t_peer, f"{name}_energy": ep, f"{name}_abs_diff": abs(ep - e),
                        f"speedup_vs_{name}": t_peer / t_e})
            print(f"  {name} {t_peer:.4f} s ({t_peer / t_e:.1f}x), |dE| = {abs(ep - e):.2e}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20,22,24,26")
    ap.add_argument("--p", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--qokit-lib", default=os.environ.get("QOKIT_CSIM_LIB"))
    ap.add_argument("--peer-max-n", type=int, default=20)
    ap.add_argument("--json", default=None)
    ap.add_argument("--kernels", default=None,
                    help="load qtandem's kernels from this shared library instead (e.g. an older build of "
                    "_kernels.c, for a before/after run on the same machine)")
    ap.add_argument("--store-limit", type=int, default=None,
                    help="qtandem.sim.diagonal.STORE_LIMIT_BYTES for this run (0: the fused two-vector backward "
                    "at every size; default: the library's)")
    ap.add_argument("--no-symmetry", action="store_true",
                    help="qtandem.sim.diagonal.SYMMETRY = False: the full-state path for the symmetric MaxCut cost")
    args = ap.parse_args(argv)
    if args.no_symmetry:
        D.SYMMETRY = False
    if args.store_limit is not None:
        D.STORE_LIMIT_BYTES = args.store_limit
    if args.kernels:
        import importlib.util

        spec = importlib.util.spec_from_file_location("qtandem.sim._kernels", args.kernels)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        D._kernels = mod
    threads = int(os.environ["OMP_NUM_THREADS"])
    torch.set_num_threads(threads)
    qokit = _qokit(args.qokit_lib)
    if qokit is None:
        print("QOKit C library not given (--qokit-lib or QOKIT_CSIM_LIB): its columns are skipped", flush=True)
    rows = [bench(int(n), args.p, args.repeats, threads, qokit, args.peer_max_n) for n in args.sizes.split(",")]
    out = {"benchmark": "qaoa", "problem": "MaxCut, random 3-regular (seed = n)", "p": args.p,
           "threads": threads, "repeats": args.repeats, "kernels": D._kernels.info(), "kernels_lib": args.kernels,
           "store_limit_bytes": D.STORE_LIMIT_BYTES, "symmetry": D.SYMMETRY,
           "native": D.native_available(), "qokit_lib": args.qokit_lib, "machine": platform.processor() or
           platform.machine(), "python": sys.version.split()[0], "rows": rows}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
