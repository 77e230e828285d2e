"""The co-design loop: characterize -> calibrate -> compile and run -> mitigate -> detect drift -> re-learn.

:func:`run_loop` runs a :class:`~qtandem.codesign.config.LoopConfig` on a :class:`Hardware` (a
published calibration and the executor of each iteration), the *learned* pipeline beside the
same pipeline with the published (stale) calibration, and writes a run folder:

- ``state.json``: the checkpoint, rewritten atomically after every stage (the stage records,
  what is done, which qubits the last drift test flagged);
- ``iter<t>/``: each stage's output (``characterize/`` shot data, ``device.json`` the learned
  device, ``run_loop.json`` / ``run_stale.json`` the workload results, ``detect.json``);
- ``report.html`` with per-stage cost (shots, seconds) and gain (error vs the stale pipeline),
  and its plots.

Each iteration: characterize (iteration 0: every qubit and coupling of the device; later: only
the qubits the drift test flagged; nothing when it flagged none), calibrate (the learned device,
starting from the previous belief), run the workload (it compiles for and mitigates with the
belief) and the stale baseline, then test the workload's own observations against the last run
with the same belief. ``resume=True`` skips the stages ``state.json`` lists as done, reading
their outputs back, so a resumed run ends bit-for-bit where an uninterrupted one does (every
stage's seed is derived from the loop seed, the iteration and the stage).

Examples:
    >>> import tempfile
    >>> from qtandem.codesign.config import parse_config
    >>> cfg = parse_config('[loop]\\niterations = 1\\n[device]\\nn_qubits = 4\\n'
    ...                    '[characterize]\\nshots = 50\\nexperiments = ["readout"]\\n'
    ...                    '[workload]\\nn_qubits = 2\\nshots = 400\\n')
    >>> res = run_loop(cfg, output=tempfile.mkdtemp(), progress=False)
    >>> [r.stage for r in res.records]
    ['characterize', 'calibrate', 'run', 'mitigate', 'run', 'mitigate']
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtandem.codesign import stages
from qtandem.codesign.config import LoopConfig
from qtandem.codesign.stages import StageRecord, WorkloadResult
from qtandem.errors import CheckpointError
from qtandem.random import derive_seed

if TYPE_CHECKING:
    from qtandem.device import Device
    from qtandem.device.executors import Executor

__all__ = ["Hardware", "LoopResult", "hardware_from_config", "run_loop"]

STATE = "state.json"
STAGE_IDS = {"characterize": 1, "calibrate": 2, "run": 3, "stale": 4, "detect": 5}


@dataclass
class Hardware:
    """What the loop runs on: the published calibration and the executor of each iteration.

    Attributes:
        published: the calibration the user downloads (the stale pipeline's belief and the
            learned pipeline's starting prior).
        executor: ``executor(t, seed) -> Executor`` for iteration ``t``; for real hardware, a
            function returning the backend's executor (e.g.
            :func:`qtandem.device.executors.qiskit_executor`) whatever ``t``.
        actual: ``actual(t) -> Device`` when the truth is known (simulations): the report
            then shows how far each belief is from it. ``None`` on real hardware.

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.device.executors import simulator_executor
        >>> dev = Device.preset("line_5")
        >>> hw = Hardware(dev, lambda t, seed: simulator_executor(dev, seed=seed))
        >>> hw.published.name
        'line_5'
    """

    published: Device
    executor: Callable[[int, int], Executor]
    actual: Callable[[int], Device] | None = None


def hardware_from_config(cfg: LoopConfig) -> Hardware:
    """The :class:`Hardware` a config's ``[device]`` describes.

    Examples:
        >>> from qtandem.codesign.config import parse_config
        >>> hw = hardware_from_config(parse_config('[device]\\nkind = "file"\\npublished = "line_5"\\n'))
        >>> hw.published.name, hw.actual(0).name
        ('line_5', 'line_5')
    """
    dev = cfg.device
    if dev["kind"] == "hidden":
        from qtandem.codesign.drift import DriftSpec, hidden_device

        hidden = hidden_device(int(dev["n_qubits"]), seed=int(dev["seed"]), coupling=str(dev["coupling"]),
                               spec=DriftSpec(creep=float(dev["creep"])))
        return Hardware(hidden.published, lambda t, seed: hidden.executor(t, seed=seed), hidden.actual)
    from qtandem.device import Device
    from qtandem.device.executors import simulator_executor

    published = Device.load(dev["published"])
    actual = Device.load(dev["actual"])
    return Hardware(published, lambda t, seed: simulator_executor(actual, seed=seed), lambda t: actual)


@dataclass
class LoopResult:
    """What :func:`run_loop` measured.

    Attributes:
        records: every :class:`~qtandem.codesign.stages.StageRecord`, in order (``pipeline``
            in their ``notes`` prefix: the stale baseline's runs say ``stale``).
        results: ``{"loop": [...], "stale": [...]}``: the workload's result per iteration.
        output: the run folder.
        report: the HTML report's path.

    Examples:
        >>> LoopResult([], {"loop": [], "stale": []}, Path("."), None).table()
        []
    """

    records: list[StageRecord]
    results: dict[str, list[WorkloadResult]]
    output: Path
    report: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        """Per iteration: the loop's and the stale pipeline's error and their ratio.

        Examples:
            >>> r = WorkloadResult("w", 0.9, 0.1, 10, {})
            >>> s = WorkloadResult("w", 0.7, 0.3, 10, {})
            >>> round(LoopResult([], {"loop": [r], "stale": [s]}, Path("."), None).table()[0]["gain"], 6)
            3.0
        """
        rows = []
        for t, res in enumerate(self.results.get("loop", [])):
            row: dict[str, Any] = {"iteration": t, "loop_value": res.value, "loop_error": res.error,
                                   "loop_error_raw": res.details.get("error_raw")}
            stale = self.results.get("stale", [])
            if t < len(stale):
                row.update(stale_value=stale[t].value, stale_error=stale[t].error,
                           gain=stale[t].error / res.error if res.error > 0 else float("inf"))
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``qtandem loop --json``).

        Examples:
            >>> LoopResult([], {"loop": [], "stale": []}, Path("out"), None).to_dict()["output"]
            'out'
        """
        shots: dict[str, int] = {}
        for r in self.records:
            shots[r.stage] = shots.get(r.stage, 0) + r.shots
        return {"output": str(self.output), "report": None if self.report is None else str(self.report),
                "table": self.table(), "shots_by_stage": shots, "records": [r.to_dict() for r in self.records],
                **self.meta}


class _Checkpoint:
    """``state.json``: the config, the records, the done stages and the loop's small state."""

    def __init__(self, folder: Path, cfg: LoopConfig, resume: bool) -> None:
        self.path = folder / STATE
        self.state: dict[str, Any] = {"config": cfg.to_dict(), "done": [], "records": [], "flagged": None,
                                      "reference": None}
        if resume and self.path.exists():
            saved = json.loads(self.path.read_text())
            from qtandem.training import check_resumable

            check_resumable(saved.get("config", {}), cfg.to_dict(), resumable={"iterations"}, path=self.path,
                            source=cfg.source)
            self.state = saved
            self.state["config"] = cfg.to_dict()
        elif self.path.exists() and not resume:
            raise CheckpointError(f"{self.path}: a loop was already run in this folder; resume it (--resume) or "
                                  "choose another output folder")

    def done(self, key: str) -> bool:
        return key in self.state["done"]

    def finish(self, key: str, record: StageRecord | list[StageRecord] | None, **updates: Any) -> None:
        from qtandem.io import atomic_write_text

        recs = record if isinstance(record, list) else [record] if record is not None else []
        self.state["records"].extend(r.to_dict() for r in recs)
        self.state["done"].append(key)
        self.state.update(updates)
        atomic_write_text(self.path, json.dumps(self.state, indent=1) + "\n")


def _write_json(path: Path, data: Any) -> None:
    from qtandem.io import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def _belief_error(belief: Device, actual: Device, qubits: list[int]) -> dict[str, float]:
    """Mean |belief - truth| of the numbers the loop learns, on ``qubits`` (simulations only)."""
    import numpy as np

    qs = qubits or list(range(actual.num_qubits))
    rot = [abs(belief.qubits[q].sx_angle_error - actual.qubits[q].sx_angle_error) for q in qs]
    ro = [abs(belief.qubits[q].readout_p10 - actual.qubits[q].readout_p10) for q in qs]
    t1 = [abs(belief.qubits[q].t1 / actual.qubits[q].t1 - 1) for q in qs]
    return {"sx_angle_mae": float(np.mean(rot)), "readout_p10_mae": float(np.mean(ro)),
            "t1_rel_mae": float(np.mean(t1))}


def run_loop(config: LoopConfig, *, output: str | Path, resume: bool = False, progress: bool = True,
             hardware: Hardware | None = None, report: bool = True) -> LoopResult:
    """Run the co-design loop (module docstring) and write its run folder.

    Args:
        config: the parsed configuration (:func:`~qtandem.codesign.config.parse_config`).
        output: the run folder (created).
        resume: continue the run in ``output`` from its ``state.json``, skipping finished stages.
        progress: a progress bar on stderr.
        hardware: the hardware (default: :func:`hardware_from_config`); pass your own to run on
            a real backend with a real calibration file.
        report: write ``report.html`` and its plots.

    Returns:
        The :class:`LoopResult`.

    Raises:
        ConfigError: a bad workload kind or option.
        CheckpointError: ``output`` holds another run (without ``resume``), or the configuration
            changed since the checkpoint (only ``loop.iterations`` may).

    Examples:
        >>> import tempfile
        >>> from qtandem.codesign.config import parse_config
        >>> from qtandem.device import Device
        >>> from qtandem.device.executors import simulator_executor
        >>> cfg = parse_config('[loop]\\niterations = 1\\nbaseline = false\\n'
        ...                    '[characterize]\\nshots = 50\\nexperiments = ["readout"]\\n'
        ...                    '[workload]\\nn_qubits = 2\\nshots = 400\\n')
        >>> dev = Device.preset("line_5")
        >>> hw = Hardware(dev, lambda t, seed: simulator_executor(dev, seed=seed))
        >>> res = run_loop(cfg, output=tempfile.mkdtemp(), hardware=hw, progress=False, report=False)
        >>> len(res.results["loop"]), res.results["stale"]
        (1, [])
    """
    from qtandem.device import Device
    from qtandem.training import progress_bar

    cfg = config
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    hw = hardware or hardware_from_config(cfg)
    workload = stages.make_workload(cfg.workload_kind, **cfg.workload_options)
    ck = _Checkpoint(folder, cfg, resume)
    published = hw.published
    belief = published
    results: dict[str, list[WorkloadResult]] = {"loop": [], "stale": []}
    all_qubits = list(range(published.num_qubits))
    pipelines = ["characterize", "calibrate", "run", *(["stale"] if cfg.baseline else []), "detect"]
    bar = progress_bar(progress, total=cfg.iterations * len(pipelines),
                       done=len([k for k in ck.state["done"] if int(k.split(".")[0]) < cfg.iterations]),
                       label="loop", fields={"stage": "stage"})
    try:
        for t in range(cfg.iterations):
            it = folder / f"iter{t}"
            flagged = ck.state["flagged"]
            targets = all_qubits if t == 0 else sorted(flagged or [])
            # -- characterize + calibrate
            key = f"{t}.characterize"
            if not ck.done(key):
                bar.update(stage=f"{t} characterize")
                start = time.perf_counter()
                if targets:
                    pairs = [e for e in sorted(belief.edges) if e[0] in targets and e[1] in targets]
                    data = stages.characterize(belief, hw.executor(t, derive_seed(cfg.seed, t, 1)), targets, pairs,
                                               shots=cfg.characterize_shots, experiments=cfg.experiments,
                                               seed=derive_seed(cfg.seed, t, STAGE_IDS["characterize"]))
                    data.save(it / "characterize")
                    n_shots = int(sum(data.shots)) if isinstance(data.shots, list) else data.shots * len(data.counts)
                    note = f"qubits {targets}, {len(pairs)} couplings, {len(data.counts)} circuits"
                else:
                    n_shots, note = 0, "no drift detected: nothing re-characterized"
                ck.finish(key, StageRecord("characterize", t, n_shots, time.perf_counter() - start, {}, note))
            bar.advance()
            key = f"{t}.calibrate"
            if not ck.done(key):
                bar.update(stage=f"{t} calibrate")
                start = time.perf_counter()
                metrics: dict[str, float] = {}
                if (it / "characterize").exists():
                    from qtandem.learn import ShotData

                    belief = stages.calibrate(ShotData.load(it / "characterize"), belief, method=cfg.method,
                                              seed=derive_seed(cfg.seed, t, STAGE_IDS["calibrate"]))
                    belief.to_json(it / "device.json")
                    version = t
                    if hw.actual is not None:
                        metrics = _belief_error(belief, hw.actual(t), [])
                else:
                    version = ck.state.get("version", 0)
                ck.finish(key, StageRecord("calibrate", t, 0, time.perf_counter() - start, metrics,
                                           "learned device" if metrics or (it / "device.json").exists()
                                           else "belief unchanged"), version=version)
            version = int(ck.state.get("version", 0))
            belief = Device.from_json(folder / f"iter{version}" / "device.json")
            # -- run (compile + execute + mitigate inside the workload), learned and stale
            run_seed = derive_seed(cfg.seed, t, STAGE_IDS["run"])
            for name, device in (("loop", belief), ("stale", published)):
                if name == "stale" and not cfg.baseline:
                    continue
                key = f"{t}.{'run' if name == 'loop' else 'stale'}"
                path = it / f"run_{name}.json"
                if not ck.done(key):
                    bar.update(stage=f"{t} run ({name})")
                    start = time.perf_counter()
                    res = workload.run(device, hw.executor(t, derive_seed(cfg.seed, t, 2)), shots=cfg.workload_shots,
                                       seed=run_seed)
                    seconds = time.perf_counter() - start
                    _write_json(path, res.to_dict())
                    recs = [StageRecord("run", t, res.shots, seconds, {"error": res.error, "value": res.value},
                                        f"{name}: compiled for and run with the {name} belief"),
                            StageRecord("mitigate", t, 0, 0.0, {"error_before": float(res.details.get("error_raw",
                                                                                                      res.error)),
                                                                "error": res.error},
                                        f"{name}: readout mitigation with the {name} belief")]
                    ck.finish(key, recs)
                results[name].append(WorkloadResult.from_dict(json.loads(path.read_text())))
                bar.advance()
            # -- detect: this run against the last one with the same belief
            key = f"{t}.detect"
            if not ck.done(key):
                bar.update(stage=f"{t} detect")
                start = time.perf_counter()
                ref = ck.state.get("reference")
                out: dict[str, Any] = {"drifted": False, "qubits": [], "which": [], "p_value": 1.0}
                rec = None
                if ref is not None and ref["version"] == version:
                    ref_res = WorkloadResult.from_dict(json.loads((folder / ref["path"]).read_text()))
                    out = stages.detect(ref_res, results["loop"][-1], alpha=cfg.alpha)
                    rec = StageRecord("detect", t, 0, time.perf_counter() - start,
                                      {"p_value": out["p_value"], "drifted": float(out["drifted"])},
                                      f"flagged qubits {out['qubits']}" if out["drifted"] else "no drift")
                _write_json(it / "detect.json", out)
                ck.finish(key, rec, flagged=out["qubits"],
                          reference={"version": version, "path": f"iter{t}/run_loop.json"}
                          if ref is None or ref["version"] != version else ref)
            bar.advance()
    finally:
        bar.close()
    records = [StageRecord.from_dict(r) for r in ck.state["records"]]
    result = LoopResult(records, results, folder, None,
                        {"workload": workload.name, "device": published.name, "config": cfg.to_dict()})
    if report:
        from qtandem.codesign.loop_report import write_loop_report

        result.report = write_loop_report(result, folder)
    return result
