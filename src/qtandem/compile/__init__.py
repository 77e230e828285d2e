"""Circuit optimization: small passes, a :class:`PassManager` and :func:`optimize`.

Every optimized circuit is verified against its input before it is returned
(:mod:`qtandem.compile.verify`). Passes live one per module in
:mod:`qtandem.compile.passes`; they work on pass-time op lists
(:mod:`qtandem.compile.dag`), never on a second circuit class.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.compile import PassManager
    >>> from qtandem.compile.passes.cancellation import GateCancellation
    >>> PassManager([GateCancellation()]).run(Circuit(1).h(0).h(0)).num_gates()
    0
"""

from qtandem.compile.correct import correct_for_device
from qtandem.compile.for_device import prepare_for_device
from qtandem.compile.optimize import LEVELS, OBJECTIVES, optimize, optimize_file
from qtandem.compile.passmanager import Counts, PassManager, PropertySet, Report, counts, split_stretches, stitch

__all__ = ["LEVELS", "OBJECTIVES", "Counts", "PassManager", "PropertySet", "Report", "correct_for_device", "counts",
           "optimize", "optimize_file", "prepare_for_device", "split_stretches", "stitch"]
