"""Recurrent decoder over rounds with soft readout and leakage inputs, batch and streaming (issue 22).

AlphaQubit's architecture class (Bausch et al., Nature 635, 834 (2024)) at laptop scale:

* the detectors sit on the (round, stabilizer) grid of :class:`~qtandem.qec.neural.StabilizerLayout`;
* every round ``t`` each stabilizer gets an input vector: its detection event and, when the
  model has soft inputs (``RecurrentSpec.soft_inputs``), the two channels of
  :func:`~qtandem.qec.soft.detector_soft` (posterior probability that a measurement it reads
  was misread, and a leakage flag). The input is embedded (a linear map) and added to a static
  embedding of the stabilizer (position MLP, learned vector, cell validity, round kind);
* the per-stabilizer state ``h`` (``(stabilizers, hidden)``) is updated by a block that mixes
  stabilizers over the lattice (``mixer``): ``"attention"`` (self-attention with a learned bias
  per relative displacement, the block of :class:`~qtandem.qec.neural.SyndromeNet`), ``"conv"``
  (a lattice convolution: one weight matrix per short relative displacement), or ``"none"`` (a
  per-stabilizer MLP only, the ablation without spatial mixing). With ``gated`` the new state is
  ``h + z * (c - h)``, ``z = sigmoid(W [h, u])`` (a GRU-style update gate over the mixed
  candidate ``c``); without, ``h = block((h + u) / sqrt(2))`` as in SyndromeNet;
* after the last round a readout MLP over all stabilizer states gives one logit per observable.
* optionally (``RecurrentSpec.matching_features = 2``, a *matching-initialized* model, named
  ``recurrent+matching`` and reported apart from pure recurrent ones) the readout also reads two
  matching features of the shot (:meth:`RecurrentDecoder.matching_features`): plain matching's
  complementary-gap LLR and a reference matcher's decision as +-1 -- soft-aware matching
  (:class:`~qtandem.qec.soft_matching.SoftMatchingDecoder`) when the model reads soft inputs and
  the shot's soft readout is known, else correlated matching -- and the logit starts as
  ``2 * decision`` through a learned skip: the untrained model decides as that matcher does and
  training learns when it is wrong. Streaming then needs the features at :meth:`RecurrentStream.finish`
  (matching runs once all rounds are in).

The recurrence is one function, :meth:`RecurrentNet.step`, so streaming is exact:
:meth:`RecurrentDecoder.stream` returns a :class:`RecurrentStream` whose ``push(events)`` takes one
round's detection events (the detectors of :attr:`RecurrentDecoder.round_detectors` ``[t]``, in
that order) as they arrive and whose ``finish()`` gives the same logits as batch
:meth:`RecurrentDecoder.logits` (tested to 1e-6).

:class:`RecurrentDecoder` is a :class:`~qtandem.qec.decoder.Decoder` (``decode``/``decode_soft`` on
hard events, a ``sinter.Decoder`` that pickles); :meth:`RecurrentDecoder.decode_shots` decodes a
:class:`~qtandem.qec.soft.SoftShots` with its soft channels. :func:`save_recurrent` /
:func:`load_recurrent` keep it in one safetensors file. Training: :mod:`qtandem.qec.recurrent_train`.

Examples:
    >>> import stim
    >>> from qtandem.qec.recurrent import RecurrentDecoder, RecurrentSpec
    >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
    ...                            after_clifford_depolarization=0.005)
    >>> dec = RecurrentDecoder.untrained(c, RecurrentSpec(hidden=16, heads=2, readout=16), seed=0)
    >>> dets = c.compile_detector_sampler(seed=1).sample(5)
    >>> s = dec.stream(shots=5)
    >>> for idx in dec.round_detectors:
    ...     s.push(dets[:, idx])
    >>> pred, prob = s.finish()
    >>> bool(np.abs(s.logits - dec.logits(dets)).max() < 1e-6), pred.shape
    (True, (5, 1))
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import stim
import torch
from torch import Tensor, nn

from qtandem.errors import CheckpointError, DecoderError
from qtandem.io import atomic_write_bytes, read_safetensors
from qtandem.qec.decoder import Decoder
from qtandem.qec.neural import MAX_BATCH, StabilizerLayout, _Block

if TYPE_CHECKING:
    from qtandem.qec.soft import SoftShots

__all__ = ["RECURRENT_FORMAT", "RecurrentDecoder", "RecurrentNet", "RecurrentSpec", "RecurrentStream",
           "load_recurrent", "recurrent_matching_features", "save_recurrent"]

RECURRENT_FORMAT = "qtandem.qec.recurrent/1"
"""``format`` metadata value of a saved recurrent decoder."""

MIXERS = ("attention", "conv", "none")


@dataclass(frozen=True)
class RecurrentSpec:
    """Sizes and pieces of a :class:`RecurrentNet` (the ``[model]`` section of its training config).

    Attributes:
        hidden: state width per stabilizer.
        layers: mixing blocks applied every round.
        heads: attention heads (divides ``hidden``; unused by the other mixers).
        mixer: ``"attention"``, ``"conv"`` (lattice convolution) or ``"none"`` (no spatial mixing).
        gated: GRU-style gated state update (else the plain residual update of SyndromeNet).
        soft_inputs: take the soft-readout and leakage channels (3 inputs per cell, else 1).
        mlp_ratio: MLP width as a multiple of ``hidden``.
        readout: width of the readout MLP.
        matching_features: 0 (pure recurrent) or 2 (``recurrent+matching``: see the module docstring).
        unit_inputs: initialise every input channel's embedding as ``U(-1, 1)`` (the scale a
            one-channel model's event embedding gets) and feed the flip probability doubled (to
            ``[0, 1]``); ``False`` (the first ablation's models) keeps torch's default ``Linear``
            init, under which the event embedding of a 3-channel model starts sqrt(3) smaller.

    Examples:
        >>> spec = RecurrentSpec(hidden=16, heads=2, mixer="conv")
        >>> spec.channels, spec.gated
        (3, True)
    """

    hidden: int = 32
    layers: int = 1
    heads: int = 4
    mixer: str = "attention"
    gated: bool = True
    soft_inputs: bool = True
    mlp_ratio: int = 2
    readout: int = 64
    unit_inputs: bool = False
    matching_features: int = 0

    def __post_init__(self) -> None:
        if self.matching_features not in (0, 2):
            raise DecoderError(f"matching_features must be 0 or 2, got {self.matching_features}")
        if self.mixer not in MIXERS:
            raise DecoderError(f"mixer must be one of {', '.join(MIXERS)}, got {self.mixer!r}")
        if self.mixer == "attention" and self.hidden % self.heads:
            raise DecoderError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")

    @property
    def kind(self) -> str:
        """``"recurrent"`` or ``"recurrent+matching"``."""
        return "recurrent+matching" if self.matching_features else "recurrent"

    @property
    def channels(self) -> int:
        """Inputs per (round, stabilizer) cell: event, and flip probability + leak flag when soft."""
        return 3 if self.soft_inputs else 1


class _ConvBlock(nn.Module):
    """Lattice convolution: ``out_i = sum_d sum_{j: disp(i,j) = d} h_j W_d`` over short displacements ``d``."""

    def __init__(self, hidden: int, mlp_ratio: int, adjacency: Tensor) -> None:
        super().__init__()
        self.adj: Tensor
        self.register_buffer("adj", adjacency, persistent=False)  # (K, S, S)
        k = adjacency.shape[0]
        self.norm1 = nn.LayerNorm(hidden)
        self.weight = nn.Parameter(torch.randn(k * hidden, hidden) / math.sqrt(k * hidden))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.norm2 = nn.LayerNorm(hidden)
        width = mlp_ratio * hidden
        self.mlp = nn.Sequential(nn.Linear(hidden, width), nn.GELU(), nn.Linear(width, hidden))

    def forward(self, h: Tensor, disp: Tensor) -> Tensor:
        B, S = h.shape[:2]
        x = self.norm1(h)
        m = torch.einsum("ksj,bjh->bskh", self.adj, x).reshape(B, S, -1)
        h = h + m @ self.weight + self.bias
        return h + self.mlp(self.norm2(h))


class _MlpBlock(nn.Module):
    """Per-stabilizer MLP (the ``mixer = "none"`` ablation)."""

    def __init__(self, hidden: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        width = mlp_ratio * hidden
        self.mlp = nn.Sequential(nn.Linear(hidden, width), nn.GELU(), nn.Linear(width, hidden))

    def forward(self, h: Tensor, disp: Tensor) -> Tensor:
        return h + self.mlp(self.norm(h))


def _conv_adjacency(layout: StabilizerLayout) -> Tensor:
    """One-hot ``(K, S, S)`` of the short relative displacements (up to twice the nearest distance, self included)."""
    pos = layout.coords.astype(np.float64)
    d = pos[:, None, :] - pos[None, :, :]
    dist = np.hypot(d[..., 0], d[..., 1])
    nearest = dist[dist > 1e-9].min() if (dist > 1e-9).any() else 1.0
    near = dist <= 2 * nearest + 1e-6
    kinds = sorted({int(k) for k in layout.displacement[near].tolist()})
    adj = np.stack([(layout.displacement == k) & near for k in kinds]).astype(np.float32)
    return torch.from_numpy(adj)


class RecurrentNet(nn.Module):
    """The recurrent network (see the module docstring); :meth:`step` is one round.

    Args:
        layout: the :class:`~qtandem.qec.neural.StabilizerLayout` of the circuit.
        spec: sizes and pieces (:class:`RecurrentSpec`).
        num_observables: logits to produce.

    Shape:
        - ``x``: ``(B, rounds, stabilizers, spec.channels)`` float (:meth:`grid` builds it).
        - ``extra``: ``(B, spec.matching_features)`` or ``None``.
        - output: ``(B, num_observables)`` logits.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3)
        >>> net = RecurrentNet(StabilizerLayout(c), RecurrentSpec(hidden=8, heads=2, readout=8))
        >>> net(net.grid(torch.zeros(5, c.num_detectors))).shape
        torch.Size([5, 1])
    """

    def __init__(self, layout: StabilizerLayout, spec: RecurrentSpec, num_observables: int = 1) -> None:
        super().__init__()
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
        self.inp = nn.Linear(spec.channels, H, bias=False)
        self.in_scale: Tensor
        scale = torch.ones(spec.channels)
        if spec.unit_inputs:
            nn.init.uniform_(self.inp.weight, -1.0, 1.0)
            if spec.soft_inputs:
                scale[1] = 2.0
        self.register_buffer("in_scale", scale, persistent=False)
        self.cell_valid = nn.Parameter(torch.zeros(H))
        self.kind_emb = nn.Embedding(3, H)
        nn.init.normal_(self.kind_emb.weight, std=0.02)
        blocks: list[nn.Module] = []
        for _ in range(spec.layers):
            if spec.mixer == "attention":
                blocks.append(_Block(H, spec.heads, spec.mlp_ratio, layout.num_displacements))
            elif spec.mixer == "conv":
                blocks.append(_ConvBlock(H, spec.mlp_ratio, _conv_adjacency(layout)))
            else:
                blocks.append(_MlpBlock(H, spec.mlp_ratio))
        self.blocks = nn.ModuleList(blocks)
        if spec.gated:
            self.gate = nn.Linear(2 * H, H)
            nn.init.constant_(self.gate.bias, -1.0)
        self.norm = nn.LayerNorm(H)
        self.read_stab = nn.Linear(H, 4)
        self.readout = nn.Sequential(nn.Linear(4 * S + spec.matching_features, spec.readout), nn.GELU(),
                                     nn.Linear(spec.readout, num_observables))
        if spec.matching_features:  # logit = readout + skip . (llr, decision); starts at 2 * decision
            self.skip = nn.Parameter(torch.tensor([[0.0, 2.0]]).repeat(num_observables, 1))

    def grid(self, dets: Tensor, soft: Tensor | None = None) -> Tensor:
        """Inputs ``(B, rounds, stabilizers, channels)`` from ``dets`` ``(B, D)`` and optional ``soft`` ``(B, D, 2)``.
        """
        B = dets.shape[0]
        x = dets.new_zeros(B, self.T * self.S, self.spec.channels)
        x[:, self.cell, 0] = dets
        if self.spec.soft_inputs and soft is not None:
            x[:, self.cell, 1:] = soft
        return x.view(B, self.T, self.S, self.spec.channels)

    def initial_state(self, batch: int) -> Tensor:
        """The zero state ``(batch, stabilizers, hidden)``."""
        return self.stab.new_zeros(batch, self.S, self.spec.hidden)

    def static(self) -> Tensor:
        """``(rounds, stabilizers, hidden)``: the input-independent part of every round's embedding."""
        base = self.pos(self.coords) + self.stab
        return base + self.valid.unsqueeze(-1) * self.cell_valid + self.kind_emb(self.round_kind).unsqueeze(1)

    def step(self, h: Tensor, x_t: Tensor, t: int, static: Tensor | None = None) -> Tensor:
        """One round: the new state from state ``h`` and round ``t``'s inputs ``x_t`` ``(B, S, channels)``."""
        if not 0 <= t < self.T:
            raise DecoderError(f"round {t} is outside 0..{self.T - 1}")
        st = self.static() if static is None else static
        u = self.inp(x_t * self.in_scale) + st[t]
        c = (h + u) * (1 / math.sqrt(2))
        for blk in self.blocks:
            c = blk(c, self.disp)
        if not self.spec.gated:
            return c
        z = torch.sigmoid(self.gate(torch.cat([h, u], dim=-1)))
        return h + z * (c - h)

    def head(self, h: Tensor, extra: Tensor | None = None) -> Tensor:
        """Logits ``(B, num_observables)`` from the final state (and the matching features, if the model has them)."""
        z = self.read_stab(self.norm(h)).reshape(h.shape[0], -1)
        if not self.spec.matching_features:
            return self.readout(z)
        if extra is None:
            raise DecoderError("this recurrent+matching model needs matching features "
                               "(RecurrentDecoder.matching_features)")
        z = torch.cat([z, extra[:, :1] / 10, extra[:, 1:]], dim=1)
        return self.readout(z) + extra @ self.skip.T

    def forward(self, x: Tensor, extra: Tensor | None = None) -> Tensor:
        st = self.static()
        h = self.initial_state(x.shape[0])
        for t in range(self.T):
            h = self.step(h, x[:, t], t, st)
        return self.head(h, extra)


