"""Compact ADAPT circuits (issue 18 s.4): orbitals, selection score and compile level against CNOTs.

For each system: ADAPT to chemical accuracy (1.6 mHa from CASCI of the same active space, at most
``--max-operators``), CNOTs after ``qtandem.compile.optimize``. Variants:

- orbitals: ``canonical`` (the SCF orbitals) or ``block-no`` (``qtandem.chem.orbitals.block_natural_orbitals``:
  active-space MP2 natural orbitals, occupied and virtual blocks rotated separately; HF determinant and CASCI
  unchanged, checked per row);
- score: ``gradient`` (standard ADAPT) or ``per_cnot`` (largest |gradient| / cx of the operator);
- pool: qubit-adapt (cheapest per operator here) and ceo-adapt.

Split (fixed before any run, the same as bench/chem_adapt.py's): DEV = H4 chain 1.1 A CAS(4,4), LiH 2.0 A
CAS(2,5), BeH2 1.6 A CAS(4,6); TEST = the issue's targets LiH 1.595 A CAS(2,5), BeH2 1.326 A CAS(4,6), H2O
CAS(8,6). The variant for TEST is chosen on DEV (fewest summed CNOTs with every DEV row at chemical accuracy)
and all TEST variants are reported too, labelled. ``--sci`` adds, per TEST system, the fewest CASCI
determinants (largest |c| first, canonical and CASCI natural orbitals) whose variational energy is within
chemical accuracy: a parameter count no number-conserving ansatz that adds one determinant per parameter
can beat.

Run in one lane (counts only)::

    flock /tmp/qt_lane_a.lock env OMP_NUM_THREADS=1 .venv/bin/python bench/chem_compact.py
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chem_adapt import CHEMICAL_ACCURACY, RESULTS  # the same split and target as chem_adapt.py
from chem_adapt import SYSTEMS as _ADAPT_SYSTEMS

SYSTEMS: dict[str, list[tuple[str, str, tuple[int, int]]]] = {s: _ADAPT_SYSTEMS[s] for s in ("dev", "test")}


def _variants(args: argparse.Namespace) -> list[dict[str, Any]]:
    return [{"orbitals": o, "score": s, "pool": k}
            for k in args.pools.split(",") for o in ("canonical", "block-no") for s in ("gradient", "per_cnot")]


def _name(v: dict[str, Any]) -> str:
    return f"{v['pool']}/{v['orbitals']}/{v['score']}"


def _run(problems: dict[str, Any], v: dict[str, Any], levels: list[int], max_ops: int) -> dict[str, Any]:
    from qtandem.chem.adapt import adapt_vqe
    from qtandem.chem.vqe import cnot_count

    p = problems[v["orbitals"]]
    t0 = time.perf_counter()
    r = adapt_vqe(p, v["pool"], target=CHEMICAL_ACCURACY, reference="casci", compile_level=None,
                  max_operators=max_ops, score=v["score"])
    row: dict[str, Any] = {"n_operators": len(r.operators), "operators": r.operators,
                           "error_casci_mha": 1e3 * r.error_vs("casci"),
                           "error_fci_mha": 1e3 * r.error_vs("fci") if r.references.get("fci") is not None else None,
                           "n_evaluations": r.n_evaluations, "pool_gradients": r.extra["pool_gradients"],
                           "stopped": r.extra["stopped"], "cnots_raw": r.cnot_count}
    for level in levels:
        row[f"cnots_level{level}"] = cnot_count(r.circuit, level=level)[1]
    row["time_s"] = time.perf_counter() - t0
    return row


def _sci(problem: Any) -> dict[str, Any]:
    """Fewest CASCI determinants (largest |c| first) whose variational energy is within chemical accuracy."""
    from qtandem.chem.orbitals import rotate_orbitals

    out: dict[str, Any] = {}
    from pyscf import fci

    n = problem.n_orbitals
    _, civec = fci.direct_spin1.kernel(problem.one_body, problem.two_body, n, (problem.n_alpha, problem.n_beta))
    dm = fci.direct_spin1.make_rdm1(civec, n, (problem.n_alpha, problem.n_beta))
    w, vecs = np.linalg.eigh(dm)
    for label, q in (("canonical", problem), ("casci_no", rotate_orbitals(problem, vecs[:, np.argsort(-w)]))):
        h = q.hamiltonian.to_matrix()
        h = np.asarray(h.todense() if hasattr(h, "todense") else h)
        nq = q.n_qubits
        amask, bmask = int("01" * (nq // 2), 2), int("10" * (nq // 2), 2)
        idx = [b for b in range(2**nq) if (b & amask).bit_count() == q.n_alpha and (b & bmask).bit_count() == q.n_beta]
        hs = h[np.ix_(idx, idx)].real
        evals, evecs = np.linalg.eigh(hs)
        order = np.argsort(-evecs[:, 0] ** 2, kind="stable")
        for k in range(1, len(idx) + 1):
            sel = order[:k]
            if np.linalg.eigvalsh(hs[np.ix_(sel, sel)])[0] - evals[0] < CHEMICAL_ACCURACY:
                out[label] = k
                break
    return out


def main(argv: list[str] | None = None) -> None:
    from qtandem.chem import Molecule
    from qtandem.chem.orbitals import block_natural_orbitals

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", default="dev,test")
    parser.add_argument("--systems", default=None, help="comma-separated subset of system names")
    parser.add_argument("--pools", default="qubit-adapt,ceo-adapt")
    parser.add_argument("--levels", default="1,2")
    parser.add_argument("--max-operators", type=int, default=40)
    parser.add_argument("--sci", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    wanted = set(args.systems.split(",")) if args.systems else None
    out: dict[str, Any] = {"split": {s: [(n, g, list(a)) for n, g, a in SYSTEMS[s]] for s in SYSTEMS},
                           "chemical_accuracy": CHEMICAL_ACCURACY, "levels": levels}
    variants = _variants(args)
    for split in args.splits.split(","):
        rows: dict[str, Any] = {}
        for name, geo, act in SYSTEMS[split]:
            if wanted and name not in wanted:
                continue
            base = Molecule(geo).problem(active=act)
            probs = {"canonical": base, "block-no": block_natural_orbitals(base)}
            casci_moved = abs(probs["block-no"].ground_state_energy() - base.ground_state_energy())
            row: dict[str, Any] = {"references": dict(base.references), "n_qubits": base.n_qubits,
                                   "hf_gap_mha": 1e3 * (float(base.references["hf"] or 0.0)
                                                        - float(base.references["casci"] or 0.0)),
                                   "casci_moved_by_rotation": casci_moved, "variants": {}}
            for v in variants:
                r = _run(probs, v, levels, args.max_operators)
                row["variants"][_name(v)] = r
                print(f"{split} {name} {_name(v)}: {r['n_operators']} ops, cx raw {r['cnots_raw']} / "
                      + " / ".join(f"L{lv} {r[f'cnots_level{lv}']}" for lv in levels)
                      + f", {r['error_casci_mha']:.2f} mHa, {r['stopped']}, {r['time_s']:.1f} s", flush=True)
            if args.sci and split == "test":
                row["sci_determinants"] = _sci(base)
                print(f"  {name}: fewest determinants within 1.6 mHa {row['sci_determinants']}", flush=True)
            rows[name] = row
        out[split] = rows
    if "dev" in out:
        lv = max(levels)
        totals = {}
        for v in variants:
            runs = [out["dev"][n]["variants"][_name(v)] for n in out["dev"]]
            if all(r["stopped"] == "target" for r in runs):
                totals[_name(v)] = sum(r[f"cnots_level{lv}"] for r in runs)
        out["dev_totals"] = totals
        out["dev_choice"] = min(totals, key=lambda k: totals[k]) if totals else None
        print(f"DEV summed CNOTs (level {lv}): {totals}; chosen {out['dev_choice']}", flush=True)
    out.update({"python": sys.version.split()[0], "platform": platform.platform(), "numpy": np.__version__,
                "command": " ".join(sys.argv)})
    path = Path(args.out) if args.out else RESULTS / "chem_compact.json"
    from qtandem.io import atomic_write_text

    atomic_write_text(path, json.dumps(out, indent=1, default=float))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
