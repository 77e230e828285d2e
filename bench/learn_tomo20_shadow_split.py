"""Issue 16, 20 qubits: how to spend the classical-shadow shots (DEV seed 0 only; session 34).

The Clifford-shadow fidelity estimate of a model ``phi`` from ``N`` random global Cliffords x
``m`` shots each has, per Clifford, the variance ``sB2 + sW2 / m``: ``sB2`` is the variance over
Cliffords of the per-Clifford mean ``(2**n + 1) sum_b p_U(b) q_U(b) - 1`` and ``sW2`` the mean
within-Clifford variance of ``(2**n + 1) q_U(b) - 1`` with ``b ~ p_U`` (``p_U``: the measured
state's outcome distribution after ``U``, ``q_U``: the model's). Both come here exactly from
``U psi`` (no sampling), with the true state standing in for the model (fidelity 1; the TEST models
are at 0.99-1.0), for random Cliffords of seed 0 (DEV; the TEST shadow records use seeds 3 and 4).

GHZ is a stabilizer state: ``U |GHZ>`` is uniform on ``2**k`` outcomes, so ``sW2 = 0`` and the
per-Clifford mean is ``(2**n + 1) 2**-k - 1``; ``k`` (the X-rank of its stabilizers, from Stim's
tableau simulator) gives ``sB2`` from many more Cliffords than the dense path affords; the first
``--check`` of them are checked against the dense path.

Rule derived from these numbers (printed as ``rule``): all ``S`` shadow shots are spread evenly over
``N = ceil(sB2 / (t**2 - sW2 / S))`` Cliffords (``m = S // N`` shots each), for the error-bar
target ``t``; the cost is ``N`` applications of a 20-qubit Clifford to the model (~0.2 s each on
one core), shots cost nothing.

Run (DEV, ``bench/results/learn_tomo20_dev_shadow_split.json``): ``flock /tmp/qt_lane_a.lock env
OMP_NUM_THREADS=1 .venv/bin/python bench/learn_tomo20_shadow_split.py --out
bench/results/learn_tomo20_dev_shadow_split.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from neural_state import make_state
from qtandem.learn.shots import clifford_circuit, random_clifford_tableaus, tableau_to_stim
from qtandem.sim.core import statevector


def dense_moments(psi: np.ndarray, tableaus: np.ndarray, phi: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per Clifford, exactly: the mean and within-Clifford variance of ``(2**n + 1) q_U(b) - 1``, ``b ~ p_U``,
    and the control variate ``(2**n + 1) sum_b q_U(b)**2 - 1`` (mean 1 over Cliffords); ``phi`` the model
    (default: the true state)."""
    n = int(np.log2(len(psi)))
    d = 2.0 ** n + 1
    state = torch.as_tensor(psi, dtype=torch.complex128)
    model = None if phi is None else torch.as_tensor(phi, dtype=torch.complex128)
    out = {key: np.zeros(len(tableaus)) for key in ("mean", "within", "control")}
    for i, t in enumerate(tableaus):
        circ = clifford_circuit(t)
        p = statevector(circ, initial_state=state).abs().pow(2).numpy()
        q = p if model is None else statevector(circ, initial_state=model).abs().pow(2).numpy()
        pq, pq2 = float(p @ q), float(p @ (q * q))
        out["mean"][i], out["within"][i] = d * pq - 1, d * d * max(pq2 - pq * pq, 0.0)
        out["control"][i] = d * float(q @ q) - 1
    return out


def perturbed(psi: np.ndarray, eps: float, seed: int) -> np.ndarray:
    """A stand-in model: ``psi + eps * eta`` normalised (``eta`` a seeded random unit vector).

    Its fidelity is about ``1 / (1 + eps**2)``; its errors are spread over all amplitudes, unlike a
    trained model's.
    """
    rng = np.random.default_rng([seed, 35])
    eta = rng.normal(size=len(psi)) + 1j * rng.normal(size=len(psi))
    phi = psi + eps * eta / np.linalg.norm(eta)
    return phi / np.linalg.norm(phi)


def ghz_ranks(n: int, tableaus: np.ndarray) -> np.ndarray:
    """``k`` of ``U |GHZ_n>`` (its outcome support has ``2**k`` strings) for every tableau."""
    import stim

    ks = np.zeros(len(tableaus), dtype=np.int64)
    for i, t in enumerate(tableaus):
        sim = stim.TableauSimulator()
        sim.h(0)
        for q in range(1, n):
            sim.cx(0, q)
        sim.do_tableau(tableau_to_stim(t), list(range(n)))
        xs = np.array([s.to_numpy()[0] for s in sim.canonical_stabilizers()], dtype=np.uint8)
        ks[i] = gf2_rank(xs)
    return ks


