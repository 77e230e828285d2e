"""One CLI grammar (issue 13 section 5), checked over the whole click tree.

The tree is walked, so a new command is checked without editing this file: its usage line and
options must show metavariables, ``-h`` must work, an output destination must be ``-o/--output``,
a folder output needs ``--overwrite``, and a command that prints results takes ``--json``.
Behaviour (a missing output folder is never created, a used output folder is never replaced
silently) is checked on cheap invocations listed per command.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qtandem.cli.main import command, main

DATA = Path(__file__).resolve().parents[2] / "src" / "qtandem" / "data" / "qasm"
QASM = str(DATA / "ghz_5.qasm")


def _leaves(cmd=None, path=()):
    cmd = command() if cmd is None else cmd
    subs = getattr(cmd, "commands", None)
    if not subs:
        return [(" ".join(path), cmd)]
    return [leaf for name, sub in sorted(subs.items()) for leaf in _leaves(sub, (*path, name))]


def _groups(cmd=None, path=()):
    cmd = command() if cmd is None else cmd
    subs = getattr(cmd, "commands", None)
    if not subs:
        return []
    return [" ".join(path), *(g for name, sub in sorted(subs.items()) for g in _groups(sub, (*path, name)))]


LEAVES = dict(_leaves())
ALL = ["", *_groups()[1:], *LEAVES]

NO_JSON = {
    "noise template": "prints a JSON document already",
    "draw": "prints a drawing, not results",
}
"""Commands that print no results to give as JSON (with the reason)."""

# Commands not yet compliant, as xfail(strict=True) so a fix is noticed: {(check, command): reason}.
PENDING: dict[tuple[str, str], str] = {}


def _opts(cmd):
    return {o for p in cmd.params if p.param_type_name == "option" for o in [*p.opts, *p.secondary_opts]}


def _visible_options(cmd):
    return [p for p in cmd.params if p.param_type_name == "option" and not p.hidden]


def _param(check: str, names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=PENDING[(check, n)]))
            if (check, n) in PENDING else n for n in names]


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


TYPE_NOISE = re.compile(r"<(bool|int|str|float|path|file|dir|list\[\w+\])>")


@pytest.mark.parametrize("name", ALL)
def test_h_shows_usage_with_metavariables(name, capsys):
    path = name.split() if name else []
    code, out, err = run_cli([*path, "-h"], capsys)
    assert code == 0, err
    usage = next(ln for ln in out.splitlines() if "Usage:" in ln)
    assert f"Usage: {' '.join(['qtandem', *path])} " in usage
    assert "{" not in usage and "<" not in usage, usage
    assert not TYPE_NOISE.search(out), f"type noise in `qtandem {name} -h`: {TYPE_NOISE.search(out)}"
    code, out2, _ = run_cli([*path, "--help"], capsys)
    assert code == 0 and out2 == out


@pytest.mark.parametrize("name", list(LEAVES))
def test_parameters_have_metavariables(name):
    cmd = LEAVES[name]
    for p in cmd.params:
        if getattr(p, "hidden", False):
            continue
        if p.param_type_name == "argument":
            assert p.metavar and p.metavar == p.metavar.upper(), (name, p.name, p.metavar)
        elif p.is_flag or p.count:
            assert not p.metavar, (name, p.opts, p.metavar)
        else:
            word = p.metavar.split(".")[0] if p.metavar else ""  # FILE.stim names the file type
            assert word and (word == word.upper() or word.startswith("[")), (name, p.opts, p.metavar)


OUTPUT_LIKE = re.compile(r"^--(out|png|output[-_].*|.*[-_]dir|dir|folder|save|save[-_].*|write)$")


@pytest.mark.parametrize("name", _param("output", list(LEAVES)))
def test_one_output_flag(name):
    """An output destination is ``-o/--output``; a folder output comes with ``--overwrite``."""
    cmd = LEAVES[name]
    stray = sorted(o for p in _visible_options(cmd) for o in p.opts if OUTPUT_LIKE.match(o))
    assert not stray, f"`qtandem {name}` names an output {stray}: use -o/--output"
    args = [p for p in cmd.params if p.param_type_name == "argument" and p.name in ("output", "out", "dir")]
    assert not args, f"`qtandem {name}` takes its output as an argument: use -o/--output"
    opts = _opts(cmd)
    if "--output" in opts:
        assert "-o" in opts, f"`qtandem {name}`: --output without -o"
        out = next(p for p in cmd.params if "--output" in p.opts)
        assert out.metavar in ("FILE", "DIR"), f"`qtandem {name}` -o metavar {out.metavar!r}: FILE or DIR"
        if out.metavar == "DIR":
            assert "--overwrite" in opts, f"`qtandem {name}` writes a folder but has no --overwrite"


@pytest.mark.parametrize("name", _param("json", [n for n in LEAVES if n not in NO_JSON]))
def test_json_flag(name):
    assert "--json" in _opts(LEAVES[name]), f"`qtandem {name}` prints results but has no --json"


def _tiny_train(tmp: Path) -> list[str]:
    cfg = tmp / "tiny.toml"
    cfg.write_text('seed = 1\n[data]\nname = "moons"\nn_samples = 60\n[model]\npre = "none"\nlayers = 1\n'
                   "[optim]\nbatch_size = 15\nepochs = 1\n")
    return [str(cfg), "--max-steps", "1", "--no-progress"]


def _tiny_policy(tmp: Path) -> list[str]:
    cfg = tmp / "policy.toml"
    cfg.write_text("[data]\ncircuits = 4\nexpansions = 5\nchunk = 4\n[model]\nhidden = 8\nlayers = 1\n"
                   "[optim]\nepochs = 1\n")
    return [str(cfg), "--max-epochs", "0", "--no-progress"]


def _tiny_qec(tmp: Path) -> list[str]:
    cfg = tmp / "qec.toml"
    cfg.write_text("[data]\ndistance = 3\nval_shots = 100\n[model]\nhidden = 8\nlayers = 1\nheads = 2\nreadout = 8\n"
                   "[optim]\nsteps = 1\nbatch_size = 8\nwarmup = 0\n")
    return [str(cfg), "--no-progress"]


# Cheap, valid invocations (without the output option) of the commands that write, to check the
# output rules by running them. A new command that writes belongs here.
WRITERS = {
    "convert": ("FILE", lambda tmp: [QASM, "--to", "qasm2"]),
    "optimize": ("FILE", lambda tmp: [QASM, "--level", "1"]),
    "simulate": ("FILE", lambda tmp: [QASM]),
    "device show": ("FILE", lambda tmp: ["line_5"]),
    "draw": ("FILE", lambda tmp: [QASM]),
    "noise template": ("FILE", lambda tmp: []),
    "train": ("DIR", _tiny_train),
    "compile train": ("DIR", _tiny_policy),
    "qec train": ("DIR", _tiny_qec),
    "qec eval": ("DIR", lambda tmp: ["-D", "pymatching", "-d", "3", "-p", "0.001", "--shots", "50"]),
    "qec flag": ("DIR", lambda tmp: ["-d", "3", "-p", "0.001", "--shots", "50"]),
    "tour": ("DIR", lambda tmp: ["--only", "core", "--quick"]),
    "learn plan": ("FILE", lambda tmp: ["--qubits", "0", "--experiments", "readout"]),
    "learn run": ("DIR", lambda tmp: [_learn_plan(tmp), "--device", "line_5", "--shots", "10"]),
}


def _learn_plan(tmp: Path) -> str:
    from qtandem.learn.plan import characterization

    path = tmp / "plan.json"
    characterization([0], experiments=["readout"]).save(path)
    return str(path)


def _check_output_option(name: str) -> str:
    cmd = LEAVES[name]
    opts = _opts(cmd)
    assert {"-o", "--output"} <= opts, f"`qtandem {name}` writes but has no -o/--output"
    kind, _ = WRITERS[name]
    assert next(p for p in cmd.params if "--output" in p.opts).metavar == kind
    return kind


@pytest.mark.parametrize("name", _param("no-tree", [n for n in WRITERS if n in LEAVES]))
def test_output_folder_tree_is_never_created(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if WRITERS[name][0] == "DIR":
        pytest.skip(f"`qtandem {name}` writes a folder: a new run folder is created with its parents")
    _check_output_option(name)
    target = tmp_path / "no" / "such" / "x.out"
    code, _, err = run_cli([*name.split(), *WRITERS[name][1](tmp_path), "-o", str(target)], capsys)
    assert code == 2 and "does not exist" in err, err
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("name", _param("overwrite", [n for n in WRITERS if n in LEAVES]))
def test_used_output_folder_needs_overwrite(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if WRITERS[name][0] != "DIR":
        pytest.skip(f"`qtandem {name}` writes a file")
    _check_output_option(name)
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    code, _, err = run_cli([*name.split(), *WRITERS[name][1](tmp_path), "-o", str(used)], capsys)
    assert code == 2 and "pass --overwrite" in err, (code, err)
    assert sorted(p.name for p in used.iterdir()) == ["keep.txt"]
