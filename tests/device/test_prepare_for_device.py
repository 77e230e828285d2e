"""qtandem.compile.prepare_for_device: layout, routing and basis for a device, with a report; Device.subset."""

import json

import numpy as np
import pytest
from tests.conftest import random_circuit

import qtandem
from qtandem import Circuit
from qtandem.compile import prepare_for_device
from qtandem.device import Device
from qtandem.errors import CompileError, NoiseError


def _qubit_distribution(out, report, n):
    """Noiseless distribution of the input's qubits read from the compiled circuit's measurements."""
    dist = {}
    sv = qtandem.statevector(Circuit(out.n_qubits).compose(_unmeasured(out))).numpy()
    p = np.abs(sv) ** 2
    for index, weight in enumerate(p):
        if weight < 1e-12:
            continue
        bits = [(index >> report["final_layout"][v]) & 1 for v in range(n)]
        key = sum(b << v for v, b in enumerate(bits))
        dist[key] = dist.get(key, 0.0) + weight
    return dist


def _unmeasured(c):
    out = Circuit(c.n_qubits)
    for inst in c:
        if inst.name != "measure":
            out.append(inst)
    return out


def test_a_native_circuit_is_returned_unchanged():
    c = Circuit(2, 2).sx(0).rz(0.3, 1).cx(0, 1).measure([0, 1], [0, 1])
    out, report = prepare_for_device(c, "line_5")
    assert out is c and report["changed"] is False and report["swaps"] == 0
    assert report["physical_qubits"] == [0, 1] and report["gates_before"] == report["gates_after"]
    json.dumps(report)


@pytest.mark.parametrize("seed", range(4))
def test_random_circuits_compile_to_native_equivalent_circuits(seed):
    dev = Device.preset("heavy_hex_27")
    c = random_circuit(4, 12, seed, gates=["h", "cx", "ccx", "rx", "t", "swap", "cz"], modifiers=False)
    out, report = prepare_for_device(c, dev, seed=seed)
    sub = dev.subset(report["physical_qubits"])
    assert sub.validate(out) == [] and sub.noise_model().check(out) == []
    assert report["changed"] and report["measurements_added"] and out.n_clbits == 4
    assert report["gates_after"] == out.count_ops() and report["two_qubit_after"] >= report["two_qubit_before"] - 1
    json.dumps(report)
    want = np.abs(qtandem.statevector(c).numpy()) ** 2
    got = _qubit_distribution(out, report, 4)
    assert np.allclose([got.get(i, 0.0) for i in range(16)], want, atol=1e-9)
    # measurements added at the final layout: sampling reads the input's qubit order
    counts = qtandem.sample(out, shots=4000, seed=seed).counts
    for key, count in counts.items():
        assert abs(count / 4000 - want[int(key, 2)]) < 0.05


def test_measured_circuits_keep_their_classical_bits():
    c = Circuit(3, 2).h(0).cx(0, 2).measure(2, 0).measure(0, 1)
    out, report = prepare_for_device(c, "heavy_hex_27", seed=1)
    assert not report["measurements_added"] and out.n_clbits == 2
    assert qtandem.sample(out, shots=500, seed=2).counts.keys() == {"00", "11"}


def test_too_wide_and_unknown_devices_are_compile_errors():
    with pytest.raises(CompileError, match="circuit has 6 qubits but device 'line_5' has only 5"):
        prepare_for_device(Circuit(6).h(0), "line_5")
    with pytest.raises(CompileError, match="unknown device preset 'nope'"):
        prepare_for_device(Circuit(1).h(0), "nope")
    with pytest.raises(CompileError, match="takes a qtandem Circuit"):
        prepare_for_device("h q[0];", "line_5")


def test_subset_renumbers_and_keeps_calibrations():
    dev = Device.preset("heavy_hex_27")
    a, b = sorted(dev.edges)[0]
    sub = dev.subset([b, a])
    assert sub.num_qubits == 2 and sub.coupling_map.has_edge(0, 1) and sub.edges[(0, 1)] == dev.edges[(a, b)]
    assert sub.qubits == [dev.qubits[b], dev.qubits[a]]
    assert Device.from_dict(sub.to_dict()).num_qubits == 2
    with pytest.raises(NoiseError, match="distinct qubits in 0..26"):
        dev.subset([0, 0])
