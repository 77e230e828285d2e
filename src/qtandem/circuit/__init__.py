"""The circuit layer: :class:`Circuit`, parameters, the gate registry and Pauli observables."""

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import GATES, GateSpec, gate_matrix, get_gate
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter, ParameterExpression

__all__ = ["GATES", "Circuit", "GateSpec", "Instruction", "Parameter", "ParameterExpression", "gate_matrix", "get_gate"]
