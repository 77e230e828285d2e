"""Training the rewrite policy by imitation of an exhaustive search (``qtandem compile train CONFIG.toml``).

1. **Circuits.** Random reversible circuits (Toffoli, CX and X gates on 3-6 qubits, some with
   Hadamard-conjugated phase gates), decomposed into {h, x, cx, rz} and run through the level-3
   passes, so they look like what the search gets inside :func:`~qtandem.compile.optimize`; then
   ``rotation_circuits`` rotation-heavy circuits of the generated families
   (:func:`qtandem.compile.generate.generate`: QAOA, QNN, Trotter steps, ansatze, ...; seeded family,
   width and basis among {rz, sx, x, cx}, {u, cx} and Nam's), also through the level-3 passes of
   their basis, searched in their window style (:func:`~qtandem.compile.search.search_style`). None
   of them comes from a benchmark set.
2. **Labels.** Each circuit is cut into windows as the search cuts them; on each window the search
   runs with *every* rewrite tried (``policy="all"``) and records its tree. A rewrite at an expanded
   circuit is labelled good when the best circuit found below it is cheaper than that circuit.
   Windows are labelled in chunks saved as safetensors, so an interrupted run keeps what it labelled.
3. **Training.** Binary cross-entropy of the policy's logits on those labels (positives up-weighted),
   Adam, fixed epochs; a checkpoint every epoch (weights, optimizer, epoch) written atomically,
   exact ``--resume``. Validation: the windows of a seeded ``val_fraction`` of the *circuits* are held
   out (split by circuit, so no circuit has windows on both sides; the split is written to
   ``split.json``); how often the top ``k`` rewrites by the policy contain a good one, against the
   same for a random order and for the rule-frequency prior
   (:class:`~qtandem.compile.policy.RulePrior`, measured on the training split and stored in the
   model's metadata as ``rule_prior``).

Output folder: ``data/`` (labelled chunks), ``checkpoint.safetensors``, ``metrics.jsonl``,
``curves.png``, ``report.html``, ``config.toml``, ``split.json`` and ``model.safetensors``.

Configuration (every key checked; see :class:`PolicyTrainConfig`)::

    name = "policy"
    seed = 0
    threads = 1

    [data]
    circuits = 240        # generated reversible circuits
    rotation_circuits = 0 # generated rotation-heavy circuits (qtandem.compile.generate), after those
    rotation_depth = 1    # their depth (layers, steps)
    window = 24           # gates per window (as the search)
    expansions = 30       # expanded circuits per window in the exhaustive search
    val_fraction = 0.2

    [model]
    hidden = 32
    layers = 3

    [optim]
    epochs = 40
    batch_size = 32       # circuits (search states) per batch
    lr = 0.003
    weight_decay = 0.0001

    [train]
    k = 6                 # the search's rewrites per expansion (validation metric)
    max_epochs = 0        # stop this session after this epoch (0: all)

Examples:
    >>> cfg = parse_config("[data]\\ncircuits = 4", source="p.toml")
    >>> cfg.data.circuits, cfg.model.hidden
    (4, 32)
    >>> parse_config("[optim]\\nepoch = 4", source="p.toml")
    Traceback (most recent call last):
    ...
    qtandem.errors.ConfigError: p.toml: optim.epoch: unknown key (did you mean 'epochs'?)
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qtandem.circuit import Circuit
from qtandem.compile.policy import FEATURES, RewritePolicy, RulePrior, batch_graphs, featurize
from qtandem.compile.rules import RULES, Gate
from qtandem.config import parse_toml, to_toml
from qtandem.errors import CheckpointError
from qtandem.io import atomic_write_bytes, atomic_write_text, read_safetensors
from qtandem.random import as_generator, torch_generator_from
from qtandem.training import (
    MetricsLog,
    check_resumable,
    load_checkpoint,
    progress_bar,
    restore_optimizer,
    save_checkpoint,
    torch_threads,
)
from qtandem.training import load_config as _load

__all__ = ["PolicyTrainConfig", "PolicyTrainResult", "generate_circuits", "label_windows", "load_config",
           "parse_config", "rotation_circuits", "rule_rates", "split_circuits", "train", "training_windows",
           "window_circuits"]

CHECKPOINT_FORMAT = "qtandem.compile.policy-checkpoint/1"


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: generated circuits and the exhaustive search that labels them."""

    circuits: int = field(default=240, metadata={"ge": 1})
    rotation_circuits: int = field(default=0, metadata={"ge": 0})
    rotation_depth: int = field(default=1, metadata={"ge": 1})
    min_qubits: int = field(default=3, metadata={"ge": 2})
    max_qubits: int = field(default=6, metadata={"ge": 2, "le": 8})
    min_gates: int = field(default=6, metadata={"ge": 1})
    max_gates: int = field(default=16, metadata={"ge": 1})
    window: int = field(default=24, metadata={"ge": 4})
    expansions: int = field(default=30, metadata={"ge": 1})
    val_fraction: float = field(default=0.2, metadata={"gt": 0, "lt": 1})
    chunk: int = field(default=40, metadata={"ge": 1})


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: :class:`~qtandem.compile.policy.RewritePolicy` sizes."""

    hidden: int = field(default=32, metadata={"ge": 1})
    layers: int = field(default=3, metadata={"ge": 1})


@dataclass(frozen=True)
class OptimConfig:
    """``[optim]``."""

    epochs: int = field(default=40, metadata={"ge": 1})
    batch_size: int = field(default=32, metadata={"ge": 1})
    lr: float = field(default=0.003, metadata={"gt": 0})
    weight_decay: float = field(default=0.0001, metadata={"ge": 0})


@dataclass(frozen=True)
class TrainOptions:
    """``[train]``."""

    k: int = field(default=6, metadata={"ge": 1})
    max_epochs: int = field(default=0, metadata={"ge": 0})


@dataclass(frozen=True)
class PolicyTrainConfig:
    """The whole configuration (top-level keys and one dataclass per section).

    Examples:
        >>> cfg = PolicyTrainConfig()
        >>> cfg.name, cfg.data.circuits, cfg.model.hidden, cfg.optim.epochs
        ('policy', 240, 32, 40)
    """

    name: str = "policy"
    seed: int = 0
    output: str = ""
    threads: int = field(default=1, metadata={"ge": 0})
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainOptions = field(default_factory=TrainOptions)
    source: str = field(default="<string>", metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        """Plain data (no ``source``)."""
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainOptions}
_RESUMABLE = {"train.max_epochs", "output", "threads"}


def parse_config(text: str, *, source: str = "<string>") -> PolicyTrainConfig:
    """Parse a TOML configuration (see the module docs); errors name ``source`` and the key.

    Examples:
        >>> parse_config("[optim]\\nepochs = 3").optim.epochs
        3
        >>> parse_config("[data]\\nmin_qubits = 5\\nmax_qubits = 4", source="p.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: p.toml: data.min_qubits: 5 is larger than data.max_qubits (4)
    """
    cfg = parse_toml(text, PolicyTrainConfig, _SECTIONS, source=source)
    if cfg.data.min_qubits > cfg.data.max_qubits:
        from qtandem.errors import ConfigError

        raise ConfigError(f"{source}: data.min_qubits: {cfg.data.min_qubits} is larger than data.max_qubits "
                          f"({cfg.data.max_qubits})")
    return cfg


def load_config(path: str | Path) -> PolicyTrainConfig:
    """Read a configuration file.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "policy.toml"
        >>> _ = path.write_text("[data]\\ncircuits = 8\\n")
        >>> load_config(path).data.circuits
        8
    """
    return _load(path, parse_config)


def generate_circuits(count: int, *, seed: int, min_qubits: int = 3, max_qubits: int = 6, min_gates: int = 6,
                      max_gates: int = 16) -> list[Circuit]:
    """Random reversible circuits in {h, x, cx, rz}, already through the level-3 passes.

    Examples:
        >>> [c.n_qubits for c in generate_circuits(3, seed=1)]
        [4, 4, 3]
    """
    from qtandem.compile.optimize import preset_passes
    from qtandem.compile.passes.toffoli import ToffoliDecomposition
    from qtandem.compile.passmanager import PassManager

    rng = as_generator(seed)
    passes = PassManager(preset_passes(3, style="nam", kak=True), repeat=8)
    out = []
    for _ in range(count):
        n = int(rng.integers(min_qubits, max_qubits + 1))
        c = Circuit(n)
        for _ in range(int(rng.integers(min_gates, max_gates + 1))):
            kind = rng.random()
            qs = [int(q) for q in rng.permutation(n)]
            if kind < 0.4 and n >= 3:
                c.ccx(qs[0], qs[1], qs[2])
            elif kind < 0.75:
                c.cx(qs[0], qs[1])
            elif kind < 0.85:
                c.x(qs[0])
            else:  # a phase gadget between Hadamards or on a parity
                c.h(qs[0]).cx(qs[1], qs[0]).rz(float(rng.choice([1, -1, 2, -2])) * math.pi / 4, qs[0])
                c.cx(qs[1], qs[0]).h(qs[0])
        c = ToffoliDecomposition("nam").run(c)
        out.append(passes.run(c))
    return out


def rotation_circuits(count: int, *, seed: int, min_qubits: int = 3, max_qubits: int = 6,
                      depth: int = 1) -> list[Circuit]:
    """Rotation-heavy circuits of the generated families, through the level-3 passes of their basis.

    Family, width (at least the family's smallest) and basis ({rz, sx, x, cx}, {u, cx} or Nam's) are
    drawn from ``seed``; :func:`qtandem.compile.generate.generate` makes the circuit.

    Examples:
        >>> from qtandem.compile.search import search_style
        >>> [search_style(c) for c in rotation_circuits(3, seed=1)]
        ['u', 'zsx', 'zsx']
    """
    from qtandem.compile.generate import FAMILIES, generate
    from qtandem.compile.optimize import preset_passes
    from qtandem.compile.passmanager import PassManager

    rng = as_generator(seed)
    fewest = {"qaoa": 3, "uccsd": 4}
    styles = {"ibm": "zsx", "u": None, "nam": "nam"}
    out = []
    for _ in range(count):
        family = FAMILIES[int(rng.integers(len(FAMILIES)))]
        basis = ("ibm", "u", "nam")[int(rng.integers(3))]
        n = max(int(rng.integers(min_qubits, max_qubits + 1)), fewest.get(family, 2))
        c = generate(family, n, seed=int(rng.integers(2 ** 31)), basis=basis, depth=depth)
        passes = PassManager(preset_passes(3, style=styles[basis], kak=styles[basis] is not None), repeat=8)
        out.append(passes.run(c))
    return out


def training_windows(circuits: list[Circuit], size: int) -> list[tuple[list[Gate], int, str]]:
    """The windows the search would cut from ``circuits``: ``(local gates, width, window style)``.

    Examples:
        >>> items = training_windows(generate_circuits(2, seed=1), 24)
        >>> items[0][1:], all(len(g) == 3 and max(g[1]) < items[0][1] for g in items[0][0])  # (gates, width, style)
        ((4, 'nam'), True)
    """
    from qtandem.compile.dag import to_ops
    from qtandem.compile.search import _localize, dfs_order, search_style, windows

    out = []
    for c in circuits:
        style = search_style(c)
        order = dfs_order(to_ops(c), c.n_qubits)
        for i, j in windows(order, size, style=style):
            local, back = _localize(order[i:j])
            out.append((local, len(back), style))
    return out


def window_circuits(circuits: list[Circuit], size: int) -> list[int]:
    """The index of the circuit each window of :func:`training_windows` comes from (same order).

    Examples:
        >>> circuits = generate_circuits(3, seed=1)
        >>> owners = window_circuits(circuits, 24)
        >>> owners == sorted(owners), sorted(set(owners)), len(owners) == len(training_windows(circuits, 24))
        (True, [0, 1, 2], True)
    """
    return [i for i, c in enumerate(circuits) for _ in training_windows([c], size)]


def label_windows(items: list[Any], *, expansions: int,
                  objective: str = "gates") -> list[tuple[list[Gate], list[tuple[int, int]], list[int]]]:
    """Run the exhaustive search on each window; ``(state, actions, 0/1 labels)`` for every expanded state.

    An item is ``(window, width)`` or ``(window, width, style)`` (default style ``"nam"``).

    Examples:
        >>> records = label_windows(training_windows(generate_circuits(2, seed=1), 24)[:1], expansions=5)
        >>> len(records), all(len(actions) == len(labels) for _, actions, labels in records)
        (5, True)
    """
    from qtandem.compile.search import search_window, window_cost

    out = []
    for item in items:
        window, n = item[0], item[1]
        tree: list[Any] = []
        search_window(window, n, lambda s, o, a: np.zeros(len(a)), k=10 ** 6, max_expansions=expansions,
                      objective=objective, tree=tree, style=item[2] if len(item) > 2 else "nam")
        cost: dict[tuple, tuple] = {}
        children: dict[tuple, list[tuple]] = {}
        for state, _, keys, c in tree:
            key = tuple(state)
            cost[key] = c
            children[key] = [k for k in keys if k is not None]
            for k in children[key]:
                if k not in cost:
                    cost[k] = window_cost(list(k), objective)
        best = dict(cost)
        changed = True
        while changed:
            changed = False
            for key, kids in children.items():
                m = min([best[key], *(best[k] for k in kids)])
                if m < best[key]:
                    best[key] = m
                    changed = True
        for state, acts, keys, c in tree:
            labels = [int(k is not None and best[k] < c) for k in keys]
            out.append((state, list(acts), labels))
    return out


def _pack(records: list[tuple[list[Gate], list[tuple[int, int]], list[int]]]) -> dict[str, torch.Tensor]:
    xs, ss, ds, es, node_off, edge_off = [], [], [], [], [0], [0]
    rules, anchors, labels, act_off = [], [], [], [0]
    for state, acts, lab in records:
        x, s, d, e = featurize(state)
        xs.append(x)
        ss.append(s)
        ds.append(d)
        es.append(e)
        node_off.append(node_off[-1] + x.shape[0])
        edge_off.append(edge_off[-1] + s.shape[0])
        rules += [a[0] for a in acts]
        anchors += [a[1] for a in acts]
        labels += lab
        act_off.append(len(rules))
    def cat(parts: list[torch.Tensor], width: int) -> torch.Tensor:
        return torch.cat(parts) if parts else torch.zeros((0, width) if width else 0)

    return {"x": cat(xs, FEATURES).float(), "src": cat(ss, 0).long(), "dst": cat(ds, 0).long(),
            "etype": cat(es, 0).long(),
            "node_off": torch.tensor(node_off), "edge_off": torch.tensor(edge_off), "rule": torch.tensor(rules).long(),
            "anchor": torch.tensor(anchors).long(), "label": torch.tensor(labels).float(),
            "act_off": torch.tensor(act_off)}


def _unpack(t: dict[str, torch.Tensor]) -> list[tuple[tuple, torch.Tensor, torch.Tensor, torch.Tensor]]:
    out = []
    no, eo, ao = t["node_off"].tolist(), t["edge_off"].tolist(), t["act_off"].tolist()
    for i in range(len(no) - 1):
        graph = (t["x"][no[i]:no[i + 1]], t["src"][eo[i]:eo[i + 1]], t["dst"][eo[i]:eo[i + 1]],
                 t["etype"][eo[i]:eo[i + 1]])
        sl = slice(ao[i], ao[i + 1])
        if ao[i + 1] > ao[i]:
            out.append((graph, t["rule"][sl], t["anchor"][sl], t["label"][sl]))
    return out


@dataclass
class PolicyTrainResult:
    """What :func:`train` produced.

    Examples:
        >>> import tempfile
        >>> cfg = parse_config('[data]\\ncircuits = 4\\nexpansions = 5\\nchunk = 4\\n'
        ...                    '[model]\\nhidden = 8\\nlayers = 1\\n[optim]\\nepochs = 1')
        >>> result = train(cfg, output=tempfile.mkdtemp(), progress=False)
        >>> result.epoch, result.finished, result.states > 0
        (1, True, True)
    """

    output: Path
    epoch: int
    finished: bool
    records: list[dict[str, Any]]
    states: int
    wall_s: float


def _dataset(cfg: PolicyTrainConfig, out: Path, progress: bool) -> tuple[list[Any], float]:
    """The labelled states (with their chunk index) and the seconds their labelling took in all."""
    d = cfg.data
    circuits = generate_circuits(d.circuits, seed=cfg.seed, min_qubits=d.min_qubits, max_qubits=d.max_qubits,
                                 min_gates=d.min_gates, max_gates=d.max_gates)
    circuits += rotation_circuits(d.rotation_circuits, seed=cfg.seed + 7, min_qubits=d.min_qubits,
                                  max_qubits=d.max_qubits, depth=d.rotation_depth)
    items = training_windows(circuits, d.window)
    owners = window_circuits(circuits, d.window)
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.json"
    wanted = {"seed": cfg.seed, "data": dataclasses.asdict(d), "windows": len(items), "rules": list(RULES),
              "states_carry": "circuit"}
    if manifest.exists():
        have = json.loads(manifest.read_text())
        if have != wanted:
            raise CheckpointError(f"{folder}: the labelled windows there were made for other settings "
                                  f"({json.dumps(have)[:200]}); use another output folder or delete {folder}")
    else:
        atomic_write_text(manifest, json.dumps(wanted, indent=1))
    chunks = [items[i:i + d.chunk] for i in range(0, len(items), d.chunk)]
    chunk_owners = [owners[i:i + d.chunk] for i in range(0, len(items), d.chunk)]
    bar = progress_bar(progress, len(chunks), label="labelling windows")
    states: list[Any] = []
    label_s = 0.0
    try:
        for i, chunk in enumerate(chunks):
            path = folder / f"chunk-{i:04d}.safetensors"
            if path.exists():
                tensors, meta = read_safetensors(path)
            else:
                from safetensors.torch import save

                t0 = time.perf_counter()
                tensors = _pack_by_circuit(chunk, chunk_owners[i], expansions=d.expansions)
                meta = {"windows": str(len(chunk)), "seconds": repr(time.perf_counter() - t0)}
                atomic_write_bytes(path, save(tensors, metadata=meta))
            label_s += float(meta.get("seconds", "nan"))
            states += list(zip(_state_circuits(tensors), _unpack(tensors), strict=True))
            bar.advance()
    finally:
        bar.close()
    return states, label_s


def _pack_by_circuit(chunk: list[Any], owners: list[int], *,
                     expansions: int) -> dict[str, torch.Tensor]:
    """:func:`_pack` of the labelled states of ``chunk``, plus ``circuit``: each state's circuit index."""
    records: list[Any] = []
    circuit: list[int] = []
    for item, owner in zip(chunk, owners, strict=True):
        recs = label_windows([item], expansions=expansions)
        records += recs
        circuit += [owner] * len(recs)
    tensors = _pack(records)
    tensors["circuit"] = torch.tensor(circuit, dtype=torch.long)
    return tensors


def _state_circuits(tensors: dict[str, torch.Tensor]) -> list[int]:
    """The circuit index of each state :func:`_unpack` returns (states without actions are dropped there too)."""
    ao = tensors["act_off"].tolist()
    circuit = tensors["circuit"].tolist()
    return [circuit[i] for i in range(len(ao) - 1) if ao[i + 1] > ao[i]]


def split_circuits(n_circuits: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(training, validation)`` circuit indices: a seeded ``val_fraction`` of the circuits held out.

    Every window (and search state) of a circuit goes to the side of its circuit.

    Examples:
        >>> split_circuits(10, 0.2, seed=0)
        ([0, 1, 2, 3, 5, 6, 7, 9], [4, 8])
    """
    rng = as_generator(seed + 1)
    n_val = min(max(1, round(val_fraction * n_circuits)), n_circuits - 1) if n_circuits > 1 else 0
    val = sorted(int(i) for i in rng.permutation(n_circuits)[:n_val])
    return [i for i in range(n_circuits) if i not in set(val)], val


def _split(states: list[Any], cfg: PolicyTrainConfig) -> tuple[list[Any], list[Any]]:
    """Training and validation states, split by circuit (:func:`split_circuits`)."""
    _, val = split_circuits(cfg.data.circuits + cfg.data.rotation_circuits, cfg.data.val_fraction, cfg.seed)
    held = set(val)
    return [s for c, s in states if c not in held], [s for c, s in states if c in held]


def _batch_logits(net: RewritePolicy, batch: list[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    graph, offsets = batch_graphs([b[0] for b in batch])
    logits = net(*graph)
    rows = torch.cat([b[2] + offsets[i] for i, b in enumerate(batch)])
    cols = torch.cat([b[1] for b in batch])
    return logits[rows, cols], torch.cat([b[3] for b in batch])


def rule_rates(states: list[Any]) -> list[float]:
    """Per rule, the fraction of its rewrites labelled good in ``states`` (the rule-frequency prior's rates).

    Examples:
        >>> window = [("cx", (0, 1), None), ("cx", (1, 2), None), ("cx", (0, 1), None)]
        >>> rates = rule_rates(_unpack(_pack(label_windows([(window, 3)], expansions=3))))
        >>> rates[RULES.index("cx_triangle")] > 0
        True
    """
    if not states:
        return [0.0] * len(RULES)
    prior = RulePrior.from_labels(torch.cat([s[1] for s in states]).tolist(),
                                  torch.cat([s[3] for s in states]).tolist())
    return [float(r) for r in prior.rates]


def _hit_rates(net: RewritePolicy, states: list[Any], k: int,
               prior_rates: list[float] | None = None) -> dict[str, float]:
    """Among states with a good rewrite: how often the policy's top k hold one, a random order's (exact) and,
    with ``prior_rates``, the rule-frequency prior's (exact, random tie-breaks)."""
    hits = rand = prior = 0.0
    useful = 0
    with torch.no_grad():
        for graph, rule, anchor, label in states:
            pos = int(label.sum())
            if pos == 0:
                continue
            useful += 1
            scores = net(*graph)[anchor, rule]
            top = torch.argsort(-scores, stable=True)[:k]
            hits += float(label[top].max() > 0)
            n = len(label)
            rand += 1.0 - (math.comb(n - pos, min(k, n)) / math.comb(n, min(k, n)))
            if prior_rates is not None:
                prior += RulePrior.hit_probability(rule.tolist(), label.tolist(), k, prior_rates)
    out = {"states_with_good_rewrite": useful, f"top{k}_hit": hits / max(useful, 1),
           f"random_top{k}_hit": rand / max(useful, 1)}
    if prior_rates is not None:
        out[f"prior_top{k}_hit"] = prior / max(useful, 1)
    return out


def _save_checkpoint(path: Path, cfg: PolicyTrainConfig, net: RewritePolicy, opt: torch.optim.Optimizer,
                     epoch: int, wall_s: float) -> None:
    tensors = {f"model.{k}": v for k, v in net.state_dict().items()}
    save_checkpoint(path, CHECKPOINT_FORMAT, tensors, config=cfg.to_dict(), optimizer=opt,
                    meta={"epoch": str(epoch), "wall_s": repr(wall_s)})


def _restore(path: Path, cfg: PolicyTrainConfig, net: RewritePolicy, opt: torch.optim.Optimizer) -> tuple[int, float]:
    tensors, meta = load_checkpoint(path, CHECKPOINT_FORMAT, what="rewrite-policy training")
    check_resumable(json.loads(meta["config"]), cfg.to_dict(), resumable=_RESUMABLE, path=path, source=cfg.source)
    net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    restore_optimizer(opt, tensors, meta)
    return int(meta["epoch"]), float(meta["wall_s"])


def train(cfg: PolicyTrainConfig, *, resume: bool = False, progress: bool = True,
          output: str | Path | None = None) -> PolicyTrainResult:
    """Label generated windows (cached in ``output/data``) and train the policy (see the module docs).

    Args:
        cfg: the configuration.
        resume: continue exactly from ``output/checkpoint.safetensors``.
        progress: rich progress bars on stderr.
        output: override ``cfg.output`` (default ``runs/<name>``).

    Raises:
        CheckpointError: ``resume`` without a checkpoint, or with a changed configuration.

    Examples:
        >>> import tempfile
        >>> cfg = parse_config('[data]\\ncircuits = 4\\nexpansions = 5\\nchunk = 4\\n'
        ...                    '[model]\\nhidden = 8\\nlayers = 1\\n[optim]\\nepochs = 1')
        >>> result = train(cfg, output=tempfile.mkdtemp(), progress=False)
        >>> sorted(p.name for p in result.output.iterdir() if p.is_file())
        ['checkpoint.safetensors', 'config.toml', 'curves.png', 'metrics.jsonl', 'model.safetensors', 'report.html',
         'split.json']
    """
    out = Path(output or cfg.output or f"runs/{cfg.name}")
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.safetensors"
    if not resume and ckpt.exists():
        raise CheckpointError(f"{ckpt} exists: pass --resume to continue it, or choose another output folder")
    with torch_threads(cfg.threads):
        return _train(cfg, out, ckpt, resume=resume, progress=progress)


def _train(cfg: PolicyTrainConfig, out: Path, ckpt: Path, *, resume: bool, progress: bool) -> PolicyTrainResult:
    atomic_write_text(out / "config.toml", to_toml(cfg.to_dict(), header=f"qtandem compile train: {cfg.name}"))
    states, data_s = _dataset(cfg, out, progress)
    train_set, val_set = _split(states, cfg)
    train_circuits, val_circuits = split_circuits(cfg.data.circuits + cfg.data.rotation_circuits,
                                                  cfg.data.val_fraction, cfg.seed)
    prior_rates = rule_rates(train_set)
    atomic_write_text(out / "split.json", json.dumps({
        "rule": "split_circuits(data.circuits + data.rotation_circuits, data.val_fraction, seed): seeded "
                "permutation of circuit indices (the rotation circuits come after the reversible ones)",
        "train_circuits": train_circuits, "val_circuits": val_circuits, "train_states": len(train_set),
        "val_states": len(val_set), "rule_prior": dict(zip(RULES, prior_rates, strict=True))}, indent=1))
    net = RewritePolicy(cfg.model.hidden, cfg.model.layers, seed=cfg.seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    epoch, wall = _restore(ckpt, cfg, net, opt) if resume else (0, 0.0)
    labels = torch.cat([s[3] for s in train_set]) if train_set else torch.zeros(0)
    pos = float(labels.sum())
    pos_weight = torch.tensor((len(labels) - pos) / max(pos, 1.0))
    stop = cfg.optim.epochs if not cfg.train.max_epochs else min(cfg.optim.epochs, cfg.train.max_epochs)
    log = MetricsLog(out / "metrics.jsonl", resume_from=epoch if resume else None, key="epoch")
    records = log.records
    bar = progress_bar(progress and epoch < stop, stop, done=epoch, label=f"training {cfg.name}")
    try:
        while epoch < stop:
            t0 = time.perf_counter()
            net.train()
            perm = torch.randperm(len(train_set), generator=torch_generator_from(cfg.seed * 1000 + epoch))
            total, seen = 0.0, 0
            for i in range(0, len(train_set), cfg.optim.batch_size):
                batch = [train_set[int(j)] for j in perm[i:i + cfg.optim.batch_size]]
                logits, target = _batch_logits(net, batch)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(batch)
                seen += len(batch)
            epoch += 1
            net.eval()
            with torch.no_grad():
                val_loss = (float(torch.nn.functional.binary_cross_entropy_with_logits(
                    *_batch_logits(net, val_set), pos_weight=pos_weight)) if val_set else float("nan"))
            wall += time.perf_counter() - t0
            rec = {"epoch": epoch, "loss": total / max(seen, 1), "val_loss": val_loss, "wall_s": round(wall, 2),
                   **_hit_rates(net, val_set, cfg.train.k, prior_rates)}
            log.emit(rec)
            _save_checkpoint(ckpt, cfg, net, opt, epoch, wall)
            bar.advance()
    finally:
        bar.close()
        log.close()
    finished = epoch >= cfg.optim.epochs
    net.save(out / "model.safetensors", {"name": cfg.name, "epochs": str(epoch), "states": str(len(states)),
                                         "training": json.dumps({"epochs": epoch, "states": len(states),
                                                                 "labelling_s": round(data_s, 1),
                                                                 "train_wall_s": round(wall, 1)}),
                                         "rule_prior": json.dumps(prior_rates),
                                         "val_circuits": json.dumps(val_circuits)})
    _write_report(cfg, out, records, len(states))
    return PolicyTrainResult(out, epoch, finished, records, len(states), wall)


def _write_report(cfg: PolicyTrainConfig, out: Path, records: list[dict[str, Any]], states: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qtandem.report import Report

    k = cfg.train.k
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    ep = [r["epoch"] for r in records]
    a1.plot(ep, [r["loss"] for r in records], label="train")
    a1.plot(ep, [r["val_loss"] for r in records], label="validation")
    a1.set_xlabel("epoch")
    a1.set_ylabel("weighted cross-entropy")
    a1.legend()
    a1.grid(alpha=0.3)
    a2.plot(ep, [r[f"top{k}_hit"] for r in records], label="learned policy")
    a2.plot(ep, [r[f"random_top{k}_hit"] for r in records], "k--", label="random order")
    if records and f"prior_top{k}_hit" in records[-1]:
        a2.plot(ep, [r[f"prior_top{k}_hit"] for r in records], "k:", label="rule-frequency prior")
    a2.set_xlabel("epoch")
    a2.set_ylabel(f"top-{k} holds a good rewrite (validation)")
    a2.legend()
    a2.grid(alpha=0.3)
    fig.suptitle(f"qtandem compile train: {cfg.name}")
    rep = Report(f"qtandem compile train: {cfg.name}", out)
    sec = rep.section("Summary")
    last = records[-1] if records else {}
    sec.text(f"Rewrite policy over {len(RULES)} rules, trained on {states} search states from "
             f"{cfg.data.circuits} generated reversible and {cfg.data.rotation_circuits} generated rotation-heavy "
             "circuits.")
    sec.table(["", "value"], [[key, last[key]] for key in ("epoch", "loss", "val_loss", f"top{k}_hit",
                                                          f"random_top{k}_hit", f"prior_top{k}_hit", "wall_s")
                                               if key in last])
    rep.section("Training curves").figure(fig, "curves", "Loss, and how often the top rewrites hold a good one.")
    plt.close(fig)
    rep.section("Configuration").code(to_toml(cfg.to_dict()))
    rep.write()
