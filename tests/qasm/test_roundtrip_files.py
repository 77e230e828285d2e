"""parse -> write -> parse keeps the unitary: shipped .qasm files, custom gates, and the specification's examples.

The specification's examples are read from a local copy of github.com/openqasm/openqasm
(``OPENQASM_SPEC`` = a checkout or a bare git folder); without one those tests are skipped,
so the core suite never needs the network.
"""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from qtandem import Circuit, QasmError
from qtandem.qasm import dumps, loads

DATA = Path(__file__).resolve().parents[2] / "src" / "qtandem" / "data" / "qasm"
SHIPPED = sorted(DATA.glob("*.qasm"))

# Every example of the specification repository's examples/ folder: None if qtandem reads it,
# else the start of the error, which names the feature (or the example's own bug) that stops it.
SPEC_EXAMPLES: dict[str, str | None] = {
    "adder.qasm": None,
    "alignment.qasm": "not supported: 'stretch'",
    # the example writes my_defined_uints[a - 1] with a = 5 (size 4) and declares first_dimension twice
    "arrays.qasm": "index 4 is out of range for 'my_defined_uints'",
    # a fragment: no include for CX and the register q is never declared
    "cphase.qasm": "unknown gate 'CX'",
    "dd.qasm": "not supported: 'stretch'",
    "defcal.qasm": "not supported: calibration grammar ('defcalgrammar')",
    "gateteleport.qasm": "not supported: calibration grammar ('extern')",
    "inverseqft1.qasm": None,
    "inverseqft2.qasm": None,
    # measures into an angle[n] variable and shifts it (c <<= 1)
    "ipe.qasm": "not supported: measuring into the classical variable 'c'",
    # 'cz scratch[3], ...' on a 3-qubit register; later a while loop on measured bits
    "msd.qasm": "index 3 is out of range for register 'scratch' of size 3",
    "qec.qasm": None,
    "qft.qasm": None,
    "qpt.qasm": None,
    "rb.qasm": None,
    "rus.qasm": "not supported: while loop with a run-time condition",
    "scqec.qasm": "not supported: calibration grammar ('extern')",
    # its durations and delays read; it then declares an extern function
    "t1.qasm": "not supported: calibration grammar ('extern')",
    "teleport.qasm": None,
    "varteleport.qasm": None,
    "vqe.qasm": "not supported: calibration grammar ('extern')",
}
_MIRROR = Path("/work/.mirror/openqasm+openqasm/repo")


def spec_examples() -> dict[str, str]:
    """``{file name: text}`` of the specification's examples, from ``$OPENQASM_SPEC`` (or a local mirror)."""
    root = Path(os.environ.get("OPENQASM_SPEC", _MIRROR))
    if (root / "examples").is_dir():
        return {p.name: p.read_text(encoding="utf-8") for p in sorted((root / "examples").glob("*.qasm"))}
    if (root / "HEAD").is_file():  # a bare git folder
        try:
            names = subprocess.run(["git", "--git-dir", str(root), "ls-tree", "--name-only", "HEAD", "examples/"],
                                   capture_output=True, text=True, check=True, timeout=60).stdout.split()
            return {Path(n).name: subprocess.run(["git", "--git-dir", str(root), "show", f"HEAD:{n}"],
                                                 capture_output=True, text=True, check=True, timeout=60).stdout
                    for n in names if n.endswith(".qasm")}
        except (OSError, subprocess.SubprocessError):
            return {}
    return {}


def unitary_part(c: Circuit) -> Circuit:
    """The circuit's gates without conditions; measure/reset/barrier dropped (for comparing unitaries)."""
    out = Circuit(c.n_qubits)
    for inst in c:
        if inst.is_gate:
            out.append(inst.replace(condition=None))
    return out


def assert_same_program(a: Circuit, b: Circuit) -> None:
    """Same non-gate skeleton and conditions; same unitary for the gates (up to 10 qubits)."""
    skeleton = [(i.name, i.qubits, i.clbits, i.condition) for i in a if not i.is_gate]
    assert skeleton == [(i.name, i.qubits, i.clbits, i.condition) for i in b if not i.is_gate]
    assert [(i.qubits, i.condition) for i in a if i.is_gate] == [(i.qubits, i.condition) for i in b if i.is_gate] \
        or a.gate_definitions or b.gate_definitions
    if a.n_qubits <= 10 and not a.parameters:
        np.testing.assert_allclose(unitary_part(a).to_matrix().numpy(), unitary_part(b).to_matrix().numpy(),
                                   atol=1e-10)


@pytest.mark.parametrize("inline", [False, True])
@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_files_round_trip(path, version, inline):
    c = loads(path.read_text(), params={"theta": 0.3, "phi": -1.1} if "variational" in path.name else None)
    again = loads(dumps(c, version=version, inline=inline))
    assert again.n_qubits == c.n_qubits and again.n_clbits == c.n_clbits
    assert_same_program(c, again)


