"""``qtandem mitigate FILE --observable "Z0 Z1" --device heavy_hex_27 --method auto --shots 100000``.

Runs :func:`qtandem.mitigate.execute` with qtandem's noisy simulator for the device (or a
``--noise`` noise-model file) as the executor and prints the raw and mitigated values with
their standard errors and the shots spent. With a device the circuit is compiled for it
first (:func:`qtandem.compile.prepare_for_device`) and the observable follows its qubits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qtandem.cli.common import JsonFlag, OutputFile
from qtandem.cli.main import friendly

METHOD_NAMES = ("readout", "zne", "cdr", "pec", "twirl", "mlqem")
"""Names ``--method`` accepts (comma-separated, innermost first), beside ``auto`` and ``none``."""


def methods_from(spec: str) -> Any:
    """``--method`` as ``execute(methods=...)``: ``"auto"``, ``[]`` for ``none``, or the named methods.

    Raises:
        ConfigError: an unknown name, or one this installation does not have.

    Examples:
        >>> methods_from("none"), methods_from("auto")
        ([], 'auto')
        >>> [m.name for m in methods_from("readout")]
        ['readout']
    """
    from qtandem import mitigate
    from qtandem.errors import ConfigError

    spec = spec.strip().lower()
    if spec in ("auto", ""):
        return "auto"
    if spec == "none":
        return []
    available = [n for n in METHOD_NAMES if callable(getattr(mitigate, n, None))]
    out = []
    for name in (part.strip() for part in spec.split(",")):
        if name not in available:
            raise ConfigError(f"--method: unknown method {name!r}; use auto, none, or a comma-separated list "
                              f"(innermost first) of {', '.join(available)}")
        out.append(getattr(mitigate, name)())
    return out


def register(app: typer.Typer) -> None:
    """Add the ``mitigate`` command to ``app``."""

    @app.command("mitigate")
    @friendly
    def mitigate(
        file: Annotated[Path, typer.Argument(metavar="FILE", help="OpenQASM 2 or 3 circuit.")],
        observable: Annotated[str, typer.Option("--observable", metavar="OBS",
                                                help='Pauli sum ("Z0 Z1", "0.5*X0 + Z1") or "P(0101)" '
                                                     "(probability of an outcome, qubit 0 rightmost).")],
        device: Annotated[str | None, typer.Option("--device", metavar="DEVICE",
                                                   help="Device preset or device JSON: its noise, and the "
                                                        "circuit is compiled for it.")] = None,
        noise: Annotated[str | None, typer.Option("--noise", metavar="NOISE",
                                                  help="Noise-model JSON (instead of --device; not compiled)."
                                                  )] = None,
        method: Annotated[str, typer.Option("--method", metavar="METHODS",
                                            help="auto, none, or names innermost first, e.g. readout,zne."
                                            )] = "auto",
        shots: Annotated[int, typer.Option("--shots", metavar="N",
                                           help="Shots of the mitigated estimate (the raw one gets as many).")
                         ] = 100_000,
        seed: Annotated[int, typer.Option("--seed", metavar="SEED", help="Seed of everything random.")] = 0,
        output: OutputFile = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Estimate an observable with error mitigation on a simulated noisy device; raw beside mitigated."""
        from qtandem.errors import ConfigError

        if (device is None) == (noise is None):
            raise ConfigError("give exactly one of --device (preset or device JSON) and --noise (noise-model JSON)")
        if shots < 1:
            raise ConfigError(f"--shots must be a positive integer, got {shots}")
        if seed < 0:
            raise ConfigError(f"--seed must be a non-negative integer, got {seed}")
        if output is not None:
            from qtandem.cli.common import check_output_file

            check_output_file(output)
        report = _run(file, observable, device, noise, method, shots, seed)
        if output is not None:
            import json

            from qtandem.io import atomic_write_text, json_safe

            atomic_write_text(output, json.dumps(json_safe(report), indent=1) + "\n")
        if as_json:
            from qtandem.cli.common import emit_json

            emit_json(report)
            return
        _print(report)


def _run(file: Path, text: str, device_spec: str | None, noise_spec: str | None, method: str, shots: int,
         seed: int) -> dict[str, Any]:
    import qtandem
    from qtandem.device import load_noise_source
    from qtandem.mitigate import execute, parse_observable, simulator_executor

    circuit = qtandem.load(file)
    obs = parse_observable(text, circuit.n_qubits)
    methods = methods_from(method)
    spec = device_spec if device_spec is not None else noise_spec
    assert spec is not None
    kind, model, dev = load_noise_source(spec)
    compiled: dict[str, Any] | None = None
    if device_spec is not None:
        from qtandem.errors import ConfigError

        if dev is None:
            raise ConfigError(f"--device {device_spec}: a noise-model file has no coupling map; pass it as --noise")
        from qtandem.compile import prepare_for_device

        circuit_c, report = prepare_for_device(circuit, dev, seed=seed)
        if report["changed"]:
            layout = report["final_layout"]
            obs = obs.relabel([layout[v] for v in range(circuit.n_qubits)], circuit_c.n_qubits)
            target: Any = dev.subset(report["physical_qubits"])
            compiled = {"physical_qubits": report["physical_qubits"], "final_layout": layout,
                        "swaps": report["swaps"], "two_qubit_after": report["two_qubit_after"]}
            circuit = circuit_c
        else:
            target = dev
    else:
        target = model
    run = simulator_executor(target, seed=seed)
    result = execute(circuit, obs, run, methods=methods, shots=shots, seed=seed, noise=target)
    out = {"file": str(file), "observable": text, "noise": spec, "noise_kind": kind, "compiled": compiled,
           "measured_observable": obs.text, "shots": shots, "seed": seed, **result.to_dict()}
    return out


def _print(report: dict[str, Any]) -> None:
    def pm(value: float, err: float) -> str:
        return f"{value:+.4f} ± {err:.4f}"

    typer.echo(f"{report['file']}: <{report['observable']}> on {report['noise']} ({report['noise_kind']})")
    if report["compiled"]:
        typer.echo(f"compiled for the device: physical qubits {report['compiled']['physical_qubits']}, "
                   f"observable measured as {report['measured_observable']}")
    names = ", ".join(report["methods"]) or "none"
    how = f" ({report['details']['auto']})" if report["details"].get("auto") else ""
    typer.echo(f"methods:    {names}{how}")
    typer.echo(f"raw:        {pm(report['raw'], report['raw_stderr'])}   ({report['shots']} shots)")
    one_off = f", one-off {report['one_off_shots']}" if report["one_off_shots"] else ""
    typer.echo(f"mitigated:  {pm(report['value'], report['stderr'])}   ({report['shots_used']} shots{one_off})")
    if report["refused"]:
        typer.echo(f"note: a method declined ({report['refused']}); the value is the best classical estimate")
