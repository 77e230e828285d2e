"""Issue 13 section 1: sizes past 2**1024 bytes (about 1,020 qubits) raise ResourceError, never OverflowError."""

from __future__ import annotations

import pytest
import torch

import qtandem
from qtandem import Circuit
from qtandem.errors import ResourceError
from qtandem.sim.memory import check_memory, format_bytes, state_bytes


@pytest.mark.parametrize(("value", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (3 * 2**30, "3.0 GiB"), (2**64, "16.0 EiB"),
    (2**70, "2^70 B (about 1.2 x 10^21 B)"), (2**1104, "2^1104 B (about 2.2 x 10^332 B)"),
    (3 * 2**1104, "about 6.5 x 10^332 B"), (10**400, "about 1.0 x 10^400 B"),
])
def test_format_bytes_is_exact_for_any_integer(value: int, text: str) -> None:
    assert format_bytes(value) == text


def test_state_bytes_is_an_exact_integer() -> None:
    assert state_bytes(1100, torch.complex128) == 2**1104
    assert state_bytes(1100, torch.complex64, density=True) == 2**2203


def test_check_memory_huge() -> None:
    with pytest.raises(ResourceError, match=r"needs 2\^1104 B \(about 2\.2 x 10\^332 B\)"):
        check_memory(2**1104, "statevector of 1100 qubits (complex128)")


@pytest.mark.parametrize("n", [1025, 1100, 100_000])
@pytest.mark.parametrize("call", ["statevector", "probabilities", "sample", "density_matrix", "unitary", "expval",
                                  "distribution", "sample_midcircuit"])
def test_huge_registers_raise_resource_error(n: int, call: str) -> None:
    c = Circuit(n, 2)
    funcs = {
        "statevector": lambda: qtandem.statevector(c),
        "probabilities": lambda: qtandem.probabilities(c),
        "sample": lambda: qtandem.sample(c, 10, seed=0),
        "density_matrix": lambda: qtandem.density_matrix(c),
        "unitary": lambda: qtandem.unitary(c),
        "expval": lambda: qtandem.expval(c, "Z0"),
        "distribution": lambda: qtandem.distribution(c.copy().h(0).measure(0, 0).reset(0).measure(0, 1)),
        "sample_midcircuit": lambda: qtandem.sample(c.copy().h(0).measure(0, 0).reset(0).measure(0, 1), 10, seed=0),
    }
    with pytest.raises(ResourceError, match=rf"{n} qubits.*needs 2\^\d+ B \(about [\d.]+ x 10\^\d+ B\)"):
        funcs[call]()


def test_huge_qasm_register() -> None:
    c = qtandem.Circuit.from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[100000];\ncreg c[1];\n'
                                  "h q[0];\nmeasure q[0] -> c[0];\n")
    with pytest.raises(ResourceError, match="100000 qubits"):
        qtandem.sample(c, 10, seed=0)
