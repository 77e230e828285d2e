"""``qtandem simulate`` and ``qtandem draw`` (issue 13: sections 2, 3 and 5)."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtandem.cli.main import main

DATA = Path(__file__).resolve().parents[2] / "src" / "qtandem" / "data" / "qasm"
HEAD = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def write(tmp_path, body, name="c.qasm"):
    path = tmp_path / name
    path.write_text(HEAD + body)
    return path


def simulate_json(args, capsys):
    code, out, err = run_cli(["simulate", *args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


# -- what is reported: the classical register, as exact and sampled output agree ------------------------------


def test_exact_and_shots_report_the_classical_register(tmp_path, capsys):
    # regression: exact output reported the 3 qubits ("101"/"111"), --shots the 2 classical bits ("11")
    path = write(tmp_path, "qreg q[3];\ncreg c[2];\nx q[0];\nh q[1];\nx q[2];\nmeasure q[2] -> c[1];\n"
                           "measure q[0] -> c[0];\n")
    exact = simulate_json([path], capsys)
    sampled = simulate_json([path, "--shots", 50, "--seed", 1], capsys)
    assert exact["probabilities"] == pytest.approx({"11": 1.0})
    assert sampled["counts"] == {"11": 50}
    assert exact["bits"]["label"] == sampled["bits"]["label"] == "c[1..0], bit 0 rightmost"
    qubits = simulate_json([path, "--qubits"], capsys)
    assert qubits["probabilities"] == pytest.approx({"101": 0.5, "111": 0.5})
    assert qubits["bits"]["label"] == "q[2..0], qubit 0 rightmost"
    code, _, err = run_cli(["simulate", path, "--qubits", "--shots", 10], capsys)
    assert code == 2 and "--qubits reports the exact distribution of the qubits" in err
    code, out, _ = run_cli(["simulate", path], capsys)
    assert code == 0 and "outcome c[1..0], bit 0 rightmost" in out and "method: statevector" in out


ADDER_4 = """gate maj a, b, c { cx c, b; cx c, a; ccx a, b, c; }
gate uma a, b, c { ccx a, b, c; cx c, a; cx a, b; }
qreg cin[1];
qreg a[4];
qreg b[4];
qreg cout[1];
creg sum[5];
x a[0];
x b;
maj cin[0], b[0], a[0];
maj a[0], b[1], a[1];
maj a[1], b[2], a[2];
maj a[2], b[3], a[3];
cx a[3], cout[0];
uma a[2], b[3], a[3];
uma a[1], b[2], a[2];
uma a[0], b[1], a[1];
uma cin[0], b[0], a[0];
measure cout[0] -> sum[4];
"""


def test_ten_qubit_adder_exact_and_sampled_agree(tmp_path, capsys):
    # the example: 1 + 15 on a 10-qubit Cuccaro adder; exact printed the qubits 1000000010, shots 10000
    path = write(tmp_path, ADDER_4 + "".join(f"measure b[{i}] -> sum[{i}];\n" for i in range(4)))
    exact = simulate_json([path], capsys)
    sampled = simulate_json([path, "--shots", 100, "--seed", 0], capsys)
    assert exact["probabilities"] == pytest.approx({"10000": 1.0}) and sampled["counts"] == {"10000": 100}
    assert exact["bits"]["label"] == sampled["bits"]["label"] == "sum[4..0], bit 0 rightmost"
    assert simulate_json([path, "--qubits"], capsys)["probabilities"] == pytest.approx({"1000000010": 1.0})


def test_registers_are_named_and_spaced(tmp_path, capsys):
    path = write(tmp_path, "qreg q[3];\ncreg a[1];\ncreg b[2];\nx q[1];\nmeasure q[0] -> a[0];\n"
                           "measure q[1] -> b[0];\nmeasure q[2] -> b[1];\n")
    data = simulate_json([path], capsys)
    assert data["probabilities"] == pytest.approx({"010": 1.0})
    assert data["bits"]["label"] == "b[1..0] a[0], bit 0 rightmost"
    code, out, _ = run_cli(["simulate", path], capsys)
    assert code == 0 and "01 0" in out  # b = 01, a = 0


def test_circuit_without_classical_bits_reports_qubits_both_ways(capsys):
    f = DATA / "toffoli_adder.qasm"
    exact = simulate_json([f], capsys)
    sampled = simulate_json([f, "--shots", 20, "--seed", 0], capsys)
    assert list(exact["probabilities"]) == list(sampled["counts"]) == ["1010"]
    assert exact["bits"]["label"].startswith("cout[0] b[0] a[0] cin[0] (no classical bits")
    code, out, _ = run_cli(["simulate", f, "--dtype", "complex64"], capsys)
    assert code == 0 and "1.000000" in out and "complex64" in out


def test_exact_distribution_with_reset_and_feed_forward(tmp_path, capsys):
    # regression: exact simulate refused any reset or mid-circuit measurement and pointed to the Python API
    path = write(tmp_path, "qreg q[2];\ncreg c[2];\nreset q;\nh q[0];\nmeasure q[0] -> c[0];\n"
                           "if (c==1) x q[1];\nmeasure q[1] -> c[1];\n")
    data = simulate_json([path], capsys)
    assert data["probabilities"] == pytest.approx({"00": 0.5, "11": 0.5})
    assert data["method"] == "branching"
    sampled = simulate_json([path, "--shots", 400, "--seed", 2], capsys)
    assert set(sampled["counts"]) == {"00", "11"}


# -- options that used to be ignored -------------------------------------------------------------------------


def test_method_without_noise_is_refused(capsys):
    for method in ("density", "trajectories"):
        code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--method", method], capsys)
        assert code == 2 and f"--method {method} chooses how noise is simulated and needs --noise" in err


def test_expval_with_shots_is_estimated_from_shots(capsys):
    f = DATA / "variational_3.qasm"
    params = ["--param", "theta=0.7", "--param", "phi=-1.1"]
    obs = "Z0 Z1 + 0.5*X2 - 0.3*Y1 + 0.2*X0 Y2 + 0.25"
    exact = simulate_json([f, *params, "--expval", obs], capsys)
    assert "stderr" not in exact and exact["method"] == "statevector"
    est = simulate_json([f, *params, "--expval", obs, "--shots", 4000, "--seed", 5], capsys)
    assert est["bases"] == 2 and est["shots"] == 8000 and est["shots_per_basis"] == 4000
    assert 0.005 < est["stderr"] < 0.05
    assert abs(est["expval"] - exact["expval"]) < 5 * est["stderr"]
    again = simulate_json([f, *params, "--expval", obs, "--shots", 4000, "--seed", 5], capsys)
    assert again["expval"] == est["expval"]
    code, out, _ = run_cli(["simulate", f, *params, "--expval", obs, "--shots", 100, "--seed", 5], capsys)
    assert code == 0 and "standard error; 200 shots in 2 bases, 100 each" in out


def test_expval_of_circuit_with_mid_circuit_measurement_is_exact(tmp_path, capsys):
    # <Z1> after copying a random bit into qubit 1 by feed-forward: 0; <Z0 Z1> = 1
    path = write(tmp_path, "qreg q[2];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\nif (c==1) x q[1];\n")
    data = simulate_json([path, "--expval", "Z1 + Z0 Z1"], capsys)
    assert data["expval"] == pytest.approx(1.0) and data["method"] == "branching"


def test_expval_refuses_complex_and_out_of_range_observables(capsys):
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--expval", "Z7"], capsys)
    assert code == 2 and "acts on qubit 7 but the circuit has 5 qubits" in err


# -- --statevector --------------------------------------------------------------------------------------------


def test_statevector_prints_top_amplitudes(tmp_path, capsys):
    path = write(tmp_path, "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\ns q[1];\nmeasure q -> c;\n")
    data = simulate_json([path, "--statevector"], capsys)
    rows = data["amplitudes"]
    assert [r["state"] for r in rows] == ["00", "11"] and data["total"] == 2
    assert rows[0]["real"] == pytest.approx(2**-0.5) and rows[1]["imag"] == pytest.approx(2**-0.5)
    assert rows[1]["probability"] == pytest.approx(0.5)
    data = simulate_json([path, "--statevector", "--top", 1], capsys)
    assert len(data["amplitudes"]) == 1 and data["shown"] == 1
    code, out, _ = run_cli(["simulate", path, "--statevector"], capsys)
    assert code == 0 and "+0.707107" in out and "state q[1..0], qubit 0 rightmost" in out


def test_statevector_refusals(tmp_path, capsys):
    path = write(tmp_path, "qreg q[2];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\nx q[0];\n")
    code, _, err = run_cli(["simulate", path, "--statevector"], capsys)
    assert code == 2 and "no single final state" in err
    code, _, err = run_cli(["simulate", path, "--statevector", "--shots", 10], capsys)
    assert code == 2 and "--statevector prints the amplitudes of the noiseless final state; it takes no --shots" in err


# -- noise never silently disappears --------------------------------------------------------------------------


def test_device_noise_with_no_compile_lists_the_problems(capsys):
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--noise", "heavy_hex_27", "--no-compile"], capsys)
    assert code == 2
    assert "device 'heavy_hex_27' cannot run this circuit as it is" in err
    assert "gate 'h' is not native" in err and "drop --no-compile" in err


def test_native_circuit_on_device_is_not_compiled(tmp_path, capsys):
    path = write(tmp_path, "qreg q[2];\ncreg c[2];\nsx q[0];\ncx q[0], q[1];\nmeasure q -> c;\n")
    data = simulate_json([path, "--noise", "line_5", "--shots", 200, "--seed", 3], capsys)
    assert data["compile"][0]["changed"] is False and data["compile"][0]["physical_qubits"] == [0, 1]
    assert set(data["counts"]) >= {"00", "11"}


def test_bad_noise_files_and_names(tmp_path, capsys):
    path = tmp_path / "n.json"
    path.write_text('{"schema": "qtandem.noise_model", "version": 1, "errors": [{"chanel": {}}]}')
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--noise", path], capsys)
    assert code == 2 and "errors[0]: unknown key 'chanel'" in err
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "--noise", "nowhere_7"], capsys)
    assert code == 2 and "unknown device preset" in err


# -- the shared grammar ---------------------------------------------------------------------------------------


def test_output_file_gets_the_json_result(tmp_path, capsys):
    target = tmp_path / "result.json"
    code, out, _ = run_cli(["simulate", DATA / "ghz_5.qasm", "-o", target], capsys)
    assert code == 0 and f"wrote {target}" in out
    assert json.loads(target.read_text())["probabilities"] == pytest.approx({"00000": 0.5, "11111": 0.5})
    code, _, err = run_cli(["simulate", DATA / "ghz_5.qasm", "-o", tmp_path / "no" / "dir" / "r.json"], capsys)
    assert code == 2 and "does not exist" in err and not (tmp_path / "no").exists()


def test_seeded_shots_and_params(capsys):
    args = [DATA / "ghz_5.qasm", "--shots", 500, "--seed", 3]
    c1, c2 = simulate_json(args, capsys)["counts"], simulate_json(args, capsys)["counts"]
    assert c1 == c2 and set(c1) == {"00000", "11111"} and sum(c1.values()) == 500
    f = DATA / "variational_3.qasm"
    code, _, err = run_cli(["simulate", f], capsys)
    assert code == 2 and "--param" in err
    code, _, err = run_cli(["simulate", f, "--param", "theta=0.1", "--param", "phi=0.2", "--param", "psi=1"], capsys)
    assert code == 2 and "no such parameter" in err
    data = simulate_json([f, "--param", "theta=0.1", "--param", "phi=0.2"], capsys)
    assert sum(data["probabilities"].values()) == pytest.approx(1.0)


# -- qtandem draw ---------------------------------------------------------------------------------------------


def test_draw_prints_writes_and_emits_json(tmp_path, capsys):
    f = DATA / "ghz_5.qasm"
    code, out, _ = run_cli(["draw", f], capsys)
    assert code == 0 and out.startswith("q0: ─H──■") and "c:  ═" in out
    data = json.loads(run_cli(["draw", f, "--json"], capsys)[1])
    assert data["file"] == str(f) and data["drawing"] == out.rstrip("\n")
    target = tmp_path / "ghz.txt"
    code, out, _ = run_cli(["draw", f, "-o", target], capsys)
    assert code == 0 and target.read_text().rstrip("\n") == data["drawing"]
    code, _, err = run_cli(["draw", f, "-o", tmp_path / "no" / "x.txt"], capsys)
    assert code == 2 and "does not exist" in err


def test_draw_folds_wide_circuits(tmp_path, capsys):
    body = "qreg q[3];\n" + "".join(f"rz({0.1 * k}) q[{k % 3}];\ncx q[{k % 3}], q[{(k + 1) % 3}];\n"
                                    for k in range(60))
    path = write(tmp_path, body)
    code, out, _ = run_cli(["draw", path, "--width", 60], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert sum(line.startswith("q0:") for line in lines) > 5  # folded into blocks, each naming the wires
    code, _, err = run_cli(["draw", path, "--width", 5], capsys)
    assert code == 2 and "--width must be at least" in err


def test_long_sampling_on_a_terminal_shows_progress(monkeypatch, tmp_path, capsys):
    import qtandem
    from qtandem.cli import simulate_run

    class Tty:
        def isatty(self):
            return True

    assert simulate_run.want_progress(10**6, 4, Tty()) and not simulate_run.want_progress(100, 4, Tty())
    seen = {}
    real = qtandem.sample

    def spy(circuit, shots=1024, *, progress=False, **kwargs):
        seen["progress"] = progress
        return real(circuit, shots, **kwargs)

    monkeypatch.setattr(qtandem, "sample", spy)
    monkeypatch.setattr(simulate_run, "PROGRESS_WORK", 100)
    monkeypatch.setattr(simulate_run.sys, "stderr", Tty())
    path = write(tmp_path, "qreg q[2];\ncreg c[2];\nh q[0];\nmeasure q -> c;\n")
    assert simulate_json([path, "--shots", 60, "--seed", 0], capsys)["shots"] == 60
    assert seen == {"progress": True}


def test_top_limits_what_is_shown(tmp_path, capsys):
    path = write(tmp_path, "qreg q[3];\ncreg c[3];\nh q;\nmeasure q -> c;\n")
    exact = simulate_json([path, "--top", 3], capsys)
    assert len(exact["probabilities"]) == 3 and exact["shown"] == 3 and exact["total"] == 8
    sampled = simulate_json([path, "--top", 3, "--shots", 400, "--seed", 0], capsys)
    assert len(sampled["counts"]) == 8 and sampled["shown"] == 3  # JSON keeps every count
    code, out, _ = run_cli(["simulate", path, "--top", 3, "--shots", 400, "--seed", 0], capsys)
    assert code == 0 and "3 of 8 nonzero outcomes shown (--top 3)" in out
    assert sum(line.count("│") == 3 for line in out.splitlines()) == 3  # three table rows


_FUZZ_OPTIONS = [[], ["--shots", "7"], ["--shots", "-1"], ["--top", "0"], ["--top", "2"], ["--qubits"],
                 ["--statevector"], ["--expval", "Z0"], ["--expval", "X0 Y1 + 2"], ["--expval", "Q1"],
                 ["--expval", "1j*Z0"], ["--method", "density"], ["--noise", "line_5"], ["--noise", "no_such"],
                 ["--no-compile"], ["--dtype", "complex64"], ["--dtype", "half"], ["--param", "x=1"],
                 ["--param", "oops"], ["--seed", "3"], ["--json"]]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.lists(st.sampled_from(["h q[0];", "cx q[0], q[1];", "measure q[0] -> c[0];", "reset q[1];",
                                      "if (c==1) x q[1];", "rz(0.3) q[1];", "measure q[1] -> c[1];"]), max_size=6),
       options=st.lists(st.sampled_from(_FUZZ_OPTIONS), max_size=4))
def test_fuzzed_options_exit_0_or_2_never_a_traceback(tmp_path_factory, body, options):
    """Issue 13 s.1: any combination of simulate's options on small dynamic circuits: exit 0 or 2."""
    path = tmp_path_factory.mktemp("fuzz") / "c.qasm"
    path.write_text(HEAD + "qreg q[2];\ncreg c[2];\n" + "\n".join(body) + "\n")
    args = ["simulate", str(path), *[a for opt in options for a in opt]]
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code in (0, 2), args


