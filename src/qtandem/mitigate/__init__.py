"""Error mitigation: better expectation values from noisy runs, without a code.

Mitiq's functional style: executors are callables ``(circuits, shots) -> counts``, noise
scaling maps ``(circuit, factor) -> circuit``, extrapolation and inversion are pure
functions, and :func:`execute` composes methods and accounts every shot it spends.

The contract every method builds on (:mod:`qtandem.mitigate.core`): an :class:`Estimate`
(value, stderr, shots, details); an :data:`Estimator` ``(circuits, shots, seed) ->
list[Estimate]``; a :class:`Method` (``name``, ``wrap(estimator, context)``); the
:class:`Context` of one :func:`execute` call; :func:`base_estimator`, the unmitigated one.
"""

from __future__ import annotations

from qtandem.mitigate.cdr import cdr
from qtandem.mitigate.core import (
    Context,
    Estimate,
    Estimator,
    Method,
    MitigationResult,
    ShotCounter,
    base_estimator,
    execute,
    split_shots,
)
from qtandem.mitigate.decay import learned_decay
from qtandem.mitigate.executors import expectation_executor, qiskit_executor, simulator_executor
from qtandem.mitigate.extrapolate import extrapolate
from qtandem.mitigate.folding import fold_gates, fold_global, scale_noise
from qtandem.mitigate.learned import MLQEMRegressor, mlqem
from qtandem.mitigate.observable import Observable, parse_observable
from qtandem.mitigate.pauli_lindblad import SparsePauliLindblad, from_noise_model, learn_pauli_lindblad
from qtandem.mitigate.pec import pec
from qtandem.mitigate.readout import ReadoutModel, m3_solve, nearest_probability, readout
from qtandem.mitigate.twirl import twirl, twirl_circuit
from qtandem.mitigate.zne import zne

__all__: list[str] = [
    "Context",
    "Estimate",
    "Estimator",
    "MLQEMRegressor",
    "Method",
    "MitigationResult",
    "Observable",
    "ReadoutModel",
    "ShotCounter",
    "SparsePauliLindblad",
    "base_estimator",
    "cdr",
    "execute",
    "expectation_executor",
    "extrapolate",
    "fold_gates",
    "fold_global",
    "from_noise_model",
    "learn_pauli_lindblad",
    "learned_decay",
    "m3_solve",
    "mlqem",
    "nearest_probability",
    "parse_observable",
    "pec",
    "qiskit_executor",
    "readout",
    "scale_noise",
    "simulator_executor",
    "split_shots",
    "twirl",
    "twirl_circuit",
    "zne",
]
