"""qtandem: machine learning and quantum computing, improving each other.

The everyday names live here and stay stable::

    Circuit, Parameter, PauliSum, load, statevector, probabilities, sample,
    expval, QtandemError
"""

from qtandem.circuit import Circuit, Parameter, ParameterExpression
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import QasmError, QtandemError, ResourceError
from qtandem.qasm import load
from qtandem.sim import SampleResult, expval, probabilities, sample, statevector, unitary

__version__ = "0.1.0"

__all__ = [
    "Circuit",
    "Parameter",
    "ParameterExpression",
    "PauliSum",
    "QasmError",
    "QtandemError",
    "ResourceError",
    "SampleResult",
    "__version__",
    "expval",
    "load",
    "probabilities",
    "sample",
    "statevector",
    "unitary",
]
