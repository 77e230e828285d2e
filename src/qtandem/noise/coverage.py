"""Coverage of a circuit by a noise model: where noise would silently disappear, and the error that says so.

:meth:`qtandem.noise.NoiseModel.check` and :meth:`~qtandem.noise.NoiseModel.require_coverage`
are the public entry points; every noisy simulation calls the latter first.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.noise import NoiseModel, depolarizing
    >>> coverage_problems(NoiseModel().add(depolarizing(0.01), gates=["x"]), Circuit(1).h(0).x(0))
    ["gate 'h': no noise rule (1 instruction, at index 0)"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtandem.errors import NoiseError

if TYPE_CHECKING:
    from qtandem.circuit.circuit import Circuit
    from qtandem.noise.model import NoiseModel

__all__ = ["MAX_LISTED_PROBLEMS", "coverage_error", "coverage_problems"]

MAX_LISTED_PROBLEMS = 8
"""How many coverage problems a strict model's error lists before "... and N more"."""


def coverage_problems(model: NoiseModel, circuit: Circuit) -> list[str]:
    """The problems :meth:`qtandem.noise.NoiseModel.check` reports, one line each.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.noise import NoiseModel, depolarizing
        >>> coverage_problems(NoiseModel().add(depolarizing(0.01)), Circuit(2).h(0).cx(0, 1))   # a default rule
        []
    """
    problems: list[str] = []
    if model.num_qubits is not None and circuit.n_qubits > model.num_qubits:
        extra = (f"qubit {model.num_qubits}" if circuit.n_qubits == model.num_qubits + 1
                 else f"qubits {model.num_qubits}..{circuit.n_qubits - 1}")
        problems.append(f"the circuit has {circuit.n_qubits} qubits, the noise model describes "
                        f"{model.num_qubits}: {extra} would get no noise")
    if not model.rules:
        return problems
    where: dict[tuple[str, tuple[int, ...]], list[int]] = {}
    for i, inst in enumerate(circuit):
        if inst.is_gate and inst.label not in model.ideal:
            where.setdefault((inst.label, inst.qubits), []).append(i)
    named = {g for r in model.rules if r.gates is not None for g in r.gates}
    unnamed: dict[str, list[int]] = {}
    for (label, qubits), idx in where.items():
        rules = [r for r in model.rules if (r.gates is None or label in r.gates)
                 and (r.qubits is None or qubits in r.qubits)]
        if not rules and label not in named and not any(r.gates is None for r in model.rules):
            unnamed.setdefault(label, []).extend(idx)
        elif not rules:
            hint = " (not coupled?)" if len(qubits) == 2 else ""
            problems.append(f"gate {label!r} on qubits {qubits}: no noise rule for these qubits{hint} "
                            f"{_instances(idx)}")
        for r in rules:
            k = r.channel.num_qubits
            if k not in (1, len(qubits)):
                problems.append(f"gate {label!r} on qubits {qubits}: a {k}-qubit channel cannot follow a "
                                f"{len(qubits)}-qubit gate {_instances(idx)}")
                break
    first = [f"gate {label!r}: no noise rule {_instances(sorted(idx))}" for label, idx in unnamed.items()]
    if problems and problems[0].startswith("the circuit"):  # the width first, then gate by gate
        return problems[:1] + first + problems[1:]
    return first + problems


def coverage_error(problems: list[str]) -> NoiseError:
    """The NoiseError a strict model raises: the problems (at most :data:`MAX_LISTED_PROBLEMS`) and what to do.

    Examples:
        >>> str(coverage_error(["gate 'h': no noise rule (1 instruction, at index 0)"])).splitlines()[1]
        "  - gate 'h': no noise rule (1 instruction, at index 0)"
    """
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    lines = "".join(f"\n  - {p}" for p in shown) + (f"\n  - ... and {more} more" if more else "")
    return NoiseError(
        "the noise model has no rule for some of the circuit's gates, which would run without noise:" + lines
        + "\nCompile the circuit for the device first (qtandem.compile.prepare_for_device(circuit, device), "
        "or `qtandem optimize FILE --hardware DEVICE`), give the model rules for these gates (model.add(channel) "
        "with no gates= covers every gate; model.set_ideal([...]) declares noiseless ones), or use a non-strict "
        "model (NoiseModel(strict=False), Device.noise_model(strict=False), \"strict\": false in JSON) to keep "
        "only the covered gates noisy.")


def _instances(idx: list[int]) -> str:
    if len(idx) == 1:
        return f"(1 instruction, at index {idx[0]})"
    return f"({len(idx)} instructions, first at index {idx[0]})"
