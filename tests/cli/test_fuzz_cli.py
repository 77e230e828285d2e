"""Hypothesis fuzzing of every ``qtandem`` command (issue 13 section 1).

The click tree is walked, so a new command is fuzzed without editing this file. Each example
builds an argument list from the command's own parameters: valid and invalid values, missing and
extra arguments, and input files that are valid, mutated or garbage (OpenQASM, JSON, TOML,
``.stim``, ``.b8``, binary, empty, huge numbers). Whatever the input, the command must exit with
status 0 or 2, print no traceback and finish in time. Commands run in-process
(:func:`qtandem.cli.main.main`), in a fresh temporary folder; values are chosen to keep each run
cheap (tiny shot counts and sizes).

The default suite runs a derandomized, small number of examples per command; the ``slow`` variant
runs many more (``pytest -m slow tests/cli/test_fuzz_cli.py``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtandem.cli.main import command, main
from qtandem.device import Device

TIME_LIMIT_S = 90.0
"""Wall time one command may take (generous: two shared cores, the first torch import)."""

DEFAULT_EXAMPLES = 10
SLOW_EXAMPLES = 150


def _leaves(cmd, path=()):
    subs = getattr(cmd, "commands", None)
    if not subs:
        return [(" ".join(path), cmd)]
    return [leaf for name, sub in sorted(subs.items()) for leaf in _leaves(sub, (*path, name))]


COMMANDS = dict(_leaves(command()))


# --- input files ----------------------------------------------------------------------------

QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0], q[1];
rz(pi/4) q[2];
ccx q[0], q[1], q[2];
measure q -> c;
"""

QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[2] q;
bit[2] c;
reset q[0];
h q[0];
rx(theta) q[1];
c[0] = measure q[0];
if (c[0] == 1) { x q[1]; }
c[1] = measure q[1];
"""

QASM_TOKENS = ["qreg", "creg", "qubit[", "bit[", "q[0]", "q[1]", "q[99999999999999999999]", "qreg r[100000];",
               "qubit[1100] big;", "measure", "reset", "if (c == 1)", "for int i in [0:3]", "while (true)", "gate",
               "ħ", "π", "1e308", "1e400", "pi/0", "0/0", "-", ";", "{", "}", "(", ")", "[", "]", ",", "->",
               "OPENQASM 3;", "OPENQASM 2.0;", "include \"nope.inc\";", "input float x;", "barrier", "u3(", "cx",
               "cx q[0], q[0];", "U(0,0,0) q[0];", "ctrl @", "inv @", "pow(0.5) @", "def f(qubit a) { h a; }",
               "switch (c) { case 0 { } }", "let a = q[0:1];", "$0", "extern", "defcal", "box", "delay[10ns]",
               "\n", " ", "//", "/*", "\"", "\x00", "\t"]

NOISE_JSON = ('{"schema": "qtandem.noise_model", "version": 1, "errors": [{"channel": {"kind": "depolarizing", '
              '"p": 0.01, "num_qubits": 1}, "gates": ["h"]}]}')

JSON_TOKENS = ['"p": "high"', '"hadamard"', '"durations": {}', '"schema": "qtandem.device"', '"version": 99', "null",
               "1e999", "-1", "[]", "{}", '"errors": 5', "true", '"kind": "nope"', ",", "}", "{", '"', "NaN"]

TINY_TRAIN = """seed = 1
[data]
name = "moons"
n_samples = 40
[model]
pre = "none"
layers = 1
[optim]
batch_size = 20
epochs = 1
"""

TINY_QEC = """[data]
distance = 3
val_shots = 50
[model]
hidden = 8
layers = 1
heads = 2
readout = 8
[optim]
steps = 1
batch_size = 8
warmup = 0
"""

TINY_POLICY = """[data]
circuits = 2
expansions = 3
chunk = 2
[model]
hidden = 4
layers = 1
[optim]
epochs = 1
"""

TOML_TOKENS = ["epochs = 100000000000000000000", "n_samples = -1", "distance = 2", "layers = \"three\"", "[[", "]",
               "= ", "x = 1", "[zzz]", "name = \"nope\"", "steps = 0", "batch_size = 0", "lr = nan", "\"", "\n",
               "seed = 1e400", "output = \"/no/such\"", "circuits = 0"]

CONFIGS = {"train": [TINY_TRAIN], "qec train": [TINY_QEC], "compile train": [TINY_POLICY]}
"""Each training command's tiny valid configuration (mutated by the fuzzer)."""

