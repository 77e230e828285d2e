"""Neural decoder over per-round detection events, laid out on the code's stabilizer lattice.

The design follows AlphaQubit (Bausch et al., "Learning high-accuracy error decoding for
quantum processors", Nature 635, 834 (2024)) at laptop scale:

* :class:`StabilizerLayout` reads ``circuit.get_detector_coordinates()`` and places every
  detector at a (round, stabilizer) cell: stabilizers are the distinct ``(x, y)`` positions,
  rounds the distinct ``t`` values. Missing cells (e.g. X stabilizers in the first and last
  round of a Z-memory experiment) are masked.
* :class:`SyndromeNet` keeps one state vector per stabilizer. Each round it adds an
  embedding of that round's detection events (event bit, cell validity, round kind) to the
  state, then mixes stabilizers with self-attention whose bias is a learned function of the
  *relative displacement* between the two stabilizers (a translation-equivariant lattice
  convolution in attention form), then an MLP. The state carries over to the next round
  (recurrence over rounds). A readout MLP over all stabilizer states gives one logit per
  observable; ``sigmoid(logit)`` is the probability that the observable flipped.
* Optionally (``matching_features > 0``) the readout also gets PyMatching's view of the shot
  (the plain complementary-gap log-likelihood ratio and the correlated-matching decision), and
  the logit starts from the matching LLR through a learned skip weight: the network then
  learns when matching is wrong. Such models are named ``neural+matching`` and are reported
  separately from pure neural ones.

Inference (:class:`NeuralDecoder`) runs :class:`FrozenSyndromeNet`, the same function with
its constants folded in once (LayerNorm affine maps merged into the next linear map, the
attention scale into the query weights, the displacement bias gathered, ``1/sqrt(2)`` into the
round embeddings), attention written out as two batched matrix products (torch's CPU flash
kernel is slow for 24 stabilizers x 8-wide heads) and a two-op LayerNorm; logits agree with
:meth:`SyndromeNet.forward` to float32 rounding (about 1e-6), and batches of 256 shots
stay in cache.

:class:`NeuralDecoder` wraps a trained :class:`SyndromeNet` behind the
:class:`~qtandem.qec.decoder.Decoder` interface (``decode``/``decode_soft``, a
``sinter.Decoder`` that pickles), and :func:`save_decoder`/:func:`load_decoder` store it in one
safetensors file (weights plus JSON metadata holding the model configuration, the exact Stim
circuit and the training cost; loading runs no code).

Examples:
    >>> import stim, torch
    >>> from qtandem.qec.neural import NeuralDecoder, ModelSpec
    >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
    ...                            after_clifford_depolarization=0.005)
    >>> dec = NeuralDecoder.untrained(c, ModelSpec(hidden=16, layers=1, heads=2), seed=0)
    >>> dets = c.compile_detector_sampler(seed=1).sample(5)
    >>> dec.decode_soft(dets).shape, dec.decode(dets).dtype
    ((5, 1), dtype('bool'))
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import stim
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from qtandem.errors import CheckpointError, DecoderError
from qtandem.io import atomic_write_bytes, read_safetensors
from qtandem.qec.decoder import Decoder

__all__ = ["MODEL_FORMAT", "FrozenSyndromeNet", "ModelSpec", "NeuralDecoder", "StabilizerLayout", "SyndromeNet",
           "load_decoder", "matching_features", "save_decoder"]

MAX_BATCH = 256
"""Largest automatic batch (shots per forward pass): the activations of 256 d = 5 shots stay in
cache; 2,048 (the old default) ran the network 1.5-2x slower per shot."""

MODEL_FORMAT = "qtandem.qec.neural/1"
"""``format`` metadata value of a saved neural decoder."""


@dataclass(frozen=True)
class ModelSpec:
    """Sizes of a :class:`SyndromeNet` (the ``[model]`` section of a training config).

    Attributes:
        hidden: state width per stabilizer.
        layers: attention+MLP blocks applied every round.
        heads: attention heads (divides ``hidden``).
        mlp_ratio: MLP width as a multiple of ``hidden``.
        readout: width of the readout MLP.
        matching_features: 0 for a pure neural model; 2 to feed PyMatching's plain
            complementary-gap LLR and correlated decision (``neural+matching``).

    Examples:
        >>> spec = ModelSpec(hidden=16, heads=2)
        >>> spec.hidden, spec.layers, spec.matching_features
        (16, 1, 0)
    """

    hidden: int = 32
    layers: int = 1
    heads: int = 4
    mlp_ratio: int = 2
    readout: int = 64
    matching_features: int = 0

    @property
    def kind(self) -> str:
        """``"neural"`` or ``"neural+matching"``."""
        return "neural+matching" if self.matching_features else "neural"


class StabilizerLayout:
    """Where each detector sits on the (round, stabilizer) grid of a circuit.

    Args:
        circuit: a ``stim.Circuit`` whose detectors have ``(x, y, t)`` coordinates.

    Attributes:
        num_rounds: distinct ``t`` values (``T``).
        num_stabilizers: distinct ``(x, y)`` positions (``S``).
        cell: int64 ``(num_detectors,)``, the flat cell ``t * S + s`` of each detector.
        valid: bool ``(T, S)``, cells that hold a detector.
        coords: float32 ``(S, 2)`` stabilizer positions, centred and scaled to ``[-1, 1]``.
        displacement: int64 ``(S, S)``, an index per distinct relative displacement.

    Raises:
        DecoderError: a detector lacks 3 coordinates or two detectors share a cell.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3)
        >>> lay = StabilizerLayout(c)
        >>> lay.num_rounds, lay.num_stabilizers, int(lay.valid.sum())
        (4, 8, 24)
    """

    def __init__(self, circuit: stim.Circuit) -> None:
        coords = circuit.get_detector_coordinates()
        n = circuit.num_detectors
        if any(len(coords.get(i, ())) < 3 for i in range(n)):
            raise DecoderError("the neural decoder needs (x, y, t) coordinates on every detector; "
                               "use a stim.Circuit.generated circuit or add coordinates to DETECTOR lines")
        xy = sorted({(float(coords[i][0]), float(coords[i][1])) for i in range(n)})
        ts = sorted({float(coords[i][2]) for i in range(n)})
        s_of = {p: k for k, p in enumerate(xy)}
        t_of = {t: k for k, t in enumerate(ts)}
        self.num_rounds, self.num_stabilizers = len(ts), len(xy)
        S = self.num_stabilizers
        self.cell = np.array([t_of[float(coords[i][2])] * S + s_of[(float(coords[i][0]), float(coords[i][1]))]
                              for i in range(n)], dtype=np.int64)
        if len(set(self.cell.tolist())) != n:
            raise DecoderError("two detectors share a (round, stabilizer) cell; the neural decoder needs one "
                               "detector per stabilizer per round")
        valid = np.zeros(self.num_rounds * S, dtype=bool)
        valid[self.cell] = True
        self.valid = valid.reshape(self.num_rounds, S)
        pos = np.array(xy, dtype=np.float64)
        span = np.maximum(np.ptp(pos, axis=0), 1e-9)
        self.coords = ((pos - pos.min(axis=0)) / span * 2 - 1).astype(np.float32)
        disp = [(round(a[0] - b[0], 6), round(a[1] - b[1], 6)) for a in xy for b in xy]
        kinds = {d: k for k, d in enumerate(sorted(set(disp)))}
        self.displacement = np.array([kinds[d] for d in disp], dtype=np.int64).reshape(S, S)
        self.num_displacements = len(kinds)


class _Block(nn.Module):
    def __init__(self, hidden: int, heads: int, mlp_ratio: int, num_disp: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.rel_bias = nn.Parameter(torch.zeros(heads, num_disp))
        self.norm2 = nn.LayerNorm(hidden)
        width = mlp_ratio * hidden
        self.mlp = nn.Sequential(nn.Linear(hidden, width), nn.GELU(), nn.Linear(width, hidden))

    def forward(self, h: Tensor, disp: Tensor) -> Tensor:
        B, S, H = h.shape
        q, k, v = self.qkv(self.norm1(h)).view(B, S, 3, self.heads, H // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.rel_bias[:, disp]  # (heads, S, S)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.unsqueeze(0))
        h = h + self.proj(a.transpose(1, 2).reshape(B, S, H))
        return h + self.mlp(self.norm2(h))


class SyndromeNet(nn.Module):
    """Recurrent attention network over the stabilizer lattice (see the module docstring).

    Args:
        layout: the :class:`StabilizerLayout` of the circuit.
        spec: sizes (:class:`ModelSpec`).
        num_observables: logits to produce.

    Shape:
        - ``dets``: ``(B, num_detectors)`` float (0/1).
        - ``extra``: ``(B, spec.matching_features)`` or ``None``.
        - output: ``(B, num_observables)`` logits.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3)
        >>> net = SyndromeNet(StabilizerLayout(c), ModelSpec(hidden=8, heads=2, readout=8))
        >>> net(torch.zeros(5, c.num_detectors), None).shape
        torch.Size([5, 1])
    """

    def __init__(self, layout: StabilizerLayout, spec: ModelSpec, num_observables: int = 1) -> None:
        super().__init__()
        if spec.hidden % spec.heads:
            raise DecoderError(f"model.hidden ({spec.hidden}) must be a multiple of model.heads ({spec.heads})")
        self.spec, self.num_observables = spec, num_observables
        T, S, H = layout.num_rounds, layout.num_stabilizers, spec.hidden
        self.T, self.S = T, S
        self.cell: Tensor
        self.valid: Tensor
        self.coords: Tensor
        self.disp: Tensor
        self.round_kind: Tensor
        self.register_buffer("cell", torch.from_numpy(layout.cell), persistent=False)
        self.register_buffer("valid", torch.from_numpy(layout.valid).float(), persistent=False)
        self.register_buffer("coords", torch.from_numpy(layout.coords), persistent=False)
        self.register_buffer("disp", torch.from_numpy(layout.displacement), persistent=False)
        kind = torch.full((T,), 1, dtype=torch.long)
        kind[0], kind[-1] = 0, 2
        self.register_buffer("round_kind", kind, persistent=False)
        self.pos = nn.Sequential(nn.Linear(2, H), nn.GELU(), nn.Linear(H, H))
        self.stab = nn.Parameter(torch.zeros(S, H))
        self.event = nn.Parameter(torch.randn(H) / math.sqrt(H))
        self.cell_valid = nn.Parameter(torch.zeros(H))
        self.kind_emb = nn.Embedding(3, H)
        nn.init.normal_(self.kind_emb.weight, std=0.02)
        self.blocks = nn.ModuleList(_Block(H, spec.heads, spec.mlp_ratio, layout.num_displacements)
                                    for _ in range(spec.layers))
        self.norm = nn.LayerNorm(H)
        self.read_stab = nn.Linear(H, 4)
        self.readout = nn.Sequential(nn.Linear(4 * S + spec.matching_features, spec.readout), nn.GELU(),
                                     nn.Linear(spec.readout, num_observables))
        if spec.matching_features:
            self.skip = nn.Parameter(torch.ones(num_observables))

    def forward(self, dets: Tensor, extra: Tensor | None = None) -> Tensor:
        B = dets.shape[0]
        grid = dets.new_zeros(B, self.T * self.S)
        grid[:, self.cell] = dets
        grid = grid.view(B, self.T, self.S, 1)
        base = self.pos(self.coords) + self.stab  # (S, H)
        static = base + self.valid.unsqueeze(-1) * self.cell_valid + self.kind_emb(self.round_kind).unsqueeze(1)
        h = dets.new_zeros(B, self.S, self.spec.hidden)
        for t in range(self.T):
            h = (h + grid[:, t] * self.event + static[t]) * (1 / math.sqrt(2))
            for blk in self.blocks:
                h = blk(h, self.disp)
        z = self.read_stab(self.norm(h)).reshape(B, -1)
        if self.spec.matching_features:
            if extra is None:
                raise DecoderError("this neural+matching model needs matching features (see matching_features())")
            z = torch.cat([z, extra[:, :1] / 10, extra[:, 1:]], dim=1)
            return self.readout(z) + self.skip * extra[:, :1]
        return self.readout(z)


def _norm(h: Tensor, eps: float) -> Tensor:
    """LayerNorm without its affine map over the last dim (two reductions; faster than torch's on 16-wide rows)."""
    c = h - h.mean(-1, keepdim=True)
    return c * torch.rsqrt(c.square().mean(-1, keepdim=True) + eps)


class FrozenSyndromeNet:
    """Inference-only :class:`SyndromeNet`: the same function, constants folded, fewer and cheaper ops.

    Built once from a trained net (its weights are copied: later changes to ``net`` are not
    seen). Call it like the net, under ``torch.inference_mode()`` or ``torch.no_grad()``.

    Args:
        net: the :class:`SyndromeNet`.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3)
        >>> net = SyndromeNet(StabilizerLayout(c), ModelSpec(hidden=8, heads=2, readout=8)).eval()
        >>> x = torch.bernoulli(torch.full((6, c.num_detectors), 0.2), generator=torch.Generator().manual_seed(0))
        >>> with torch.inference_mode():
        ...     bool((FrozenSyndromeNet(net)(x) - net(x)).abs().max() < 1e-5)
        True
    """

    def __init__(self, net: SyndromeNet) -> None:
        with torch.no_grad():
            T, S, H = net.T, net.S, net.spec.hidden
            self.T, self.S, self.H = T, S, H
            self.matching_features = net.spec.matching_features
            n_det = net.cell.numel()
            gather = torch.full((T * S,), n_det, dtype=torch.long)  # cells without a detector read a zero pad
            gather[net.cell] = torch.arange(n_det)
            self.gather = gather
            r2 = 1 / math.sqrt(2)
            base = net.pos(net.coords) + net.stab
            static = base + net.valid.unsqueeze(-1) * net.cell_valid + net.kind_emb(net.round_kind).unsqueeze(1)
            self.static = (static * r2).contiguous()
            self.event = (net.event * r2).clone()
            self.blocks: list[dict[str, Any]] = []
            for blk in net.blocks:
                assert isinstance(blk, _Block)
                heads = blk.heads
                hd = H // heads
                w = (blk.qkv.weight * blk.norm1.weight).clone()
                b = (blk.qkv.weight @ blk.norm1.bias + blk.qkv.bias).clone()
                w[:H] /= math.sqrt(hd)
                b[:H] /= math.sqrt(hd)
                lin1 = blk.mlp[0]
                lin2 = blk.mlp[2]
                assert isinstance(lin1, nn.Linear) and isinstance(lin2, nn.Linear)
                self.blocks.append({
                    "heads": heads, "hd": hd, "w_qkv": w, "b_qkv": b, "eps1": blk.norm1.eps,
                    "bias": blk.rel_bias[:, net.disp].clone(), "w_proj": blk.proj.weight.clone(),
                    "b_proj": blk.proj.bias.clone(), "w1": (lin1.weight * blk.norm2.weight).clone(),
                    "b1": (lin1.weight @ blk.norm2.bias + lin1.bias).clone(), "eps2": blk.norm2.eps,
                    "w2": lin2.weight.clone(), "b2": lin2.bias.clone()})
            self.w_read = (net.read_stab.weight * net.norm.weight).clone()
            self.b_read = (net.read_stab.weight @ net.norm.bias + net.read_stab.bias).clone()
            self.eps = net.norm.eps
            self.readout = [(m.weight.clone(), m.bias.clone()) for m in net.readout if isinstance(m, nn.Linear)]
            self.skip = net.skip.detach().clone() if net.spec.matching_features else None

    def __call__(self, dets: Tensor, extra: Tensor | None = None) -> Tensor:
        """Logits ``(B, num_observables)`` for float ``dets`` ``(B, num_detectors)`` (see :class:`SyndromeNet`)."""
        T, S, H = self.T, self.S, self.H
        B = dets.shape[0]
        grid = F.pad(dets, (0, 1))[:, self.gather].view(B, T, S, 1)
        r2 = 1 / math.sqrt(2)
        h: Tensor | None = None
        for t in range(T):
            u = torch.addcmul(self.static[t], grid[:, t], self.event)
            h = u if h is None else u.add_(h, alpha=r2)
            for p in self.blocks:
                heads, hd = p["heads"], p["hd"]
                qkv = F.linear(_norm(h, p["eps1"]), p["w_qkv"], p["b_qkv"]).view(B, S, 3, heads, hd)
                q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
                scores = torch.matmul(q, k.transpose(-1, -2)).add_(p["bias"]).softmax(-1)
                a = torch.matmul(scores, v).transpose(1, 2).reshape(B, S, H)
                h = h + F.linear(a, p["w_proj"], p["b_proj"])
                m = F.gelu(F.linear(_norm(h, p["eps2"]), p["w1"], p["b1"]))
                h = h + F.linear(m, p["w2"], p["b2"])
        assert h is not None
        z = F.linear(_norm(h, self.eps), self.w_read, self.b_read).reshape(B, -1)
        if self.matching_features:
            if extra is None:
                raise DecoderError("this neural+matching model needs matching features (see matching_features())")
            z = torch.cat([z, extra[:, :1] / 10, extra[:, 1:]], dim=1)
        (w1, b1), (w2, b2) = self.readout
        out = F.linear(F.gelu(F.linear(z, w1, b1)), w2, b2)
        if self.skip is not None:
            assert extra is not None
            out = out + self.skip * extra[:, :1]
        return out


def matching_features(circuit: stim.Circuit, dets: np.ndarray, cache: dict[str, Any] | None = None) -> np.ndarray:
    """PyMatching's view of each shot for ``neural+matching`` models, float32 ``(shots, 2)``.

    Column 0: plain matching's complementary-gap LLR ``W0 - W1`` (clipped to +-30); column 1:
    correlated matching's decision as +-1. Only one observable is supported.

    Args:
        circuit: the circuit (its DEM builds the matchers).
        dets: bool ``(shots, num_detectors)``.
        cache: optional dict reused across calls to keep the built matchers.

    Returns:
        float32 array ``(shots, 2)``.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
        ...                            after_clifford_depolarization=0.005)
        >>> feats = matching_features(c, c.compile_detector_sampler(seed=1).sample(6))
        >>> feats.shape, feats.dtype, sorted(set(feats[:, 1].tolist())) in ([-1.0], [1.0], [-1.0, 1.0])
        ((6, 2), dtype('float32'), True)
    """
    from qtandem.qec.matching import MatchingDecoder

    cache = {} if cache is None else cache
    if "plain" not in cache:
        cache["plain"] = MatchingDecoder(circuit)
        cache["corr"] = MatchingDecoder(cache["plain"].dem, correlated=True)
    llr = cache["plain"].log_likelihood_ratio(dets)[:, :1]
    corr = cache["corr"].decode(dets)[:, :1]
    return np.concatenate([np.clip(llr, -30, 30), np.where(corr, 1.0, -1.0)], axis=1).astype(np.float32)


class NeuralDecoder(Decoder):
    """A trained :class:`SyndromeNet` behind the :class:`~qtandem.qec.decoder.Decoder` interface.

    Args:
        circuit: the exact ``stim.Circuit`` the model was trained for (kept in ``.circuit``).
        spec: the model sizes.
        state: the model's ``state_dict`` (float tensors).
        info: metadata kept with the model (training cost, name, ...).
        batch_size: shots per forward pass; ``None`` (default) picks it per call: up to
            ``MAX_BATCH`` (256), and small enough that every worker thread gets a batch.
        threads: worker threads for inference; ``None`` (default): the CPUs this process may
            use (at most 8), each running its batches with one torch thread; ``0`` keeps
            torch's own intra-op setting (slow when other jobs share the cores). torch's thread
            count is restored after every call.

    Raises:
        DecoderError: the circuit has no usable detector coordinates, or ``state`` does not fit.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
        ...                            after_clifford_depolarization=0.005)
        >>> dec = NeuralDecoder.untrained(c, ModelSpec(hidden=8, heads=2, readout=8), seed=0)
        >>> dets = c.compile_detector_sampler(seed=1).sample(4)
        >>> dec.decode(dets).shape, dec.num_detectors
        ((4, 1), 24)
    """

    def __init__(self, circuit: stim.Circuit, spec: ModelSpec, state: dict[str, Tensor], *,
                 info: dict[str, Any] | None = None, batch_size: int | None = None,
                 threads: int | None = None) -> None:
        super().__init__(circuit)
        self.spec, self.info = spec, dict(info or {})
        self.name = str(self.info.get("name", spec.kind))
        if batch_size is not None and batch_size < 1:
            raise DecoderError(f"batch_size must be >= 1 (or None: automatic), got {batch_size}")
        if threads is not None and threads < 0:
            raise DecoderError(f"threads must be >= 0 (or None: automatic), got {threads}")
        self.batch_size, self.threads = batch_size, threads
        self._state = {k: v.detach().float().clone() for k, v in state.items()}
        self._model: SyndromeNet | None = None
        self._frozen: FrozenSyndromeNet | None = None
        self._caches: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        _ = self.model  # validate now

    @classmethod
    def untrained(cls, circuit: stim.Circuit, spec: ModelSpec | None = None, *, seed: int = 0) -> NeuralDecoder:
        """A randomly initialised decoder (for tests and as a training start)."""
        spec = spec or ModelSpec()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = SyndromeNet(StabilizerLayout(circuit), spec, circuit.num_observables)
        return cls(circuit, spec, net.state_dict())

    @property
    def model(self) -> SyndromeNet:
        """The torch module (built lazily, e.g. after unpickling)."""
        if self._model is None:
            assert self.circuit is not None
            net = SyndromeNet(StabilizerLayout(self.circuit), self.spec, self.num_observables)
            try:
                net.load_state_dict(self._state)
            except RuntimeError as err:
                raise DecoderError(f"weights do not fit the model {self.spec}: {err}") from None
            self._model = net.eval()
        return self._model

    @property
    def frozen(self) -> FrozenSyndromeNet:
        """The inference form of :attr:`model` (:class:`FrozenSyndromeNet`), built on first use."""
        if self._frozen is None:
            self._frozen = FrozenSyndromeNet(self.model)
        return self._frozen

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_model"], state["_frozen"], state["_caches"] = None, None, []
        del state["_lock"]
        state["circuit"] = str(self.circuit)
        state["dem"] = str(self.dem)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["circuit"] = stim.Circuit(state["circuit"])
        state["dem"] = stim.DetectorErrorModel(state["dem"])
        state["_lock"] = threading.Lock()
        self.__dict__.update(state)

    def with_dem(self, dem: stim.DetectorErrorModel) -> Decoder:
        """``self`` for its own DEM (compared approximately, as sinter may round probabilities)."""
        if dem == self.dem or dem.approx_equals(self.dem, atol=1e-9):
            return self
        return super().with_dem(dem)

    def _chunk_logits(self, chunk: np.ndarray) -> np.ndarray:
        assert self.circuit is not None
        extra = None
        if self.spec.matching_features:
            with self._lock:  # one matcher set per concurrent worker (PyMatching objects are not shared)
                cache = self._caches.pop() if self._caches else {}
            try:
                extra = torch.from_numpy(matching_features(self.circuit, chunk, cache))
            finally:
                with self._lock:
                    self._caches.append(cache)
        with torch.inference_mode():
            return self.frozen(torch.from_numpy(chunk.astype(np.float32)), extra).double().numpy()

    @property
    def workers(self) -> int:
        """Worker threads :meth:`logits` uses (``threads``, or the usable CPUs up to 8; 0: torch's own)."""
        if self.threads is not None:
            return self.threads
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        return max(1, min(8, cpus))

    def batch_for(self, shots: int) -> int:
        """Shots per forward pass for a call on ``shots`` shots (``batch_size``, or automatic).

        Examples:
            >>> import stim
            >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2)
            >>> dec = NeuralDecoder.untrained(c, ModelSpec(hidden=8, heads=2, readout=8), seed=0)
            >>> dec.threads = 2
            >>> dec.batch_for(100_000), dec.batch_for(300), dec.batch_for(10)
            (256, 150, 128)
        """
        if self.batch_size is not None:
            return self.batch_size
        return max(128, min(MAX_BATCH, -(-shots // max(1, self.workers))))

    def prepare(self) -> NeuralDecoder:
        """Build the network, one set of matchers per worker (``neural+matching``) and run it once.

        Returns:
            ``self``.
        """
        assert self.circuit is not None
        zero = np.zeros((1, self.num_detectors), dtype=bool)
        _ = self.frozen
        if self.spec.matching_features:
            with self._lock:
                while len(self._caches) < max(1, self.workers):
                    cache: dict[str, Any] = {}
                    matching_features(self.circuit, zero, cache)
                    self._caches.append(cache)
        self.logits(zero)
        return self

    def logits(self, dets: np.ndarray) -> np.ndarray:
        """Raw logits ``(shots, num_observables)`` for validated bool ``dets``.

        With two or more workers (:attr:`workers`) the batches run in that many Python threads,
        each with one torch thread (torch and PyMatching release the GIL), which scales better
        than torch's intra-op threads on these small tensors and does not collapse when other
        jobs share the cores. torch's thread setting is restored afterwards.
        """
        size = self.batch_for(dets.shape[0])
        chunks = [dets[i:i + size] for i in range(0, dets.shape[0], size)]
        if not chunks:
            return np.zeros((0, self.num_observables))
        before = torch.get_num_threads()
        workers = self.workers
        _ = self.frozen  # built once, before the worker threads start
        try:
            if workers:
                torch.set_num_threads(1)
            if workers >= 2 and len(chunks) > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(workers, len(chunks))) as pool:
                    parts = list(pool.map(self._chunk_logits, chunks))
            else:
                parts = [self._chunk_logits(c) for c in chunks]
            return np.concatenate(parts, axis=0)
        finally:
            torch.set_num_threads(before)

    def _decode_soft(self, dets: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.logits(dets), -700, 700)))

    def _decode(self, dets: np.ndarray) -> np.ndarray:
        return self.logits(dets) > 0

    def __repr__(self) -> str:
        return f"NeuralDecoder(name={self.name!r}, num_detectors={self.num_detectors}, spec={self.spec})"


def save_decoder(path: str | Path, decoder: NeuralDecoder) -> None:
    """Write ``decoder`` (weights, spec, circuit, info) to one safetensors file, atomically.

    Examples:
        >>> import stim, tempfile, numpy as np
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
        ...                            after_clifford_depolarization=0.005)
        >>> dec = NeuralDecoder.untrained(c, ModelSpec(hidden=8, heads=2, readout=8))
        >>> path = tempfile.mkdtemp() + "/m.safetensors"
        >>> save_decoder(path, dec)
        >>> back = load_decoder(path)
        >>> d = c.compile_detector_sampler(seed=0).sample(4)
        >>> bool(np.allclose(back.decode_soft(d), dec.decode_soft(d))), back.circuit == c
        (True, True)
    """
    from safetensors.torch import save

    meta = {"format": MODEL_FORMAT, "spec": json.dumps(dataclasses.asdict(decoder.spec)),
            "circuit": str(decoder.circuit), "info": json.dumps(decoder.info)}
    tensors = {k: v.contiguous() for k, v in decoder.model.state_dict().items()}
    atomic_write_bytes(path, save(tensors, metadata=meta))


def load_decoder(path: str | Path, **kwargs: Any) -> NeuralDecoder:
    """Read a decoder written by :func:`save_decoder` (see its example).

    Args:
        path: the ``.safetensors`` file.
        **kwargs: passed to :class:`NeuralDecoder` (``batch_size``, ``threads``).

    Raises:
        CheckpointError: not a qtandem neural decoder file.

    Examples:
        >>> import stim, tempfile
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2,
        ...                            after_clifford_depolarization=0.01)
        >>> path = tempfile.mkdtemp() + "/m.safetensors"
        >>> save_decoder(path, NeuralDecoder.untrained(c, ModelSpec(hidden=8, heads=2, readout=8), seed=0))
        >>> load_decoder(path, batch_size=64).circuit == c
        True
    """
    tensors, meta = read_safetensors(path)
    if meta.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{path}: not a qtandem neural decoder (format {meta.get('format')!r}, "
                              f"expected {MODEL_FORMAT!r})")
    spec = ModelSpec(**json.loads(meta["spec"]))
    info = json.loads(meta.get("info", "{}"))
    return NeuralDecoder(stim.Circuit(meta["circuit"]), spec, tensors, info=info, **kwargs)
