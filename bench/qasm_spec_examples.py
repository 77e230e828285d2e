"""Which of the OpenQASM 3 specification's examples qtandem reads, and how fast the reader is.

Reads every ``examples/*.qasm`` of a copy of github.com/openqasm/openqasm (a checkout, or a
bare git folder), records for each whether ``qtandem.qasm.loads`` reads it and, if not, the
error (which names the missing feature), then times reading a large generated OpenQASM 2
program (median of ``--repeats``). ``--src DIR`` imports qtandem from another source tree
(e.g. ``git archive <commit> src | tar -x -C /tmp/old`` for a before/after comparison).

Usage::

    python bench/qasm_spec_examples.py --spec /path/to/openqasm --json bench/results/qasm_spec_examples.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def read_examples(spec: Path) -> tuple[dict[str, str], str]:
    """``({name: text}, commit)`` of the specification's examples."""
    if (spec / "examples").is_dir():
        texts = {p.name: p.read_text(encoding="utf-8") for p in sorted((spec / "examples").glob("*.qasm"))}
        git = ["git", "-C", str(spec)]
    else:
        git = ["git", "--git-dir", str(spec)]
        names = subprocess.run([*git, "ls-tree", "--name-only", "HEAD", "examples/"], capture_output=True,
                               text=True, check=True).stdout.split()
        texts = {Path(n).name: subprocess.run([*git, "show", f"HEAD:{n}"], capture_output=True, text=True,
                                              check=True).stdout for n in names if n.endswith(".qasm")}
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    return texts, commit


def big_program(n_lines: int) -> str:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', "qreg q[20];", "creg c[20];"]
    for k in range(n_lines):
        a, b = k % 20, (7 * k + 3) % 20
        lines.append(f"cx q[{a}], q[{b}];" if a != b else f"rz({0.001 * k}) q[{a}];")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True, help="copy of github.com/openqasm/openqasm")
    parser.add_argument("--src", type=Path, help="import qtandem from this source tree instead")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lines", type=int, default=100_000, help="gate lines of the timed program")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if args.src is not None:
        sys.path.insert(0, str(args.src.resolve()))
    from qtandem.errors import QasmError
    from qtandem.qasm import loads

    texts, commit = read_examples(args.spec)
    rows: list[dict[str, Any]] = []
    for name, text in texts.items():
        row: dict[str, Any] = {"example": name}
        try:
            c = loads(text, filename=name)
            row.update(loads=True, qubits=c.n_qubits, clbits=c.n_clbits, ops=c.count_ops())
        except QasmError as err:
            row.update(loads=False, error=f"{err.line}:{err.column}: {err.message}")
        rows.append(row)
        print(f"{'OK  ' if row['loads'] else 'FAIL'} {name:20s} {row.get('error', row.get('ops'))}")
    program = big_program(args.lines)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        loads(program)
        times.append(time.perf_counter() - t0)
    loaded = sum(r["loads"] for r in rows)
    print(f"{loaded} of {len(rows)} examples load; reading {args.lines} gate lines: "
          f"{statistics.median(times):.3f} s (median of {args.repeats})")
    import qtandem

    result = {"spec_commit": commit, "qtandem_source": str(Path(qtandem.__file__).parent), "examples": rows,
              "loaded": loaded, "total": len(rows), "parse_lines": args.lines,
              "parse_seconds_median": statistics.median(times), "parse_seconds": times}
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
