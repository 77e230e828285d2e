"""``qtandem simulate FILE``: distributions, shots, expectation values or amplitudes of an OpenQASM circuit.

What is reported is what the program defines: the distribution of its classical
register (exact, or ``--shots`` samples of it, keyed the same way); the qubits
only with ``--qubits``. With ``--noise DEVICE`` the circuit is compiled for the
device first (or refused with ``--no-compile``), so the device's noise is never
silently skipped; the output names the simulation method and why it was chosen.
The work is done by :mod:`qtandem.cli.simulate_run`; this module holds the
command's options and its output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag
from qtandem.cli.main import fail, friendly

METHODS = ("auto", "density", "trajectories")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command("simulate")
    @friendly
    def simulate(
        file: Annotated[Path, typer.Argument(metavar="FILE", help="OpenQASM 2 or 3 file.")],
        shots: Annotated[int, typer.Option(metavar="N", help="Sample N shots (0: exact distribution).")] = 0,
        seed: Annotated[int | None, typer.Option(metavar="SEED", help="Seed for sampling and compiling.")] = None,
        expval: Annotated[str | None, typer.Option(metavar="PAULIS",
                                                   help='Pauli observable, e.g. "Z0 Z1 + 0.5*X2"; with '
                                                        '--shots, estimated from N shots per measured basis.')] = None,
        dtype: Annotated[str, typer.Option(metavar="DTYPE", help="complex64 or complex128.")] = "complex128",
        param: Annotated[list[str] | None, typer.Option(metavar="NAME=VALUE",
                                                        help="Bind an input parameter (repeatable).")] = None,
        top: Annotated[int, typer.Option(metavar="K", help="How many outcomes (or amplitudes) to show.")] = 16,
        noise: Annotated[str | None, typer.Option(metavar="NOISE",
                                                  help="Device preset name, device JSON or noise-model JSON.")] = None,
        method: Annotated[str, typer.Option(metavar="METHOD",
                                            help="With --noise: auto, density or trajectories.")] = "auto",
        compile_: Annotated[bool, typer.Option("--compile/--no-compile",
                                               help="With a device: compile the circuit for it (layout, routing, "
                                                    "native gates) first, or refuse what it cannot run.")] = True,
        qubits: Annotated[bool, typer.Option("--qubits", help="Report the qubits' distribution instead of "
                                                              "the classical register.")] = False,
        statevector: Annotated[bool, typer.Option("--statevector", help="Print the final state's largest "
                                                                        "amplitudes.")] = False,
        output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE",
                                                    help="Also write the JSON result to FILE.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Simulate a circuit: exact distribution, --shots samples, an --expval or the --statevector.

        Outcomes are the classical register as the program defines it, bit 0 rightmost.

        A circuit without classical bits reports its qubits; --qubits asks for them.
        """
        _check_options(shots=shots, dtype=dtype, method=method, noise=noise, top=top, qubits=qubits,
                       statevector=statevector, expval=expval)
        if output is not None:
            from qtandem.cli.common import check_output_file

            check_output_file(output)
        from qtandem.cli.simulate_run import Options, run

        out = run(Options(file=file, shots=shots, seed=seed, expval=expval, dtype=dtype, params=param or [],
                          top=top, noise=noise, method=method, compile=compile_, qubits=qubits,
                          statevector=statevector))
        if output is not None:
            import json

            from qtandem.io import atomic_write_text, json_safe

            atomic_write_text(output, json.dumps(json_safe(out), indent=1) + "\n")
        if as_json:
            from qtandem.cli.common import emit_json

            emit_json(out)
            return
        _print_human(out)
        if output is not None:
            typer.echo(f"wrote {output}")


def _check_options(*, shots: int, dtype: str, method: str, noise: str | None, top: int, qubits: bool,
                   statevector: bool, expval: str | None) -> None:
    """Refuse meaningless option combinations before anything heavy is imported."""
    if dtype not in ("complex64", "complex128"):
        fail(f"--dtype must be complex64 or complex128, got {dtype!r}")
    if shots < 0:
        fail(f"--shots must be >= 0, got {shots}")
    if top < 1:
        fail(f"--top must be >= 1, got {top}")
    if method not in METHODS:
        fail(f"--method must be auto, density or trajectories, got {method!r}")
    if method != "auto" and noise is None:
        fail(f"--method {method} chooses how noise is simulated and needs --noise; without noise the "
             "simulation is already exact (one state vector, branched over mid-circuit measurements)")
    if statevector:
        for flag, given in (("--shots", shots > 0), ("--expval", expval is not None), ("--noise", noise is not None),
                            ("--qubits", qubits)):
            if given:
                fail(f"--statevector prints the amplitudes of the noiseless final state; it takes no {flag}")
    if qubits and expval is not None:
        fail("--qubits chooses which distribution to report; it takes no --expval")
    if qubits and shots:
        fail("--qubits reports the exact distribution of the qubits; shots are what the circuit measures "
             "(measure the qubits into a classical register to sample them)")


