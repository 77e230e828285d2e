"""Verification benchmark: prove each Nam-suite circuit equal to Qiskit's level-3 rewrite, reject broken copies.

For every circuit in the suite: Qiskit ``transpile(optimization_level=3, basis_gates=[h, x, cx, rz])`` output is
checked with ``qtandem.compile.verify.verify_equivalent`` (method auto: path sums, exact for <= 12 active qubits),
then two broken copies of it (one rz sign flipped, one cx reversed) must be rejected. Prints a table, the
timings and how each broken copy was rejected (proved inequivalent, or only inconclusive); JSON to
bench/results/compile_verify.json. ``--from-json`` recomputes the summary from a saved run's rows.

Usage: ``flock /tmp/qtandem-cpu.lock python bench/compile_verify.py [--data DIR]``
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from typing import Any

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
    ap.add_argument("--from-json", type=Path, default=None, help="summarize the rows of a saved run (no rerun)")
    args = ap.parse_args(argv)
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
        result.update(summarize(result["rows"]))
        print(report(result))
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
        return 0
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
    result = {"rows": rows, **summarize(rows)}
    print(report(result))
    atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts over ``rows``: rewrites proved, and broken copies proved inequivalent / inconclusive / accepted.

    A broken copy that is not accepted is either *proved* inequivalent (a differing column or output wire
    was found) or only *inconclusive* (the checker could not decide, so it refused it without a proof).

    Examples:
        >>> rows = [{"verdict": "proved", "flipped_rz": "not equivalent", "reversed_cx": "inconclusive"},
        ...         {"verdict": "inconclusive", "flipped_rz": "inconclusive", "reversed_cx": "inconclusive"}]
        >>> s = summarize(rows)
        >>> s["proved"], s["broken_copies"], s["broken_proved_inequivalent"], s["broken_inconclusive"]
        (1, 4, 1, 3)
    """
    broken = [r[k] for r in rows for k in ("flipped_rz", "reversed_cx")]
    by_kind = {k: {"proved_inequivalent": sum(r[k] == "not equivalent" for r in rows),
                   "inconclusive": sum(r[k] == "inconclusive" for r in rows),
                   "accepted": sum(r[k] == "proved" for r in rows)} for k in ("flipped_rz", "reversed_cx")}
    return {"circuits": len(rows), "proved": sum(r["verdict"] == "proved" for r in rows),
            "rewrite_inconclusive": sum(r["verdict"] == "inconclusive" for r in rows),
            "broken_copies": len(broken), "broken_proved_inequivalent": broken.count("not equivalent"),
            "broken_inconclusive": broken.count("inconclusive"), "broken_accepted": broken.count("proved"),
            "broken_by_kind": by_kind}


def report(result: dict[str, Any]) -> str:
    """The summary lines printed after the table (and quoted in the README)."""
    k = result["broken_by_kind"]
    rows = result["rows"]
    return (f"rewrites proved equivalent: {result['proved']}/{result['circuits']} "
            f"({result['rewrite_inconclusive']} inconclusive)\n"
            f"broken copies: {result['broken_copies']}; proved inequivalent {result['broken_proved_inequivalent']}, "
            f"inconclusive (refused without a proof) {result['broken_inconclusive']}, "
            f"accepted {result['broken_accepted']} (must be 0)\n"
            f"  rz negated: {k['flipped_rz']['proved_inequivalent']} proved / {k['flipped_rz']['inconclusive']} "
            f"inconclusive; cx reversed: {k['reversed_cx']['proved_inequivalent']} proved / "
            f"{k['reversed_cx']['inconclusive']} inconclusive\n"
            f"max time {max(r['seconds'] for r in rows):.2f}s")


if __name__ == "__main__":
    raise SystemExit(main())