def gf2_rank(rows: np.ndarray) -> int:
    m = rows.copy() % 2
    rank = 0
    for col in range(m.shape[1]):
        piv = np.flatnonzero(m[rank:, col]) + rank
        if not len(piv):
            continue
        m[[rank, piv[0]]] = m[[piv[0], rank]]
        hit = np.flatnonzero(m[:, col])
        hit = hit[hit != rank]
        m[hit] ^= m[rank]
        rank += 1
        if rank == m.shape[0]:
            break
    return rank


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--states", default="ghz20,w20,tfim20")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cliffords", type=int, default=100, help="Cliffords through the dense path per state")
    ap.add_argument("--ghz-cliffords", type=int, default=20000, help="Cliffords through Stim for GHZ")
    ap.add_argument("--check", type=int, default=20, help="GHZ Cliffords checked dense against Stim")
    ap.add_argument("--shadow-shots", type=int, default=100_000)
    ap.add_argument("--target", type=float, default=0.02, help="error-bar target t of the rule")
    ap.add_argument("--eps", type=float, default=0.1, help="stand-in model psi + eps eta (0: skip)")
    ap.add_argument("--model-cliffords", type=int, default=60, help="Cliffords for the stand-in model's rows")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in args.states.split(","):
        t0 = time.perf_counter()
        psi = make_state(name)
        n = int(np.log2(len(psi)))
        rng = np.random.default_rng([args.seed, 34])
        row: dict = {"state": name, "n": n, "split": "dev", "seed": args.seed}
        if name.startswith("ghz"):
            tabs = random_clifford_tableaus(args.ghz_cliffords, n, seed=rng)
            ks = ghz_ranks(n, tabs)
            mean = (2.0 ** n + 1) * 2.0 ** -ks - 1
            dm = dense_moments(psi, tabs[:args.check])
            row.update(cliffords=len(tabs), method="stim rank", dense_check=args.check,
                       dense_check_max_diff=float(np.abs(dm["mean"] - mean[:args.check]).max()),
                       dense_check_within_max=float(dm["within"].max()), sW2=0.0,
                       k_histogram={int(k): int(c) for k, c in zip(*np.unique(ks, return_counts=True), strict=True)})
        else:
            tabs = random_clifford_tableaus(args.cliffords, n, seed=rng)
            dm = dense_moments(psi, tabs)
            mean = dm["mean"]
            row.update(cliffords=len(tabs), method="dense", sW2=float(dm["within"].mean()))
        s_b2 = float(mean.var(ddof=1))
        row.update(mean=float(mean.mean()), sB2=s_b2, sB2_stderr=float(
            np.sqrt(max(((mean - mean.mean()) ** 2).var(ddof=1), 0.0) / len(mean))), seconds=time.perf_counter() - t0)
        grid = {}
        for m in (1, 10, 33, 50, 100, 500):
            for count in (200, 500, 1000, 2000, 3000):
                grid[f"{count}x{m}"] = math.sqrt((s_b2 + row["sW2"] / m) / count)
        row["predicted_stderr"] = grid
        s, t = args.shadow_shots, args.target
        count = math.ceil(s_b2 / (t * t - row["sW2"] / s))
        row["rule"] = {"target": t, "shadow_shots": s, "cliffords": count, "shots_per_clifford": s // count,
                       "predicted_stderr": math.sqrt((s_b2 + row["sW2"] / (s // count)) / count)}
        if args.eps > 0:  # a model at fidelity ~0.99: plain estimator against the control-variate one
            phi = perturbed(psi, args.eps, args.seed)
            dm = dense_moments(psi, random_clifford_tableaus(args.model_cliffords, n, seed=rng), phi)
            plain_b2, cv_b2 = float(dm["mean"].var(ddof=1)), float((dm["mean"] - dm["control"]).var(ddof=1))
            w2 = float(dm["within"].mean())
            cv: dict = {"eps": args.eps, "fidelity": float(abs(np.vdot(psi, phi)) ** 2),
                        "cliffords": args.model_cliffords, "plain_sB2": plain_b2, "cv_sB2": cv_b2, "sW2": w2,
                        "control_mean": float(dm["control"].mean())}
            for label, b2 in (("plain", plain_b2), ("cv", cv_b2)):
                cv[f"{label}_predicted_stderr"] = {
                    f"{count}x{s // count}": math.sqrt((b2 + w2 / (s // count)) / count) for count in (
                        50, 100, 200, 500, 1000, 2000)}
            row["model_eps"] = cv
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"script": "bench/learn_tomo20_shadow_split.py", "args": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "torch": torch.__version__, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
