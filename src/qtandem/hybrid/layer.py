"""``QuantumLayer``: a parametrised circuit as a PyTorch ``nn.Module``.

Input ``(batch, features)`` -> output ``(batch, outputs)``. The circuit is an
encoder (features -> input angles or initial state) followed by an ansatz
(trainable angles), or any :class:`~qtandem.Circuit` whose parameters are split
into inputs and weights.

How it runs. Every parametrised angle of the circuit is an *occurrence*
``theta_j = c_j + A_x[j] . inputs + A_w[j] . weights`` (qtandem parameters are
linear), computed in torch so gradients reach the weights and, through the
inputs, any classical pre-processing. Occurrences that depend on weights only
are shared by the whole batch, so their gates stay un-batched ``(d, d)``
matrices: fused into 4-qubit blocks they are applied to the ``(B, 2**n)`` state
by broadcast matmuls, and only the encoder's gates are per-sample.

Gradients (``diff_method``):

* ``"backprop"`` -- autograd through the fused blocks; fastest; memory grows
  with depth (one state per fused block).
* ``"adjoint"`` -- :func:`qtandem.sim.adjoint.blocks_adjoint_expval`: a constant
  number of extra state vectors at any depth, about 2x the time of backprop.
  Switch to it when ``B * 2**n * 8 bytes * blocks`` (complex64) no longer fits:
  e.g. 16 qubits, batch 256 and 50 layers.
* ``"parameter-shift"`` -- exact shift rules per occurrence (two terms for
  rx/ry/rz/rxx/ryy/rzz/p/u1/cp, four for crx/cry/crz); what hardware can do;
  works with finite ``shots`` and with a noise model.
* ``"spsa"`` -- two evaluations per step whatever the parameter count
  (Spall 1992), seeded; also with shots and noise.

With ``noise=`` a :class:`~qtandem.noise.NoiseModel`, the layer evaluates exact
density matrices (noise-aware training; backprop, parameter-shift or spsa).
With ``shots=``, each Pauli term is estimated from ``shots`` simulated
measurements in its own basis (binomial sampling of its +-1 outcomes).

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import controlled_matrix, gate_matrix
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter, ParameterExpression
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ParameterError, SimulationError
from qtandem.hybrid.ansatze import get_ansatz
from qtandem.hybrid.encoders import Encoder, get_encoder
from qtandem.random import Seed
from qtandem.sim.adjoint import blocks_adjoint_expval
from qtandem.sim.core import apply_ops, fuse_ops
from qtandem.sim.expectation import pauli_expectation_many
from qtandem.sim.memory import check_memory, state_bytes

__all__ = ["DIFF_METHODS", "OUTPUTS", "QuantumLayer"]

Tensor = torch.Tensor
DIFF_METHODS = ("backprop", "adjoint", "parameter-shift", "spsa")
OUTPUTS = ("expval", "probs", "samples")
_TWO_TERM = {"rx", "ry", "rz", "rxx", "ryy", "rzz", "p", "u1", "cp"}
_FOUR_TERM = {"crx", "cry", "crz"}
_C4P = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C4M = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
#: largest batch of shifted circuits evaluated at once (states of this many bytes)
_SHIFT_CHUNK_BYTES = 256 * 2**20


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


class _Program:
    """The circuit as gates whose angles are occurrences of a linear map of (inputs, weights)."""

    def __init__(self, circuit: Circuit, input_names: list[str], weight_names: list[str]) -> None:
        col_in = {name: i for i, name in enumerate(input_names)}
        col_w = {name: i for i, name in enumerate(weight_names)}
        self.n = circuit.n_qubits
        self.gates: list[tuple[Instruction, list[tuple[str, Any]]]] = []
        consts: list[float] = []
        a_in: list[list[tuple[int, float]]] = []
        a_w: list[list[tuple[int, float]]] = []
        self.occ_gate: list[tuple[str, int]] = []  # (gate name, ctrl count) of each occurrence
        for inst in circuit:
            if inst.name == "barrier":
                continue
            if not inst.is_gate or inst.condition is not None:
                raise SimulationError(f"QuantumLayer circuits hold gates only; got {inst.label} "
                                      "(measurement, reset or classical control)")
            angles: list[tuple[str, Any]] = []
            for a in inst.params:
                if isinstance(a, ParameterExpression) and a.terms:
                    j = len(consts)
                    consts.append(a.const)
                    a_in.append([(col_in[p.name], c) for p, c in a.terms.items() if p.name in col_in])
                    a_w.append([(col_w[p.name], c) for p, c in a.terms.items() if p.name in col_w])
                    self.occ_gate.append((inst.name, inst.ctrl))
                    angles.append(("occ", j))
                else:
                    angles.append(("const", float(a)))
            self.gates.append((inst, angles))
        m = len(consts)
        self.const = torch.tensor(consts, dtype=torch.float64)
        self.a_in = torch.zeros(m, len(input_names), dtype=torch.float64)
        self.a_w = torch.zeros(m, len(weight_names), dtype=torch.float64)
        for j, row in enumerate(a_in):
            for i, c in row:
                self.a_in[j, i] += c
        for j, row in enumerate(a_w):
            for i, c in row:
                self.a_w[j, i] += c
        self.batched = (self.a_in != 0).any(dim=1)  # occurrences that depend on the inputs
        self._fixed: dict[tuple[int, torch.dtype, Any], Tensor] = {}

    def angles(self, inputs: Tensor, weights: Tensor) -> Tensor:
        """All occurrences ``(B, O)``."""
        return self.const.to(weights) + inputs @ self.a_in.to(weights).T + (self.a_w.to(weights) @ weights)

    def split_angles(self, inputs: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
        """``(shared (O,), batched (B, O))``: shared occurrences do not depend on the inputs."""
        shared = self.const.to(weights) + self.a_w.to(weights) @ weights
        batched = shared + inputs @ self.a_in.to(weights).T
        return shared, batched

    def ops(self, shared: Tensor | None, batched: Tensor, dtype: torch.dtype) -> list[tuple[tuple[int, ...], Tensor]]:
        """Gate matrices; an occurrence uses ``shared[j]`` when it is input-free and ``shared`` is given."""
        out = []
        for k, (inst, angles) in enumerate(self.gates):
            if not angles:
                key = (k, dtype, batched.device)
                mat = self._fixed.get(key)
                if mat is None:
                    mat = self._fixed[key] = _matrix(inst, [], dtype, batched.device)
                out.append((inst.qubits, mat))
                continue
            vals: list[Any] = []
            for kind, v in angles:
                if kind == "const":
                    vals.append(v)
                elif shared is not None and not bool(self.batched[v]):
                    vals.append(shared[v])
                else:
                    vals.append(batched[:, v])
            out.append((inst.qubits, _matrix(inst, vals, dtype, batched.device)))
        return out


def _matrix(inst: Instruction, angles: list[Any], dtype: torch.dtype, device: Any) -> Tensor:
    if inst.name == "unitary":
        m = torch.as_tensor(inst.matrix, dtype=dtype, device=device)
    elif inst.name == "mcx":
        m = controlled_matrix(gate_matrix("x", (), dtype=dtype, device=device), len(inst.qubits) - 1)
        return m
    else:
        m = gate_matrix(inst.name, angles, num_qubits=len(inst.qubits) - inst.ctrl, dtype=dtype, device=device)
    if inst.inverted:
        m = m.conj().transpose(-1, -2)
    return controlled_matrix(m, inst.ctrl) if inst.ctrl else m


def _shift_rule(name: str, ctrl: int) -> list[tuple[float, float]] | None:
    """``[(shift, coefficient)]`` with ``d f / d theta = sum c * f(theta + s)``, or None."""
    if name in _TWO_TERM and ctrl == 0:
        return [(math.pi / 2, 0.5), (-math.pi / 2, -0.5)]
    if name in _FOUR_TERM or (name in _TWO_TERM and ctrl == 1 and name in ("rx", "ry", "rz")):
        return [(math.pi / 2, _C4P), (-math.pi / 2, -_C4P), (3 * math.pi / 2, -_C4M), (-3 * math.pi / 2, _C4M)]
    return None


class _Evaluator:
    """Forward evaluations without autograd, for the shift rules and SPSA (all occurrences batched)."""

    def __init__(self, layer: QuantumLayer) -> None:
        self.layer = layer

    def __call__(self, angles: Tensor, init: Tensor | None, rng: np.random.Generator | None) -> Tensor:
        layer = self.layer
        cd = _complex(angles.dtype)
        b = angles.shape[0]
        per = state_bytes(layer.n_qubits, cd, 1) * (4 ** layer.n_qubits if layer.noise is not None else 1)
        chunk = max(1, _SHIFT_CHUNK_BYTES // max(per, 1))
        outs = []
        for lo in range(0, b, chunk):
            sl = slice(lo, min(b, lo + chunk))
            outs.append(layer._expvals(angles[sl], None if init is None else init[sl], rng))
        return torch.cat(outs)


class _ShiftFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, angles: Tensor, init: Tensor | None, layer: QuantumLayer) -> Tensor:  # type: ignore[override]
        ctx.layer, ctx.init = layer, init
        ctx.save_for_backward(angles)
        with torch.no_grad():
            return layer._evaluator(angles, init, layer._shot_rng())

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        (angles,) = ctx.saved_tensors
        layer: QuantumLayer = ctx.layer
        b, o = angles.shape
        grad = torch.zeros_like(angles)
        with torch.no_grad():
            if layer.diff_method == "spsa":
                gen = layer._spsa_generator()
                delta = (torch.randint(0, 2, (b, o), generator=gen, dtype=torch.int64) * 2 - 1).to(angles)
                shared = ~layer._program.batched.to(angles.device)
                delta[:, shared] = delta[0, shared]  # shared occurrences get one perturbation
                c = layer.spsa_step
                both = torch.cat([angles + c * delta, angles - c * delta])
                init = None if ctx.init is None else torch.cat([ctx.init, ctx.init])
                f = layer._evaluator(both, init, layer._shot_rng())
                diff = ((f[:b] - f[b:]) * grad_out).sum(dim=1) / (2 * c)  # per-row directional derivative
                grad = diff.unsqueeze(1) * delta
                # a shared occurrence moves every row's output: its estimate uses the whole batch
                grad[:, shared] = diff.sum() * delta[:, shared] / b
                return grad, None, None
            jobs = []
            for j in range(o):
                name, ctrl = layer._program.occ_gate[j]
                rule = _shift_rule(name, ctrl)
                assert rule is not None
                for s, coef in rule:
                    jobs.append((j, s, coef))
            # evaluate shifted copies in chunks of whole batches
            per_job = max(1, (_SHIFT_CHUNK_BYTES // max(1, state_bytes(layer.n_qubits, _complex(angles.dtype), b))))
            for lo in range(0, len(jobs), per_job):
                part = jobs[lo:lo + per_job]
                shifted = angles.repeat(len(part), 1)
                for t, (j, s, _) in enumerate(part):
                    shifted[t * b:(t + 1) * b, j] += s
                init = None if ctx.init is None else ctx.init.repeat(len(part), 1)
                f = layer._evaluator(shifted, init, layer._shot_rng())
                for t, (j, _, coef) in enumerate(part):
                    grad[:, j] += coef * (f[t * b:(t + 1) * b] * grad_out).sum(dim=1)
        return grad, None, None


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
        device: a :class:`~qtandem.device.Device` for the ansatz's entangling pattern.
        entangle: ``False`` removes the ansatz's entangling gates (ablation).
        seed: seeds the initial weights, SPSA perturbations and shot sampling.
        dtype: ``torch.float32`` (complex64 simulation) or ``torch.float64``.
        spsa_step: SPSA perturbation size.

    Shape:
        - Input: ``(B, n_features)`` (or ``(n_features,)``, unbatched).
        - Output: ``(B, n_outputs)``.

    Raises:
        ParameterError: bad names, sizes or option values.
    """

    def __init__(self, n_qubits: int | None = None, layers: int = 1, encoder: str | Encoder = "angle",
                 ansatz: str | Circuit = "hardware_efficient", *, circuit: Circuit | None = None,
                 inputs: Sequence[str | Parameter] | None = None, n_features: int | None = None,
                 observables: Sequence[PauliSum | str] | None = None, output: str = "expval",
                 shots: int | None = None, diff_method: str = "backprop", noise: Any = None, device: Any = None,
                 entangle: bool = True, seed: Seed = None, dtype: torch.dtype = torch.float32,
                 spsa_step: float = 0.05) -> None:
        super().__init__()
        if diff_method not in DIFF_METHODS:
            raise ParameterError(f"diff_method must be one of {DIFF_METHODS}, got {diff_method!r}")
        if output not in OUTPUTS:
            raise ParameterError(f"output must be one of {OUTPUTS}, got {output!r}")
        if shots is not None and (int(shots) != shots or shots < 1):
            raise ParameterError(f"shots must be a positive integer or None, got {shots!r}")
        if dtype not in (torch.float32, torch.float64):
            raise ParameterError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.encoder: Encoder | None = None
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
            full = Circuit(n_qubits)
            if isinstance(ansatz, Circuit):
                if enc.reupload:
                    raise ParameterError("re-uploading needs a named ansatz (it builds one encoding per layer)")
                full = full.compose(enc.circuit()).compose(ansatz)
                self.ansatz_name = "circuit"
            else:
                fn = get_ansatz(ansatz)
                if enc.reupload:
                    start = 0
                    for _ in range(layers):
                        part = fn(n_qubits, 1, device=device, entangle=entangle, start=start)
                        start += part.num_parameters
                        full = full.compose(enc.circuit()).compose(part)
                else:
                    full = full.compose(enc.circuit()).compose(fn(n_qubits, layers, device=device,
                                                                  entangle=entangle))
                self.ansatz_name = ansatz
            self.encoder_name = enc.name
            input_names = [p.name for p in enc.circuit().parameters]
            input_names.sort(key=lambda nm: int(nm[1:]))
        self.circuit = full
        self.n_qubits = full.n_qubits
        self.input_names = input_names
        self.weight_names = [p.name for p in full.parameters if p.name not in set(input_names)]
        self._program = _Program(full, input_names, self.weight_names)
        if observables is None:
            observables = [f"Z{q}" for q in range(self.n_qubits)]
        self.observables = [o if isinstance(o, PauliSum) else PauliSum.from_string(o) for o in observables]
        for o in self.observables:
            if o.num_qubits > self.n_qubits:
                raise ParameterError(f"observable {o} acts on qubits beyond the layer's {self.n_qubits}")
        self.output, self.shots, self.diff_method, self.noise = output, shots, diff_method, noise
        self.spsa_step = float(spsa_step)
        if shots is not None and diff_method in ("backprop", "adjoint") and output == "expval":
            raise ParameterError(f"finite shots are not differentiable by {diff_method}: use "
                                 "diff_method='parameter-shift' or 'spsa'")
        if noise is not None and diff_method == "adjoint":
            raise ParameterError("adjoint differentiation needs unitary circuits; with noise use backprop, "
                                 "parameter-shift or spsa")
        if diff_method in ("adjoint", "parameter-shift", "spsa") and output != "expval":
            raise ParameterError(f"diff_method={diff_method!r} differentiates expectation values; output "
                                 f"{output!r} needs backprop")
        if diff_method == "parameter-shift":
            for name, ctrl in self._program.occ_gate:
                if _shift_rule(name, ctrl) is None:
                    raise ParameterError(f"no parameter-shift rule for gate {name!r} (ctrl={ctrl}); "
                                         "use backprop, adjoint or spsa")
        self._seed = seed
        self._spsa_gen: torch.Generator | None = None
        self._rng: np.random.Generator | None = None
        self._evaluator = _Evaluator(self)
        self.weights = nn.Parameter(torch.empty(len(self.weight_names), dtype=dtype))
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
                + (", noisy" if self.noise is not None else ""))

    def __repr__(self) -> str:
        return f"QuantumLayer({self.extra_repr()})"

    def _shot_rng(self) -> np.random.Generator | None:
        if self.shots is None:
            return None
        if self._rng is None:
            self._rng = np.random.default_rng(_seed_int(self._seed, 1))
        return self._rng

    def _spsa_generator(self) -> torch.Generator:
        if self._spsa_gen is None:
            self._spsa_gen = torch.Generator().manual_seed(_seed_int(self._seed, 2))
        return self._spsa_gen

    # -- forward ----------------------------------------------------------------------------
    def _inputs(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        if x.dim() != 2 or x.shape[1] != self.n_features:
            raise ParameterError(f"QuantumLayer expects input of shape (batch, {self.n_features}), "
                                 f"got {tuple(x.shape)}")
        x = x.to(self.weights.dtype)
        if self.encoder is None:
            return x, None
        init = self.encoder.initial_state(x, _complex(self.weights.dtype))
        return self.encoder.features(x), init

    def _state(self, shared: Tensor | None, batched: Tensor, init: Tensor | None, b: int) -> Tensor:
        cd = _complex(self.weights.dtype)
        n = self.n_qubits
        check_memory(state_bytes(n, cd, b) * 3, f"QuantumLayer state of {n} qubits, batch {b}", batched.device)
        ops = self._program.ops(shared, batched, cd)
        if init is None:
            state, ops = _product_prefix(ops, n, b, cd, batched.device)
        else:
            state = init
        return apply_ops(state, ops, n)

    def _density(self, angles: Tensor, init: Tensor | None) -> Tensor:
        from qtandem.noise.density import density_matrix

        flat = self._flat_circuit()
        return density_matrix(flat, angles, noise=self.noise, initial_state=init,
                              dtype=_complex(self.weights.dtype), device=angles.device)

    def _flat_circuit(self) -> Circuit:
        flat = getattr(self, "_flat", None)
        if flat is None:
            flat = Circuit(self.n_qubits)
            for inst, angles in self._program.gates:
                params = tuple(Parameter(f"t{v:06d}") if kind == "occ" else v for kind, v in angles)
                flat.append(inst.replace(params=params))
            self._flat = flat
        return flat

    def _term_values(self, state_or_rho: Tensor, density: bool) -> list[Tensor]:
        """Per observable, the ``(B, T)`` expectation of each of its Pauli terms."""
        from qtandem.noise.density import dm_expectation

        out = []
        for o in self.observables:
            terms = [PauliSum({word: 1.0}) for _, word in o.terms]
            if density:
                vals = torch.stack([dm_expectation(state_or_rho, t).real for t in terms], dim=-1)
            else:
                vals = pauli_expectation_many(state_or_rho, terms).real
            out.append(vals)
        return out

    def _finish(self, state_or_rho: Tensor, density: bool, rng: np.random.Generator | None) -> Tensor:
        """Expectation values ``(B, m)``, estimated from shots when ``self.shots`` is set."""
        if rng is None:
            if density:
                from qtandem.noise.density import dm_expectation

                return torch.stack([dm_expectation(state_or_rho, o).real for o in self.observables], dim=-1)
            return pauli_expectation_many(state_or_rho, self.observables).real
        cols = []
        assert self.shots is not None
        for o, vals in zip(self.observables, self._term_values(state_or_rho, density), strict=True):
            p_plus = ((1 + vals.detach().double().cpu().numpy()) / 2).clip(0, 1)
            hits = rng.binomial(self.shots, p_plus)
            est = torch.as_tensor(2 * hits / self.shots - 1, dtype=vals.dtype, device=vals.device)
            coefs = torch.tensor([complex(c).real for c, _ in o.terms], dtype=vals.dtype, device=vals.device)
            cols.append(est @ coefs)
        return torch.stack(cols, dim=-1)

    def _expvals(self, angles: Tensor, init: Tensor | None, rng: np.random.Generator | None) -> Tensor:
        """Expectation values for all-batched occurrence angles ``(B, O)`` (no autograd needed)."""
        if self.noise is not None:
            return self._finish(self._density(angles, init), True, rng)
        return self._finish(self._state(None, angles, init, angles.shape[0]), False, rng)

    def forward(self, x: Tensor) -> Tensor:
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
        inputs, init = self._inputs(x)
        b = x.shape[0]
        prog = self._program
        if self.output != "expval":
            out = self._probs_or_samples(inputs, init, b)
        elif self.diff_method in ("parameter-shift", "spsa"):
            angles = prog.angles(inputs, self.weights)
            out = _ShiftFunction.apply(angles, init, self)
        elif self.noise is not None:
            out = self._finish(self._density(prog.angles(inputs, self.weights), init), True, None)
        else:
            shared, batched = prog.split_angles(inputs, self.weights)
            cd = _complex(self.weights.dtype)
            if self.diff_method == "adjoint":
                check_memory(state_bytes(self.n_qubits, cd, b) * 4,
                             f"QuantumLayer state of {self.n_qubits} qubits, batch {b}", x.device)
                ops = prog.ops(shared, batched, cd)
                if init is None:
                    init, ops = _product_prefix(ops, self.n_qubits, b, cd, x.device)
                blocks = fuse_ops(ops, dtype=cd, device=x.device)
                out = blocks_adjoint_expval(init, blocks, self.observables, self.n_qubits)
            else:
                out = self._finish(self._state(shared, batched, init, b), False, None)
        out = out.to(self.weights.dtype)
        return out[0] if unbatched else out

    def _probs_or_samples(self, inputs: Tensor, init: Tensor | None, b: int) -> Tensor:
        prog = self._program
        if self.noise is not None:
            rho = self._density(prog.angles(inputs, self.weights), init)
            probs = torch.diagonal(rho, dim1=-2, dim2=-1).real
        else:
            shared, batched = prog.split_angles(inputs, self.weights)
            state = self._state(shared, batched, init, b)
            probs = state.real**2 + state.imag**2
        if self.output == "probs":
            return probs
        rng = self._shot_rng() or np.random.default_rng(_seed_int(self._seed, 1))
        if self._rng is None:
            self._rng = rng
        shots = self.shots or 1
        p = probs.detach().double().cpu().numpy()
        p = p / p.sum(axis=1, keepdims=True)
        cdf = np.cumsum(p, axis=1)
        u = rng.random((b, shots))
        idx = np.stack([np.searchsorted(cdf[i], u[i] * cdf[i, -1], side="right") for i in range(b)]).clip(
            max=2**self.n_qubits - 1)
        bits = (idx[..., None] >> np.arange(self.n_qubits)) & 1
        return torch.as_tensor(bits, dtype=self.weights.dtype)


def _product_prefix(ops: list[tuple[tuple[int, ...], Tensor]], n: int, b: int, dtype: torch.dtype,
                    device: Any) -> tuple[Tensor, list[tuple[tuple[int, ...], Tensor]]]:
    """Start from ``|0...0>``: one-qubit gates before any multi-qubit gate on their qubit make a
    product state, built directly (``B * 2**n`` work instead of one pass per gate); the rest remain.

    Returns ``(state (B, 2**n), remaining ops)``.
    """
    local: dict[int, Tensor] = {}
    blocked: set[int] = set()
    rest = []
    for qubits, mat in ops:
        if len(qubits) == 1 and qubits[0] not in blocked:
            q = qubits[0]
            v = local.get(q)
            col = mat[..., :, 0] if v is None else (mat @ v.unsqueeze(-1)).squeeze(-1)
            local[q] = col
        else:
            blocked.update(qubits)
            rest.append((qubits, mat))
    zero = torch.tensor([1, 0], dtype=dtype, device=device)
    state = torch.ones(b, 1, dtype=dtype, device=device)
    for q in range(n - 1, -1, -1):  # qubit n-1 is the most significant bit
        v = local.get(q, zero).to(dtype)
        v = v.expand(b, 2) if v.dim() == 1 else v
        state = (state.unsqueeze(-1) * v.unsqueeze(1)).reshape(b, -1)
    return state, rest


def _seed_int(seed: Seed, stream: int) -> int:
    """A deterministic integer seed for ``stream`` (0 weights, 1 shots, 2 spsa) derived from ``seed``."""
    if seed is None:
        return int(torch.randint(0, 2**62, (1,)).item()) ^ stream
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**62)) ^ stream
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1, dtype=np.uint64)[0] >> 2)

