"""Verification of routed circuits: :func:`route_and_verify`.

Routing relabels qubits and moves states with swaps, so a routed circuit is
compared with the input embedded on the initial layout's physical qubits, up to
the final permutation (:func:`qtandem.compile.verify.verify_equivalent` with
``permutation``). Terminal measurements must read the physical qubit where their
virtual qubit ended. Circuits with mid-circuit measurements, resets or classically
controlled gates are routed stretch by stretch (:mod:`qtandem.compile.routing`):
each routed unitary stretch is verified against its input stretch between the
layouts at its two ends, and each fence must sit where the layout puts its qubits.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(3, 2).h(0).cx(0, 2).measure(2, 0).reset(2).cx(0, 2).measure(2, 1)
    >>> out, res = route_and_verify(c, "line_5", seed=0, trials=2)
    >>> res.device.validate(out), len(res.stretches)
    ([], 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qtandem.circuit import Circuit
from qtandem.compile.esp import expected_success_probability
from qtandem.compile.routing import RoutingResult, _cx, _finish, route
from qtandem.errors import CompileError, VerificationError

__all__ = ["embed", "layout_permutation", "route_and_verify"]


def embed(circuit: Circuit, layout: Sequence[int], width: int) -> Circuit:
    """``circuit`` relabelled onto physical qubits: virtual ``v`` on ``layout[v]``, in a ``width``-qubit circuit.

    Examples:
        >>> from qtandem import Circuit
        >>> [inst.qubits for inst in embed(Circuit(2).cx(0, 1), [3, 1], 4)]
        [(3, 1)]
    """
    out = Circuit(width, circuit.n_clbits)
    for inst in circuit:
        qs = inst.qubits if inst.qubits or inst.name != "barrier" else tuple(range(circuit.n_qubits))
        out.append(inst.replace(qubits=tuple(layout[q] for q in qs)))
    return out


def layout_permutation(start: Sequence[int], end: Sequence[int]) -> list[int]:
    """``perm[p]``: where the state on physical ``p`` (virtual ``v`` at ``start``) is at ``end``.

    Examples:
        >>> layout_permutation([0, 1, 2], [1, 0, 2])             # virtual 0 and 1 swapped places
        [1, 0, 2]
    """
    perm = [0] * len(start)
    for v, p in enumerate(start):
        perm[p] = end[v]
    return perm


def _split_measure(c: Circuit) -> tuple[Circuit, list[tuple[int, int]]]:
    u = Circuit(c.n_qubits)
    meas: list[tuple[int, int]] = []
    for inst in c:
        if inst.name == "measure":
            meas.extend(zip(inst.qubits, inst.clbits, strict=True))
        elif inst.name != "barrier":
            u.append(inst)
    return u, meas


def _verify_whole(ref_u: Circuit, ref_m: list[tuple[int, int]], res: RoutingResult, method: str = "auto") -> None:
    from qtandem.compile.verify import verify_equivalent

    got_u, got_m = _split_measure(res.circuit)
    expected = sorted((res.final_layout[res.initial_layout.index(p)], c) for p, c in ref_m)
    if sorted(got_m) != expected:
        raise VerificationError(f"routing: measurements read {sorted(got_m)}, expected {expected} "
                                "(physical qubit, clbit) after the final permutation")
    verify_equivalent(ref_u, got_u, permutation=res.permutation, method=method)


def _verify_stretches(circuit: Circuit, res: RoutingResult) -> None:
    from qtandem.compile.passmanager import split_stretches
    from qtandem.compile.routing import _prepare
    from qtandem.compile.verify import verify_equivalent

    assert res.stretches is not None
    big_n = res.device.num_qubits
    parts, fences = split_stretches(_prepare(circuit))
    if len(parts) != len(res.stretches):
        raise VerificationError(f"routing: {len(res.stretches)} routed stretches for {len(parts)} input stretches")
    expect = Circuit(big_n, circuit.n_clbits)
    for k, (part, (part_in, routed, start, end)) in enumerate(zip(parts, res.stretches, strict=True)):
        if list(part) != list(part_in):
            raise VerificationError(f"routing: stretch {k} of the routed record does not match the input")
        try:
            verify_equivalent(embed(part, start, big_n), routed, permutation=layout_permutation(start, end))
        except VerificationError as err:
            raise VerificationError(f"routing: unitary stretch {k}: {err}") from None
        for inst in routed:
            expect.append(inst)
        for inst in fences[k] if k < len(fences) else []:
            qs = inst.qubits if inst.qubits else tuple(range(circuit.n_qubits))
            expect.append(inst.replace(qubits=tuple(end[q] for q in qs)))
    if list(expect) != list(res.circuit):
        raise VerificationError("routing: the routed circuit is not the verified stretches joined by the input's "
                                "measurements/resets/conditioned gates at their routed positions")


def _retryable(err: VerificationError) -> bool:
    return "inconclusive" in str(err) or "unsupported gate" in str(err)


def route_and_verify(circuit: Circuit, device: Any, *, seed: Any = None, objective: str | None = "fidelity",
                     **options: Any) -> tuple[Circuit, RoutingResult]:
    """:func:`~qtandem.compile.routing.route`, then prove the output equivalent to the input.

    Args:
        circuit: the input.
        device: a device or preset name.
        seed: seed of the routing trials.
        objective: see :func:`~qtandem.compile.routing.route`.
        **options: more :func:`~qtandem.compile.routing.route` options.

    Returns:
        ``(routed circuit, RoutingResult)``.

    When the output of the default commutation-aware route cannot be proven (path sums
    inconclusive past the dense check's 12 qubits), the circuit is routed again with
    ``commute=False`` (gates in input order) and that output is proven instead.

    Raises:
        CompileError: see :func:`~qtandem.compile.routing.route`; the output does
            not pass ``device.validate`` (e.g. a conditioned gate outside the native set).
        VerificationError: the routed circuit is not (provably) equivalent.

    Examples:
        >>> from qtandem import Circuit
        >>> routed, result = route_and_verify(Circuit(3).h(0).cx(0, 2).cx(1, 2), "heavy_hex_27", seed=1, trials=2)
        >>> routed.n_qubits, result.device.validate(routed)
        (27, [])
    """
    try:
        return _route_and_verify(circuit, device, seed=seed, objective=objective, **options)
    except VerificationError as err:
        if not _retryable(err) or options.get("commute") is False:
            raise
    # gates reordered through commutation (the default) can hide the structure path sums need: the same
    # route in input order, which the checks below prove as before
    return _route_and_verify(circuit, device, seed=seed, objective=objective, **{**options, "commute": False})


def _route_and_verify(circuit: Circuit, device: Any, *, seed: Any, objective: str | None,
                      **options: Any) -> tuple[Circuit, RoutingResult]:
    res = route(circuit, device, seed=seed, objective=objective, **options)
    if res.stretches is not None:
        _verify_stretches(circuit, res)
    else:
        ref_u, ref_m = _split_measure(res.embedded_input(circuit))
        try:  # the fast sound check first; dense unitaries only where they are cheap, then the plain cleanup
            _verify_whole(ref_u, ref_m, res, method="pathsum")
        except VerificationError as err:
            if not _retryable(err) or res.raw is None:
                raise
            small = len({q for i in res.circuit for q in i.qubits}) <= 9
            try:
                if not small:
                    raise err
                _verify_whole(ref_u, ref_m, res)
            except VerificationError as err2:
                if not _retryable(err2):
                    raise
                # phase folding and two-qubit resynthesis can hide the structure path sums need: fall back to
                # the cleanups without one or both of them, the one with fewest CX first (the plain one last)
                raw_u, raw_m = _split_measure(res.raw)
                tries = [_finish(raw_u, res.device, **kw) for kw in ({"fold": False}, {"kak": False, "fold": True})]
                tries = sorted(tries, key=_cx) + [_finish(raw_u, res.device, kak=False)]
                for k, out in enumerate(tries):
                    res.circuit = out
                    for p, c in raw_m:
                        res.circuit.measure(p, c)
                    res.cx = _cx(res.circuit)
                    res.esp = expected_success_probability(res.circuit, res.device)
                    try:
                        _verify_whole(ref_u, ref_m, res)
                        break
                    except VerificationError as err3:
                        if k == len(tries) - 1 or not _retryable(err3):
                            raise
    problems = res.device.validate(res.circuit)
    if problems:
        raise CompileError(f"routed circuit does not run on {res.device.name!r}: {problems[0]}"
                           + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return res.circuit, res
