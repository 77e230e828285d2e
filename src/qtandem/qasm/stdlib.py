"""The standard gate libraries: ``qelib1.inc`` (OpenQASM 2) and ``stdgates.inc`` (OpenQASM 3).

Each library maps an OpenQASM name to ``(registry name, number of angles,
number of qubits, angle map)``; variable-arity gates use ``mcx``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["BUILTIN_2", "BUILTIN_3", "QELIB1", "STDGATES", "GateMap"]

# (registry name, n_params, n_qubits, params transform)
GateMap = tuple[str, int, int, Callable[[list], list]]

_same: Callable[[list], list] = lambda p: p  # noqa: E731


def _m(name: str, npar: int, nq: int, fn: Callable[[list], list] = _same) -> GateMap:
    return (name, npar, nq, fn)


_COMMON = {
    "x": _m("x", 0, 1), "y": _m("y", 0, 1), "z": _m("z", 0, 1), "h": _m("h", 0, 1), "s": _m("s", 0, 1),
    "sdg": _m("sdg", 0, 1), "t": _m("t", 0, 1), "tdg": _m("tdg", 0, 1), "sx": _m("sx", 0, 1),
    "rx": _m("rx", 1, 1), "ry": _m("ry", 1, 1), "rz": _m("rz", 1, 1), "p": _m("p", 1, 1),
    "u1": _m("u1", 1, 1), "u2": _m("u2", 2, 1), "u3": _m("u3", 3, 1), "id": _m("id", 0, 1),
    "cx": _m("cx", 0, 2), "cy": _m("cy", 0, 2), "cz": _m("cz", 0, 2), "ch": _m("ch", 0, 2),
    "cp": _m("cp", 1, 2), "crx": _m("crx", 1, 2), "cry": _m("cry", 1, 2), "crz": _m("crz", 1, 2),
    "swap": _m("swap", 0, 2), "ccx": _m("ccx", 0, 3), "cswap": _m("cswap", 0, 3), "cu": _m("cu", 4, 2),
}

QELIB1: dict[str, GateMap] = {
    **_COMMON,
    "u": _m("u", 3, 1), "u0": _m("id", 1, 1, lambda p: []), "sxdg": _m("sxdg", 0, 1),
    "cu1": _m("cp", 1, 2), "cu3": _m("cu3", 3, 2), "csx": _m("csx", 0, 2), "rxx": _m("rxx", 1, 2),
    "rzz": _m("rzz", 1, 2), "rccx": _m("rccx", 0, 3), "rc3x": _m("rc3x", 0, 4), "c3x": _m("mcx", 0, 4),
    "c3sqrtx": _m("c3sqrtx", 0, 4), "c4x": _m("mcx", 0, 5),
}
"""Gates of the extended ``qelib1.inc`` that Qiskit ships."""

STDGATES: dict[str, GateMap] = {
    **_COMMON, "CX": _m("cx", 0, 2), "phase": _m("p", 1, 1), "cphase": _m("cp", 1, 2),
}
"""Gates of OpenQASM 3's ``stdgates.inc``."""

BUILTIN_2: dict[str, GateMap] = {"U": _m("u", 3, 1), "CX": _m("cx", 0, 2)}
BUILTIN_3: dict[str, GateMap] = {"U": _m("u", 3, 1)}
