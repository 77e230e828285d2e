"""``qtandem chem energy --device/--mitigation`` and ``--top-k``: runs and clear errors."""

from __future__ import annotations

import json

import pytest
from tests.conftest import run_cli

pytest.importorskip("pyscf")


def test_energy_on_a_device_with_mitigation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["chem", "energy", "H 0 0 0; H 0 0 0.735", "--device", "line_5", "--mitigation",
                           "readout", "--shots", "500", "--max-evaluations", "5", "--json"], capsys)
    assert code == 0, err
    r = json.loads(out)
    assert r["device"] == "line_5" and r["mitigation"] == "readout" and r["optimizer"] == "cobyla"
    assert r["n_evaluations"] == 5
    assert r["exact_energy"] < r["references"]["hf"] + 0.02            # no worse than Hartree-Fock's energy
    assert r["raw_energy"] is not None


def test_energy_with_learned_selection(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["chem", "energy", "H 0 0 0; H 0 0 0.735", "--ansatz", "qubit-adapt", "--top-k", "4",
                           "--json"], capsys)
    assert code == 0, err
    r = json.loads(out)
    assert abs(r["error_vs_fci"]) < 1e-6 and r["pool_gradients"] is not None


@pytest.mark.parametrize(("args", "message"), [
    (["--top-k", "3"], "--top-k selects ADAPT operators"),
    (["--ansatz", "adapt", "--top-k", "0"], "--top-k must be >= 1"),
    (["--device", "line_5", "--mitigation", "magic"], "unknown mitigation 'magic'"),
    (["--device", "nowhere_9"], "nowhere_9"),
    (["--max-evaluations", "0"], "--max-evaluations must be >= 1"),
])
def test_device_option_errors(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run_cli(["chem", "energy", "H 0 0 0; H 0 0 0.735", *args], capsys)
    assert code != 0 and message in err, err
    assert "Traceback" not in err
