"""Circuit optimization: small passes, a :class:`PassManager` and :func:`optimize`.

Every optimized circuit is verified against its input before it is returned
(:mod:`qtandem.compile.verify`).

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.compile import PassManager
    >>> from qtandem.compile.passes.cancellation import GateCancellation
    >>> PassManager([GateCancellation()]).run(Circuit(1).h(0).h(0)).num_gates()
    0
"""

from qtandem.compile.optimize import LEVELS, OBJECTIVES, optimize
from qtandem.compile.passmanager import Counts, PassManager, PropertySet, Report, counts

__all__ = ["LEVELS", "OBJECTIVES", "Counts", "PassManager", "PropertySet", "Report", "counts", "optimize"]
