"""A Qiskit ``BackendV2`` whose ``run()`` executes on qtandem's noisy simulator of a hidden Device.

Used by ``bench/learn.py`` so that qiskit-experiments and ``qtandem.learn`` see exactly the
same simulated physics (delays, detuning, ZZ, damping, over-rotations, readout): both send
qtandem circuits to one executor (``executor(circuits, shots) -> list[counts]``, contract C
of issue 15), by default ``qtandem.learn.simulator_executor(device, seed=seed)``.

The backend's Target publishes what a real backend would: ``sx``, ``x``, ``rz``, ``cx``
(both directions of every coupling), ``measure`` and ``delay`` with the device's durations
and gate errors, the sample time ``dt`` and each qubit's T1/T2 as ``QubitProperties``.
qiskit-experiments' T1/T2 analyses use those only as initial guesses. Nothing else of the
hidden device (angle errors, detuning, ZZ, correlated readout) is published.

Circuits arrive transpiled to the Target (physical qubits, native gates, delays in ``dt``);
:func:`to_qtandem` translates them instruction by instruction (delays into nanoseconds).

Run ``python bench/learn_backend.py`` for a short self-check (a Bell pair and a T1 point).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from qiskit.circuit import Delay, Measure, Parameter, QuantumCircuit, Reset
from qiskit.circuit.library import CXGate, RZGate, SXGate, XGate
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.providers import QubitProperties as QiskitQubitProperties
from qiskit.result import Result
from qiskit.transpiler import InstructionProperties, Target

from qtandem import Circuit
from qtandem.device import Device

Executor = Callable[[Sequence[Circuit], int], list[dict[str, int]]]

DT = 2.0 / 9.0 * 1e-9  # s, the sample time of IBM's Eagle/Heron devices
_NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "ps": 1e-3}


def to_qtandem(qc: QuantumCircuit, dt: float = DT) -> Circuit:
    """Translate a circuit transpiled to the backend's Target into a qtandem Circuit.

    Args:
        qc: a circuit of ``sx``, ``x``, ``rz``, ``cx``, ``id``, ``delay``, ``measure``,
            ``reset`` and ``barrier`` instructions (what ``transpile(..., backend)`` gives).
        dt: the sample time in seconds (delays in ``dt`` are converted with it).

    Returns:
        The same circuit, qubit for qubit and clbit for clbit, delays in nanoseconds.

    Raises:
        ValueError: an instruction outside that set (transpile the circuit first).
    """
    qidx = {b: i for i, b in enumerate(qc.qubits)}
    cidx = {b: i for i, b in enumerate(qc.clbits)}
    out = Circuit(qc.num_qubits, qc.num_clbits, name=qc.name)
    for k, ci in enumerate(qc.data):
        op, qs = ci.operation, [qidx[b] for b in ci.qubits]
        name = op.name
        if name in ("sx", "x", "id"):
            getattr(out, name)(qs[0])
        elif name == "rz":
            out.rz(float(op.params[0]), qs[0])
        elif name == "cx":
            out.cx(qs[0], qs[1])
        elif name == "measure":
            out.measure(qs[0], cidx[ci.clbits[0]])
        elif name == "reset":
            out.reset(qs[0])
        elif name == "barrier":
            out.barrier(*qs)
        elif name == "delay":
            unit = op.unit
            ns = float(op.duration) * (dt * 1e9 if unit == "dt" else _NS_PER_UNIT[unit])
            out.delay(ns, qs)
        else:
            raise ValueError(f"instruction {k} ({name!r}) is not native to the backend; transpile the circuit first")
    return out


def _counts_to_hex(counts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for bits, n in counts.items():
        key = hex(int(bits.replace(" ", ""), 2)) if bits else "0x0"
        out[key] = out.get(key, 0) + int(n)
    return out


class _Job(JobV1):
    def __init__(self, backend: BackendV2, job_id: str, result: Result) -> None:
        super().__init__(backend, job_id)
        self._result = result

    def submit(self) -> None:
        return None

    def result(self, timeout: float | None = None) -> Result:
        return self._result

    def status(self) -> JobStatus:
        return JobStatus.DONE


class QtandemBackend(BackendV2):
    """A BackendV2 simulating a qtandem :class:`~qtandem.device.Device` (the hidden truth).

    Args:
        device: the hidden device; its T1/T2, gate errors and durations are published in the
            Target, everything is simulated.
        executor: runs qtandem circuits (``executor(circuits, shots) -> counts``); default
            ``qtandem.learn.simulator_executor(device, seed=seed)``.
        seed: seed of the default executor.

    Attributes:
        shots_used: total shots run so far (the bench's shot accounting).
        circuits_run: total circuits run so far.
    """

    def __init__(self, device: Device, *, executor: Executor | None = None, seed: int = 0,
                 name: str | None = None) -> None:
        super().__init__(name=name or f"qtandem_{device.name}", backend_version="0.1")
        self.device = device
        if executor is None:
            from qtandem.learn import simulator_executor

            executor = simulator_executor(device, seed=seed)
        self.executor = executor
        self.shots_used = 0
        self.circuits_run = 0
        self._target = self._build_target(device)

    @staticmethod
    def _build_target(device: Device) -> Target:
        unit = {"ns": 1e-9, "us": 1e-6, "s": 1.0}[device.time_unit]
        qprops = [QiskitQubitProperties(t1=q.t1 * unit, t2=q.t2 * unit, frequency=5.0e9) for q in device.qubits]
        target = Target(num_qubits=device.num_qubits, dt=DT, qubit_properties=qprops)
        n = device.num_qubits
        one = {(q,): InstructionProperties(duration=device.qubits[q].gate_duration_1q * unit,
                                           error=device.qubits[q].gate_error_1q) for q in range(n)}
        target.add_instruction(SXGate(), dict(one))
        target.add_instruction(XGate(), dict(one))
        target.add_instruction(RZGate(Parameter("theta")),
                               {(q,): InstructionProperties(duration=0.0, error=0.0) for q in range(n)})
        cx: dict[tuple[int, ...], InstructionProperties] = {}
        for (a, b), e in device.edges.items():
            props = InstructionProperties(duration=e.duration * unit, error=e.error)
            cx[(a, b)] = props
            cx[(b, a)] = InstructionProperties(duration=e.duration * unit, error=e.error)
        if cx:
            target.add_instruction(CXGate(), cx)
        target.add_instruction(Measure(), {
            (q,): InstructionProperties(duration=device.qubits[q].readout_duration * unit,
                                        error=0.5 * (device.qubits[q].readout_p01 + device.qubits[q].readout_p10))
            for q in range(n)})
        target.add_instruction(Delay(Parameter("t")), {(q,): None for q in range(n)})
        target.add_instruction(Reset(), {(q,): None for q in range(n)})
        return target

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> None:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, memory=False, seed_simulator=None)

    def run(self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any) -> _Job:
        """Run circuits (transpiled to this backend) for ``shots`` shots each."""
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        shots = int(options.get("shots", self.options.shots))
        qt = [to_qtandem(qc, DT) for qc in circuits]
        counts = self.executor(qt, shots)
        self.shots_used += shots * len(qt)
        self.circuits_run += len(qt)
        results = []
        for qc, cnt in zip(circuits, counts, strict=True):
            header = {
                "name": qc.name,
                "n_qubits": qc.num_qubits,
                "qreg_sizes": [[r.name, r.size] for r in qc.qregs],
                "creg_sizes": [[r.name, r.size] for r in qc.cregs],
                "memory_slots": qc.num_clbits,
                "metadata": qc.metadata or {},
            }
            results.append({"shots": shots, "success": True, "data": {"counts": _counts_to_hex(cnt)},
                            "header": header, "status": "DONE"})
        job_id = str(uuid.uuid4())
        result = Result.from_dict({"backend_name": self.name, "backend_version": self.backend_version,
                                   "job_id": job_id, "results": results, "success": True, "status": "COMPLETED"})
        return _Job(self, job_id, result)


def noise_executor(noise: Any, *, seed: int = 0, method: str = "density") -> Executor:
    """An executor sampling a qtandem ``NoiseModel`` directly (for physics no Device field describes yet).

    Each call draws a fresh seed from its own generator, so repeated calls give independent shots.
    """
    import numpy as np

    import qtandem

    rng = np.random.default_rng(seed)

    def run(circuits: Sequence[Circuit], shots: int) -> list[dict[str, int]]:
        return [dict(qtandem.sample(c, shots, noise=noise, seed=int(rng.integers(2**63)), method=method).counts)
                for c in circuits]

    return run


class DistributionExecutor:
    """The hidden device's exact outcome distributions, sampled multinomially; one cache per device.

    Physics: ``Device.noise_model()`` on the qubits a circuit touches (``device.subset``; idle
    untouched qubits sit in |0> and are left out, as ``qtandem.learn.simulator_executor`` does),
    density matrices through ``qtandem.distribution``. Each circuit's distribution is computed
    once and cached, so a benchmark can rerun the same circuits at several shot budgets without
    simulating them again; every call draws fresh shots from the executor's own seeded generator.
    Both methods of ``bench/learn.py`` use one such executor per hidden device.
    """

    def __init__(self, device: Device, *, seed: int = 0) -> None:
        import numpy as np

        self.device = device
        self.rng = np.random.default_rng(seed)
        self.cache: dict[Any, tuple[list[str], Any]] = {}
        self._models: dict[tuple[int, ...], Any] = {}
        self.simulated = 0

    def _key(self, c: Circuit) -> Any:
        return (c.n_qubits, c.n_clbits, tuple((i.name, i.qubits, tuple(float(p) for p in i.params), i.clbits)  # type: ignore[arg-type]
                                              for i in c))

    def _distribution(self, c: Circuit) -> tuple[list[str], Any]:
        import numpy as np

        import qtandem

        touched = sorted({q for i in c if i.name != "barrier" for q in i.qubits})
        pos = {q: k for k, q in enumerate(touched)}
        small = Circuit(len(touched), c.n_clbits)
        for i in c:
            qs = [pos[q] for q in i.qubits if q in pos]
            if i.name == "barrier":
                if qs:
                    small.barrier(*qs)
            else:
                small.append(i.name, qs, i.params, i.clbits)
        key = tuple(touched)
        if key not in self._models:
            self._models[key] = self.device.subset(list(touched)).noise_model()
        dist = qtandem.distribution(small, noise=self._models[key])
        self.simulated += 1
        keys = list(dist)
        probs = np.array([dist[k] for k in keys], dtype=float)
        return keys, probs / probs.sum()

    def __call__(self, circuits: Sequence[Circuit], shots: int) -> list[dict[str, int]]:
        out = []
        for c in circuits:
            k = self._key(c)
            if k not in self.cache:
                self.cache[k] = self._distribution(c)
            keys, probs = self.cache[k]
            draws = self.rng.multinomial(int(shots), probs)
            out.append({b: int(n) for b, n in zip(keys, draws, strict=True) if n})
        return out


def _selfcheck() -> None:
    from qiskit import transpile

    dev = Device.preset("line_5")
    backend = QtandemBackend(dev, executor=noise_executor(dev.noise_model(), seed=1))
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    counts = backend.run(transpile(qc, backend, seed_transpiler=0), shots=2000).result().get_counts()
    print("bell:", counts)
    t1 = dev.qubits[0].t1
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.delay(t1 * 1e-9, 0, unit="s")
    qc.measure(0, 0)
    counts = backend.run(transpile(qc, backend, initial_layout=[0]), shots=4000).result().get_counts()
    print(f"P(1) after T1 = {counts.get('1', 0) / 4000:.3f} (expected about {math.exp(-1):.3f})")


if __name__ == "__main__":
    _selfcheck()
