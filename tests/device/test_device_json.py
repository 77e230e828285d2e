"""Device JSON: every bad value is a NoiseError with the key path; fuzzed documents never crash."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtandem.device import Device, load_noise_model
from qtandem.errors import NoiseError

BASE = Device.preset("line_5").to_dict()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["qubits"][1].update(t1="long"), r"qubits\[1\]\.t1: expected a number, got 'long' \(a string\)"),
        (lambda d: d["qubits"][1].update(readout_p01=1.5), r"qubits\[1\]\.readout_p01: must be in \[0, 1\]"),
        (lambda d: d["qubits"][1].update(gate_duration_1q=-3), r"qubits\[1\]\.gate_duration_1q: must be >= 0"),
        (lambda d: d["qubits"][1].pop("t2"), r"qubits\[1\]: missing key 't2'"),
        (lambda d: d["qubits"][1].update(t_1=3), r"qubits\[1\]: unknown key 't_1'; did you mean 't1'\?"),
        (lambda d: d["edges"][0].update(error="high"), r"edges\[0\]\.error: expected a number, got 'high'"),
        (lambda d: d["edges"][0].update(duration=-1.0), r"edges\[0\]\.duration: must be >= 0"),
        (lambda d: d["edges"][0].update(gate="cnot"), r"edges\[0\]\.gate: unknown gate 'cnot'; did you mean 'cx'\?"),
        (lambda d: d["edges"][0].update(qubits=[0, 9]), r"edges\[0\]\.qubits: expected two distinct qubit indices"),
        (lambda d: d["coupling_map"].append([1, 1]), r"coupling_map\[\d+\]: expected two distinct qubit indices"),
        (lambda d: d.update(native_gates=["rz", "hadamard"]), r"native_gates\[1\]: unknown gate 'hadamard'"),
        (lambda d: d.update(num_qubits="5"), r"num_qubits: expected a positive integer"),
        (lambda d: d.update(name=5), r"name: expected a string"),
        (lambda d: d.update(edges={}), r"edges: expected a list"),
        (lambda d: d.update(schema="qtandem.noise_model"), r"this is a noise model .* not a device"),
        (lambda d: [d.pop("schema"), d.update(errors=[])], r"this is a noise model .* not a device"),
    ],
)
def test_bad_device_values_name_the_key_path(mutate, message):
    data = copy.deepcopy(BASE)
    mutate(data)
    with pytest.raises(NoiseError, match=message) as info:
        Device.from_dict(data, source="dev.json")
    assert str(info.value).startswith("dev.json: ")


def test_load_noise_model_takes_presets_device_files_and_noise_files(tmp_path):
    device_file = tmp_path / "d.json"
    Device.preset("ring_8").to_json(device_file)
    assert load_noise_model(device_file) == Device.from_json(device_file).noise_model()
    assert not load_noise_model("ring_8", strict=False).strict
    noise_file = tmp_path / "n.json"
    Device.preset("ring_8").noise_model().to_json(noise_file)
    assert load_noise_model(noise_file) == Device.preset("ring_8").noise_model()
    with pytest.raises(FileNotFoundError):
        load_noise_model(tmp_path / "missing.json")
    with pytest.raises(NoiseError, match="unknown device preset 'ring_9'"):
        load_noise_model("ring_9")


def _paths(data, prefix=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p[0] != "schema"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 8), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=5), st.lists(st.integers(-1, 6), max_size=3), st.just({}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
def test_fuzzed_device_documents_load_or_raise_noise_error(edits):
    data = copy.deepcopy(BASE)
    for path, value in edits:
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        dev = Device.from_dict(data, source="fuzz.json")
    except NoiseError as err:
        assert str(err).startswith("fuzz.json: ")
        return
    dev.noise_model()  # a device that loads gives a noise model
