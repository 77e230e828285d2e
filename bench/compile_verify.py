"""Verification benchmark: prove each Nam-suite circuit equal to Qiskit's level-3 rewrite, reject broken copies.

For every circuit in the suite: Qiskit ``transpile(optimization_level=3, basis_gates=[h, x, cx, rz])`` output is
checked with ``qtandem.compile.verify.verify_equivalent`` (method auto: path sums, exact for <= 12 active qubits),
then two broken copies of it (one rz sign flipped, one cx reversed) must be rejected. Prints a table and the
timings; JSON to bench/results/compile_verify.json.

Usage: ``flock /tmp/qtandem-cpu.lock python bench/compile_verify.py [--data DIR]``
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

from qtandem import Circuit
from qtandem.compile.verify import verify_equivalent
from qtandem.errors import VerificationError
from qtandem.io import atomic_write_text

HERE = Path(__file__).resolve().parent


def _check(a: Circuit, b: Circuit) -> tuple[str, float]:
    t = time.perf_counter()
    try:
        verify_equivalent(a, b)
        verdict = "proved"
    except VerificationError as err:
        verdict = "not equivalent" if "not equivalent" in str(err) else "inconclusive"
    return verdict, time.perf_counter() - t


def _broken(b: Circuit, kind: str, rng: random.Random) -> Circuit:
    insts = list(b)
    # an rz whose sign matters (rz(-pi) equals rz(pi) up to a global phase) or any cx
    k = rng.choice([i for i, x in enumerate(insts) if x.name == kind
                    and (kind != "rz" or abs(math.remainder(float(x.params[0]), math.pi)) > 1e-9)])
    out = Circuit(b.n_qubits)
    for i, x in enumerate(insts):
        if i != k:
            out.append(x)
        elif kind == "rz":
            out.append(x.replace(params=(-x.params[0],)))
        else:
            out.append(x.replace(qubits=x.qubits[::-1]))
    return out


def main(argv: list[str] | None = None) -> int:
    from qiskit import qasm2, transpile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "nam")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "compile_verify.json")
    args = ap.parse_args(argv)
    rows = []
    rng = random.Random(0)
    for path in sorted(args.data.glob("*.qasm")):
        a = Circuit.from_qasm(path.read_text())
        qc = transpile(qasm2.loads(path.read_text()), basis_gates=["h", "x", "cx", "rz"], optimization_level=3,
                       seed_transpiler=1)
        b = Circuit.from_qasm(qasm2.dumps(qc))
        verdict, secs = _check(a, b)
        flipped, t_rz = _check(a, _broken(b, "rz", rng))
        reversed_, t_cx = _check(a, _broken(b, "cx", rng))
        row = {"circuit": path.stem, "qubits": a.n_qubits, "gates": len(a), "qiskit_gates": len(b),
               "verdict": verdict, "seconds": secs, "flipped_rz": flipped, "flipped_rz_s": t_rz,
               "reversed_cx": reversed_, "reversed_cx_s": t_cx}
        rows.append(row)
        print(f"{path.stem:16s} {a.n_qubits:3d}q {len(a):6d} gates  {verdict:12s} {secs:6.2f}s  broken copies: "
              f"{flipped} / {reversed_}", flush=True)
    proved = sum(r["verdict"] == "proved" for r in rows)
    wrong = sum(r["flipped_rz"] == "proved" or r["reversed_cx"] == "proved" for r in rows)
    print(f"proved {proved}/{len(rows)}; broken copies accepted: {wrong} (must be 0); "
          f"max time {max(r['seconds'] for r in rows):.2f}s")
    atomic_write_text(args.json, json.dumps({"rows": rows, "proved": proved, "broken_accepted": wrong}, indent=1)
                      + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