def test_empty_circuit(tmp_path, capsys):
    path = tmp_path / "empty.qasm"
    path.write_text("OPENQASM 2.0;\n")
    data = simulate_json([path, "--shots", 3], capsys)
    assert data["counts"] == {"": 3} and data["bits"]["label"] == "(no qubits, no classical bits)"
    assert simulate_json([path], capsys)["probabilities"] == {"": 1.0}
    code, out, _ = run_cli(["draw", path], capsys)
    assert code == 0 and out == "\n"


def test_draw_on_a_terminal_folds_at_its_width_and_pages_tall_drawings(monkeypatch, tmp_path, capsys):
    import os
    import shutil
    import sys

    import click

    paged = []
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((50, 12)))
    monkeypatch.setattr(click, "echo_via_pager", lambda text, **kw: paged.append(text))
    path = write(tmp_path, "qreg q[8];\n" + "".join(f"h q[{k % 8}];\ncx q[{k % 8}], q[{(k + 3) % 8}];\n"
                                                     for k in range(30)))
    code, out, _ = run_cli(["draw", path], capsys)
    assert code == 0 and out == "" and len(paged) == 1
    assert max(len(line) for line in paged[0].splitlines()) <= 50
    code, out, _ = run_cli(["draw", path, "--no-pager"], capsys)
    assert code == 0 and out.rstrip("\n") == paged[0].rstrip("\n") and len(paged) == 1
