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

``--global-bases G`` adds G bases rotating every qubit (X or Y each), the only ones that see GHZ's
relative phase; ``--dense-every`` trains on them through the model's full state (``--kind made``
makes that affordable at 20 qubits).

``--phase select`` (session 32) fits a real-positive model and a zero-initialised phase model on 90%
of the shots and keeps the one with the lower Born NLL on the other 10% (data only; the exact
fidelity of both is recorded beside the choice).

Session 33: ``--clifford-bases M --clifford-shots-per-basis m`` measures the classical-shadow record
as M random global Cliffords x m shots (inside ``--budget``, default 10**6 shots with the training
data); its error bar treats each Clifford as one unit (``shadows.fidelity``). ``--shadow-device cuda``
runs the Clifford circuits on a GPU (the same numbers, faster). ``--only-candidate C`` with ``--phase
select`` fits one candidate on the same 90% / 10% split as ``reconstruct(phase="select")`` (so the
candidates can run in parallel processes) and ``--combine`` picks, per state and seed, the candidate
with the lower held-out NLL from such files: the same choice ``reconstruct`` makes.

Session 34: ``--shadow-models`` reports per saved model both the plain Clifford-shadow fidelity and the
control-variate one (``shadows.fidelity(control_variate=True)``, computed here from the same ``U phi``
and checked against the library on the first two Cliffords), with every Clifford's value
(``unit_means``, ``cv_unit_means``); ``--clifford-range A:B`` evaluates a slice of the record and
``--pool`` joins slices (the same numbers as one run). GHZ's Clifford shots are sampled from its
circuit with Stim (``measure_randomized`` of a Clifford circuit; the same distribution). The shot split
(900,000 training + 200 Cliffords x 500 shadow shots) is the one ``bench/learn_tomo20_shadow_split.py``
supports on DEV seed 0.

Run (the 20-qubit rows of README, seeds 0 = DEV and 1 = TEST): ``flock /tmp/qt_lane_a.lock env
OMP_NUM_THREADS=1 .venv/bin/python bench/neural_state.py --n 20 --bases 2000 --shots-per-basis 400
--global-bases 50 --global-shots-per-basis 2000 --kind made --d-model 4 --hidden 64 --layers 1 --lr 0.03
--steps 400 --dense-every 20 --dense-batch 64 --max-rotated 12 --seed 1 --split test
--json bench/results/neural_state_20q_test_seed1.json``.
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

from qtandem.learn import ShotRecord, measure_randomized, shadows
from qtandem.learn.neural_state import _holdout_split, local_pauli_bases, reconstruct


def tfim_ground_state(n: int, field: float = 1.0) -> np.ndarray:
    """Ground state of ``-sum Z_i Z_{i+1} - field sum X_i`` (open chain): qtandem's sparse matrix, SciPy Lanczos."""
    from scipy.sparse.linalg import eigsh

    from qtandem.circuit.pauli import PauliSum
    from qtandem.sim.sparse import pauli_sum_sparse

    text = " + ".join([f"-1*Z{i} Z{i + 1}" for i in range(n - 1)] + [f"-{field}*X{i}" for i in range(n)])
    matrix = pauli_sum_sparse(PauliSum(text), n).real.tocsr()
    _, vecs = eigsh(matrix, k=1, which="SA", tol=1e-10)
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


def state_circuit(name: str) -> Any:
    """A Clifford circuit preparing the named state (GHZ only), else ``None``.

    ``measure_randomized`` samples such a circuit's Clifford shots with Stim (from 11 qubits on):
    the same distribution as the state vector's, without a 20-qubit ``U psi`` per Clifford.
    """
    from qtandem import Circuit

    kind, n = name.rstrip("0123456789"), int(name[len(name.rstrip("0123456789")):])
    if kind != "ghz":
        return None
    circ = Circuit(n).h(0)
    for q in range(1, n):
        circ.cx(0, q)
    return circ


def global_bases(count: int, n: int, seed: int) -> np.ndarray:
    """``count`` bases rotating every qubit: X or Y per qubit with probability 1/2 each."""
    return np.random.default_rng([seed, 20]).integers(0, 2, (count, n)).astype(np.uint8)


