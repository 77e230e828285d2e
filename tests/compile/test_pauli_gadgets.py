"""Pauli-gadget resynthesis (qtandem.compile.passes.gadgets) against dense unitaries and the verifier."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile import optimize
from qtandem.compile.generate import generate
from qtandem.compile.passes.gadgets import PauliGadgets, pauli_gadgets
from qtandem.compile.verify import verify_equivalent
from qtandem.errors import CompileError
from qtandem.sim import unitary


def _same_up_to_phase(a: Circuit, b: Circuit) -> bool:
    u, v = np.asarray(unitary(a)), np.asarray(unitary(b))
    k = np.unravel_index(np.argmax(np.abs(u)), u.shape)
    phase = v[k] / u[k]
    return bool(abs(abs(phase) - 1) < 1e-8 and np.allclose(u * phase, v, atol=1e-8))


def _random(n: int, gates: int, seed: int) -> Circuit:
    """Cliffords, rotations about every axis, general u and two-qubit rotations."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(gates):
        kind = int(rng.integers(0, 10))
        q = int(rng.integers(n))
        r = (q + 1 + int(rng.integers(n - 1))) % n if n > 1 else q
        angle = float(rng.normal())
        if kind == 0:
            c.h(q)
        elif kind == 1:
            c.s(q)
        elif kind == 2:
            c.sx(q)
        elif kind == 3:
            c.rz(angle, q)
        elif kind == 4:
            c.rx(angle, q)
        elif kind == 5:
            c.u(angle, float(rng.normal()), float(rng.normal()), q)
        elif kind == 6:
            c.rz(np.pi / 2, q)
        elif n > 1 and kind in (7, 8):
            c.cx(q, r)
        elif n > 1:
            c.rzz(angle, q, r)
    return c


@pytest.mark.parametrize("frame", ["input", "local"])
@pytest.mark.parametrize("seed", range(30))
def test_random_circuits_equal_their_dense_unitary(seed: int, frame: str) -> None:
    c = _random(1 + seed % 4, 6 + seed % 20, seed)
    out = pauli_gadgets(c, frame)
    if out is None:  # only when there is no rotation
        assert not any(i.name in ("rz", "rx", "u", "rzz") for i in c)
        return
    assert _same_up_to_phase(c, out)
    verify_equivalent(c, out)


def _excitation(c: Circuit, wires: tuple[int, ...], theta: float) -> None:
    """The 8 Pauli exponentials of a Jordan-Wigner double excitation, each with its own CX ladder."""
    for k, word in enumerate(("XXXY", "XXYX", "XYXX", "YXXX", "YYYX", "YYXY", "YXYY", "XYYY")):
        for q, letter in zip(wires, word, strict=True):
            c.h(q) if letter == "X" else c.rx(np.pi / 2, q)
        for a, b in itertools.pairwise(wires):
            c.cx(a, b)
        c.rz(theta * (1 if k < 4 else -1), wires[-1])
        for a, b in reversed(list(itertools.pairwise(wires))):
            c.cx(a, b)
        for q, letter in zip(wires, word, strict=True):
            c.h(q) if letter == "X" else c.rx(-np.pi / 2, q)


def test_double_excitation_shares_its_ladders() -> None:
    c = Circuit(4)
    _excitation(c, (0, 1, 2, 3), 0.37)
    assert c.count_ops()["cx"] == 48
    out = pauli_gadgets(c)
    assert out is not None and _same_up_to_phase(c, out)
    # one diagonalizing Clifford (3 + 3 CX here) around an 8-term phase polynomial on 4 wires
    assert out.count_ops()["cx"] <= 14


def test_equal_strings_merge_across_commuting_groups() -> None:
    c = Circuit(3).cx(0, 1).rz(0.2, 1).cx(0, 1).h(2).rz(0.4, 2).h(2).cx(0, 1).rz(0.3, 1).cx(0, 1)
    out = pauli_gadgets(c)
    assert out is not None and _same_up_to_phase(c, out)
    assert sorted(round(float(i.params[0]), 6) for i in out if i.name == "rz") == [0.4, 0.5]


def test_local_frame_keeps_a_hadamard_layer_cheap() -> None:
    c = generate("qnn", 8, seed=1, basis="ibm")
    assert c.count_ops()["cx"] == 133
    local = pauli_gadgets(c, "local")
    assert local is not None and _same_up_to_phase(c, local)
    best = PauliGadgets().run(c)
    assert _same_up_to_phase(c, best) and best.count_ops()["cx"] <= 91


def test_not_applicable_and_switched_off() -> None:
    assert pauli_gadgets(Circuit(2).h(0).cx(0, 1)) is None             # no rotation
    assert pauli_gadgets(Circuit(1, 1).rz(0.1, 0).measure(0, 0)) is None   # not gates only
    c = Circuit(2).cx(0, 1).rz(0.2, 1).cx(0, 1)
    assert PauliGadgets().run(c, {"gadgets": False}) is c
    with pytest.raises(CompileError, match="frame"):
        pauli_gadgets(c, "output")


def test_level3_uses_it_on_a_ucc_circuit() -> None:
    c = generate("uccsd", 4, seed=1, basis="ibm")
    out, _report = optimize(c, level=3, basis="ibm", seed=0, objective="cx", budget_expansions=50)
    verify_equivalent(c, out)
    assert _same_up_to_phase(c, out)
    assert out.count_ops()["cx"] <= 50       # 62 without the gadget start (tket: 50)
