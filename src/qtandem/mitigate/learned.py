"""Learned error mitigation (ML-QEM, Liao et al., arXiv:2309.17368): a model maps noisy runs to ideal values.

**Features** of a circuit (:func:`mlqem_features`): the noisy estimates at several noise
scales (global folding, :func:`~qtandem.mitigate.folding.fold_global`; measured by the
inner estimator, so ``methods=[readout(), mlqem()]`` feeds readout-mitigated values), each
times the calibration's total gate error, then the circuit's gate counts and depth and the
calibration numbers (:mod:`qtandem.mitigate.features`).

**Models** (:class:`MLQEMRegressor`, scikit-learn's ``fit``/``predict`` contract): a ridge
regression on the standardized features, then a nonlinear model of its residual:
``"forest"`` (scikit-learn's random forest), ``"mlp"`` (torch, two hidden layers) or
``"gnn"`` (torch, message passing by hand over the circuit DAG of
:func:`~qtandem.mitigate.features.circuit_graph`, pooled and joined with the features).
``"linear"`` is the ridge alone.

**Training** on near-Clifford circuits of the SAME STRUCTURE
(:func:`~qtandem.mitigate.features.near_clifford`: every ``rz`` angle a multiple of pi/2),
whose ideal values are exact (statevector). By default the training circuits come from the
first circuit the method sees; ``training=[...]`` gives other circuits of the same family (for
instance development instances), so one model serves every instance. A :func:`mlqem` method
trains once per observable and device and keeps the model: the training shots are a one-off
cost, reported in ``MitigationResult.one_off_shots`` (``details["one_off"]["mlqem_training"]``),
and later calls reuse it for free.

**Out of distribution** (:meth:`MLQEMRegressor.ood_score`): the distance of a circuit's
standardized features to the nearest training point, divided by ``ood_factor`` times the
``0.95``-quantile of the training points' own nearest-neighbour distances. Above 1 the method
refuses: before running anything when the circuit's structure is already out (then every shot
goes to the inner estimator at scale 1), or after measuring when the noisy values are; it
returns the inner estimator's scale-1 value, the best classical estimate it has, and says so in
``details["refused"]`` (``MitigationResult.refused``).

**Standard error**: parametric bootstrap (64 draws) of the noisy inputs from their estimates and
standard errors, through the model; the model's own error (cross-validated RMSE on the training
set) is reported in ``details["model_rmse"]``, not added.

Examples:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).uniform(-1, 1, size=(60, 2))
    >>> model = MLQEMRegressor("linear").fit(X, 2 * X[:, 0] - X[:, 1] + 0.5)
    >>> [round(float(v), 4) for v in model.predict(np.array([[0.25, 0.5]]))]
    [0.5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.errors import ArgumentTypeError, SimulationError
from qtandem.mitigate.core import Context, Estimate, Estimator, split_shots
from qtandem.mitigate.features import calibration_features, circuit_features, circuit_graph, near_clifford
from qtandem.random import Seed, as_generator

__all__ = ["MLQEM", "MODELS", "MLQEMRegressor", "mlqem", "mlqem_features"]

MODELS = ("forest", "mlp", "gnn", "linear")
"""Model names of :class:`MLQEMRegressor`."""

Graph = tuple[np.ndarray, np.ndarray]


def mlqem_features(noisy: Sequence[float] | np.ndarray, circuit: Circuit, noise: Any,
                   features: str = "all") -> np.ndarray:
    """The feature vector: noisy values, noisy values times the total gate error, circuit and calibration features.

    ``features="values"`` keeps the first two groups only (a model linear in the noisy values, whose slope may
    follow the total gate error: no additive term from the structure).

    Examples:
        >>> from qtandem import Circuit
        >>> mlqem_features([0.9, 0.7], Circuit(1).sx(0), None).shape
        (18,)
        >>> mlqem_features([0.9, 0.7], Circuit(1).sx(0), None, features="values").shape
        (4,)
    """
    cal = calibration_features(circuit, noise)
    v = np.asarray(noisy, dtype=float)
    if features == "values":
        return np.concatenate([v, v * cal[2]])
    if features != "all":
        raise ArgumentTypeError(f"mlqem: features must be 'all' or 'values', got {features!r}")
    return np.concatenate([v, v * cal[2], circuit_features(circuit), cal])


class _Scaler:
    def __init__(self, X: np.ndarray) -> None:
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        # a feature constant in training still counts: a new value of it is out of distribution
        self.std = np.where(std > 1e-12, std, 1e-3 * (np.abs(self.mean) + 1.0))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.asarray((X - self.mean) / self.std)


class MLQEMRegressor:
    """ML-QEM's regressor: ridge on standardized features, then ``model`` on the residual (scikit-learn contract).

    Args:
        model: ``"forest"``, ``"mlp"``, ``"gnn"`` (then ``fit``/``predict`` need ``graphs``) or ``"linear"``.
        seed: seed of the forest, the networks' initialization and the cross-validation split.
        ridge: L2 penalty of the linear part (standardized features).
        epochs: full-batch Adam steps of the networks.
        hidden: hidden width of the networks.
        ood_factor: the out-of-distribution threshold (see :meth:`ood_score`).
        n_values: the leading columns that are measured values (range check); the others describe the
            structure (nearest-neighbour check). ``None``: all columns are values.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> X = rng.uniform(0, 1, size=(80, 1))
        >>> model = MLQEMRegressor("forest", seed=0).fit(X, np.sin(3 * X[:, 0]))
        >>> bool(abs(float(model.predict(np.array([[0.5]]))[0]) - np.sin(1.5)) < 0.05)
        True
        >>> float(model.ood_score(np.array([[0.5]]))[0]) < 1 < float(model.ood_score(np.array([[5.0]]))[0])
        True
    """

    def __init__(self, model: str = "forest", *, seed: int = 0, ridge: float = 1e-3, epochs: int = 400,
                 hidden: int = 32, ood_factor: float = 3.0, n_values: int | None = None) -> None:
        if model not in MODELS:
            raise ArgumentTypeError(f"model must be one of {MODELS}, got {model!r}")
        self.model = model
        self.seed = int(seed)
        self.ridge = float(ridge)
        self.epochs = int(epochs)
        self.hidden = int(hidden)
        self.ood_factor = float(ood_factor)
        self.n_values = n_values

    # -- scikit-learn contract --------------------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments (scikit-learn contract)."""
        return {"model": self.model, "seed": self.seed, "ridge": self.ridge, "epochs": self.epochs,
                "hidden": self.hidden, "ood_factor": self.ood_factor, "n_values": self.n_values}

    def fit(self, X: Any, y: Any, graphs: Sequence[Graph] | None = None) -> MLQEMRegressor:
        """Fit on features ``X`` ``(n, f)`` and ideal values ``y`` ``(n,)`` (``graphs`` for ``"gnn"``)."""
        X, y = self._check(X, y)
        if self.model == "gnn" and (graphs is None or len(graphs) != len(X)):
            raise ArgumentTypeError("the gnn model needs one circuit graph per training row (graphs=...)")
        self.scaler_ = _Scaler(X)
        Z = self.scaler_(X)
        A = np.hstack([Z, np.ones((len(Z), 1))])
        reg = self.ridge * np.eye(A.shape[1])
        reg[-1, -1] = 0.0
        self.coef_ = np.linalg.solve(A.T @ A + reg, A.T @ y)
        resid = y - A @ self.coef_
        self.residual_ = self._fit_residual(Z, resid, graphs)
        self.train_Z_ = Z
        nv = Z.shape[1] if self.n_values is None else min(int(self.n_values), Z.shape[1])
        self.n_values_ = nv
        self.lo_, self.hi_ = Z[:, :nv].min(axis=0), Z[:, :nv].max(axis=0)
        self.structures_ = np.unique(Z[:, nv:], axis=0)
        nn: Any = _nearest(self.structures_, self.structures_, exclude_self=True) if len(self.structures_) > 1 \
            else []
        self.structure_scale_ = max(float(np.quantile(nn, 0.95)), 1e-9) if len(nn) else 0.5 / self.ood_factor
        self.n_train_ = len(y)
        return self

    def predict(self, X: Any, graphs: Sequence[Graph] | None = None) -> np.ndarray:
        """Predicted ideal values for features ``X`` (``graphs`` for ``"gnn"``)."""
        X = self._check(X)[0]
        Z = self.scaler_(X)
        out = np.hstack([Z, np.ones((len(Z), 1))]) @ self.coef_
        if self.residual_ is not None:
            out = out + self.residual_(Z, graphs)
        return np.asarray(out, dtype=float)

    def ood_score(self, X: Any, part: str = "all") -> np.ndarray:
        """Out-of-distribution score per row (> 1: refuse); ``part`` ``"all"``, ``"values"`` or ``"structure"``.

        Values (the first ``n_values`` columns): how far a row lies outside the training range, in
        standardized units over ``0.25 * ood_factor``. Structure (the other columns): the distance to the
        nearest distinct training structure over ``ood_factor`` times the 0.95-quantile of the distinct
        training structures' own nearest-neighbour distances (one training structure: any deviation of
        more than half a standardized unit; a feature constant in training has a tiny unit).
        """
        Z = self.scaler_(self._check(X)[0])
        nv = self.n_values_
        excess = np.maximum(Z[:, :nv] - self.hi_, 0.0) + np.maximum(self.lo_ - Z[:, :nv], 0.0)
        values = excess.max(axis=1, initial=0.0) / (0.25 * self.ood_factor)
        structure = _nearest(Z[:, nv:], self.structures_) / (self.ood_factor * self.structure_scale_) \
            if Z.shape[1] > nv else np.zeros(len(Z))
        if part == "values":
            return np.asarray(values)
        if part == "structure":
            return np.asarray(structure)
        return np.maximum(values, structure)

    def _check(self, X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or not np.all(np.isfinite(X)):
            raise ArgumentTypeError(f"features must be a finite 2-D array, got shape {X.shape}")
        if y is None:
            return X, np.zeros(0)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(X) or len(y) < 3 or not np.all(np.isfinite(y)):
            raise ArgumentTypeError(f"need at least 3 finite targets, one per row of X ({len(X)} rows, {len(y)} "
                                    "targets)")
        return X, y

    # -- residual models -----------------------------------------------------------------------------------------
    def _fit_residual(self, Z: np.ndarray, r: np.ndarray, graphs: Sequence[Graph] | None) -> Any:
        if self.model == "linear":
            return None
        if self.model == "forest":
            from sklearn.ensemble import RandomForestRegressor

            forest = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=self.seed, n_jobs=1)
            forest.fit(Z, r)
            return lambda Zq, _g: forest.predict(Zq)
        return _fit_net(self.model, Z, r, graphs, seed=self.seed, epochs=self.epochs, hidden=self.hidden)


