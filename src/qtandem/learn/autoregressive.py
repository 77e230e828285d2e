"""A small autoregressive model over ``n`` categorical tokens: the shared core of the learned state models.

``p(t) = prod_i p(t_i | t_0 ... t_{i-1})`` with each conditional a softmax over an alphabet of
``k`` symbols (2 for qubit bits, 4 for tetrahedral POVM outcomes). Two backbones read the
prefix: a causal transformer (``kind="transformer"``, pre-norm, learned positions), a GRU
(``kind="rnn"``) or a masked MLP (``kind="made"``, Germain et al. 2015: ``layers`` hidden layers of
``hidden`` units whose connections are masked by degree, so one matrix product per layer replaces
``n`` sequential steps; the cheapest backbone when a whole ``2**n`` state must be evaluated).
The transformer and GRU see a start token and ``t_0 ... t_{n-2}``; in all three the hidden state at
step ``i`` depends on the tokens before ``i`` only, and a head on it gives the conditional of ``t_i``.

One pass (:meth:`AutoregressiveModel.forward`) returns the sequence log-probabilities, the
per-step conditional log-probabilities and the per-step hidden features. Models that need more
than ``p`` (the phase of a wave function) put their own head on the features: a head output at
step ``i`` indexed by ``t_i`` depends on ``t_0 ... t_i``, exactly the autoregressive structure.

Examples:
    >>> import torch
    >>> model = AutoregressiveModel(4, 2, kind="rnn", seed=0)
    >>> tokens = model.sample(5, seed=1)
    >>> tokens.shape, tokens.dtype
    (torch.Size([5, 4]), torch.int64)
    >>> all_seqs = torch.tensor([[(i >> q) & 1 for q in range(4)] for i in range(16)])
    >>> round(float(model.log_prob(all_seqs).exp().sum().detach()), 6)     # a normalised distribution
    1.0
"""

from __future__ import annotations

from typing import NamedTuple, cast

import numpy as np
import torch
from torch import nn

from qtandem.errors import DataError, ParameterError
from qtandem.random import Seed, as_generator, derive_seed, seed_torch, torch_generator_from

__all__ = ["AutoregressiveModel", "AutoregressiveOutput"]

KINDS = ("transformer", "rnn", "made")


