"""Sweep job kind ``mitigation``: an error-mitigation benchmark point (circuit x noise x method x shots x repeat).

Each point is one chunk (one task): :func:`qtandem.mitigate.execute` on a circuit under a simple
noise model (one-qubit depolarizing ``p1`` after every one-qubit gate, two-qubit depolarizing
``p2`` after every ``cx``, symmetric readout flips ``readout``; Qiskit's depolarizing convention),
sampled by :func:`qtandem.mitigate.simulator_executor`, with the chunk's seed for both the executor
and the methods. The row's ``result`` holds the mitigated ``value`` and ``stderr``, the unmitigated
``raw`` (same shots), the ``exact`` noiseless value (statevector), both absolute errors, the shots
spent (``shots_used``, also summed as the row's ``shots``) and the methods that ran.

Parameters: a circuit, either ``family`` (``"ghz"``: :func:`qtandem.circuit.library.ghz`;
``"layered"``: :func:`qtandem.circuit.library.layered` with ``layers`` and angle seed ``instance``)
on ``qubits`` qubits, or ``circuit`` (an OpenQASM file; its text enters the point's hash);
``observable`` (``"Z0 Z1"``; Pauli sum or ``"P(bits)"``), ``method`` (``"none"``, ``"auto"`` or
names innermost first, e.g. ``"readout,zne"``), ``shots`` (10000), ``p1`` (0.001), ``p2`` (0.01),
``readout`` (0.02) and ``repeat`` (0; a replicate index: it changes the point's hash, hence its seed).
A value a method leaves undefined (NaN, e.g. a standard error it cannot estimate) is stored as ``null``.

Examples:
    >>> from qtandem.sweep.jobs import get_job
    >>> job = get_job("mitigation")
    >>> prepared = job.prepare({"family": "ghz", "qubits": 2, "method": "readout", "shots": 4000}, "points[0]")
    >>> out = job.task(job.payload(prepared, 0, 7))["result"]
    >>> round(out["exact"], 12), out["shots_used"], out["error"] < out["raw_error"]
    (1.0, 4000, True)
"""

from __future__ import annotations

import math
from typing import Any

from qtandem.errors import ConfigError, QtandemError
from qtandem.sweep.apps import _fill, _timed
from qtandem.sweep.jobs import OneChunkJob, PreparedPoint

__all__ = ["METHOD_NAMES", "MitigationJob", "methods_for", "mitigation_task"]

METHOD_NAMES = ("readout", "zne", "cdr", "pec", "twirl", "mlqem")
"""Method names a point's ``method`` may list (comma-separated, innermost first), beside ``auto`` and ``none``."""

_ONE_QUBIT_GATES = ["h", "id", "p", "rx", "ry", "rz", "s", "sdg", "sx", "sxdg", "t", "tdg", "u", "u1", "u2", "u3",
                    "x", "y", "z"]
_MITIGATION = {"family": "", "circuit": "", "qubits": 4, "layers": 4, "instance": 0, "observable": "Z0 Z1",
               "method": "readout,zne", "shots": 10_000, "p1": 0.001, "p2": 0.01, "readout": 0.02, "repeat": 0}


def methods_for(spec: str, where: str = "method") -> Any:
    """A point's ``method`` text as ``execute(methods=...)``: ``"auto"``, ``[]`` for ``none``, or method objects.

    Raises:
        ConfigError: an unknown method name.

    Examples:
        >>> methods_for("none"), methods_for("auto"), [m.name for m in methods_for("readout,zne")]
        ([], 'auto', ['readout', 'zne'])
        >>> methods_for("richardson")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: method: unknown method 'richardson'; use auto, none, or ...
    """
    from qtandem import mitigate

    spec = spec.strip().lower()
    if spec == "auto":
        return "auto"
    if spec == "none":
        return []
    out = []
    for name in (part.strip() for part in spec.split(",")):
        if name not in METHOD_NAMES or not callable(getattr(mitigate, name, None)):
            raise ConfigError(f"{where}: unknown method {name!r}; use auto, none, or a comma-separated list "
                              f"(innermost first) of {', '.join(METHOD_NAMES)}")
        out.append(getattr(mitigate, name)())
    return out


def _noise(p: dict[str, Any], n_qubits: int) -> Any:
    from qtandem.noise import NoiseModel, depolarizing_qiskit, readout_error

    model = NoiseModel(num_qubits=n_qubits)
    if p["p1"] > 0:
        model.add(depolarizing_qiskit(float(p["p1"]), 1), gates=_ONE_QUBIT_GATES)
    if p["p2"] > 0:
        model.add(depolarizing_qiskit(float(p["p2"]), 2), gates=["cx"])
    if p["readout"] > 0:
        model.add_readout(readout_error(float(p["readout"]), float(p["readout"])))
    return model


