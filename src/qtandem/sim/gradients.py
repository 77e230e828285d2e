"""Gradient estimators that only need forward evaluations: parameter shift and SPSA.

Both differentiate a function ``f(angles) -> (B, m)`` of *gate angles*
``(B, O)`` (one column per parametrised angle of a circuit, an "occurrence")
without autograd inside ``f``; the chain rule from the angles to whatever
produced them (trainable weights, classical pre-processing) is autograd's.
They are what hardware can do, so they also work when ``f`` is estimated from
finite shots or runs a noisy circuit. :func:`qtandem.sim.run_batched` uses them
for ``diff_method="parameter-shift"`` and ``"spsa"``; the other two methods,
backprop (autograd through the simulator) and adjoint
(:func:`qtandem.sim.adjoint.blocks_adjoint_expval`), need the state itself.

* **Parameter shift**: ``d f / d theta = sum_k c_k f(theta + s_k)``, exact for
  gates ``exp(-i theta G / 2)`` whose generator has two eigenvalues ``+-1``
  (two terms: rx, ry, rz, rxx, ryy, rzz, p, u1, cp) or three ``{0, +-1}``
  (four terms: crx, cry, crz; Anselmetti et al. 2021).
* **SPSA** (Spall 1992): two evaluations per step whatever the number of
  angles, along a random +-1 direction, seeded.

Examples:
    >>> import torch
    >>> f = lambda a, init: torch.cos(a)            # a (B, 1) "circuit": <Z> after ry(a)
    >>> a = torch.tensor([[0.3]], dtype=torch.float64, requires_grad=True)
    >>> shift_expval(f, a, gates=[("ry", 0)]).sum().backward()
    >>> round(float(a.grad), 6)                     # -sin(0.3), exactly
    -0.29552
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from qtandem.errors import ParameterError
from qtandem.random import Seed, as_generator

__all__ = ["check_shift_rules", "shift_expval", "shift_rule"]

Tensor = torch.Tensor
Evaluate = Callable[[Tensor, Tensor | None], Tensor]
"""``(angles (B, O), initial states (B, 2**n) or None) -> values (B, m)``, without autograd."""

_TWO_TERM = {"rx", "ry", "rz", "rxx", "ryy", "rzz", "p", "u1", "cp"}
_FOUR_TERM = {"crx", "cry", "crz"}
_C4P = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C4M = (math.sqrt(2) - 1) / (4 * math.sqrt(2))


def shift_rule(name: str, ctrl: int = 0) -> list[tuple[float, float]] | None:
    """The shift rule of gate ``name`` with ``ctrl`` control modifiers, or ``None`` if it has none.

    Returns:
        ``[(shift, coefficient), ...]`` with ``d f / d theta = sum c * f(theta + shift)``.

    Examples:
        >>> shift_rule("rz")
        [(1.5707963267948966, 0.5), (-1.5707963267948966, -0.5)]
        >>> len(shift_rule("crx")), shift_rule("u")
        (4, None)
    """
    if name in _TWO_TERM and ctrl == 0:
        return [(math.pi / 2, 0.5), (-math.pi / 2, -0.5)]
    if name in _FOUR_TERM or (ctrl == 1 and name in ("rx", "ry", "rz")):
        return [(math.pi / 2, _C4P), (-math.pi / 2, -_C4P), (3 * math.pi / 2, -_C4M), (-3 * math.pi / 2, _C4M)]
    return None


def check_shift_rules(gates: Sequence[tuple[str, int]]) -> list[list[tuple[float, float]]]:
    """The shift rule of every ``(gate name, ctrl)``; raises if one has none.

    Raises:
        ParameterError: a gate without a parameter-shift rule (names it and the alternatives).

    Examples:
        >>> [len(rule) for rule in check_shift_rules([("rz", 0), ("crx", 0)])]    # two terms; four for crx
        [2, 4]
        >>> check_shift_rules([("u", 0)])
        Traceback (most recent call last):
        ...
        qtandem.errors.ParameterError: no parameter-shift rule for gate 'u' (ctrl=0); use backprop, adjoint or spsa
    """
    rules = []
    for name, ctrl in gates:
        rule = shift_rule(name, ctrl)
        if rule is None:
            raise ParameterError(f"no parameter-shift rule for gate {name!r} (ctrl={ctrl}); "
                                 "use backprop, adjoint or spsa")
        rules.append(rule)
    return rules


class _Estimated(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, angles: Tensor, init: Tensor | None, evaluate: Evaluate,  # type: ignore[override]
                options: dict[str, Any]) -> Tensor:
        ctx.init, ctx.evaluate, ctx.options = init, evaluate, options
        ctx.save_for_backward(angles)
        with torch.no_grad():
            return evaluate(angles, init)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        (angles,) = ctx.saved_tensors
        opts = ctx.options
        with torch.no_grad():
            if opts["method"] == "spsa":
                grad = _spsa(ctx.evaluate, angles, ctx.init, grad_out, opts)
            else:
                grad = _shift(ctx.evaluate, angles, ctx.init, grad_out, opts)
        return grad, None, None, None


def _spsa(evaluate: Evaluate, angles: Tensor, init: Tensor | None, grad_out: Tensor, opts: dict[str, Any]) -> Tensor:
    b, o = angles.shape
    rng: np.random.Generator = opts["rng"]
    delta = torch.as_tensor(rng.integers(0, 2, (b, o)) * 2 - 1).to(angles)
    shared: Tensor = opts["shared"].to(angles.device)
    delta[:, shared] = delta[0, shared]  # a shared angle gets one perturbation for the whole batch
    c = opts["spsa_step"]
    both = torch.cat([angles + c * delta, angles - c * delta])
    f = evaluate(both, None if init is None else torch.cat([init, init]))
    diff = ((f[:b] - f[b:]) * grad_out).sum(dim=1) / (2 * c)  # per-row directional derivative
    grad = diff.unsqueeze(1) * delta
    # a shared angle moves every row's output: its estimate uses the whole batch
    grad[:, shared] = diff.sum() * delta[:, shared] / b
    return grad


def _shift(evaluate: Evaluate, angles: Tensor, init: Tensor | None, grad_out: Tensor, opts: dict[str, Any]) -> Tensor:
    b, _ = angles.shape
    grad = torch.zeros_like(angles)
    jobs = [(j, s, coef) for j, rule in enumerate(opts["rules"]) for s, coef in rule]
    per_call = max(1, opts["max_rows"] // b)  # shifted copies of the whole batch evaluated at once
    for lo in range(0, len(jobs), per_call):
        part = jobs[lo:lo + per_call]
        shifted = angles.repeat(len(part), 1)
        for t, (j, s, _) in enumerate(part):
            shifted[t * b:(t + 1) * b, j] += s
        f = evaluate(shifted, None if init is None else init.repeat(len(part), 1))
        for t, (j, _, coef) in enumerate(part):
            grad[:, j] += coef * (f[t * b:(t + 1) * b] * grad_out).sum(dim=1)
    return grad


def shift_expval(evaluate: Evaluate, angles: Tensor, init: Tensor | None = None, *, method: str = "parameter-shift",
                 gates: Sequence[tuple[str, int]] = (), shared: Tensor | None = None, spsa_step: float = 0.05,
                 seed: Seed = None, max_rows: int = 1 << 16) -> Tensor:
    """``evaluate(angles, init)``, with a backward pass that estimates the gradient by shifts or SPSA.

    Args:
        evaluate: ``(angles (B', O), init (B', ...) or None) -> (B', m)``, called without
            autograd (it may sample shots or simulate noise).
        angles: ``(B, O)`` gate angles; gradients flow back to whatever produced them.
        init: optional per-row initial states, repeated alongside shifted angles (not differentiated).
        method: ``"parameter-shift"`` or ``"spsa"``.
        gates: ``(gate name, ctrl)`` of each angle column (parameter shift only).
        shared: ``(O,)`` bool, angles that are the same for every row (SPSA
            perturbs them once and estimates them from the whole batch).
        spsa_step: SPSA perturbation size.
        seed: seeds SPSA's directions (a ``Generator`` keeps its stream across calls).
        max_rows: at most this many rows per ``evaluate`` call (bounds memory).

    Returns:
        ``(B, m)`` values.

    Raises:
        ParameterError: an unknown method, or a gate without a shift rule.

    Examples:
        >>> import torch
        >>> f = lambda a, init: torch.sin(a)             # a (B, 1) "circuit": <X> after ry(a)
        >>> a = torch.tensor([[0.2], [0.4]], dtype=torch.float64, requires_grad=True)
        >>> shift_expval(f, a, gates=[("ry", 0)]).sum().backward()
        >>> bool(torch.allclose(a.grad, torch.cos(a.detach())))      # exact shift rule
        True
    """
    if method not in ("parameter-shift", "spsa"):
        raise ParameterError(f"method must be 'parameter-shift' or 'spsa', got {method!r}")
    if angles.dim() != 2:
        raise ParameterError(f"angles must have shape (batch, angles), got {tuple(angles.shape)}")
    options: dict[str, Any] = {"method": method, "max_rows": int(max_rows), "spsa_step": float(spsa_step)}
    if method == "parameter-shift":
        if len(gates) != angles.shape[1]:
            raise ParameterError(f"{len(gates)} gates for {angles.shape[1]} angle columns")
        options["rules"] = check_shift_rules(gates)
    else:
        options["rng"] = as_generator(seed)
        options["shared"] = (torch.zeros(angles.shape[1], dtype=torch.bool) if shared is None
                             else shared.to(torch.bool))
    out: Tensor = _Estimated.apply(angles, init, evaluate, options)
    return out
