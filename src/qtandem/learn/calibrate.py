"""Maximum-likelihood calibration: every calibration number of a device from its shot data, jointly.

:func:`calibrate` maximises the multinomial likelihood of every count of a
:class:`~qtandem.learn.ShotData` through the noisy simulator
(:class:`~qtandem.learn.likelihood.LikelihoodModel`, which runs ``Device.noise_model()``
with tensor-valued numbers). The fit works in an unconstrained parametrisation:
``log T1``, ``T2 = 2 T1 sigmoid(u)`` (so ``T2 <= 2 T1`` by construction), logits of
probabilities, and scaled free angles and frequencies.

Initial values come from a one-parameter profile: each parameter in turn (readout,
T1, T2, detuning, ZZ, angle errors, gate errors) takes the best value on a grid
against the circuits of the experiments that inform it, the others held. The grids of
oscillating parameters (detuning, ZZ, over-rotations) are as fine as the longest
delay or deepest repetition of the data needs, so the start lies in the right fringe.
Then L-BFGS (Adam as a fallback) from that start and from ``restarts - 1`` seeded
perturbations of it; the best optimum wins. Uncertainties are the square roots of the
diagonal of the inverse Hessian of the NLL (observed Fisher information) in physical
units; parameters the data does not inform (a zero direction of the Hessian) are
listed in :attr:`Calibration.uninformed` with an infinite standard error.
``bootstrap=B`` refits ``B`` multinomial resamples of the counts (seeded).

Examples:
    >>> from qtandem.device import Device
    >>> from qtandem.learn.calibrate import model_parameters
    >>> model_parameters([("t1", (0,)), ("readout", (0,))], "full", Device.preset("line_5"))
    ['q0.readout_p01', 'q0.readout_p10', 'q0.t1']
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import torch

from qtandem.device import Device
from qtandem.device.device import EdgeProperties, QubitProperties
from qtandem.errors import DataError, QtandemError
from qtandem.learn.data import ShotData, fold_spectators
from qtandem.learn.likelihood import LikelihoodModel, _circuits_counts, _count_vector, parse_param
from qtandem.random import as_generator

__all__ = ["EXPERIMENT_FIELDS", "Calibration", "calibrate", "model_parameters", "typical_device"]

Tensor = torch.Tensor
_R = torch.float64

#: What each experiment informs: qubit fields of each of its qubits, ``e:`` fields of its pair.
EXPERIMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "readout": ("readout_p01", "readout_p10"),
    "t1": ("t1",),
    "ramsey": ("t2", "detuning"),
    "echo": ("t2",),
    "amplify_sx": ("sx_angle_error", "gate_error_1q"),
    "amplify_x": ("x_angle_error", "sx_angle_error", "gate_error_1q"),
    "amplify_cx": ("e:angle_error", "e:error"),
    "zz": ("e:zz", "t2", "detuning"),
    "rb": ("gate_error_1q",),
    "irb": ("e:error",),
}
_ORDER = ("readout_p01", "readout_p10", "t1", "t2", "detuning", "sx_angle_error", "x_angle_error",
          "gate_error_1q", "angle_error", "zz", "error")
_SCALE = {"detuning": 1e-4, "zz": 1e-4, "sx_angle_error": 1e-2, "x_angle_error": 1e-2, "angle_error": 1e-2}
_PROBS = ("gate_error_1q", "readout_p01", "readout_p10", "error")


def typical_device(num_qubits: int, pairs: Sequence[tuple[int, int]] = ()) -> Device:
    """A device with today's typical numbers (the default ``prior``): T1 = T2 = 100 us, 2% readout error,
    ``sx`` 35.6 ns with error 5e-4, ``cx`` 400 ns with error 1e-2, readout 750 ns.

    Examples:
        >>> dev = typical_device(3, [(0, 1)])
        >>> dev.num_qubits, sorted(dev.edges), dev.qubits[0].t1
        (3, [(0, 1)], 100000.0)
    """
    qubits = [QubitProperties(t1=100e3, t2=100e3, readout_p01=0.02, readout_p10=0.02, gate_error_1q=5e-4,
                              gate_duration_1q=35.6, readout_duration=750.0) for _ in range(num_qubits)]
    edges = {(min(a, b), max(a, b)): EdgeProperties(error=1e-2, duration=400.0) for a, b in pairs}
    graph = nx.Graph()
    graph.add_nodes_from(range(num_qubits))
    graph.add_edges_from(edges)
    return Device(name="typical", num_qubits=num_qubits, coupling_map=graph,
                  native_gates=["cx", "id", "measure", "reset", "rz", "sx", "x"], qubits=qubits, edges=edges,
                  source="qtandem.learn.calibrate.typical_device")


def _experiments(data: Any) -> list[tuple[str, tuple[int, ...]]]:
    return [(str(e.name), tuple(int(q) for q in e.qubits)) for e in data.plan.experiments]


def model_parameters(experiments: Sequence[tuple[str, Sequence[int]]], model: str, base: Device) -> list[str]:
    """The parameter names a fit of ``model`` (``"full"`` or one experiment name) estimates.

    Readout errors of every measured qubit are always in (every experiment depends on them).

    Raises:
        DataError: ``model`` is neither ``"full"`` nor the name of an experiment in the data.

    Examples:
        >>> from qtandem.device import Device
        >>> model_parameters([("zz", (1, 0))], "zz", Device.preset("line_5"))
        ['q1.readout_p01', 'q1.readout_p10', 'q1.t2', 'q1.detuning', 'q0.readout_p01', 'q0.readout_p10', 'e0-1.zz']
    """
    names = sorted({n for n, _ in experiments})
    if model != "full" and model not in names:
        raise DataError(f"model {model!r}: expected 'full' or an experiment of the data ({', '.join(names)})")
    qubit_fields: dict[int, set[str]] = {}
    edge_fields: dict[tuple[int, int], set[str]] = {}
    for name, qubits in experiments:
        if name not in EXPERIMENT_FIELDS:
            raise DataError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENT_FIELDS)})")
        for q in qubits:
            qubit_fields.setdefault(int(q), set()).update(("readout_p01", "readout_p10"))
        if model not in ("full", name):
            continue
        fields = EXPERIMENT_FIELDS[name]
        target = [int(qubits[0])] if name in ("zz", "amplify_cx", "irb") else [int(q) for q in qubits]
        for f in fields:
            if f.startswith("e:"):
                pair = (min(qubits), max(qubits))
                if pair not in base.edges:
                    raise DataError(f"experiment {name!r} on {tuple(qubits)}: the device has no coupling {pair}")
                edge_fields.setdefault(pair, set()).add(f[2:])
            else:
                for q in target:
                    qubit_fields[q].add(f)
    out: list[str] = []
    for q in qubit_fields:
        out.extend(f"q{q}.{f}" for f in _ORDER if f in qubit_fields[q])
    for (a, b) in sorted(edge_fields):
        out.extend(f"e{a}-{b}.{f}" for f in _ORDER if f in edge_fields[(a, b)])
    return out


# -- the unconstrained parametrisation -----------------------------------------------------------------------
class _Transform:
    """``theta = phys(u)``: log times, T2 = 2 T1 sigmoid, logit probabilities, scaled angles/frequencies."""

    def __init__(self, lik: LikelihoodModel) -> None:
        self.names = lik.param_names
        self.parsed = [parse_param(n) for n in self.names]
        base = lik.theta0()
        self.t1_of: dict[int, int | float] = {}
        for i, (kind, where, f) in enumerate(self.parsed):
            if kind == "q" and f == "t2":
                q = int(where)  # type: ignore[arg-type]
                idx = self.names.index(f"q{q}.t1") if f"q{q}.t1" in self.names else None
                self.t1_of[i] = idx if idx is not None else float(lik.base.qubits[q].t1)
        self.base = base

    def phys(self, u: Tensor) -> Tensor:
        out: list[Tensor] = []
        for i, (_, _, f) in enumerate(self.parsed):
            if f == "t1":
                out.append(torch.exp(u[i]))
            elif f == "t2":
                ref = self.t1_of[i]
                t1 = torch.exp(u[ref]) if isinstance(ref, int) else torch.tensor(ref, dtype=_R)
                out.append(2 * t1 * torch.sigmoid(u[i]))
            elif f in _PROBS:
                out.append(torch.sigmoid(u[i]))
            else:
                out.append(u[i] * _SCALE[f])
        return torch.stack(out)

    def unphys(self, theta: Tensor) -> Tensor:
        out: list[float] = []
        for i, (_, _, f) in enumerate(self.parsed):
            v = float(theta[i])
            if f == "t1":
                out.append(math.log(max(v, 1e-3)))
            elif f == "t2":
                ref = self.t1_of[i]
                t1 = float(theta[ref]) if isinstance(ref, int) else ref
                out.append(_logit(v / (2 * t1)))
            elif f in _PROBS:
                out.append(_logit(v))
            else:
                out.append(v / _SCALE[f])
        return torch.tensor(out, dtype=_R)


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


# -- the objective -------------------------------------------------------------------------------------------
class _Objective:
    """The NLL of a fixed set of circuits and counts, as dense count vectors."""

    def __init__(self, lik: LikelihoodModel, circuits: Sequence[Any], counts: Sequence[Mapping[str, int]]) -> None:
        self.lik = lik
        self.circuits = list(circuits)
        self.counts = [_count_vector(c, 2**circ.n_clbits) for c, circ in zip(counts, self.circuits, strict=True)]
        self.total = float(sum(float(c.sum()) for c in self.counts)) or 1.0

    def nll(self, theta: Tensor, subset: Sequence[int] | None = None) -> Tensor:
        idx = range(len(self.circuits)) if subset is None else subset
        return self.lik.nll_counts([self.circuits[i] for i in idx], [self.counts[i] for i in idx], theta)


def _safe(fn: Callable[[], Tensor]) -> float:
    try:
        with torch.no_grad():
            v = float(fn())
    except (QtandemError, RuntimeError, ValueError):
        return math.inf
    return v if math.isfinite(v) else math.inf


def _grid(field_name: str, cur: float, extent: dict[str, float], limit: float | None = None) -> np.ndarray:
    """Candidate physical values of one parameter for the profile initialisation."""
    if field_name == "t1":
        return np.geomspace(2e3, 3e6, 36)
    if field_name == "t2":
        return np.linspace(0.02, 0.995, 28)  # as a fraction of 2 T1
    if field_name in ("readout_p01", "readout_p10"):
        return np.concatenate([np.geomspace(1e-4, 0.02, 12), np.linspace(0.03, 0.4, 20)])
    if field_name == "gate_error_1q":
        return np.geomspace(1e-5, 0.05, 24)
    if field_name == "error":
        return np.geomspace(1e-4, 0.3, 24)
    if field_name in ("detuning", "zz"):
        span = max(2 * math.pi * (2e-4 if field_name == "zz" else 1e-4), 3 * abs(cur))
        if limit:  # a Ramsey with virtual detuning w_v tells the sign only while |detuning| < w_v
            span = 0.999 * limit
        t = max(extent.get("time", 0.0), 1.0)
        count = int(min(max(2 * span * t / 2.5, 41), 601))
        return np.linspace(-span, span, count | 1)
    span = max(0.15, 3 * abs(cur))  # angle errors
    reps = max(extent.get("reps", 1.0), 1.0)
    count = int(min(max(2 * span * reps / 0.5, 41), 401))
    return np.linspace(-span, span, count | 1)


def _extent(lik: LikelihoodModel, circuit: Any) -> tuple[float, float]:
    """(idle time per active qubit, non-virtual gate count) of a circuit: how fast it oscillates."""
    prog = lik._program(circuit)
    time = sum(k[2] for k in prog.steps if k[0] == "idle") / max(len(prog.active), 1)
    return time, float(sum(1 for k in prog.steps if k[0] == "g" and k[1] != "rz"))


#: The experiment whose circuits set each field's starting value (the others follow in the joint fit).
_PRIMARY = {"readout_p01": ("readout",), "readout_p10": ("readout",), "t1": ("t1",), "t2": ("echo", "ramsey"),
            "detuning": ("ramsey",), "sx_angle_error": ("amplify_sx",), "x_angle_error": ("amplify_x",),
            "gate_error_1q": ("rb", "amplify_sx"), "angle_error": ("amplify_cx",), "zz": ("zz",),
            "error": ("irb", "amplify_cx")}


def _profile_init(obj: _Objective, tr: _Transform, theta: Tensor,
                  spans: list[tuple[str, tuple[int, ...], int, int, Any]], progress: Callable[[str], None]) -> Tensor:
    """Coordinate-wise grid search in :data:`_ORDER` on each field's primary experiment. Oscillating
    parameters search coarse-to-fine: a coarse grid on the short circuits, then a fine one around its best."""
    theta = theta.clone()
    for f in _ORDER:
        for i, (kind, where, pf) in enumerate(tr.parsed):
            if pf != f:
                continue
            qs = set(where) if kind == "e" else {where}  # type: ignore[arg-type]
            chosen = next((n for n in _PRIMARY[f] if any(s[0] == n and qs <= set(s[1]) for s in spans)), None)
            mine = [s for s in spans if s[0] == chosen and qs <= set(s[1])]
            subset = [j for _, _, a, b, _ in mine for j in range(a, b)]
            if not subset:
                continue
            ext = [_extent(obj.lik, obj.circuits[j]) for j in subset]
            use = 0 if f in ("detuning", "zz") else 1
            longest = max(e[use] for e in ext) or 1.0
            rates = [float(m["virtual_detuning"]) for _, _, _, _, m in mine
                     if isinstance(m, dict) and m.get("virtual_detuning")]
            grid = _grid(f, float(theta[i]), {"time": longest, "reps": longest}, min(rates) if rates else None)
            short = [j for j, e in zip(subset, ext, strict=True) if e[use] <= longest / 4]
            oscillating = f in _SCALE and len(grid) > 81 and len(short) >= 3
            if oscillating:  # coarse pass on the short circuits
                coarse = np.linspace(grid[0], grid[-1], (len(grid) // 4) | 1)
                centre = _best(obj, tr, theta, i, coarse, short)
                step = coarse[1] - coarse[0]
                grid = centre + np.linspace(-1.5 * step, 1.5 * step, 13)
            theta[i] = _best(obj, tr, theta, i, grid, subset)
            progress(f"initial {tr.names[i]}")
    return theta


def _best(obj: _Objective, tr: _Transform, theta: Tensor, i: int, grid: np.ndarray, subset: list[int]) -> float:
    """The grid value of parameter ``i`` with the lowest NLL on ``subset`` (T2 as a fraction of 2 T1).

    A gate error below its relaxation floor changes nothing (the depolarizing part clamps at 0): the NLL is flat
    there with a zero gradient, and an optimizer started in that flat stretch never leaves it (the angle errors then
    absorb the missing gate error). When the best value lies in such a flat stretch, the first grid value above it
    is returned instead, where the gradient lives."""
    ref = tr.t1_of.get(i)
    values: list[float] = []
    nlls: list[float] = []
    for g in grid:
        trial = theta.clone()
        if tr.parsed[i][2] == "t2":
            t1 = float(theta[ref]) if isinstance(ref, int) else float(ref or 0.0)
            trial[i] = 2 * t1 * float(g)
        else:
            trial[i] = float(g)
        nlls.append(_safe(functools.partial(obj.nll, trial, subset)))
        values.append(float(trial[i]))
    k = int(np.argmin(nlls))
    if not math.isfinite(nlls[k]):
        return float(theta[i])
    if tr.parsed[i][2] in ("gate_error_1q", "error"):
        def tied(j: int) -> bool:
            return abs(nlls[j] - nlls[k]) <= 1e-9 * abs(nlls[k])

        flat = (k + 1 < len(nlls) and tied(k + 1)) or (k > 0 and tied(k - 1))
        if flat:
            while k + 1 < len(nlls) and tied(k + 1):
                k += 1
            k = min(k + 1, len(nlls) - 1)
    return values[k]


#: L-BFGS iterations of one optimisation. It stops earlier on its tolerances (an NLL change below 1e-4); the cap is
#: a safeguard only. It was 300, which a 35-parameter whole-device fit reached with the NLL still 7-50 above its
#: optimum: the residual did not shrink with the shots, so errors stopped falling as 1/sqrt(shots) (issue 15).
MAX_ITER = 5000
_ADAM_ITER = 300


def _minimize(obj: _Objective, tr: _Transform, u0: Tensor, *, max_iter: int = MAX_ITER) -> tuple[Tensor, float]:
    """L-BFGS (strong Wolfe) on the NLL per shot until its tolerances stop it (at most ``max_iter`` iterations);
    Adam when L-BFGS fails or diverges."""
    u = u0.clone().requires_grad_(True)

    def f() -> Tensor:
        return obj.nll(tr.phys(u)) / obj.total

    start = _safe(f)
    try:
        opt = torch.optim.LBFGS([u], lr=1.0, max_iter=max_iter, max_eval=2 * max_iter, tolerance_grad=1e-9,
                                tolerance_change=1e-4 / obj.total, history_size=20, line_search_fn="strong_wolfe")

        def closure() -> Tensor:
            opt.zero_grad()
            loss = f()
            loss.backward()
            return loss

        opt.step(closure)
        val = _safe(f)
        ok = math.isfinite(val) and bool(torch.isfinite(u).all())
    except (QtandemError, RuntimeError, ValueError):
        ok, val = False, math.inf
    if not ok or val > start:
        u = u0.clone().requires_grad_(True)
        adam = torch.optim.Adam([u], lr=0.05)
        for _ in range(min(max_iter, _ADAM_ITER)):
            adam.zero_grad()
            try:
                loss = f()
                loss.backward()
            except (QtandemError, RuntimeError, ValueError):
                break
            adam.step()
        val = _safe(f)
    return u.detach(), val * obj.total


def _gradient_u(obj: _Objective, tr: _Transform, u: Tensor) -> Tensor:
    x = u.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(obj.nll(tr.phys(x)), x)
    return g


def _sparsity(obj: _Objective, tr: _Transform) -> np.ndarray:
    """``S[i, j]``: parameters ``i`` and ``j`` share a circuit (else their Hessian entry is exactly 0).

    A parameter reaches the circuits whose active qubits hold its qubit (a pair's: both)."""
    actives = [set(obj.lik._program(c).active) for c in obj.circuits]
    reach = np.zeros((len(tr.parsed), len(actives)), dtype=bool)
    for i, (kind, where, _) in enumerate(tr.parsed):
        qs = set(where) if kind == "e" else {where}  # type: ignore[arg-type]
        reach[i] = [qs <= a for a in actives]
    r = reach.astype(np.int64)
    return (r @ r.T) > 0


def _colors(sparsity: np.ndarray) -> list[list[int]]:
    """Groups of parameters whose Hessian columns share no row (greedy distance-2 colouring): one
    gradient difference per group recovers all their columns (Curtis, Powell and Reid)."""
    conflict = (sparsity.astype(np.int64) @ sparsity.astype(np.int64)) > 0
    groups: list[list[int]] = []
    for i in range(len(sparsity)):
        for g in groups:
            if not conflict[i, g].any():
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _hessian(obj: _Objective, tr: _Transform, u: Tensor) -> Tensor:
    """Hessian of the NLL in physical units at an optimum ``u``: forward differences (step 1e-4) of the
    exact gradient in the unconstrained parameters (so no step leaves the physical region; the
    simulation's adjoint is not twice differentiable), parameters that share no circuit perturbed
    together, then ``H_theta = J^-T H_u J^-1``."""
    sparsity = _sparsity(obj, tr)
    h_u = torch.zeros(len(u), len(u), dtype=_R)
    at = _gradient_u(obj, tr, u)
    for group in _colors(sparsity):
        step = torch.zeros_like(u)
        step[group] = 1e-4
        diff = (_gradient_u(obj, tr, u + step) - at) / 1e-4
        for i in group:
            rows = torch.as_tensor(sparsity[:, i])
            h_u[rows, i] = diff[rows]
    h_u = 0.5 * (h_u + h_u.T)
    jac_inv = torch.linalg.inv(torch.autograd.functional.jacobian(tr.phys, u.detach()))
    return jac_inv.T @ h_u @ jac_inv


def _uncertainty(obj: _Objective, tr: _Transform, u: Tensor,
                 names: Sequence[str]) -> tuple[dict[str, float], list[str], Tensor]:
    """Standard errors from the inverse Hessian of the NLL (physical units), and the uninformed parameters."""
    hess = _hessian(obj, tr, u)
    hess = 0.5 * (hess + hess.T)
    diag = hess.diagonal()
    informed = diag > 0
    scale = torch.where(informed, diag.clamp_min(1e-300).rsqrt(), torch.zeros_like(diag))
    hs = scale[:, None] * hess * scale[None, :]
    w, v = torch.linalg.eigh(hs)
    tol = 1e-9 * max(float(w.abs().max()), 1e-300)
    null = w <= tol
    weak = (v[:, null] ** 2).sum(dim=1) > 0.5 if bool(null.any()) else torch.zeros_like(informed)
    inv_w = torch.where(null, torch.zeros_like(w), 1 / w.clamp_min(tol))
    cov = scale[:, None] * (v * inv_w) @ v.T * scale[None, :]
    uninformed = [n for i, n in enumerate(names) if not bool(informed[i]) or bool(weak[i])]
    stderr = {n: (math.inf if n in uninformed else math.sqrt(max(float(cov[i, i]), 0.0)))
              for i, n in enumerate(names)}
    return stderr, uninformed, cov


# -- the result ---------------------------------------------------------------------------------------------------
@dataclass
class Calibration:
    """A fitted device: values and standard errors of every fitted number.

    Attributes:
        values: ``{name: value}`` in physical units (times in ns, angles in rad, frequencies in rad/ns).
        stderr: ``{name: standard error}`` from the inverse Hessian (``inf``: not informed).
        nll: the negative log-likelihood at the optimum (without the multinomial coefficients).
        data: the :class:`~qtandem.learn.ShotData` fitted (``None`` after :meth:`from_json`).
        base: the device the unfitted numbers, durations and couplings come from.
        uninformed: parameters the data does not inform (a zero direction of the Hessian).
        bootstrap_stderr: ``{name: std}`` over the bootstrap refits, or ``None``.
        model: ``"full"`` or the experiment fitted alone.

    Examples:
        >>> cal = Calibration(values={"q0.t1": 9e4}, stderr={"q0.t1": 2e3}, nll=12.5, data=None,
        ...                   base=typical_device(1))
        >>> cal.device().qubits[0].t1, round(cal.theta.item())
        (90000.0, 90000)
    """

    values: dict[str, float]
    stderr: dict[str, float]
    nll: float
    data: Any
    base: Device
    uninformed: list[str] = field(default_factory=list)
    bootstrap_stderr: dict[str, float] | None = None
    model: str = "full"
    restarts: list[float] = field(default_factory=list)

    @property
    def theta(self) -> Tensor:
        """The values as a float64 tensor in :attr:`values` order (what ``LikelihoodModel`` takes)."""
        return torch.tensor(list(self.values.values()), dtype=_R)

    def likelihood_model(self) -> LikelihoodModel:
        """The :class:`LikelihoodModel` of this fit (parameters in :attr:`values` order).

        Examples:
            >>> cal = Calibration({"q0.t1": 9e4}, {"q0.t1": 2e3}, 0.0, None, typical_device(1))
            >>> cal.likelihood_model().param_names
            ['q0.t1']
        """
        qubits: set[int] = set()
        for name in self.values:
            _, where, _ = parse_param(name)
            qubits.update(where if isinstance(where, tuple) else (where,))
        return LikelihoodModel(list(self.values), self.base, sorted(qubits))

    def device(self, base: Device | None = None) -> Device:
        """The fitted numbers in a :class:`Device` (plain floats); everything else from ``base``
        (default: the fit's prior).

        Examples:
            >>> cal = Calibration({"q0.readout_p01": 0.03}, {}, 0.0, None, typical_device(2))
            >>> cal.device().qubits[0].readout_p01, cal.device().qubits[1].readout_p01
            (0.03, 0.02)
        """
        dev = copy.deepcopy(base if base is not None else self.base)
        for name, value in self.values.items():
            kind, where, f = parse_param(name)
            obj = dev.qubits[where] if kind == "q" else dev.edges[where]  # type: ignore[index]
            setattr(obj, f, float(value))
        for q in dev.qubits:  # T2 <= 2 T1 (a fit of T2 alone against a prior T1 could cross it)
            q.t2 = min(float(q.t2), 2 * float(q.t1))
        return dev

    def predict(self, circuits: Sequence[Any]) -> list[Tensor]:
        """Outcome probabilities of ``circuits`` under the fitted device (index = classical record).

        Examples:
            >>> from qtandem import Circuit
            >>> cal = Calibration({"q0.readout_p01": 0.1}, {}, 0.0, None, typical_device(1))
            >>> [round(float(p), 3) for p in cal.predict([Circuit(1, 1).measure(0, 0)])[0]]
            [0.9, 0.1]
        """
        lik = self.likelihood_model()
        with torch.no_grad():
            return lik.probabilities(list(circuits), self.theta)

    def summary(self) -> dict[str, Any]:
        """JSON-ready values, standard errors, NLL and the data's shape (what :meth:`to_json` stores).

        Examples:
            >>> Calibration({"q0.t1": 9e4}, {"q0.t1": math.inf}, 1.0, None, typical_device(1)).summary()["stderr"]
            {'q0.t1': None}
        """
        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        data: dict[str, Any] | None = None
        if self.data is not None:
            data = {"experiments": [{"name": n, "qubits": list(q)} for n, q in _experiments(self.data)],
                    "circuits": len(self.data.counts), "shots": _jsonable(getattr(self.data, "shots", None)),
                    "seeds": _jsonable(getattr(self.data, "seeds", None)),
                    "device_name": getattr(self.data, "device_name", None)}
        return {"model": self.model, "values": dict(self.values), "stderr": {k: num(v) for k, v in self.stderr.items()},
                "nll": float(self.nll), "uninformed": list(self.uninformed),
                "bootstrap_stderr": None if self.bootstrap_stderr is None else
                {k: num(v) for k, v in self.bootstrap_stderr.items()}, "data": data}

    def to_json(self, path: str | Path | None = None) -> str:
        """A device JSON (the fitted device) whose ``extra["calibration"]`` holds :meth:`summary`;
        written atomically when ``path`` is given.

        Examples:
            >>> import json
            >>> cal = Calibration({"q0.t1": 9e4}, {"q0.t1": 1e3}, 2.0, None, typical_device(1))
            >>> json.loads(cal.to_json())["extra"]["calibration"]["values"]
            {'q0.t1': 90000.0}
        """
        dev = self.device()
        dev.extra = {**dev.extra, "calibration": self.summary()}
        return dev.to_json(path)

    @classmethod
    def from_json(cls, path: str | Path) -> Calibration:
        """Read :meth:`to_json`'s file (``data`` is ``None``; the device is the base).

        Raises:
            DataError: the device JSON has no ``extra["calibration"]``.

        Examples:
            >>> import pathlib, tempfile
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "cal.json"
            >>> _ = Calibration({"q0.t1": 9e4}, {"q0.t1": 1e3}, 2.0, None, typical_device(1)).to_json(path)
            >>> Calibration.from_json(path).stderr
            {'q0.t1': 1000.0}
        """
        dev = Device.from_json(path)
        info = dev.extra.get("calibration") if isinstance(dev.extra, dict) else None
        if not isinstance(info, dict) or not isinstance(info.get("values"), dict):
            raise DataError(f"{path}: a device JSON without extra.calibration (not written by Calibration.to_json)")
        dev.extra = {k: v for k, v in dev.extra.items() if k != "calibration"}

        def num(x: Any) -> float:
            return math.inf if x is None else float(x)

        boot = info.get("bootstrap_stderr")
        return cls(values={k: float(v) for k, v in info["values"].items()},
                   stderr={k: num(v) for k, v in (info.get("stderr") or {}).items()},
                   nll=float(info.get("nll", math.nan)), data=None, base=dev,
                   uninformed=list(info.get("uninformed") or []),
                   bootstrap_stderr=None if boot is None else {k: num(v) for k, v in boot.items()},
                   model=str(info.get("model", "full")))

    def check(self, heldout: Any = None) -> Any:
        """Goodness of fit (:func:`qtandem.learn.check.check_model`)."""
        from qtandem.learn.check import check_model

        return check_model(self, heldout)

    def report(self, folder: str | Path) -> Any:
        """Write the HTML report (:func:`qtandem.learn.report.write_report`)."""
        from qtandem.learn.report import write_report  # type: ignore[import-not-found]

        return write_report(self, folder)

    def __repr__(self) -> str:
        return f"Calibration({len(self.values)} parameters, nll={self.nll:.1f}, model={self.model!r})"


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.integer | np.floating):
        return x.item()
    return x


