"""The loop end to end: config errors name the key path, resume after an interruption is bit-exact, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtandem.codesign import loop as loop_mod
from qtandem.codesign.config import parse_config
from qtandem.codesign.loop import run_loop
from qtandem.errors import CheckpointError, ConfigError

TINY = """
[loop]
iterations = 2
seed = 3
[device]
kind = "hidden"
n_qubits = 4
seed = 2
creep = 0.5
[characterize]
shots = 40
experiments = ["readout"]
[workload]
kind = "ghz"
n_qubits = 2
shots = 600
corrections = false
"""


@pytest.mark.parametrize(("text", "message"), [
    ("[loop]\nitterations = 2\n", "loop.itterations: unknown key"),
    ("[loops]\n", "loops: unknown section"),
    ("[loop]\niterations = 0\n", "loop.iterations: expected an integer >= 1"),
    ("[loop]\niterations = \"2\"\n", "loop.iterations: expected int"),
    ("[device]\nkind = \"file\"\n", "device.published: missing"),
    ("[device]\nkind = \"hidden\"\npublished = \"line_5\"\n", "device.published: only with kind"),
    ("[characterize]\nexperiments = [\"t1\", \"t3\"]\n", "characterize.experiments[1]: unknown experiment 't3'"),
    ("[detect]\nalpha = 2\n", "detect.alpha"),
    ("[loop\n", "not valid TOML"),
])
def test_bad_config_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"loop.toml: {message}".replace("[", r"\[").replace("(", r"\(")):
        parse_config(text, source="loop.toml")


def test_bad_workload_option_is_refused(tmp_path: Path) -> None:
    cfg = parse_config("[workload]\nkind = \"ghz\"\nqubitz = 3\n")
    with pytest.raises(ConfigError, match="qubitz"):
        run_loop(cfg, output=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="workload.kind: unknown workload 'nope'"):
        run_loop(parse_config("[workload]\nkind = \"nope\"\n"), output=tmp_path / "b", progress=False)


def _strip_seconds(state: dict) -> dict:
    return {**state, "records": [{k: v for k, v in r.items() if k != "seconds"} for r in state["records"]]}


def test_resume_after_an_interruption_is_bit_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_config(TINY)
    whole = run_loop(cfg, output=tmp_path / "whole", progress=False, report=False)
    assert [r.stage for r in whole.records][:4] == ["characterize", "calibrate", "run", "mitigate"]

    calls = {"n": 0}
    real = loop_mod.stages.detect

    def crash(*args: object, **kwargs: object) -> object:  # the machine dies in iteration 1's detect stage
        calls["n"] += 1
        raise RuntimeError("power cut")

    monkeypatch.setattr(loop_mod.stages, "detect", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        run_loop(cfg, output=tmp_path / "cut", progress=False, report=False)
    assert calls["n"] == 1
    done = json.loads((tmp_path / "cut" / "state.json").read_text())["done"]
    assert done[-1] == "1.stale" and "1.detect" not in done
    with pytest.raises(CheckpointError, match="already run"):
        run_loop(cfg, output=tmp_path / "cut", progress=False, report=False)
    monkeypatch.setattr(loop_mod.stages, "detect", real)

    ran: list[str] = []
    real_run = loop_mod.stages.characterize

    def spy(*args: object, **kwargs: object) -> object:
        ran.append("characterize")
        return real_run(*args, **kwargs)

    monkeypatch.setattr(loop_mod.stages, "characterize", spy)
    resumed = run_loop(cfg, output=tmp_path / "cut", resume=True, progress=False, report=False)
    assert ran == []  # finished stages are read back, not rerun
    a = json.loads((tmp_path / "whole" / "state.json").read_text())
    b = json.loads((tmp_path / "cut" / "state.json").read_text())
    assert _strip_seconds(a) == _strip_seconds(b)
    assert [r.to_dict() for r in resumed.results["loop"]] == [r.to_dict() for r in whole.results["loop"]]
    assert resumed.table() == whole.table()
    with pytest.raises(CheckpointError, match="seed"):
        run_loop(parse_config(TINY.replace("seed = 3", "seed = 4")), output=tmp_path / "cut", resume=True,
                 progress=False, report=False)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from qtandem.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.mark.slow
def test_cli_loop_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "loop.toml"
    config.write_text(TINY.replace("iterations = 2", "iterations = 1"))
    code, out, err = _cli(["loop", str(config), "-o", str(tmp_path / "run"), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["table"][0]["iteration"] == 0 and (tmp_path / "run" / "report.html").exists()
    assert (tmp_path / "run" / "loop_error.png").exists()
    code, _, err = _cli(["loop", str(config), "-o", str(tmp_path / "run")], capsys)
    assert code == 2 and "not empty" in err


def test_cli_loop_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "loop.toml"
    config.write_text(TINY)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("1")
    code, _, err = _cli(["loop", str(config), "-o", str(tmp_path / "full")], capsys)
    assert code == 2 and "not empty" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[workload]\nshots = -1\n")
    code, _, err = _cli(["loop", str(bad), "-o", str(tmp_path / "x")], capsys)
    assert code == 2 and "workload.shots" in err and "Traceback" not in err
    code, _, err = _cli(["loop", str(config), "-o", str(tmp_path / "none"), "--resume"], capsys)
    assert code == 2 and "state.json missing" in err


def test_drift_is_detected_and_only_the_flagged_qubit_relearned(tmp_path: Path) -> None:
    """The hardware's readout on one used qubit degrades after iteration 0: iteration 1's drift test flags
    that qubit (from the workload's own shots) and iteration 2 re-characterizes it alone."""
    from qtandem.codesign.loop import Hardware
    from qtandem.device import Device
    from qtandem.device.executors import simulator_executor

    published = Device.preset("line_5")
    cfg = parse_config("[loop]\niterations = 3\nbaseline = false\n[characterize]\nshots = 100\n"
                       "experiments = [\"readout\"]\n[workload]\nn_qubits = 2\nshots = 2000\ncorrections = false\n")
    first = run_loop(cfg, output=tmp_path / "probe", progress=False, report=False,
                     hardware=Hardware(published, lambda t, seed: simulator_executor(published, seed=seed)))
    used = first.results["loop"][0].details["qubits"]
    worse = Device.preset("line_5")
    worse.qubits[used[1]].readout_p10 = 0.4

    def executor(t: int, seed: int) -> object:
        return simulator_executor(published if t == 0 else worse, seed=seed)

    res = run_loop(cfg, output=tmp_path / "run", progress=False, report=False,
                   hardware=Hardware(published, executor))  # type: ignore[arg-type]
    detect = [r for r in res.records if r.stage == "detect"]
    assert detect[0].iteration == 1 and detect[0].metrics["drifted"] == 1.0
    assert f"[{used[1]}]" in detect[0].notes
    recharacterized = next(r for r in res.records if r.stage == "characterize" and r.iteration == 2)
    assert recharacterized.notes.startswith(f"qubits [{used[1]}]") and 0 < recharacterized.shots < 1000
    learned = Device.from_json(tmp_path / "run" / "iter2" / "device.json")
    assert learned.qubits[used[1]].readout_p10 == pytest.approx(0.4, abs=0.1)