def _nearest(Q: np.ndarray, T: np.ndarray, exclude_self: bool = False) -> np.ndarray:
    if len(T) == 0 or (exclude_self and len(T) < 2):
        return np.zeros(len(Q))
    d = np.sqrt(np.maximum(((Q[:, None, :] - T[None, :, :]) ** 2).sum(axis=2), 0.0))
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    return np.asarray(d.min(axis=1))


def _fit_net(kind: str, Z: np.ndarray, r: np.ndarray, graphs: Sequence[Graph] | None, *, seed: int, epochs: int,
             hidden: int) -> Any:
    import torch

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: threads only contend
    try:
        return _train_net(torch, kind, Z, r, graphs, epochs=epochs, hidden=hidden)
    finally:
        torch.set_num_threads(threads)


def _train_net(torch: Any, kind: str, Z: np.ndarray, r: np.ndarray, graphs: Sequence[Graph] | None, *,
               epochs: int, hidden: int) -> Any:
    dt = torch.float64
    scale = float(np.std(r)) or 1.0
    target = torch.as_tensor(r / scale, dtype=dt)
    net: Any = _GraphNet(Z.shape[1], hidden, graphs[0][0].shape[1]) if kind == "gnn" and graphs \
        else _MLP(Z.shape[1], hidden)
    net = net.to(dt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    zt = torch.as_tensor(Z, dtype=dt)
    batch = _batch_graphs(graphs) if kind == "gnn" and graphs else None
    for _ in range(epochs):
        opt.zero_grad()
        loss = ((net(zt, batch) - target) ** 2).mean()
        loss.backward()
        opt.step()
    net.eval()

    def predict(Zq: np.ndarray, g: Sequence[Graph] | None) -> np.ndarray:
        with torch.no_grad():
            b = _batch_graphs(g) if kind == "gnn" else None
            if kind == "gnn" and b is None:
                raise ArgumentTypeError("the gnn model needs the circuits' graphs to predict (graphs=...)")
            return np.asarray(net(torch.as_tensor(Zq, dtype=dt), b).numpy() * scale)

    return predict


def _batch_graphs(graphs: Sequence[Graph] | None) -> Any:
    """Disjoint union of graphs: node features, edges (offset), node -> graph index, graph count."""
    if not graphs:
        return None
    import torch

    nodes, edges, owner = [], [], []
    offset = 0
    for i, (x, e) in enumerate(graphs):
        nodes.append(torch.as_tensor(x, dtype=torch.float64))
        edges.append(torch.as_tensor(e, dtype=torch.int64) + offset)
        owner.append(torch.full((len(x),), i, dtype=torch.int64))
        offset += len(x)
    return torch.cat(nodes), torch.cat(edges, dim=1), torch.cat(owner), len(graphs)


def _torch_module() -> Any:
    import torch

    return torch.nn.Module


class _MLP(_torch_module()):  # type: ignore[misc]
    def __init__(self, f: int, hidden: int) -> None:
        import torch

        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(f, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden),
                                        torch.nn.Tanh(), torch.nn.Linear(hidden, 1))

    def forward(self, z: Any, _batch: Any = None) -> Any:
        return self.body(z).squeeze(-1)


