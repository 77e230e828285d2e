"""Learning from shots: device characterization and calibration; randomized measurement records and shadows.

Examples:
    >>> from qtandem.device import Device
    >>> from qtandem.learn import characterization, simulator_executor
    >>> plan = characterization([0], experiments=["t1"])
    >>> data = plan.run(simulator_executor(Device.preset("line_5"), seed=1), shots=200)
    >>> len(data.counts), data.shots[0]
    (12, 200)
"""

from qtandem.device.executors import qiskit_executor, simulator_executor
from qtandem.learn import shadows as shadows  # qtandem.learn.shadows.estimate(...) after `import qtandem.learn`
from qtandem.learn.born import MADE, BornMachine
from qtandem.learn.calibrate import Calibration, calibrate
from qtandem.learn.check import ModelCheck
from qtandem.learn.corrections import suggest_corrections
from qtandem.learn.data import ShotData
from qtandem.learn.experiments import EXPERIMENTS, Experiment, build_experiment
from qtandem.learn.neural_state import NeuralStateModel
from qtandem.learn.plan import CharacterizationPlan, characterization
from qtandem.learn.povm import POVMStateModel, measure_povm
from qtandem.learn.prior import layout_prior
from qtandem.learn.shots import ShotRecord, measure_randomized
from qtandem.learn.tomography import (
    PauliCounts,
    linear_inversion,
    measure_pauli_bases,
    mle_tomography,
    state_fidelity,
    trace_distance,
)

__all__ = [
    "EXPERIMENTS",
    "MADE",
    "BornMachine",
    "Calibration",
    "CharacterizationPlan",
    "Experiment",
    "ModelCheck",
    "NeuralStateModel",
    "POVMStateModel",
    "PauliCounts",
    "ShotData",
    "ShotRecord",
    "build_experiment",
    "calibrate",
    "characterization",
    "layout_prior",
    "linear_inversion",
    "measure_pauli_bases",
    "measure_povm",
    "measure_randomized",
    "mle_tomography",
    "qiskit_executor",
    "simulator_executor",
    "state_fidelity",
    "suggest_corrections",
    "trace_distance",
]
