"""qtandem's reader and Qiskit's agree on the unitary of every small Nam-suite file and example."""

from pathlib import Path

import numpy as np
import pytest

import qtandem

ROOT = Path(__file__).resolve().parents[2]
NAM = ROOT.parent / "shared" / "data" / "nam"


def _phase_equal(a: np.ndarray, b: np.ndarray) -> bool:
    idx = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    return np.allclose(a, b * (a[idx] / b[idx]), atol=1e-9)


def _files() -> list[Path]:
    files = sorted(NAM.glob("*.qasm")) + sorted((NAM / "clifford_t").glob("*.qasm")) if NAM.is_dir() else []
    return [f for f in files if qtandem.load(f).n_qubits <= 10]


@pytest.mark.skipif(not NAM.is_dir(), reason="../shared/data/nam is absent")
@pytest.mark.parametrize("path", _files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nam_suite_unitaries_match_qiskit(path):
    qasm2 = pytest.importorskip("qiskit.qasm2")
    from qiskit.quantum_info import Operator

    theirs = Operator(qasm2.load(str(path))).data
    ours = qtandem.load(path).to_matrix().numpy()
    assert _phase_equal(ours, theirs)


def test_examples_match_qiskit():
    qasm2 = pytest.importorskip("qiskit.qasm2")
    from qiskit.quantum_info import Operator

    files = [p for p in sorted((ROOT / "examples" / "qasm").glob("*.qasm")) if "OPENQASM 2" in p.read_text()]
    assert files
    for p in files:
        qc = qasm2.load(str(p))
        qc.remove_final_measurements()
        c = qtandem.load(p)
        gates = qtandem.Circuit(c.n_qubits)
        for inst in c:
            if inst.is_gate:
                gates.append(inst)
        assert _phase_equal(gates.to_matrix().numpy(), Operator(qc).data), p