def _spans(data: Any) -> list[tuple[str, tuple[int, ...], int, int, Any]]:
    out = []
    start = 0
    for e in data.plan.experiments:
        out.append((str(e.name), tuple(int(q) for q in e.qubits), start, start + len(e.circuits),
                    getattr(e, "meta", None)))
        start += len(e.circuits)
    return out


# -- the fit ------------------------------------------------------------------------------------------------------
def calibrate(data: Any, *, model: str = "full", prior: Device | None = None, restarts: int = 3, bootstrap: int = 0,
              seed: int = 0, progress: Callable[[str], None] | None = None) -> Calibration:
    """Maximum-likelihood calibration of every number the data informs.

    Args:
        data: a :class:`~qtandem.learn.ShotData` (its plan's experiments, circuits and counts).
        model: ``"full"`` (every experiment, every parameter jointly) or one experiment's name (that
            experiment's data and parameters alone, with the readout errors of its qubits).
        prior: the device that gives durations, couplings and every number not fitted (default:
            :func:`typical_device` on the data's qubits and pairs). Its fitted numbers are not used
            as starting values.
        restarts: optimisations (the first from the profile start, the others from seeded perturbations).
        bootstrap: number of multinomial resamples of the counts to refit (0: none).
        seed: seeds the restarts and the bootstrap.
        progress: called with a short message after each stage.

    Returns:
        The :class:`Calibration`.

    Raises:
        DataError: an unknown ``model``, no experiments, a pair experiment on an uncoupled pair.

    Examples:
        >>> from types import SimpleNamespace
        >>> from qtandem import Circuit
        >>> exp = SimpleNamespace(name="readout", qubits=(0,),
        ...                       circuits=[Circuit(1, 1).measure(0, 0), Circuit(1, 1).x(0).measure(0, 0)])
        >>> data = SimpleNamespace(plan=SimpleNamespace(experiments=[exp], circuits=exp.circuits),
        ...                        counts=[{"0": 970, "1": 30}, {"0": 50, "1": 950}], shots=1000)
        >>> cal = calibrate(data, restarts=1)
        >>> round(cal.values["q0.readout_p01"], 3), round(cal.values["q0.readout_p10"], 2)  # T1 takes some of it
        (0.03, 0.05)
    """
    if restarts < 1 or bootstrap < 0:
        raise DataError(f"restarts must be >= 1 and bootstrap >= 0, got {restarts} and {bootstrap}")
    say = progress or (lambda _msg: None)
    if isinstance(data, ShotData):
        data = fold_spectators(data)
    exps = _experiments(data)
    if not exps:
        raise DataError("the data has no experiments")
    circuits, counts = _circuits_counts(data)
    qubits = sorted({q for _, qs in exps for q in qs})
    if prior is None:
        pairs = {(min(qs), max(qs)) for n, qs in exps if len(qs) == 2}
        width = max(max(qubits) + 1, max((c.n_qubits for c in circuits), default=1))
        prior = typical_device(width, sorted(pairs))
    joint = _joint_readout(data)
    if joint:  # measured joint confusion matrices replace the per-qubit ones where both qubits are read
        prior = copy.deepcopy(prior)
        prior.readout_correlations = {**prior.readout_correlations, **joint}
    names = model_parameters(exps, model, prior)
    spans = _spans(data)
    if model != "full":
        spans = [s for s in spans if s[0] == model]
    keep = [j for _, _, a, b, _ in spans for j in range(a, b)]
    remap = {j: i for i, j in enumerate(keep)}
    spans = [(n, q, remap[a], remap[b - 1] + 1, m) for n, q, a, b, m in spans if b > a]
    lik = LikelihoodModel(names, prior, qubits)
    obj = _Objective(lik, [circuits[j] for j in keep], [counts[j] for j in keep])
    tr = _Transform(lik)
    theta0 = _profile_init(obj, tr, _start(lik), spans, say)
    u0 = tr.unphys(theta0)
    rng = as_generator(seed)
    # restarts move times and probabilities; the profile already picked the fringe of oscillating ones
    spread = torch.tensor([0.0 if parse_param(n)[2] in _SCALE else 1.0 for n in names], dtype=_R)
    best_u, best = u0, math.inf
    finals: list[float] = []
    for r in range(restarts):
        start = u0 if r == 0 else u0 + torch.as_tensor(rng.normal(0.0, 0.5, size=len(names)), dtype=_R) * spread
        u, val = _minimize(obj, tr, start)
        finals.append(val)
        if val < best:
            best_u, best = u, val
        say(f"restart {r + 1}/{restarts}: nll {val:.2f}")
    if not math.isfinite(best):  # never return the starting grid as if it were a fit
        raise DataError(f"calibrate: every optimizer run left the region where the model can be evaluated "
                        f"(restarts={restarts}); the starting values are not a fit. Check the prior "
                        "(times, durations) or fit fewer parameters (model=...)")
    theta = tr.phys(best_u).detach()
    stderr, uninformed, _ = _uncertainty(obj, tr, best_u, names)
    say("uncertainties")
    boot: dict[str, float] | None = None
    if bootstrap:
        boot = _bootstrap(lik, obj, tr, best_u, bootstrap, as_generator(int(rng.integers(2**62))), say)
    return Calibration(values={n: float(theta[i]) for i, n in enumerate(names)}, stderr=stderr, nll=best,
                       data=data, base=prior, uninformed=uninformed, bootstrap_stderr=boot, model=model,
                       restarts=finals)


