"""Make a circuit runnable on a device, and say what was done: :func:`prepare_for_device`.

Simulating a circuit with a device's noise only means something when the circuit
uses the device's native gates on coupled qubits; otherwise the device's noise
model has nothing to attach to those gates (:meth:`qtandem.noise.NoiseModel.check`).
:func:`prepare_for_device` does what a user means by "run this on that device":
lay out, route and translate to the native basis with the existing passes
(:func:`qtandem.compile.routing.route_and_verify`, which also proves the result
equivalent), then keep only the physical qubits the result uses, renumbered
``0..k-1``, so the noisy simulation does not carry the device's idle qubits.
The matching noise model is ``device.subset(report["physical_qubits"]).noise_model()``.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.preset("heavy_hex_27")
    >>> out, report = prepare_for_device(Circuit(3, 3).h(0).cx(0, 2).measure_all(), dev, seed=1)
    >>> dev.subset(report["physical_qubits"]).validate(out), report["changed"]
    ([], True)
"""

from __future__ import annotations

from typing import Any

from qtandem.circuit import Circuit
from qtandem.compile.layout import resolve_device
from qtandem.errors import CompileError

__all__ = ["prepare_for_device"]


def _two_qubit(c: Circuit) -> int:
    return sum(1 for inst in c if inst.is_gate and len(inst.qubits) >= 2)


def _compact(circuit: Circuit, physical: list[int], n_clbits: int) -> Circuit:
    index = {p: i for i, p in enumerate(physical)}
    out = Circuit(len(physical), n_clbits, name=circuit.name,
                  cregs=circuit.cregs if circuit.n_clbits and n_clbits == circuit.n_clbits else None)
    for inst in circuit:
        qs = inst.qubits if inst.qubits or inst.name != "barrier" else tuple(physical)
        out.append(inst.replace(qubits=tuple(index[q] for q in qs)))
    return out


def prepare_for_device(circuit: Circuit, device: Any, *, seed: int | None = 0,
                       trials: int = 8) -> tuple[Circuit, dict[str, Any]]:
    """Lay out, route and translate ``circuit`` to ``device``'s native gates; report what was done.

    A circuit that already runs on the device as is (``device.validate(circuit) == []``)
    is returned unchanged. Otherwise the result is verified equivalent to the input
    and acts on the physical qubits it uses, renumbered in increasing order
    (``report["physical_qubits"][i]`` is the device qubit behind qubit ``i``). A
    circuit without measurements gets each input qubit measured into classical bit
    of the same index, at the physical qubit where routing left it, so sampled
    outcomes read in the input's qubit order.

    Args:
        circuit: the input (not modified).
        device: a :class:`~qtandem.device.Device`, or a preset or file name.
        seed: seed of the layout and routing trials.
        trials: layout/routing trials; the best by expected success probability is kept.

    Returns:
        ``(compiled circuit, report)``; the report is JSON-ready: ``device``, ``changed``,
        ``problems_before`` (``device.validate`` of the input, first 5), ``physical_qubits``,
        ``initial_layout`` / ``final_layout`` (input qubit ``v`` starts / ends on compiled
        qubit ``layout[v]``), ``swaps``, ``gates_before`` / ``gates_after`` (``count_ops``),
        ``two_qubit_before`` / ``two_qubit_after``, ``depth_before`` / ``depth_after``,
        ``esp`` (expected success probability, ``None`` when unchanged), ``measurements_added``,
        ``verified``, ``seed``.

    Raises:
        CompileError: unknown device, a circuit wider than the device, a disconnected
            coupling map, native gates no basis matches, a gate the translation cannot express.
        VerificationError: the routed circuit is not equivalent to the input (never returned).

    Examples:
        >>> from qtandem import Circuit
        >>> out, report = prepare_for_device(Circuit(2, 2).sx(0).cx(0, 1).measure([0, 1], [0, 1]), "line_5")
        >>> report["changed"], report["physical_qubits"], out.num_gates()
        (False, [0, 1], 2)
        >>> out, report = prepare_for_device(Circuit(3).h(0).cx(0, 1).cx(0, 2).cx(1, 2), "line_5", seed=0)
        >>> report["changed"], report["measurements_added"], out.n_clbits, sorted(out.count_ops())
        (True, True, 3, ['cx', 'measure', 'rz', 'sx'])
    """
    if not isinstance(circuit, Circuit):
        raise CompileError(f"prepare_for_device takes a qtandem Circuit, got {type(circuit).__name__}")
    dev = resolve_device(device, circuit)
    n = circuit.n_qubits
    problems = dev.validate(circuit)
    report: dict[str, Any] = {
        "device": dev.name, "changed": bool(problems), "problems_before": problems[:5],
        "gates_before": circuit.count_ops(), "two_qubit_before": _two_qubit(circuit),
        "depth_before": circuit.depth(), "seed": seed,
    }
    if not problems:
        report.update(physical_qubits=list(range(n)), initial_layout=list(range(n)), final_layout=list(range(n)),
                      swaps=0, gates_after=circuit.count_ops(), two_qubit_after=report["two_qubit_before"],
                      depth_after=report["depth_before"], esp=None, measurements_added=False, verified=True)
        return circuit, report
    from qtandem.compile.routing import route_and_verify

    routed, res = route_and_verify(circuit, dev, seed=seed, trials=trials)
    initial = [res.initial_layout[v] for v in range(n)]
    final = [res.final_layout[v] for v in range(n)]
    used = {q for inst in routed for q in inst.qubits}
    physical = sorted(used | set(initial) | set(final))
    add_measure = not any(inst.name == "measure" for inst in circuit) and circuit.n_clbits == 0
    out = _compact(routed, physical, n if add_measure else routed.n_clbits)
    index = {p: i for i, p in enumerate(physical)}
    if add_measure:
        for v in range(n):
            out.measure(index[final[v]], v)
    report.update(physical_qubits=physical, initial_layout=[index[p] for p in initial],
                  final_layout=[index[p] for p in final], swaps=int(res.swaps), gates_after=out.count_ops(),
                  two_qubit_after=_two_qubit(out), depth_after=out.depth(), esp=float(res.esp),
                  measurements_added=add_measure, verified=True)
    return out, report
