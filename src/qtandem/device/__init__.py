"""Devices: coupling maps, native gates, calibrations and the noise models they imply."""

from qtandem.device.device import (
    Device,
    EdgeProperties,
    QubitProperties,
    list_presets,
    load_noise_model,
    load_noise_source,
)

__all__ = ["Device", "EdgeProperties", "QubitProperties", "list_presets", "load_noise_model", "load_noise_source"]
