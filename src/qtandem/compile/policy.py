"""The learned rewrite policy: a small graph network over a window's gates.

Nodes are gates, with features for the gate kind and, for ``rz``, the class of
its angle; edges follow the wires (from each gate to the next one on each of
its qubits, and back), typed by which operand slot they leave and enter, so a
``cx``'s control and target are told apart. A few rounds of message passing
give every gate a state; a linear head turns it into one logit per rule of
:data:`qtandem.compile.rules.RULES`. The score of a rewrite is the logit of its
rule at its anchor gate: the policy's guess that the rewrite leads, within a
few more, to a cheaper window. Training imitates an exhaustive search
(:mod:`qtandem.compile.train_policy`).

Weights load from safetensors (no code runs on load). :class:`RulePrior` is the
baseline the policy has to beat besides a random order: it ranks rewrites by how
often their rule was a good rewrite in the training data, ignoring where it applies.

Examples:
    >>> from qtandem.compile.rules import actions
    >>> net = RewritePolicy(hidden=8, layers=1, seed=0)
    >>> window = [("cx", (0, 1), None), ("h", (1,), None), ("cx", (0, 1), None)]
    >>> actions(window)                     # (rule, anchor gate): two cx flips
    [(0, 0), (0, 2)]
    >>> net.score_actions(window, None, actions(window)).shape
    (2,)
    >>> net.extra_repr()
    'features=14, hidden=8, layers=1, rules=11'
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from qtandem.compile.dag import Op, Wires, normalize_angle
from qtandem.compile.rules import RULES, Gate, to_window_ops
from qtandem.errors import CheckpointError
from qtandem.io import read_safetensors, write_safetensors

__all__ = ["EDGE_TYPES", "FEATURES", "Graph", "RewritePolicy", "RulePrior", "batch_graphs", "featurize",
           "pretrained_policy"]

FEATURES = 14
"""Node features: kind (h, x, rz, cx, sx, u), rz angle class (T-like, S-like, Z, other; ``u`` counts as other),
sign, position, number of one-qubit neighbours (on each side, over 4), two-qubit gate."""

EDGE_TYPES = 8
"""Wire edges: (slot in the source gate, slot in the next gate), forward and backward."""

_KIND = {"h": 0, "x": 1, "rz": 2, "cx": 3, "sx": 4, "u": 5}
_NKIND = 6
_PI4 = math.pi / 4

Graph = tuple[Tensor, Tensor, Tensor, Tensor]
"""``(x (nodes, FEATURES) float32, src (edges,) int64, dst (edges,) int64, etype (edges,) int64)``."""


def _angle_class(angle: float) -> int:
    a = normalize_angle(angle)
    k = a / _PI4
    if abs(k - round(k)) < 1e-9:
        r = round(k) % 8
        if r % 2:
            return 0  # odd multiple of pi/4 (T-like)
        if r in (2, 6):
            return 1  # +-pi/2 (S-like)
        if r == 4:
            return 2  # pi (Z)
    return 3


def featurize(window: Sequence[Gate], ops: list[Op] | None = None) -> Graph:
    """The graph of a window (see :data:`FEATURES`, :data:`EDGE_TYPES`).

    Args:
        window: the gates.
        ops: the window's ops with wire links built (made here when ``None``).

    Examples:
        >>> x, src, dst, etype = featurize([("h", (0,), None), ("cx", (0, 1), None), ("rz", (1,), 0.5)])
        >>> x.shape, src.shape == dst.shape == etype.shape
        (torch.Size([3, 14]), True)
    """
    x, src, dst, et = _graph_arrays(window, ops)
    return torch.from_numpy(x), torch.from_numpy(src), torch.from_numpy(dst), torch.from_numpy(et)


def _graph_arrays(window: Sequence[Gate], ops: list[Op] | None) -> tuple[np.ndarray, ...]:
    """:func:`featurize` as NumPy arrays (float32 features, int64 edges)."""
    if ops is None:
        ops = to_window_ops(window)
        n = 1 + max((q for g in window for q in g[1]), default=-1)
        Wires(ops, n)
    count = len(ops)
    x = np.zeros((count, FEATURES), dtype=np.float32)
    index = {id(op): i for i, op in enumerate(ops)}
    src: list[int] = []
    dst: list[int] = []
    et: list[int] = []
    for i, op in enumerate(ops):
        x[i, _KIND.get(op.name, 3)] = 1.0
        if op.angle is not None:
            x[i, _NKIND + _angle_class(op.angle)] = 1.0
            x[i, _NKIND + 4] = 1.0 if normalize_angle(op.angle) > 0 else -1.0
        elif op.name == "u":
            x[i, _NKIND + 3] = 1.0
        x[i, _NKIND + 5] = i / max(count - 1, 1)
        singles = 0
        for k, q in enumerate(op.qubits):
            nxt = op.nxt[k]
            prv = op.prv[k]
            singles += int(nxt is not None and len(nxt.qubits) == 1) + int(prv is not None and len(prv.qubits) == 1)
            if nxt is not None:
                j = index[id(nxt)]
                slot = nxt.qubits.index(q)
                src += [i, j]
                dst += [j, i]
                et += [2 * k + slot, 4 + 2 * slot + k]
        x[i, _NKIND + 6] = singles / 4.0
        x[i, _NKIND + 7] = len(op.qubits) - 1.0
    return x, np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), np.array(et, dtype=np.int64)


def batch_graphs(graphs: Sequence[Graph]) -> tuple[Graph, Tensor]:
    """Concatenate graphs (node indices offset); returns the batch and each graph's first node index.

    Examples:
        >>> graph = featurize([("h", (0,), None), ("cx", (0, 1), None), ("rz", (1,), 0.5)])
        >>> (x, src, dst, etype), first = batch_graphs([graph, graph])
        >>> x.shape, first.tolist()
        (torch.Size([6, 14]), [0, 3])
    """
    offsets = []
    off = 0
    xs, ss, ds, es = [], [], [], []
    for x, s, d, e in graphs:
        offsets.append(off)
        xs.append(x)
        ss.append(s + off)
        ds.append(d + off)
        es.append(e)
        off += x.shape[0]
    return (torch.cat(xs), torch.cat(ss), torch.cat(ds), torch.cat(es)), torch.tensor(offsets, dtype=torch.long)


class RewritePolicy(nn.Module):
    """Graph network scoring rewrites (see the module docs).

    Args:
        hidden: width of the gate states.
        layers: message-passing rounds.
        seed: seed of the initial weights (``None``: torch's global generator).
        device: as for :class:`torch.nn.Linear`.
        dtype: as for :class:`torch.nn.Linear`.

    Shape:
        ``forward(x, src, dst, etype)``: ``x`` is ``(nodes, FEATURES)``; returns ``(nodes, len(RULES))`` logits.

    Examples:
        >>> window = [("h", (0,), None), ("cx", (0, 1), None), ("rz", (1,), 0.5)]
        >>> policy = RewritePolicy(hidden=8, layers=1, seed=0)
        >>> policy(*featurize(window)).shape                  # (gates, rules)
        torch.Size([3, 11])
    """

    def __init__(self, hidden: int = 32, layers: int = 3, *, seed: int | None = None,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.hidden = hidden
        self.layers = layers
        kw = {"device": device, "dtype": dtype}
        self.embed = nn.Linear(FEATURES, hidden, **kw)  # type: ignore[arg-type]
        self.self_maps = nn.ModuleList(nn.Linear(hidden, hidden, **kw) for _ in range(layers))  # type: ignore[arg-type]
        self.edge_maps = nn.ModuleList(nn.Linear(hidden, EDGE_TYPES * hidden, bias=False, **kw)  # type: ignore[arg-type]
                                       for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden, **kw) for _ in range(layers))  # type: ignore[arg-type]
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden, **kw), nn.ReLU(),  # type: ignore[arg-type]
                                  nn.Linear(hidden, len(RULES), **kw))  # type: ignore[arg-type]
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int | None = None) -> None:
        """Re-initialize every weight (seeded when ``seed`` is given)."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        for p in self.parameters():
            if p.dim() > 1:
                bound = 1.0 / math.sqrt(p.shape[1])
                with torch.no_grad():
                    p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 2 * bound - bound)
            else:
                with torch.no_grad():
                    p.zero_()
        for norm in self.norms:
            nn.init.ones_(norm.weight)  # type: ignore[arg-type]

    def forward(self, x: Tensor, src: Tensor, dst: Tensor, etype: Tensor) -> Tensor:
        """Per-gate rule logits."""
        h0 = torch.relu(self.embed(x))
        h = h0
        n = h.shape[0]
        for self_map, edge_map, norm in zip(self.self_maps, self.edge_maps, self.norms, strict=True):
            m = edge_map(h).view(n, EDGE_TYPES, self.hidden)
            msg = m[src, etype]
            agg = torch.zeros_like(h).index_add_(0, dst, msg)
            h = norm(h + torch.relu(self_map(h) + agg))
        return self.head(torch.cat([h, h0], dim=1))  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"features={FEATURES}, hidden={self.hidden}, layers={self.layers}, rules={len(RULES)}"

    def score_actions(self, window: Sequence[Gate], ops: list[Op] | None,
                      acts: Sequence[tuple[int, int]]) -> np.ndarray:
        """Scores of ``acts`` (``(rule, anchor)`` pairs) in ``window`` (higher: try first).

        The search calls this once per expanded circuit on a graph of a few dozen gates, where torch's
        per-call overhead (and its thread pool on a busy machine) dominates, so it runs the same network in
        NumPy (float32) on a copy of the weights (refreshed when a parameter changes).
        """
        if not acts:
            return np.zeros(0)
        logits = self._forward_np(*_graph_arrays(window, ops))
        rules = np.fromiter((a[0] for a in acts), dtype=np.int64, count=len(acts))
        anchors = np.fromiter((a[1] for a in acts), dtype=np.int64, count=len(acts))
        return logits[anchors, rules].astype(np.float64)

    def _weights_np(self) -> dict[str, np.ndarray]:
        version = tuple(p._version for p in self.parameters())
        cached = self.__dict__.get("_np_cache")
        if cached is None or cached[0] != version:
            cached = (version, {k: v.detach().cpu().float().numpy().copy() for k, v in self.state_dict().items()})
            self.__dict__["_np_cache"] = cached
        return cached[1]

    def _forward_np(self, x: np.ndarray, src: np.ndarray, dst: np.ndarray, etype: np.ndarray) -> np.ndarray:
        """:meth:`forward` in NumPy (same weights, same result up to float32 rounding)."""
        w = self._weights_np()
        h0 = np.maximum(x @ w["embed.weight"].T + w["embed.bias"], 0)
        h = h0
        n = h.shape[0]
        for i in range(self.layers):
            m = (h @ w[f"edge_maps.{i}.weight"].T).reshape(n, EDGE_TYPES, self.hidden)
            agg = np.zeros_like(h)
            np.add.at(agg, dst, m[src, etype])
            z = h + np.maximum(h @ w[f"self_maps.{i}.weight"].T + w[f"self_maps.{i}.bias"] + agg, 0)
            mu = z.mean(axis=1, keepdims=True)
            var = z.var(axis=1, keepdims=True)
            h = (z - mu) / np.sqrt(var + self.norms[i].eps) * w[f"norms.{i}.weight"] + w[f"norms.{i}.bias"]
        hid = np.maximum(np.concatenate([h, h0], axis=1) @ w["head.0.weight"].T + w["head.0.bias"], 0)
        return hid @ w["head.2.weight"].T + w["head.2.bias"]  # type: ignore[no-any-return]

    def save(self, path: str | os.PathLike[str], metadata: dict[str, str] | None = None) -> None:
        """Write the weights as safetensors (atomically), with ``hidden``/``layers`` in the metadata."""
        meta = {"hidden": str(self.hidden), "layers": str(self.layers), "rules": ",".join(RULES),
                **(metadata or {})}
        write_safetensors(path, {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RewritePolicy:
        """Read weights written by :meth:`save` (safetensors only; no code runs).

        Raises:
            CheckpointError: the file is not a policy for this version's rules.
        """
        tensors, meta = read_safetensors(path)
        if meta.get("rules") != ",".join(RULES):
            raise CheckpointError(f"{path}: a policy for rules {meta.get('rules')!r}, but this qtandem has "
                                  f"{','.join(RULES)!r}; retrain it with `qtandem compile train`")
        try:
            net = cls(hidden=int(meta["hidden"]), layers=int(meta["layers"]))
            net.load_state_dict(tensors)
        except (KeyError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{path}: not a RewritePolicy file ({err})") from None
        net.info = dict(meta)  # type: ignore[assignment]
        return net.eval()


def _shipped_path() -> Path:
    return Path(str(resources.files("qtandem.compile") / "models" / "policy.safetensors"))


@cache
def pretrained_policy() -> RewritePolicy:
    """The shipped policy (``qtandem/compile/models/policy.safetensors``, trained by
    ``qtandem compile train src/qtandem/compile/models/policy.toml``).

    Raises:
        CheckpointError: the weights are missing or do not match the rules.

    Examples:
        >>> policy = pretrained_policy()
        >>> isinstance(policy, RewritePolicy), policy.training
        (True, False)
    """
    path = _shipped_path()
    if not path.exists():
        raise CheckpointError(f"no shipped rewrite policy at {path}; train one with `qtandem compile train "
                              "src/qtandem/compile/models/policy.toml` or use policy='random'")
    return RewritePolicy.load(path)


class RulePrior:
    """Rule-frequency prior: ranks a rewrite by how often its rule was good in training (ties in seeded order).

    Args:
        rates: per rule of :data:`~qtandem.compile.rules.RULES`, the fraction of its training rewrites
            labelled good.
        seed: seed of the tie-breaks (rewrites of one rule at different gates).

    Examples:
        >>> prior = RulePrior([0.1, 0.5] + [0.0] * (len(RULES) - 2), seed=0)
        >>> prior.score_actions([], None, [(0, 3), (1, 0), (0, 1)]).argmax()
        np.int64(1)
        >>> RulePrior.hit_probability([0, 1, 1, 2], [1, 0, 0, 0], k=1, rates=[0.2, 0.5, 0.1])
        0.0
        >>> RulePrior.hit_probability([0, 1, 1, 2], [0, 1, 0, 0], k=1, rates=[0.2, 0.5, 0.1])
        0.5
    """

    def __init__(self, rates: Sequence[float] | np.ndarray, *, seed: int | None = None) -> None:
        if len(rates) != len(RULES):
            raise CheckpointError(f"a rule prior needs one rate per rule ({len(RULES)}), got {len(rates)}")
        self.rates = np.asarray(rates, dtype=np.float64)
        from qtandem.random import as_generator

        self._rng = as_generator(seed)

    @classmethod
    def from_labels(cls, rules: Sequence[int], labels: Sequence[float], *, seed: int | None = None) -> RulePrior:
        """The prior of labelled rewrites (``rules[i]`` labelled ``labels[i]`` in {0, 1}); unseen rules get 0."""
        r = np.asarray(rules, dtype=np.int64)
        y = np.asarray(labels, dtype=np.float64)
        total = np.bincount(r, minlength=len(RULES)).astype(np.float64)
        good = np.bincount(r, weights=y, minlength=len(RULES))
        rates = np.divide(good, total, out=np.zeros(len(RULES)), where=total > 0)
        return cls([float(x) for x in rates], seed=seed)

    @classmethod
    def pretrained(cls, *, seed: int | None = None) -> RulePrior:
        """The prior measured on the shipped policy's training split (stored in its metadata).

        Raises:
            CheckpointError: the shipped policy has no prior (retrain it with ``qtandem compile train``).
        """
        import json

        info = getattr(pretrained_policy(), "info", {})
        if "rule_prior" not in info:
            raise CheckpointError("the shipped rewrite policy stores no rule prior; retrain it with `qtandem compile "
                                  "train src/qtandem/compile/models/policy.toml`")
        return cls(json.loads(info["rule_prior"]), seed=seed)

    def score_actions(self, window: Sequence[Gate], ops: list[Op] | None,
                      acts: Sequence[tuple[int, int]]) -> np.ndarray:
        """Scores of ``acts`` (``(rule, anchor)`` pairs): the rule's rate, ties broken in seeded random order."""
        if not acts:
            return np.zeros(0)
        rank = np.unique(self.rates, return_inverse=True)[1].astype(np.float64)  # equal rates tie
        return np.array([rank[r] for r, _ in acts]) + 0.5 * self._rng.random(len(acts))

    @staticmethod
    def hit_probability(rules: Sequence[int], labels: Sequence[float], k: int, rates: Sequence[float]) -> float:
        """Probability that the prior's top ``k`` (random tie-breaks) holds a rewrite labelled good (exact)."""
        r = np.asarray(rules, dtype=np.int64)
        y = np.asarray(labels) > 0
        rate = np.asarray(rates, dtype=np.float64)[r]
        left = k
        for value in sorted(set(rate.tolist()), reverse=True):
            group = rate == value
            m, p = int(group.sum()), int(y[group].sum())
            if m <= left:
                if p:
                    return 1.0
                left -= m
                if left == 0:
                    return 0.0
                continue
            return 1.0 - math.comb(m - p, left) / math.comb(m, left)
        return 0.0
