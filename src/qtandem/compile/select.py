"""A learned choice of pass sequence per circuit (the idea of MQT Predictor, supervised).

:data:`PIPELINES` names a few pass sequences built from the passes in
:mod:`qtandem.compile.passes`. No sequence is best on every circuit: phase folding wins on
Clifford+T arithmetic, two-qubit block resynthesis on rotation-heavy circuits. A small MLP
(:class:`PipelineSelector`) reads circuit features (:func:`circuit_features`: gate
histogram, size, depth, two-qubit density, rotation angle classes, interaction graph) and
predicts, per pipeline, the log ratio of output to input gates and CX; :meth:`PipelineSelector.rank`
orders the pipelines for an objective. Level 3 of :func:`~qtandem.compile.optimize` runs the
top ones among its candidates (:func:`learned_candidates`); every candidate is verified
there, so a bad prediction costs time, never correctness.

Training (``bench/train_selector.py`` with ``models/selector.toml``) labels generated circuits
and the Nam development half by running every pipeline (:func:`label_circuit`), then fits the
MLP (:func:`fit_selector`). Weights ship as safetensors; no code runs on load.

Examples:
    >>> from qtandem import Circuit
    >>> c = Circuit(2).h(0).cx(0, 1).rz(0.3, 1).cx(0, 1)
    >>> circuit_features(c, style="nam").shape == (len(FEATURE_NAMES),)
    True
    >>> net = PipelineSelector(hidden=8, seed=0)
    >>> sorted(net.rank(c, style="nam")) == sorted(PIPELINES)
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from qtandem.circuit import Circuit
from qtandem.compile.passes.block3 import ThreeQubitResynthesis
from qtandem.compile.passes.cancellation import GateCancellation
from qtandem.compile.passes.graysynth import GraySynth
from qtandem.compile.passes.hadamard import HadamardReduction
from qtandem.compile.passes.kak import TwoQubitResynthesis
from qtandem.compile.passes.phase_folding import PhaseFolding
from qtandem.compile.passes.resynth_1q import Resynthesis1Q
from qtandem.compile.passes.rotation_merge import RotationMerge
from qtandem.compile.passmanager import Counts, Pass, PassManager, PropertySet, Report, counts
from qtandem.errors import CheckpointError, CompileError
from qtandem.io import read_safetensors, write_safetensors

__all__ = ["FEATURE_NAMES", "PIPELINES", "PipelineSelector", "circuit_features", "fit_selector", "label_circuit",
           "learned_candidates", "pipeline_passes", "pretrained_selector", "run_pipeline"]


def _fold(style: str, kak: bool) -> list[Pass]:
    return [HadamardReduction(), GateCancellation(), PhaseFolding(placement="smart"), GateCancellation(),
            Resynthesis1Q(style)]


def _fold_kak(style: str, kak: bool) -> list[Pass]:
    return _fold(style, kak) + ([TwoQubitResynthesis(style)] if kak else [])


def _kak_first(style: str, kak: bool) -> list[Pass]:
    blocks: list[Pass] = [TwoQubitResynthesis(style, min_cx=2)] if kak else []
    return [Resynthesis1Q(style), *blocks, GateCancellation(), Resynthesis1Q(style)]


def _kak_fold(style: str, kak: bool) -> list[Pass]:
    return _kak_first(style, kak) + _fold_kak(style, kak)


def _light(style: str, kak: bool) -> list[Pass]:
    return [GateCancellation(), Resynthesis1Q(style)]


def _rot(style: str, kak: bool) -> list[Pass]:
    blocks: list[Pass] = [TwoQubitResynthesis(style, min_cx=2)] if kak else []
    return [RotationMerge(), GateCancellation(), Resynthesis1Q(style), *blocks, RotationMerge(), Resynthesis1Q(style)]


def _rot_fold(style: str, kak: bool) -> list[Pass]:
    return [RotationMerge(), *_fold_kak(style, kak)]


def _block3(style: str, kak: bool) -> list[Pass]:
    blocks: list[Pass] = [ThreeQubitResynthesis(style), TwoQubitResynthesis(style, min_cx=2)] if kak else []
    return [RotationMerge(), Resynthesis1Q(style), *blocks, GateCancellation(), Resynthesis1Q(style)]


def _graysynth(style: str, kak: bool) -> list[Pass]:
    return [RotationMerge(), GraySynth(), GateCancellation(), Resynthesis1Q(style)]


_BUILDERS: dict[str, Callable[[str, bool], list[Pass]]] = {
    "fold": _fold, "fold_kak": _fold_kak, "kak_first": _kak_first, "kak_fold": _kak_fold, "light": _light,
    "rot": _rot, "rot_fold": _rot_fold, "block3": _block3, "graysynth": _graysynth,
}

PIPELINES: tuple[str, ...] = tuple(_BUILDERS)
"""Named pass sequences: ``fold`` (level 2: Hadamard reduction, cancellation, phase folding, 1q
resynthesis), ``fold_kak`` (then two-qubit KAK blocks of 4+ CX), ``kak_first`` (1q resynthesis,
KAK blocks of 2+ two-qubit gates, cancellation), ``kak_fold`` (both), ``light`` (cancellation and
1q resynthesis only), ``rot`` (commutation-aware rotation merging around KAK blocks), ``rot_fold``
(rotation merging, then ``fold_kak``), ``block3`` (three-qubit then two-qubit block resynthesis),
``graysynth`` (rotation merging and phase-polynomial resynthesis of ``{cx, x, rz}`` regions)."""

FEATURE_NAMES: tuple[str, ...] = (
    "log_qubits", "log_gates", "log_depth", "depth_per_gate",
    "frac_h", "frac_x", "frac_cx", "frac_rz", "frac_sx", "frac_t", "frac_s", "frac_other_1q", "frac_other_2q",
    "frac_3q", "two_qubit_per_qubit", "rz_clifford", "rz_t", "rz_other",
    "pair_density", "max_degree", "mean_degree", "top_pair_share", "same_pair_next", "style_nam", "style_zsx",
    "style_other",
)
"""What :func:`circuit_features` returns, in order (fractions are of all gates unless named)."""

_T_LIKE = frozenset({"t", "tdg"})
_S_LIKE = frozenset({"s", "sdg", "z"})
_ROT = frozenset({"rz", "p", "u1", "rx", "ry"})


def pipeline_passes(name: str, *, style: str, kak: bool = True) -> list[Pass]:
    """The passes of a named pipeline.

    Args:
        name: one of :data:`PIPELINES`.
        style: one-qubit resynthesis style (``"nam"`` or ``"zsx"``).
        kak: whether two-qubit KAK resynthesis may run (the basis has ``cx``).

    Raises:
        CompileError: unknown pipeline name.

    Examples:
        >>> [p.name for p in pipeline_passes("kak_first", style="zsx")]
        ['resynthesis_1q', 'kak_resynthesis', 'cancellation', 'resynthesis_1q']
        >>> pipeline_passes("fastest", style="nam")
        Traceback (most recent call last):
        ...
        qtandem.errors.CompileError: unknown pipeline 'fastest'; choose one of fold, ...
    """
    if name not in _BUILDERS:
        raise CompileError(f"unknown pipeline {name!r}; choose one of {', '.join(PIPELINES)}")
    return _BUILDERS[name](style, kak)


def run_pipeline(circuit: Circuit, name: str, *, style: str, kak: bool = True, repeat: int = 8,
                 cost: Callable[[Counts], tuple] | None = None, props: PropertySet | None = None,
                 budget_s: float | None = None, report: Report | None = None) -> Circuit:
    """Run a named pipeline to a fixpoint (at most ``repeat`` rounds; the same cap for every pipeline).

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2)
        >>> for _ in range(3):
        ...     _ = c.cx(0, 1).rz(0.3, 1).cx(1, 0)
        >>> run_pipeline(c, "kak_first", style="nam", props=PropertySet(objective="cx")).count_ops()["cx"] <= 3
        True
    """
    pm = PassManager(pipeline_passes(name, style=style, kak=kak), repeat=repeat, budget_s=budget_s, cost=cost)
    return pm.run(circuit, props if props is not None else PropertySet(objective="gates"), report=report)


def circuit_features(circuit: Circuit, *, style: str) -> np.ndarray:
    """The features :class:`PipelineSelector` reads (see :data:`FEATURE_NAMES`).

    Shape:
        ``(len(FEATURE_NAMES),)``, float32.

    Examples:
        >>> from qtandem import Circuit
        >>> f = circuit_features(Circuit(3).h(0).cx(0, 1).cx(0, 1).t(2), style="nam")
        >>> dict(zip(FEATURE_NAMES, f.round(2).tolist()))["frac_cx"]
        0.5
    """
    n = max(circuit.n_qubits, 1)
    hist: dict[str, int] = {}
    rz_classes = [0, 0, 0]
    pairs: dict[tuple[int, int], int] = {}
    last_pair: dict[int, tuple[int, int]] = {}
    same_next = 0
    gates = 0
    for inst in circuit:
        if not inst.is_gate:
            continue
        gates += 1
        name, qs = inst.name, tuple(inst.qubits)
        if len(qs) == 1:
            if name in _ROT and not inst.is_parametrized:
                k = float(inst.params[0]) / (math.pi / 4)  # type: ignore[arg-type]
                cls = 2 if abs(k - round(k)) > 1e-9 else (1 if round(k) % 2 else 0)
                rz_classes[cls] += 1
                name = "rz" if name != "rz" and cls == 2 else ("t" if cls == 1 else "s" if cls == 0 else name)
            key = name if name in ("h", "x", "rz", "sx", "sxdg") else (
                "t" if name in _T_LIKE else "s" if name in _S_LIKE else "other_1q")
            key = "sx" if key == "sxdg" else key
        elif len(qs) == 2:
            key = "cx" if name in ("cx", "cz") else "other_2q"
            pair = (min(qs), max(qs))
            pairs[pair] = pairs.get(pair, 0) + 1
            if last_pair.get(qs[0]) == pair and last_pair.get(qs[1]) == pair:
                same_next += 1
            last_pair[qs[0]] = last_pair[qs[1]] = pair
        else:
            key = "3q"
        hist[key] = hist.get(key, 0) + 1
    g = max(gates, 1)
    two = sum(pairs.values())
    deg = np.zeros(n)
    for a, b in pairs:
        deg[a] += 1
        deg[b] += 1
    depth = circuit.depth()
    rz_total = max(sum(rz_classes), 1)
    norm = max(n - 1, 1)
    values = [
        math.log2(1 + n), math.log2(1 + gates), math.log2(1 + depth), depth / g,
        *(hist.get(k, 0) / g for k in ("h", "x", "cx", "rz", "sx", "t", "s", "other_1q", "other_2q", "3q")),
        two / n, *(c / rz_total for c in rz_classes),
        len(pairs) / max(n * (n - 1) / 2, 1), float(deg.max()) / norm, float(deg.mean()) / norm,
        (max(pairs.values()) / two) if two else 0.0, same_next / max(two, 1),
        float(style == "nam"), float(style == "zsx"), float(style not in ("nam", "zsx")),
    ]
    return np.asarray(values, dtype=np.float32)


def label_circuit(circuit: Circuit, *, style: str, kak: bool = True, repeat: int = 8,
                  pipelines: Sequence[str] = PIPELINES) -> np.ndarray:
    """Run every pipeline on ``circuit``: ``[[gates, cx], ...]`` of each output, the input's counts first.

    Shape:
        ``(1 + len(pipelines), 2)``, int64.

    Examples:
        >>> from qtandem import Circuit
        >>> label_circuit(Circuit(1).h(0).h(0).x(0), style="nam", pipelines=["light"]).tolist()
        [[3, 0], [1, 0]]
    """
    rows = [[counts(circuit).gates, counts(circuit).cx]]
    for name in pipelines:
        out = counts(run_pipeline(circuit, name, style=style, kak=kak, repeat=repeat))
        rows.append([out.gates, out.cx])
    return np.asarray(rows, dtype=np.int64)


class PipelineSelector(nn.Module):
    """An MLP from circuit features to predicted ``log(out/in)`` of gates and CX per pipeline.

    Args:
        hidden: width of the two hidden layers.
        pipelines: the pipeline names the outputs stand for (default :data:`PIPELINES`).
        seed: seed of the initial weights.

    Shape:
        ``forward(x)``: ``(batch, len(FEATURE_NAMES))`` -> ``(batch, 2, len(pipelines))`` (gates, CX).

    Examples:
        >>> net = PipelineSelector(hidden=8, seed=0)
        >>> net(torch.zeros(3, len(FEATURE_NAMES))).shape
        torch.Size([3, 2, 9])
        >>> net.extra_repr()
        'features=26, hidden=8, pipelines=9'
    """

    def __init__(self, hidden: int = 32, *, pipelines: Sequence[str] = PIPELINES, seed: int | None = None) -> None:
        super().__init__()
        self.hidden = hidden
        self.pipelines = tuple(pipelines)
        p = len(self.pipelines)
        self.net = nn.Sequential(nn.Linear(len(FEATURE_NAMES), hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, 2 * p))
        self.register_buffer("mean", torch.zeros(len(FEATURE_NAMES)))
        self.register_buffer("std", torch.ones(len(FEATURE_NAMES)))
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int | None = None) -> None:
        """Re-initialize the weights (seeded when ``seed`` is given)."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                with torch.no_grad():
                    layer.weight.uniform_(-bound, bound, generator=gen)
                    layer.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        """Predicted log ratios, ``(batch, 2, pipelines)``."""
        mean, std = self.mean, self.std
        assert isinstance(mean, Tensor) and isinstance(std, Tensor)
        return self.net((x - mean) / std).view(x.shape[0], 2, len(self.pipelines))

    def extra_repr(self) -> str:
        return f"features={len(FEATURE_NAMES)}, hidden={self.hidden}, pipelines={len(self.pipelines)}"

    def rank(self, circuit: Circuit, *, style: str, objective: str = "gates") -> list[str]:
        """Pipeline names, predicted cheapest first under ``objective`` (``cx``/``fidelity`` by CX, else gates)."""
        with torch.no_grad():
            pred = self(torch.from_numpy(circuit_features(circuit, style=style))[None])[0].numpy()
        first, second = (1, 0) if objective in ("cx", "fidelity") else (0, 1)
        order = sorted(range(len(self.pipelines)), key=lambda i: (pred[first, i] + 1e-3 * pred[second, i], i))
        return [self.pipelines[i] for i in order]

    def save(self, path: str | os.PathLike[str], metadata: dict[str, str] | None = None) -> None:
        """Write weights and feature normalization as safetensors, with the pipeline names in the metadata."""
        meta = {"format": "qtandem-selector/1", "hidden": str(self.hidden), "pipelines": ",".join(self.pipelines),
                "features": ",".join(FEATURE_NAMES), **(metadata or {})}
        write_safetensors(path, {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PipelineSelector:
        """Read weights written by :meth:`save` (safetensors only; no code runs).

        Raises:
            CheckpointError: not a selector file, or written for other features or unknown pipelines.
        """
        tensors, meta = read_safetensors(path)
        if meta.get("format") != "qtandem-selector/1":
            raise CheckpointError(f"{path}: not a pipeline selector (format {meta.get('format')!r})")
        if meta.get("features") != ",".join(FEATURE_NAMES):
            raise CheckpointError(f"{path}: written for other circuit features; retrain with bench/train_selector.py")
        names = tuple(meta["pipelines"].split(","))
        unknown = [n for n in names if n not in _BUILDERS]
        if unknown:
            raise CheckpointError(f"{path}: unknown pipelines {unknown}; retrain with bench/train_selector.py")
        net = cls(int(meta["hidden"]), pipelines=names)
        net.load_state_dict(tensors)
        return net.eval()


def fit_selector(features: np.ndarray, labels: np.ndarray, *, hidden: int = 32, epochs: int = 300,
                 lr: float = 3e-3, weight_decay: float = 1e-3, seed: int = 0,
                 pipelines: Sequence[str] = PIPELINES) -> PipelineSelector:
    """Fit a :class:`PipelineSelector` (full-batch Adam, mean squared error on log ratios).

    Args:
        features: ``(circuits, len(FEATURE_NAMES))`` from :func:`circuit_features`.
        labels: ``(circuits, 1 + pipelines, 2)`` from :func:`label_circuit`.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).cx(0, 1).cx(1, 0).cx(0, 1).cx(1, 0)
        >>> x = circuit_features(c, style="nam")[None]
        >>> y = label_circuit(c, style="nam")[None]
        >>> fit_selector(x, y, hidden=4, epochs=5).pipelines == PIPELINES
        True
    """
    torch.manual_seed(seed)
    x = torch.as_tensor(features, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.float32)
    target = torch.log((y[:, 1:, :] + 1) / (y[:, :1, :] + 1)).transpose(1, 2)  # (n, 2, pipelines)
    net = PipelineSelector(hidden, pipelines=pipelines, seed=seed)
    net.mean.copy_(x.mean(0))  # type: ignore[operator]
    net.std.copy_(x.std(0).clamp_min(1e-3) if len(x) > 1 else torch.ones(x.shape[1]))  # type: ignore[operator]
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        opt.zero_grad()
        loss = ((net(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
    return net.eval()


def _shipped_path() -> Path:
    return Path(str(resources.files("qtandem.compile") / "models" / "selector.safetensors"))


@cache
def pretrained_selector() -> PipelineSelector:
    """The shipped selector (``qtandem/compile/models/selector.safetensors``, trained by
    ``bench/train_selector.py`` from ``models/selector.toml``).

    Raises:
        CheckpointError: the file is missing or invalid.

    Examples:
        >>> pretrained_selector().pipelines == PIPELINES
        True
    """
    path = _shipped_path()
    if not path.exists():
        raise CheckpointError(f"the shipped pipeline selector {path} is missing; retrain it with "
                              "`python bench/train_selector.py`")
    return PipelineSelector.load(path)


def learned_candidates(circuit: Circuit, props: PropertySet, *, style: str | None, k: int = 2, repeat: int = 30,
                       cost: Callable[[Counts], tuple] | None = None,
                       budget_s: float | None = None) -> list[tuple[str, Circuit, Report]]:
    """Level 3's extra candidates: the selector's top ``k`` pipelines run on ``circuit`` (not yet verified).

    Returns ``[]`` when no one-qubit style applies or no selector is shipped; a pipeline whose passes refuse
    the style is left out.

    Examples:
        >>> from qtandem import Circuit
        >>> c = Circuit(2).h(0).h(0).cx(0, 1)
        >>> [(name in PIPELINES, out.num_gates()) for name, out, _ in learned_candidates(c, PropertySet(), style="nam")]
        [(True, 1), (True, 1)]
    """
    if style is None or k < 1:
        return []
    try:
        names = pretrained_selector().rank(circuit, style=style, objective=props.get("objective", "gates"))[:k]
    except CheckpointError:
        return []
    out = []
    for name in names:
        rep = Report()
        try:
            cand = run_pipeline(circuit, name, style=style, kak=bool(props.get("kak", True)), repeat=repeat,
                                cost=cost, props=props, budget_s=budget_s, report=rep)
        except CompileError:  # a pass that does not support this style: the other candidates remain
            continue
        rep.notes.append(f"level 3 kept the learned choice: pipeline {name!r}")
        out.append((name, cand, rep))
    return out
