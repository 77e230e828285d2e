import json

import networkx as nx
import pytest

import qtandem
from qtandem import Circuit
from qtandem.device import Device, list_presets
from qtandem.errors import NoiseError


def test_presets_are_consistent():
    assert {"line_5", "ring_8", "grid_4x4", "heavy_hex_27", "heavy_hex_65"} <= set(list_presets())
    for name in list_presets():
        dev = Device.preset(name)
        assert dev.num_qubits == len(dev.qubits) == dev.coupling_map.number_of_nodes()
        assert nx.is_connected(dev.coupling_map)
        assert dev.source and "Falcon" in dev.source
        for q in dev.qubits:
            assert 0 < q.t2 <= 2 * q.t1
        assert Device.from_dict(json.loads(dev.to_json())).to_dict() == dev.to_dict()
    hh = Device.preset("heavy-hex-27")
    assert max(d for _, d in hh.coupling_map.degree()) == 3
    assert hh.coupling_map.number_of_edges() == 28


def test_noise_model_reproduces_calibrated_gate_errors():
    import torch

    dev = Device.preset("line_5")
    model = dev.noise_model(idle=False, readout=False)
    # average gate infidelity of the channels after sx on qubit 2 equals the calibrated error
    from qtandem.circuit.instruction import Instruction

    chans = model.errors_after(Instruction("sx", (2,)))
    total = chans[0][0]
    for ch, _ in chans[1:]:
        total = total.compose(ch)
    f_pro = float(torch.trace(total.ptm())) / 4
    r = 1 - (2 * f_pro + 1) / 3
    assert r == pytest.approx(dev.qubits[2].gate_error_1q, rel=1e-9)
    chans2 = model.errors_after(Instruction("cx", (1, 2)))
    tot2 = chans2[0][0]
    for ch, _ in chans2[1:]:
        tot2 = tot2.compose(ch)
    f2 = float(torch.trace(tot2.ptm())) / 16
    assert 1 - (4 * f2 + 1) / 5 == pytest.approx(dev.edges[(1, 2)].error, rel=1e-9)


def test_validate_lists_problems():
    dev = Device.preset("line_5")
    problems = dev.validate(Circuit(6).h(0).cx(0, 2).sx(1).ccx(0, 1, 2))
    text = "\n".join(problems)
    assert "circuit has 6 qubits" in text
    assert "gate 'h' is not native" in text
    assert "cx on (0, 2) is not on the coupling map" in text
    assert "acts on 3 qubits" in text
    assert dev.validate(Circuit(5).sx(0).cx(0, 1).rz(0.2, 1).measure_all()) == []


def test_bad_device_files_name_the_key(tmp_path):
    base = Device.preset("line_5").to_dict()
    bad = dict(base, qubits=[dict(base["qubits"][0], t2=1e9)] + base["qubits"][1:])
    with pytest.raises(NoiseError, match=r"qubits\[0\]\.t2: T2 \(1e\+09\) must be <= 2 T1"):
        Device.from_dict(bad)
    bad = dict(base, colour="blue")
    with pytest.raises(NoiseError, match="unknown key 'colour'"):
        Device.from_dict(bad)
    path = tmp_path / "d.json"
    path.write_text("{not json")
    with pytest.raises(NoiseError, match=r"d.json:1:2: invalid JSON"):
        Device.from_json(path)
    with pytest.raises(NoiseError, match="unknown device preset 'nope'"):
        Device.preset("nope")


def test_noisy_ghz_on_a_preset():
    dev = Device.preset("line_5")
    ghz = Circuit(3, 3).sx(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    res = qtandem.sample(ghz, shots=4000, seed=1, noise=dev.noise_model())
    good = res.counts.get("000", 0) + res.counts.get("111", 0)
    assert 0.85 < good / 4000 < 0.999


def test_from_qiskit_backend():
    pytest.importorskip("qiskit")
    from qiskit.providers.fake_provider import GenericBackendV2

    backend = GenericBackendV2(num_qubits=5, seed=3)
    dev = Device.from_qiskit_backend(backend)
    assert dev.num_qubits == 5
    assert dev.coupling_map.number_of_edges() > 0
    assert all(q.t1 > 0 for q in dev.qubits)
    dev.noise_model()
