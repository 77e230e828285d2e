"""Suggested corrections: the learned coherent errors turned into a compile pass.

Examples:
    >>> from qtandem import Circuit
    >>> from qtandem.device import Device
    >>> dev = Device.preset("line_5")
    >>> dev.qubits[0].sx_angle_error = 0.03
    >>> fix = suggest_corrections(dev)
    >>> fix.run(Circuit(1).sx(0).sx(0).sx(0)).count_ops()["sx"], fix.report_.verified   # three faulty pulses -> two
    (2, 'exact')
"""

from __future__ import annotations

from typing import Any

from qtandem.compile.passes.corrections import CoherentCorrections
from qtandem.errors import CompileError

__all__ = ["suggest_corrections"]


def suggest_corrections(calibration_or_device: Any, *, base: Any = None, echo: bool = True,
                        echo_min: float = 200.0) -> CoherentCorrections:
    """A :class:`~qtandem.compile.passes.corrections.CoherentCorrections` pass for a fitted or known device.

    The pass cancels the coherent errors the calibration found (``sx``/``x`` and two-qubit
    over-rotations, detuning, ZZ where idle windows allow an echo); run it on circuits already in
    the device's native gates and layout, or through ``qtandem.compile.optimize(..., corrections=pass)``.

    Args:
        calibration_or_device: a :class:`~qtandem.learn.calibrate.Calibration` (its
            :meth:`device`), a :class:`~qtandem.device.Device`, or a device preset/JSON file name.
        base: for a calibration: the device whose numbers fill what was not fitted (its prior).
        echo: try ZZ echoes.
        echo_min: shortest idle window worth an echo (ns).

    Raises:
        CompileError: something that is neither a calibration nor a device.

    Examples:
        >>> suggest_corrections("line_5").device.name
        'line_5'
    """
    from qtandem.device import Device

    obj = calibration_or_device
    if isinstance(obj, str) or hasattr(obj, "__fspath__"):
        obj = Device.load(obj)
    elif not isinstance(obj, Device) and callable(getattr(obj, "device", None)):
        obj = obj.device(base) if base is not None else obj.device()
    if not isinstance(obj, Device):
        raise CompileError(f"suggest_corrections takes a Calibration, a Device or a device file/preset name, "
                           f"got {type(calibration_or_device).__name__}")
    return CoherentCorrections(obj, echo=echo, echo_min=echo_min)
