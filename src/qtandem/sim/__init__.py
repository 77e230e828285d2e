"""The one simulator core of qtandem (see :mod:`qtandem.sim.core`)."""

from qtandem.sim.branching import distribution
from qtandem.sim.core import statevector, unitary
from qtandem.sim.estimate import ExpvalEstimate, estimate_expval
from qtandem.sim.functional import run_batched
from qtandem.sim.sampling import SampleResult, expval, probabilities, sample

__all__ = [
    "ExpvalEstimate",
    "SampleResult",
    "distribution",
    "estimate_expval",
    "expval",
    "probabilities",
    "run_batched",
    "sample",
    "statevector",
    "unitary",
]