STIM = """H 0
CNOT 0 1
X_ERROR(0.1) 0 1
M 0 1
DETECTOR rec[-1] rec[-2]
OBSERVABLE_INCLUDE(0) rec[-1]
"""

STIM_TOKENS = ["DETECTOR", "rec[-99]", "M", "H 999999999", "X_ERROR(2)", "REPEAT 1000000000 {", "}", "\n",
               "OBSERVABLE_INCLUDE(-1)", "QUBIT_COORDS(", "#", "DEPOLARIZE2(0.1) 0 0"]

DEVICE_JSON = Device.preset("line_5").to_json()

SEEDS = {".qasm": [QASM2, QASM3], ".json": [NOISE_JSON, DEVICE_JSON, "{}", "[]"],
         ".toml": [TINY_TRAIN, TINY_QEC, TINY_POLICY], ".stim": [STIM]}
TOKENS = {".qasm": QASM_TOKENS, ".json": JSON_TOKENS, ".toml": TOML_TOKENS, ".stim": STIM_TOKENS}
EXTENSIONS = [".qasm", ".json", ".toml", ".stim", ".b8", ".01", ".txt", ""]


@dataclass(frozen=True)
class FileArg:
    """A file to create in the example's folder; its path becomes the argument."""

    ext: str
    content: bytes


@dataclass(frozen=True)
class PlaceArg:
    """A path that is not a new file: ``missing``, ``dir`` (an existing non-empty folder), ``new``."""

    kind: str
    ext: str = ".out"


def _mutate(text: str, tokens: list[str]) -> st.SearchStrategy[str]:
    def apply(edits: list[tuple[int, int, str]]) -> str:
        out = text
        for pos, cut, tok in edits:
            i = pos % (len(out) + 1)
            out = out[:i] + tok + out[i + cut:]
        return out

    edit = st.tuples(st.integers(0, 10_000), st.integers(0, 8), st.sampled_from(tokens))
    return st.lists(edit, min_size=1, max_size=4).map(apply)


