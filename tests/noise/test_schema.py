"""Noise-model JSON: every bad value is a NoiseError naming the file, the key path and the expected type."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtandem.device import Device
from qtandem.errors import NoiseError
from qtandem.noise import NoiseModel
from qtandem.noise.schema import ERROR_KEYS, IDLE_KEYS, READOUT_KEYS, TOP_KEYS, template


def write(tmp_path, data, name="noise.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_issue_13_string_probability_names_file_key_and_type(tmp_path):
    data = template()
    data["errors"][0]["channel"]["p"] = "high"
    path = write(tmp_path, data)
    with pytest.raises(NoiseError) as info:
        NoiseModel.from_json(path)
    assert str(info.value) == f"{path}: errors[0].channel.p: expected a number, got 'high' (a string)"


def test_issue_13_unknown_gate_is_refused_with_a_suggestion(tmp_path):
    data = template()
    data["errors"][0]["gates"] = ["sx", "hadamard"]
    with pytest.raises(NoiseError, match=r"errors\[0\]\.gates\[1\]: unknown gate 'hadamard'; did you mean 'h'\?"):
        NoiseModel.from_json(write(tmp_path, data))
    for wrong, right in (("cnot", "cx"), ("sdag", "sdg"), ("Toffoli", "ccx")):
        data["errors"][0]["gates"] = [wrong]
        with pytest.raises(NoiseError, match=rf"unknown gate '{wrong}'; did you mean '{right}'"):
            NoiseModel.from_dict(data)
    with pytest.raises(NoiseError, match="unknown gate 'hadamard'"):  # the Python API checks names too
        NoiseModel().add(template_channel(), gates=["hadamard"])


def template_channel():
    from qtandem.noise import depolarizing

    return depolarizing(0.01)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["errors"][0]["channel"].update(p=1.5), r"errors\[0\]\.channel\.p: must be in \[0, 1\], got 1\.5"),
        (lambda d: d["errors"][0]["channel"].update(p=-0.1), r"errors\[0\]\.channel\.p: must be in \[0, 1\]"),
        (lambda d: d["errors"][0]["channel"].update(p=True), r"errors\[0\]\.channel\.p: expected a number, got True"),
        (lambda d: d["errors"][0]["channel"].update(num_qubits="2"), r"num_qubits: expected an integer in 1\.\.4"),
        (lambda d: d["errors"][0]["channel"].update(num_qubits=30), r"num_qubits: expected an integer in 1\.\.4"),
        (lambda d: d["errors"][0]["channel"].pop("p"), r"errors\[0\]\.channel: missing key 'p'"),
        (lambda d: d["errors"][0]["channel"].update(q=0.1), r"errors\[0\]\.channel: unknown key 'q'"),
        (lambda d: d["errors"][1]["channel"].update(time=-35.0), r"errors\[1\]\.channel\.time: must be >= 0"),
        (lambda d: d["errors"][1]["channel"].update(t1=0), r"errors\[1\]\.channel\.t1: must be > 0"),
        (lambda d: d["errors"][1]["channel"].update(t1=float("nan")), r"errors\[1\]\.channel\.t1: expected a finite"),
        (lambda d: d["errors"][1].update(qubits=[0, "1"]), r"errors\[1\]\.qubits\[1\]: expected a qubit index"),
        (lambda d: d["errors"][1].update(qubits=[0, 7]), r"errors\[1\]\.qubits\[1\]: qubit 7 is out of range"),
        (lambda d: d["errors"][2].update(qubits=[0]), r"errors\[2\]: a 2-qubit channel needs 2-qubit tuples"),
        (lambda d: d["errors"][2].update(gates=["h"]), r"errors\[2\]: a 2-qubit channel cannot follow .* 'h'"),
        (lambda d: d["errors"][2].update(gates="cx "), r"errors\[2\]\.gates\[0\]: unknown gate 'cx '"),
        (lambda d: d["errors"][0].update(gates=[]), r"errors\[0\]\.gates: expected null .* non-empty list"),
        (lambda d: d["errors"][0]["channel"].update(type="depolarising"),
         r"unknown channel type 'depolarising'; did you mean 'depolarizing'\?"),
        (lambda d: d["errors"][4]["channel"].update(kraus=[[[1, 0]]]), r"errors\[4\]\.channel\.kraus"),
        (lambda d: d.update(errors={"a": 1}), r"errors: expected a list, got \{'a': 1\}"),
        (lambda d: d["readout"][0].update(p01="0.02"), r"readout\[0\]\.p01: expected a number, got '0\.02'"),
        (lambda d: d["readout"][0].update(p10=2), r"readout\[0\]\.p10: must be in \[0, 1\], got 2"),
        (lambda d: d["readout"][1]["matrix"][0].__setitem__(0, 0.5), r"readout\[1\]\.matrix: .*sum to 1"),
        (lambda d: d["readout"][1].update(p01=0.1), r"readout\[1\]: give either 'matrix' or 'p01' and 'p10'"),
        (lambda d: d["idle"][0].update(t2=-5.0), r"idle\[0\]\.t2: must be > 0"),
        (lambda d: d["idle"][0].update(qubits=[[0, 1]]), r"idle\[0\]\.qubits: idle relaxation is per qubit"),
        (lambda d: d["durations"].update(cx=-1), r"durations\.cx: must be >= 0, got -1"),
        (lambda d: d["durations"].update(hadamard=1), r"durations\.hadamard: unknown gate 'hadamard'"),
        (lambda d: d["durations"].update(cx="fast"), r"durations\.cx: expected a number, got 'fast'"),
        (lambda d: d.update(strict="yes"), r"strict: expected true or false, got 'yes'"),
        (lambda d: d.update(num_qubits=0), r"num_qubits: expected null or a positive integer"),
        (lambda d: d.update(ideal=["rz", "rzz ", 3][:2]), r"ideal\[1\]: unknown gate 'rzz '"),
        (lambda d: d.update(comment=5), r"top level\.comment: expected a string"),
        (lambda d: d.update(erors=[]), r"top level: unknown key 'erors'; did you mean 'errors'\?"),
        (lambda d: d["errors"][0].update(gate=["h"]), r"errors\[0\]: unknown key 'gate'; did you mean 'gates'\?"),
    ],
)
def test_bad_values_name_file_key_path_and_expectation(tmp_path, mutate, message):
    data = template()
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(NoiseError, match=message) as info:
        NoiseModel.from_json(path)
    assert str(info.value).startswith(f"{path}: ")


def test_template_loads_back_and_round_trips(tmp_path):
    model = NoiseModel.from_dict(template())
    assert model.num_qubits == 5 and model.strict and model.ideal == {"rz", "id"}
    assert len(model.rules) == 5 and model.default_readout is not None and (3, 4) in model.readout
    again = NoiseModel.from_json(model.to_json(tmp_path / "again.json"))
    assert again == model and again.to_dict() == model.to_dict()


def test_template_shows_every_key_of_the_schema():
    data = template()
    assert set(data) == set(TOP_KEYS)
    assert set().union(*(set(e) for e in data["errors"])) == set(ERROR_KEYS)
    assert set().union(*(set(e) for e in data["readout"])) == set(READOUT_KEYS)
    assert set().union(*(set(e) for e in data["idle"])) == set(IDLE_KEYS)


def test_schema_page_documents_every_key():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "noise-model-schema.md").read_text()
    for key in {*TOP_KEYS, *ERROR_KEYS, *READOUT_KEYS, *IDLE_KEYS, "type", "kraus", "gamma", "lam", "px", "py", "pz",
                "t1", "t2", "time", "num_qubits", "1q", "2q"}:
        assert f"`{key}`" in page, key
    example = page.split("```json", 1)[1].split("```", 1)[0]
    assert NoiseModel.from_json(example) == NoiseModel.from_dict(template())


def test_issue_13_device_file_where_a_noise_model_is_expected(tmp_path):
    path = tmp_path / "dev.json"
    Device.preset("line_5").to_json(path)
    with pytest.raises(NoiseError, match=r"dev\.json: this is a device description .* not a noise model"):
        NoiseModel.from_json(path)


def test_not_json_and_not_text(tmp_path):
    bad = tmp_path / "n.json"
    bad.write_text('{"schema": ')
    with pytest.raises(NoiseError, match=r"n\.json:1:12: invalid JSON"):
        NoiseModel.from_json(bad)
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(NoiseError, match="not a JSON text file"):
        NoiseModel.from_json(bad)


def _paths(data, prefix=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(template()) if p[0] != "schema"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=6), st.lists(st.integers(-2, 6), max_size=3), st.just({}),
                   st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
def test_fuzzed_documents_load_or_raise_noise_error(edits):
    data = copy.deepcopy(template())
    for path, value in edits:
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        NoiseModel.from_dict(data, source="fuzz.json")
    except NoiseError as err:
        assert str(err).startswith("fuzz.json: ")


def test_shipped_example_is_the_template():
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "examples" / "noise" / "noise.json"
    # regenerate with: qtandem noise template -o examples/noise/noise.json
    assert json.loads(shipped.read_text()) == template()
