"""``QuantumLayer``: a parametrised circuit as a PyTorch ``nn.Module``.

Input ``(batch, features)`` -> output ``(batch, outputs)``. The circuit is an
encoder (features -> input parameters or initial state) followed by an ansatz
(trainable weights), or any :class:`~qtandem.Circuit` whose parameters are split
into inputs and weights. It is built once, in ``__init__``; the weights are one
``nn.Parameter``; ``forward`` encodes the features and makes one call to the
simulator's functional entry point :func:`qtandem.sim.run_batched`, the inputs
bound per row and the weights shared by the batch. Gradient methods
(``diff_method``), noise and shots are that function's (see
:mod:`qtandem.sim.functional` and :mod:`qtandem.sim.gradients`):

* ``"backprop"`` -- autograd through fused gate blocks; fastest; memory grows
  with depth (one state per fused block).
* ``"adjoint"`` -- a constant number of state vectors at any depth, about 1.5-2x
  the time of backprop. Switch to it when ``B * 2**n * 8 bytes * blocks``
  (complex64) no longer fits: e.g. 16 qubits, batch 256 and 50 layers.
* ``"parameter-shift"`` -- exact shift rules per gate angle; what hardware can
  do; works with finite ``shots`` and with a noise model.
* ``"spsa"`` -- two evaluations per step whatever the parameter count
  (Spall 1992), seeded; also with shots and noise.

With ``noise=`` a :class:`~qtandem.noise.NoiseModel`, the layer evaluates exact
density matrices (noise-aware training; backprop, parameter-shift or spsa).
With ``shots=``, each Pauli term is estimated from ``shots`` simulated
measurements in its own basis. Following ``nn.Linear``, ``device=`` and
``dtype=`` are torch's; a hardware :class:`~qtandem.device.Device` whose
coupling map the ansatz follows is ``hardware=``.

Examples:
    >>> import torch
    >>> layer = QuantumLayer(n_qubits=4, layers=2, seed=0)
    >>> layer.n_qubits, layer.n_features, len(layer.weight_names), layer.n_outputs
    (4, 4, 16, 4)
    >>> y = layer(torch.rand(8, 4))
    >>> y.shape
    torch.Size([8, 4])
    >>> y.sum().backward()
    >>> layer.weights.grad.shape
    torch.Size([16])
    >>> from qtandem.device import Device
    >>> QuantumLayer(n_qubits=4, hardware=Device.preset("line_5"), seed=0).circuit.count_ops()
    {'ry': 8, 'rz': 4, 'cx': 3}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import Parameter
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ArgumentTypeError, ParameterError
from qtandem.hybrid.ansatze import get_ansatz
from qtandem.hybrid.encoders import Encoder, get_encoder
from qtandem.random import Seed
from qtandem.sim.functional import DIFF_METHODS, check_options, run_batched

__all__ = ["DIFF_METHODS", "OUTPUTS", "QuantumLayer"]

Tensor = torch.Tensor
OUTPUTS = ("expval", "probs", "samples")


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


class QuantumLayer(nn.Module):
    """A quantum circuit layer: ``(batch, n_features) -> (batch, n_outputs)``.

    Args:
        n_qubits: number of qubits (with the built-in encoder/ansatz).
        layers: ansatz layers.
        encoder: ``"angle"``, ``"amplitude"``, ``"iqp"``, ``"reupload"`` or an
            :class:`~qtandem.hybrid.encoders.Encoder`.
        ansatz: ``"hardware_efficient"``, ``"strongly_entangling"``,
            ``"tree_tensor_network"`` (``"ttn"``), ``"qcnn"``, or a
            :class:`~qtandem.Circuit` of weight parameters.
        circuit: instead of encoder and ansatz, a full circuit; ``inputs`` names
            the parameters that receive the features (in feature order), all other
            parameters are trainable weights.
        inputs: input parameter names (or Parameters) for ``circuit``.
        n_features: raw features per sample (default: the encoder's natural size).
        observables: Pauli sums (or strings) to measure; default ``Z_i`` for every qubit.
        output: ``"expval"``, ``"probs"`` (``2**n`` probabilities) or ``"samples"``
            (``(batch, shots, n_qubits)`` bits, not differentiable).
        shots: estimate expectations from this many shots per Pauli term.
        diff_method: ``"backprop"``, ``"adjoint"``, ``"parameter-shift"`` or ``"spsa"``.
        noise: a :class:`~qtandem.noise.NoiseModel` (density-matrix simulation).
        hardware: a :class:`~qtandem.device.Device` whose coupling map the ansatz's
            entangling gates follow.
        entangle: ``False`` removes the ansatz's entangling gates (ablation).
        seed: seeds the initial weights, SPSA perturbations and shot sampling.
        spsa_step: SPSA perturbation size.
        device: torch device of the weights (``None``: torch's default).
        dtype: ``torch.float32`` (complex64 simulation) or ``torch.float64``
            (``None``: torch's default dtype).

    Shape:
        - Input: ``(B, n_features)`` (or ``(n_features,)``, unbatched).
        - Output: ``(B, n_outputs)``.

    Raises:
        ParameterError: bad names, sizes or option values.
        ArgumentTypeError: a hardware ``Device`` given as ``device=`` (use ``hardware=``),
            or ``hardware`` that is not a ``Device``.

    Examples:
        >>> import torch
        >>> from qtandem import Circuit, Parameter
        >>> x, w = Parameter("x"), Parameter("w")
        >>> layer = QuantumLayer(circuit=Circuit(1).ry(x, 0).rz(w, 0), inputs=["x"], seed=0, dtype=torch.float64)
        >>> layer.n_features, layer.weight_names, layer.n_outputs
        (1, ['w'], 1)
        >>> layer(torch.tensor([[0.0], [torch.pi]], dtype=torch.float64)).round(decimals=6).tolist()   # <Z> = cos(x)
        [[1.0], [-1.0]]
    """

    def __init__(self, n_qubits: int | None = None, layers: int = 1, encoder: str | Encoder = "angle",
                 ansatz: str | Circuit = "hardware_efficient", *, circuit: Circuit | None = None,
                 inputs: Sequence[str | Parameter] | None = None, n_features: int | None = None,
                 observables: Sequence[PauliSum | str] | None = None, output: str = "expval",
                 shots: int | None = None, diff_method: str = "backprop", noise: Any = None,
                 hardware: Any = None, entangle: bool = True, seed: Seed = None, spsa_step: float = 0.05,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if device is not None and not isinstance(device, (torch.device, str, int)):
            hint = " (a hardware Device goes in hardware=)" if type(device).__name__ == "Device" else ""
            raise ArgumentTypeError(f"device is torch's device (e.g. 'cpu', 'cuda:0'), got "
                                    f"{type(device).__name__}{hint}")
        dtype = dtype or torch.get_default_dtype()
        if dtype not in (torch.float32, torch.float64):
            raise ParameterError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if output not in OUTPUTS:
            raise ParameterError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.encoder: Encoder | None = None
        self.hardware = hardware
        if circuit is not None:
            if not isinstance(circuit, Circuit):
                raise ParameterError(f"circuit must be a qtandem Circuit, got {type(circuit).__name__}")
            full = circuit
            names = [p.name if isinstance(p, Parameter) else str(p) for p in (inputs or [])]
            known = {p.name for p in circuit.parameters}
            unknown = [nm for nm in names if nm not in known]
            if unknown:
                raise ParameterError(f"inputs {unknown} are not parameters of the circuit ({sorted(known)})")
            input_names = names
            self.n_features = len(names) if n_features is None else int(n_features)
            if self.n_features != len(names):
                raise ParameterError(f"n_features={self.n_features} but {len(names)} input parameters")
            self.encoder_name, self.ansatz_name = "circuit", "circuit"
        else:
            if n_qubits is None:
                raise ParameterError("give n_qubits (with encoder and ansatz) or circuit=")
            enc = get_encoder(encoder, n_qubits, n_features)
            self.encoder = enc
            self.n_features = enc.n_features
            full = _build(enc, ansatz, n_qubits, layers, hardware, entangle)
            self.ansatz_name = "circuit" if isinstance(ansatz, Circuit) else ansatz
            self.encoder_name = enc.name
            input_names = sorted((p.name for p in enc.circuit().parameters), key=lambda nm: int(nm[1:]))
        self.circuit = full
        self.n_qubits = full.n_qubits
        self.input_names = input_names
        self.weight_names = [p.name for p in full.parameters if p.name not in set(input_names)]
        if observables is None:
            observables = [f"Z{q}" for q in range(self.n_qubits)]
        self.observables = [o if isinstance(o, PauliSum) else PauliSum.from_string(o) for o in observables]
        for o in self.observables:
            if o.num_qubits > self.n_qubits:
                raise ParameterError(f"observable {o} acts on qubits beyond the layer's {self.n_qubits}")
        self.output, self.shots, self.diff_method, self.noise = output, shots, diff_method, noise
        self.spsa_step = float(spsa_step)
        check_options(full, output=output, diff_method=diff_method, shots=shots, noise=noise)
        self._seed = seed
        self._rng: np.random.Generator | None = None
        self.weights = nn.Parameter(torch.empty(len(self.weight_names), device=device, dtype=dtype))
        self.reset_parameters()

    # -- nn.Module conventions ---------------------------------------------------------------
    def reset_parameters(self) -> None:
        """Weights uniform in ``[0, 2 pi)`` from ``seed``."""
        gen = torch.Generator().manual_seed(_seed_int(self._seed, 0))
        with torch.no_grad():
            self.weights.copy_(torch.rand(self.weights.shape, generator=gen, dtype=torch.float64) * 2 * math.pi)

    @property
    def n_outputs(self) -> int:
        """Output width."""
        if self.output == "probs":
            return 2**self.n_qubits
        if self.output == "samples":
            return self.n_qubits
        return len(self.observables)

    def extra_repr(self) -> str:
        return (f"n_qubits={self.n_qubits}, inputs={self.n_features}, weights={len(self.weight_names)}, "
                f"outputs={self.n_outputs}, encoder={self.encoder_name}, ansatz={self.ansatz_name}, "
                f"diff_method={self.diff_method}" + (f", shots={self.shots}" if self.shots else "")
                + (", noisy" if self.noise is not None else "")
                + (f", hardware={self.hardware.name}" if self.hardware is not None else ""))

    def __repr__(self) -> str:
        return f"QuantumLayer({self.extra_repr()})"

    def _generator(self) -> np.random.Generator | None:
        """One seeded stream for shots, samples and SPSA directions, continued across calls."""
        if self.shots is None and self.diff_method != "spsa" and self.output != "samples":
            return None
        if self._rng is None:
            self._rng = np.random.default_rng(_seed_int(self._seed, 1))
        return self._rng

    # -- forward ----------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
        if x.dim() != 2 or x.shape[1] != self.n_features:
            raise ParameterError(f"QuantumLayer expects input of shape (batch, {self.n_features}), "
                                 f"got {tuple(x.shape)}")
        x = x.to(self.weights)
        init = None
        if self.encoder is not None:
            init = self.encoder.initial_state(x, _complex(self.weights.dtype))
            x = self.encoder.features(x)
        params = dict(zip(self.input_names, x.unbind(1), strict=True))
        params.update(zip(self.weight_names, self.weights.unbind(), strict=True))
        out = run_batched(self.circuit, params, observables=self.observables, output=self.output, noise=self.noise,
                          diff_method=self.diff_method, shots=self.shots, seed=self._generator(),
                          initial_state=init, spsa_step=self.spsa_step)
        out = out.to(self.weights.dtype)
        return out[0] if unbatched else out


def _build(enc: Encoder, ansatz: str | Circuit, n_qubits: int, layers: int, hardware: Any,
           entangle: bool) -> Circuit:
    """Encoder circuit followed by the ansatz (re-uploading: one encoding before each layer)."""
    full = Circuit(n_qubits)
    if isinstance(ansatz, Circuit):
        if enc.reupload:
            raise ParameterError("re-uploading needs a named ansatz (it builds one encoding per layer)")
        return full.compose(enc.circuit()).compose(ansatz)
    fn = get_ansatz(ansatz)
    if not enc.reupload:
        return full.compose(enc.circuit()).compose(fn(n_qubits, layers, hardware=hardware, entangle=entangle))
    start = 0
    for _ in range(layers):
        part = fn(n_qubits, 1, hardware=hardware, entangle=entangle, start=start)
        start += part.num_parameters
        full = full.compose(enc.circuit()).compose(part)
    return full


def _seed_int(seed: Seed, stream: int) -> int:
    """A deterministic integer seed for ``stream`` (0 weights, 1 shots and SPSA) derived from ``seed``."""
    if seed is None:
        return int(torch.randint(0, 2**62, (1,)).item()) ^ stream
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**62)) ^ stream
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ArgumentTypeError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1, dtype=np.uint64)[0] >> 2)