class _GraphNet(_torch_module()):  # type: ignore[misc]
    """Three rounds of message passing over the DAG (messages from predecessors and successors, mean-aggregated),
    mean and sum pooling per circuit, joined with the standardized features, then an MLP."""

    def __init__(self, f: int, hidden: int, node_f: int, rounds: int = 3) -> None:
        import torch

        super().__init__()
        self.embed = torch.nn.Linear(node_f, hidden)
        self.self_w = torch.nn.ModuleList([torch.nn.Linear(hidden, hidden) for _ in range(rounds)])
        self.pred_w = torch.nn.ModuleList([torch.nn.Linear(hidden, hidden, bias=False) for _ in range(rounds)])
        self.succ_w = torch.nn.ModuleList([torch.nn.Linear(hidden, hidden, bias=False) for _ in range(rounds)])
        self.head = torch.nn.Sequential(torch.nn.Linear(2 * hidden + f, hidden), torch.nn.Tanh(),
                                        torch.nn.Linear(hidden, 1))

    def forward(self, z: Any, batch: Any) -> Any:
        import torch

        x, e, owner, count = batch
        h = torch.tanh(self.embed(x))
        n = h.shape[0]
        src, dst = e[0], e[1]
        indeg = torch.zeros(n, dtype=h.dtype).index_add_(0, dst, torch.ones_like(dst, dtype=h.dtype)).clamp(min=1)
        outdeg = torch.zeros(n, dtype=h.dtype).index_add_(0, src, torch.ones_like(src, dtype=h.dtype)).clamp(min=1)
        for ws, wp, wn in zip(self.self_w, self.pred_w, self.succ_w, strict=True):
            from_pred = torch.zeros_like(h).index_add_(0, dst, wp(h)[src]) / indeg[:, None]
            from_succ = torch.zeros_like(h).index_add_(0, src, wn(h)[dst]) / outdeg[:, None]
            h = torch.tanh(ws(h) + from_pred + from_succ)
        sizes = torch.zeros(count, dtype=h.dtype).index_add_(0, owner, torch.ones(n, dtype=h.dtype)).clamp(min=1)
        pooled_sum = torch.zeros(count, h.shape[1], dtype=h.dtype).index_add_(0, owner, h)
        pooled = torch.cat([pooled_sum / sizes[:, None], pooled_sum / 100.0], dim=1)
        return self.head(torch.cat([pooled, z], dim=1)).squeeze(-1)


