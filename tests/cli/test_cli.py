import json
import subprocess
import sys
from pathlib import Path

import pytest

from qtandem.cli.main import main

DATA = Path(__file__).resolve().parents[2] / "src" / "qtandem" / "data" / "qasm"


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_info_and_convert(tmp_path, capsys):
    code, out, _ = run_cli(["info", str(DATA / "ghz_5.qasm"), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["count_ops"] == {"h": 1, "cx": 4, "barrier": 1, "measure": 5}
    target = tmp_path / "out.qasm"
    code, _, _ = run_cli(["convert", str(DATA / "ghz_5.qasm"), "--to", "qasm3", "-o", str(target)], capsys)
    assert code == 0
    assert target.read_text().startswith("OPENQASM 3")
    code, out, _ = run_cli(["convert", str(target), "--to", "qasm2"], capsys)
    assert code == 0 and out.startswith("OPENQASM 2.0;")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: None, "file not found"),
        (lambda p: p.write_text("OPENQASM 2.0;\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n"), "bad.qasm:4:1"),
        (lambda p: p.write_text("OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[40];\nh q[0];\n"), "needs"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path, capsys, monkeypatch, setup, expected):
    monkeypatch.setenv("QTANDEM_MEMORY_LIMIT", str(2**30))
    path = tmp_path / "bad.qasm"
    setup(path)
    code, out, err = run_cli(["simulate", str(path)], capsys)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err + out


def test_bad_options_exit_2(capsys):
    code, _, err = run_cli(["simulate", str(DATA / "ghz_5.qasm"), "--dtype", "float16"], capsys)
    assert code == 2 and "complex64 or complex128" in err
    code, _, err = run_cli(["convert", str(DATA / "ghz_5.qasm"), "--to", "qasm4"], capsys)
    assert code == 2 and "qasm2 or qasm3" in err
    code, _, err = run_cli(["simulate", str(DATA / "ghz_5.qasm"), "--expval", "Q7"], capsys)
    assert code == 2 and "Traceback" not in err


def test_tour_quick_writes_report(tmp_path, capsys):
    code, out, _ = run_cli(["tour", "--quick", "-o", str(tmp_path / "t")], capsys)
    assert code == 0, out
    report = Path(out.strip().splitlines()[-1])
    html = report.read_text()
    assert report.name == "report.html"
    assert "Core: circuits" in html and "failed" not in html
    for png in ("core_histograms.png", "core_timing.png"):
        assert (report.parent / png).stat().st_size > 1000
        assert png in html


def test_device_show_writes_png(tmp_path, capsys):
    png = tmp_path / "dev.png"
    code, out, _ = run_cli(["device", "show", "heavy_hex_27", "--png", str(png)], capsys)
    assert code == 0
    assert "heavy_hex_27" in out and png.stat().st_size > 10000
    code, out, _ = run_cli(["device", "list"], capsys)
    assert "grid_4x4" in out.split()


# Runs in a fresh interpreter: every `qtandem ... --help` and some argument errors, then the
# heavy packages left in sys.modules; finally one command that runs something (a positive
# control: the same check sees torch once a command needs it).
_STARTUP_CHECK = r"""
import json, sys
import typer
from qtandem.cli import main as cli

HEAVY = ("torch", "numpy", "scipy", "stim", "sinter", "pymatching", "matplotlib", "sklearn", "networkx",
         "safetensors", "qiskit", "PIL", "pandas")

def heavy():
    return sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))

def run(args):
    try:
        cli.main(args)
    except SystemExit as exc:
        return exc.code
    return None

cli._register()
paths = []
def walk(cmd, path):
    paths.append(path)
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        walk(sub, [*path, name])
walk(typer.main.get_command(cli.app), [])
codes = {" ".join(["qtandem", *p, "--help"]): run([*p, "--help"]) for p in paths}
for bad in (["simulate"], ["simulate", "--no-such-option"], ["qec", "eval", "--shots", "many"], ["no-such-command"]):
    codes[" ".join(["qtandem", *bad])] = run(bad)
result = {"codes": codes, "heavy": heavy()}
result["info_code"] = run(["info", sys.argv[2]])
result["heavy_after_info"] = heavy()
with open(sys.argv[1], "w") as fh:
    json.dump(result, fh)
"""


def test_help_and_argument_errors_import_nothing_heavy(tmp_path):
    out = tmp_path / "startup.json"
    subprocess.run([sys.executable, "-c", _STARTUP_CHECK, str(out), str(DATA / "ghz_5.qasm")], check=True,
                   capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    codes = result["codes"]
    assert {"qtandem --help", "qtandem simulate --help", "qtandem qec eval --help",
            "qtandem compile train --help", "qtandem device --help"} <= set(codes)
    assert {k: v for k, v in codes.items() if k.endswith("--help") and v != 0} == {}
    assert {k: v for k, v in codes.items() if not k.endswith("--help") and v != 2} == {}
    assert result["heavy"] == [], f"--help / argument errors imported {result['heavy']}"
    assert result["info_code"] == 0 and "torch" in result["heavy_after_info"]  # the check does see imports


def test_import_qtandem_is_lazy():
    code = ("import sys, qtandem; lazy = 'torch' not in sys.modules; from qtandem import Circuit, statevector; "
            "print(lazy, 'torch' in sys.modules, sorted(set(qtandem.__all__) - set(dir(qtandem))))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "True", "[]"]


def test_version_and_short_help(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert (code, out) == (0, "qtandem 0.1.0\n")
    code, out, _ = run_cli(["simulate", "-h"], capsys)
    assert code == 0 and "Usage: qtandem simulate [OPTIONS] FILE" in out and "{file}" not in out
    assert "<bool>" not in out and "<int>" not in out


def test_internal_error_is_one_line_exit_1_and_debug_shows_it(capsys, monkeypatch):
    import qtandem

    def boom(*args, **kwargs):
        raise RuntimeError("deliberate\nfailure")

    monkeypatch.setattr(qtandem, "load", boom)
    code, out, err = run_cli(["info", str(DATA / "ghz_5.qasm")], capsys)
    assert code == 1 and out == ""
    assert err.startswith("qtandem: internal error: RuntimeError: deliberate failure\n")
    assert "please report" in err and "QTANDEM_DEBUG=1" in err and "Traceback" not in err
    monkeypatch.setenv("QTANDEM_DEBUG", "1")
    with pytest.raises(RuntimeError, match="deliberate"):
        main(["info", str(DATA / "ghz_5.qasm")])


def test_tour_refuses_unknown_section_and_existing_folder(tmp_path, capsys):
    target = tmp_path / "t"
    code, out, err = run_cli(["tour", "--only", "zzz", "-o", str(target)], capsys)
    assert code == 2 and out == ""
    assert "--only 'zzz' matches no section" in err and "'Core: circuits, OpenQASM and the simulator'" in err
    assert not target.exists()  # refused before anything is written
    target.mkdir()
    (target / "old.txt").write_text("x")
    code, _, err = run_cli(["tour", "--only", "Docs: nothing", "-o", str(target)], capsys)
    assert code == 2 and "matches no section" in err
    code, _, err = run_cli(["tour", "--only", "core", "--quick", "-o", str(target)], capsys)
    assert code == 2 and "pass --overwrite" in err and sorted(p.name for p in target.iterdir()) == ["old.txt"]


def test_optimize_json_and_output_folder_never_created(tmp_path, capsys):
    src = DATA / "toffoli_adder.qasm"
    missing = tmp_path / "no" / "such" / "o.qasm"
    code, out, err = run_cli(["optimize", str(src), "-o", str(missing), "--level", "1"], capsys)
    assert code == 2 and out == "" and f"folder {missing.parent} does not exist" in err
    assert not (tmp_path / "no").exists()
    dst = tmp_path / "o.qasm"
    code, out, _ = run_cli(["optimize", str(src), "-o", str(dst), "--level", "2", "--json", "--passes"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["output"] == str(dst) and data["initial"]["gates"] >= data["final"]["gates"] > 0
    assert data["passes"] and dst.read_text().startswith("OPENQASM 2.0;")


def test_compile_train_refuses_a_used_output_folder(tmp_path, capsys):
    cfg = tmp_path / "policy.toml"
    cfg.write_text("[data]\ncircuits = 4\nexpansions = 5\nchunk = 4\n[model]\nhidden = 8\nlayers = 1\n"
                   "[optim]\nepochs = 1\n")
    used = tmp_path / "run"
    used.mkdir()
    (used / "model.safetensors").write_text("old")
    code, out, err = run_cli(["compile", "train", str(cfg), "-o", str(used), "--no-progress"], capsys)
    assert code == 2 and out == "" and "exists and is not empty: pass --overwrite" in err
    assert (used / "model.safetensors").read_text() == "old"


@pytest.mark.parametrize("args", [
    ["simulate", str(DATA / "ghz_5.qasm"), "--shots", "3", "--seed", "-1"],
    ["optimize", str(DATA / "ghz_5.qasm"), "-o", "{tmp}/o.qasm", "--seed", "-1"],
    ["qec", "eval", "-D", "pymatching", "-d", "3", "-p", "0.01", "--shots", "10", "--seed", "-1", "-o", "{tmp}/e"],
    ["compile", "train", "{tmp}/seed.toml", "-o", "{tmp}/c", "--no-progress", "--max-epochs", "0"],
    ["tour", "--only", "core", "--quick", "--seed", "-1", "-o", "{tmp}/t"],
])
def test_negative_seed_is_refused_not_a_crash(tmp_path, capsys, args):
    """numpy's 'expected non-negative integer' was an internal error (exit 1) in each of these."""
    (tmp_path / "seed.toml").write_text("seed = -1\n[data]\ncircuits = 2\nexpansions = 3\nchunk = 2\n")
    code, _, err = run_cli([a.replace("{tmp}", str(tmp_path)) for a in args], capsys)
    assert code == 2 and "Traceback" not in err and "internal error" not in err, err
    assert "seed must be a non-negative integer, got -1" in err or "--seed must be >= 0, got -1" in err
