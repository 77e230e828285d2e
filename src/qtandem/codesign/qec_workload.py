"""The loop's QEC workload: a surface-code memory decoded with the noise the pipeline believes.

The experiment is Stim's rotated surface-code memory (``distance`` x ``distance``, ``rounds``
rounds, Z or X basis) without noise. The *hardware* runs it: the executor's
``sample_stim(circuit, shots, seed=...)`` returns detection events and observable flips
(:meth:`qtandem.codesign.drift.HiddenExecutor.sample_stim` samples Stim with the actual
device's noise; a real backend would return measured syndromes). The *pipeline* decodes them
with PyMatching on the detector error model of the believed device: the noiseless circuit with
that device's noise (:func:`qtandem.qec.noise_map.noisy_circuit`, which reduces a device to its
average calibration and Pauli-twirls coherent and relaxation errors) gives the DEM whose edge
weights matching uses. With the stale published calibration the weights are wrong (T1, readout
drifted); with the loop's learned calibration they match the hardware better.

The result's figure of merit is the logical error rate (``value == error``), with its Wilson
95% interval in ``details``; the observations drift detection reads are the per-detector firing
rates (``"detectors"``, kind ``"rate"``) and the per-shot number of detection events
(``"events"``).

Examples:
    >>> from qtandem.codesign.drift import hidden_device
    >>> hidden = hidden_device(8, seed=0)
    >>> work = QecMemoryWorkload(distance=3, rounds=2)
    >>> res = work.run(hidden.published, hidden.executor(0, seed=1), shots=500, seed=2)
    >>> res.name, res.shots, res.observations["detectors"].shape, 0 <= res.value < 0.2
    ('qec_memory', 500, (16,), True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem.codesign.stages import WorkloadResult, register_workload
from qtandem.errors import ArgumentTypeError, ConfigError

if TYPE_CHECKING:
    import stim

    from qtandem.device import Device

__all__ = ["QecMemoryWorkload"]


class QecMemoryWorkload:
    """A d x d rotated surface-code memory run on the hardware and decoded with the believed noise.

    Args:
        distance: code distance (>= 2; 3 in the benchmark).
        rounds: stabilizer rounds (default ``distance``).
        basis: ``"Z"`` or ``"X"`` memory.
        name: the workload's name in records.

    Raises:
        ConfigError: a bad distance, rounds or basis (the option named).

    Examples:
        >>> QecMemoryWorkload(distance=3).circuit.num_detectors
        24
        >>> QecMemoryWorkload(distance=1)
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: workload.distance: must be an integer >= 2, got 1
    """

    def __init__(self, distance: int = 3, rounds: int | None = None, basis: str = "Z", *,
                 name: str = "qec_memory") -> None:
        from qtandem.qec import surface_code

        if isinstance(distance, bool) or not isinstance(distance, int) or distance < 2:
            raise ConfigError(f"workload.distance: must be an integer >= 2, got {distance!r}")
        rounds = distance if rounds is None else rounds
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ConfigError(f"workload.rounds: must be an integer >= 1, got {rounds!r}")
        if str(basis).upper() not in ("X", "Z"):
            raise ConfigError(f"workload.basis: must be 'X' or 'Z', got {basis!r}")
        self.name = name
        self.distance, self.rounds, self.basis = distance, rounds, str(basis).upper()
        self.circuit: stim.Circuit = surface_code(distance, rounds, basis=self.basis, noise="none")
        coords = self.circuit.get_detector_coordinates()
        self.labels = [f"det{k}@" + ",".join(f"{c:g}" for c in coords.get(k, [])) for k in
                       range(self.circuit.num_detectors)]
        self._decoders: dict[str, Any] = {}

    def decoder(self, device: Device) -> Any:
        """The matching decoder on the DEM of ``device``'s noise (cached per calibration).

        Examples:
            >>> from qtandem.device import Device
            >>> work = QecMemoryWorkload(distance=3, rounds=1)
            >>> type(work.decoder(Device.random(4, "line", seed=0))).__name__
            'MatchingDecoder'
        """
        from qtandem.qec import MatchingDecoder
        from qtandem.qec.noise_map import noisy_circuit

        key = device.to_json()
        if key not in self._decoders:
            self._decoders = {key: MatchingDecoder(noisy_circuit(self.circuit, device))}
        return self._decoders[key]

    def run(self, device: Device, executor: Any, *, shots: int, seed: int) -> WorkloadResult:
        """Sample ``shots`` memory experiments on the hardware and decode them with ``device``'s noise.

        Args:
            device: the believed device (stale or learned calibration).
            executor: the hardware; must have ``sample_stim(circuit, shots, *, seed)`` returning
                ``(dets, obs)`` (:class:`~qtandem.codesign.drift.HiddenExecutor` has it).
            shots: memory experiments to run.
            seed: the sampler's seed.

        Returns:
            the :class:`~qtandem.codesign.stages.WorkloadResult` (LER, its interval, observations).

        Raises:
            ArgumentTypeError: an executor without ``sample_stim``.
        """
        from qtandem.qec import logical_error_rate

        sampler = getattr(executor, "sample_stim", None)
        if sampler is None:
            raise ArgumentTypeError("qec_memory: the executor has no sample_stim(circuit, shots, seed=...) method: "
                                    "QEC memory experiments need syndrome shots (qtandem.codesign.drift."
                                    "HiddenExecutor samples them with Stim)")
        dets, obs = sampler(self.circuit, int(shots), seed=int(seed))
        dets, obs = np.asarray(dets, dtype=bool), np.asarray(obs, dtype=bool)
        pred = self.decoder(device).decode(dets)
        ler = logical_error_rate(pred, obs)
        rates: np.ndarray = dets.mean(axis=0) if len(dets) else np.zeros(dets.shape[1])
        events: np.ndarray = dets.sum(axis=1).astype(np.int32)
        return WorkloadResult(
            name=self.name, value=float(ler.rate), error=float(ler.rate), shots=int(shots),
            observations={"detectors": rates, "events": events},
            details={"ler_low": float(ler.low), "ler_high": float(ler.high), "errors": int(ler.errors),
                     "distance": self.distance, "rounds": self.rounds, "basis": self.basis,
                     "decoder": "pymatching on the believed device's DEM",
                     "observation_kinds": {"detectors": "rate"}, "labels": {"detectors": self.labels}})


def _factory(**options: Any) -> QecMemoryWorkload:
    return QecMemoryWorkload(**options)


register_workload("qec_memory", _factory)
