"""Mutated OpenQASM never raises anything but QasmError (or parses)."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtandem import QasmError
from qtandem.qasm import loads

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [p.read_text() for p in sorted((ROOT / "examples" / "qasm").glob("*.qasm"))]
SEEDS += [p.read_text() for p in sorted((ROOT / "src" / "qtandem" / "data" / "qasm").glob("*.qasm"))]


def _check(text: str) -> None:
    try:
        loads(text)
    except QasmError:
        pass


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, len(SEEDS) - 1), data=st.data())
def test_mutations_only_raise_qasm_error(seed, data):
    text = SEEDS[seed]
    tokens = text.replace("(", " ( ").replace(")", " ) ").replace(";", " ; ").replace(",", " , ").split(" ")
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "byte"]))
        i = data.draw(st.integers(0, len(tokens) - 1))
        if op == "delete" and len(tokens) > 1:
            tokens.pop(i)
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = data.draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            tokens.insert(i, data.draw(st.sampled_from(["[", "]", "{", "}", "->", "@", "ctrl", "inv", "pow(2)",
                                                        "999999", "-1", "pi", "measure", "gate", "for", "=", "**",
                                                        "q[-1]", '"', "/*", "if", "input", "0.5e9999"])))
        else:
            tokens[i] = tokens[i] + data.draw(st.text(max_size=3))
    _check(" ".join(tokens))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.binary(max_size=200))
def test_random_bytes(blob):
    try:
        loads(blob.decode("utf-8", errors="replace"))
    except QasmError:
        pass
