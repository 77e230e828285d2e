"""The prior of a device whose calibration numbers are not trusted: its layout, typical numbers otherwise.

Examples:
    >>> from qtandem.device import Device
    >>> prior = layout_prior(Device.random(3, seed=0))
    >>> sorted(prior.edges), prior.qubits[0].t1
    ([(0, 1), (1, 2)], 100000.0)
"""

from __future__ import annotations

from qtandem.device import Device
from qtandem.learn.calibrate import typical_device

__all__ = ["layout_prior"]


def layout_prior(device: Device) -> Device:
    """What an experimenter knows before calibrating ``device``: its couplings and its gate and readout
    durations (they set the schedule), with :func:`~qtandem.learn.calibrate.typical_device` numbers for
    everything :func:`~qtandem.learn.calibrate` fits (T1, T2, errors, over-rotations, readout).

    The prior to pass as ``calibrate(data, prior=...)`` when the data come from ``device`` (a hidden
    device in a benchmark, or hardware whose published numbers are stale).

    Examples:
        >>> from qtandem.device import Device
        >>> true = Device.random(2, seed=1)
        >>> prior = layout_prior(true)
        >>> prior.qubits[1].gate_duration_1q == true.qubits[1].gate_duration_1q, prior.qubits[1].gate_error_1q
        (True, 0.0005)
        >>> prior.edges[(0, 1)].duration == true.edges[(0, 1)].duration, prior.edges[(0, 1)].error
        (True, 0.01)
    """
    prior = typical_device(device.num_qubits, sorted(device.edges))
    for mine, theirs in zip(prior.qubits, device.qubits, strict=True):
        mine.gate_duration_1q, mine.readout_duration = theirs.gate_duration_1q, theirs.readout_duration
    for pair, edge in prior.edges.items():
        edge.duration = device.edges[pair].duration
    return prior
