"""Mutated OpenQASM never raises anything but QasmError (or parses)."""

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtandem import QasmError
from qtandem.qasm import loads
from qtandem.qasm.parser import parse

ROOT = Path(__file__).resolve().parents[2]
FEATURES_3 = """OPENQASM 3.0;
include "stdgates.inc";
const int n = 3;
input float[64] theta;
input array[angle, 2] w;
qubit[n] q;
qubit anc;
bit[n] c;
gate mix(a) x, y { ry(a / 2) x; cx x, y; inv @ s y; }
for int i in [0:n - 2] { mix(theta * (i + 1) + pi / 4) q[i], q[i + 1]; }
for uint k in {2, 0} { rz(w[1] - τ) q[k]; }
ctrl(2) @ rx(sin(0.3) ** 2) q[0], q[1], anc;
negctrl @ pow(-2) @ t q[2], anc;
c[0] = measure q[0];
if (c == 1) { x q[1]; }
c = measure q;
reset anc;
barrier q, anc;
"""
FEATURES_2 = """OPENQASM 2.0;
include "qelib1.inc";
gate g(a, b) x, y { u3(a, b, -a) x; cu1(b / 2) x, y; }
qreg q[3];
qreg r[3];
creg c[3];
g(pi/2, 0.25e-1) q[0], r[1];
cx q, r;
c4x q[0], q[1], q[2], r[0], r[1];
measure q -> c;
if (c == 5) rccx r[0], r[1], r[2];
"""
PROGRAMS_3 = """OPENQASM 3.0;
include "stdgates.inc";
const int n = 4;
input float theta;
qubit[n] q;
bit[2] c;
uint[4] mask = 5;
array[int[8], 2, 2] m = {{1, 2}, {3, 0}};
def rot(qubit a, float t, int k) -> int { for int i in [1:k] { rz(t) a; } return k * 2; }
def probe(qubit a) -> bit { h a; return measure a; }
let pair = q[{0, 3}] ++ q[1:2];
int total = 0;
while (total < 3) { total += rot(pair[total], theta / 2, 1) - 1; if (total == 2) continue; }
for uint i in [0:n - 1] { if (bool(mask[i]) && i != 2) x q[i]; else { if (i >= 3) break; } }
switch (sizeof(m, 1)) { case 1, 3 { h q[0]; } case 2 { y q[1]; } default { z q[2]; } }
c[0] = probe(q[0]);
c[1] = measure q[1];
if (int[2](c) == 2) { x q[2]; }
if (c[0]) z q[3]; else x q[3];
switch (c) { case 0 { h q[1]; } case 1, 2 { s q[1]; } }
"""
SEEDS = [FEATURES_2, FEATURES_3, PROGRAMS_3, "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nbit b;\nh $0;\ncx $0, $2;\n"
         "b = measure $2;\nif (!b) x $1;\n"]
SEEDS += [p.read_text() for p in sorted((ROOT / "examples" / "qasm").glob("*.qasm"))]
SEEDS += [p.read_text() for p in sorted((ROOT / "src" / "qtandem" / "data" / "qasm").glob("*.qasm"))]
INSERTS = ["[", "]", "{", "}", "(", ")", "->", "@", "ctrl", "inv", "pow(2)", "999999", "-1", "pi", "measure", "gate",
           "for", "=", "**", "q[-1]", '"', "/*", "if", "input", "0.5e9999", "include", "opaque", "qubit", ";", ",",
           "2im", "const", "negctrl(2)", "c", "q", "theta", "1/0", "U", "x", "\u00e9", "\\", "OPENQASM 3;",
           "while", "def", "let", "switch", "case", "default", "break", "continue", "return", "$1", "++", "bool(",
           "int[8](", "sizeof(", "#dim=2", "else", "&&", "!", "~", "<<=", "array[int, 2]", "extern", "true"]
_SPLIT = re.compile(r"(\s+|[()\[\]{};,@])")


def _parse_strictly(text: str) -> None:
    """Call the parser itself (not the guarded ``loads``) so any stray exception type fails the test."""
    try:
        parse(text)
    except QasmError:
        pass


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, len(SEEDS) - 1), data=st.data())
def test_token_mutations_only_raise_qasm_error(seed, data):
    tokens = [t for t in _SPLIT.split(SEEDS[seed]) if t]
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "append"]))
        i = data.draw(st.integers(0, len(tokens) - 1))
        if op == "delete" and len(tokens) > 1:
            tokens.pop(i)
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = data.draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            tokens.insert(i, data.draw(st.sampled_from(INSERTS)))
        else:
            tokens[i] = tokens[i] + data.draw(st.text(max_size=3))
    _parse_strictly("".join(tokens))


@settings(max_examples=50, deadline=None, derandomize=True)
@given(seed=st.integers(0, len(SEEDS) - 1), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                                            min_size=1, max_size=4))
def test_byte_flips_only_raise_qasm_error(seed, flips):
    data = bytearray(SEEDS[seed].encode())
    for pos, value in flips:
        data[pos % len(data)] = value
    try:
        loads(bytes(data))
    except QasmError as err:
        assert "internal error" not in err.message and "nested too deeply" not in err.message, err
    try:
        text = bytes(data).decode("utf-8", errors="replace")
    except UnicodeDecodeError:  # pragma: no cover - errors="replace" never raises
        return
    _parse_strictly(text)
