"""Shot data: the counts of a characterization plan's circuits, saved and loaded as a folder.

A data folder holds::

    manifest.json      schema "qtandem.shotdata", version, width, shots per circuit, seeds,
                       device name, and the experiments (name, qubits, xs, meta, circuit files)
    circuits/<i>.qasm  circuit i as OpenQASM 3
    counts.json        a list of {bitstring: count}, aligned with the circuits

:meth:`ShotData.save` removes an old manifest, writes the circuits and counts, then
the manifest, each file atomically, so an interrupted save leaves no manifest and is
refused on load.
:meth:`ShotData.load` checks everything and names the file at fault.

Examples:
    >>> import tempfile
    >>> from qtandem.device import Device
    >>> from qtandem.device.executors import simulator_executor
    >>> from qtandem.learn import characterization
    >>> data = characterization([0], experiments=["readout"]).run(simulator_executor(Device.preset("line_5")), 50)
    >>> folder = tempfile.mkdtemp()
    >>> data.save(folder)
    >>> ShotData.load(folder).counts == data.counts
    True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qtandem.circuit.circuit import Circuit
from qtandem.errors import DataError, QasmError
from qtandem.learn.experiments import Experiment
from qtandem.learn.plan import CharacterizationPlan

__all__ = ["SHOTDATA_SCHEMA", "ShotData", "fold_spectators"]

SHOTDATA_SCHEMA = "qtandem.shotdata"
SHOTDATA_VERSION = 1


def _check_counts(counts: Any, circuits: Sequence[Circuit], shots: Sequence[int], where: str) -> list[dict[str, int]]:
    if not isinstance(counts, list):
        raise DataError(f"{where}: expected a list of counts (one per circuit), got {type(counts).__name__}")
    if len(counts) != len(circuits):
        raise DataError(f"{where}: {len(counts)} counts for {len(circuits)} circuits")
    out: list[dict[str, int]] = []
    for i, (entry, circuit, n) in enumerate(zip(counts, circuits, shots, strict=True)):
        if not isinstance(entry, dict):
            raise DataError(f"{where}: counts of circuit {i} must be an object {{bitstring: count}}, "
                            f"got {type(entry).__name__}")
        width = circuit.n_clbits
        for key, value in entry.items():
            if not isinstance(key, str) or len(key) != width or set(key) - {"0", "1"}:
                raise DataError(f"{where}: circuit {i}: outcome {key!r} is not a {width}-bit string "
                                f"(the circuit has {width} classical bits)")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DataError(f"{where}: circuit {i}: count of {key!r} must be a non-negative integer, "
                                f"got {value!r}")
        total = sum(entry.values())
        if total != n:
            raise DataError(f"{where}: circuit {i}: counts add up to {total}, but shots is {n}")
        out.append({k: entry[k] for k in sorted(entry)})
    return out


class ShotData:
    """The counts of a :class:`~qtandem.learn.plan.CharacterizationPlan`'s circuits.

    Args:
        plan: the plan whose circuits ran.
        counts: ``{bitstring: count}`` per circuit (``plan.circuits`` order), classical bit 0 rightmost.
        shots: shots per circuit (an int: the same for every circuit).
        seeds: one entry per run round, e.g. ``{"plan": 0, "run": 1}`` (:meth:`merge` concatenates).
        device_name: what the shots came from.

    Attributes:
        plan, counts, seeds, device_name: as given.
        shots: ``list[int]``, one per circuit.

    Raises:
        DataError: counts that do not match the circuits (number, bit width, totals) or are
            negative or not integers.

    Examples:
        >>> from qtandem.learn import characterization
        >>> plan = characterization([0], experiments=["readout"])
        >>> ShotData(plan, [{"0": 9, "1": 1}, {"1": 10}], 10, [{"plan": 0, "run": 0}]).shots
        [10, 10]
        >>> ShotData(plan, [{"0": 9}, {"1": 10}], 10, [])
        Traceback (most recent call last):
        ...
        qtandem.errors.DataError: <ShotData>: circuit 0: counts add up to 9, but shots is 10
    """

    def __init__(self, plan: CharacterizationPlan, counts: Sequence[dict[str, int]], shots: int | Sequence[int],
                 seeds: Sequence[dict[str, Any]] | None = None, device_name: str | None = None, *,
                 source: str = "<ShotData>") -> None:
        circuits = plan.circuits
        if isinstance(shots, int) and not isinstance(shots, bool):
            shot_list = [shots] * len(circuits)
        else:
            shot_list = list(shots)  # type: ignore[arg-type]
        if len(shot_list) != len(circuits) or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0
                                                  for s in shot_list):
            raise DataError(f"{source}: shots must be a positive integer or one per circuit "
                            f"({len(circuits)}), got {shots!r}")
        self.plan = plan
        self.counts = _check_counts(list(counts), circuits, shot_list, source)
        self.shots = shot_list
        self.seeds = [dict(s) for s in (seeds or [])]
        self.device_name = device_name

    @property
    def circuits(self) -> list[Circuit]:
        """The plan's circuits (aligned with :attr:`counts`)."""
        return self.plan.circuits

    def experiments(self) -> list[tuple[Experiment, list[dict[str, int]], list[int]]]:
        """Each experiment with its circuits' counts and shots.

        Examples:
            >>> from qtandem.learn import characterization
            >>> plan = characterization([0], experiments=["readout"])
            >>> [(e.name, c) for e, c, _ in ShotData(plan, [{"0": 2}, {"1": 2}], 2).experiments()]
            [('readout', [{'0': 2}, {'1': 2}])]
        """
        return [(exp, self.counts[sl], self.shots[sl]) for exp, sl in self.plan.slices()]

    def merge(self, other: ShotData) -> ShotData:
        """This data followed by ``other`` (the next adaptive round) in one :class:`ShotData`.

        Raises:
            DataError: the plans span different numbers of qubits.

        Examples:
            >>> from qtandem.learn import characterization
            >>> plan = characterization([0], experiments=["readout"])
            >>> a = ShotData(plan, [{"0": 2}, {"1": 2}], 2, [{"run": 0}])
            >>> merged = a.merge(ShotData(plan, [{"0": 5}, {"1": 5}], 5, [{"run": 1}]))
            >>> merged.shots, merged.seeds, len(merged.plan.experiments)
            ([2, 2, 5, 5], [{'run': 0}, {'run': 1}], 2)
        """
        if other.plan.width != self.plan.width:
            raise DataError(f"merge: data on {self.plan.width} and {other.plan.width} qubits")
        plan = CharacterizationPlan(self.plan.experiments + other.plan.experiments, self.plan.width, self.plan.seed,
                                    dict(self.plan.meta))
        name = self.device_name if other.device_name in (None, self.device_name) else (
            other.device_name if self.device_name is None else f"{self.device_name}+{other.device_name}")
        return ShotData(plan, self.counts + other.counts, self.shots + other.shots, self.seeds + other.seeds, name)

    # -- I/O ---------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        """The JSON manifest :meth:`save` writes.

        Examples:
            >>> from qtandem.learn import characterization
            >>> plan = characterization([0], experiments=["readout"])
            >>> m = ShotData(plan, [{"0": 2}, {"1": 2}], 2).manifest()
            >>> m["schema"], m["experiments"][0]["circuits"]
            ('qtandem.shotdata', ['circuits/0.qasm', 'circuits/1.qasm'])
        """
        exps = [{"name": exp.name, "qubits": list(exp.qubits), "xs": list(exp.xs), "meta": exp.meta,
                 "circuits": [f"circuits/{i}.qasm" for i in range(sl.start, sl.stop)]}
                for exp, sl in self.plan.slices()]
        return {"schema": SHOTDATA_SCHEMA, "version": SHOTDATA_VERSION, "device_name": self.device_name,
                "width": self.plan.width, "plan_seed": self.plan.seed, "plan_meta": self.plan.meta,
                "num_circuits": len(self.counts), "shots": self.shots, "seeds": self.seeds,
                "counts": "counts.json", "experiments": exps}

    def save(self, folder: str | Path) -> None:
        """Write the data folder (created if missing; files of the same names replaced).

        Raises:
            DataError: ``folder`` is a file.
        """
        from qtandem.io import atomic_write_text

        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise DataError(f"{folder}: exists and is not a folder")
        (folder / "circuits").mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").unlink(missing_ok=True)  # until the new one lands, the folder is incomplete
        for i, circuit in enumerate(self.circuits):
            atomic_write_text(folder / "circuits" / f"{i}.qasm", circuit.to_qasm(3))
        atomic_write_text(folder / "counts.json", json.dumps(self.counts) + "\n")
        atomic_write_text(folder / "manifest.json", json.dumps(self.manifest(), indent=1) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> ShotData:
        """Read and check a data folder written by :meth:`save`.

        Raises:
            DataError: a missing folder, manifest, circuit or counts file; invalid JSON or
                OpenQASM; a wrong schema or version; counts that do not match the circuits
                (number, bit width, totals) or are negative or not integers. The message
                names the file.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(f"{folder}: no such shot-data folder")
        mpath = folder / "manifest.json"
        m = _read_json(mpath, "missing: not a shot-data folder (or its save was interrupted)")
        if not isinstance(m, dict) or m.get("schema") != SHOTDATA_SCHEMA:
            got = m.get("schema") if isinstance(m, dict) else type(m).__name__
            raise DataError(f"{mpath}: not a shot-data manifest (schema {got!r}, expected {SHOTDATA_SCHEMA!r})")
        if m.get("version") != SHOTDATA_VERSION:
            raise DataError(f"{mpath}: version {m.get('version')!r} is not supported (this qtandem reads "
                            f"{SHOTDATA_VERSION})")
        for key, kind in (("width", int), ("experiments", list), ("shots", list), ("seeds", list)):
            if not isinstance(m.get(key), kind) or isinstance(m.get(key), bool):
                raise DataError(f"{mpath}: key {key!r} must be a {kind.__name__}, got {m.get(key)!r:.60}")
        exps: list[Experiment] = []
        index = 0
        for k, entry in enumerate(m["experiments"]):
            where = f"{mpath}: experiments[{k}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("circuits"), list):
                raise DataError(f"{where}: needs a 'circuits' list of files")
            circuits = []
            for rel in entry["circuits"]:
                if rel != f"circuits/{index}.qasm":
                    raise DataError(f"{where}: expected circuit file 'circuits/{index}.qasm', got {rel!r}")
                circuits.append(_read_circuit(folder / rel))
                index += 1
            exps.append(Experiment.checked(entry.get("name"), entry.get("qubits"), circuits, entry.get("xs"),
                                           entry.get("meta", {}), source=where))
        plan_seed, plan_meta = m.get("plan_seed", 0), m.get("plan_meta", {})
        if isinstance(plan_seed, bool) or not isinstance(plan_seed, int) or not isinstance(plan_meta, dict):
            raise DataError(f"{mpath}: 'plan_seed' must be an int and 'plan_meta' an object")
        plan = CharacterizationPlan(exps, m["width"], plan_seed, dict(plan_meta))
        plan.check(source=str(mpath))
        if m.get("num_circuits", index) != index:
            raise DataError(f"{mpath}: num_circuits is {m.get('num_circuits')} but the experiments list {index}")
        cpath = folder / "counts.json"
        counts = _read_json(cpath, "missing (the counts of the circuits)")
        shots = m["shots"]
        if len(shots) != index or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shots):
            raise DataError(f"{mpath}: 'shots' must hold one positive integer per circuit ({index})")
        if not isinstance(counts, list):
            raise DataError(f"{cpath}: expected a list of counts (one per circuit), got {type(counts).__name__}")
        if len(counts) != index:
            raise DataError(f"{cpath}: {len(counts)} counts for {index} circuits (manifest.json)")
        if not all(isinstance(s, dict) for s in m["seeds"]):
            raise DataError(f"{mpath}: 'seeds' must be a list of objects")
        if m.get("device_name") is not None and not isinstance(m["device_name"], str):
            raise DataError(f"{mpath}: 'device_name' must be a string or null, got {m['device_name']!r:.60}")
        return cls(plan, counts, shots, m["seeds"], m.get("device_name"), source=str(cpath))

    def __repr__(self) -> str:
        return (f"ShotData({len(self.plan.experiments)} experiments, {len(self.counts)} circuits, "
                f"{sum(self.shots)} shots, device={self.device_name!r})")


