"""qtandem's reader agrees with Qiskit's on the unitaries of the Nam suite, hand-written programs and examples.

Qiskit's dense ``Operator`` is slow beyond six qubits, so wider Nam files are
compared on a random input state: ``U psi`` against Qiskit's evolution of the
same ``psi`` (equal up to one global phase for a random ``psi`` exactly when the
unitaries are). ``pytest -m slow`` compares every file's full unitary.
"""

from pathlib import Path

import numpy as np
import pytest

import qtandem
from qtandem import Circuit

qiskit = pytest.importorskip("qiskit")
from qiskit import qasm2  # noqa: E402
from qiskit.quantum_info import Operator, Statevector  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NAM = Path(__file__).resolve().parents[3] / "shared/data/nam"
MAX_QUBITS = 10
FULL_UNITARY_QUBITS = 6


def _nam_files() -> list[Path]:
    if not NAM.is_dir():
        return []
    files = sorted(NAM.glob("*.qasm")) + sorted(NAM.glob("*/*.qasm"))
    return [f for f in files if qtandem.load(f).n_qubits <= MAX_QUBITS]


NAM_FILES = _nam_files()


def _phase_equal(a: np.ndarray, b: np.ndarray) -> bool:
    idx = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    return bool(np.allclose(a, b * (a[idx] / b[idx]), atol=1e-9))


def _unitary(c: Circuit) -> np.ndarray:
    gates = Circuit(c.n_qubits)
    for inst in c:
        if inst.is_gate:
            gates.append(inst)
    return gates.to_matrix().numpy()


def _qiskit_gates(qc):
    qc = qc.copy()
    qc.remove_final_measurements()
    return qc


