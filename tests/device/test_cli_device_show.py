"""``qtandem device show`` displays the schema-v2 fields (coherent errors, correlated readout), issue 15."""

import json
import math

import pytest

from qtandem.cli.main import main
from qtandem.device import Device, list_presets


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.mark.parametrize(("n", "coupling", "seed"), [(5, "line", 3), (7, "heavy_hex", 1), (6, "ring", 0)])
def test_random_device_shows_its_coherent_errors(n, coupling, seed, tmp_path, capsys):
    dev = Device.random(n, coupling, seed=seed)
    path = tmp_path / "dev.json"
    dev.to_json(path)
    code, out, err = run_cli(["device", "show", path], capsys)
    assert code == 0, err
    assert "detuning (kHz)" in out and "sx angle error (rad)" in out and "ZZ (kHz)" in out
    for q, p in enumerate(dev.qubits):  # kHz = rad/ns / (2 pi) * 1e6; angles to 4 decimals
        row = next(ln for ln in out.splitlines() if ln.startswith(f"│ {q} ") and "kHz" not in ln
                   and f"{p.detuning / (2 * math.pi) * 1e6:+.2f}" in ln)
        assert f"{p.sx_angle_error:+.4f}" in row and f"{p.x_angle_error:+.4f}" in row
    for (a, b), e in dev.edges.items():
        row = next(ln for ln in out.splitlines() if ln.startswith(f"│ {a}-{b} ") and "cx" in ln)
        assert f"{e.angle_error:+.4f}" in row and f"{e.zz / (2 * math.pi) * 1e6:.2f}" in row
    assert dev.readout_correlations and "correlated readout: M[i][j]" in out
    for (a, b), m in dev.readout_correlations.items():
        row = next(ln for ln in out.splitlines() if ln.startswith(f"│ {a}-{b} ") and "cx" not in ln)
        assert all(f"{m[j][j]:.4f}" in row for j in range(4))


def test_random_device_json_carries_every_v2_field(tmp_path, capsys):
    dev = Device.random(5, "line", seed=2)
    path = tmp_path / "dev.json"
    dev.to_json(path)
    code, out, _ = run_cli(["device", "show", path, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["version"] == 2
    assert [q["detuning"] for q in data["qubits"]] == [p.detuning for p in dev.qubits]
    assert [q["x_angle_error"] for q in data["qubits"]] == [p.x_angle_error for p in dev.qubits]
    assert [e["zz"] for e in data["edges"]] == [e.zz for _, e in sorted(dev.edges.items())]
    assert [c["qubits"] for c in data["readout_correlations"]] == [list(k) for k in sorted(dev.readout_correlations)]
    assert Device.from_dict(data).to_dict() == dev.to_dict()


@pytest.mark.parametrize("name", list_presets())
def test_presets_hide_the_all_zero_columns_unless_asked(name, capsys):
    dev = Device.preset(name)
    assert not dev.readout_correlations and not any(p.detuning or p.sx_angle_error for p in dev.qubits)
    code, out, _ = run_cli(["device", "show", name], capsys)
    assert code == 0 and "T1" in out
    assert "detuning" not in out and "angle error" not in out and "ZZ" not in out and "correlated" not in out
    code, out, _ = run_cli(["device", "show", name, "--all"], capsys)
    assert code == 0 and "detuning (kHz)" in out and "angle error (rad)" in out and "ZZ (kHz)" in out
    assert "correlated readout" in out and "none on this device" in out
    code, out, _ = run_cli(["device", "show", name, "--json"], capsys)
    assert code == 0 and all(q["detuning"] == 0.0 and q["sx_angle_error"] == 0.0 for q in json.loads(out)["qubits"])


def test_a_time_unit_that_is_not_a_time_shows_rates_as_stored(tmp_path, capsys):
    dev = Device.random(3, "line", seed=0)
    data = dev.to_dict()
    data["time_unit"] = "dt"
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(data))
    code, out, err = run_cli(["device", "show", path], capsys)
    assert code == 0, err
    assert "detuning (rad/dt)" in out and "ZZ (rad/dt)" in out and "kHz" not in out
    assert f"{dev.qubits[0].detuning:+.3e}" in out and f"{dev.edges[(0, 1)].zz:.3e}" in out
