"""The README's examples run verbatim, on files shipped in the repository.

* Every ``qtandem ...`` line of a ```bash / ```console block names only input files that
  exist in the repository (``examples/`` or ``src/qtandem/``), never a file the reader
  does not have.
* Every such line, and every complete ``qtandem ...`` command in the prose, parses: the
  full click command tree checks its options, choices and argument types (the command
  itself is replaced by a no-op, so nothing runs).
* The cheap ones run in-process (``qtandem.cli.main.main``) in a temporary folder holding
  copies of their input files, so outputs land there; they must exit 0 and write the
  outputs they name. Longer ones (decoder evaluation, optimisation) run in the slow
  variant (``pytest -m slow``); training runs and the tour are only parsed.
* The ```python blocks are doctests (pytest runs README.md with ``--doctest-glob``); a
  block that is not one runs in a subprocess in the slow variant.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL_LANGS = {"bash", "console", "sh", "shell"}
OUTPUT_OPTIONS = {"-o", "--output", "--png", "--out"}
NEVER_RUN = {"tour", "train", "qec train", "compile train"}  # minutes to hours: parsed only
SLOW = {"qec eval", "optimize", "chem curve", "chem energy", "sweep run"}  # tens of seconds on the shared 2 cores
SHIPPED = ("examples/", "src/qtandem/")


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """``(language, first line number, lines)`` of every fenced block of ``text``."""
    blocks: list[tuple[str, int, list[str]]] = []
    lang, start, body = None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            if lang is None:
                lang, start, body = line.strip()[3:].strip() or "text", number + 1, []
            else:
                blocks.append((lang, start, body))
                lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def shell_commands(text: str) -> list[tuple[int, list[str]]]:
    """``(line number, argv after 'qtandem')`` of every ``qtandem ...`` line in a shell block."""
    out = []
    for lang, start, body in fenced_blocks(text):
        if lang not in SHELL_LANGS:
            continue
        pending, first = "", 0
        for offset, raw in enumerate(body):
            line = raw.strip()
            line = line[2:] if line.startswith("$ ") else line
            if not pending:
                first = start + offset
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line, pending = pending + line, ""
            words = shlex.split(line, comments=True)
            if words and words[0] == "qtandem":
                out.append((first, words[1:]))
    return out


def _groups() -> set[str]:
    """Names of the command groups (``qec``, ``device``...), from the click tree."""
    import typer.main

    from qtandem.cli import main as cli_main

    cli_main._register()
    return {name for name, cmd in typer.main.get_command(cli_main.app).commands.items() if hasattr(cmd, "commands")}


GROUPS = _groups()


def command_name(argv: list[str]) -> str:
    return " ".join(argv[:2]) if argv and argv[0] in GROUPS else (argv[0] if argv else "")


def files_of(argv: list[str]) -> tuple[list[str], list[str]]:
    """``(inputs, outputs)``: path-like words, outputs being the values of ``-o``/``--png``."""
    inputs, outputs = [], []
    for i, word in enumerate(argv):
        if word.startswith("-"):
            continue
        after_output = i > 0 and argv[i - 1] in OUTPUT_OPTIONS
        looks_like_path = "/" in word or Path(word).suffix in (".qasm", ".toml", ".json", ".stim", ".b8", ".png")
        if after_output:
            outputs.append(word)
        elif looks_like_path:
            inputs.append(word)
    return inputs, outputs


def inline_commands(text: str) -> list[tuple[int, list[str]]]:
    """``(line number, argv)`` of complete ``qtandem ...`` commands in inline code spans of the prose.

    Spans that only name a command (`qtandem tour`) or hold placeholders (``<name>``, ``FILE``) are skipped.
    """
    out = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            continue
        for span in re.findall(r"`(qtandem [^`]+)`", line):
            words = shlex.split(span)[1:]
            rest = words[2:] if words and words[0] in GROUPS else words[1:]
            if rest and not any("<" in w or w.isupper() or w in ("-h", "--help") for w in words):
                out.append((number, words))
    return out


COMMANDS = shell_commands(README.read_text(encoding="utf-8"))
PROSE_COMMANDS = inline_commands(README.read_text(encoding="utf-8"))


def _id(item: tuple[int, list[str]]) -> str:
    return f"README.md:{item[0]}:{command_name(item[1])}"


def test_the_readme_has_commands_to_check():
    names = {command_name(argv) for _, argv in COMMANDS}
    assert {"simulate", "convert", "info", "optimize", "qec eval"} <= names, names


def test_the_extraction_reads_blocks_continuations_and_comments():
    text = ("text `qtandem not-a-block`\n```bash\nqtandem simulate a/b.qasm \\\n  --shots 10  # comment\nmake x\n```\n"
            "```console\n$ qtandem info x.qasm -o out/y.json\n```\n```python\n>>> 1\n1\n```\n")
    assert shell_commands(text) == [(3, ["simulate", "a/b.qasm", "--shots", "10"]),
                                    (8, ["info", "x.qasm", "-o", "out/y.json"])]
    assert files_of(["info", "x.qasm", "-o", "out/y.json"]) == (["x.qasm"], ["out/y.json"])
    assert [(lang, start) for lang, start, _ in fenced_blocks(text)] == [("bash", 3), ("console", 8), ("python", 11)]
    prose = "run `qtandem tour` or `qtandem info FILE` or `qtandem qec train x/<name>.toml`\n" \
            "or `qtandem convert a.qasm -o b.qasm` and `qtandem qec eval -d 3`\n```bash\n`qtandem info x`\n```\n"
    assert inline_commands(prose) == [(2, ["convert", "a.qasm", "-o", "b.qasm"]), (2, ["qec", "eval", "-d", "3"])]


@pytest.mark.parametrize("item", COMMANDS + PROSE_COMMANDS, ids=_id)
def test_readme_command_uses_files_shipped_in_the_repo(item):
    line, argv = item
    inputs, _ = files_of(argv)
    for path in inputs:
        assert path.startswith(SHIPPED) and (ROOT / path).is_file(), (
            f"README.md:{line}: `qtandem {shlex.join(argv)}` reads {path}, which is not a file shipped in the "
            f"repository ({' or '.join(SHIPPED)}); use one of examples/ or add it there")


def parse_error(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Why ``qtandem argv`` does not parse (``None`` if it does); the command itself is replaced by a no-op."""
    import typer.main

    from qtandem.cli import main as cli_main

    cli_main._register()
    root = typer.main.get_command(cli_main.app)
    command = root
    for word in argv:  # down the tree to the command itself (typer's click is vendored: no isinstance)
        if not hasattr(command, "commands"):
            break
        if word not in command.commands:
            return f"unknown command {word!r}"
        command = command.commands[word]
    if hasattr(command, "commands"):
        return "names a group, not a command"
    ran = []
    monkeypatch.setattr(command, "callback", lambda **kwargs: ran.append(kwargs))
    try:
        root.main(args=list(argv), prog_name="qtandem", standalone_mode=False)
    except Exception as err:  # click's UsageError / BadParameter (from typer's vendored click)
        if not hasattr(err, "format_message"):
            raise
        return str(err.format_message())
    assert len(ran) == 1, "the command itself must not run"
    return None


