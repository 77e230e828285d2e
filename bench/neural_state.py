"""NeuralStateModel at 20 qubits (issue 16 section 3): GHZ, W and the critical TFIM ground state.

Data design (fixed before seeing any result, the same for every state): ``--bases`` random bases
from ``local_pauli_bases(rotated=0.25)`` (each qubit Z w.p. 0.75, else X or Y), each measured
``--shots-per-basis`` times. Uniform random Pauli bases would cost ``(5/3)**20 ~ 27,000`` model
evaluations per shot; these cost ``1.25**20 ~ 87``. The price: a relative phase between
components that differ on every qubit (GHZ's) is seen only by bases rotating all 20 qubits
(probability ``0.25**20``), so it is not determined by these data.

Reported per state: the exact fidelity (the model's full state, ``2**20`` amplitudes) and,
beside it, a classical-shadow estimate from a separate random-Clifford record (``--clifford``
shots; variance below 3 for any state) that the model never saw.

At 8 qubits (``--design uniform``) the data are uniformly random Pauli bases, the design of
linear inversion's anchor (3**8 bases).

Run: ``flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 .venv/bin/python bench/neural_state.py
--states ghz20 --json bench/results/neural_state_ghz20.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qtandem.learn import measure_randomized
from qtandem.learn.neural_state import local_pauli_bases, reconstruct


def tfim_ground_state(n: int, field: float = 1.0) -> np.ndarray:
    """Ground state of ``-sum Z_i Z_{i+1} - field sum X_i`` (open chain) by sparse Lanczos (SciPy)."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    idx = np.arange(1 << n)
    bits = (idx[:, None] >> np.arange(n)) & 1
    zz = -(1 - 2 * (bits[:, :-1] ^ bits[:, 1:])).sum(1).astype(float)

    def matvec(v: np.ndarray) -> np.ndarray:
        v = v.reshape(-1)
        out = zz * v
        for q in range(n):
            out -= field * v[idx ^ (1 << q)]
        return out

    _, vecs = eigsh(LinearOperator((1 << n, 1 << n), matvec=matvec, dtype=float), k=1, which="SA", tol=1e-10)
    v = vecs[:, 0]
    return v * np.sign(v[np.abs(v).argmax()]) / np.linalg.norm(v)


def make_state(name: str) -> np.ndarray:
    kind, n = name.rstrip("0123456789"), int(name[len(name.rstrip("0123456789")):])
    psi = np.zeros(1 << n, dtype=complex)
    if kind == "ghz":
        psi[0] = psi[-1] = 2 ** -0.5
    elif kind == "w":
        psi[[1 << q for q in range(n)]] = n ** -0.5
    elif kind == "tfim":
        psi = tfim_ground_state(n).astype(complex)
    elif kind == "random":  # as bench/learn_tomography.py: two layers of random rotations and cx
        from qtandem import statevector
        from qtandem.circuit.library import layered

        psi = statevector(layered(n, 2, seed=7)).numpy()
    else:
        raise SystemExit(f"unknown state {name!r}")
    return psi


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--states", default="ghz20,w20,tfim20")
    ap.add_argument("--bases", type=int, default=2000)
    ap.add_argument("--shots-per-basis", type=int, default=100)
    ap.add_argument("--rotated", type=float, default=0.25)
    ap.add_argument("--design", choices=["local", "uniform"], default="local",
                    help="local: local_pauli_bases(rotated); uniform: uniformly random Pauli bases (a shadow design)")
    ap.add_argument("--kind", default="rnn")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clifford", type=int, default=0, help="Clifford-shadow shots for the shadow estimate (0: skip)")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for name in args.states.split(","):
        psi = make_state(name)
        n = int(np.log2(len(psi)))
        t0 = time.perf_counter()
        bases = (local_pauli_bases(args.bases, n, rotated=args.rotated, seed=args.seed) if args.design == "local"
                 else np.random.default_rng(args.seed).integers(0, 3, (args.bases, n)))
        record = measure_randomized(psi, args.bases * args.shots_per_basis, bases=bases,
                                    shots_per_basis=args.shots_per_basis, seed=args.seed + 1)
        data_s = time.perf_counter() - t0
        model, info = reconstruct(record, target=psi, kind=args.kind, steps=args.steps, batch_size=args.batch_size,
                                  lr=args.lr, seed=args.seed)
        row = {"state": name, "n": n, "bases": args.bases, "shots_per_basis": args.shots_per_basis,
               "design": args.design, "rotated": args.rotated, "data_seconds": data_s, **info,
               "torch": torch.__version__, "threads": torch.get_num_threads()}
        if args.clifford:
            t1 = time.perf_counter()
            shadow = measure_randomized(psi, args.clifford, basis="clifford", seed=args.seed + 2)
            est = model.shadow_fidelity(shadow)
            row.update(shadow_shots=args.clifford, shadow_fidelity=float(est.values),
                       shadow_stderr=float(est.stderr), shadow_seconds=time.perf_counter() - t1)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = vars(args) | {"json": str(args.json)}
        args.json.write_text(json.dumps({"script": "bench/neural_state.py", "args": settings, "rows": rows},
                                        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