def sampling_speed(n: int, count: int, rotated: float, seed: int = 0) -> dict[str, Any]:
    """Bases per second of the prefix-tree path (all bases before this change) and the basis-by-basis path."""
    from qtandem.learn.shots import _pauli_probabilities, _sample_product_bases, _sample_rows

    rng = np.random.default_rng(seed)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    psi /= np.linalg.norm(psi)
    bases = local_pauli_bases(count, n, rotated=rotated, seed=seed) if rotated < 1 else global_bases(count, n, seed)
    per = 100
    inverse = np.repeat(np.arange(count), per)
    state = torch.as_tensor(psi)
    chunk = max(1, (1 << 22) // (1 << n))
    t0 = time.perf_counter()
    for start in range(0, count, chunk):
        probs, rows = _pauli_probabilities(state, n, bases[start:start + chunk], False)
        sel = np.flatnonzero((inverse >= start) & (inverse < start + chunk))
        _sample_rows(probs, rows[inverse[sel] - start], rng)
    old = time.perf_counter() - t0
    t0 = time.perf_counter()
    _sample_product_bases(psi, n, bases, inverse, rng)
    new = time.perf_counter() - t0
    return {"n": n, "bases": count, "rotated": rotated, "shots_per_basis": per,
            "prefix_tree_bases_per_second": count / old, "basis_by_basis_bases_per_second": count / new,
            "speedup": old / new}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=None,
                    help="qubits: runs ghzN, wN, tfimN with the 20-qubit design below unless --states is given")
    ap.add_argument("--states", default=None, help="comma-separated state names (default ghz20,w20,tfim20)")
    ap.add_argument("--bases", type=int, default=2000)
    ap.add_argument("--shots-per-basis", type=int, default=100)
    ap.add_argument("--rotated", type=float, default=0.25)
    ap.add_argument("--design", choices=["local", "uniform"], default="local",
                    help="local: local_pauli_bases(rotated); uniform: uniformly random Pauli bases (a shadow design)")
    ap.add_argument("--global-bases", type=int, default=0,
                    help="extra bases rotating every qubit (X or Y each), trained through the full state")
    ap.add_argument("--global-shots-per-basis", type=int, default=100)
    ap.add_argument("--kind", default="rnn")
    ap.add_argument("--d-model", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=None, help="MADE hidden units (kind made)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--max-rotated", type=int, default=14)
    ap.add_argument("--dense-every", type=int, default=0)
    ap.add_argument("--dense-batch", type=int, default=64)
    ap.add_argument("--phase", default="full",
                    help="full / zero / none (see NeuralStateModel), or select: the variant with the lowest Born NLL "
                         "on a held-out share of the shots (--holdout) among --candidates")
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--candidates", default="none,zero")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: as set)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="", help="label stored with the rows (dev / test)")
    ap.add_argument("--clifford", type=int, default=0, help="Clifford-shadow shots for the shadow estimate (0: skip)")
    ap.add_argument("--clifford-bases", type=int, default=0,
                    help="random Cliffords of the shadow record (with --clifford-shots-per-basis; 0: use --clifford)")
    ap.add_argument("--clifford-shots-per-basis", type=int, default=1)
    ap.add_argument("--shadow-device", default="cpu", help="torch device of the Clifford circuits (cpu, cuda, auto)")
    ap.add_argument("--shadow-check", action=argparse.BooleanOptionalAction, default=True,
                    help="also estimate the true state's fidelity with itself (1 within the error bar)")
    ap.add_argument("--save-model", type=Path, default=None,
                    help="with --only-candidate: save the fitted model under this folder (NAME_sSEED_CANDIDATE)")
    ap.add_argument("--shadow-models", type=Path, nargs="*", default=None,
                    help="saved models (folders NAME_sSEED_CANDIDATE): only measure each state's Clifford shadow "
                         "record (--clifford-bases x --clifford-shots-per-basis, seed SEED + 2 as above) and "
                         "estimate the models' fidelities")
    ap.add_argument("--record-cache", type=Path, default=None,
                    help="folder of saved training records (one per state, seed and design): load instead of measuring")
    ap.add_argument("--budget", type=int, default=1_000_000, help="refuse designs with more shots in all")
    ap.add_argument("--only-candidate", default=None,
                    help="with --phase select: fit only this candidate on the selection's training split")
    ap.add_argument("--combine", nargs="*", default=None,
                    help="JSON files of --only-candidate runs: write the selected rows to --json and exit")
    ap.add_argument("--clifford-range", default=None,
                    help="A:B: with --shadow-models, evaluate only Cliffords A..B-1 of the record (chunks for --pool)")
    ap.add_argument("--pool", nargs="*", default=None,
                    help="--shadow-models JSON files (Clifford chunks of one record) to pool per state, seed, model")
    ap.add_argument("--sampling-speed", action="store_true",
                    help="only time Pauli sampling at --n qubits (old prefix tree vs basis by basis); hold both locks")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.sampling_speed:
        speed = [sampling_speed(args.n or 20, 20, r, args.seed) for r in (args.rotated, 1.0)]
        for row in speed:
            print(json.dumps(row), file=sys.stderr)
        meta = {"script": "bench/neural_state.py", "args": vars(args) | {"json": str(args.json)},
                "torch": torch.__version__, "threads": torch.get_num_threads()}
        args.json.write_text(json.dumps(meta | {"rows": speed}, indent=1) + "\n")
        return 0
    if args.combine is not None:
        return combine(args.combine, args.json)
    if args.pool is not None:
        return pool_units(args.pool, args.json)
    if args.shadow_models is not None:
        return shadow_models(args)
    names = args.states or (f"ghz{args.n},w{args.n},tfim{args.n}" if args.n else "ghz20,w20,tfim20")
    rows: list[dict[str, Any]] = []
    for name in names.split(","):
        t_state = time.perf_counter()
        psi = make_state(name)
        state_s = time.perf_counter() - t_state
        n = int(np.log2(len(psi)))
        t0 = time.perf_counter()
        key = (f"{name}_s{args.seed}_{args.design}{args.rotated}_{args.bases}x{args.shots_per_basis}"
               f"_g{args.global_bases}x{args.global_shots_per_basis}")
        cached = args.record_cache / key if args.record_cache else None
        if cached is not None and (cached / "manifest.json").exists():
            record = ShotRecord.load(cached)
            local_s = global_s = float("nan")
        else:
            bases = (local_pauli_bases(args.bases, n, rotated=args.rotated, seed=args.seed) if args.design == "local"
                     else np.random.default_rng(args.seed).integers(0, 3, (args.bases, n)))
            record = measure_randomized(psi, args.bases * args.shots_per_basis, bases=bases,
                                        shots_per_basis=args.shots_per_basis, seed=args.seed + 1)
            local_s = time.perf_counter() - t0
            if args.global_bases:
                t1 = time.perf_counter()
                gb = global_bases(args.global_bases, n, args.seed)
                extra = measure_randomized(psi, args.global_bases * args.global_shots_per_basis, bases=gb,
                                           shots_per_basis=args.global_shots_per_basis, seed=args.seed + 3)
                global_s = time.perf_counter() - t1
                record = ShotRecord.merge(record, extra)
            if cached is not None:
                record.save(cached, overwrite=True)
        data_s = time.perf_counter() - t0
        shadow_shots = (args.clifford_bases * args.clifford_shots_per_basis if args.clifford_bases
                        else args.clifford)
        if len(record) + shadow_shots > args.budget:
            raise SystemExit(f"{len(record)} training + {shadow_shots} shadow shots exceed --budget {args.budget}")
        fit_args: dict[str, Any] = {"target": psi, "kind": args.kind, "steps": args.steps,
                                    "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                                    "d_model": args.d_model, "layers": args.layers, "hidden": args.hidden,
                                    "max_rotated": args.max_rotated, "dense_every": args.dense_every,
                                    "dense_batch": args.dense_batch, "threads": args.threads}
        if args.only_candidate:
            if args.phase != "select":
                raise SystemExit("--only-candidate needs --phase select")
            val, train = _holdout_split(record, args.holdout, args.seed)
            model, info = reconstruct(train, phase=args.only_candidate, **fit_args)
            info |= {"candidate": args.only_candidate, "holdout": args.holdout, "shots": len(record),
                     "validation_nll": model.validation_nll(val, max_rotated=args.max_rotated)}
            if args.save_model:
                model.save(args.save_model / f"{name}_s{args.seed}_{args.only_candidate}", overwrite=True)
        else:
            model, info = reconstruct(record, phase=args.phase, holdout=args.holdout,
                                      candidates=tuple(args.candidates.split(",")), **fit_args)
        row = {"state": name, "n": n, "split": args.split, "bases": args.bases,
               "shots_per_basis": args.shots_per_basis, "design": args.design, "rotated": args.rotated,
               "global_bases": args.global_bases, "global_shots_per_basis": args.global_shots_per_basis,
               "state_seconds": state_s, "data_seconds": data_s,
               "local_bases_per_second": args.bases / local_s, **info,
               "torch": torch.__version__, "threads": torch.get_num_threads()}
        if args.global_bases:
            row["global_bases_per_second"] = args.global_bases / global_s
        if n <= 20:  # populations alone: (sum sqrt(p q))**2, the fidelity if every phase were right
            q = model.statevector().abs().pow(2).numpy()
            row["population_fidelity"] = float(np.sqrt(q * np.abs(psi) ** 2).sum() ** 2)
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        if shadow_shots:  # the fit's row first: a run stopped during the shadow part keeps it
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"script": "bench/neural_state.py", "args": settings,
                                             "rows": [*rows, row]}, indent=1) + "\n")
            device = args.shadow_device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            t1 = time.perf_counter()
            per = args.clifford_shots_per_basis if args.clifford_bases else 1
            source = state_circuit(name) or torch.as_tensor(psi).to(device)
            shadow = measure_randomized(source, shadow_shots, basis="clifford", shots_per_basis=per,
                                        seed=args.seed + 2)
            measure_s = time.perf_counter() - t1
            est = shadows.fidelity(shadow, model.statevector().to(device))
            row.update(shadow_shots=shadow_shots, shadow_bases=shadow_shots // per, shadow_shots_per_basis=per,
                       total_shots=len(record) + shadow_shots, shadow_fidelity=float(est.values),
                       shadow_stderr=float(est.stderr), shadow_device=device,
                       shadow_measure_seconds=measure_s, shadow_seconds=time.perf_counter() - t1)
            args.json.write_text(json.dumps({"script": "bench/neural_state.py", "args": settings,
                                             "rows": [*rows, row]}, indent=1) + "\n")
            if args.shadow_check:  # the true state: 1 within its bar
                exact = shadows.fidelity(shadow, torch.as_tensor(psi).to(device))
                row.update(shadow_check_true_state=float(exact.values), shadow_check_stderr=float(exact.stderr))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"script": "bench/neural_state.py", "args": settings, "rows": rows},
                                        indent=1) + "\n")
    return 0


