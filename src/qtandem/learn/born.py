"""Quantum circuit Born machines trained from samples, and a matched classical baseline (MADE).

A :class:`BornMachine` is a parametrised circuit whose measurement distribution
``p_theta(x) = |<x|U(theta)|0>|^2`` models bitstring data. It learns from **samples only**: the data
arrive as bitstrings, and the model is queried through its own shots (as hardware would be). The
circuit, its probabilities and its shots come from qtandem's simulator
(:func:`qtandem.sim.run_batched`, all shifted circuits of a step in one batched call).

Losses (``fit(loss=...)``):

* ``"mmd"`` -- the squared maximum mean discrepancy (Liu & Wang, PRA 98, 062324, 2018) with a
  Gaussian kernel (a mixture of bandwidths, on bit vectors or on the integers) or a quantum
  kernel ``|<phi(x)|phi(y)>|^2`` (an IQP-style feature map simulated by qtandem; Coyle et al.,
  npj QI 2020).
* ``"kl"`` -- ``KL(data || model)`` between the empirical data distribution and the model's
  empirical shot distribution with additive (Laplace) smoothing.

**Gradients: parameter shift on sampled estimates.** Every angle sits in one ``ry`` or ``rz``, so
``d p(x) / d theta_i = (p_{+i}(x) - p_{-i}(x)) / 2`` with ``theta_i`` shifted by ``+/- pi/2``.
Each step draws ``shots`` from the circuit and from each of its ``2P`` shifted copies and uses
Liu & Wang's unbiased MMD gradient ``(h_{+i} - h_{-i})^T K (h_0 - h_data)`` (histograms ``h``
from independent shots). We chose this over the exact-probability gradient of the sample-estimated
loss because the model is then used only through shots, as on hardware: the MMD gradient is
unbiased, the KL gradient (a ratio, ``-sum_x d(x) (h_{+i} - h_{-i})(x) / (2 q(x))``) is biased by
the smoothing and by the estimate of ``q`` in the denominator. The histogram of ``shots`` samples
is drawn as one multinomial draw from the exact probabilities (the same distribution as
``shots`` single samples, far cheaper). Exact probabilities are used only for evaluation
(:meth:`BornMachine.probabilities`).

Examples:
    >>> from qtandem.learn.datasets import bars_and_stripes
    >>> data = bars_and_stripes(2, 2)
    >>> born = BornMachine(4, layers=2, seed=0)
    >>> born.n_parameters
    20
    >>> _ = born.fit(data.sample(500, seed=1), steps=60, shots=300, lr=0.1, seed=2)
    >>> data.kl(born.probabilities()) < data.kl(BornMachine(4, layers=2, seed=0).probabilities())
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import Parameter
from qtandem.errors import DatasetError, ParameterError, ResourceError
from qtandem.io import read_safetensors, write_safetensors
from qtandem.learn.datasets import bits_to_index, index_to_bits
from qtandem.random import Seed, as_generator, derive_seed, torch_generator_from
from qtandem.sim.functional import run_batched

__all__ = ["ENTANGLERS", "MADE", "BornMachine", "born_circuit", "gaussian_kernel", "quantum_kernel"]

ENTANGLERS = ("ring", "line", "all")
MAX_KERNEL_BITS = 12  # a (2**n, 2**n) float64 Gram matrix: 128 MiB at 12 bits


def _pairs(n: int, entangler: str) -> list[tuple[int, int]]:
    if entangler == "line" or n == 2:
        return [(q, q + 1) for q in range(n - 1)]
    if entangler == "ring":
        return [(q, (q + 1) % n) for q in range(n)] if n > 2 else []
    return [(a, b) for a in range(n) for b in range(a + 1, n)]


def born_circuit(n_qubits: int, layers: int = 2, entangler: str = "ring") -> Circuit:
    """The Born machine's circuit: ``layers`` x (RY, RZ on each qubit, then CX pairs), then RY on each qubit.

    Every angle is its own parameter ``w0, w1, ...`` used in exactly one gate, so the two-term
    parameter-shift rule is exact. ``entangler``: ``"ring"``, ``"line"`` or ``"all"`` (every pair).

    Raises:
        ParameterError: bad sizes or entangler.

    Examples:
        >>> born_circuit(3, 1).count_ops()
        {'ry': 6, 'rz': 3, 'cx': 3}
        >>> len(born_circuit(4, 2, "all").parameters)
        20
    """
    if int(n_qubits) != n_qubits or n_qubits < 1:
        raise ParameterError(f"n_qubits must be a positive integer, got {n_qubits!r}")
    if int(layers) != layers or layers < 0:
        raise ParameterError(f"layers must be a non-negative integer, got {layers!r}")
    if entangler not in ENTANGLERS:
        raise ParameterError(f"entangler must be one of {ENTANGLERS}, got {entangler!r}")
    c, k = Circuit(n_qubits), 0
    for _ in range(layers):
        for gate in ("ry", "rz"):
            for q in range(n_qubits):
                getattr(c, gate)(Parameter(f"w{k}"), q)
                k += 1
        for a, b in _pairs(n_qubits, entangler):
            c.cx(a, b)
    for q in range(n_qubits):
        c.ry(Parameter(f"w{k}"), q)
        k += 1
    return c


def _check_kernel_bits(n: int) -> None:
    if n > MAX_KERNEL_BITS:
        raise ResourceError(f"the MMD kernel is a (2**{n}, 2**{n}) matrix ({8 * 4**n / 2**30:.1f} GiB); at most "
                            f"{MAX_KERNEL_BITS} bits are supported")


def gaussian_kernel(n_bits: int, bandwidths: Sequence[float] = (0.25, 1.0, 4.0), *, space: str = "bits") -> np.ndarray:
    """``(2**n, 2**n)`` Gram matrix ``mean_s exp(-d(x, y)**2 / (2 s**2))`` over the bandwidths ``s``.

    ``space="bits"``: ``d**2`` is the Hamming distance of the bit vectors; ``space="integer"``:
    ``d = |x - y|`` on the outcome indices (a discretised variable's grid).

    Examples:
        >>> k = gaussian_kernel(2, (1.0,))
        >>> round(float(k[0, 3]), 4), float(k[1, 1])            # Hamming distance 2: exp(-1)
        (0.3679, 1.0)
    """
    _check_kernel_bits(n_bits)
    if space not in ("bits", "integer") or not len(bandwidths) or min(bandwidths) <= 0:
        raise ParameterError(f"need space 'bits' or 'integer' and positive bandwidths, got {space!r}, {bandwidths}")
    idx = np.arange(2**n_bits)
    if space == "bits":
        bits = index_to_bits(idx, n_bits).astype(np.float64)
        d2 = bits.sum(1)[:, None] + bits.sum(1)[None, :] - 2 * bits @ bits.T
    else:
        d2 = (idx[:, None] - idx[None, :]).astype(np.float64) ** 2
    return np.mean([np.exp(-d2 / (2 * s**2)) for s in bandwidths], axis=0)


def quantum_kernel(n_bits: int, *, reps: int = 2, angle: float = math.pi / 2) -> np.ndarray:
    """``(2**n, 2**n)`` Gram matrix ``|<phi(x)|phi(y)>|^2`` of an IQP-style feature map, by qtandem's simulator.

    ``|phi(x)> = (RZZ RZ H)^reps |0>``: H on every qubit, ``RZ(angle * x_q)``, ``RZZ(angle * x_q x_r)``
    on ring neighbours (Havlicek et al. 2019's map on bits; the quantum kernel of Coyle et al. 2020).
    All ``2**n`` feature states are one batched :func:`~qtandem.sim.run_batched` call.

    Examples:
        >>> k = quantum_kernel(3)
        >>> k.shape, bool(np.allclose(np.diag(k), 1.0)), bool(np.all(np.linalg.eigvalsh(k) > -1e-9))
        ((8, 8), True, True)
    """
    _check_kernel_bits(n_bits)
    n = int(n_bits)
    pairs = _pairs(n, "ring")
    c = Circuit(n)
    for _ in range(reps):
        for q in range(n):
            c.h(q)
        for q in range(n):
            c.rz(Parameter(f"x{q}"), q)
        for a, b in pairs:
            c.rzz(Parameter(f"z{a}_{b}"), a, b)
    bits = index_to_bits(np.arange(2**n), n).astype(np.float64)
    cols = {f"x{q}": bits[:, q] for q in range(n)} | {f"z{a}_{b}": bits[:, a] * bits[:, b] for a, b in pairs}
    params = torch.as_tensor(np.stack([cols[p.name] for p in c.parameters], axis=1) * angle)
    states = run_batched(c, params, output="state", dtype=torch.complex128).numpy()
    return np.abs(states.conj() @ states.T) ** 2


def _histograms(probs: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``(B, 2**n)`` empirical distributions of ``shots`` samples per row (one multinomial draw per row)."""
    p = np.clip(probs, 0.0, None)
    p = p / p.sum(axis=1, keepdims=True)
    return rng.multinomial(shots, p) / shots


class _Adam:
    """Adam (Kingma & Ba 2015) on a NumPy gradient: the update to subtract (torch.optim imports torch._dynamo,
    ~5 s)."""

    def __init__(self, size: int, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m: np.ndarray = np.zeros(size)
        self.v: np.ndarray = np.zeros(size)

    def step(self, grad: np.ndarray) -> np.ndarray:
        b1, b2 = self.betas
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad**2
        m_hat, v_hat = self.m / (1 - b1**self.t), self.v / (1 - b2**self.t)
        return np.asarray(self.lr * m_hat / (np.sqrt(v_hat) + self.eps))


class BornMachine(nn.Module):
    """A quantum circuit Born machine over ``n_qubits`` bits, trained from samples (see the module docstring).

    Args:
        n_qubits: bits per sample.
        layers: rotation + entangler layers of :func:`born_circuit`.
        entangler: ``"ring"``, ``"line"`` or ``"all"``.
        seed: initial angles (uniform in ``[0, 2 pi)``).
        dtype: ``torch.float64`` (default) or ``torch.float32``.

    Attributes:
        loss_history_: the sample estimate of the loss at each step of the last :meth:`fit`.

    Examples:
        >>> born = BornMachine(3, layers=1, seed=0)
        >>> born.probabilities().shape, round(float(born.probabilities().sum()), 6)
        ((8,), 1.0)
        >>> born.sample(5, seed=0).shape
        (5, 3)
    """

    def __init__(self, n_qubits: int, layers: int = 2, entangler: str = "ring", *, seed: Seed = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.circuit = born_circuit(n_qubits, layers, entangler)
        self.n_qubits, self.layers, self.entangler = int(n_qubits), int(layers), entangler
        if dtype not in (torch.float32, torch.float64):
            raise ParameterError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.weights = nn.Parameter(torch.empty(len(self.circuit.parameters), dtype=dtype))
        self._seed = seed
        self.loss_history_: list[float] = []
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Angles uniform in ``[0, 2 pi)`` from ``seed``."""
        seed = self._seed
        value = derive_seed(int(as_generator(seed).integers(2**31)) if not isinstance(seed, int) else seed, 0)
        gen = torch_generator_from(value)
        with torch.no_grad():
            self.weights.copy_(torch.rand(self.weights.shape, generator=gen, dtype=torch.float64) * 2 * math.pi)

    @property
    def n_parameters(self) -> int:
        """Trainable angles."""
        return int(self.weights.numel())

    def extra_repr(self) -> str:
        return f"n_qubits={self.n_qubits}, layers={self.layers}, entangler={self.entangler!r}"

    def forward(self) -> torch.Tensor:
        """Exact ``(2**n,)`` probabilities, differentiable in the angles (for evaluation and tests)."""
        return run_batched(self.circuit, self.weights, output="probs")[0]

    def probabilities(self) -> np.ndarray:
        """Exact ``(2**n,)`` float64 output distribution (outcome ``k``: bit ``q`` is ``(k >> q) & 1``)."""
        with torch.no_grad():
            return self.forward().double().numpy()

    def sample(self, shots: int, *, seed: Seed = None) -> np.ndarray:
        """``(shots, n_qubits)`` uint8 measured bitstrings (qubit ``q`` in column ``q``), seeded."""
        if int(shots) != shots or shots < 1:
            raise ParameterError(f"shots must be a positive integer, got {shots!r}")
        with torch.no_grad():
            bits = run_batched(self.circuit, self.weights, output="samples", shots=int(shots), seed=seed)[0]
        return bits.numpy()

    def _data_histogram(self, samples: Any) -> np.ndarray:
        arr = samples.numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
        if arr.ndim != 2 or arr.shape[1] != self.n_qubits or not arr.shape[0]:
            raise DatasetError(f"samples must be a (shots, {self.n_qubits}) array of 0/1 bits, got shape {arr.shape}")
        return np.bincount(bits_to_index(arr), minlength=2**self.n_qubits) / arr.shape[0]

    def fit(self, samples: Any, *, loss: str = "mmd", kernel: str | np.ndarray = "gaussian",
            bandwidths: Sequence[float] | None = None, space: str = "bits", steps: int = 200, shots: int = 1000,
            lr: float = 0.05, smoothing: float = 0.5, seed: Seed = None) -> BornMachine:
        """Train on ``(N, n_qubits)`` data bitstrings with Adam; gradients by parameter shift on shots.

        Args:
            samples: the training data, ``(N, n_qubits)`` 0/1 (array or tensor).
            loss: ``"mmd"`` or ``"kl"``.
            kernel: for MMD, ``"gaussian"``, ``"quantum"`` or a ``(2**n, 2**n)`` Gram matrix.
            bandwidths: Gaussian bandwidths (default ``(0.25, 1, 4)`` on bits, ``(1, 4, 16)`` on integers).
            space: Gaussian kernel distance, ``"bits"`` (Hamming) or ``"integer"`` (outcome index).
            steps: optimizer steps.
            shots: model shots per circuit per step (``2 * n_parameters + 1`` circuits a step).
            lr: Adam learning rate.
            smoothing: KL's pseudo-count added to each outcome of the model's histogram.
            seed: seeds the model's shots.

        Returns:
            ``self``, with ``loss_history_`` (the sample estimate of the loss before each step).

        Raises:
            DatasetError: samples of the wrong shape or with values other than 0/1.
            ParameterError: bad options. ResourceError: a kernel too large.
        """
        if loss not in ("mmd", "kl"):
            raise ParameterError(f"loss must be 'mmd' or 'kl', got {loss!r}")
        if int(steps) != steps or steps < 0 or int(shots) != shots or shots < 1 or lr <= 0 or smoothing <= 0:
            raise ParameterError(f"need steps >= 0, shots >= 1, lr > 0, smoothing > 0; got {steps}, {shots}, {lr}, "
                                 f"{smoothing}")
        data = self._data_histogram(samples)
        dim = 2**self.n_qubits
        gram: np.ndarray | None = None
        if loss == "mmd":
            if isinstance(kernel, np.ndarray):
                if kernel.shape != (dim, dim):
                    raise ParameterError(f"kernel matrix has shape {kernel.shape}; expected ({dim}, {dim})")
                gram = kernel
            elif kernel == "gaussian":
                default = (0.25, 1.0, 4.0) if space == "bits" else (1.0, 4.0, 16.0)
                gram = gaussian_kernel(self.n_qubits, bandwidths or default, space=space)
            elif kernel == "quantum":
                gram = quantum_kernel(self.n_qubits)
            else:
                raise ParameterError(f"kernel must be 'gaussian', 'quantum' or a Gram matrix, got {kernel!r}")
        rng = as_generator(seed)
        adam = _Adam(self.n_parameters, lr)
        self.loss_history_ = []
        for _ in range(int(steps)):
            value, grad = self.shot_gradient(data, int(shots), rng, gram=gram, smoothing=smoothing)
            self.loss_history_.append(value)
            with torch.no_grad():
                self.weights.sub_(torch.as_tensor(adam.step(grad), dtype=self.weights.dtype))
        return self

    def shot_gradient(self, data: np.ndarray, shots: int, rng: np.random.Generator, *, gram: np.ndarray | None = None,
                      smoothing: float = 0.5) -> tuple[float, np.ndarray]:
        """One step's sample estimates of the loss and of its gradient, by parameter shift on shots.

        Draws ``shots`` from the circuit and from each of its ``2P`` copies shifted by ``+/- pi/2``
        (one batched simulator call, then one multinomial draw per circuit). With ``gram`` (MMD):
        loss ``(h_0 - d)^T K (h_0 - d)``, gradient ``(h_{+i} - h_{-i})^T K (h_0 - d)`` (Liu & Wang's
        unbiased estimate). Without (KL): ``q = `` the smoothed histogram ``h_0``, loss
        ``sum_x d(x) log(d(x) / q(x))``, gradient ``-sum_x d(x) (h_{+i} - h_{-i})(x) / (2 q(x))``.

        Args:
            data: ``(2**n,)`` empirical distribution of the data.
            shots: shots per circuit.
            rng: the shots' generator.
            gram: the MMD kernel's ``(2**n, 2**n)`` Gram matrix; ``None`` for KL.
            smoothing: KL's pseudo-count per outcome.

        Returns:
            ``(loss estimate, (P,) gradient estimate)``.
        """
        n_par, dim = self.n_parameters, 2**self.n_qubits
        shift = torch.eye(n_par, dtype=self.weights.dtype) * (math.pi / 2)
        with torch.no_grad():
            rows = torch.cat([self.weights[None], self.weights + shift, self.weights - shift])
            probs = run_batched(self.circuit, rows, output="probs").double().numpy()
        hist = _histograms(probs, shots, rng)
        h0, hp, hm = hist[0], hist[1:n_par + 1], hist[n_par + 1:]
        if gram is not None:
            diff = h0 - data
            return float(diff @ gram @ diff), (hp - hm) @ (gram @ diff)
        q = (h0 * shots + smoothing) / (shots + smoothing * dim)
        m = data > 0
        return float(np.sum(data[m] * np.log(data[m] / q[m]))), -((hp - hm)[:, m] @ (data[m] / q[m])) / 2

    def save(self, path: str | Path) -> None:
        """Write the angles and the configuration as safetensors (:meth:`load` reads it).

        Examples:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "born.safetensors"
            >>> born = BornMachine(3, layers=1, entangler="line", seed=4)
            >>> born.save(p)
            >>> bool(np.allclose(BornMachine.load(p).probabilities(), born.probabilities()))
            True
        """
        meta = {"format": "qtandem.born/1", "n_qubits": str(self.n_qubits), "layers": str(self.layers),
                "entangler": self.entangler}
        write_safetensors(path, {"weights": self.weights}, meta)

    @classmethod
    def load(cls, path: str | Path) -> BornMachine:
        """Rebuild a machine written by :meth:`save`.

        Raises:
            CheckpointError: not a Born machine file.
        """
        from qtandem.errors import CheckpointError

        tensors, meta = read_safetensors(path)
        if meta.get("format") != "qtandem.born/1" or "weights" not in tensors:
            raise CheckpointError(f"{path} is not a qtandem Born machine file (format {meta.get('format')!r})")
        born = cls(int(meta["n_qubits"]), int(meta["layers"]), meta["entangler"], seed=0,
                   dtype=tensors["weights"].dtype)
        if tensors["weights"].shape != born.weights.shape:
            raise CheckpointError(f"{path}: {tuple(tensors['weights'].shape)} weights for a circuit with "
                                  f"{born.n_parameters}")
        with torch.no_grad():
            born.weights.copy_(tensors["weights"])
        return born


class MADE(nn.Module):
    """A small masked autoencoder for distribution estimation (Germain et al. 2015): the classical baseline.

    ``p(x) = prod_d p(x_d | x_<d)``, each conditional a logistic of direct connections from the
    earlier bits plus ``hidden`` tanh units (unit ``k`` sees bits ``< m_k``, feeds outputs ``>= m_k``).
    Its parameter count (unmasked weights and biases) is ``n (n + 1) / 2 + hidden * (n + 1)``,
    so :meth:`matching` sizes it to a Born machine's. Trained by maximum likelihood on the samples.

    Examples:
        >>> made = MADE(4, hidden=2, seed=0)
        >>> made.n_parameters, MADE.matching(4, 20).hidden
        (20, 2)
        >>> round(float(made.probabilities().sum()), 6), made.sample(3, seed=0).shape
        (1.0, (3, 4))
    """

    mask_in: torch.Tensor
    mask_out: torch.Tensor
    mask_direct: torch.Tensor

    def __init__(self, n_bits: int, hidden: int = 0, *, seed: Seed = None) -> None:
        super().__init__()
        if int(n_bits) != n_bits or n_bits < 1 or int(hidden) != hidden or hidden < 0:
            raise ParameterError(f"need n_bits >= 1 and hidden >= 0, got {n_bits!r}, {hidden!r}")
        n, h = int(n_bits), int(hidden)
        self.n_bits, self.hidden = n, h
        deg = np.arange(h) % max(n - 1, 1) + 1                       # hidden unit k sees bits < deg[k]
        self.register_buffer("mask_in", torch.as_tensor(np.arange(n)[None, :] < deg[:, None], dtype=torch.float64))
        self.register_buffer("mask_out", torch.as_tensor(np.arange(n)[:, None] >= deg[None, :], dtype=torch.float64))
        self.register_buffer("mask_direct", torch.tril(torch.ones(n, n, dtype=torch.float64), -1))
        gen = torch_generator_from(derive_seed(seed if isinstance(seed, int) else int(as_generator(seed)
                                                                                       .integers(2**31)), 1))
        self.w_in = nn.Parameter(torch.randn(h, n, generator=gen, dtype=torch.float64) / math.sqrt(n))
        self.b_in = nn.Parameter(torch.zeros(h, dtype=torch.float64))
        self.w_out = nn.Parameter(torch.randn(n, h, generator=gen, dtype=torch.float64) / math.sqrt(max(h, 1)))
        self.w_direct = nn.Parameter(torch.zeros(n, n, dtype=torch.float64))
        self.b_out = nn.Parameter(torch.zeros(n, dtype=torch.float64))
        self.loss_history_: list[float] = []

    @classmethod
    def matching(cls, n_bits: int, n_parameters: int, *, seed: Seed = None) -> MADE:
        """The MADE whose parameter count is nearest to ``n_parameters`` (hidden units of ``n + 1`` each)."""
        base = n_bits * (n_bits + 1) // 2
        return cls(n_bits, max(0, round((n_parameters - base) / (n_bits + 1))), seed=seed)

    @property
    def n_parameters(self) -> int:
        """Trainable weights and biases that the masks leave connected."""
        return int(self.mask_in.sum() + self.mask_out.sum() + self.mask_direct.sum()) + self.hidden + self.n_bits

    def logits(self, bits: torch.Tensor) -> torch.Tensor:
        """``(B, n)`` logits of ``P(x_d = 1 | x_<d)``."""
        x = bits.to(torch.float64)
        hid = torch.tanh(x @ (self.w_in * self.mask_in).T + self.b_in)
        return hid @ (self.w_out * self.mask_out).T + x @ (self.w_direct * self.mask_direct).T + self.b_out

    def log_prob(self, bits: Any) -> torch.Tensor:
        """``(B,)`` log-probabilities of ``(B, n)`` 0/1 bitstrings."""
        x = torch.as_tensor(np.asarray(bits), dtype=torch.float64)
        return -nn.functional.binary_cross_entropy_with_logits(self.logits(x), x, reduction="none").sum(1)

    def probabilities(self) -> np.ndarray:
        """Exact ``(2**n,)`` distribution (same outcome order as :class:`BornMachine`)."""
        with torch.no_grad():
            return self.log_prob(index_to_bits(np.arange(2**self.n_bits), self.n_bits)).exp().numpy()

    def sample(self, shots: int, *, seed: Seed = None) -> np.ndarray:
        """``(shots, n)`` uint8 samples, bit by bit."""
        rng = as_generator(seed)
        x = torch.zeros(int(shots), self.n_bits, dtype=torch.float64)
        with torch.no_grad():
            for d in range(self.n_bits):
                p = torch.sigmoid(self.logits(x)[:, d]).numpy()
                x[:, d] = torch.as_tensor(rng.random(int(shots)) < p, dtype=torch.float64)
        return x.numpy().astype(np.uint8)

    def fit(self, samples: Any, *, steps: int = 500, lr: float = 0.05) -> MADE:
        """Maximum likelihood on ``(N, n)`` samples: full-batch Adam for ``steps`` steps.

        Examples:
            >>> from qtandem.learn.datasets import bars_and_stripes
            >>> data = bars_and_stripes(2, 2)
            >>> made = MADE(4, 2, seed=0).fit(data.sample(500, seed=1), steps=300)
            >>> data.kl(made.probabilities()) < 0.1
            True
        """
        arr = np.asarray(samples)
        bits_to_index(arr)  # validates 0/1
        if arr.shape[1] != self.n_bits:
            raise DatasetError(f"samples have {arr.shape[1]} bits; the model has {self.n_bits}")
        x = torch.as_tensor(arr, dtype=torch.float64)
        params = list(self.parameters())
        adam = _Adam(sum(p.numel() for p in params), lr)
        self.loss_history_ = []
        for _ in range(int(steps)):
            loss = -self.log_prob(x).mean()
            grads = torch.autograd.grad(loss, params)
            self.loss_history_.append(float(loss.detach()))
            update = adam.step(torch.cat([g.reshape(-1) for g in grads]).numpy())
            with torch.no_grad():
                i = 0
                for p in params:
                    p.sub_(torch.as_tensor(update[i:i + p.numel()]).reshape(p.shape))
                    i += p.numel()
        return self
