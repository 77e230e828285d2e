"""Problem sizes per molecule and mapping, build times, and agreement with PySCF CASCI.

For H2, LiH CAS(2,5), BeH2 CAS(4,6) (equilibrium and stretched to 2.5 A), H2O CAS(8,6) and N2 CAS(6,6), all
STO-3G: the SCF time, the time to compute the classical references (``references="auto"``: HF, MP2, CCSD,
CCSD(T) in the active window, CASCI, full FCI where allowed), and per mapping (Jordan-Wigner, Bravyi-Kitaev,
parity, parity with the two-qubit reduction, and Z2-tapered Jordan-Wigner and reduced parity) the qubits,
Pauli terms, the time to build the qubit problem (integrals, fermion operator, mapping, tapering; SCF cached,
no references) and ``|E0 - E_CASCI|``, where ``E0`` is the exact lowest eigenvalue in the
(n_alpha, n_beta) sector (:meth:`ChemProblem.ground_state_energy`, scipy sparse). Deterministic; times are
single-threaded wall-clock on the shared machine (lane A).

Run::

    flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python bench/chem_problems.py
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
MOLECULES: dict[str, dict[str, Any]] = {
    "h2": {"geometry": "H 0 0 0; H 0 0 0.735", "active": None},
    "lih": {"geometry": "Li 0 0 0; H 0 0 1.595", "active": (2, 5)},
    "beh2": {"geometry": "Be 0 0 0; H 0 0 1.326; H 0 0 -1.326", "active": (4, 6)},
    "beh2_stretched": {"geometry": "Be 0 0 0; H 0 0 2.5; H 0 0 -2.5", "active": (4, 6)},
    "h2o": {"geometry": "O 0 0 0; H 0.7572 0.5865 0; H -0.7572 0.5865 0", "active": (8, 6)},
    "n2": {"geometry": "N 0 0 0; N 0 0 1.098", "active": (6, 6)},
}
VARIANTS = [("jordan_wigner", False), ("bravyi_kitaev", False), ("parity", False), ("parity_2q", False),
            ("jordan_wigner", True), ("parity_2q", True)]


def run(names: list[str]) -> dict[str, Any]:
    from qtandem.chem import Molecule

    rows = []
    for name in names:
        spec = MOLECULES[name]
        mol = Molecule(spec["geometry"])
        t0 = time.perf_counter()
        mol.scf()
        t_scf = time.perf_counter() - t0
        t0 = time.perf_counter()
        full = mol.problem(spec["active"], references="auto")
        t_refs = time.perf_counter() - t0
        casci = full.references["casci"]
        print(f"{name}: SCF {t_scf:.2f} s, problem + references {t_refs:.2f} s, "
              + ", ".join(f"{k}={v:.6f}" for k, v in full.references.items() if v is not None), flush=True)
        for mapping, taper in VARIANTS:
            t0 = time.perf_counter()
            p = mol.problem(spec["active"], mapping, taper=taper, references="none")
            t_build = time.perf_counter() - t0
            t0 = time.perf_counter()
            e0 = p.ground_state_energy()
            t_eig = time.perf_counter() - t0
            row = {"molecule": name, "geometry": spec["geometry"], "active": spec["active"],
                   "mapping": mapping, "taper": taper, "n_qubits": p.n_qubits, "n_terms": len(p.hamiltonian),
                   "build_s": t_build, "eig_s": t_eig, "ground_energy": e0, "casci": casci,
                   "abs_error_vs_casci": abs(e0 - casci), "scf_s": t_scf, "references_s": t_refs,
                   "references": full.references}
            rows.append(row)
            print(f"  {mapping:14s} taper={taper!s:5s} qubits={p.n_qubits:2d} terms={len(p.hamiltonian):5d} "
                  f"build={t_build:.3f}s eig={t_eig:.2f}s |E0-CASCI|={abs(e0 - casci):.1e}", flush=True)
    return {"rows": rows, "python": platform.python_version(), "machine": platform.machine(),
            "command": "bench/chem_problems.py " + ",".join(names)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", default=",".join(MOLECULES))
    ap.add_argument("--out", default=str(RESULTS / "chem_problems.json"))
    args = ap.parse_args()
    result = run(args.molecules.split(","))
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
