"""Device.random (seeded hidden devices for issue 15) and the version-2 device JSON."""

from __future__ import annotations

import json
import math

import networkx as nx
import numpy as np
import pytest

from qtandem import Circuit
from qtandem.device import Device
from qtandem.device.parse import DEVICE_KEYS
from qtandem.errors import NoiseError
from qtandem.noise import ReadoutError

KHZ = 2 * math.pi * 1e-6


@pytest.mark.parametrize("coupling", ["line", "ring", "grid", "heavy_hex"])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_ranges(coupling, seed):
    dev = Device.random(9, coupling, seed=seed)
    assert dev.num_qubits == 9 and nx.is_connected(dev.coupling_map)
    for q in dev.qubits:
        assert 50e3 <= q.t1 <= 300e3 and 0.3 * q.t1 - 1 <= q.t2 <= 2 * q.t1
        assert 0.01 <= abs(q.sx_angle_error) <= 0.05 and 0.01 <= abs(q.x_angle_error) <= 0.05
        assert abs(q.detuning) <= 50 * KHZ
        assert 1e-4 <= q.gate_error_1q <= 1e-3
        assert 0.005 <= q.readout_p01 < q.readout_p10 <= 0.04
        assert q.gate_duration_1q == 35.6 and q.readout_duration == 750.0
    for (a, b), e in dev.edges.items():
        assert a < b and dev.coupling_map.has_edge(a, b)
        assert 3e-3 <= e.error <= 1.5e-2 and 250 <= e.duration <= 550 and e.gate == "cx"
        assert 0.01 <= abs(e.angle_error) <= 0.05 and 10 * KHZ <= e.zz <= 100 * KHZ
    assert 1 <= len(dev.readout_correlations) <= max(1, len(dev.edges) // 4)
    for (a, b), m in dev.readout_correlations.items():
        assert (min(a, b), max(a, b)) in dev.edges
        matrix = ReadoutError(m).matrix.numpy()             # validated column-stochastic
        assert np.all(np.diag(matrix) > 0.9)


def test_signs_vary_and_seeds_reproduce():
    a, b, c = (Device.random(6, seed=s) for s in (11, 11, 12))
    assert a.to_dict() == b.to_dict() and a.to_dict() != c.to_dict()
    signs = {math.copysign(1, q.sx_angle_error) for s in range(4) for q in Device.random(6, seed=s).qubits}
    assert signs == {-1.0, 1.0}


def test_couplings():
    assert sorted(Device.random(4, "ring").edges) == [(0, 1), (0, 3), (1, 2), (2, 3)]
    assert len(Device.random(9, "grid").edges) == 12              # 3 x 3
    hh = Device.random(27, "heavy_hex", seed=2)
    degrees = dict(hh.coupling_map.degree())
    assert nx.is_connected(hh.coupling_map) and max(degrees.values()) == 3 and min(degrees.values()) >= 1
    assert not any(len(c) == 3 for c in nx.cycle_basis(hh.coupling_map))   # heavy hex: no triangles
    custom = Device.random(4, [(0, 2), [3, 1], (2, 0)], seed=1)
    assert sorted(custom.edges) == [(0, 2), (1, 3)]
    assert Device.random(1, seed=0).edges == {}


@pytest.mark.parametrize(("args", "match"), [
    ((0,), "n_qubits must be a positive integer"),
    ((True,), "n_qubits must be a positive integer"),
    ((4, "hexagon"), "unknown coupling 'hexagon'"),
    ((2, "ring"), "a ring needs at least 3 qubits"),
    ((3, [(0, 3)]), r"pair \(0, 3\) is not two distinct qubits in 0..2"),
    ((3, [(1, 1)]), "not two distinct qubits"),
    ((3, [(0, "x")]), "must be a name or a list of qubit pairs"),
])
def test_bad_arguments(args, match):
    with pytest.raises(NoiseError, match=match):
        Device.random(*args)


def test_bad_native_gate():
    with pytest.raises(NoiseError, match="hadamard"):
        Device.random(3, native_gates=("hadamard", "cx"))


def test_json_round_trip_same_format_as_presets(tmp_path):
    dev = Device.random(7, "heavy_hex", seed=5)
    path = tmp_path / "hidden.json"
    dev.to_json(path)
    doc = json.loads(path.read_text())
    assert doc["schema"] == "qtandem.device" and doc["version"] == 2 and set(doc) <= set(DEVICE_KEYS)
    again = Device.from_json(path)
    assert again.to_dict() == dev.to_dict()
    assert again.noise_model() == dev.noise_model()
    c = Circuit(3, 3).sx(0).cx(0, 1).delay(800, [0, 1, 2]).x(2).measure(0, 0).measure(1, 1).measure(2, 2)
    sub, sub_again = dev.subset([0, 1, 2]), again.subset([0, 1, 2])
    p = sub.noise_model().outcome_probabilities(c)
    assert np.allclose(p.numpy(), sub_again.noise_model().outcome_probabilities(c).numpy(), atol=1e-14)
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)


def test_version_1_files_still_load():
    for name in ("line_5", "heavy_hex_27"):
        dev = Device.preset(name)                       # the shipped presets are version 1
        assert all(q.sx_angle_error == 0 and q.detuning == 0 for q in dev.qubits)
        assert all(e.zz == 0 and e.angle_error == 0 for e in dev.edges.values()) and not dev.readout_correlations
        assert Device.from_dict(dev.to_dict()).to_dict() == dev.to_dict()


def test_subset_keeps_readout_correlations():
    dev = Device.random(5, seed=4)
    (a, b), m = next(iter(dev.readout_correlations.items()))
    sub = dev.subset([b, a])
    assert sub.readout_correlations == {(1, 0): m}


@pytest.mark.parametrize(("patch", "match"), [
    ({"version": 3}, "reads versions 1 to 2, got 3"),
    ({"readout_correlations": {"0": 1}}, "readout_correlations: expected a list"),
    ({"readout_correlations": [{"qubits": [0, 0], "matrix": []}]}, r"readout_correlations\[0\]\.qubits"),
    ({"readout_correlations": [{"qubits": [0, 1], "matrix": [[1, 0], [0, 1]]}]}, r"\.matrix: expected a 4x4"),
    ({"readout_correlations": [{"qubits": [0, 1], "matrix": [[0.5] * 4] * 4}]}, r"\.matrix: each column"),
    ({"readout_correlations": [{"qubits": [0, 1], "matrix": np.eye(4).tolist(), "p": 1}]}, "unknown key 'p'"),
])
def test_bad_v2_documents(patch, match):
    doc = {"schema": "qtandem.device", "version": 2, "name": "pair", "num_qubits": 2,
           "qubits": [{"t1": 100.0, "t2": 80.0}, {"t1": 90.0, "t2": 70.0}], "coupling_map": [[0, 1]]}
    with pytest.raises(NoiseError, match=match):
        Device.from_dict({**doc, **patch})


def test_bad_coherent_field():
    doc = {"schema": "qtandem.device", "version": 2, "name": "one", "num_qubits": 1,
           "qubits": [{"t1": 100.0, "t2": 80.0, "sx_angle_error": "big"}]}
    with pytest.raises(NoiseError, match=r"qubits\[0\]\.sx_angle_error: expected a number"):
        Device.from_dict(doc)
