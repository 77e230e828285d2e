"""``qtandem convert FILE [--to qasm2|qasm3] [-o FILE] [--param NAME=VALUE ...] [--inline] [--json]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputFile
from qtandem.cli.main import fail, friendly


def parse_param(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` -> ``(name, value)``; VALUE is a constant expression (``0.5``, ``pi/4``) or a list ``[..]``.

    Examples:
        >>> parse_param("theta=pi/2")
        ('theta', 1.5707963267948966)
        >>> parse_param("w=[0.1, -2]")
        ('w', [0.1, -2.0])
    """
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name.isidentifier() or not value:
        fail(f"--param {text!r}: expected NAME=VALUE (a number such as 0.5 or pi/4, or a list such as [0.1,0.2])")
    if value.startswith("["):
        if not value.endswith("]"):
            fail(f"--param {text!r}: a list ends with ']'")
        items = [v for v in value[1:-1].split(",") if v.strip()]
        if not items:
            fail(f"--param {text!r}: the list is empty")
        return name, [_number(v, text) for v in items]
    return name, _number(value, text)


def _number(value: str, text: str) -> float:
    import math

    from qtandem.errors import QasmError
    from qtandem.qasm.expr import ExprParser, evaluate
    from qtandem.qasm.lexer import Source, tokenize

    src = Source(value.strip(), "--param")
    try:
        tokens = tokenize(src)
        expr, end = ExprParser(tokens, src).parse(0)
        if tokens[end].kind != "eof":
            raise src.error(f"unexpected {tokens[end].value!r}", tokens[end].line, tokens[end].col)
        result = evaluate(expr, {}, src)
    except QasmError as err:
        fail(f"--param {text!r}: {err.message}")
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(float(result)):
        fail(f"--param {text!r}: {value.strip()!r} is not a finite number")
    return float(result)


def register(app: typer.Typer) -> None:
    """Add the ``convert`` command to ``app``."""

    @app.command("convert")
    @friendly
    def convert(
        file: Annotated[Path, typer.Argument(metavar="FILE", help="OpenQASM 2 or 3 file.")],
        to: Annotated[str, typer.Option("--to", metavar="[qasm2|qasm3]", help="Target version.")] = "qasm3",
        output: OutputFile = None,
        param: Annotated[list[str] | None, typer.Option(
            "--param", metavar="NAME=VALUE",
            help="Bind an input (repeatable): --param theta=0.5, --param w=[0.1,0.2].")] = None,
        inline: Annotated[bool, typer.Option("--inline", help="Write custom gates' bodies instead of their "
                                                             "'gate' definitions.")] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Convert an OpenQASM file to OpenQASM 2 or 3 (binding inputs with --param)."""
        from qtandem.cli.common import check_output_file, emit_json
        from qtandem.io import atomic_write_text
        from qtandem.qasm import dumps, load

        versions = {"qasm2": 2, "qasm3": 3}
        if to not in versions:
            fail(f"--to must be qasm2 or qasm3, got {to!r}")
        version = versions[to]
        if output is not None:
            check_output_file(output)
        values: dict[str, Any] = {}
        for text in param or []:
            name, value = parse_param(text)
            if name in values:
                fail(f"--param {name} given twice")
            values[name] = value
        circuit = load(file, params=values)
        if version == 2 and circuit.parameters:
            names = sorted({p.name.split("[", 1)[0] for p in circuit.parameters})
            fail(f"OpenQASM 2 has no free parameters: bind {', '.join(names)} with --param NAME=VALUE "
                 "(arrays: --param w=[0.1,0.2]), or convert --to qasm3")
        text = dumps(circuit, version=version, inline=inline)
        if output is not None:
            atomic_write_text(output, text)
        if as_json:
            report: dict[str, Any] = {"file": str(file), "to": to, "params": values, "inline": inline,
                                      "num_qubits": circuit.n_qubits, "num_clbits": circuit.n_clbits,
                                      "gate_definitions": [line.split()[1].split("(")[0]
                                                           for line in text.splitlines() if line.startswith("gate ")]}
            report.update({"output": str(output)} if output is not None else {"qasm": text})
            emit_json(report)
        elif output is None:
            typer.echo(text, nl=False)
        else:
            typer.echo(f"wrote {output}", err=True)
