"""Tour section of optimisation: a small vehicle-routing instance and a portfolio frontier, QAOA beside classical."""

from __future__ import annotations

from typing import Any

import numpy as np

from qtandem.report import Section
from qtandem.tour import TourContext, register


def _sample_bits(result: Any, shots: int, seed: int, n: int) -> np.ndarray:
    """QAOA samples as an ``(shots, n)`` int array (``samples`` may give bit rows or basis indices)."""
    s = np.asarray(result.samples(shots, seed=seed))
    if s.ndim == 1:
        s = (s[:, None] >> np.arange(n)) & 1
    return s.astype(np.int64)


@register("Optimisation: routing and portfolios, QAOA beside the classical solvers", order=90)
def opt_section(section: Section, ctx: TourContext) -> None:
    """A 3-customer, 2-vehicle CVRP (OR-Tools route vs QAOA samples on a map) and a 8-asset efficient frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.opt import cvrp, portfolio, qaoa, solve_classical

    rng = np.random.default_rng(ctx.seed)
    # -- routing ------------------------------------------------------------------------------
    xy = np.vstack([[0.5, 0.5], rng.uniform(size=(3, 2))])
    dist = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    prob = cvrp(dist, [0, 1, 1, 1], capacity=2, n_vehicles=2)
    ctx.progress(f"opt: CVRP with {prob.n_variables} variables")
    best = solve_classical(prob, "routing", seed=ctx.seed)
    p = 1 if ctx.quick else 2
    res = qaoa(prob, p, init="learned", seed=ctx.seed,
               max_evaluations=30 if ctx.quick else 200)
    shots = 2000
    bits = _sample_bits(res, shots, ctx.seed, prob.n_variables)
    feas = np.array([prob.is_feasible(b) for b in bits])
    values = np.array([prob.value(b) if f else np.inf for b, f in zip(bits, feas, strict=True)])
    qbest = bits[int(np.argmin(values))] if feas.any() else None
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, x, title in ((axes[0], best.solution, f"OR-Tools routing: length {best.value:.3f}"),
                         (axes[1], qbest, "QAOA best sample: " + (f"length {values.min():.3f}" if qbest is not None
                                                                  else "no feasible sample"))):
        ax.scatter(xy[1:, 0], xy[1:, 1], c="C0", zorder=3)
        ax.scatter(xy[:1, 0], xy[:1, 1], c="C3", marker="s", s=80, zorder=3, label="depot")
        if x is not None:
            for k, route in enumerate(prob.decode(x)):
                stops = [0, *list(route), 0]
                ax.plot(xy[stops, 0], xy[stops, 1], "-", color=f"C{k + 1}", label=f"vehicle {k}")
        ax.set_title(title, fontsize=9)
        ax.set_aspect("equal")
        ax.legend(fontsize=7)
    section.figure(fig, "opt_cvrp", "Routes: OR-Tools (left) and the best of QAOA's samples (right).")
    section.table(["solver", "route length", "P(feasible)", "P(optimal)", "time s"], [
        ["OR-Tools routing", f"{best.value:.4f}", "-", "-", f"{best.time_s:.3f}"],
        [f"QAOA p={p}", f"{values.min():.4f}" if qbest is not None else "-", f"{feas.mean():.3f}",
         f"{np.mean(np.isclose(values, best.value)):.4f}", "-"]])
    section.text(f"{prob.n_variables} binary variables; {shots} QAOA samples. OR-Tools solves this instantly; "
                 "QAOA at this depth samples feasible routes only part of the time. This is a demonstration "
                 "of the pipeline, not an advantage.")
    # -- portfolio frontier ----------------------------------------------------------------------
    n_assets, budget = 8, 4
    returns = 0.004 + rng.normal(0, 0.02, size=(60, 1)) * rng.uniform(0.5, 1.5, n_assets) + \
        rng.normal(0, 0.02, size=(60, n_assets))
    mu, sigma = returns.mean(0), np.cov(returns.T)
    xs = ((np.arange(2**n_assets)[:, None] >> np.arange(n_assets)) & 1)
    xs = xs[xs.sum(1) == budget]
    risk_all, ret_all = np.einsum("ki,ij,kj->k", xs, sigma, xs), xs @ mu
    picks = []
    for risk in ([0.5, 5.0] if ctx.quick else [0.2, 0.5, 1.0, 2.0, 5.0]):
        ctx.progress(f"opt: portfolio risk {risk}")
        prob_p = portfolio(mu, sigma, budget, risk=risk)
        res_p = qaoa(prob_p, p, init="learned", seed=ctx.seed,
                     max_evaluations=30 if ctx.quick else 200)
        b = _sample_bits(res_p, 500, ctx.seed, n_assets)
        ok = [x for x in b if prob_p.is_feasible(x)]
        if ok:
            x = min(ok, key=prob_p.value)
            picks.append((float(x @ sigma @ x), float(x @ mu), risk))
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(risk_all, ret_all, s=8, c="0.7", label=f"all {len(xs)} portfolios of {budget}")
    if picks:
        ax.scatter([r for r, _, _ in picks], [m for _, m, _ in picks], c="C3", marker="*", s=120,
                   label="QAOA's best sample per risk weight")
    ax.set_xlabel("variance x^T Sigma x")
    ax.set_ylabel("expected return mu^T x")
    ax.legend(fontsize=7)
    section.figure(fig, "opt_frontier", "Every portfolio of the budget (grey) and QAOA's picks (stars).")
    section.text(f"{n_assets} assets, budget {budget}, QAOA p={p} per risk weight, 500 samples each; the best "
                 "feasible sample is drawn. The exact frontier comes from enumeration (classical, instant).")