def _read_json(path: Path, missing: str) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: {missing}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None


def _read_circuit(path: Path) -> Circuit:
    if not path.is_file():
        raise DataError(f"{path}: missing circuit file (listed in manifest.json)")
    try:
        return Circuit.from_qasm(path.read_text(encoding="utf-8"), filename=str(path))
    except QasmError as err:
        raise DataError(f"{path}: invalid OpenQASM: {err}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None


def fold_spectators(data: ShotData) -> ShotData:
    """``data`` with its spectators' shots pooled (``characterization(..., spectators=True)``).

    Each circuit with ``meta["spectators"]`` becomes the same circuit measuring only its own
    qubit, with the marginal counts of that bit; every spectator's bits, summed over all such
    circuits, become one readout circuit of that qubit in ``|0>`` (an experiment ``readout``
    with ``xs == [0]`` and ``meta["pooled_spectators"]``), appended after the plan's
    experiments. The model has the spectators idle in ``|0>`` and independent of the active
    qubit, so this is the same likelihood in fewer, smaller circuits. Data without spectators
    comes back unchanged (the same object).

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.learn import characterization
        >>> plan = characterization([0, 2], experiments=["t1"], prior=Device.preset("line_5"), spectators=True)
        >>> data = ShotData(plan, [{"00": 6, "01": 3, "10": 1}] * 24, 10)
        >>> folded = fold_spectators(data)
        >>> folded.counts[0], [(e.name, e.qubits) for e in folded.plan.experiments][-2:]
        ({'0': 7, '1': 3}, [('readout', (0,)), ('readout', (2,))])
        >>> folded.counts[-2:], folded.shots[-2:]
        ([{'0': 108, '1': 12}, {'0': 108, '1': 12}], [120, 120])
    """
    if not any((e.meta or {}).get("spectators") for e in data.plan.experiments):
        return data
    width = data.plan.width
    pooled: dict[int, list[int]] = {}
    exps: list[Experiment] = []
    counts: list[dict[str, int]] = []
    shots: list[int] = []
    for exp, sl in data.plan.slices():
        cnts, sh = data.counts[sl], data.shots[sl]
        spect = [int(q) for q in (exp.meta or {}).get("spectators") or []]
        if not spect:
            exps.append(exp)
            counts += cnts
            shots += sh
            continue
        k = len(exp.qubits)
        circuits = []
        for c in exp.circuits:
            own = Circuit(c.n_qubits, k)
            for inst in c:
                if not (inst.name == "measure" and inst.clbits and inst.clbits[0] >= k):
                    own.append(inst.name, list(inst.qubits), list(inst.params), list(inst.clbits))
            circuits.append(own)
        for cnt in cnts:
            marginal: dict[str, int] = {}
            for bits, n in cnt.items():
                key = str(bits).replace(" ", "").rjust(k + len(spect), "0")
                marginal[key[-k:]] = marginal.get(key[-k:], 0) + int(n)
                for j, q in enumerate(spect):
                    tally = pooled.setdefault(q, [0, 0])
                    tally[int(key[-(k + j + 1)])] += int(n)
            counts.append({b: marginal[b] for b in sorted(marginal)})
        shots += sh
        meta = {key: v for key, v in exp.meta.items() if key != "spectators"}
        exps.append(Experiment(exp.name, exp.qubits, circuits, list(exp.xs), meta))
    for q in sorted(pooled):
        zeros, ones = pooled[q]
        exps.append(Experiment("readout", (q,), [Circuit(width, 1).measure(q, 0)], [0],
                               {"pooled_spectators": True}))
        counts.append({b: n for b, n in (("0", zeros), ("1", ones)) if n})
        shots.append(zeros + ones)
    return ShotData(CharacterizationPlan(exps, width, data.plan.seed, dict(data.plan.meta)), counts, shots,
                    data.seeds, data.device_name)
