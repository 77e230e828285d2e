"""``qtandem learn tomography``: a tiny model trained from a record, checkpoints and resume, report, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from qtandem import Circuit, statevector
from qtandem.cli.main import main
from qtandem.learn import NeuralStateModel, measure_randomized
from qtandem.training import MetricsLog


def run_cli(args: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    bell = Circuit(2).h(0).cx(0, 1)
    measure_randomized(bell, 3000, seed=0).save(tmp_path / "rec")
    np.save(tmp_path / "bell.npy", statevector(bell).numpy())
    return tmp_path / "rec", tmp_path / "bell.npy"


COMMON = ["--kind", "rnn", "--d-model", "8", "--batch-size", "64", "--checkpoint-every", "10", "--lr", "0.03"]


def test_train_report_and_resume(data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec, bell = data
    out_dir = tmp_path / "model"
    code, out, err = run_cli(["learn", "tomography", rec, "-o", out_dir, "--steps", "20", "--state", bell, "--json",
                              *COMMON], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["steps"] == 20 and doc["shots"] == 3000 and 0 <= doc["fidelity"] <= 1
    assert (out_dir / "report.html").is_file() and (out_dir / "loss.png").is_file()
    assert (out_dir / "fidelity.png").is_file()
    model = NeuralStateModel.load(out_dir)
    assert abs(model.fidelity(statevector(Circuit(2).h(0).cx(0, 1))) - doc["fidelity"]) < 1e-9
    metrics = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(1, 21)) and "fidelity" in metrics[9]
    # a run killed at step 25 and resumed (from its step-20 checkpoint) equals an uninterrupted one
    emit = MetricsLog.emit

    def crash_at_25(self: MetricsLog, record: dict) -> None:
        if record["step"] == 25:
            raise KeyboardInterrupt
        emit(self, record)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MetricsLog, "emit", crash_at_25)
        with pytest.raises((SystemExit, KeyboardInterrupt)):
            main([str(a) for a in ["learn", "tomography", rec, "-o", tmp_path / "crash", "--steps", "40", *COMMON]])
    capsys.readouterr()
    code, out, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "crash", "--steps", "40", "--resume",
                              "--json", *COMMON], capsys)
    assert code == 0, err
    code, out2, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "whole", "--steps", "40", "--json",
                               *COMMON], capsys)
    assert code == 0, err
    a, b = NeuralStateModel.load(tmp_path / "crash"), NeuralStateModel.load(tmp_path / "whole")
    assert torch.allclose(a.statevector(), b.statevector(), atol=1e-9)
    assert json.loads(out)["final_loss"] == pytest.approx(json.loads(out2)["final_loss"], abs=1e-9)
    lines = (tmp_path / "crash" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 41))
    # --steps may grow on resume (the learning-rate schedule then follows the new total)
    code, out, err = run_cli(["learn", "tomography", rec, "-o", out_dir, "--steps", "30", "--resume", "--json",
                              *COMMON], capsys)
    assert code == 0 and json.loads(out)["steps"] == 30, err


def test_refusals_exit_2(data: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec, _ = data
    code, _, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "m", "--steps", "5", *COMMON], capsys)
    assert code == 0, err
    code, _, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "m", "--steps", "5", *COMMON], capsys)
    assert code == 2 and "--overwrite" in err
    code, _, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "m", "--steps", "9", "--resume",
                            *COMMON[:-2], "--lr", "0.1"], capsys)
    assert code == 2 and "lr" in err and "differs from the checkpoint" in err
    code, _, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "n", "--resume", *COMMON], capsys)
    assert code == 2 and "nothing to resume" in err
    code, _, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "k", "--kind", "lstm"], capsys)
    assert code == 2 and "--kind must be" in err
    np.save(tmp_path / "bad.npy", np.ones(8) / 8 ** 0.5)
    code, _, err = run_cli(["learn", "tomography", rec, "-o", tmp_path / "s", "--state", tmp_path / "bad.npy"], capsys)
    assert code == 2 and "expected (4,)" in err
    measure_randomized(Circuit(2), 10, basis="clifford", seed=0).save(tmp_path / "cliff")
    code, _, err = run_cli(["learn", "tomography", tmp_path / "cliff", "-o", tmp_path / "c", *COMMON], capsys)
    assert code == 2 and "Clifford-basis shots" in err
    code, _, err = run_cli(["learn", "tomography", tmp_path / "none", "-o", tmp_path / "d"], capsys)
    assert code == 2 and "manifest.json is missing" in err
