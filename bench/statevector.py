"""Statevector benchmark: qtandem against Qiskit Aer, qulacs and PennyLane lightning.

The circuit: ``n`` qubits, 20 layers; each layer is ``rx(a)`` on every qubit,
``rz(b)`` on every qubit, then ``cx`` on alternating neighbour pairs (even layers
``(0,1),(2,3),...``, odd layers ``(1,2),(3,4),...``), angles from
``numpy.random.default_rng(1234)``. 2 threads everywhere, median of ``--repeats``
timings after one warm-up. Each timing covers one simulator call on a prebuilt
circuit (state allocation included, circuit construction and peers' circuit
optimisation excluded). Before timing, qtandem's complex128 state is checked
against Aer's (fidelity > 1 - 1e-9).

Usage::

    python bench/statevector.py --sizes 12,16,20,22,24 --repeats 3 --json out.json

Other builds of the native kernels run in the same process, on the same circuits,
next to the installed one: ``--kernels native=PATH`` times qtandem again with the
extension at ``PATH`` (e.g. built with ``QTANDEM_MARCH_NATIVE=1 python setup.py
build_ext --build-lib DIR``), ``--scalar`` with the installed build's scalar kernels
(what a CPU without AVX2 gets). Their columns are ``qtandem-<name>_c128`` / ``_c64``.

Peers come from ``pip install -e .[bench]``; missing ones are skipped with a note.
Timings on a shared machine are noisy: compare ratios from the same run.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # qulacs / lightning read it at import

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

THREADS = 2
LAYERS = 20
SEED = 1234
torch.set_num_threads(THREADS)


def angles(n: int, layers: int = LAYERS, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The ``(layers, n)`` rx and rz angles of the layered circuit."""
    rng = np.random.default_rng(seed)
    a = np.empty((layers, n))
    b = np.empty((layers, n))
    for layer in range(layers):
        a[layer] = rng.uniform(0, 2 * np.pi, n)
        b[layer] = rng.uniform(0, 2 * np.pi, n)
    return a, b


def pairs(n: int, layer: int) -> list[tuple[int, int]]:
    """The cx pairs of a layer."""
    return [(q, q + 1) for q in range(layer % 2, n - 1, 2)]


# ----------------------------------------------------------------------------- qtandem


def numeric_ops(n: int, layers: int = LAYERS) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """The layered circuit as numeric ops (the fast path's input format)."""
    a, b = angles(n, layers)
    cx = np.eye(4, dtype=complex)[[0, 3, 2, 1]]
    ops: list[tuple[tuple[int, ...], np.ndarray]] = []
    for layer in range(layers):
        for q in range(n):
            c, s = np.cos(a[layer, q] / 2), np.sin(a[layer, q] / 2)
            ops.append(((q,), np.array([[c, -1j * s], [-1j * s, c]])))
        for q in range(n):
            ops.append(((q,), np.diag([np.exp(-0.5j * b[layer, q]), np.exp(0.5j * b[layer, q])])))
        ops += [((c, t), cx) for c, t in pairs(n, layer)]
    return ops


def has_public_api() -> bool:
    """True when ``qtandem.statevector`` and ``qtandem.Circuit`` import."""
    try:
        import qtandem
    except Exception:
        return False
    return hasattr(qtandem, "statevector") and hasattr(qtandem, "Circuit")


def qtandem_circuit(n: int, layers: int = LAYERS, *, parametric: bool = False):
    """The layered circuit as a ``qtandem.Circuit`` (free parameters if ``parametric``)."""
    import qtandem

    a, b = angles(n, layers)
    c = qtandem.Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.rx(qtandem.Parameter(f"a{layer}_{q}") if parametric else float(a[layer, q]), q)
        for q in range(n):
            c.rz(qtandem.Parameter(f"b{layer}_{q}") if parametric else float(b[layer, q]), q)
        for ctl, tgt in pairs(n, layer):
            c.cx(ctl, tgt)
    return c


def qtandem_runner(n: int, dtype: torch.dtype) -> tuple[str, Callable[[], np.ndarray]]:
    """How qtandem is timed: the public API when present, else the fast path directly."""
    if has_public_api():
        import qtandem

        circ = qtandem_circuit(n)
        return "qtandem.statevector", lambda: qtandem.statevector(circ, dtype=dtype).numpy()
    from qtandem.sim.fast import simulate_numeric

    ops = numeric_ops(n)
    return "fast.simulate_numeric", lambda: simulate_numeric(n, ops, dtype=dtype, threads=THREADS).numpy()