class RecurrentStream:
    """Round-by-round decoding state, from :meth:`RecurrentDecoder.stream` (see its example).

    Attributes:
        round: rounds pushed so far.
        logits: float64 ``(shots, num_observables)`` after :meth:`finish`.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2,
        ...                            after_clifford_depolarization=0.005)
        >>> dec = RecurrentDecoder.untrained(c, RecurrentSpec(hidden=8, heads=2, readout=8))
        >>> s = dec.stream()                           # one shot, fed round by round
        >>> for idx in dec.round_detectors:
        ...     s.push(np.zeros(len(idx), dtype=bool))
        >>> s.round, s.finish()[1].shape
        (3, (1, 1))
    """

    def __init__(self, decoder: RecurrentDecoder, shots: int) -> None:
        self.decoder, self.shots, self.round = decoder, int(shots), 0
        net = decoder.model
        with torch.inference_mode():
            self._static = net.static()
            self._h = net.initial_state(self.shots)
        self.logits: np.ndarray | None = None

    def push(self, events: Any, soft: Any = None) -> None:
        """Consume one round.

        Args:
            events: bool/0-1 ``(shots, n_t)`` (or ``(n_t,)`` for one shot): the detection events of
                the detectors ``decoder.round_detectors[round]``, in that order.
            soft: optional float ``(shots, n_t, 2)``: those detectors' :func:`~qtandem.qec.soft.detector_soft`
                channels (ignored by a model without soft inputs).

        Raises:
            DecoderError: all rounds were pushed already, or a shape does not fit.
        """
        dec, net = self.decoder, self.decoder.model
        if self.round >= net.T:
            raise DecoderError(f"all {net.T} rounds were pushed already; call finish()")
        idx = dec.round_detectors[self.round]
        ev = np.asarray(events, dtype=np.float32).reshape(-1, len(idx)) if len(idx) else np.zeros((self.shots, 0))
        if ev.shape[0] != self.shots:
            raise DecoderError(f"round {self.round}: expected events of shape ({self.shots}, {len(idx)}), "
                               f"got {np.asarray(events).shape}")
        x = np.zeros((self.shots, net.S, net.spec.channels), dtype=np.float32)
        slots = dec.round_slots[self.round]
        x[:, slots, 0] = ev
        if soft is not None and net.spec.soft_inputs:
            x[:, slots, 1:] = np.asarray(soft, dtype=np.float32).reshape(self.shots, len(idx), 2)
        with torch.inference_mode():
            self._h = net.step(self._h, torch.from_numpy(x), self.round, self._static)
        self.round += 1

    def finish(self, features: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(prediction, probability)``: bool and float64 ``(shots, num_observables)`` after the last round.

        Args:
            features: a ``recurrent+matching`` model's matching features ``(shots, 2)``
                (:meth:`RecurrentDecoder.matching_features` of the whole shots); ignored otherwise.

        Raises:
            DecoderError: rounds are missing, or a ``recurrent+matching`` model got no features.
        """
        net = self.decoder.model
        if self.round != net.T:
            raise DecoderError(f"finish() after {self.round} of {net.T} rounds; push the remaining rounds first")
        extra = None
        if net.spec.matching_features:
            if features is None:
                raise DecoderError("a recurrent+matching model needs finish(features=decoder.matching_features(...))")
            extra = torch.from_numpy(np.asarray(features, dtype=np.float32).reshape(self.shots, -1))
        with torch.inference_mode():
            self.logits = net.head(self._h, extra).double().numpy()
        prob = 1.0 / (1.0 + np.exp(-np.clip(self.logits, -700, 700)))
        return self.logits > 0, prob


class RecurrentDecoder(Decoder):
    """A :class:`RecurrentNet` behind the :class:`~qtandem.qec.decoder.Decoder` interface, with streaming.

    Args:
        circuit: the exact ``stim.Circuit`` the model decodes (kept in ``.circuit``; for soft
            readout, the circuit whose DEM includes the readout flips,
            :func:`~qtandem.qec.soft.with_readout_flips`).
        spec: the model (:class:`RecurrentSpec`).
        state: the model's ``state_dict``.
        info: metadata kept with the model (training cost, name, readout model...).
        batch_size: shots per forward pass (default: up to 256, small enough that every worker gets a batch).
        threads: worker threads for :meth:`logits` (default: usable CPUs up to 8, one torch thread each;
            0 keeps torch's own setting).

    Attributes:
        round_detectors: per round, the detector indices it holds (in detector order).
        round_slots: per round, the stabilizer index of each of those detectors.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
        ...                            after_clifford_depolarization=0.005)
        >>> dec = RecurrentDecoder.untrained(c, RecurrentSpec(hidden=8, heads=2, readout=8), seed=0)
        >>> dets = c.compile_detector_sampler(seed=1).sample(4)
        >>> dec.decode(dets).shape, [len(r) for r in dec.round_detectors]
        ((4, 1), [4, 8, 8, 4])
    """

    name = "recurrent"

    def __init__(self, circuit: stim.Circuit, spec: RecurrentSpec, state: dict[str, Tensor], *,
                 info: dict[str, Any] | None = None, batch_size: int | None = None,
                 threads: int | None = None) -> None:
        super().__init__(circuit)
        self.spec, self.info = spec, dict(info or {})
        self.name = str(self.info.get("name", "recurrent"))
        if batch_size is not None and batch_size < 1:
            raise DecoderError(f"batch_size must be >= 1 (or None: automatic), got {batch_size}")
        if threads is not None and threads < 0:
            raise DecoderError(f"threads must be >= 0 (or None: automatic), got {threads}")
        self.batch_size, self.threads = batch_size, threads
        self._state = {k: v.detach().float().clone() for k, v in state.items()}
        self._model: RecurrentNet | None = None
        self._matchers: dict[str, Any] = {}
        lay = StabilizerLayout(circuit)
        rounds = lay.cell // lay.num_stabilizers
        self.round_detectors = [np.flatnonzero(rounds == t) for t in range(lay.num_rounds)]
        self.round_slots = [lay.cell[idx] % lay.num_stabilizers for idx in self.round_detectors]
        _ = self.model

    @classmethod
    def untrained(cls, circuit: stim.Circuit, spec: RecurrentSpec | None = None, *, seed: int = 0,
                  **kwargs: Any) -> RecurrentDecoder:
        """A randomly initialised decoder (for tests, timing and as a training start)."""
        spec = spec or RecurrentSpec()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = RecurrentNet(StabilizerLayout(circuit), spec, circuit.num_observables)
        return cls(circuit, spec, net.state_dict(), **kwargs)

    @property
    def model(self) -> RecurrentNet:
        """The torch module (built lazily, e.g. after unpickling)."""
        if self._model is None:
            assert self.circuit is not None
            net = RecurrentNet(StabilizerLayout(self.circuit), self.spec, self.num_observables)
            try:
                net.load_state_dict(self._state)
            except RuntimeError as err:
                raise DecoderError(f"weights do not fit the model {self.spec}: {err}") from None
            self._model = net.eval()
        return self._model

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_model"], state["_matchers"] = None, {}
        state["circuit"] = str(self.circuit)
        state["dem"] = str(self.dem)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["circuit"] = stim.Circuit(state["circuit"])
        state["dem"] = stim.DetectorErrorModel(state["dem"])
        self.__dict__.update(state)

    def with_dem(self, dem: stim.DetectorErrorModel) -> Decoder:
        """``self`` for its own DEM (compared approximately, as sinter may round probabilities)."""
        if dem == self.dem or dem.approx_equals(self.dem, atol=1e-9):
            return self
        return super().with_dem(dem)

    @property
    def workers(self) -> int:
        """Worker threads :meth:`logits` uses."""
        if self.threads is not None:
            return self.threads
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        return max(1, min(8, cpus))

    def _chunk(self, part: tuple[np.ndarray, np.ndarray | None, np.ndarray | None]) -> np.ndarray:
        dets, soft, extra = part
        net = self.model
        with torch.inference_mode():
            s = None if soft is None else torch.from_numpy(np.ascontiguousarray(soft, dtype=np.float32))
            e = None if extra is None else torch.from_numpy(np.ascontiguousarray(extra, dtype=np.float32))
            return net(net.grid(torch.from_numpy(dets.astype(np.float32)), s), e).double().numpy()

    def matching_features(self, dets: Any, shots: SoftShots | None = None) -> np.ndarray:
        """A ``recurrent+matching`` model's matching features, float32 ``(shots, 2)``.

        Column 0: plain matching's complementary-gap LLR on the hard events (clipped to +-30);
        column 1: the reference matcher's decision as +-1: soft-aware matching on ``shots``' per-shot
        misread probabilities when the model reads soft inputs and ``shots`` is given (the
        readout model is the one in ``info["readout"]``), else correlated matching. Only one
        observable is supported.

        Args:
            dets: detection events ``(shots, num_detectors)``.
            shots: the :class:`~qtandem.qec.soft.SoftShots` the events came from, if known.

        Raises:
            DecoderError: bad ``dets``, or soft matching without a readout model in ``info``.

        Examples:
            >>> import stim
            >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2,
            ...                            after_clifford_depolarization=0.01)
            >>> spec = RecurrentSpec(hidden=8, heads=2, readout=8, soft_inputs=False, matching_features=2)
            >>> dec = RecurrentDecoder.untrained(c, spec, seed=0)
            >>> dets = c.compile_detector_sampler(seed=3).sample(200)
            >>> f = dec.matching_features(dets)
            >>> f.shape, bool(np.isin(f[:, 1], [-1.0, 1.0]).all())
            ((200, 2), True)
        """
        dets = self.check_dets(dets)
        assert self.circuit is not None
        readout = None
        if shots is not None and self.spec.soft_inputs:
            from qtandem.qec.soft import SoftReadout

            ro = self.info.get("readout") or {}
            if not ro.get("soft"):
                raise DecoderError("soft matching features need the readout model in info['readout'] "
                                   "(a model trained with [readout] soft = true)")
            readout = SoftReadout(separation=ro["separation"], t1_decay=ro["t1_decay"], leakage=ro["leakage"])
        return recurrent_matching_features(self.circuit, dets, shots if readout is not None else None, readout,
                                           cache=self._matchers)

    def logits(self, dets: Any, soft: Any = None, extra: Any = None) -> np.ndarray:
        """Raw logits ``(shots, num_observables)``.

        Args:
            dets: detection events ``(shots, num_detectors)``.
            soft: optional float ``(shots, num_detectors, 2)`` from :func:`~qtandem.qec.soft.detector_soft`
                (zeros when absent: every measurement taken as certain).
            extra: a ``recurrent+matching`` model's features ``(shots, 2)`` (default: computed from
                the hard events, :meth:`matching_features` without soft readout).

        Raises:
            DecoderError: shapes do not fit.
        """
        dets = self.check_dets(dets)
        if soft is not None:
            soft = np.asarray(soft, dtype=np.float32)
            if soft.shape != (dets.shape[0], self.num_detectors, 2):
                raise DecoderError(f"soft must have shape ({dets.shape[0]}, {self.num_detectors}, 2), got {soft.shape}")
        if self.spec.matching_features:
            extra = self.matching_features(dets) if extra is None else np.asarray(extra, dtype=np.float32)
            if extra.shape != (dets.shape[0], self.spec.matching_features):
                raise DecoderError(f"extra must have shape ({dets.shape[0]}, {self.spec.matching_features}), "
                                   f"got {extra.shape}")
        else:
            extra = None
        size = self.batch_size or max(128, min(MAX_BATCH, -(-len(dets) // max(1, self.workers))))
        parts = [(dets[i:i + size], None if soft is None else soft[i:i + size],
                  None if extra is None else extra[i:i + size]) for i in range(0, len(dets), size)]
        if not parts:
            return np.zeros((0, self.num_observables))
        before, workers = torch.get_num_threads(), self.workers
        _ = self.model
        try:
            if workers:
                torch.set_num_threads(1)
            if workers >= 2 and len(parts) > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(workers, len(parts))) as pool:
                    out = list(pool.map(self._chunk, parts))
            else:
                out = [self._chunk(p) for p in parts]
            return np.concatenate(out, axis=0)
        finally:
            torch.set_num_threads(before)

    def prepare(self) -> RecurrentDecoder:
        """Build the network and run it once. Returns ``self``."""
        self.logits(np.zeros((1, self.num_detectors), dtype=bool))
        return self

    def _decode_soft(self, dets: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.logits(dets), -700, 700)))

    def _decode(self, dets: np.ndarray) -> np.ndarray:
        return self.logits(dets) > 0

    def decode_shots(self, shots: SoftShots) -> tuple[np.ndarray, np.ndarray]:
        """Decode soft-readout shots with their soft and leakage channels.

        Args:
            shots: :class:`~qtandem.qec.soft.SoftShots` sampled from a circuit with this decoder's
                detectors (e.g. ``without_measurement_flips`` of it).

        Returns:
            ``(prediction, probability)``: bool and float64 ``(shots, num_observables)``.

        Examples:
            >>> from qtandem.qec import SoftReadout, sample
            >>> from qtandem.qec.codes import surface_code
            >>> from qtandem.qec.soft import with_readout_flips, without_measurement_flips
            >>> ro = SoftReadout(separation=5.0, leakage=0.01)
            >>> bare = without_measurement_flips(surface_code(3, 3, p=0.002))
            >>> dec = RecurrentDecoder.untrained(with_readout_flips(bare, ro), RecurrentSpec(hidden=8, heads=2))
            >>> pred, prob = dec.decode_shots(sample(bare, 6, seed=2, readout=ro))
            >>> pred.shape, bool(((prob > 0.5) == pred).all())
            ((6, 1), True)
        """
        from qtandem.qec.soft import detector_soft

        assert self.circuit is not None
        extra = self.matching_features(shots.dets, shots) if self.spec.matching_features else None
        logits = self.logits(shots.dets, detector_soft(self.circuit, shots) if self.spec.soft_inputs else None, extra)
        return logits > 0, 1.0 / (1.0 + np.exp(-np.clip(logits, -700, 700)))

    def stream(self, shots: int = 1) -> RecurrentStream:
        """A :class:`RecurrentStream` that decodes ``shots`` shots one round at a time (see the module example)."""
        return RecurrentStream(self, shots)

    def __repr__(self) -> str:
        return f"RecurrentDecoder(name={self.name!r}, num_detectors={self.num_detectors}, spec={self.spec})"


def recurrent_matching_features(circuit: stim.Circuit, dets: np.ndarray, shots: SoftShots | None = None,
                                readout: Any = None, *, cache: dict[str, Any] | None = None) -> np.ndarray:
    """Matching features of ``recurrent+matching`` models, float32 ``(shots, 2)``.

    Column 0: plain matching's complementary-gap LLR on the hard events ``dets`` (clipped to +-30);
    column 1: a reference decision as +-1: soft-aware matching
    (:class:`~qtandem.qec.soft_matching.SoftMatchingDecoder` on ``shots``' per-shot misread
    probabilities) when ``shots`` and ``readout`` are given, else correlated matching.

    Args:
        circuit: the decoder's circuit (readout flips included, :func:`~qtandem.qec.soft.with_readout_flips`).
        dets: bool ``(shots, num_detectors)``.
        shots: the :class:`~qtandem.qec.soft.SoftShots` of ``dets`` (soft-aware decision), or ``None``.
        readout: the :class:`~qtandem.qec.soft.SoftReadout` ``shots`` were read with.
        cache: optional dict that keeps the built matchers across calls.

    Examples:
        >>> import stim
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2,
        ...                            after_clifford_depolarization=0.01)
        >>> f = recurrent_matching_features(c, c.compile_detector_sampler(seed=3).sample(50))
        >>> f.shape, f.dtype, bool(np.isin(f[:, 1], [-1.0, 1.0]).all())
        ((50, 2), dtype('float32'), True)
    """
    from qtandem.qec.matching import MatchingDecoder

    m = {} if cache is None else cache
    if "plain" not in m:
        m["plain"] = MatchingDecoder(circuit)
        m["corr"] = MatchingDecoder(m["plain"].dem, correlated=True, circuit=circuit)
    llr = np.clip(m["plain"].log_likelihood_ratio(dets)[:, :1], -30, 30)
    if shots is not None and readout is not None:
        if "soft" not in m:
            from qtandem.qec.soft import without_measurement_flips
            from qtandem.qec.soft_matching import SoftMatchingDecoder

            m["soft"] = SoftMatchingDecoder(without_measurement_flips(circuit), readout)
        decision = m["soft"].decode_weighted(dets, shots.flip_probability)[:, :1]
    else:
        decision = m["corr"].decode(dets)[:, :1]
    return np.concatenate([llr, np.where(decision, 1.0, -1.0)], axis=1).astype(np.float32)


def save_recurrent(path: str | Path, decoder: RecurrentDecoder) -> None:
    """Write ``decoder`` (weights, spec, circuit, info) to one safetensors file, atomically.

    Examples:
        >>> import stim, tempfile
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2,
        ...                            after_clifford_depolarization=0.005)
        >>> dec = RecurrentDecoder.untrained(c, RecurrentSpec(hidden=8, heads=2, readout=8))
        >>> path = tempfile.mkdtemp() + "/r.safetensors"
        >>> save_recurrent(path, dec)
        >>> d = c.compile_detector_sampler(seed=0).sample(4)
        >>> bool(np.allclose(load_recurrent(path).logits(d), dec.logits(d)))
        True
    """
    from safetensors.torch import save

    meta = {"format": RECURRENT_FORMAT, "spec": json.dumps(dataclasses.asdict(decoder.spec)),
            "circuit": str(decoder.circuit), "info": json.dumps(decoder.info)}
    tensors = {k: v.contiguous() for k, v in decoder.model.state_dict().items()}
    atomic_write_bytes(path, save(tensors, metadata=meta))


def load_recurrent(path: str | Path, **kwargs: Any) -> RecurrentDecoder:
    """Read a decoder written by :func:`save_recurrent`.

    Args:
        path: the ``.safetensors`` file.
        **kwargs: passed to :class:`RecurrentDecoder` (``batch_size``, ``threads``).

    Raises:
        CheckpointError: not a qtandem recurrent decoder file.

    Examples:
        >>> import stim, tempfile
        >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=2,
        ...                            after_clifford_depolarization=0.01)
        >>> path = tempfile.mkdtemp() + "/r.safetensors"
        >>> save_recurrent(path, RecurrentDecoder.untrained(c, RecurrentSpec(hidden=8, heads=2, readout=8)))
        >>> load_recurrent(path, batch_size=64).spec.hidden
        8
    """
    tensors, meta = read_safetensors(path)
    if meta.get("format") != RECURRENT_FORMAT:
        raise CheckpointError(f"{path}: not a qtandem recurrent decoder (format {meta.get('format')!r}, "
                              f"expected {RECURRENT_FORMAT!r})")
    spec = RecurrentSpec(**json.loads(meta["spec"]))
    info = json.loads(meta.get("info", "{}"))
    return RecurrentDecoder(stim.Circuit(meta["circuit"]), spec, tensors, info=info, **kwargs)
