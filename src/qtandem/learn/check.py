"""Model checking: does the fitted device explain the shots?

A fit always returns numbers; this module says whether to believe them. The test is the
likelihood-ratio (deviance) test of the fitted model against the *saturated* model, which gives
every circuit its own free outcome distribution:

    G = 2 * sum_circuits sum_outcomes n * log(n / (N p)),

asymptotically chi-square with ``sum_circuits (outcomes - 1) - fitted parameters`` degrees of
freedom when the model is right. Cells whose expected count ``N p`` is below ``min_expected`` are
pooled into one cell per circuit (the chi-square approximation needs expected counts of order
one). A repeated circuit counts as separate circuits, so two batches of the same plan that
disagree (a drift) raise ``G`` even when one averaged device fits each batch's curve shape.

Besides the whole-data test, each experiment gets its own deviance (its share of the fitted
parameters subtracted, in proportion to its degrees of freedom: an approximation) so that a misfit
confined to one experiment is not diluted by the others; the verdict uses a Bonferroni
correction over all these tests, so the false-alarm rate on data the model does explain stays at
most ``alpha``. Held-out shots (data not used in the fit) give a second test with no fitted
parameters; their predicted probabilities are floored at ``0.5 / N`` (``N`` the fit's median shots per
circuit): a fit to ``N`` shots cannot tell a probability below that from zero (a readout error
fitted to exactly 0 because no flip was seen must not make one held-out flip infinitely unlikely).

Examples:
    >>> import torch
    >>> counts = [{"0": 480, "1": 520}, {"0": 910, "1": 90}]
    >>> probs = [torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])]
    >>> g, dof, _ = deviance(counts, probs)
    >>> round(g, 2), dof
    (2.75, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from qtandem.errors import DataError

__all__ = ["ModelCheck", "check_model", "chi2_sf", "deviance"]


def chi2_sf(x: float, dof: int) -> float:
    """Survival function of the chi-square distribution, ``P(X >= x)`` for ``X ~ chi2(dof)``.

    Examples:
        >>> round(chi2_sf(3.841, 1), 3)
        0.05
        >>> chi2_sf(0.0, 0)
        1.0
    """
    if dof <= 0:
        return 1.0 if x <= 1e-9 else 0.0
    if x <= 0:
        return 1.0
    value = torch.special.gammaincc(torch.tensor(dof / 2.0, dtype=torch.float64),
                                    torch.tensor(x / 2.0, dtype=torch.float64))
    return float(value)


def _as_probs(p: Any, width: int, index: int) -> torch.Tensor:
    t = torch.as_tensor(p.detach() if isinstance(p, torch.Tensor) else p, dtype=torch.float64).reshape(-1)
    if t.numel() != 2**width:
        raise DataError(f"circuit {index}: the model gives {t.numel()} outcome probabilities but the counts have "
                        f"{width}-bit outcomes ({2**width} expected)")
    return t.clamp(min=0.0)


def _width(counts: dict[str, int], probs: Any) -> int:
    if counts:
        return len(next(iter(counts)))
    n = torch.as_tensor(probs).numel()
    return max(round(math.log2(max(n, 1))), 0)


def deviance(counts: Sequence[dict[str, int]], probs: Sequence[Any], *,
             min_expected: float = 1.0) -> tuple[float, int, list[float]]:
    """Deviance of counts against model probabilities, with pooling of sparse cells.

    Args:
        counts: one ``{bitstring: count}`` per circuit (classical bit 0 rightmost).
        probs: per circuit the model's outcome probabilities, indexed by ``int(bitstring, 2)``.
        min_expected: cells with a smaller expected count are pooled into one cell per circuit.

    Returns:
        ``(G, cells_dof, per_circuit_G)``: the deviance, ``sum (cells - 1)`` over circuits (fitted
        parameters not subtracted) and each circuit's share of ``G``.

    Raises:
        DataError: the lists differ in length, or a probability vector has the wrong size.

    Examples:
        >>> import torch
        >>> g, dof, per = deviance([{"0": 50, "1": 50}], [torch.tensor([0.5, 0.5])])
        >>> g, dof, per
        (0.0, 1, [0.0])
    """
    if len(counts) != len(probs):
        raise DataError(f"{len(counts)} count dictionaries but {len(probs)} predicted distributions")
    total, dof, per = 0.0, 0, []
    for i, (cnt, p) in enumerate(zip(counts, probs, strict=True)):
        width = _width(cnt, p)
        pv = _as_probs(p, width, i)
        pv = pv / pv.sum().clamp(min=1e-300)
        n = torch.zeros(2**width, dtype=torch.float64)
        for key, c in cnt.items():
            n[int(key, 2)] += c
        shots = float(n.sum())
        if shots == 0:
            per.append(0.0)
            continue
        expected = shots * pv
        small = expected < min_expected
        if bool(small.any()) and not bool(small.all()):
            n = torch.cat([n[~small], n[small].sum().reshape(1)])
            expected = torch.cat([expected[~small], expected[small].sum().reshape(1)])
        cells = int(n.numel())
        mask = n > 0
        g = 2.0 * float((n[mask] * torch.log(n[mask] / expected[mask].clamp(min=1e-300))).sum())
        g = max(g, 0.0)
        per.append(g)
        total += g
        dof += cells - 1
    return total, dof, per


@dataclass(frozen=True)
class ModelCheck:
    """The verdict of :func:`check_model` (``Calibration.check``).

    Attributes:
        deviance: likelihood-ratio statistic ``G`` of the fit against the saturated model.
        dof: its degrees of freedom (pooled cells minus one per circuit, minus fitted parameters).
        p_value: ``P(chi2(dof) >= G)``.
        alpha: the false-alarm rate the verdict is built for.
        experiments: per experiment ``{"name", "qubits", "deviance", "dof", "p_value"}``.
        heldout: ``{"deviance", "dof", "p_value"}`` of the held-out shots, or None.
        worst: the circuits that contribute most to ``G``: ``(index in the data, G_i)``, largest first.

    Examples:
        >>> check = ModelCheck(deviance=12.0, dof=10, p_value=0.28, alpha=0.01)
        >>> check.flagged, check.ok
        (False, True)
        >>> ModelCheck(deviance=90.0, dof=10, p_value=1e-12, alpha=0.01).flagged
        True
    """

    deviance: float
    dof: int
    p_value: float
    alpha: float = 0.01
    experiments: list[dict[str, Any]] = field(default_factory=list)
    heldout: dict[str, Any] | None = None
    worst: list[tuple[int, float]] = field(default_factory=list)

    @property
    def tests(self) -> int:
        """How many p-values the Bonferroni correction divides ``alpha`` among."""
        return 1 + len(self.experiments) + (self.heldout is not None)

    @property
    def min_p_value(self) -> float:
        """The smallest p-value of all tests, Bonferroni-adjusted (times :attr:`tests`, at most 1)."""
        ps = [self.p_value, *(e["p_value"] for e in self.experiments)]
        if self.heldout is not None:
            ps.append(self.heldout["p_value"])
        return min(1.0, min(ps) * self.tests)

    @property
    def flagged(self) -> bool:
        """True when the model does not explain the data (adjusted p-value below ``alpha``)."""
        return self.min_p_value < self.alpha

    @property
    def ok(self) -> bool:
        """The opposite of :attr:`flagged`."""
        return not self.flagged

    def summary(self) -> str:
        """One paragraph for people: the verdict and where the misfit sits.

        Examples:
            >>> print(ModelCheck(deviance=12.0, dof=10, p_value=0.28).summary())
            model explains the data: deviance 12 on 10 dof (p = 0.28); adjusted min p = 0.28 >= alpha 0.01
        """
        verdict = "MODEL DOES NOT EXPLAIN THE DATA" if self.flagged else "model explains the data"
        text = (f"{verdict}: deviance {self.deviance:.4g} on {self.dof} dof (p = {self.p_value:.2g}); "
                f"adjusted min p = {self.min_p_value:.2g} {'<' if self.flagged else '>='} alpha {self.alpha:g}")
        bad = [e for e in self.experiments if e["p_value"] * self.tests < self.alpha]
        if bad:
            text += "; misfit in " + ", ".join(f"{e['name']} {e['qubits']} (p = {e['p_value']:.2g})" for e in bad)
        if self.heldout is not None:
            text += (f"; held-out deviance {self.heldout['deviance']:.4g} on {self.heldout['dof']} dof "
                     f"(p = {self.heldout['p_value']:.2g})")
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's ``--json`` and the report use it).

        Examples:
            >>> ModelCheck(deviance=1.0, dof=2, p_value=0.6).to_dict()["flagged"]
            False
        """
        return {"deviance": self.deviance, "dof": self.dof, "p_value": self.p_value, "alpha": self.alpha,
                "flagged": self.flagged, "min_p_value_adjusted": self.min_p_value,
                "experiments": self.experiments, "heldout": self.heldout,
                "worst": [[i, g] for i, g in self.worst]}


