"""``qtandem convert``: --param binds inputs, custom gates stay gates (--inline flattens), -o/--json grammar."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from qtandem.cli.main import main
from qtandem.qasm import load, loads

DATA = Path(__file__).resolve().parents[2] / "src" / "qtandem" / "data" / "qasm"

PARAMETRISED = '''OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input array[float[64], 2] w;
gate layer(a, b) x, y { ry(a) x; ry(b) y; cx x, y; }
qubit[2] q;
bit[2] c;
layer(theta, w[0]) q[0], q[1];
layer(w[1], theta / 2) q[1], q[0];
c = measure q;
'''


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "vqe.qasm"
    path.write_text(PARAMETRISED)
    return path


def test_params_make_a_parametrised_program_qasm2(program, capsys):
    code, out, err = run_cli(["convert", str(program), "--to", "qasm2", "--param", "theta=pi/4",
                              "--param", "w=[0.1, -0.25]"], capsys)
    assert code == 0, err
    assert out.startswith("OPENQASM 2.0;")
    assert "gate layer(a, b) x, y { ry(a) x; ry(b) y; cx x, y; }" in out
    assert "layer(pi/4, 0.1) q[0], q[1];" in out and "layer(-0.25, pi/8) q[1], q[0];" in out
    expected = loads(PARAMETRISED).bind({"theta": math.pi / 4, "w[0]": 0.1, "w[1]": -0.25})
    assert loads(out) == expected


def test_inline_flattens_custom_gates(program, capsys):
    code, out, _ = run_cli(["convert", str(program), "--to", "qasm2", "--inline", "--param", "theta=0.5",
                            "--param", "w=[1,2]"], capsys)
    assert code == 0
    assert "gate " not in out and out.count("ry(") == 4 and "ry(0.25) q[0];" in out


def test_unbound_inputs_and_bad_params_exit_2(program, capsys):
    code, _, err = run_cli(["convert", str(program), "--to", "qasm2"], capsys)
    assert code == 2 and "bind theta, w with --param NAME=VALUE" in err
    code, _, err = run_cli(["convert", str(program), "--param", "phi=1"], capsys)
    assert code == 2 and "no input named 'phi'" in err
    code, _, err = run_cli(["convert", str(program), "--param", "theta"], capsys)
    assert code == 2 and "expected NAME=VALUE" in err
    code, _, err = run_cli(["convert", str(program), "--param", "theta=abc"], capsys)
    assert code == 2 and "unknown identifier 'abc'" in err
    code, _, err = run_cli(["convert", str(program), "--param", "w=[1]", "--param", "theta=1"], capsys)
    assert code == 2 and "bind a list of 2" in err
    code, _, err = run_cli(["convert", str(program), "--param", "theta=1", "--param", "theta=2"], capsys)
    assert code == 2 and "given twice" in err
    assert "Traceback" not in err


def test_qasm3_keeps_free_inputs(program, capsys):
    code, out, _ = run_cli(["convert", str(program), "--param", "w=[0.5,0.75]"], capsys)
    assert code == 0
    assert "input float[64] theta;" in out and "layer(theta, 0.5) q[0], q[1];" in out
    assert loads(out) == load(program, params={"w": [0.5, 0.75]})


def test_output_file_and_json(program, tmp_path, capsys):
    target = tmp_path / "out.qasm"
    code, out, _ = run_cli(["convert", str(program), "--to", "qasm2", "--param", "theta=0.1", "--param",
                            "w=[0.2,0.3]", "-o", str(target), "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report == {"file": str(program), "to": "qasm2", "params": {"theta": 0.1, "w": [0.2, 0.3]},
                      "inline": False, "num_qubits": 2, "num_clbits": 2, "gate_definitions": ["layer"],
                      "output": str(target)}
    assert target.read_text().startswith("OPENQASM 2.0;")
    code, out, _ = run_cli(["convert", str(DATA / "ghz_5.qasm"), "--json"], capsys)
    assert code == 0 and json.loads(out)["qasm"].startswith("OPENQASM 3.0;")


def test_output_folder_is_never_created(program, tmp_path, capsys):
    target = tmp_path / "new" / "dir" / "x.qasm"
    code, _, err = run_cli(["convert", str(program), "-o", str(target)], capsys)
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "new").exists()


def test_non_ascii_qasm2_file_exits_2_with_location(tmp_path, capsys):
    path = tmp_path / "u.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ngate ħ a { h a; }\nħ q[0];\n',
                    encoding="utf-8")
    code, _, err = run_cli(["convert", str(path)], capsys)
    assert code == 2 and f"{path}:4:6: identifier 'ħ' is not ASCII" in err


@pytest.mark.parametrize("path", sorted(DATA.glob("*.qasm")), ids=lambda p: p.name)
@pytest.mark.parametrize("to", ["qasm2", "qasm3"])
def test_shipped_files_convert_and_keep_their_unitary(path, to, tmp_path, capsys):
    params = ["--param", "theta=0.4", "--param", "phi=-0.7"] if "variational" in path.name else []
    target = tmp_path / "x.qasm"
    code, _, err = run_cli(["convert", str(path), "--to", to, "-o", str(target), *params], capsys)
    assert code == 0, err
    original = load(path, params={"theta": 0.4, "phi": -0.7} if params else None)
    again = load(target)
    gates = [i for i in original if i.is_gate]
    assert len(gates) == len([i for i in again if i.is_gate])
    from qtandem import Circuit

    def unitary(c):
        u = Circuit(c.n_qubits)
        for inst in c:
            if inst.is_gate:
                u.append(inst)
        return u.to_matrix().numpy()

    np.testing.assert_allclose(unitary(again), unitary(original), atol=1e-10)