def test_the_parse_check_can_fail(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert parse_error(["simulate", "examples/qasm/ghz.qasm", "--shots", "10"], monkeypatch) is None
    assert "No such option" in (parse_error(["simulate", "examples/qasm/ghz.qasm", "--shotz", "10"], monkeypatch)
                                or "")
    bad_type = parse_error(["simulate", "examples/qasm/ghz.qasm", "--shots", "many"], monkeypatch)
    assert "Invalid value for '--shots'" in (bad_type or "")
    assert parse_error(["qec", "evaluate"], monkeypatch) == "unknown command 'evaluate'"


@pytest.mark.parametrize("item", COMMANDS + PROSE_COMMANDS, ids=_id)
def test_readme_command_parses(item, monkeypatch):
    """Options, choices and argument types are valid for the command as it is now."""
    line, argv = item
    monkeypatch.chdir(ROOT)  # input paths are relative to the repository root
    error = parse_error(argv, monkeypatch)
    assert error is None, f"README.md:{line}: `qtandem {shlex.join(argv)}` does not parse: {error}"


def _run_params():
    params = []
    for item in COMMANDS:
        name = command_name(item[1])
        if name in NEVER_RUN:
            continue
        marks = [pytest.mark.slow] if name in SLOW else []
        params.append(pytest.param(item, id=_id(item), marks=marks))
    return params


@pytest.mark.parametrize("item", _run_params())
def test_readme_command_runs(item, tmp_path, monkeypatch, capsys):
    from qtandem.cli.main import main

    line, argv = item
    inputs, outputs = files_of(argv)
    for path in inputs:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    monkeypatch.chdir(tmp_path)
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    assert code == 0, f"README.md:{line}: `qtandem {shlex.join(argv)}` exited {code}:\n{captured.err[-2000:]}"
    for path in outputs:
        assert (tmp_path / path).exists(), f"README.md:{line}: `qtandem {shlex.join(argv)}` did not write {path}"


def python_blocks() -> list[tuple[int, str]]:
    return [(start, "\n".join(body)) for lang, start, body in fenced_blocks(README.read_text(encoding="utf-8"))
            if lang in ("python", "py", "pycon")]


def test_readme_python_blocks_are_doctests_that_pytest_collects():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "README.md" in config["testpaths"] and "--doctest-glob=README.md" in config["addopts"]
    doctests = [start for start, body in python_blocks() if body.lstrip().startswith(">>>")]
    assert len(doctests) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in python_blocks() if not b[1].lstrip().startswith(">>>")],
                         ids=lambda b: f"README.md:{b[0]}")
def test_readme_python_blocks_that_are_not_doctests_run(block, tmp_path):
    start, body = block
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    done = subprocess.run([sys.executable, "-c", body], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"README.md:{start}: the python block fails:\n{done.stderr[-2000:]}"