def _experiment_spans(data: Any, n_circuits: int) -> list[tuple[str, Any, int, int]]:
    spans, start = [], 0
    plan = getattr(data, "plan", None)
    for exp in getattr(plan, "experiments", []) or []:
        stop = start + len(exp.circuits)
        spans.append((exp.name, list(exp.qubits), start, stop))
        start = stop
    if start != n_circuits:  # no usable plan: one span for everything
        return [("all", [], 0, n_circuits)]
    return spans


def check_model(calibration: Any, heldout: Any = None, *, alpha: float = 0.01,
                min_expected: float = 1.0) -> ModelCheck:
    """Goodness-of-fit of a calibration against its own data (and optional held-out shots).

    Args:
        calibration: a :class:`~qtandem.learn.calibrate.Calibration` (uses ``.data``, ``.values``
            and ``.predict(circuits)``).
        heldout: a :class:`~qtandem.learn.data.ShotData` not used in the fit, or None.
        alpha: false-alarm rate of the verdict (Bonferroni over the whole-data, per-experiment and
            held-out tests).
        min_expected: expected count below which cells are pooled.

    Returns:
        A :class:`ModelCheck`; ``.flagged`` says the model does not explain the data.

    Examples:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> from qtandem import Circuit
        >>> data = SimpleNamespace(counts=[{"0": 900, "1": 100}], plan=None,
        ...                        circuits=[Circuit(1, 1).measure(0, 0)])
        >>> cal = SimpleNamespace(data=data, values={}, predict=lambda cs: [torch.tensor([0.9, 0.1])])
        >>> check_model(cal).flagged
        False
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    data = calibration.data
    circuits = list(_circuits_of(data))
    spans = _experiment_spans(data, len(circuits))
    model = getattr(calibration, "model", "full")
    if model != "full":  # a one-experiment fit explains that experiment's circuits only
        spans = [s for s in spans if s[0] == model] or spans
    keep = [j for _, _, a, b in spans for j in range(a, b)]
    counts = [data.counts[j] for j in keep]
    probs = calibration.predict([circuits[j] for j in keep])
    g, cells_dof, per = deviance(counts, probs, min_expected=min_expected)
    n_params = len(calibration.values)
    dof = max(cells_dof - n_params, 1)
    experiments = []
    offset = 0
    for name, qubits, a, b in spans:
        start, stop = offset, offset + (b - a)
        offset = stop
        ge, de, _ = deviance(counts[start:stop], probs[start:stop], min_expected=min_expected)
        de_fit = max(de - round(n_params * de / max(cells_dof, 1)), 1)
        experiments.append({"name": name, "qubits": qubits, "deviance": ge, "dof": de_fit,
                            "p_value": chi2_sf(ge, de_fit)})
    if len(experiments) == 1:  # the whole-data test already is this one
        experiments = []
    held = None
    if heldout is not None:
        floor = 0.5 / max(float(torch.tensor([sum(c.values()) for c in counts], dtype=torch.float64).median()), 1.0)
        hprobs = [torch.as_tensor(p, dtype=torch.float64).clamp_min(floor)
                  for p in calibration.predict(list(_circuits_of(heldout)))]
        gh, dh, _ = deviance(heldout.counts, hprobs, min_expected=min_expected)
        held = {"deviance": gh, "dof": dh, "p_value": chi2_sf(gh, dh)}
    worst = [(keep[i], g_i) for i, g_i in sorted(enumerate(per), key=lambda t: -t[1])[:5]]
    return ModelCheck(deviance=g, dof=dof, p_value=chi2_sf(g, dof), alpha=alpha, experiments=experiments,
                      heldout=held, worst=worst)


def _circuits_of(data: Any) -> list[Any]:
    circuits = getattr(data, "circuits", None)
    if circuits is None:
        circuits = data.plan.circuits
    return list(circuits)
