"""Sweep job ``mitigation``: rows equal direct ``mitigate.execute`` calls, resume bit-exact, bad points refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.engine import LocalEngine
from qtandem.errors import ConfigError
from qtandem.mitigate import execute, readout, simulator_executor, zne
from qtandem.noise import NoiseModel, depolarizing_qiskit, readout_error
from qtandem.sweep import load_config, parse_config, plan, run_sweep
from qtandem.sweep.report import write_report

ROOT = Path(__file__).resolve().parents[2]
SWEEP = """
[sweep]
job = "mitigation"
seed = 3
[fixed]
family = "ghz"
qubits = 3
observable = "Z0 Z2"
shots = 4000
p1 = 0.001
p2 = 0.02
readout = 0.04
[grid]
method = ["none", "readout", "readout,zne"]
repeat = [0, 1]
"""


def _direct(method: list, seed: int) -> tuple[float, float]:
    """The same estimate through qtandem.mitigate's public API, the noise model built here."""
    one = ["h", "id", "p", "rx", "ry", "rz", "s", "sdg", "sx", "sxdg", "t", "tdg", "u", "u1", "u2", "u3", "x", "y", "z"]
    model = (NoiseModel(num_qubits=3).add(depolarizing_qiskit(0.001, 1), gates=one)
             .add(depolarizing_qiskit(0.02, 2), gates=["cx"]).add_readout(readout_error(0.04, 0.04)))
    res = execute(Circuit(3).h(0).cx(0, 1).cx(1, 2), "Z0 Z2", simulator_executor(model, seed=seed), methods=method,
                  shots=4000, seed=seed, noise=model)
    return res.value, res.raw


def test_rows_equal_direct_calls_and_resume_is_bit_exact(tmp_path):
    cfg = parse_config(SWEEP)
    points = plan(cfg)
    with LocalEngine(1) as engine:
        whole = run_sweep(cfg, engine, tmp_path / "whole")
        part = run_sweep(cfg, engine, tmp_path / "part", stop_after=2)
        again = run_sweep(cfg, engine, tmp_path / "part")
    assert whole.complete and not part.complete and again.complete and part.rows_written == 2
    assert [e["result"] for e in again.table] == [e["result"] for e in whole.table]  # bit-exact floats
    assert len({p.key for p in points}) == 6  # the replicate index changes the hash, hence the seed
    made = {"none": list, "readout": lambda: [readout()], "readout,zne": lambda: [readout(), zne()]}
    for point, entry in zip(points, whole.table, strict=True):
        res = entry["result"]
        value, raw = _direct(made[point.prepared.params["method"]](), point.seed(0) % 2**31)
        assert (res["value"], res["raw"]) == (value, raw)
        assert res["exact"] == pytest.approx(1.0, abs=1e-12)  # GHZ: <Z0 Z2> = 1
        assert entry["shots"] == res["shots_used"] == 4000 and res["error"] == abs(res["value"] - res["exact"])
    html = write_report(whole.table, tmp_path / "report").read_text()
    assert "Error mitigation" in html and "readout,zne" in html
    # the noise is strong enough that the methods matter: readout+ZNE beats raw on both replicates
    best = [e["result"] for e in whole.table if e["point"]["method"] == "readout,zne"]
    assert all(r["error"] < 0.5 * r["raw_error"] for r in best)


def test_exact_value_of_a_layered_circuit_matches_numpy(tmp_path):
    cfg = parse_config('[sweep]\njob = "mitigation"\n[fixed]\nfamily = "layered"\nqubits = 2\nlayers = 1\n'
                       'observable = "Z0"\nmethod = "none"\nshots = 100\n[grid]\ninstance = [5]\n')
    with LocalEngine(1) as engine:
        entry = run_sweep(cfg, engine, tmp_path).table[0]
    rx_angles = np.random.default_rng(5).uniform(0, 2 * math.pi, size=(2, 2))[0]
    # layer 0: rx, rz on each qubit, then cx(0, 1); <Z0> after it is cos(theta_0) (rz and the cx's target spare Z0)
    assert entry["result"]["exact"] == pytest.approx(math.cos(rx_angles[0]), abs=1e-12)


@pytest.mark.parametrize(("body", "message"), [
    ('[grid]\nshots = [100]\n', "give a circuit file"),
    ('[fixed]\nfamily = "ghz"\ncircuit = "x.qasm"\n[grid]\nshots = [100]\n', "give a circuit file"),
    ('[fixed]\nfamily = "qft"\n[grid]\nshots = [100]\n', "family: expected"),
    ('[fixed]\nfamily = "ghz"\n[grid]\nmethod = ["zne,richardson"]\n', "unknown method 'richardson'"),
    ('[fixed]\nfamily = "ghz"\nqubits = 2\n[grid]\nobservable = ["Z5"]\n', r"points\[0\].observable"),
    ('[fixed]\nfamily = "ghz"\n[grid]\np2 = [0.7]\n', r"p2: expected a probability"),
    ('[fixed]\nfamily = "ghz"\n[grid]\nshots = [0]\n', r"shots: expected an integer >= 1"),
    ('[fixed]\ncircuit = "no/such.qasm"\n[grid]\nshots = [10]\n', "no such file"),
    ('[fixed]\nfamily = "ghz"\n[grid]\nnoise = ["depolarizing"]\n', "unknown parameter of job 'mitigation'"),
])
def test_bad_points_are_refused(body, message):
    with pytest.raises(ConfigError, match=message):
        plan(parse_config('[sweep]\njob = "mitigation"\n' + body))


def test_circuit_file_text_enters_the_hash(tmp_path):
    f = tmp_path / "c.qasm"
    f.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n')
    text = f'[sweep]\njob = "mitigation"\n[fixed]\ncircuit = "{f.as_posix()}"\n[grid]\nshots = [10]\n'
    first = plan(parse_config(text))[0].key
    f.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nx q[0];\ncx q[0],q[1];\n')
    assert plan(parse_config(text))[0].key != first


def test_shipped_mitigation_example_is_valid():
    points = plan(load_config(ROOT / "examples" / "sweep" / "mitigation_small.toml"))
    assert len(points) == 14 and {p.prepared.params["family"] for p in points} == {"ghz", "layered"}


def test_cli_runs_the_shipped_example_and_resumes(tmp_path, capsys):
    from qtandem.cli.main import main

    out = tmp_path / "run"
    for extra in ([], ["--resume"]):
        with pytest.raises(SystemExit) as info:
            main(["sweep", str(ROOT / "examples" / "sweep" / "mitigation_small.toml"), "--out", str(out), *extra])
        text = capsys.readouterr()
        assert info.value.code == 0, text.err
    assert "exact 1.0000" in text.out and "14 points (14 complete), 0 chunks run" in text.out
    assert (out / "results.jsonl").read_text().count("\n") == 14
    assert "Error mitigation" in (out / "report.html").read_text()