def _exact(circuit: Any, observable: Any) -> float:
    from qtandem.sim import expval, probabilities
    from qtandem.sim.estimate import without_terminal_measurements

    bare = without_terminal_measurements(circuit)
    if observable.pauli is None:
        return float(probabilities(bare)[int(observable.bitstring, 2)])
    return float(expval(bare, observable.pauli))


def mitigation_task(payload: dict[str, Any]) -> dict[str, Any]:
    """One mitigated estimate: ``{"result": {value, stderr, raw, raw_stderr, exact, error, raw_error, shots_used,
    one_off_shots, methods}, "shots", "seconds", "cpu_s"}`` (the payload: the point's parameters, ``qasm``, ``seed``).

    Examples:
        >>> qasm = 'OPENQASM 2.0;\\ninclude "qelib1.inc";\\nqreg q[2];\\nx q[0];\\n'
        >>> out = mitigation_task({**_MITIGATION, "qasm": qasm, "method": "none", "shots": 1000, "seed": 1})
        >>> out["result"]["exact"], out["result"]["methods"], out["shots"]
        (-1.0, [], 1000)
    """
    def run(p: dict[str, Any]) -> dict[str, Any]:
        from qtandem.mitigate import execute, parse_observable, simulator_executor
        from qtandem.qasm import loads

        circuit = loads(p["qasm"])
        obs = parse_observable(p["observable"], circuit.n_qubits)
        model = _noise(p, circuit.n_qubits)
        seed = int(p["seed"])
        res = execute(circuit, obs, simulator_executor(model, seed=seed), methods=methods_for(p["method"]),
                      shots=int(p["shots"]), seed=seed, noise=model)
        exact = _exact(circuit, obs)
        out = {"value": res.value, "stderr": res.stderr, "raw": res.raw, "raw_stderr": res.raw_stderr,
               "exact": exact, "error": abs(res.value - exact), "raw_error": abs(res.raw - exact),
               "shots_used": res.shots_used, "one_off_shots": res.one_off_shots, "methods": list(res.methods)}
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in out.items()}  # JSON rows
    out = _timed(run, payload)
    out["shots"] = out["result"]["shots_used"]
    return out


class MitigationJob(OneChunkJob):
    """``mitigation``: one mitigated estimate of one observable on one circuit (one chunk).

    Examples:
        >>> MitigationJob().prepare({"family": "ghz", "qubits": 3}, "points[0]").text.splitlines()[2]
        'qreg q[3];'
        >>> MitigationJob().prepare({"family": "ghz", "method": "zne,magic"}, "points[0]")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: points[0].method: unknown method 'magic'; use auto, none, or ...
    """

    name = "mitigation"

    def prepare(self, point: dict[str, Any], where: str) -> PreparedPoint:
        """Check the parameters (module docstring), build the circuit; its QASM text enters the hash."""
        p = _fill(point, _MITIGATION, where, self.name)
        if bool(p["family"]) == bool(p["circuit"]):
            raise ConfigError(f"{where}: give a circuit file (circuit = \"FILE.qasm\") "
                              "or family = \"ghz\" | \"layered\"")
        for key, low in (("qubits", 1), ("layers", 1), ("shots", 1), ("instance", 0), ("repeat", 0)):
            if p[key] < low:
                raise ConfigError(f"{where}.{key}: expected an integer >= {low}, got {p[key]!r}")
        for key in ("p1", "p2", "readout"):
            if not 0.0 <= p[key] < 0.5:
                raise ConfigError(f"{where}.{key}: expected a probability in [0, 0.5), got {p[key]!r}")
        from qtandem.qasm import dumps

        if p["circuit"]:
            from pathlib import Path

            from qtandem.qasm import load

            f = Path(p["circuit"])
            if not f.is_file():
                raise ConfigError(f"{where}.circuit: no such file {f}")
            try:
                circuit = load(f)
            except QtandemError as exc:
                raise ConfigError(f"{where}.circuit: {f} is not a circuit qtandem reads: {exc}") from exc
        elif p["family"] == "ghz":
            from qtandem.circuit.library import ghz

            circuit = ghz(p["qubits"])
        elif p["family"] == "layered":
            from qtandem.circuit.library import layered

            circuit = layered(p["qubits"], p["layers"], seed=p["instance"])
        else:
            raise ConfigError(f"{where}.family: expected \"ghz\" or \"layered\", got {p['family']!r}")
        from qtandem.mitigate import parse_observable

        try:
            parse_observable(p["observable"], circuit.n_qubits)
        except QtandemError as exc:
            raise ConfigError(f"{where}.observable: {exc}") from exc
        methods_for(p["method"], f"{where}.method")
        return PreparedPoint(p, p, dumps(circuit), 1)

    def payload(self, prepared: PreparedPoint, chunk: int, seed: int) -> dict[str, Any]:
        """The parameters, the circuit's QASM text and the chunk's seed."""
        return {**prepared.params, "qasm": prepared.text, "seed": seed % 2**31}

    def task(self, payload: dict[str, Any]) -> dict[str, Any]:
        """:func:`mitigation_task`."""
        return mitigation_task(payload)
