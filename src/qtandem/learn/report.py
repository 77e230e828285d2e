"""The calibration report: each experiment's data with the fitted curve, the parameters, the model check.

:func:`write_report` (``Calibration.report(folder)``) writes ``folder/report.html`` with one
figure per experiment (``fit_<name>_<qubits>.png``: measured probabilities with binomial
standard-error bars, the fitted model's prediction as a line), the parameter table with standard
errors (``parameters.csv`` beside it) and the verdict of :func:`qtandem.learn.check.check_model`.

Which probability a figure shows: ``rb``/``irb`` the survival probability ``P(all 0)``, every
other experiment ``P(bit j = 1)`` of each measured qubit ``j``, one series per prepared partner or
control state (``zz``, ``amplify_cx``), per Ramsey phase offset (the two quadratures of ``ramsey``
and ``zz``) and per reference/interleaved sequence (``irb``). Circuits
with the same x-value (repeats, RB sequences, merged rounds) are pooled.

Examples:
    >>> rows = parameter_rows({"q0.t1": 8.1e4, "q0.detuning": 2 * math.pi * 20e-6}, {"q0.t1": 3e3})
    >>> [r[:3] for r in rows]
    [['q0.t1', '81 us', '+- 3 us'], ['q0.detuning', '20 kHz (2 pi)', '']]
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["experiment_figure", "experiment_series", "parameter_rows", "write_report"]

_DELAYS = {"t1": "delay (us)", "echo": "total delay (us)", "ramsey": "delay (us)", "zz": "delay (us)"}
_LABELS = {"amplify_sx": "sx gates", "amplify_x": "x gates after one sx", "amplify_cx": "cx gates",
           "rb": "Clifford sequence length", "irb": "two-qubit Clifford sequence length",
           "readout": "prepared basis state"}


def _readable(name: str, value: float) -> str:
    field = name.split(".", 1)[1]
    if not math.isfinite(value):
        return str(value)
    if field in ("t1", "t2"):
        return f"{value / 1e3:.3g} us"
    if field in ("detuning", "zz"):
        return f"{value / (2 * math.pi) * 1e6:.3g} kHz (2 pi)"
    if "angle" in field:
        return f"{value * 1e3:.3g} mrad"
    return f"{value:.3g}"


def parameter_rows(values: dict[str, float], stderr: dict[str, float],
                   bootstrap: dict[str, float] | None = None) -> list[list[str]]:
    """Rows ``[name, value, +- stderr, +- bootstrap std, raw value, raw stderr]`` in readable units.

    Times in us, frequencies in kHz (as ``detuning / 2 pi``), angles in mrad; an empty error means
    none was computed, ``inf`` that the data does not inform the parameter.

    Examples:
        >>> parameter_rows({"e0-1.angle_error": 0.021}, {"e0-1.angle_error": 0.0004})[0][:3]
        ['e0-1.angle_error', '21 mrad', '+- 0.4 mrad']
    """
    rows = []
    for name, value in values.items():
        err = stderr.get(name)
        boot = (bootstrap or {}).get(name)

        def pm(e: float | None, name: str = name) -> str:
            if e is None:
                return ""
            if not math.isfinite(e):
                return "not informed"
            return "+- " + _readable(name, e)

        rows.append([name, _readable(name, float(value)), pm(err), pm(boot), f"{float(value):.6g}",
                     "" if err is None else f"{err:.3g}"])
    return rows


def _bits_one(counts: dict[str, int], width: int) -> np.ndarray:
    out = np.zeros(width)
    for key, n in counts.items():
        for j in range(width):
            if key[len(key) - 1 - j] == "1":
                out[j] += n
    return out


def _series_key(exp: Any, i: int) -> str:
    meta = exp.meta or {}
    parts = []
    for key, label in (("partner_state", "partner"), ("control_state", "control")):
        values = meta.get(key)
        if isinstance(values, list) and i < len(values):
            parts.append(f"{label} |{values[i]}>")
    phases = meta.get("phase_offset")
    if isinstance(phases, list) and i < len(phases):
        parts.append(f"phase {float(phases[i]) / math.pi:.2g} pi")
    flags = meta.get("interleaved")
    if isinstance(flags, list) and i < len(flags):
        parts.append("interleaved cx" if flags[i] else "reference")
    if getattr(exp, "name", None) == "amplify_sx" and any(int(x) % 4 == 2 for x in exp.xs):
        # characterization(amplify="poles"): sx^(4k+1) ends on the equator, sx^(4k+2) = x^(2k+1) at the pole
        parts.append("4k+2 sx (pole)" if int(exp.xs[i]) % 4 == 2 else "4k+1 sx (equator)")
    return ", ".join(parts)


def experiment_series(experiments: Sequence[Any], counts: Sequence[dict[str, int]],
                      probs: Sequence[Any]) -> dict[str, dict[str, list[float]]]:
    """Pooled data and prediction per series of one experiment (several rounds of it may be given).

    Args:
        experiments: experiments with the same name and qubits (``.xs``, ``.meta``, ``.circuits``).
        counts: their counts, concatenated in the same order.
        probs: the model's outcome probabilities of the same circuits.

    Returns:
        ``{series label: {"x", "p", "err", "model", "shots"}}``: sorted x, measured probability,
        its binomial standard error, the predicted probability and the pooled shots.

    Examples:
        >>> from types import SimpleNamespace
        >>> exp = SimpleNamespace(name="t1", qubits=(0,), xs=[0.0, 0.0], meta={}, circuits=[None, None])
        >>> s = experiment_series([exp], [{"0": 10, "1": 90}, {"0": 30, "1": 70}], [[0.2, 0.8], [0.2, 0.8]])
        >>> s["P(q0 = 1)"]["p"], s["P(q0 = 1)"]["model"], s["P(q0 = 1)"]["shots"]
        ([0.8], [0.8], [200.0])
        >>> amp = SimpleNamespace(name="amplify_sx", qubits=(0,), xs=[1.0, 2.0], meta={}, circuits=[None, None])
        >>> sorted(experiment_series([amp], [{"0": 50, "1": 50}, {"0": 5, "1": 95}], [[0.5, 0.5], [0.05, 0.95]]))
        ['P(q0 = 1), 4k+1 sx (equator)', 'P(q0 = 1), 4k+2 sx (pole)']
    """
    pooled: dict[tuple[str, float], list[float]] = {}
    k = 0
    first = experiments[0]
    width = len(first.qubits)
    survival = first.name in ("rb", "irb")
    for exp in experiments:
        for i, x in enumerate(exp.xs):
            cnt, pr = counts[k], np.asarray(
                probs[k].detach().numpy() if hasattr(probs[k], "detach") else probs[k], dtype=float)
            k += 1
            shots = float(sum(cnt.values()))
            tag = _series_key(exp, i)
            if survival:
                measured: dict[str, float] = {"P(all 0)": float(cnt.get("0" * width, 0))}
                predicted = {"P(all 0)": float(pr[0])}
            else:
                ones = _bits_one(cnt, width)
                measured, predicted = {}, {}
                for j, q in enumerate(exp.qubits):
                    label = f"P(q{q} = 1)"
                    measured[label] = float(ones[j])
                    predicted[label] = float(sum(p for idx, p in enumerate(pr) if idx >> j & 1))
            for label, n in measured.items():
                name = f"{label}, {tag}" if tag else label
                acc = pooled.setdefault((name, float(x)), [0.0, 0.0, 0.0])
                acc[0] += float(n)
                acc[1] += shots
                acc[2] += predicted[label] * shots
    out: dict[str, dict[str, list[float]]] = {}
    for (name, x), (n, total, model) in sorted(pooled.items()):
        s = out.setdefault(name, {"x": [], "p": [], "err": [], "model": [], "shots": []})
        p = n / total if total else math.nan
        s["x"].append(x)
        s["p"].append(p)
        s["err"].append(math.sqrt(max(p * (1 - p), 1 / total) / total) if total else math.nan)  # >= 1/N at p = 0
        s["model"].append(model / total if total else math.nan)
        s["shots"].append(total)
    return out


def _figure(name: str, qubits: tuple[int, ...], series: dict[str, dict[str, list[float]]]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    scale = 1e-3 if name in _DELAYS else 1.0
    for k, (label, s) in enumerate(series.items()):
        colour = f"C{k % 10}"
        x = np.asarray(s["x"]) * scale
        ax.errorbar(x, s["p"], yerr=s["err"], fmt="o", ms=3.5, color=colour, capsize=2, label=f"{label} (data)")
        ax.plot(x, s["model"], "-", color=colour, alpha=0.8, lw=1.4)
    ax.set_xlabel(_DELAYS.get(name, _LABELS.get(name, "x")))
    ax.set_ylabel("probability")
    if name in ("rb", "irb") and all(v > 0 for s in series.values() for v in s["x"]):
        ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{name} on {', '.join(f'q{q}' for q in qubits)}: data (points, 1 sigma) and fit (lines)")
    return fig


def experiment_figure(calibration: Any, name: str, qubits: Sequence[int]) -> Any:
    """The matplotlib figure of one experiment's data and fit (every round of it pooled).

    Raises:
        DataError: the calibration's data has no experiment ``name`` on ``qubits``.

    Examples:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> from qtandem import Circuit
        >>> exp = SimpleNamespace(name="t1", qubits=(0,), xs=[0.0, 5e4], meta={},
        ...                       circuits=[Circuit(1, 1).measure(0, 0)] * 2)
        >>> data = SimpleNamespace(plan=SimpleNamespace(experiments=[exp]),
        ...                        counts=[{"1": 98, "0": 2}, {"1": 60, "0": 40}])
        >>> cal = SimpleNamespace(data=data, predict=lambda cs: [torch.tensor([0.02, 0.98]), torch.tensor([0.4, 0.6])])
        >>> experiment_figure(cal, "t1", [0]).axes[0].get_xlabel()
        'delay (us)'
    """
    from qtandem.errors import DataError

    data = calibration.data
    members, start = [], 0
    for exp in data.plan.experiments:
        if exp.name == name and tuple(exp.qubits) == tuple(qubits):
            members.append((exp, start))
        start += len(exp.circuits)
    if not members:
        raise DataError(f"the data has no experiment {name!r} on qubits {list(qubits)}")
    idx = [s + i for e, s in members for i in range(len(e.circuits))]
    probs = calibration.predict([e.circuits[i] for e, _ in members for i in range(len(e.circuits))])
    series = experiment_series([e for e, _ in members], [data.counts[i] for i in idx], probs)
    return _figure(name, tuple(qubits), series)


def write_report(calibration: Any, folder: str | Path, *, check: Any = None, title: str | None = None) -> Path:
    """Write the calibration report (``Calibration.report``) and return the page's path.

    Args:
        calibration: a fitted :class:`~qtandem.learn.calibrate.Calibration` with its data.
        folder: output folder (created; figures, ``parameters.csv`` and ``report.html`` go there).
        check: a :class:`~qtandem.learn.check.ModelCheck` already computed (default: computed here).
        title: page title.

    Returns:
        The path of ``report.html``.

    Raises:
        DataError: the calibration has no data (one read back from JSON).

    Examples:
        >>> import tempfile
        >>> from types import SimpleNamespace
        >>> from qtandem import Circuit
        >>> from qtandem.learn.calibrate import calibrate
        >>> exp = SimpleNamespace(name="readout", qubits=(0,), xs=[0, 1], meta={},
        ...                       circuits=[Circuit(1, 1).measure(0, 0), Circuit(1, 1).x(0).measure(0, 0)])
        >>> data = SimpleNamespace(plan=SimpleNamespace(experiments=[exp], circuits=exp.circuits),
        ...                        counts=[{"0": 970, "1": 30}, {"0": 50, "1": 950}], shots=1000)
        >>> path = write_report(calibrate(data, restarts=1), tempfile.mkdtemp())
        >>> sorted(p.name for p in path.parent.iterdir())
        ['fit_readout_q0.png', 'parameters.csv', 'report.html']
    """
    from qtandem.errors import DataError
    from qtandem.io import atomic_write_text
    from qtandem.learn.check import check_model
    from qtandem.report import Report

    data = calibration.data
    if data is None:
        raise DataError("this calibration has no shot data (read back from JSON?): fit the data folder again to "
                        "draw its report")
    folder = Path(folder)
    name = getattr(data, "device_name", None) or "device"
    report = Report(title or f"Calibration of {name} from its shots", folder)
    check = check if check is not None else check_model(calibration)
    plan = data.plan
    circuits = [c for e in plan.experiments for c in e.circuits]
    probs = calibration.predict(circuits)
    shots_total = int(sum(sum(c.values()) for c in data.counts))

    summary = report.section("Summary")
    summary.text(f"{len(calibration.values)} parameters fitted by maximum likelihood (model "
                 f"{getattr(calibration, 'model', 'full')!r}, negative log-likelihood {calibration.nll:.2f}) to "
                 f"{len(circuits)} circuits, {shots_total} shots in all.")
    verdict = "bad" if check.flagged else "ok"
    summary.html(f'<p class="{verdict}">Model check: {check.summary()}</p>')
    if check.experiments:
        summary.table(["experiment", "qubits", "deviance", "dof", "p-value"],
                      [[e["name"], str(e["qubits"]), float(e["deviance"]), int(e["dof"]), float(e["p_value"])]
                       for e in check.experiments])

    rows = parameter_rows(calibration.values, calibration.stderr, getattr(calibration, "bootstrap_stderr", None))
    params = report.section("Parameters")
    params.table(["parameter", "value", "std. error (Fisher)", "std. error (bootstrap)", "raw value", "raw error"],
                 [list(r) for r in rows])
    uninformed = list(getattr(calibration, "uninformed", []) or [])
    if uninformed:
        params.text("Not informed by the data (a flat direction of the likelihood): " + ", ".join(uninformed))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["parameter", "value", "stderr", "bootstrap_stderr"])
    for key, value in calibration.values.items():
        boot = (getattr(calibration, "bootstrap_stderr", None) or {}).get(key)
        writer.writerow([key, repr(float(value)), repr(float(calibration.stderr.get(key, math.nan))),
                         "" if boot is None else repr(float(boot))])
    atomic_write_text(folder / "parameters.csv", buf.getvalue())

    fits = report.section("Experiments")
    groups: dict[tuple[str, tuple[int, ...]], list[tuple[Any, int]]] = {}
    start = 0
    for exp in plan.experiments:
        groups.setdefault((exp.name, tuple(exp.qubits)), []).append((exp, start))
        start += len(exp.circuits)
    for (exp_name, qubits), members in groups.items():
        exps = [e for e, _ in members]
        idx = [s + i for e, s in members for i in range(len(e.circuits))]
        series = experiment_series(exps, [data.counts[i] for i in idx], [probs[i] for i in idx])
        fig = _figure(exp_name, qubits, series)
        tag = "_".join(f"q{q}" for q in qubits)
        fits.figure(fig, f"fit_{exp_name}_{tag}",
                    f"{exp_name} on {', '.join(map(str, qubits))}: {len(idx)} circuits; points with binomial "
                    "1-sigma bars, lines the fitted model's prediction.")
    return report.write()