def torch_seed(seed: Seed, stream: int) -> int:
    """A 62-bit torch seed for ``stream`` of ``seed`` (an int, a NumPy generator, or None for fresh entropy).

    Examples:
        >>> torch_seed(3, 1) == torch_seed(3, 1), torch_seed(3, 1) == torch_seed(3, 2)
        (True, False)
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        as_generator(int(seed))  # refuses a negative seed with SeedError
        return derive_seed(int(seed), stream, bits=62)
    return derive_seed(int(as_generator(seed).integers(1 << 62)), stream, bits=62)


class AutoregressiveOutput(NamedTuple):
    """What one pass of :class:`AutoregressiveModel` returns.

    Attributes:
        log_prob: ``(B,)`` log-probability of each sequence.
        step_log_probs: ``(B, n, k)`` log-softmax conditionals: ``[b, i, c] = log p(t_i = c | t_<i)``.
        features: ``(B, n, d_model)`` hidden state at each step (a function of ``t_<i`` only).

    Examples:
        >>> import torch
        >>> out = AutoregressiveModel(3, 4, seed=0)(torch.zeros(2, 3, dtype=torch.long))
        >>> out.log_prob.shape, out.step_log_probs.shape, out.features.shape
        (torch.Size([2]), torch.Size([2, 3, 4]), torch.Size([2, 3, 32]))
    """

    log_prob: torch.Tensor
    step_log_probs: torch.Tensor
    features: torch.Tensor


class _Made(nn.Module):
    """Masked MLP: tokens ``(B, n)`` -> step features ``(B, n, d)``, step ``i`` a function of ``t_<i`` only.

    Hidden unit ``u`` has degree ``m_u`` in ``1..n-1`` and sees the tokens ``t_j`` with ``j < m_u``
    (through the units of degree ``<= m_u`` of the layer below); the features of step ``i`` are a
    linear map of the last layer's units of degree ``<= i``.
    """

    def __init__(self, n: int, alphabet: int, d_model: int, layers: int, hidden: int) -> None:
        super().__init__()
        self.n, self.alphabet, self.d_model = n, alphabet, d_model
        degree = 1 + torch.arange(hidden) % max(n - 1, 1)  # (hidden,)
        position = torch.arange(n).repeat_interleave(alphabet)  # input column -> token position
        self.inner = nn.ModuleList()
        masks = [(position[None, :] < degree[:, None])]
        self.inner.append(nn.Linear(n * alphabet, hidden))
        for _ in range(layers - 1):
            masks.append(degree[None, :] <= degree[:, None])
            self.inner.append(nn.Linear(hidden, hidden))
        step = torch.arange(n).repeat_interleave(d_model)
        masks.append(degree[None, :] <= step[:, None])
        self.out = nn.Linear(hidden, n * d_model)
        for i, mask in enumerate(masks):
            self.register_buffer(f"mask{i}", mask.to(torch.float32), persistent=False)
        with torch.no_grad():  # keep the masked fan-in scale of the default init
            for layer, mask in zip([*self.inner, self.out], masks, strict=True):
                fan = mask.sum(1, keepdim=True).clamp_min(1)
                layer.weight.mul_(torch.sqrt(mask.shape[1] / fan) * mask)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        linears = cast("list[nn.Linear]", list(self.inner))
        x = nn.functional.one_hot(tokens, self.alphabet).reshape(len(tokens), -1).to(linears[0].weight.dtype)
        for i, layer in enumerate(linears):
            mask: torch.Tensor = getattr(self, f"mask{i}")
            x = torch.relu(nn.functional.linear(x, layer.weight * mask.to(x.dtype), layer.bias))
        mask = getattr(self, f"mask{len(self.inner)}")
        out = nn.functional.linear(x, self.out.weight * mask.to(x.dtype), self.out.bias)
        return out.reshape(len(tokens), self.n, self.d_model)


class AutoregressiveModel(nn.Module):
    """Autoregressive distribution over sequences of ``n_tokens`` symbols from ``range(alphabet)``.

    Args:
        n_tokens: sequence length ``n`` (qubits).
        alphabet: number of symbols ``k`` per position (at least 2).
        kind: ``"transformer"`` (causal self-attention), ``"rnn"`` (GRU) or ``"made"`` (masked MLP).
        d_model: width of the hidden features (per step).
        layers: transformer blocks, GRU layers or MADE hidden layers.
        heads: attention heads (transformer; must divide ``d_model``).
        seed: seed of the initial weights (an int for a reproducible model; the global torch stream
            is left untouched).
        dtype: parameter dtype (default ``torch.float32``).
        hidden: MADE hidden units per layer (default ``4 * d_model``; other kinds ignore it).

    Raises:
        ParameterError: a bad size, kind, or ``heads`` that does not divide ``d_model``.

    Shape:
        tokens: ``(B, n)`` integers in ``[0, k)``.

    Examples:
        >>> import torch
        >>> m = AutoregressiveModel(5, 2, kind="transformer", d_model=16, heads=2, seed=3)
        >>> x = m.sample(4, seed=0)
        >>> bool(torch.allclose(m.log_prob(x), m(x).step_log_probs.gather(2, x[..., None]).sum((1, 2))))
        True
        >>> AutoregressiveModel(5, 2, kind="lstm")
        Traceback (most recent call last):
        ...
        qtandem.errors.ParameterError: AutoregressiveModel: kind must be 'transformer', 'rnn' or 'made', got 'lstm'
        >>> made = AutoregressiveModel(5, 2, kind="made", d_model=4, hidden=16, seed=0)
        >>> t = made.sample(3, seed=0)
        >>> u = t.clone(); u[:, 3:] = 1 - u[:, 3:]                       # change the tokens from 3 on
        >>> bool(torch.allclose(made(t).features[:, :4], made(u).features[:, :4]))   # steps <= 3 do not see them
        True
    """

    def __init__(self, n_tokens: int, alphabet: int = 2, *, kind: str = "transformer", d_model: int = 32,
                 layers: int = 2, heads: int = 4, seed: Seed = 0, dtype: torch.dtype | None = None,
                 hidden: int | None = None) -> None:
        super().__init__()
        where = "AutoregressiveModel"
        hidden = 4 * d_model if hidden is None else hidden
        for name, value, low in (("n_tokens", n_tokens, 1), ("alphabet", alphabet, 2), ("d_model", d_model, 1),
                                 ("layers", layers, 1), ("heads", heads, 1), ("hidden", hidden, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
        if kind not in KINDS:
            raise ParameterError(f"{where}: kind must be 'transformer', 'rnn' or 'made', got {kind!r}")
        if kind == "transformer" and d_model % heads:
            raise ParameterError(f"{where}: heads ({heads}) must divide d_model ({d_model})")
        self.n_tokens, self.alphabet, self.kind = n_tokens, alphabet, kind
        self.d_model, self.layers, self.heads, self.hidden = d_model, layers, heads, hidden
        self.seed = seed
        with torch.random.fork_rng(devices=[]):
            seed_torch(torch_seed(seed, 17))
            self.embed = nn.Embedding(alphabet + 1, d_model)  # symbol ``alphabet`` is the start token
            if kind == "transformer":
                self.position = nn.Parameter(torch.randn(n_tokens, d_model))  # as large as the token embeddings
                block = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model, dropout=0.0,
                                                   batch_first=True, norm_first=True)
                self.backbone: nn.Module = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
                self.norm = nn.LayerNorm(d_model)
            elif kind == "rnn":
                self.backbone = nn.GRU(d_model, d_model, layers, batch_first=True)
            else:
                self.backbone = _Made(n_tokens, alphabet, d_model, layers, hidden)
            self.head = nn.Linear(d_model, alphabet)
        if dtype is not None:
            self.to(dtype)
        mask = torch.triu(torch.full((n_tokens, n_tokens), float("-inf")), diagonal=1)
        self.register_buffer("causal_mask", mask, persistent=False)

    def extra_repr(self) -> str:
        return (f"n_tokens={self.n_tokens}, alphabet={self.alphabet}, kind={self.kind!r}, d_model={self.d_model}, "
                f"layers={self.layers}" + (f", hidden={self.hidden}" if self.kind == "made" else ""))

    def _check(self, tokens: torch.Tensor) -> torch.Tensor:
        if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2 or tokens.shape[1] != self.n_tokens:
            shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
            raise DataError(f"AutoregressiveModel: tokens must be a (batch, {self.n_tokens}) integer tensor, "
                            f"got {shape}")
        if tokens.dtype.is_floating_point or tokens.dtype.is_complex:
            raise DataError(f"AutoregressiveModel: tokens must be integers, got {tokens.dtype}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.alphabet):
            raise DataError(f"AutoregressiveModel: tokens must lie in [0, {self.alphabet}), "
                            f"got values {int(tokens.min())}..{int(tokens.max())}")
        return tokens.long()

    def _hidden(self, prefix: torch.Tensor) -> torch.Tensor:
        """Features ``(B, L, d)`` of the inputs ``[start, t_0 ... t_{L-2}]`` (``L <= n``)."""
        if self.kind == "made":
            length = prefix.shape[1]
            tokens = torch.zeros((prefix.shape[0], self.n_tokens), dtype=torch.long, device=prefix.device)
            tokens[:, :length - 1] = prefix[:, 1:]  # steps < length see only these
            return self.backbone(tokens)[:, :length]
        x = self.embed(prefix)
        length = prefix.shape[1]
        if self.kind == "transformer":
            x = x + self.position[:length]
            mask: torch.Tensor = self.causal_mask  # type: ignore[assignment]
            return self.norm(self.backbone(x, mask=mask[:length, :length], is_causal=True))
        out, _ = self.backbone(x)
        return out

    def _inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        start = torch.full((tokens.shape[0], 1), self.alphabet, dtype=torch.long, device=tokens.device)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    def forward(self, tokens: torch.Tensor) -> AutoregressiveOutput:
        """Log-probabilities, per-step conditionals and features of ``tokens`` in one pass.

        Raises:
            DataError: tokens of the wrong shape, dtype or range.

        Examples:
            >>> import torch
            >>> m = AutoregressiveModel(2, 2, kind="rnn", seed=0)
            >>> out = m(torch.tensor([[0, 1], [1, 1]]))
            >>> out.step_log_probs.exp().sum(-1).allclose(torch.ones(2, 2))
            True
        """
        tokens = self._check(tokens)
        features = self.backbone(tokens) if self.kind == "made" else self._hidden(self._inputs(tokens))
        steps = torch.log_softmax(self.head(features), dim=-1)
        log_prob = steps.gather(2, tokens[..., None]).squeeze(2).sum(1)
        return AutoregressiveOutput(log_prob, steps, features)

    def log_prob(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B,)`` log-probability of each sequence (differentiable).

        Examples:
            >>> import torch
            >>> m = AutoregressiveModel(3, 2, seed=0)
            >>> m.log_prob(torch.tensor([[0, 1, 1]])).shape
            torch.Size([1])
        """
        return self.forward(tokens).log_prob

    @torch.no_grad()
    def sample(self, count: int, *, seed: Seed = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """``count`` sequences drawn autoregressively, all in one batch (no gradient).

        Args:
            count: number of sequences.
            seed: seed of the draw (ignored when ``generator`` is given).
            generator: a ``torch.Generator`` to draw from (advanced by the call).

        Returns:
            ``(count, n)`` int64 tokens.

        Examples:
            >>> m = AutoregressiveModel(3, 4, kind="rnn", seed=0)
            >>> bool((m.sample(7, seed=2) == m.sample(7, seed=2)).all())
            True
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ParameterError(f"sample(): count must be a non-negative integer, got {count!r}")
        gen = generator if generator is not None else torch_generator_from(torch_seed(seed, 29))
        device = self.head.weight.device
        out = torch.empty((count, self.n_tokens), dtype=torch.long, device=device)
        inputs = torch.full((count, 1), self.alphabet, dtype=torch.long, device=device)
        state = None
        for i in range(self.n_tokens):
            if self.kind in ("transformer", "made"):
                h = self._hidden(inputs)[:, -1]
            else:
                h, state = self.backbone(self.embed(inputs[:, -1:]), state)
                h = h[:, -1]
            probs = torch.softmax(self.head(h).double(), dim=-1)
            out[:, i] = torch.multinomial(probs, 1, generator=gen).squeeze(1) if count else out[:, i]
            inputs = torch.cat([inputs, out[:, i:i + 1]], dim=1)
        return out
