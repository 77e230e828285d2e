"""``qtandem chem energy`` and ``qtandem chem curve``: output against PySCF's references, config errors by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtandem.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "chem"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.mark.parametrize(("text", "message"), [
    ('geometry = "H 0 0 0; H 0 0 {d}"\ndistances = [0.7]\n[[solver]]\nansatz = "uccsd"\nintit = "cold"\n',
     "solver[0].intit: unknown key (did you mean 'init'?)"),
    ('geometry = "H 0 0 0; H 0 0 {d}"\ndistance = [0.7]\n', "distance: unknown key (did you mean 'distances'?)"),
    ('geometry = "H 0 0 0; H 0 0 0.7"\ndistances = [0.7]\n', "geometry: needs a {d} placeholder"),
    ('geometry = "H 0 0 0; H 0 0 {d}"\ndistances = [0.7, -1]\n', "distances: expected a non-empty list"),
    ('geometry = "H 0 0 0; H 0 0 {d}"\ndistances = [0.7]\nactive = [2]\n', "active: expected [n_electrons"),
    ('geometry = "H 0 0 0; H 0 0 {d}"\ndistances = [0.7]\n[[solver]]\ninit = "psychic"\n',
     "solver[0].init: must be one of cold, transfer, two-level, learned"),
    ('geometry = "H 0 0 0; H 0 0 {d}"\ndistances = [0.7]\nbasis = 3\n', "basis: expected str, got"),
    ('geometry = "H 0 0 0; H 0 0 {d}\n', "invalid TOML"),
])
def test_curve_config_errors_name_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                          message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    code, _, err = run_cli(["chem", "curve", str(cfg), "-o", str(tmp_path / "run")], capsys)
    assert code == 2
    assert message in err and "bad.toml" in err, err
    assert "Traceback" not in err


def test_energy_bad_active(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["chem", "energy", "H 0 0 0; H 0 0 0.74", "--active", "2"], capsys)
    assert code == 2 and "--active: expected N_ELECTRONS,N_ORBITALS" in err


def test_shipped_example_parses() -> None:
    from qtandem.chem.report import load_curve_config

    cfg = load_curve_config(EXAMPLES / "lih_curve.toml")
    assert cfg["active"] == [2, 5] and len(cfg["distances"]) >= 6 and max(cfg["distances"]) >= 3.0
    assert [s["init"] for s in cfg["solver"]] == ["transfer", "learned"]


def test_energy_json_against_pyscf(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyscf")
    import json

    code, out, _ = run_cli(["chem", "energy", "H 0 0 0; H 0 0 0.735", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["n_qubits"] == 4 and abs(data["references"]["fci"] - (-1.137306)) < 1e-5
    assert abs(data["error_vs_fci"]) < 1e-6 and data["cnot_count"] > 0
    code, out, _ = run_cli(["chem", "energy", "H 0 0 0; H 0 0 0.735"], capsys)
    assert code == 0 and "within chemical accuracy" in out and "FCI" in out


@pytest.mark.slow
def test_curve_writes_report_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyscf")
    import json

    cfg = tmp_path / "h2.toml"
    cfg.write_text('geometry = "H 0 0 0; H 0 0 {d}"\ndistances = [0.74, 1.6]\ncompile = false\n'
                   '[[solver]]\nlabel = "t"\ninit = "transfer"\n')
    run = tmp_path / "run"
    code, out, err = run_cli(["chem", "curve", str(cfg), "-o", str(run)], capsys)
    assert code == 0, err
    assert "t: 2 points" in out
    for name in ("report.html", "chem_energies.png", "chem_errors.png", "chem_cnots.png", "points-t.json",
                 "curve.json"):
        assert (run / name).exists(), name
    points = json.loads((run / "curve.json").read_text())["t"]["points"]
    assert all(abs(p["energy"] - p["references"]["fci"]) < 1e-6 for p in points)
    code, _, err = run_cli(["chem", "curve", str(cfg), "-o", str(run)], capsys)
    assert code == 2 and "--overwrite" in err
    code, out, _ = run_cli(["chem", "curve", str(cfg), "-o", str(run), "--resume", "--json"], capsys)
    assert code == 0 and json.loads(out)["summary"]["t"]["points"] == 2
