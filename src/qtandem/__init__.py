"""qtandem: machine learning and quantum computing, improving each other.

The everyday names live here and stay stable::

    Circuit, Parameter, PauliSum, load, statevector, probabilities, sample,
    expval, QtandemError, density_matrix, NoiseModel
"""

from qtandem.circuit import Circuit, Parameter, ParameterExpression
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import QasmError, QtandemError, ResourceError
from qtandem.noise.density import density_matrix
from qtandem.noise.model import NoiseModel
from qtandem.qasm import load
from qtandem.sim import SampleResult, expval, probabilities, sample, statevector, unitary

__version__ = "0.1.0"

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
    "expval",
    "load",
    "probabilities",
    "sample",
    "statevector",
    "unitary",
]
