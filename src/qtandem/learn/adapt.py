"""Adaptive experimental design: spend the next shots where they inform the fit most.

After a first calibration, each experiment of the plan is offered a grid of new x values (delays,
repetitions, sequence lengths; see :func:`candidate_xs`) spanning every x-value it has used so far
(in the plan and in the calibration's data, so later rounds keep the whole range). Every candidate
circuit's expected Fisher information per shot is computed at the fitted parameters (``LikelihoodModel.fisher``), and a
greedy D-optimal design (:func:`d_optimal_allocation`) hands out the budget in slots of ``shots``
shots: each slot goes to the candidate that most increases ``log det`` of the total information
(the information of the shots already taken plus the slots handed out so far). A candidate may be
chosen several times: shots are allocated by repetition, so the new plan runs with one shot count
per circuit, as :meth:`CharacterizationPlan.run` does.

D-optimality does not depend on how the parameters are scaled or reparametrised (``log det`` of a
reparametrised information matrix differs by a constant), so the unconstrained coordinates of the
fit serve as well as the physical ones. A tiny ridge (in coordinates scaled by the current
information's diagonal) keeps ``log det`` finite for parameters that no shot informs yet.

Examples:
    >>> import torch
    >>> info0 = torch.eye(1) * 1.0
    >>> per_shot = torch.tensor([[[0.1]], [[0.5]], [[0.2]]])   # three candidates, one parameter
    >>> d_optimal_allocation(info0, per_shot, slots=4, shots=10)
    [0, 4, 0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from qtandem.errors import DataError

__all__ = ["adapt", "candidate_xs", "d_optimal_allocation", "experiment_candidates"]


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(float(x))


def candidate_xs(xs: Sequence[Any], *, points: int = 12) -> list[Any]:
    """The x values an experiment may use next, from those it used.

    Delays (floats) get a geometric grid from the smallest positive delay to three times the
    largest (plus 0 when it was used); repetition counts and sequence lengths (ints) get integers
    on a geometric grid from the smallest to twice the largest; anything else (prepared states of a
    readout experiment) is offered as it was.

    Args:
        xs: the x values of the experiment's circuits.
        points: grid size for numeric x.

    Returns:
        Sorted, distinct candidates.

    Examples:
        >>> candidate_xs([0.0, 1000.0, 4000.0], points=4)
        [0.0, 1000.0, 2289.4284851066636, 5241.482788417793, 12000.0]
        >>> candidate_xs([1, 5, 9], points=5)
        [1, 2, 4, 9, 18]
        >>> candidate_xs(["00", "11"])
        ['00', '11']
    """
    values = list(xs)
    if not values:
        return []
    if not all(_is_number(x) for x in values):
        seen: list[Any] = []
        for x in values:
            if x not in seen:
                seen.append(x)
        return seen
    if all(isinstance(x, int) for x in values):
        lo, hi = max(min(values), 1), max(2 * max(values), 1)
        grid = {round(lo * (hi / lo) ** (i / max(points - 1, 1))) for i in range(points)}
        if min(values) <= 0:
            grid.add(min(values))
        return sorted(grid)
    positive = [float(x) for x in values if float(x) > 0]
    if not positive:
        return sorted({float(x) for x in values})
    lo, hi = min(positive), 3.0 * max(positive)
    grid_f = {lo * (hi / lo) ** (i / max(points - 1, 1)) for i in range(points)}
    if any(float(x) <= 0 for x in values):
        grid_f.add(0.0)
    return sorted(grid_f)


def d_optimal_allocation(info0: torch.Tensor, per_shot: torch.Tensor, *, slots: int, shots: int,
                         costs: Sequence[int] | None = None, ridge: float = 1e-6) -> list[int]:
    """Greedy D-optimal allocation of ``slots`` runs of ``shots`` shots among candidates.

    Each step gives one run to the candidate with the largest gain of ``log det`` of the total
    information per unit of cost (a candidate of several circuits costs one slot per circuit),
    among those the remaining slots can pay for.

    Args:
        info0: the information already gathered (Fisher matrix of the data so far).
        per_shot: each candidate's expected Fisher information of one shot (of each of its circuits).
        slots: how many circuit runs to hand out.
        shots: shots per circuit run.
        costs: slots one run of each candidate takes (default 1 each).
        ridge: added to the diagonal in coordinates scaled by ``info0``'s diagonal.

    Shape:
        info0: ``(P, P)``; per_shot: ``(C, P, P)``; the result has ``C`` entries.

    Returns:
        How many runs each candidate gets (their costs sum to at most ``slots``).

    Raises:
        DataError: mismatched shapes, a negative budget or a cost below 1.

    Examples:
        >>> import torch
        >>> both = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
        >>> d_optimal_allocation(torch.eye(2) * 1e-3, both, slots=6, shots=5)
        [3, 3]
    """
    info0 = torch.as_tensor(info0, dtype=torch.float64)
    per_shot = torch.as_tensor(per_shot, dtype=torch.float64)
    if per_shot.ndim != 3 or per_shot.shape[1:] != info0.shape:
        raise DataError(f"per-shot information has shape {tuple(per_shot.shape)}, expected (C, {info0.shape[0]}, "
                        f"{info0.shape[0]})")
    if slots < 0 or shots <= 0:
        raise DataError(f"slots must be >= 0 and shots > 0, got slots={slots}, shots={shots}")
    cost = torch.ones(per_shot.shape[0], dtype=torch.float64) if costs is None else \
        torch.as_tensor([float(c) for c in costs], dtype=torch.float64)
    if cost.numel() != per_shot.shape[0] or bool((cost < 1).any()):
        raise DataError(f"costs must be one number >= 1 per candidate, got {list(costs or [])}")
    scale = torch.diagonal(info0).clone()
    fallback = torch.diagonal(per_shot.sum(0)) * shots
    scale = torch.where(scale > 0, scale, fallback)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    s = scale.rsqrt()
    total = (info0 * s[:, None] * s[None, :]) + ridge * torch.eye(info0.shape[0], dtype=torch.float64)
    cands = per_shot * shots * s[None, :, None] * s[None, None, :]
    counts = [0] * per_shot.shape[0]
    left = float(slots)
    while True:
        affordable = cost <= left
        if not bool(affordable.any()):
            break
        _, now = torch.linalg.slogdet(total)
        _, logdet = torch.linalg.slogdet(total[None] + cands)
        score = torch.where(affordable, (logdet - now) / cost, torch.full_like(logdet, -math.inf))
        best = int(torch.argmax(score))
        counts[best] += 1
        left -= float(cost[best])
        total = total + cands[best]
    return counts


_INTEGER = {"amplify_x": 1, "amplify_cx": 2, "rb": 1, "irb": 1}  # experiment -> step of its x-values
_LONG = {"rb": 6, "irb": 5}
"""Candidate grid size caps for the long random sequences (the Jacobian of a 2-qubit RB sequence of a
few hundred Cliffords dominates adapt's time: about 2.5 s per irb circuit on one loaded core)."""


def experiment_candidates(name: str, xs: Sequence[Any], *, points: int = 12) -> list[Any]:
    """:func:`candidate_xs` with each experiment's rule for its x-values.

    ``readout`` keeps its prepared states; ``amplify_sx`` counts ``4k + 1`` gates (k on the integer
    grid); ``amplify_cx`` an even number of ``cx``; ``amplify_x``, ``rb`` and ``irb`` integers;
    the others (delays) floats.

    Examples:
        >>> experiment_candidates("amplify_sx", [1.0, 5.0, 9.0], points=4)
        [1, 5, 9, 13, 17]
        >>> experiment_candidates("readout", [0.0, 1.0, 0.0, 1.0])
        [0.0, 1.0]
    """
    if name == "readout":
        return list(dict.fromkeys(xs))
    if name == "amplify_sx":
        return [4 * k + 1 for k in candidate_xs([round((float(x) - 1) / 4) for x in xs], points=points)]
    if name in _INTEGER:
        step = _INTEGER[name]
        return [step * k for k in candidate_xs([round(float(x) / step) for x in xs], points=points)]
    return candidate_xs([float(x) for x in xs], points=points)


def _theta_and_model(calibration: Any, qubits: Sequence[int]) -> tuple[Any, torch.Tensor]:
    from qtandem.learn.likelihood import LikelihoodModel

    names = list(calibration.values)
    model = LikelihoodModel(names, calibration.device(), list(qubits))
    theta = torch.tensor([float(calibration.values[n]) for n in names], dtype=torch.float64)  # physical units
    return model, theta


def adapt(plan: Any, calibration: Any, *, budget_shots: int, shots: int | None = None, points: int = 12,
          seed: int = 0, fisher: Callable[[Sequence[Any], Any], torch.Tensor] | None = None) -> Any:
    """The next plan: per experiment, the x values (and repetitions) that shrink the uncertainty most.

    Args:
        plan: the :class:`~qtandem.learn.plan.CharacterizationPlan` whose experiments are extended.
        calibration: the current fit (its data count as information already gathered).
        budget_shots: total shots of the new plan.
        shots: shots per circuit of the new plan (default: those of the calibration's data).
        points: candidate grid size per numeric experiment (:func:`experiment_candidates`; at most 6
            for ``rb`` and 5 for ``irb``, whose long sequences are slow to differentiate).
        seed: seed of the new RB sequences.
        fisher: ``fisher(circuits, shots) -> Tensor[P, P]`` summed over the circuits (default: the
            calibration's likelihood model at the fitted parameters).

    Returns:
        A plan of about ``budget_shots // shots`` circuits (a candidate chosen ``k`` times appears
        ``k`` times) to run with ``shots`` shots each; experiments that get nothing are left out.

    Raises:
        DataError: the budget buys no circuit, or an experiment cannot be rebuilt at new x values.

    Examples:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> class Exp(SimpleNamespace):
        ...     def with_xs(self, xs):
        ...         return Exp(name=self.name, qubits=self.qubits, xs=list(xs), circuits=list(xs), meta={})
        >>> t1 = 100.0                         # toy model: P(1) = exp(-x / t1), one parameter
        >>> def fisher(circuits, shots):
        ...     out = torch.zeros(1, 1, dtype=torch.float64)
        ...     for x in circuits:
        ...         p = math.exp(-x / t1)
        ...         out += shots * (p * x / t1**2) ** 2 / (p * (1 - p))
        ...     return out
        >>> plan = SimpleNamespace(experiments=[Exp(name="t1", qubits=[0], xs=[10.0, 50.0, 200.0],
        ...                                         circuits=[10.0, 50.0, 200.0], meta={})])
        >>> cal = SimpleNamespace(values={"q0.t1": t1}, data=SimpleNamespace(shots=100, plan=plan))
        >>> new = adapt(plan, cal, budget_shots=500, fisher=fisher)
        >>> [round(x / t1, 2) for x in new.experiments[0].xs]      # near the optimum 1.59 t1
        [1.35, 1.35, 1.35, 1.35, 1.35]
    """
    data = calibration.data
    n_shots = int(shots if shots is not None else _shots_of(data))
    if n_shots <= 0:
        raise DataError(f"shots per circuit must be positive, got {n_shots}")
    slots = int(budget_shots) // n_shots
    if slots < 1:
        raise DataError(f"a budget of {budget_shots} shots buys no circuit of {n_shots} shots: raise "
                        "budget_shots or lower shots")
    per_circuit: Callable[[Sequence[Any]], torch.Tensor]
    if fisher is None:
        qubits = sorted({q for e in plan.experiments for q in e.qubits})
        model, theta = _theta_and_model(calibration, qubits)

        def fisher(circuits: Sequence[Any], n: Any) -> torch.Tensor:
            return model.fisher(list(circuits), n, theta)

        def per_circuit(circuits: Sequence[Any]) -> torch.Tensor:
            return _per_circuit_fisher(model, list(circuits), theta)
    else:
        user = fisher

        def per_circuit(circuits: Sequence[Any]) -> torch.Tensor:
            return torch.stack([torch.as_tensor(user([c], 1), dtype=torch.float64).detach() for c in circuits])

    data_plan = getattr(data, "plan", None) or plan
    done = [c for e in data_plan.experiments for c in e.circuits]
    done_shots = data.shots if isinstance(data.shots, int) else list(data.shots)
    info0 = torch.as_tensor(fisher(done, done_shots), dtype=torch.float64).detach()
    prior = calibration.device() if hasattr(calibration, "device") else None
    groups: list[tuple[Any, list[Any], list[list[int]]]] = []  # experiment, candidate xs, circuit rows
    rows: list[Any] = []
    used: dict[tuple[str, tuple[int, ...]], list[Any]] = {}  # x-values run so far, this plan's and the data's
    for exp in [*plan.experiments, *data_plan.experiments]:
        used.setdefault((exp.name, tuple(exp.qubits)), []).extend(exp.xs)
    seen: set[tuple[str, tuple[int, ...]]] = set()
    for exp in plan.experiments:
        key = (exp.name, tuple(exp.qubits))
        if key in seen:
            continue
        seen.add(key)
        xs = experiment_candidates(exp.name, used[key], points=min(points, _LONG.get(exp.name, points)))
        built = _rebuild(exp, xs, plan, prior, seed)
        members = [[len(rows) + j for j, x in enumerate(built.xs) if x == cand] for cand in xs]
        rows.extend(built.circuits)
        groups.append((exp, xs, members))
    per_row = per_circuit(rows)
    per_shot = torch.stack([per_row[m].sum(0) for _, _, ms in groups for m in ms])
    costs = [len(m) for _, _, ms in groups for m in ms]
    counts = d_optimal_allocation(info0, per_shot, slots=slots, shots=n_shots, costs=costs)
    experiments, k = [], 0
    for i, (exp, xs, _) in enumerate(groups):
        chosen = [x for j, x in enumerate(xs) for _ in range(counts[k + j])]
        k += len(xs)
        if chosen:
            experiments.append(_rebuild(exp, chosen, plan, prior, seed + 1 + i))
    if not experiments:
        raise DataError(f"a budget of {budget_shots} shots buys no candidate of {n_shots} shots per circuit")
    return _with_experiments(plan, experiments)


def _rebuild(exp: Any, xs: list[Any], plan: Any, prior: Any, seed: int) -> Any:
    """``exp`` at new x-values (one RB sequence per listed length: repeat a length for more)."""
    if hasattr(exp, "with_xs"):
        return exp.with_xs(xs)
    from qtandem.learn.experiments import build_experiment

    width = getattr(plan, "width", None) or exp.circuits[0].n_qubits
    return build_experiment(exp.name, exp.qubits, width=width, xs=xs, prior=prior, seed=seed, n_seeds=1)


def _per_circuit_fisher(model: Any, circuits: list[Any], theta: torch.Tensor) -> torch.Tensor:
    """One shot's Fisher information of each circuit, ``(C, P, P)``, from one Jacobian of all of them."""
    sizes = [2**c.n_clbits for c in circuits]

    def flat(t: torch.Tensor) -> torch.Tensor:
        return torch.cat(model.probabilities(circuits, t))

    p = flat(theta).detach()
    jac = torch.autograd.functional.jacobian(flat, theta)  # (sum sizes, P)
    w = torch.where(p > 1e-12, 1.0 / p.clamp_min(1e-12), torch.zeros_like(p))
    out, start = [], 0
    for size in sizes:
        j, ww = jac[start:start + size], w[start:start + size]
        out.append(j.T @ (ww[:, None] * j))
        start += size
    return torch.stack(out)


def _shots_of(data: Any) -> int:
    shots = data.shots
    if isinstance(shots, int):
        return shots
    values = sorted(set(shots))
    return int(values[0]) if len(values) == 1 else round(sum(values) / len(values))


def _with_experiments(plan: Any, experiments: list[Any]) -> Any:
    import dataclasses
    from types import SimpleNamespace

    if dataclasses.is_dataclass(plan) and not isinstance(plan, type):
        return dataclasses.replace(plan, experiments=experiments)
    if isinstance(plan, SimpleNamespace):
        return SimpleNamespace(**{**vars(plan), "experiments": experiments})
    return type(plan)(experiments=experiments)
