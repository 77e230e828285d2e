"""BasisTranslation of numeric gates with modifiers and matrices (issue 13: ctrl(3)@p was refused)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import unitary_group

from qtandem import Circuit, Parameter
from qtandem.circuit.gates import GATES
from qtandem.compile import prepare_for_device
from qtandem.compile.passes.basis import BASES, BasisTranslation
from qtandem.compile.passes.modifiers import controls_of, diagonal_ops, gate_ops
from qtandem.device import Device
from qtandem.errors import CompileError
from qtandem.qasm import load, loads
from qtandem.sim import unitary
from qtandem.sim.dense import equal_up_to_phase

ROOT = Path(__file__).resolve().parents[2]
BASE_GATES = [("x", 0), ("y", 0), ("z", 0), ("h", 0), ("s", 0), ("t", 0), ("sx", 0), ("p", 1), ("rx", 1),
              ("ry", 1), ("rz", 1), ("u3", 3), ("swap", 0), ("crx", 1)]


def _translated(c: Circuit, basis: str) -> Circuit:
    out = BasisTranslation(basis).run(c)
    assert set(out.count_ops()) <= BASES[basis], out.count_ops()
    assert equal_up_to_phase(unitary(out).numpy(), unitary(c).numpy(), atol=1e-7)
    return out


def _random_modified(rng: np.random.Generator) -> str:
    name, npar = BASE_GATES[rng.integers(len(BASE_GATES))]
    width = GATES[name].num_qubits or 1
    n_ctrl = int(rng.integers(0, 5 - width))
    angles = ", ".join(f"{a:.6f}" for a in rng.uniform(-math.pi, math.pi, npar))
    mods = [str(rng.choice(["ctrl", "negctrl"])) for _ in range(n_ctrl)]
    if rng.random() < 0.4:
        mods.insert(int(rng.integers(len(mods) + 1)), "inv")
    if rng.random() < 0.3:
        mods.append(f"pow({int(rng.integers(-2, 4))})")
    qubits = ", ".join(f"q[{i}]" for i in rng.permutation(n_ctrl + width)[: n_ctrl + width])
    call = " @ ".join([*mods, f"{name}({angles})" if npar else name])
    return f"OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[{n_ctrl + width}] q;\n{call} {qubits};\n"


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("basis", ["nam", "ibm", "ibm_cz"])
def test_random_modified_gates_translate_exactly(seed: int, basis: str) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(4):
        _translated(loads(_random_modified(rng)), basis)


@pytest.mark.parametrize("basis", ["nam", "ibm", "ibm_cz"])
def test_unitary_matrices_on_one_and_two_qubits(basis: str) -> None:
    for seed in range(4):
        c = Circuit(3).unitary(unitary_group.rvs(2, random_state=seed), [1])
        c.unitary(unitary_group.rvs(4, random_state=seed), [2, 0])
        c.append("unitary", [1, 0], matrix=unitary_group.rvs(2, random_state=seed + 9), ctrl=1)
        c.append("unitary", [0, 2, 1], matrix=unitary_group.rvs(2, random_state=seed + 5), ctrl=2, inverted=True)
        _translated(c, basis)


@pytest.mark.parametrize("basis", ["nam", "ibm", "ibm_cz"])
def test_controlled_two_qubit_matrix(basis: str) -> None:
    c = Circuit(4).append("unitary", [3, 1, 0, 2], matrix=unitary_group.rvs(4, random_state=7), ctrl=2)
    _translated(c, basis)


def test_clifford_t_where_exact() -> None:
    src = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[4] q;\nctrl(2) @ y q[0], q[1], q[2];\n'
           'negctrl @ ctrl @ x q[3], q[0], q[1];\ninv @ ctrl @ s q[1], q[3];\nctrl @ negctrl @ z q[2], q[0], q[3];\n')
    out = _translated(loads(src), "clifford_t")
    assert "t" in out.count_ops()
    c = Circuit(2).unitary(np.array([[1, 1], [1, -1]]) / math.sqrt(2), [0])
    assert _translated(c, "clifford_t").count_ops() == {"h": 1}
    with pytest.raises(CompileError, match="not a multiple of pi/4"):
        BasisTranslation("clifford_t").run(Circuit(4).append("x", [0, 1, 2, 3], ctrl=3))  # mcx: pi/16


@pytest.mark.parametrize(("name", "ctrl", "cx"), [("p", 2, 6), ("p", 3, 14), ("x", 3, 14), ("x", 4, 30),
                                                   ("ry", 3, 8), ("h", 2, 6), ("sx", 1, 2)])
def test_cx_counts(name: str, ctrl: int, cx: int) -> None:
    params = [math.pi / 8] if GATES[name].num_params else []
    c = Circuit(ctrl + 1).append(name, list(range(ctrl + 1)), params, ctrl=ctrl)
    assert _translated(c, "nam").count_ops()["cx"] == cx


def test_named_gates_without_rules() -> None:
    c = Circuit(4).append("c3sqrtx", [0, 1, 2, 3]).append("iswap", [1, 2]).append("cu", [2, 0], [0.1, 0.2, 0.3, 0.4])
    c.append("mcx", [3, 0, 1])
    _translated(c, "ibm")


def test_translation_of_rule_gates_unchanged() -> None:
    c = Circuit(3).ccx(0, 1, 2).cz(0, 2).swap(1, 2).cp(0.3, 0, 1)
    assert BasisTranslation("nam").run(c).count_ops() == {"h": 4, "cx": 12, "rz": 10}


def test_modifiers_example_goes_to_heavy_hex() -> None:
    c = load(ROOT / "examples" / "qasm" / "modifiers.qasm")
    out, report = prepare_for_device(c, Device.preset("heavy_hex_27"))
    assert report["verified"] and report["changed"]
    assert set(out.count_ops()) <= BASES["ibm"] | {"measure"}
    gates = Circuit(c.n_qubits)
    for inst in c:
        if inst.is_gate:
            gates.append(inst)
    assert _translated(gates, "ibm").count_ops()["cx"] > 0


def test_errors_name_the_gate() -> None:
    t = Parameter("t")
    with pytest.raises(CompileError, match=r"instruction 0 \(ctrl\(2\)@ry\).*symbolic.*bind parameters first"):
        BasisTranslation("nam").run(Circuit(3).append("ry", [0, 1, 2], [t], ctrl=2))
    cond = Circuit(2, 1).append("ry", [0, 1], [0.3], ctrl=1, condition=((0,), 1))
    with pytest.raises(CompileError, match=r"instruction 0 \(cry\).*classically conditioned"):
        BasisTranslation("nam").run(cond)
    big = Circuit(3).unitary(unitary_group.rvs(8, random_state=1), [0, 1, 2])
    with pytest.raises(CompileError, match=r"instruction 0 \(unitary\).*on 3 qubits.*controlled.*1- or 2-qubit"):
        BasisTranslation("ibm").run(big)


def test_helpers() -> None:
    cx = np.eye(4)[:, [0, 3, 2, 1]]
    assert controls_of(cx) == {0: 1}
    assert controls_of(np.kron(np.eye(2), [[0, 1], [1, 0]])) == {}
    ops = diagonal_ops(np.array([0.0, 0.0, 0.0, 0.0]), (0, 1))
    assert ops == []
    inst = Circuit(3).append("x", [2, 0, 1], ctrl=2)[0]
    assert sum(op.name == "cx" for op in gate_ops(inst)) == 6