def load_kernels(path: str) -> ModuleType:
    """Another build of ``qtandem.sim._kernels`` (a ``.so`` file), loaded under a private name."""
    spec = importlib.util.spec_from_file_location(f"qtandem_bench_{abs(hash(path))}._kernels", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load native kernels from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_kernels(fn: Callable[[], np.ndarray], kernels: ModuleType | None = None,
                 simd: str | None = None) -> Callable[[], np.ndarray]:
    """``fn`` run with ``kernels`` in place of the installed extension and/or its ``simd`` flavour."""
    from qtandem.sim import fast

    def run() -> np.ndarray:
        saved = fast._kernels
        mod = kernels if kernels is not None else saved
        previous = mod.set_simd(simd) if simd is not None else None
        fast._kernels = mod
        try:
            return fn()
        finally:
            fast._kernels = saved
            if previous is not None:
                mod.set_simd(previous)

    return run


def build_info(variants: dict[str, tuple[ModuleType | None, str | None]]) -> dict:
    """Compile flags of the default build and ``info()`` of every kernel build timed."""
    from qtandem.sim import fast

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from setup_ext import compile_args

    out: dict = {"default_compile_args": compile_args({}), "installed": None, "variants": {}}
    if fast._kernels is not None:
        out["installed"] = fast._kernels.info()
    for name, (mod, simd) in variants.items():
        info = (mod or fast._kernels).info() if (mod or fast._kernels) is not None else None
        out["variants"][name] = {"kernels": getattr(mod, "__file__", "installed"), "simd": simd or
                                 (info or {}).get("simd"), "info": info}
    return out


# ----------------------------------------------------------------------------- peers


def aer_runner(n: int) -> Callable[[], np.ndarray]:
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    a, b = angles(n)
    qc = QuantumCircuit(n)
    for layer in range(LAYERS):
        for q in range(n):
            qc.rx(a[layer, q], q)
        for q in range(n):
            qc.rz(b[layer, q], q)
        for ctl, tgt in pairs(n, layer):
            qc.cx(ctl, tgt)
    qc.save_statevector()
    sim = AerSimulator(method="statevector", max_parallel_threads=THREADS, fusion_enable=True)
    return lambda: np.asarray(sim.run(qc).result().get_statevector())


def qulacs_runner(n: int, mode: str) -> Callable[[], np.ndarray]:
    """``mode``: ``plain``, ``opt2`` (``optimize(circuit, 2)``) or ``light`` (``optimize_light``)."""
    from qulacs import QuantumCircuit, QuantumState
    from qulacs.circuit import QuantumCircuitOptimizer

    a, b = angles(n)
    qc = QuantumCircuit(n)
    for layer in range(LAYERS):
        for q in range(n):  # qulacs rotations are exp(+i angle P / 2): negate
            qc.add_RX_gate(q, -a[layer, q])
        for q in range(n):
            qc.add_RZ_gate(q, -b[layer, q])
        for ctl, tgt in pairs(n, layer):
            qc.add_CNOT_gate(ctl, tgt)
    if mode == "opt2":
        QuantumCircuitOptimizer().optimize(qc, 2)
    elif mode == "light":
        QuantumCircuitOptimizer().optimize_light(qc)

    def run() -> np.ndarray:
        st = QuantumState(n)
        qc.update_quantum_state(st)
        return st.get_vector()

    return run


def lightning_runner(n: int) -> Callable[[], np.ndarray]:
    import pennylane as qml

    a, b = angles(n)
    dev = qml.device("lightning.qubit", wires=n)

    @qml.qnode(dev)
    def circuit():
        for layer in range(LAYERS):
            for q in range(n):
                qml.RX(a[layer, q], wires=q)
            for q in range(n):
                qml.RZ(b[layer, q], wires=q)
            for ctl, tgt in pairs(n, layer):
                qml.CNOT(wires=[ctl, tgt])
        return qml.state()

    # PennyLane wire 0 is the most significant bit: reverse to little-endian.
    return lambda: np.asarray(circuit()).reshape([2] * n).transpose(list(range(n))[::-1]).reshape(-1)


PEERS: dict[str, tuple[str, Callable[[int], Callable[[], np.ndarray]]]] = {
    "aer": ("qiskit_aer", aer_runner),
    "qulacs": ("qulacs", lambda n: qulacs_runner(n, "plain")),
    "qulacs-opt2": ("qulacs", lambda n: qulacs_runner(n, "opt2")),
    "qulacs-light": ("qulacs", lambda n: qulacs_runner(n, "light")),
    "lightning": ("pennylane_lightning", lightning_runner),
}


# ----------------------------------------------------------------------------- timing


def timed(fn: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Median wall time of ``repeats`` calls after one warm-up, and the warm-up result."""
    out = fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def fidelity(x: np.ndarray, y: np.ndarray) -> float:
    return float(abs(np.vdot(x, y)) ** 2 / (np.vdot(x, x).real * np.vdot(y, y).real))


def qtandem_labels(variants: dict[str, tuple[ModuleType | None, str | None]]) -> list[str]:
    """Row keys of qtandem's timings: the installed build, then every variant, c128 and c64."""
    return [f"{prefix}_{dt}" for prefix in ["qtandem", *(f"qtandem-{v}" for v in variants)] for dt in ("c128", "c64")]


def bench_sizes(sizes: list[int], repeats: int, peers: list[str],
                variants: dict[str, tuple[ModuleType | None, str | None]] | None = None) -> list[dict]:
    """Time every simulator at every size: one warm-up (also the correctness
    check against Aer), then ``repeats`` consecutive calls, median reported.
    (Interleaving simulators call by call makes their OpenMP runtimes' spinning
    threads fight each other, which distorts small sizes badly.)"""
    variants = variants or {}
    rows = []
    for n in sizes:
        row: dict = {"n": n}
        runners: dict[str, Callable[[], np.ndarray]] = {}
        for name in peers:
            module, make = PEERS[name]
            if importlib.util.find_spec(module) is None:
                row[name] = None
                continue
            runners[name] = make(n)
        for dt_name, dt in (("c128", torch.complex128), ("c64", torch.complex64)):
            row["qtandem_via"], runners[f"qtandem_{dt_name}"] = qtandem_runner(n, dt)
            for vname, (mod, simd) in variants.items():
                runners[f"qtandem-{vname}_{dt_name}"] = with_kernels(runners[f"qtandem_{dt_name}"], mod, simd)
        outs = {name: fn() for name, fn in runners.items()}  # warm-up + correctness
        ref = outs.get("aer")
        if ref is not None:
            for name, out in outs.items():
                if name != "aer":
                    row[f"{name}_fidelity"] = fidelity(ref, out.astype(np.complex128))
            for label in qtandem_labels(variants):
                tol = 1e-9 if label.endswith("c128") else 1e-4
                if row[f"{label}_fidelity"] < 1 - tol:
                    raise SystemExit(f"{label} disagrees with Aer at n={n}: fidelity {row[f'{label}_fidelity']}")
        for name, fn in runners.items():
            time.sleep(0.2)  # let the previous library's OpenMP threads stop spinning
            row[name], _ = timed(fn, repeats)
        rows.append(row)
        print_row(row, peers, header=len(rows) == 1, labels=qtandem_labels(variants))
    return rows


def print_row(row: dict, peers: list[str], header: bool, labels: list[str] | None = None) -> None:
    present = [p for p in peers if row.get(p) is not None]
    if header:
        print(f"{'n':>3} {'qtandem':>16} {'seconds':>9} " + " ".join(f"{p:>22}" for p in peers))
    for label in labels or ["qtandem_c128", "qtandem_c64"]:
        cells = []
        for p in peers:
            if row.get(p) is None:
                cells.append(f"{'(not installed)':>22}")
            else:
                cells.append(f"{row[p]:9.3f}s x{row[label] / row[p]:6.2f}     ")
        print(f"{row['n']:>3} {label[7:].lstrip('_-'):>16} {row[label]:9.3f} " + " ".join(cells))
    if not present:
        print("    (no peers installed: pip install -e .[bench])")
    sys.stdout.flush()


# ----------------------------------------------------------------------------- batched and gradient cases


def bench_batched(n: int = 12, batch: int = 256, repeats: int = 3) -> dict | None:
    """qtandem with a ``(batch, P)`` params tensor vs a loop of Aer / lightning runs."""
    if not has_public_api():
        print("batched case skipped: qtandem.statevector is not available")
        return None
    import qtandem

    circ = qtandem_circuit(n, parametric=True)
    p = len(circ.parameters)
    params = torch.rand(batch, p, dtype=torch.float64, generator=torch.Generator().manual_seed(SEED)) * 2 * np.pi
    out: dict = {"n": n, "batch": batch}
    try:
        out["qtandem"], _ = timed(lambda: qtandem.statevector(circ, params).numpy(), repeats)
    except Exception as exc:
        print(f"batched case skipped: {type(exc).__name__}: {exc}")
        return None
    if importlib.util.find_spec("qiskit_aer") is not None:
        run = aer_runner(n)
        out["aer_loop"], _ = timed(lambda: [run() for _ in range(batch)], 1)
    if importlib.util.find_spec("pennylane_lightning") is not None:
        run = lightning_runner(n)
        out["lightning_loop"], _ = timed(lambda: [run() for _ in range(batch)], 1)
    print("batched:", {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()})
    return out


def _gradient_row(n: int, repeats: int) -> dict:
    import qtandem

    circ = qtandem_circuit(n, parametric=True)
    a, b = angles(n)
    init = torch.tensor(np.stack([a, b], axis=1).reshape(-1), dtype=torch.float64)

    def qt_grad() -> np.ndarray:
        x = init.clone().requires_grad_(True)
        qtandem.expval(circ, "Z0", x).backward()
        return x.grad.numpy()

    def qt_adjoint() -> np.ndarray:
        from qtandem.sim.adjoint import adjoint_expval

        x = init.clone().requires_grad_(True)
        adjoint_expval(circ, [qtandem.PauliSum.from_string("Z0")], x).sum().backward()
        return x.grad.numpy()

    row: dict = {"n": n}
    row["qtandem_backprop"], g_backprop = timed(qt_grad, repeats)
    row["qtandem_adjoint"], g_adjoint = timed(qt_adjoint, repeats)
    row["max_grad_difference"] = float(np.abs(g_backprop - g_adjoint).max())
    if importlib.util.find_spec("pennylane_lightning") is not None:
        import pennylane as qml
        from pennylane import numpy as pnp

        dev = qml.device("lightning.qubit", wires=n)

        @qml.qnode(dev, diff_method="adjoint")
        def f(ab):
            for layer in range(LAYERS):
                for q in range(n):
                    qml.RX(ab[layer, 0, q], wires=q)
                for q in range(n):
                    qml.RZ(ab[layer, 1, q], wires=q)
                for ctl, tgt in pairs(n, layer):
                    qml.CNOT(wires=[ctl, tgt])
            return qml.expval(qml.PauliZ(0))

        x = pnp.array(np.stack([a, b], axis=1), requires_grad=True)
        row["lightning_adjoint"], _ = timed(lambda: qml.grad(f)(x), repeats)
    return row


def bench_gradient(sizes: tuple[int, ...] = (12, 16), repeats: int = 3) -> list[dict] | None:
    """Gradient of <Z0>: qtandem backprop (autograd through ``qtandem.expval``) and adjoint vs lightning adjoint.

    The parameter order is the circuit's (``a{layer}_{q}``, then ``b{layer}_{q}``
    per layer, as created by :func:`qtandem_circuit`).
    """
    if not has_public_api() or not hasattr(__import__("qtandem"), "expval"):
        print("gradient case skipped: qtandem.expval is not available")
        return None
    rows = []
    for n in sizes:
        try:
            row = _gradient_row(n, repeats)
        except Exception as exc:
            print(f"gradient case skipped: {type(exc).__name__}: {exc}")
            return None
        rows.append(row)
        print("gradient:", {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,16,20,22,24")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers", default=",".join(PEERS), help=f"subset of {','.join(PEERS)}")
    ap.add_argument("--extra", action="store_true", help="also run the batched and gradient cases")
    ap.add_argument("--kernels", action="append", default=[], metavar="NAME=PATH",
                    help="also time qtandem with the native kernels built at PATH (column qtandem-NAME)")
    ap.add_argument("--scalar", action="store_true",
                    help="also time the installed build's scalar kernels (column qtandem-scalar)")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    peers = [p for p in args.peers.split(",") if p]
    variants: dict[str, tuple[ModuleType | None, str | None]] = {}
    for spec in args.kernels:
        name, sep, path = spec.partition("=")
        if not sep or not name or not Path(path).is_file():
            ap.error(f"--kernels expects NAME=PATH to a built _kernels extension, got {spec!r}")
        variants[name] = (load_kernels(path), None)
    if args.scalar:
        variants["scalar"] = (None, "scalar")
    print(f"layered circuit, {LAYERS} layers, {THREADS} threads, median of {args.repeats} (seconds; "
          "xR = qtandem time / peer time)")
    results: dict = {"build": build_info(variants), "sizes": bench_sizes(sizes, args.repeats, peers, variants)}
    if args.extra:
        results["batched"] = bench_batched(repeats=args.repeats)
        results["gradient"] = bench_gradient(repeats=args.repeats)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