def test_custom_gates_are_kept_as_definitions_and_inline_flattens():
    text = ('OPENQASM 3.0;\ninclude "stdgates.inc";\ngate bell a, b { h a; cx a, b; }\n'
            "gate twist(t) a, b { bell a, b; crz(t / 3) a, b; ry(-2 * t + pi) b; }\n"
            "qubit[3] q;\nbit c;\ntwist(0.7) q[0], q[2];\nc = measure q[0];\nif (c) twist(pi / 2) q[1], q[2];\n")
    c = loads(text)
    for version in (2, 3):
        out = dumps(c, version=version)
        assert "gate twist(t) a, b { h a; cx a, b; crz(0.3333333333333333*t) a, b; ry(-2*t + pi) b; }" in out, out
        assert "twist(0.7) q[0], q[2];" in out
        assert ("if(c==1) twist(pi/2) q[1], q[2];" if version == 2 else "if (c == 1) twist(pi/2) q[1], q[2];") in out
        assert "gate bell" not in out  # bodies are written flat; only called gates are defined
        assert_same_program(c, loads(out))
        flat = dumps(c, version=version, inline=True)
        assert "gate " not in flat and flat.count("crz(") == 2
        assert_same_program(c, loads(flat))


def test_changed_instructions_are_written_flat():
    c = loads('OPENQASM 2.0;\ninclude "qelib1.inc";\ngate g a { h a; t a; }\nqreg q[1];\ng q[0];\ng q[0];\n')
    c._instructions[1] = c._instructions[1].replace(name="s")  # no longer what g expands to
    out = dumps(c)
    assert out.count("g q[0];") == 1 and "h q[0];\ns q[0];" in out
    assert_same_program(c, loads(out))


def test_definitions_the_target_cannot_express_are_inlined():
    c = loads('OPENQASM 3.0;\ninclude "stdgates.inc";\ngate cc a, b, d { ctrl(2) @ rx(0.2) a, b, d; }\n'
              "gate é a { h a; }\ngate rzz(t) a, b { rx(t) a; }\nqubit[3] q;\ncc q[0], q[1], q[2];\né q[0];\n"
              "rzz(0.5) q[0], q[1];\n")
    v3 = dumps(c, version=3)
    assert "gate cc a, b, d { ctrl(2) @ rx(0.2) a, b, d; }" in v3 and "gate é a { h a; }" in v3
    assert "rx(0.5) q[0];" in v3 and "rzz(0.5)" not in v3  # the writer's own rzz would clash
    with pytest.raises(QasmError, match="modifiers"):
        dumps(c, version=2)  # the controlled rotation itself has no OpenQASM 2 form
    assert_same_program(c, loads(v3))


@pytest.mark.parametrize("x", [0.1, 1 / 3, 2.5e-17, -1e300, math.pi / 4, 3 * math.pi / 8, 123456789.125, 1e22])
def test_floats_are_written_with_the_shortest_repr_that_round_trips(x):
    text = dumps(Circuit(1).rz(x, 0))
    written = text.splitlines()[-1].removeprefix("rz(").removesuffix(") q[0];")
    if "pi" not in written:
        assert written == (str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x))
        assert len(written) <= len(repr(x))
    assert loads(text)[0].params == (x,)


def test_spec_examples_load_as_recorded():
    examples = spec_examples()
    if not examples:
        pytest.skip("no copy of github.com/openqasm/openqasm (set OPENQASM_SPEC to a checkout)")
    assert sorted(examples) == sorted(SPEC_EXAMPLES), "the specification's examples changed: update the record"
    outcome: dict[str, str | None] = {}
    for name, text in examples.items():
        try:
            loads(text, filename=name)
            outcome[name] = None
        except QasmError as err:
            expected = SPEC_EXAMPLES[name]
            outcome[name] = expected if expected is not None and err.message.startswith(expected) else err.message
    assert outcome == SPEC_EXAMPLES
    assert sum(v is None for v in outcome.values()) == 9


def test_spec_examples_that_load_round_trip():
    examples = spec_examples()
    if not examples:
        pytest.skip("no copy of github.com/openqasm/openqasm (set OPENQASM_SPEC to a checkout)")
    for name, expected in SPEC_EXAMPLES.items():
        if expected is None:
            c = loads(examples[name], filename=name)
            assert_same_program(c, loads(dumps(c, version=3)))
            try:
                text = dumps(c, version=2)
            except QasmError as err:  # a test of one bit of a register has no OpenQASM 2 form
                assert "OpenQASM 2 cannot express that" in err.message
                continue
            assert_same_program(c, loads(text))
