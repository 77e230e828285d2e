"""Circuits to and from other frameworks: Qiskit (and Cirq).

Conversions map gates one to one (not through OpenQASM text), keep parameters
symbolic, and keep registers, measurements, resets, barriers and classical
conditions. The other framework is imported only when a conversion runs:
``pip install qtandem[qiskit]`` (or ``qtandem[cirq]``).

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.interop import from_qiskit, to_qiskit
    >>> qc = to_qiskit(Circuit(2).h(0).cx(0, 1))
    >>> [inst.operation.name for inst in qc.data]
    ['h', 'cx']
    >>> from_qiskit(qc).count_ops()
    {'h': 1, 'cx': 1}
"""

from __future__ import annotations

from qtandem.interop.cirq import from_cirq, to_cirq
from qtandem.interop.qiskit import from_qiskit, to_qiskit

__all__ = ["from_cirq", "from_qiskit", "to_cirq", "to_qiskit"]
