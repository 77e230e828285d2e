"""The loop's classifier workload: a variational classifier trained on the believed device, tested on the hardware.

The model is a data re-uploading circuit on a chain of ``width`` coupled qubits, in the
device's native gates only (``rz``, ``sx``, ``cx``): per layer, every qubit gets
``rz(w) sx rz(x_f + w') sx rz(w'')`` (feature ``f`` cycles over the input features) and a
``cx`` ladder follows; qubit 0 is measured and the predicted class is 1 when it reads 1 more
often than 0. The pipeline

1. picks the chain with the best *believed* calibration (lowest sum of readout, gate and
   coherent errors of its qubits and couplings): a stale calibration may pick drifted qubits;
2. trains the weights with the exact noisy simulator of the believed device (density matrix of
   the chain, :meth:`~qtandem.device.Device.noise_model` of the device cut to the chain, readout
   included; Adam on the binary cross-entropy, full batch, a fixed number of epochs);
3. evaluates on the hardware: every test point is one circuit run for ``shots // n_test`` shots
   on the executor, whose noise is the actual device's.

With ``mitigate_readout`` the model is trained on the believed gate noise without readout errors,
and the hardware's frequency of reading 1 is readout-mitigated with the believed confusion matrix
of the measured qubit, ``(f - p01) / (1 - p01 - p10)``, before the threshold at 1/2 (the other
way round, the default, trains with the believed readout errors in the simulator and thresholds
the raw frequency: the two agree when the belief is right).

``value`` is the test accuracy on the hardware and ``error = 1 - accuracy``; ``details`` has
the accuracy the believed simulator predicted for the same test set. The observations that
drift detection reads are the per-test-point frequencies of reading 1 (kind ``"rate"``).

Examples:
    >>> from qtandem.codesign.drift import hidden_device
    >>> hidden = hidden_device(8, seed=0)
    >>> work = ClassifierWorkload(n_samples=40, epochs=5, width=2, layers=1)
    >>> res = work.run(hidden.published, hidden.executor(0, seed=1), shots=1600, seed=0)
    >>> res.name, res.shots, res.observations["ones"].shape, 0.0 <= res.value <= 1.0
    ('classifier', 1600, (16,), True)
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from qtandem.codesign.stages import WorkloadResult, register_workload
from qtandem.errors import ConfigError

if TYPE_CHECKING:
    from qtandem.circuit.circuit import Circuit
    from qtandem.device import Device

__all__ = ["ClassifierWorkload", "best_chain"]


def _chains(device: Device, width: int) -> list[list[int]]:
    """Every simple path of ``width`` qubits on the coupling map (each direction once)."""
    graph = device.coupling_map
    out: list[list[int]] = []

    def extend(path: list[int]) -> None:
        if len(path) == width:
            if path[0] < path[-1] or width == 1:
                out.append(list(path))
            return
        for nxt in sorted(graph.neighbors(path[-1])):
            if nxt not in path:
                path.append(nxt)
                extend(path)
                path.pop()

    for start in range(device.num_qubits):
        extend([start])
    return out


def _chain_cost(device: Device, chain: list[int]) -> float:
    cost = 0.0
    for q in chain:
        p = device.qubits[q]
        cost += float(p.readout_p01) + float(p.readout_p10) + 2 * float(p.gate_error_1q)
        cost += abs(float(p.sx_angle_error)) ** 2 + float(p.gate_duration_1q) / max(float(p.t1), 1.0)
    for a, b in itertools.pairwise(chain):
        e = device.edges[(min(a, b), max(a, b))]
        cost += float(e.error) + abs(float(e.angle_error)) ** 2
    return cost


def best_chain(device: Device, width: int) -> list[int]:
    """The chain of ``width`` coupled qubits with the lowest believed error (readout, gate, coherent, T1).

    Raises:
        ConfigError: no chain of that many coupled qubits.

    Examples:
        >>> from qtandem.device import Device
        >>> chain = best_chain(Device.random(6, "line", seed=1), 3)
        >>> len(chain), all(abs(a - b) == 1 for a, b in zip(chain, chain[1:]))
        (3, True)
    """
    chains = _chains(device, width)
    if not chains:
        raise ConfigError(f"workload.width: the device has no chain of {width} coupled qubits")
    return min(chains, key=lambda c: (_chain_cost(device, c), c))


def _model_circuit(width: int, layers: int, n_features: int) -> tuple[Circuit, list[str]]:
    from qtandem.circuit.circuit import Circuit
    from qtandem.circuit.parameter import Parameter

    c = Circuit(width, 1, name="classifier")
    for layer in range(layers):
        for q in range(width):
            f = (q + layer) % n_features
            w = [Parameter(f"w{layer}_{q}_{j}") for j in range(3)]
            c.rz(w[0], q).sx(q).rz(Parameter(f"x{f}") + w[1], q).sx(q).rz(w[2], q)
        for q in range(width - 1):
            c.cx(q, q + 1)
    c.measure(0, 0)
    names = [p.name for p in c.parameters]
    return c, names


class ClassifierWorkload:
    """A hybrid classifier trained with the believed device's noisy simulator and tested on the hardware.

    Args:
        dataset: ``"moons"`` or ``"circles"`` (scikit-learn generators via
            :func:`qtandem.hybrid.datasets.load_dataset`; 2 features, scaled to ``[0, pi]``).
        n_samples: points drawn (the split is 60% train, 40% test, seeded by ``data_seed``).
        width: qubits in the chain.
        layers: re-uploading layers.
        epochs: full-batch Adam steps.
        lr: Adam's learning rate.
        data_seed: seed of the dataset and its split (the weights use ``run``'s seed).
        mitigate_readout: train without readout errors and mitigate the hardware's readout with
            the believed readout errors instead (module docstring).
        name: the workload's name.

    Raises:
        ConfigError: an option out of range (named).

    Examples:
        >>> work = ClassifierWorkload()
        >>> work.width, work.layers, len(work.circuit.parameters)     # 3 weights per qubit and layer + 2 inputs
        (2, 3, 20)
        >>> ClassifierWorkload(dataset="mnist")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: workload.dataset: 'mnist' is not one of moons, circles
    """

    def __init__(self, dataset: str = "moons", n_samples: int = 200, width: int = 2, layers: int = 3,
                 epochs: int = 40, lr: float = 0.1, data_seed: int = 0, *, mitigate_readout: bool = False,
                 name: str = "classifier") -> None:
        if dataset not in ("moons", "circles"):
            raise ConfigError(f"workload.dataset: {dataset!r} is not one of moons, circles")
        for key, value, low in (("n_samples", n_samples, 10), ("width", width, 1), ("layers", layers, 1),
                                ("epochs", epochs, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"workload.{key}: must be an integer >= {low}, got {value!r}")
        if not lr > 0:
            raise ConfigError(f"workload.lr: must be > 0, got {lr!r}")
        if not isinstance(mitigate_readout, bool):
            raise ConfigError(f"workload.mitigate_readout: must be true or false, got {mitigate_readout!r}")
        self.mitigate_readout = mitigate_readout
        self.name = name
        self.dataset, self.n_samples, self.width, self.layers = dataset, n_samples, width, layers
        self.epochs, self.lr, self.data_seed = epochs, float(lr), int(data_seed)
        self.circuit, self.names = _model_circuit(width, layers, 2)

    def data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x_train, y_train, x_test, y_test)``, features scaled to ``[0, pi]`` on the training set.

        Examples:
            >>> xtr, ytr, xte, yte = ClassifierWorkload(n_samples=50).data()
            >>> xtr.shape, xte.shape, float(xtr.min()) >= 0.0
            ((30, 2), (20, 2), True)
        """
        from qtandem.hybrid.datasets import load_dataset

        ds = load_dataset(self.dataset, seed=self.data_seed, test_size=0.4, n_samples=self.n_samples)
        xtr, xte = np.asarray(ds.x_train, dtype=np.float64), np.asarray(ds.x_test, dtype=np.float64)
        lo, hi = xtr.min(axis=0), xtr.max(axis=0)
        scale = np.pi / np.where(hi > lo, hi - lo, 1.0)
        return ((xtr - lo) * scale, np.asarray(ds.y_train, dtype=np.int64), np.clip((xte - lo) * scale, -1.0, 4.2),
                np.asarray(ds.y_test, dtype=np.int64))

    def _params(self, x: Any, w: Any) -> Any:
        import torch

        x = torch.as_tensor(x, dtype=torch.float64)
        cols = []
        widx = {n: i for i, n in enumerate(n for n in self.names if n.startswith("w"))}
        for n in self.names:
            if n.startswith("x"):
                cols.append(x[:, int(n[1:])])
            else:
                cols.append(w[widx[n]].expand(x.shape[0]))
        return torch.stack(cols, dim=1)

    def train(self, device: Device, chain: list[int], x: np.ndarray, y: np.ndarray, *, seed: int) -> np.ndarray:
        """Weights trained with the noisy simulator of ``device`` cut to ``chain``.

        Examples:
            >>> from qtandem.device import Device
            >>> work = ClassifierWorkload(n_samples=20, width=1, layers=1, epochs=2)
            >>> xtr, ytr, _, _ = work.data()
            >>> work.train(Device.random(2, "line", seed=0), [0], xtr, ytr, seed=0).shape
            (3,)
        """
        import torch

        from qtandem.noise.density import noisy_probabilities

        noise = device.subset(chain).noise_model(readout=not self.mitigate_readout)
        n_w = sum(1 for n in self.names if n.startswith("w"))
        gen = torch.Generator().manual_seed(int(seed))
        w = (0.1 * torch.randn(n_w, generator=gen, dtype=torch.float64)).requires_grad_(True)
        opt = torch.optim.Adam([w], lr=self.lr)
        target = torch.as_tensor(y, dtype=torch.float64)
        for _ in range(self.epochs):
            opt.zero_grad()
            p1 = self._p1(noisy_probabilities(self.circuit, self._params(x, w), noise=noise))
            loss = torch.nn.functional.binary_cross_entropy(p1.clamp(1e-6, 1 - 1e-6), target)
            loss.backward()
            opt.step()
        return np.asarray(w.detach().numpy(), dtype=np.float64)

    def _p1(self, probs: Any) -> Any:
        import torch

        idx = torch.arange(probs.shape[-1])
        return (probs * (idx % 2 == 1).to(probs.dtype)).sum(dim=-1)   # qubit 0 is the lowest bit

    def predicted(self, device: Device, chain: list[int], w: np.ndarray, x: np.ndarray) -> np.ndarray:
        """P(qubit 0 reads 1) per point under ``device``'s noise (the believed simulator).

        Examples:
            >>> from qtandem.device import Device
            >>> work = ClassifierWorkload(n_samples=20, width=1, layers=1)
            >>> work.predicted(Device.random(2, "line", seed=0), [1], np.zeros(3), np.zeros((4, 2))).shape
            (4,)
        """
        import torch

        from qtandem.noise.density import noisy_probabilities

        noise = device.subset(chain).noise_model(readout=not self.mitigate_readout)
        with torch.no_grad():
            probs = noisy_probabilities(self.circuit, self._params(x, torch.as_tensor(w)), noise=noise)
        return np.asarray(self._p1(probs).numpy(), dtype=np.float64)

    def _on_device(self, device: Device, chain: list[int], w: np.ndarray, x: np.ndarray) -> list[Circuit]:
        from qtandem.circuit.circuit import Circuit

        wmap = dict(zip([n for n in self.names if n.startswith("w")], w.tolist(), strict=True))
        out = []
        for row in x:
            values: dict[Any, float] = {n: (float(row[int(n[1:])]) if n.startswith("x") else wmap[n])
                                        for n in self.names}
            bound = self.circuit.bind(values)
            c = Circuit(device.num_qubits, 1, name="classifier")
            for inst in bound:
                c.append(inst.replace(qubits=tuple(chain[q] for q in inst.qubits)))
            out.append(c)
        return out

    def run(self, device: Device, executor: Any, *, shots: int, seed: int) -> WorkloadResult:
        """Pick a chain and train on ``device``'s noise, then test on ``executor`` with ``shots`` shots in all.

        Args:
            device: the believed device (stale or learned calibration).
            executor: the hardware (``executor(circuits, shots, seed=...) -> counts``).
            shots: total hardware shots, split evenly over the test points (at least 1 each).
            seed: seeds the initial weights and the executor's shots.

        Returns:
            the :class:`~qtandem.codesign.stages.WorkloadResult`: test accuracy on the hardware.
        """
        from qtandem.device.executors import accepts_seed

        xtr, ytr, xte, yte = self.data()
        chain = best_chain(device, self.width)
        w = self.train(device, chain, xtr, ytr, seed=seed)
        per_point = max(1, int(shots) // len(xte))
        circuits = self._on_device(device, chain, w, xte)
        counts = executor(circuits, per_point, seed=int(seed)) if accepts_seed(executor) else \
            executor(circuits, per_point)
        ones: np.ndarray = np.array([c.get("1", 0) / max(1, sum(c.values())) for c in counts], dtype=np.float64)
        decide: np.ndarray = ones
        if self.mitigate_readout:
            q = device.qubits[chain[0]]
            p01, p10 = float(q.readout_p01), float(q.readout_p10)
            decide = (ones - p01) / max(1e-9, 1.0 - p01 - p10)
        accuracy = float(np.mean((decide > 0.5).astype(np.int64) == yte))
        believed = float(np.mean((self.predicted(device, chain, w, xte) > 0.5).astype(np.int64) == yte))
        return WorkloadResult(
            name=self.name, value=accuracy, error=1.0 - accuracy, shots=per_point * len(xte),
            observations={"ones": ones},
            details={"chain": chain, "believed_accuracy": believed, "mitigate_readout": self.mitigate_readout,
                     "shots_per_point": per_point,
                     "n_train": len(xtr), "n_test": len(xte), "observation_kinds": {"ones": "rate"},
                     "observation_shots": per_point})


def _factory(**options: Any) -> ClassifierWorkload:
    return ClassifierWorkload(**options)


register_workload("classifier", _factory)
