"""qtandem: machine learning and quantum computing, improving each other.

The everyday names live here and stay stable::

    Circuit, Parameter, PauliSum, load, statevector, probabilities, sample,
    distribution, expval, QtandemError, density_matrix, NoiseModel

They are imported on first use (PEP 562 ``__getattr__``), so ``import qtandem``
and ``qtandem --help`` do not load torch; ``from qtandem import Circuit`` works
as usual.

Examples:
    >>> import qtandem
    >>> qtandem.Circuit(2).h(0).cx(0, 1).count_ops()
    {'h': 1, 'cx': 1}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from qtandem import hooks

if TYPE_CHECKING:
    from qtandem.circuit import Circuit, Parameter, ParameterExpression
    from qtandem.circuit.pauli import PauliSum
    from qtandem.errors import QasmError, QtandemError, ResourceError
    from qtandem.noise.density import density_matrix
    from qtandem.noise.model import NoiseModel
    from qtandem.qasm import load
    from qtandem.sim import SampleResult, distribution, expval, probabilities, sample, statevector, unitary

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Circuit": "qtandem.circuit",
    "NoiseModel": "qtandem.noise.model",
    "Parameter": "qtandem.circuit",
    "ParameterExpression": "qtandem.circuit",
    "PauliSum": "qtandem.circuit.pauli",
    "QasmError": "qtandem.errors",
    "QtandemError": "qtandem.errors",
    "ResourceError": "qtandem.errors",
    "SampleResult": "qtandem.sim",
    "density_matrix": "qtandem.noise.density",
    "distribution": "qtandem.sim",
    "expval": "qtandem.sim",
    "load": "qtandem.qasm",
    "probabilities": "qtandem.sim",
    "sample": "qtandem.sim",
    "statevector": "qtandem.sim",
    "unitary": "qtandem.sim",
}
"""Public name -> module that defines it (imported on first access)."""

__all__ = [
    "Circuit",
    "NoiseModel",
    "Parameter",
    "ParameterExpression",
    "PauliSum",
    "QasmError",
    "QtandemError",
    "ResourceError",
    "SampleResult",
    "__version__",
    "density_matrix",
    "distribution",
    "expval",
    "load",
    "probabilities",
    "sample",
    "statevector",
    "unitary",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qtandem' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


# Circuit.to_matrix / from_qasm / to_qasm: the circuit layer may not import sim or qasm, so this
# package (above every layer) registers the implementations; each imports its layer on first call.
# record_distribution: sim.branching's fallback to noise.density's per-record density matrices.
def _to_matrix(circuit: Circuit, **options: Any) -> Any:
    from qtandem.sim import unitary as _unitary

    return _unitary(circuit, **options)


def _from_qasm(text: str, **options: Any) -> Any:
    from qtandem.qasm import loads

    return loads(text, **options)


def _to_qasm(circuit: Circuit, **options: Any) -> Any:
    from qtandem.qasm import dumps

    return dumps(circuit, **options)


def _record_distribution(circuit: Circuit, params: Any = None, **options: Any) -> Any:
    from qtandem.noise.density import record_distribution

    return record_distribution(circuit, params, **options)


hooks.register("to_matrix", _to_matrix)
hooks.register("record_distribution", _record_distribution)
hooks.register("from_qasm", _from_qasm)
hooks.register("to_qasm", _to_qasm)
