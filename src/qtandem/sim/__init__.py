"""The one simulator core of qtandem (see :mod:`qtandem.sim.core`)."""

from qtandem.sim.core import statevector, unitary
from qtandem.sim.sampling import SampleResult, expval, probabilities, sample

__all__ = ["SampleResult", "expval", "probabilities", "sample", "statevector", "unitary"]