def _print_human(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]{escape(str(out['file']))}[/bold]: {out['qubits']} qubits, {out['clbits']} classical "
                  f"bits, {out['dtype']}, {out['seconds']} s")
    if "noise" in out:
        console.print(f"noise: {escape(str(out['noise']))} ({out['noise_kind']})")
    for report in out.get("compile", []):
        console.print(f"compile: {escape(_compile_line(report))}")
    console.print(f"method: {out['method']} ({escape(str(out['method_reason']))})")
    if out["mode"] == "expval":
        _print_expval(console, out)
        return
    if out["mode"] == "statevector":
        table = Table(f"state {out['bits']['label']}", "real", "imag", "probability")
        for row in out["amplitudes"]:
            table.add_row(row["state"], f"{row['real']:+.6f}", f"{row['imag']:+.6f}", f"{row['probability']:.6f}")
        console.print(table)
        _print_left_out(console, out, "amplitudes")
        return
    data = out["counts"] if out["mode"] == "shots" else out["probabilities"]
    label = out["bits"]["label"]
    table = Table(f"outcome {label}", "counts" if out["mode"] == "shots" else "probability")
    widths = out["bits"]["widths"]
    for key, value in list(data.items())[:out["shown"]]:
        table.add_row(_spaced(key, widths), f"{value}" if out["mode"] == "shots" else f"{value:.6f}")
    console.print(table)
    _print_left_out(console, out, "outcomes")


def _print_expval(console: Any, out: dict[str, Any]) -> None:
    value = out["expval"]
    if "stderr" in out:
        how = (f"{out['trajectories']} trajectories" if "trajectories" in out
               else f"{out['shots']} shots in {out['bases']} {'basis' if out['bases'] == 1 else 'bases'}, "
                    f"{out['shots_per_basis']} each")
        console.print(f"<{out['observable']}> = {value:.6g} +- {out['stderr']:.2g} (standard error; {how})")
    else:
        console.print(f"<{out['observable']}> = {value:.12g} (exact)")
    if out.get("readout_included"):
        console.print("readout errors are included: the value is what the device would measure")


def _print_left_out(console: Any, out: dict[str, Any], what: str) -> None:
    shown, total = out.get("shown"), out.get("total")
    if shown is not None and total is not None and total > shown:
        console.print(f"{shown} of {total} nonzero {what} shown (--top {shown})")


def _spaced(key: str, widths: list[int]) -> str:
    """``key`` with a space between registers (``widths`` from the most significant register down)."""
    if len(widths) < 2 or sum(widths) != len(key):
        return key
    parts, i = [], 0
    for w in widths:
        parts.append(key[i:i + w])
        i += w
    return " ".join(parts)


def _compile_line(report: dict[str, Any]) -> str:
    """One line on what compiling for the device did (a ``prepare_for_device`` report)."""
    head = f"{report.get('circuit', 'circuit')} for {report.get('device', 'the device')}: "
    if not report.get("changed"):
        return head + "not compiled, it runs on the device as it is (native gates on coupled qubits)"
    physical = report.get("physical_qubits", [])
    layout = ", ".join(f"q{v}->{physical[i]}" for v, i in enumerate(report.get("initial_layout", []))
                       if i < len(physical))
    gates = (sum(report.get("gates_before", {}).values()), sum(report.get("gates_after", {}).values()))
    parts = [f"layout {layout}", f"{report.get('swaps', 0)} swaps",
             f"gates {gates[0]} -> {gates[1]}",
             f"two-qubit gates {report.get('two_qubit_before')} -> {report.get('two_qubit_after')}"]
    if report.get("esp") is not None:
        parts.append(f"expected success probability {report['esp']:.3f}")
    if report.get("verified"):
        parts.append("verified equivalent")
    if report.get("measurements_added"):
        parts.append("every qubit measured at the end")
    return head + ", ".join(parts)
