"""The co-design loop: learn the device, compile for it, run on it, mitigate, re-learn; and hardware what-ifs."""

from __future__ import annotations

from qtandem.codesign.config import LoopConfig, load_loop_config
from qtandem.codesign.coupling import REFERENCE_MAPS, CouplingSearch, coupling_map, routed_cx, search_coupling
from qtandem.codesign.drift import DriftSpec, DriftTest, HiddenDevice, HiddenExecutor, drift_test, hidden_device
from qtandem.codesign.loop import Hardware, LoopResult, run_loop
from qtandem.codesign.params import device_parameters, with_parameters
from qtandem.codesign.sensitivity import Sensitivity, SensitivityCheck, sensitivity
from qtandem.codesign.stages import (
    WORKLOADS,
    LoopWorkload,
    StageRecord,
    WorkloadResult,
    calibrate,
    characterize,
    detect,
    learn_device,
    make_workload,
    register_workload,
)
from qtandem.codesign.workload import Workload
from qtandem.codesign.workloads import GHZWorkload

__all__: list[str] = []
__all__ += ["WORKLOADS", "LoopWorkload", "StageRecord", "WorkloadResult", "make_workload", "register_workload"]
__all__ += ["Sensitivity", "SensitivityCheck", "Workload", "device_parameters", "sensitivity", "with_parameters"]
__all__ += ["DriftSpec", "DriftTest", "HiddenDevice", "HiddenExecutor", "drift_test", "hidden_device"]
__all__ += ["REFERENCE_MAPS", "CouplingSearch", "coupling_map", "routed_cx", "search_coupling"]
__all__ += ["GHZWorkload", "Hardware", "LoopConfig", "LoopResult", "calibrate", "characterize", "detect",
            "learn_device", "load_loop_config", "run_loop"]
