"""A graph neural network that predicts QAOA angles for a QUBO instance and a depth.

The graph is the QUBO's Ising form ``E = c + sum_i h_i z_i + sum_{i<j} J_ij z_i z_j``: one node per
variable, one edge per coupling. Everything is divided by the instance's scale
``s = sqrt(mean of h_i^2 and J_ij^2 over the non-zero terms)`` so that the network sees weight-free
shapes: node features ``(h_i/s, sum_j |J_ij|/s, degree/4, 1)``, edge feature ``J_ij/s``. Three rounds of
message passing (an MLP on ``(x_i, x_j, J_ij/s)`` summed over neighbours, residual updates), mean and
max pooling, the depth one-hot, and an MLP give ``p_max`` gammas and betas; depth ``p`` keeps the
first ``p`` (the one-hot tells the network which depth it predicts for). The gammas come out in
scaled units and are divided by ``s``, so a weighted graph gets the angles of its unweighted shape.

Examples:
    >>> import networkx as nx
    >>> from qtandem.opt import maxcut
    >>> net = AngleGNN(hidden=8, seed=0)
    >>> g, b = net.predict(maxcut(nx.cycle_graph(5)), 2)
    >>> g.shape, b.shape
    ((2,), (2,))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.errors import ConfigError

__all__ = ["AngleGNN", "GraphFeatures", "features", "load_model", "save_model"]

FORMAT = "qtandem.opt.AngleGNN/1"
"""Metadata tag of saved angle models."""


@dataclass(frozen=True)
class GraphFeatures:
    """The tensors the network reads from one QUBO (see the module docstring).

    Attributes:
        nodes: ``(n, 4)`` float64 node features.
        src, dst: ``(2m,)`` int64 edge endpoints, both directions.
        edges: ``(2m, 1)`` float64 scaled couplings.
        scale: the instance scale ``s`` (gammas are divided by it).

    Examples:
        >>> import networkx as nx
        >>> from qtandem.opt import maxcut
        >>> f = features(maxcut(nx.path_graph(3)))
        >>> f.nodes.shape, f.src.tolist(), f.scale
        (torch.Size([3, 4]), [0, 1, 1, 2], 0.5)
    """

    nodes: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor
    edges: torch.Tensor
    scale: float


def features(problem: Any) -> GraphFeatures:
    """:class:`GraphFeatures` of a :class:`~qtandem.opt.Problem` or :class:`~qtandem.opt.QUBO`.

    Examples:
        >>> from qtandem.opt import QUBO
        >>> features(QUBO(2, {0: 1.0}, {(0, 1): -2.0})).edges.flatten().tolist()
        [-1.0, -1.0]
    """
    q = getattr(problem, "qubo", problem)
    h, J, _ = q.to_ising()
    n = q.n
    if n == 0:
        raise ConfigError("AngleGNN: the problem has no variables")
    top = max([abs(float(v)) for v in h] + [abs(float(v)) for v in J.values()] + [0.0])
    h = np.where(np.abs(h) > 1e-12 * top, h, 0.0)  # rounding residue of to_ising is no field
    coefs = [float(v) for v in h if v != 0.0] + [float(v) for v in J.values() if abs(v) > 1e-12 * top]
    scale = math.sqrt(float(np.mean(np.square(coefs)))) if coefs else 1.0
    pairs = [(i, j, v / scale) for (i, j), v in J.items() if abs(v) > 1e-12 * top]
    src = [i for i, j, _ in pairs] + [j for i, j, _ in pairs]
    dst = [j for i, j, _ in pairs] + [i for i, j, _ in pairs]
    w = [v for _, _, v in pairs] * 2
    order = np.lexsort((dst, src)) if src else np.zeros(0, dtype=np.int64)
    src_t = torch.tensor(np.asarray(src, dtype=np.int64)[order], dtype=torch.int64)
    dst_t = torch.tensor(np.asarray(dst, dtype=np.int64)[order], dtype=torch.int64)
    w_t = torch.tensor(np.asarray(w, dtype=np.float64)[order], dtype=torch.float64).reshape(-1, 1)
    strength = torch.zeros(n, dtype=torch.float64).index_add_(0, src_t, w_t[:, 0].abs())
    degree = torch.zeros(n, dtype=torch.float64).index_add_(0, src_t, torch.ones(len(src_t), dtype=torch.float64))
    nodes = torch.stack([torch.as_tensor(h / scale, dtype=torch.float64), strength, degree / 4,
                         torch.ones(n, dtype=torch.float64)], dim=1)
    return GraphFeatures(nodes, src_t, dst_t, w_t, scale)


def _mlp(i: int, h: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, h), nn.SiLU(), nn.Linear(h, o))


class AngleGNN(nn.Module):
    """Message-passing network: QUBO instance + depth ``p`` -> ``(gammas, betas)`` (module docstring).

    Args:
        hidden: width of the node states and MLPs.
        layers: message-passing rounds.
        p_max: largest depth it predicts.
        seed: initialisation seed.

    Examples:
        >>> net = AngleGNN(hidden=8, layers=2, p_max=3, seed=0)
        >>> net.extra_repr()
        'hidden=8, layers=2, p_max=3'
    """

    def __init__(self, hidden: int = 32, layers: int = 3, p_max: int = 5, *, seed: int = 0) -> None:
        super().__init__()
        self.hidden, self.n_layers, self.p_max = int(hidden), int(layers), int(p_max)
        gen = torch.random.fork_rng(devices=[])
        with gen:
            torch.manual_seed(seed)
            self.embed = nn.Linear(4, hidden)
            self.messages = nn.ModuleList(_mlp(2 * hidden + 1, hidden, hidden) for _ in range(layers))
            self.updates = nn.ModuleList(_mlp(2 * hidden, hidden, hidden) for _ in range(layers))
            self.head = _mlp(2 * hidden + p_max, 2 * hidden, 2 * p_max)
            last = self.head[2]
            assert isinstance(last, nn.Linear)
            with torch.no_grad():
                last.weight.mul_(0.1)
                last.bias.zero_()
        self.double()

    def extra_repr(self) -> str:
        return f"hidden={self.hidden}, layers={self.n_layers}, p_max={self.p_max}"

    def prior(self, p: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The schedule the network's outputs are added to: a linear ramp (gamma up, |beta| down), scaled units.

        Examples:
            >>> g, b = AngleGNN(hidden=4, p_max=2).prior(2)
            >>> [round(v, 3) for v in g.tolist()], [round(v, 3) for v in b.tolist()]
            ([0.2, 0.4], [-0.4, -0.2])
        """
        k = torch.arange(1, p + 1, dtype=torch.float64) / p
        return 0.4 * k, -0.4 * (1.0 - k + 1.0 / p)

    def forward(self, f: GraphFeatures, p: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(gammas, betas)`` as float64 tensors of shape ``(p,)``, gammas in the instance's units."""
        if not 1 <= p <= self.p_max:
            raise ConfigError(f"AngleGNN: depth p={p} outside the trained range 1..{self.p_max} "
                              "(use init='interp' from the learned p_max angles)")
        x = torch.tanh(self.embed(f.nodes))
        n = x.shape[0]
        for msg, upd in zip(self.messages, self.updates, strict=True):
            m = msg(torch.cat([x[f.src], x[f.dst], f.edges], dim=1)) if len(f.src) else x.new_zeros(0, self.hidden)
            agg = x.new_zeros(n, self.hidden).index_add_(0, f.src, m)
            x = x + upd(torch.cat([x, agg], dim=1))
        onehot = torch.zeros(self.p_max, dtype=torch.float64)
        onehot[p - 1] = 1.0
        out = self.head(torch.cat([x.mean(0), x.max(0).values, onehot]))
        g0, b0 = self.prior(p)
        gammas = (g0 + out[:p]) / f.scale
        betas = b0 + out[self.p_max:self.p_max + p]
        return gammas, betas

    def predict(self, problem: Any, p: int) -> tuple[np.ndarray, np.ndarray]:
        """``(gammas, betas)`` as float64 arrays for a Problem or QUBO (no gradient).

        Examples:
            >>> from qtandem.opt import QUBO
            >>> g, b = AngleGNN(hidden=4, seed=0).predict(QUBO(3, {0: 1.0}, {(0, 1): 1.0, (1, 2): -1.0}), 1)
            >>> g.shape
            (1,)
        """
        with torch.no_grad():
            g, b = self(features(problem), int(p))
        return g.numpy().copy(), b.numpy().copy()


def save_model(model: AngleGNN, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write ``model`` as safetensors with its sizes in the metadata (atomic).

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "m.safetensors"
        >>> save_model(AngleGNN(hidden=4, seed=1), path)
        >>> load_model(path).hidden
        4
    """
    from qtandem.io import write_safetensors

    meta = {"format": FORMAT, "hidden": str(model.hidden), "layers": str(model.n_layers),
            "p_max": str(model.p_max), **(metadata or {})}
    write_safetensors(path, dict(model.state_dict()), meta)


_SHIPPED_BY_NAME: dict[str | None, AngleGNN] = {}


def load_model(path: str | Path | None = None) -> AngleGNN:
    """An :class:`AngleGNN` from a safetensors file; ``None`` gives the shipped model (cached), ``"portfolio"``
    the shipped model trained with portfolio QUBOs as well, ``"routing"`` the one trained with TSP and CVRP
    QUBOs as well (cached).

    The shipped model is ``qtandem/opt/data/angle_gnn.safetensors``, trained by
    ``qtandem opt train-angles examples/opt/train_angles.toml`` (its config is in ``angle_gnn.json``); the
    portfolio model ``angle_gnn_portfolio.safetensors`` by ``examples/opt/train_angles_portfolio.toml`` (the
    same config plus portfolio instances; ``angle_gnn_portfolio.json``), the routing model
    ``angle_gnn_routing.safetensors`` by ``examples/opt/train_angles_routing.toml`` (the same config plus TSP
    with 4 cities and CVRP with 2 customers; ``angle_gnn_routing.json``).

    Raises:
        CheckpointError: not a valid model file.

    Examples:
        >>> load_model().p_max
        5
    """
    from qtandem.errors import CheckpointError
    from qtandem.io import read_safetensors

    shipped = {None: "angle_gnn", "portfolio": "angle_gnn_portfolio", "routing": "angle_gnn_routing"}
    key = path if isinstance(path, str) and path in shipped else None if path is None else ""
    if key != "" and key in _SHIPPED_BY_NAME:
        return _SHIPPED_BY_NAME[key]
    if key != "":
        name = shipped[key]
        with resources.as_file(resources.files("qtandem.opt").joinpath(f"data/{name}.safetensors")) as p:
            tensors, meta = read_safetensors(p)
    else:
        assert path is not None
        tensors, meta = read_safetensors(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path or 'shipped model'}: not an angle model (format {meta.get('format')!r})")
    model = AngleGNN(int(meta["hidden"]), int(meta["layers"]), int(meta["p_max"]))
    try:
        model.load_state_dict(tensors)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the model: {err}") from None
    model.eval()
    model.metadata = meta  # type: ignore[assignment]
    if key != "":
        _SHIPPED_BY_NAME[key] = model
    return model


def model_info(model: AngleGNN) -> str:
    """JSON of a model's sizes and metadata (for reports)."""
    return json.dumps({"hidden": model.hidden, "layers": model.n_layers, "p_max": model.p_max})