def shadow_models(args: argparse.Namespace) -> int:
    """Clifford-shadow fidelity of saved models: one shadow record per (state, seed), every model of it."""
    from qtandem.learn import NeuralStateModel

    device = args.shadow_device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    groups: dict[tuple[str, int], list[Path]] = {}
    for folder in args.shadow_models:
        name, seed, _ = folder.name.rsplit("_", 2)
        groups.setdefault((name, int(seed[1:])), []).append(folder)
    rows: list[dict[str, Any]] = []
    per = args.clifford_shots_per_basis
    for (name, seed), folders in sorted(groups.items()):
        psi = torch.as_tensor(make_state(name)).to(device)
        t0 = time.perf_counter()
        shadow = measure_randomized(state_circuit(name) or psi, args.clifford_bases * per, basis="clifford",
                                    shots_per_basis=per, seed=seed + 2)
        measure_s = time.perf_counter() - t0
        first, last = 0, args.clifford_bases
        if args.clifford_range:
            first, last = (int(v) for v in args.clifford_range.split(":"))
        for folder in folders:
            t1 = time.perf_counter()
            model = NeuralStateModel.load(folder)
            phi = model.statevector().to(device)
            # one value per Clifford (its shots are one unit), plain and with the control variate of
            # shadows.fidelity(control_variate=True), from one U phi; chunks of a record pool exactly (pool_units)
            units, cv_units = clifford_units(shadow, phi, per, first, last)
            for c in range(first, min(first + 2, last)):  # the library's estimator gives the same numbers
                part = shadow[c * per:(c + 1) * per]
                for cv, got in ((False, units), (True, cv_units)):
                    ref = float(shadows.fidelity(part, phi, control_variate=cv).values)
                    if abs(ref - got[c - first]) > 1e-8 * max(1.0, abs(ref)):
                        raise SystemExit(f"Clifford {c}: {got[c - first]} against shadows.fidelity's {ref}")
            mean, stderr = float(np.mean(units)), float(np.std(units, ddof=1) / np.sqrt(len(units)))
            rows.append({"state": name, "seed": seed, "model": folder.name, "shadow_bases": args.clifford_bases,
                         "clifford_range": [first, last], "shadow_record": shadow.metadata.get("simulation"),
                         "shadow_shots_per_basis": per, "shadow_shots": args.clifford_bases * per,
                         "shadow_fidelity": mean, "shadow_stderr": stderr, "unit_means": units,
                         "cv_shadow_fidelity": float(np.mean(cv_units)),
                         "cv_shadow_stderr": float(np.std(cv_units, ddof=1) / np.sqrt(len(cv_units))),
                         "cv_unit_means": cv_units,
                         "exact_fidelity": model.fidelity(make_state(name)), "shadow_device": device,
                         "shadow_measure_seconds": measure_s, "shadow_seconds": time.perf_counter() - t1,
                         "torch": torch.__version__})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
            settings["shadow_models"] = [str(f) for f in args.shadow_models]
            args.json.write_text(json.dumps({"script": "bench/neural_state.py", "args": settings, "rows": rows},
                                            indent=1) + "\n")
    return 0