def _joint_readout(data: Any) -> dict[tuple[int, int], list[list[float]]]:
    """The joint 4x4 confusion matrix of each pair whose readout experiment prepared all four states:
    outcome frequencies per prepared state (plus one half count each, so no entry is exactly 0).

    A device's correlated readout (``Device.readout_correlations``) is not a product of per-qubit
    errors, so the fit does not model it with parameters; it measures it directly (as a fixed part of
    the model: its uncertainty is not propagated)."""
    out: dict[tuple[int, int], list[list[float]]] = {}
    start = 0
    for exp in data.plan.experiments:
        n = len(exp.circuits)
        if exp.name == "readout" and len(exp.qubits) == 2 and sorted(int(x) for x in exp.xs) == [0, 1, 2, 3]:
            m: np.ndarray = np.full((4, 4), 0.5)
            for i, x in zip(range(start, start + n), exp.xs, strict=True):
                m[:, int(x)] += _count_vector(data.counts[i], 2 ** exp.circuits[i - start].n_clbits).numpy()[:4]
            m /= m.sum(axis=0, keepdims=True)
            a, b = (int(q) for q in exp.qubits)
            if a > b:  # the device keys its matrices (low qubit, high qubit), the low qubit the low bit
                perm = [0, 2, 1, 3]
                m = m[perm][:, perm]
            out[(min(a, b), max(a, b))] = m.tolist()
        start += n
    return out


