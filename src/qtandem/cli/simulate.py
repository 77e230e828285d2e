"""``qtandem simulate FILE``: state, samples or expectation values of an OpenQASM circuit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qtandem.cli.main import fail, friendly

if TYPE_CHECKING:
    from qtandem.noise import NoiseModel


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command("simulate")
    @friendly
    def simulate(
        file: Annotated[Path, typer.Argument(help="OpenQASM 2 or 3 file.")],
        shots: Annotated[int, typer.Option(help="Number of shots to sample (0: exact probabilities).")] = 0,
        seed: Annotated[int | None, typer.Option(help="Seed for sampling and mid-circuit measurement.")] = None,
        expval: Annotated[str | None, typer.Option(help='Pauli observable, e.g. "Z0 Z1 + 0.5*X2".')] = None,
        dtype: Annotated[str, typer.Option(help="complex64 or complex128.")] = "complex128",
        param: Annotated[list[str] | None, typer.Option(help="Bind an input parameter: name=value.")] = None,
        top: Annotated[int, typer.Option(help="How many outcomes to show.")] = 16,
        noise: Annotated[str | None, typer.Option(help="Device preset name, device JSON or noise-model JSON.")] = None,
        method: Annotated[str, typer.Option(help="With --noise: auto, density or trajectories.")] = "auto",
        as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    ) -> None:
        """Simulate a circuit: exact probabilities, --shots samples, or an --expval."""
        import time

        import torch

        import qtandem

        if dtype not in ("complex64", "complex128"):
            fail(f"--dtype must be complex64 or complex128, got {dtype!r}")
        if shots < 0:
            fail(f"--shots must be >= 0, got {shots}")
        tdtype = getattr(torch, dtype)
        if method not in ("auto", "density", "trajectories"):
            fail(f"--method must be auto, density or trajectories, got {method!r}")
        model = _load_noise(noise) if noise is not None else None
        circuit = qtandem.load(file)
        values = _parse_params(param or [], [p.name for p in circuit.parameters])
        out: dict[str, object] = {"file": str(file), "qubits": circuit.n_qubits, "dtype": dtype}
        if model is not None:
            out["noise"] = noise
        t0 = time.perf_counter()
        chosen = method if method != "auto" else ("density" if circuit.n_qubits <= 10 else "trajectories")
        if expval is not None:
            obs = qtandem.PauliSum.from_string(expval)
            if model is not None and chosen == "trajectories":
                from qtandem.noise.trajectories import run_trajectories

                res = run_trajectories(circuit, noise=model, shots=shots or 1000, seed=seed, params=values,
                                       observables=[obs], dtype=tdtype)
                out.update({"observable": str(obs), "expval": float(res.expvals[0]),
                            "stderr": float(res.stderr[0]), "trajectories": shots or 1000, "method": chosen})
            else:
                value = float(qtandem.expval(circuit, obs, values, dtype=tdtype, noise=model))
                out.update({"observable": str(obs), "expval": value})
        elif shots:
            result = qtandem.sample(circuit, shots=shots, seed=seed, params=values, dtype=tdtype, noise=model,
                                    method=method)
            out.update({"shots": shots, "seed": seed, "counts": result.counts})
        else:
            probs = qtandem.probabilities(circuit, values, dtype=tdtype, noise=model)
            order = torch.argsort(probs, descending=True)[:top]
            out["probabilities"] = {format(int(i), f"0{circuit.n_qubits}b"): float(probs[i]) for i in order
                                    if float(probs[i]) > 1e-12}
        out["seconds"] = round(time.perf_counter() - t0, 6)
        if as_json:
            typer.echo(json.dumps(out))
            return
        _print_human(out, top)


def _load_noise(spec: str) -> NoiseModel:
    """A NoiseModel from a device preset name, a device JSON file or a noise-model JSON file."""
    import json

    from qtandem.device import Device
    from qtandem.noise import NoiseModel

    path = Path(spec)
    if path.suffix == ".json" or path.exists():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            fail(f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}")
        if isinstance(data, dict) and data.get("schema") == "qtandem.device":
            return Device.from_dict(data, source=str(path)).noise_model()
        return NoiseModel.from_dict(data, source=str(path))
    return Device.preset(spec).noise_model()


def _parse_params(items: list[str], names: list[str]) -> dict[str, float] | None:
    values: dict[str, float] = {}
    for item in items:
        if "=" not in item:
            fail(f"--param expects name=value, got {item!r}")
        key, _, val = item.partition("=")
        try:
            values[key.strip()] = float(val)
        except ValueError:
            fail(f"--param {key}: {val!r} is not a number")
    missing = [n for n in names if n not in values]
    if missing:
        fail(f"the circuit has input parameter(s) {missing}: bind them with --param name=value")
    return values or None


def _print_human(out: dict[str, object], top: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{out['file']}[/bold]: {out['qubits']} qubits, {out['dtype']}, {out['seconds']} s")
    if "expval" in out:
        err = f" +- {out['stderr']:.2g} (standard error, {out['trajectories']} trajectories)" if "stderr" in out else ""
        console.print(f"<{out['observable']}> = {out['expval']:.12g}{err}")
        return
    data = out.get("counts") or out.get("probabilities") or {}
    assert isinstance(data, dict)
    title = "counts" if "counts" in out else "probability"
    table = Table("outcome (qubit 0 rightmost)", title)
    for key, value in sorted(data.items(), key=lambda kv: -kv[1])[:top]:
        table.add_row(key, f"{value}" if title == "counts" else f"{value:.6f}")
    console.print(table)