def clifford_units(record: ShotRecord, phi: torch.Tensor, per: int, first: int,
                   last: int) -> tuple[list[float], list[float]]:
    """Per Clifford ``first..last-1`` of a record of ``per`` shots each: the mean of
    ``(2**n + 1) q(b) - 1`` and the same minus the control variate ``(2**n + 1) sum_b q(b)**2 - 2``."""
    from qtandem.learn.shots import clifford_circuit
    from qtandem.sim.core import statevector

    n = record.n_qubits
    d = 2.0 ** n + 1
    plain, cv = [], []
    for c in range(first, last):
        part = record[c * per:(c + 1) * per]
        if not (part.bases == part.bases[0]).all():
            raise SystemExit(f"Clifford {c}: its {per} shots do not share one basis")
        q = statevector(clifford_circuit(part.bases[0]), initial_state=phi).abs().pow(2).cpu().numpy()
        index = (part.outcomes.astype(np.int64) << np.arange(n, dtype=np.int64)).sum(1)
        plain.append(float((d * q[index] - 1).mean()))
        cv.append(plain[-1] - (d * float(q @ q) - 2))
    return plain, cv


def pool_units(files: list[str], out: Path) -> int:
    """Per (state, seed, model): the shadow estimate over the Clifford chunks of ``--shadow-models`` files.

    Every Clifford has the same shots, so the mean of the per-Clifford means and their standard
    error are the whole record's ``shadows.fidelity`` (cluster-robust, one unit per Clifford).
    """
    groups: dict[tuple[str, int, str], dict[int, tuple[float, float]]] = {}
    meta: dict[tuple[str, int, str], dict[str, Any]] = {}
    for file in files:
        for row in json.loads(Path(file).read_text())["rows"]:
            key = (row["state"], row["seed"], row["model"])
            first = row["clifford_range"][0]
            units = groups.setdefault(key, {})
            for c, pair in enumerate(zip(row["unit_means"], row["cv_unit_means"], strict=True), start=first):
                units[c] = pair
            meta[key] = row
    rows = []
    skip = ("unit_means", "cv_unit_means", "clifford_range", "shadow_seconds")
    for key, units in sorted(groups.items()):
        values = np.array([units[c] for c in sorted(units)])
        row = {k: v for k, v in meta[key].items() if k not in skip}
        row.update(cliffords=len(values), shadow_shots=len(values) * row["shadow_shots_per_basis"])
        for prefix, col in (("", 0), ("cv_", 1)):
            mean, err = float(values[:, col].mean()), float(values[:, col].std(ddof=1) / np.sqrt(len(values)))
            row.update({f"{prefix}shadow_fidelity": mean, f"{prefix}shadow_stderr": err,
                        f"{prefix}bars_above_0.95": (mean - 0.95) / err})
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"script": "bench/neural_state.py", "pooled": files, "rows": rows}, indent=1) + "\n")
    return 0


def combine(files: list[str], out: Path) -> int:
    """Per (state, seed): the candidate row with the lowest held-out NLL, with every candidate's numbers beside it."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for file in files:
        for row in json.loads(Path(file).read_text())["rows"]:
            groups.setdefault((row["state"], row["seed"]), []).append(row)
    rows = []
    for _, cands in sorted(groups.items()):
        best = min(cands, key=lambda r: r["validation_nll"])
        rows.append(best | {"phase": "select:" + best["candidate"],
                            "validation_nll": {r["candidate"]: r["validation_nll"] for r in cands},
                            "fidelities": {r["candidate"]: r["fidelity"] for r in cands},
                            "shadow_fidelities": {r["candidate"]: [r.get("shadow_fidelity"), r.get("shadow_stderr")]
                                                  for r in cands},
                            "seconds": sum(r["seconds"] for r in cands)})
        print(json.dumps({k: rows[-1][k] for k in ("state", "seed", "split", "phase", "fidelity", "validation_nll",
                                                    "shadow_fidelity", "shadow_stderr") if k in rows[-1]}),
              file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"script": "bench/neural_state.py", "combined": files, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