def _start(lik: LikelihoodModel) -> Tensor:
    """Neutral starting values: the prior's times and probabilities, zero for angles and frequencies."""
    theta = lik.theta0()
    for i, n in enumerate(lik.param_names):
        f = parse_param(n)[2]
        if f in _SCALE:
            theta[i] = 0.0
        elif f in _PROBS:
            theta[i] = min(max(float(theta[i]), 1e-3), 0.3)
        elif f == "t2":
            q = parse_param(n)[1]
            theta[i] = min(float(theta[i]), 1.9 * float(lik.base.qubits[q].t1))  # type: ignore[index]
    for i, n in enumerate(lik.param_names):  # a fitted T1 below the prior's T2 would break T2 <= 2 T1
        _, q, f = parse_param(n)
        if f == "t2" and f"q{q}.t1" in lik.param_names:
            theta[i] = min(float(theta[i]), 1.9 * float(theta[lik.param_names.index(f"q{q}.t1")]))
    return theta


def _bootstrap(lik: LikelihoodModel, obj: _Objective, tr: _Transform, u_hat: Tensor, n: int,
               rng: np.random.Generator, say: Callable[[str], None]) -> dict[str, float]:
    """Refit ``n`` multinomial resamples of the observed frequencies, from the optimum."""
    fits = []
    for b in range(n):
        resampled = []
        for cnt in obj.counts:
            shots = int(cnt.sum())
            p = (cnt / max(shots, 1)).numpy()
            resampled.append(torch.as_tensor(rng.multinomial(shots, p / p.sum()), dtype=_R) if shots else cnt)
        boot = copy.copy(obj)
        boot.counts = resampled
        u, _ = _minimize(boot, tr, u_hat)
        fits.append(tr.phys(u).detach())
        say(f"bootstrap {b + 1}/{n}")
    stack = torch.stack(fits)
    std = stack.std(dim=0, unbiased=True) if n > 1 else torch.full((len(tr.names),), math.inf, dtype=_R)
    return {name: float(std[i]) for i, name in enumerate(tr.names)}