@pytest.mark.skipif(not NAM_FILES, reason="../shared/data/nam is absent")
@pytest.mark.parametrize("path", NAM_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nam_suite_matches_qiskit(path):
    ours = qtandem.load(path)
    theirs = qasm2.load(str(path))
    assert ours.n_qubits == theirs.num_qubits and ours.num_gates() == len(theirs.data)
    if ours.n_qubits <= FULL_UNITARY_QUBITS:
        assert _phase_equal(_unitary(ours), Operator(theirs).data)
        return
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    psi = rng.normal(size=2**ours.n_qubits) + 1j * rng.normal(size=2**ours.n_qubits)
    psi /= np.linalg.norm(psi)
    got = qtandem.statevector(ours, initial_state=psi).numpy()
    want = Statevector(psi).evolve(theirs).data
    assert _phase_equal(got, want)


@pytest.mark.slow
@pytest.mark.skipif(not NAM_FILES, reason="../shared/data/nam is absent")
@pytest.mark.parametrize("path", NAM_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nam_suite_full_unitaries_match_qiskit(path):
    assert _phase_equal(_unitary(qtandem.load(path)), Operator(qasm2.load(str(path))).data)


HAND_WRITTEN = {
    # one call of every gate of the extended qelib1.inc Qiskit ships (plus the U and CX built-ins)
    "every_qelib1_gate": """OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
u3(0.1,0.2,0.3) q[0]; u2(0.4,0.5) q[1]; u1(0.6) q[2]; cx q[0],q[1]; id q[3]; u0(1) q[4]; u(1,2,3) q[0];
p(0.3) q[1]; x q[0]; y q[1]; z q[2]; h q[3]; s q[4]; sdg q[0]; t q[1]; tdg q[2]; sx q[3]; sxdg q[4];
rx(0.1) q[0]; ry(0.2) q[1]; rz(0.3) q[2]; cz q[0],q[1]; cy q[1],q[2]; ch q[2],q[3]; swap q[3],q[4];
ccx q[0],q[1],q[2]; cswap q[2],q[3],q[4]; crx(0.5) q[0],q[4]; cry(0.6) q[1],q[3]; crz(0.7) q[2],q[0];
cu1(0.8) q[3],q[1]; cp(0.9) q[4],q[2]; cu3(0.1,0.2,0.3) q[0],q[3]; csx q[1],q[4];
cu(0.1,0.2,0.3,0.4) q[2],q[1]; rxx(0.5) q[0],q[2]; rzz(0.6) q[1],q[3]; rccx q[0],q[1],q[2];
rc3x q[0],q[1],q[2],q[3]; c3x q[0],q[1],q[2],q[3]; c3sqrtx q[1],q[2],q[3],q[4]; c4x q[0],q[1],q[2],q[3],q[4];
U(0.1,0.2,0.3) q[0]; CX q[1],q[0];
""",
    "custom_gates": """OPENQASM 2.0;
include "qelib1.inc";
gate maj a, b, c { cx c, b; cx c, a; ccx a, b, c; }
gate uma a, b, c { ccx a, b, c; cx c, a; cx a, b; }
gate rot(t, p) a, b { u3(t, p, -t) a; crz(t * p / 2) a, b; rxx(-p) a, b; }
qreg cin[1];
qreg a[2];
qreg b[2];
qreg cout[1];
x a[0];
h b;
maj cin[0], b[0], a[0];
maj a[0], b[1], a[1];
cx a[1], cout[0];
uma a[0], b[1], a[1];
uma cin[0], b[0], a[0];
rot(pi/3, -0.7) a[1], b[0];
rot(2*pi/5, 1.5) cout, cin;
""",
    "broadcast_and_expressions": """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
qreg r[3];
h q;
cx q, r;
cu3(pi/2, -pi/4, 3*pi/8) q[0], r;
rz(-(pi/2) + 0.5e-1 * 2) r;
crx(sin(0.3) + cos(0.2)*cos(0.2)) q[1], q[2];
cswap q[0], r[1], r[2];
rzz(ln(2) * sqrt(3)) q[2], r[0];
u2(exp(0.1), -tan(0.4)) q;
sxdg r[2];
c3sqrtx q[0], q[1], q[2], r[0];
rc3x r[2], r[1], r[0], q[0];
""",
}

HAND_WRITTEN_3 = {
    "modifiers": """OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
ctrl(3) @ p(pi / 8) q[0], q[1], q[2], q[3];
inv @ ctrl @ p(pi / 2) q[1], q[3];
negctrl @ x q[0], q[1];
negctrl(2) @ ry(0.3) q[0], q[1], q[2];
pow(3) @ s q[2];
pow(-2) @ t q[1];
ctrl @ inv @ sx q[0], q[3];
inv @ pow(2) @ ctrl @ rz(0.7) q[2], q[0];
gate g(a) x, y { ry(a) x; cx x, y; s y; }
ctrl @ g(0.4) q[3], q[1], q[2];
inv @ g(0.2) q[0], q[1];
negctrl @ inv @ g(-1.1) q[2], q[3], q[0];
rx((2 * pi / 5) * 3 - tau) q[0];
ctrl(2) @ swap q[0], q[1], q[2], q[3];
ctrl @ U(0.1, 0.2, 0.3) q[3], q[2];
cphase(0.4) q[0], q[2];
ctrl @ ctrl @ h q[0], q[1], q[2];
""",
    "input_parameters": """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input float[64] phi;
qubit[3] q;
gate layer(a, b) x, y { ry(a) x; crz(b - a / 2) x, y; }
rx(2 * theta + pi / 2) q[0];
layer(theta, phi) q[0], q[1];
inv @ layer(phi / 3, -theta) q[1], q[2];
ctrl @ rz(phi - 1) q[2], q[0];
""",
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_programs_match_qiskit(name):
    text = HAND_WRITTEN[name]
    theirs = Operator(qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)).data
    ours = qtandem.Circuit.from_qasm(text)
    assert _phase_equal(_unitary(ours), theirs)
    # what qtandem writes reads back in Qiskit with the same unitary
    again = qasm2.loads(ours.to_qasm(2), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert _phase_equal(Operator(again).data, theirs)


def _qasm3_or_skip(text: str):
    pytest.importorskip("qiskit_qasm3_import")
    from qiskit import qasm3

    try:
        return qasm3.loads(text)
    except Exception as err:  # Qiskit's OpenQASM 3 importer reads a smaller subset than qtandem
        pytest.skip(f"Qiskit cannot import this program: {type(err).__name__}: {err}")


def _bind_both(c: Circuit, qc):
    if not c.parameters:
        return c, qc
    values = {p.name: 0.3 * (i + 1) for i, p in enumerate(c.parameters)}
    return c.bind(values), qc.assign_parameters({p: values[p.name] for p in qc.parameters})


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN_3))
def test_hand_written_version_3_programs_match_qiskit(name):
    text = HAND_WRITTEN_3[name]
    c, qc = _bind_both(qtandem.Circuit.from_qasm(text), _qasm3_or_skip(text))
    assert _phase_equal(_unitary(c), Operator(qc).data)
    # and qtandem's own version 3 output means the same to Qiskit
    c2, qc2 = _bind_both(qtandem.Circuit.from_qasm(text), _qasm3_or_skip(qtandem.Circuit.from_qasm(text).to_qasm(3)))
    assert _phase_equal(_unitary(c2), Operator(qc2).data)


def _examples(version: str) -> list[Path]:
    return [p for p in sorted((ROOT / "examples" / "qasm").glob("*.qasm")) if f"OPENQASM {version}" in p.read_text()]


@pytest.mark.parametrize("path", _examples("2"), ids=lambda p: p.name)
def test_version_2_examples_match_qiskit(path):
    theirs = Operator(_qiskit_gates(qasm2.load(str(path)))).data
    assert _phase_equal(_unitary(qtandem.load(path)), theirs)


@pytest.mark.parametrize("path", _examples("3"), ids=lambda p: p.name)
def test_version_3_examples_match_qiskit(path):
    """Skipped where Qiskit's importer cannot read the example (for loops, input arrays)."""
    c, qc = _bind_both(qtandem.load(path), _qiskit_gates(_qasm3_or_skip(path.read_text())))
    assert _phase_equal(_unitary(c), Operator(qc).data)


def _every_gate_circuit() -> Circuit:
    from qtandem.circuit.gates import GATES

    rng = np.random.default_rng(5)
    c = Circuit(5)
    for name, spec in sorted(GATES.items()):
        if name == "unitary":
            continue
        k = spec.num_qubits or 4
        c.append(name, rng.permutation(5)[:k].tolist(), rng.uniform(-3, 3, size=spec.num_params).tolist())
    return c


def test_written_version_2_reads_in_qiskit_with_the_same_unitary():
    c = _every_gate_circuit()
    theirs = Operator(qasm2.loads(c.to_qasm(2), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)).data
    assert _phase_equal(_unitary(c), theirs)


def test_written_version_3_reads_in_qiskit_with_the_same_unitary():
    c = _every_gate_circuit()
    c.append("ry", [0, 1, 2], [0.3], ctrl=2).append("csx", [3, 4], inverted=True).mcx([0, 1, 2, 3], 4)
    assert _phase_equal(_unitary(c), Operator(_qasm3_or_skip(c.to_qasm(3))).data)