# -- the method ---------------------------------------------------------------------------------------------------
class MLQEM:
    """The ML-QEM method (see the module docs and :func:`mlqem`, which builds it).

    Attributes:
        name: ``"mlqem_<model>"``.
        fitted: the trained models, by (observable, qubits, device): reused by later calls.

    Examples:
        >>> method = mlqem("mlp")
        >>> method.name, method.fitted
        ('mlqem_mlp', {})
    """

    def __init__(self, model: str = "forest", *, training: Sequence[Circuit] | None = None, n_train: int = 48,
                 train_shots: int = 10_000, scales: Sequence[float] = (1.0, 3.0),
                 fraction: float | Sequence[float] = (0.1, 1.0), ood_factor: float = 3.0, seed: int = 0,
                 epochs: int = 400, features: str = "all") -> None:
        if features not in ("all", "values"):
            raise ArgumentTypeError(f"mlqem: features must be 'all' or 'values', got {features!r}")
        if model not in MODELS:
            raise ArgumentTypeError(f"mlqem: model must be one of {MODELS}, got {model!r}")
        if training is not None and (isinstance(training, Circuit) or
                                     not all(isinstance(c, Circuit) for c in training)):
            raise ArgumentTypeError("mlqem: training is a list of qtandem Circuits of the same structure")
        if isinstance(n_train, bool) or int(n_train) < 4:
            raise ArgumentTypeError(f"mlqem: n_train must be an integer >= 4, got {n_train!r}")
        if not scales or any(float(s) < 1 for s in scales):
            raise ArgumentTypeError(f"mlqem: scales must be noise scale factors >= 1, got {list(scales)}")
        self.name = f"mlqem_{model}"
        self.model = model
        self.training = None if training is None else list(training)
        self.n_train = int(n_train)
        self.train_shots = int(train_shots)
        self.scales = tuple(float(s) for s in scales)
        self.fraction = fraction
        self.ood_factor = float(ood_factor)
        self.seed = int(seed)
        self.epochs = int(epochs)
        self.features = features
        self.fitted: dict[tuple[Any, ...], dict[str, Any]] = {}

    # scaled circuits ------------------------------------------------------------------------------------------
    def _scaled(self, circuit: Circuit) -> list[Circuit]:
        from qtandem.mitigate.folding import fold_global

        return [circuit if s == 1.0 else fold_global(circuit, s) for s in self.scales]

    def _noisy(self, inner: Estimator, circuits: Sequence[Circuit], shots: Sequence[int],
               seed: Seed) -> list[list[Estimate]]:
        """Each circuit at every scale, ``shots[i]`` split evenly over the scales, in one batch."""
        batch, per = [], []
        for c, total in zip(circuits, shots, strict=True):
            batch += self._scaled(c)
            per += split_shots(int(total), [1.0] * len(self.scales))
        ests = inner(batch, per, seed)
        k = len(self.scales)
        return [ests[i * k:(i + 1) * k] for i in range(len(circuits))]

    # training -------------------------------------------------------------------------------------------------
    def _key(self, context: Context) -> tuple[Any, ...]:
        noise = context.noise
        try:  # the same device described twice is the same device
            fingerprint = noise.to_json() if hasattr(noise, "to_json") else id(noise)
        except Exception:
            fingerprint = id(noise)
        return (context.observable.text, context.n_qubits, fingerprint)

    def train(self, inner: Estimator, context: Context, first: Circuit) -> dict[str, Any]:
        """Train (once per observable and device) on near-Clifford circuits; the shots are charged as one-off."""
        key = self._key(context)
        if key in self.fitted:
            return self.fitted[key]
        sources = self.training or [first]
        rng = as_generator(self.seed)
        per = max(2, math.ceil(self.n_train / len(sources)))
        circuits: list[Circuit] = []
        for src in sources:
            if src.n_qubits != context.n_qubits:
                raise ArgumentTypeError(f"mlqem: a training circuit has {src.n_qubits} qubits, the target "
                                        f"{context.n_qubits}")
            # one variant with every angle rounded (the source's own Clifford neighbour: for a Clifford source,
            # the source itself), the others with a random fraction of angles random
            circuits += near_clifford(src, 1, fraction=0.0, seed=0)
            circuits += near_clifford(src, per - 1, fraction=self.fraction, seed=int(rng.integers(2**62)))
        circuits = circuits[: max(self.n_train, 2 * len(sources))]
        ideal = np.array([context.observable.exact(c) for c in circuits])
        with context.executor.charged_to("mlqem_training"):
            noisy = self._noisy(inner, circuits, [self.train_shots * len(self.scales)] * len(circuits),
                                int(rng.integers(2**62)))
        X = np.array([mlqem_features([e.value for e in row], c, context.noise, self.features) for row, c in
                      zip(noisy, circuits, strict=True)])
        graphs = [circuit_graph(c, context.noise) for c in circuits] if self.model == "gnn" else None
        reg = MLQEMRegressor(self.model, seed=self.seed, ood_factor=self.ood_factor, epochs=self.epochs,
                             n_values=2 * len(self.scales))
        reg.fit(X, ideal, graphs)
        entry = {"regressor": reg, "n_train": len(circuits), "model_rmse": _cv_rmse(reg, X, ideal, graphs),
                 "label_range": [float(ideal.min()), float(ideal.max())]}
        self.fitted[key] = entry
        return entry

    def wrap(self, estimator: Estimator, context: Context) -> Estimator:
        """The ML-QEM estimator on top of ``estimator`` (the inner one measures the noisy features)."""
        k = len(self.scales)

        def estimate(circuits: Sequence[Circuit], shots: Sequence[int], seed: Seed = None) -> list[Estimate]:
            circuits, shots = list(circuits), [int(s) for s in shots]
            if not circuits:
                return []
            rng = as_generator(seed)
            entry = self.train(estimator, context, circuits[0])
            reg: MLQEMRegressor = entry["regressor"]
            out: list[Estimate | None] = [None] * len(circuits)
            go = []
            for i, c in enumerate(circuits):
                x0 = mlqem_features([0.0] * k, c, context.noise, self.features)[None, :]
                score = float(reg.ood_score(x0, "structure")[0])
                if score > 1:
                    e = estimator([c], [shots[i]], int(rng.integers(2**62)))[0]
                    out[i] = Estimate(e.value, e.stderr, e.shots, {
                        "refused": f"{self.name}: the circuit's structure is out of the training distribution "
                                   f"(score {score:.2f} > 1); unmitigated-by-model estimate at scale 1",
                        "ood_score": score, "inner": e.details})
                else:
                    go.append(i)
            if go:
                noisy = self._noisy(estimator, [circuits[i] for i in go], [shots[i] for i in go],
                                    int(rng.integers(2**62)))
                for i, row in zip(go, noisy, strict=True):
                    out[i] = self._predict(reg, entry, circuits[i], row, context, rng)
            return [e for e in out if e is not None]

        return estimate

    def _predict(self, reg: MLQEMRegressor, entry: dict[str, Any], circuit: Circuit, row: list[Estimate],
                 context: Context, rng: np.random.Generator) -> Estimate:
        values = np.array([e.value for e in row])
        errs = np.array([e.stderr for e in row])
        spent = int(sum(e.shots for e in row))
        x = mlqem_features(values, circuit, context.noise, self.features)[None, :]
        score = float(reg.ood_score(x)[0])
        details: dict[str, Any] = {"model": self.model, "scales": list(self.scales),
                                   "noisy": [float(v) for v in values], "noisy_stderr": [float(s) for s in errs],
                                   "ood_score": score, "n_train": entry["n_train"],
                                   "model_rmse": entry["model_rmse"], "stderr_method": "parametric bootstrap (64)"}
        if score > 1:
            details["refused"] = (f"{self.name}: the noisy values are out of the training distribution (score "
                                  f"{score:.2f} > 1); the scale-1 estimate is returned")
            return Estimate(float(values[0]), float(errs[0]), spent, details)
        graphs = [circuit_graph(circuit, context.noise)] if self.model == "gnn" else None
        value = float(reg.predict(x, graphs)[0])
        draws = values[None, :] + errs[None, :] * rng.standard_normal((64, len(values)))
        X = np.array([mlqem_features(d, circuit, context.noise, self.features) for d in draws])
        boot = reg.predict(X, graphs * len(X) if graphs else None)
        return Estimate(value, float(np.std(boot, ddof=1)), spent, details)