def _weighted(*pairs: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """``one_of`` with integer weights (the first branch is what failures shrink towards)."""
    branches = [strat for weight, strat in pairs for _ in range(weight)]
    return st.one_of(*branches)


GARBAGE = st.one_of(st.binary(max_size=64), st.just(b""),
                    st.text(max_size=64).map(lambda s: s.encode("utf-8", "surrogatepass")),
                    st.sampled_from(["9" * 40, "-1", "1e308", "nan"]).map(str.encode))


def _content(ext: str, seeds: list[str] | None = None) -> st.SearchStrategy[bytes]:
    seeds = seeds or SEEDS.get(ext, [])
    if not seeds:
        return GARBAGE
    tokens = TOKENS[ext]
    return _weighted((3, st.sampled_from(seeds).map(str.encode)),
                     (3, st.sampled_from(seeds).flatmap(lambda seed: _mutate(seed, tokens))
                      .map(lambda s: s.encode("utf-8", "surrogatepass"))),
                     (1, GARBAGE))


@st.composite
def file_args(draw: st.DrawFn, prefer: str = ".qasm", seeds: list[str] | None = None) -> FileArg:
    ext = draw(_weighted((10, st.just(prefer)), (1, st.sampled_from(EXTENSIONS))))
    content_ext = draw(_weighted((8, st.just(ext)), (1, st.sampled_from(list(SEEDS)))))
    return FileArg(ext, draw(_content(content_ext, seeds if content_ext == prefer else None)))


def _paths(prefer: str = ".qasm", seeds: list[str] | None = None) -> st.SearchStrategy:
    return _weighted((8, file_args(prefer, seeds)),
                     (1, st.sampled_from([PlaceArg("missing"), PlaceArg("dir"), PlaceArg("new")])))


WORDS = ["pymatching", "pymatching-correlated", "bposd", "pretrained:surface-d3-p0.005", "pretrained:zzz", "surface",
         "repetition", "color", "Z", "X", "uniform", "si1000", "line_5", "heavy_hex_27", "grid_4x4", "density",
         "trajectories", "auto", "qasm2", "qasm3", "gates", "cx", "t", "depth", "fidelity", "nam", "clifford_t", "ibm",
         "complex64", "complex128", "Z0 Z1", "0.5*X2 + Z0", "Z99", "theta=0.1", "theta", "w=[0.1,0.2]", "x=nan",
         "core", "Core: circuits", "zzz", "", " ", "-", "--", "-1", "0", "1", "nan", "inf", "1e999", "[", "ħ"]
ARG_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
INTS = _weighted((4, st.sampled_from(["1", "2", "3", "0"])), (1, st.just("-1")),
                 (1, st.sampled_from(["-1", "9223372036854775808", "-" + "9" * 30, "x", "", "1.5"])),
                 (1, st.integers(-5, 40).map(str)))
FLOATS = _weighted((5, st.sampled_from(["0.01", "0.001", "0.1", "0.5", "1", "0"])),
                   (2, st.sampled_from(["-0.1", "1.5", "nan", "inf", "-inf", "1e308", "1e-320", "abc", ""])))
TEXTS = _weighted((6, st.sampled_from(WORDS)), (2, _paths(".json")), (1, ARG_TEXT))

# Cheap values for options the example does not set (a default that is expensive to run).
CHEAP = {
    "qec eval": {"--shots": "16", "--distance": "3", "--p": "0.01", "--decoder": "pymatching"},
    "qec flag": {"--shots": "16", "--distance": "3"},
    "optimize": {"--expansions": "8"},
    "tour": {"--quick": None, "--only": "zzz"},
    "train": {"--max-steps": "2", "--no-progress": None},
    "qec train": {"--max-steps": "1", "--no-progress": None},
    "compile train": {"--max-epochs": "1", "--no-progress": None},
}


def _prefer(help_text: str, default: str = ".json") -> str:
    """The file type a parameter's help mentions."""
    low = help_text.lower()
    for word, ext in (("stim", ".stim"), ("b8", ".b8"), ("qasm", ".qasm"), ("toml", ".toml"), ("json", ".json")):
        if word in low:
            return ext
    return default


def _value(param) -> st.SearchStrategy:
    kind = str(param.display_type(None)).strip("<>")
    help_text = param.help or ""
    if "--output" in param.opts or param.metavar == "DIR":
        low = help_text.lower()
        ext = "" if param.metavar == "DIR" else ".png" if "png" in low else ".qasm" if "qasm" in low else ".out"
        return _weighted((6, st.just(PlaceArg("new", ext))),
                         (1, st.sampled_from([PlaceArg("missing", ext), PlaceArg("dir")])), (1, file_args(".qasm")))
    if param.metavar in ("FILE", "DIR") or kind == "path":
        return _weighted((6, _paths(_prefer(help_text))), (1, ARG_TEXT))
    if "int" in kind:
        return INTS
    if "float" in kind:
        return FLOATS
    # The values an option's help names ("complex64 or complex128") and its default, mostly.
    named = sorted({w.strip(".,;:()'\"") for w in re.split(r"[\s,]+", help_text)} - {"", "or", "and", "e.g."})
    default = param.default if isinstance(param.default, str) else None
    named += [default] if default else []
    return _weighted((5, st.sampled_from(named or WORDS)), (2, TEXTS))


def _clean_file(prefer: str, seeds: list[str] | None) -> st.SearchStrategy[FileArg]:
    """A valid input file (a shipped seed), for examples that should get past argument checks."""
    choices = seeds or SEEDS.get(prefer) or [""]
    return st.sampled_from(choices).map(lambda text: FileArg(prefer, text.encode()))


def _clean_value(param) -> st.SearchStrategy:
    kind = str(param.display_type(None)).strip("<>")
    help_text = param.help or ""
    if "--output" in param.opts or param.metavar in ("FILE", "DIR") or kind == "path":
        return _value(param) if "--output" in param.opts or param.metavar == "DIR" else _clean_file(
            _prefer(help_text), None)
    if "int" in kind:
        return st.sampled_from(["1", "2", "3"])
    if "float" in kind:
        return st.sampled_from(["0.01", "0.001", "0.1"])
    if "=" in help_text:
        return st.just("theta=0.1")  # name=value bindings (the QASM 3 seed's input)
    named = sorted({w.strip(".,;:()'\"") for w in re.split(r"[\s,]+", help_text)} & set(WORDS) - {"", "-", "--"})
    default = param.default if isinstance(param.default, str) and param.default else None
    return st.sampled_from(([default] if default else []) + named or list(WORDS[:20]))


@st.composite
def argv(draw: st.DrawFn, name: str) -> list:
    cmd = COMMANDS[name]
    args = []
    opts: dict[str, list] = {}
    clean = draw(st.integers(0, 2)) > 0  # valid files and values: runs get past the argument checks
    density = draw(st.integers(0, 2 if clean else 4))  # how many of the optional options (in tenths) it sets
    odd = draw(st.integers(0, len(cmd.params)))  # in a clean example, this parameter gets any value
    for i, p in enumerate(cmd.params):
        clean_here = clean and i != odd
        if p.param_type_name == "argument":
            prefer = {"config": ".toml", "name": ".json"}.get(p.name or "") or _prefer(p.help or "", ".qasm")
            if clean_here:
                presets = st.sampled_from(["line_5", "ring_8", "grid_4x4"])
                args.append(draw(presets if p.name == "name" else _clean_file(prefer, CONFIGS.get(name))))
                continue
            if draw(st.integers(0, 11)) == 11:
                continue  # a missing argument
            words = st.sampled_from(WORDS) if p.name == "name" else ARG_TEXT
            args.append(draw(_weighted((6, _paths(prefer, CONFIGS.get(name))), (1, words))))
            continue
        if p.required:
            keep = clean_here or draw(st.integers(0, 11)) != 11
        else:
            keep = i == odd or draw(st.integers(0, 9)) < density
        if not keep:
            continue  # most options keep their default; a required one is left out now and then
        flag = draw(st.sampled_from([*p.opts, *p.secondary_opts]))
        if p.is_flag or p.count:
            opts[p.opts[0]] = [flag]
            continue
        repeats = draw(st.integers(1, 2)) if p.multiple else 1
        value = _clean_value(p) if clean_here else _value(p)
        opts[p.opts[0]] = [tok for _ in range(repeats) for tok in (flag, draw(value))]
    for opt, value in CHEAP.get(name, {}).items():
        param = next((q for q in cmd.params if opt in [*q.opts, *q.secondary_opts]), None)
        if param is not None and param.opts[0] not in opts:
            opts[param.opts[0]] = [opt] if value is None else [opt, value]
    tokens = [t for group in opts.values() for t in group]
    extra = draw(st.lists(st.one_of(st.sampled_from(["--zzz", "-q", "extra", "--json", "--", "-"]), ARG_TEXT),
                          min_size=1, max_size=2)) if not clean and draw(st.integers(0, 7)) == 7 else []
    order = draw(st.sampled_from(["args-first", "opts-first"]))
    return [*args, *tokens, *extra] if order == "args-first" else [*tokens, *args, *extra]


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` in a command swallows it."""


def _materialize(tokens: list, folder: Path) -> list[str]:
    out = []
    for i, tok in enumerate(tokens):
        if isinstance(tok, FileArg):
            path = folder / f"in{i}{tok.ext}"
            path.write_bytes(tok.content)
            out.append(str(path))
        elif isinstance(tok, PlaceArg):
            if tok.kind == "dir":
                path = folder / f"dir{i}"
                path.mkdir(exist_ok=True)
                (path / "x.txt").write_text("x")
            else:
                path = folder / ("no" if tok.kind == "missing" else "") / f"new{i}{tok.ext}"
            out.append(str(path))
        else:
            out.append(tok)
    return out


def run_one(name: str, tokens: list) -> tuple[int | str, str, str, float]:
    """Run ``qtandem NAME TOKENS...`` in a fresh folder; returns (exit code, stdout, stderr, seconds)."""
    old_cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        args = [*name.split(), *_materialize(tokens, folder)]
        out, err = io.StringIO(), io.StringIO()
        env = {"QTANDEM_MEMORY_LIMIT": str(2**28), "QTANDEM_DEBUG": ""}
        saved = {k: os.environ.get(k) for k in env}

        def alarm(signum, frame):
            raise _Timeout(f"qtandem {' '.join(args)} ran past {TIME_LIMIT_S} s")

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S * 2)
        t0 = time.perf_counter()
        code: int | str = "returned"
        try:
            os.chdir(folder)
            os.environ.update(env)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                old_stdin, sys.stdin = sys.stdin, io.StringIO("")
                try:
                    main(args)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else str(exc.code)
                finally:
                    sys.stdin = old_stdin
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            os.chdir(old_cwd)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return code, out.getvalue(), err.getvalue(), time.perf_counter() - t0


def check(name: str, tokens: list) -> None:
    code, out, err, seconds = run_one(name, tokens)
    shown = f"qtandem {name} {tokens!r}\nexit {code}\nstderr: {err[-3000:]}"
    assert "Traceback" not in err + out, shown
    assert code in (0, 2), shown
    assert seconds < TIME_LIMIT_S, f"{shown}\ntook {seconds:.1f} s"


_SETTINGS = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck), "print_blob": True}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_fuzz_command(name):
    @settings(max_examples=DEFAULT_EXAMPLES, derandomize=True, **_SETTINGS)
    @given(tokens=argv(name))
    def inner(tokens):
        check(name, tokens)

    inner()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_fuzz_command_many(name):
    @settings(max_examples=SLOW_EXAMPLES, **_SETTINGS)
    @given(tokens=argv(name))
    def inner(tokens):
        check(name, tokens)

    inner()
