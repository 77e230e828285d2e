"""``qtandem learn tomography`` with the MADE backbone, a phase variant and full-state training of heavy shots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qtandem import Circuit, statevector
from qtandem.cli.main import main
from qtandem.learn import NeuralStateModel, measure_randomized


def run_cli(args: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_made_phase_none_dense_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ghz = Circuit(3).h(0).cx(0, 1).cx(1, 2)
    measure_randomized(ghz, 3000, seed=0).save(tmp_path / "rec")
    np.save(tmp_path / "ghz.npy", statevector(ghz).numpy())
    common = ["--kind", "made", "--d-model", "4", "--hidden", "24", "--layers", "1", "--phase", "zero",
              "--batch-size", "128", "--lr", "0.03", "--checkpoint-every", "50", "--no-progress"]
    # shots rotating 2 or 3 qubits exceed --max-rotated 1: refused without --dense-every
    code, _, err = run_cli(["learn", "tomography", tmp_path / "rec", "-o", tmp_path / "a", "--steps", "5",
                            "--max-rotated", "1", *common], capsys)
    assert code == 2 and "max_rotated is 1" in err
    code, out, err = run_cli(["learn", "tomography", tmp_path / "rec", "-o", tmp_path / "m", "--steps", "150",
                              "--max-rotated", "1", "--dense-every", "2", "--dense-batch", "128",
                              "--state", tmp_path / "ghz.npy", "--json", *common], capsys)
    assert code == 0, err
    result = json.loads(out)
    model = NeuralStateModel.load(tmp_path / "m")
    assert model.kind == "made" and model.phase == "zero" and model.net.hidden == 24
    assert result["fidelity"] == pytest.approx(model.fidelity(statevector(ghz).numpy())) and result["fidelity"] > 0.95


def test_bad_phase_and_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    measure_randomized(Circuit(2).h(0), 50, seed=0).save(tmp_path / "rec")
    code, _, err = run_cli(["learn", "tomography", tmp_path / "rec", "-o", tmp_path / "a", "--phase", "real"], capsys)
    assert code == 2 and "--phase must be" in err
    code, _, err = run_cli(["learn", "tomography", tmp_path / "rec", "-o", tmp_path / "b", "--layers", "0"], capsys)
    assert code == 2 and "--layers must be a positive integer" in err