def _cv_rmse(reg: MLQEMRegressor, X: np.ndarray, y: np.ndarray, graphs: Sequence[Graph] | None) -> float:
    """Five-fold cross-validated RMSE of a fresh regressor like ``reg`` (the model's own error)."""
    n = len(y)
    if n < 10:
        return math.nan
    order = np.random.default_rng(reg.seed).permutation(n)
    sq = []
    for fold in range(5):
        test = order[fold::5]
        train = np.setdiff1d(order, test)
        sub = MLQEMRegressor(**reg.get_params())
        g_train = [graphs[i] for i in train] if graphs else None
        g_test = [graphs[i] for i in test] if graphs else None
        try:
            sub.fit(X[train], y[train], g_train)
        except (ArgumentTypeError, np.linalg.LinAlgError, SimulationError):
            return math.nan
        sq += list((sub.predict(X[test], g_test) - y[test]) ** 2)
    return float(math.sqrt(np.mean(sq)))


def mlqem(model: str = "forest", *, training: Sequence[Circuit] | None = None, n_train: int = 48,
          train_shots: int = 10_000, scales: Sequence[float] = (1.0, 3.0),
          fraction: float | Sequence[float] = (0.1, 1.0), ood_factor: float = 3.0, seed: int = 0,
          epochs: int = 400, features: str = "all") -> MLQEM:
    """Learned error mitigation as a method: ``methods=[readout(), mlqem("forest")]``.

    Keep one instance to reuse its trained model across circuits of the same family (training
    is a one-off cost per observable and device).

    Args:
        model: ``"forest"``, ``"mlp"``, ``"gnn"`` or ``"linear"`` (see :class:`MLQEMRegressor`).
        training: circuits of the same structure as the targets to derive the training set from
            (default: the first target circuit).
        n_train: number of near-Clifford training circuits.
        train_shots: shots per training circuit and scale (one-off).
        scales: noise scale factors of the features (global folding).
        fraction: fraction (or range) of ``rz`` angles replaced at random (:func:`near_clifford`).
        ood_factor: refusal threshold (:meth:`MLQEMRegressor.ood_score`).
        seed: seed of the training set, the model and the bootstrap.
        epochs: training steps of the networks.
        features: ``"all"`` (:func:`mlqem_features`) or ``"values"`` (the noisy values and their products
            with the total gate error only; with ``scales=(1.0,)`` and ``model="linear"`` a per-device
            rescaling, every target shot at scale 1).

    Returns:
        An :class:`MLQEM` method.

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.mitigate import execute, readout, simulator_executor
        >>> from qtandem.noise import NoiseModel, depolarizing, readout_error
        >>> noise = (NoiseModel().add(depolarizing(0.02), gates=["rz", "sx", "x"])
        ...          .add(depolarizing(0.05, 2), gates=["cx"]).add_readout(readout_error(0.03, 0.03)))
        >>> c = Circuit(2).rz(0.4, 0).sx(0).rz(0.3, 0).cx(0, 1).sx(1).rz(0.2, 1)
        >>> res = execute(c, "Z0 Z1", simulator_executor(noise, seed=1), methods=[mlqem("linear", n_train=24)],
        ...               shots=20000, seed=3, noise=noise)
        >>> abs(res.value - res.details["noisy"][0]) > 0, res.one_off_shots
        (True, 480000)
    """
    return MLQEM(model, training=training, n_train=n_train, train_shots=train_shots, scales=scales,
                 fraction=fraction, ood_factor=ood_factor, seed=seed, epochs=epochs, features=features)
