"""VQE speed against PennyLane lightning's adjoint, and CNOTs at chemical accuracy per ansatz.

``--section speed``: one energy-and-gradient evaluation of the Givens-rotation UCCSD (qubit single and
double excitations, doubles first) on LiH CAS(2,5) and BeH2 CAS(4,6), STO-3G, at fixed seeded parameters:
qtandem's kernel (:class:`qtandem.sim.pauli_evolution.PauliEvolution`, adjoint; in the reachable span, the
default, and on all ``2**n`` amplitudes) beside PennyLane ``lightning.qubit`` with ``diff_method="adjoint"``
running ``qml.BasisState`` + ``qml.DoubleExcitation``/``qml.SingleExcitation`` with the same parameters on the
same Hamiltonian (qtandem's ``PauliSum`` converted term by term). The energies and gradients are checked to
agree before anything is timed. Each timing is the median of ``--repeats`` calls after one warm-up call;
both sides run single-threaded (``OMP_NUM_THREADS=1``) in the same process. Also timed: the exact
parameter-shift gradient as one batched simulation (4 shifted energies per parameter).

``--section cnots``: for LiH CAS(2,5), BeH2 CAS(4,6), H2O CAS(8,6) and N2 CAS(6,6) (equilibrium), UCCSD's
energy error and CNOTs (raw and after ``qtandem.compile.optimize`` level 1) and the ADAPT variants run to
chemical accuracy (1.6 mHa from CASCI), their operators, evaluations, pool gradients and CNOTs (compiled).
UCCSD's circuit bound at its optimum compiles much smaller than its raw count because the excitations that
symmetry forbids keep exactly zero angles and vanish; ``--uccsd-generic`` also compiles it at seeded
random parameters (the circuit a parameterised compiler such as Qiskit's sees: the issue's 240).
References (HF, CCSD, CCSD(T), CASCI, FCI) are printed beside.

Run (speed takes both locks, A first; cnots runs in lane A)::

    flock /tmp/qtandem-cpu0.lock flock /tmp/qtandem-cpu1.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        .venv/bin/python bench/chem.py --section speed
    flock /tmp/qtandem-cpu0.lock env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        .venv/bin/python bench/chem.py --section cnots --molecules lih,beh2
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
CHEMICAL_ACCURACY = 1.6e-3

MOLECULES: dict[str, dict[str, Any]] = {
    "lih": {"geometry": "Li 0 0 0; H 0 0 1.595", "active": (2, 5)},
    "beh2": {"geometry": "Be 0 0 0; H 0 0 1.326; H 0 0 -1.326", "active": (4, 6)},
    "h2o": {"geometry": "O 0 0 0; H 0.7572 0.5865 0; H -0.7572 0.5865 0", "active": (8, 6)},
    "n2": {"geometry": "N 0 0 0; N 0 0 1.098", "active": (6, 6)},
}


def _problem(name: str) -> Any:
    from qtandem.chem.molecule import Molecule

    spec = MOLECULES[name]
    return Molecule(spec["geometry"]).problem(active=spec["active"])


def _timed(fn: Any, theta: np.ndarray, repeats: int) -> float:
    fn(theta)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(theta)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _pennylane(problem: Any, ansatz: Any) -> tuple[Any, Any]:
    import pennylane as qml
    from pennylane import numpy as pnp

    n = problem.n_qubits
    coeffs, ops = [], []
    const = 0.0
    for coef, word in problem.hamiltonian.terms:
        if not word:
            const += coef.real
            continue
        coeffs.append(coef.real)
        ops.append(qml.prod(*[{"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}[letter](q) for q, letter in word])
                   if len(word) > 1 else {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}[word[0][1]](word[0][0]))
    ham = qml.Hamiltonian(coeffs, ops)
    dev = qml.device("lightning.qubit", wires=n)
    bits = [(problem.hf_state >> q) & 1 for q in range(n)]
    gates = []
    for op in ansatz.operators:
        occ, virt = op.label[3:-1].split("->")
        wires = [int(w) for w in occ.split(",")] + [int(w) for w in virt.split(",")]
        gates.append((qml.DoubleExcitation if len(wires) == 4 else qml.SingleExcitation, wires))

    @qml.qnode(dev, diff_method="adjoint")
    def energy(params: Any) -> Any:
        qml.BasisState(np.array(bits), wires=range(n))
        for k, (gate, wires) in enumerate(gates):
            gate(params[k], wires=wires)
        return qml.expval(ham)

    grad = qml.grad(energy)

    def energy_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = pnp.array(theta, requires_grad=True)
        g = grad(params)
        return float(grad.forward) + const, np.asarray(g)

    return energy_and_gradient, qml.version()


def speed(args: argparse.Namespace) -> dict[str, Any]:
    from qtandem.chem.ansatz import ansatz

    rows = []
    for name in args.molecules:
        problem = _problem(name)
        a_sub = ansatz(problem, "uccsd")
        a_full = ansatz(problem, "uccsd", subspace=False)
        theta = np.random.default_rng(args.seed).normal(scale=0.1, size=a_sub.n_parameters)
        pl_fn, pl_version = _pennylane(problem, a_sub)
        e_ours, g_ours = a_sub.energy_and_gradient(theta)
        e_full, g_full = a_full.energy_and_gradient(theta)
        e_pl, g_pl = pl_fn(theta)
        agree = {"energy_sub_vs_pl": abs(e_ours - e_pl), "grad_sub_vs_pl": float(np.abs(g_ours - g_pl).max()),
                 "energy_full_vs_pl": abs(e_full - e_pl), "grad_full_vs_pl": float(np.abs(g_full - g_pl).max())}
        if max(agree.values()) > 1e-8:
            raise SystemExit(f"{name}: qtandem and PennyLane disagree: {agree}")
        t_sub = _timed(a_sub.energy_and_gradient, theta, args.repeats)
        t_full = _timed(a_full.energy_and_gradient, theta, args.repeats)
        t_pl = _timed(pl_fn, theta, args.repeats)
        t_shift = _timed(a_sub.program.parameter_shift_gradient, theta, args.repeats)
        np.testing.assert_allclose(a_sub.program.parameter_shift_gradient(theta), g_ours, atol=1e-9)
        row = {"molecule": name, "active": MOLECULES[name]["active"], "n_qubits": problem.n_qubits,
               "n_parameters": a_sub.n_parameters, "span_dimension": a_sub.program.dimension,
               "n_hamiltonian_terms": len(problem.hamiltonian), "energy": e_ours, "agreement": agree,
               "qtandem_subspace_s": t_sub, "qtandem_full_s": t_full, "lightning_adjoint_s": t_pl,
               "qtandem_parameter_shift_batched_s": t_shift,
               "ratio_subspace_vs_lightning": t_sub / t_pl, "ratio_full_vs_lightning": t_full / t_pl}
        rows.append(row)
        print(f"{name}: {problem.n_qubits} qubits, {a_sub.n_parameters} params, span {a_sub.program.dimension}; "
              f"qtandem span {1e3 * t_sub:.2f} ms, full {1e3 * t_full:.2f} ms, lightning adjoint {1e3 * t_pl:.2f} ms; "
              f"ratios {t_sub / t_pl:.3f} / {t_full / t_pl:.3f}; batched shift {1e3 * t_shift:.2f} ms", flush=True)
    return {"section": "speed", "rows": rows, "pennylane": pl_version, "repeats": args.repeats, "seed": args.seed}


def cnots(args: argparse.Namespace) -> dict[str, Any]:
    from qtandem.chem.vqe import cnot_count, vqe

    rows = []
    for name in args.molecules:
        problem = _problem(name)
        refs = dict(problem.references)
        t0 = time.perf_counter()
        ucc = vqe(problem, "uccsd", compile_level=None)
        ucc_time = time.perf_counter() - t0
        raw = ucc.cnot_count
        t0 = time.perf_counter()
        compiled = cnot_count(ucc.circuit, level=args.compile_level)[1] if args.compile_uccsd else None
        generic = None
        if args.uccsd_generic:
            from qtandem.chem.ansatz import ansatz as build

            a = build(problem, "uccsd")
            theta = np.random.default_rng(args.seed).normal(scale=0.1, size=a.n_parameters)
            generic = cnot_count(a.circuit(theta), level=args.compile_level)[1]
        row: dict[str, Any] = {"molecule": name, "active": MOLECULES[name]["active"], "n_qubits": problem.n_qubits,
                               "references": refs,
                               "uccsd": {"error_casci": ucc.error_vs("casci"), "error_fci": ucc.error_vs("fci"),
                                         "n_parameters": len(ucc.parameters), "n_evaluations": ucc.n_evaluations,
                                         "cnots_raw": raw, "cnots_compiled": compiled,
                                         "cnots_compiled_generic_parameters": generic, "time_s": ucc_time,
                                         "compile_s": time.perf_counter() - t0}}
        print(f"{name}: refs " + ", ".join(f"{k} {v:.6f}" for k, v in refs.items() if v is not None), flush=True)
        print(f"  uccsd: err {1e3 * ucc.error_vs('casci'):.3f} mHa, {raw} cx raw, {compiled} compiled at the "
              f"optimum (symmetry-zero angles drop out), {generic} compiled at generic parameters, "
              f"{ucc.n_evaluations} evals", flush=True)
        for kind in args.adapt:
            t0 = time.perf_counter()
            r = vqe(problem, kind, target=CHEMICAL_ACCURACY, reference="casci", compile_level=args.compile_level,
                    max_operators=args.max_operators)
            row[kind] = {"error_casci": r.error_vs("casci"), "error_fci": r.error_vs("fci"),
                         "operators": r.operators, "n_operators": len(r.operators), "cnots_compiled": r.cnot_count,
                         "cnots_raw": r.extra["iterations"][-1]["raw_cnots"] if r.extra["iterations"] else 0,
                         "n_evaluations": r.n_evaluations, "n_gradient_evaluations": r.n_gradient_evaluations,
                         "pool_size": r.extra["pool_size"], "pool_gradients": r.extra["pool_gradients"],
                         "stopped": r.extra["stopped"], "time_s": time.perf_counter() - t0}
            print(f"  {kind}: err {1e3 * r.error_vs('casci'):.3f} mHa ({r.extra['stopped']}), "
                  f"{len(r.operators)} ops, {r.cnot_count} cx compiled ({row[kind]['cnots_raw']} raw), "
                  f"{r.n_evaluations} evals, {r.extra['pool_gradients']} pool gradients", flush=True)
        rows.append(row)
    return {"section": "cnots", "rows": rows, "compile_level": args.compile_level}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--section", choices=["speed", "cnots"], required=True)
    parser.add_argument("--molecules", default=None, help="comma-separated: " + ",".join(MOLECULES))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adapt", default="qubit-adapt,ceo-adapt,adapt")
    parser.add_argument("--compile-level", type=int, default=1)
    parser.add_argument("--no-compile-uccsd", dest="compile_uccsd", action="store_false")
    parser.add_argument("--max-operators", type=int, default=60)
    parser.add_argument("--uccsd-generic", action="store_true",
                        help="also compile UCCSD at seeded random parameters (no zero angles; slow past 10 qubits)")
    parser.add_argument("--out", default=None, help="result file (default bench/results/chem[_cnots_<mols>].json)")
    args = parser.parse_args(argv)
    default = "lih,beh2" if args.section == "speed" else "lih,beh2,h2o,n2"
    args.molecules = (args.molecules or default).split(",")
    args.adapt = [k for k in args.adapt.split(",") if k]
    result = speed(args) if args.section == "speed" else cnots(args)
    result.update({"python": sys.version.split()[0], "platform": platform.platform(),
                   "numpy": np.__version__, "command": " ".join(sys.argv)})
    out = Path(args.out) if args.out else RESULTS / (
        "chem.json" if args.section == "speed" else f"chem_cnots_{'_'.join(args.molecules)}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
