"""Classical parts of hybrid models: compression, denoising, read-out heads, and the model itself.

All are ``torch.nn.Module``s, so a :class:`HybridModel` (pre -> quantum -> post)
trains end to end with any torch optimizer. Fitted state (PCA's mean and
components) lives in buffers, so it is saved by ``state_dict``.

Examples:
    >>> import torch
    >>> from qtandem.hybrid import QuantumLayer
    >>> x = torch.randn(40, 10, generator=torch.Generator().manual_seed(0))
    >>> pca = PCA(4).fit(x)
    >>> model = HybridModel(pca, QuantumLayer(n_qubits=4, layers=1, seed=0), LinearHead(4, 3))
    >>> model(x).shape
    torch.Size([40, 3])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from qtandem.errors import ParameterError

__all__ = ["PCA", "AutoEncoder", "DenoisingAutoEncoder", "HybridModel", "LinearHead", "MLPHead"]

Tensor = torch.Tensor
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def _mlp(sizes: Sequence[int], activation: str = "relu", final_activation: bool = False) -> nn.Sequential:
    if activation not in _ACTIVATIONS:
        raise ParameterError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or final_activation:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class PCA(nn.Module):
    """Principal component analysis in torch: ``fit`` once, then a fixed linear projection.

    Args:
        n_components: output width.
        scale: multiply the projection so each component has unit variance on the
            training data (``whiten``), then by ``scale`` (e.g. ``pi / 2`` for angles).
        whiten: see ``scale``.

    Shape:
        - Input: ``(B, n_features)``; output ``(B, n_components)``.

    Examples:
        >>> import torch
        >>> x = torch.randn(100, 5, generator=torch.Generator().manual_seed(1))
        >>> PCA(2).fit(x)(x).shape
        torch.Size([100, 2])
    """

    def __init__(self, n_components: int, *, whiten: bool = False, scale: float = 1.0) -> None:
        super().__init__()
        if int(n_components) != n_components or n_components < 1:
            raise ParameterError(f"n_components must be a positive integer, got {n_components!r}")
        self.n_components = int(n_components)
        self.whiten, self.scale = bool(whiten), float(scale)
        self.register_buffer("mean_", torch.zeros(0))
        self.register_buffer("components_", torch.zeros(0, 0))
        self.register_buffer("explained_variance_", torch.zeros(0))

    def fit(self, x: Tensor) -> PCA:
        """Fit on ``x`` ``(N, F)`` (SVD of the centred data); returns ``self``."""
        x = torch.as_tensor(x).detach().to(torch.float64)
        if x.dim() != 2 or x.shape[0] < 2:
            raise ParameterError(f"PCA.fit needs a (samples >= 2, features) matrix, got shape {tuple(x.shape)}")
        if self.n_components > min(x.shape):
            raise ParameterError(f"n_components={self.n_components} exceeds min(samples, features) = {min(x.shape)}")
        mean = x.mean(0)
        _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
        comps = vh[: self.n_components]
        # deterministic sign: the largest-magnitude entry of each component is positive (as scikit-learn)
        signs = torch.sign(comps[torch.arange(comps.shape[0]), comps.abs().argmax(1)])
        self.mean_ = mean.float()
        self.components_ = (comps * signs.unsqueeze(1)).float()
        self.explained_variance_ = (s[: self.n_components] ** 2 / (x.shape[0] - 1)).float()
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        # an unfitted PCA takes the fitted buffers' shapes from the checkpoint
        for name in ("mean_", "components_", "explained_variance_"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def fitted(self) -> bool:
        return self.components_.numel() > 0

    def forward(self, x: Tensor) -> Tensor:
        if not self.fitted:
            raise ParameterError("PCA is not fitted: call .fit(x_train) first")
        z = (x - self.mean_.to(x)) @ self.components_.to(x).T
        if self.whiten:
            z = z / self.explained_variance_.to(x).sqrt().clamp_min(1e-12)
        return z * self.scale

    def inverse_transform(self, z: Tensor) -> Tensor:
        """Back to feature space (the projection's least-squares inverse)."""
        z = z / self.scale
        if self.whiten:
            z = z * self.explained_variance_.to(z).sqrt()
        return z @ self.components_.to(z) + self.mean_.to(z)

    def extra_repr(self) -> str:
        return f"n_components={self.n_components}, whiten={self.whiten}, fitted={self.fitted}"


class AutoEncoder(nn.Module):
    """A dense auto-encoder whose ``forward`` returns the latent code (a drop-in compression step).

    Args:
        in_features: input width.
        latent: code width.
        hidden: hidden widths of the encoder (the decoder mirrors them).
        activation: ``"relu"``, ``"tanh"`` or ``"gelu"``.
        bounded: squash the code with ``tanh`` into ``(-1, 1)`` (handy before angle encoding).

    Examples:
        >>> import torch
        >>> torch.manual_seed(0) and None
        >>> ae = AutoEncoder(8, 2, hidden=(4,))
        >>> code = ae(torch.randn(5, 8))
        >>> code.shape, bool(code.abs().max() < 1), ae.decode(code).shape
        (torch.Size([5, 2]), True, torch.Size([5, 8]))
    """

    def __init__(self, in_features: int, latent: int, hidden: Sequence[int] = (64,), activation: str = "relu",
                 bounded: bool = True) -> None:
        super().__init__()
        self.in_features, self.latent = int(in_features), int(latent)
        self.encoder = _mlp([self.in_features, *hidden, self.latent], activation)
        self.decoder = _mlp([self.latent, *reversed(list(hidden)), self.in_features], activation)
        self.bounded = bounded

    def encode(self, x: Tensor) -> Tensor:
        z = self.encoder(x)
        return torch.tanh(z) if self.bounded else z

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)  # type: ignore[no-any-return]

    def forward(self, x: Tensor) -> Tensor:
        return self.encode(x)

    def _corrupt(self, x: Tensor, gen: torch.Generator) -> Tensor:
        return x

    def reconstruction_loss(self, x: Tensor, target: Tensor | None = None) -> Tensor:
        """Mean squared error of ``decode(encode(x))`` against ``target`` (default ``x``)."""
        return ((self.decode(self.encode(x)) - (x if target is None else target)) ** 2).mean()

    def pretrain(self, x: Tensor, *, epochs: int = 50, lr: float = 1e-2, batch_size: int = 64,
                 seed: int = 0) -> list[float]:
        """Train the auto-encoder alone (Adam, seeded shuffling); returns the loss per epoch."""
        gen = torch.Generator().manual_seed(int(seed))
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        x = torch.as_tensor(x, dtype=torch.float32)
        history = []
        for _ in range(int(epochs)):
            perm = torch.randperm(x.shape[0], generator=gen)
            total = 0.0
            for lo in range(0, x.shape[0], batch_size):
                batch = x[perm[lo:lo + batch_size]]
                opt.zero_grad()
                loss = self.reconstruction_loss(self._corrupt(batch, gen), batch)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * batch.shape[0]
            history.append(total / x.shape[0])
        return history

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, latent={self.latent}, bounded={self.bounded}"


class DenoisingAutoEncoder(AutoEncoder):
    """An auto-encoder trained to reconstruct clean inputs from inputs with Gaussian noise of ``noise_std``.

    Examples:
        >>> import torch
        >>> torch.manual_seed(0) and None
        >>> dae = DenoisingAutoEncoder(8, 2, hidden=(4,), noise_std=0.2)
        >>> dae(torch.randn(5, 8)).shape
        torch.Size([5, 2])
    """

    def __init__(self, in_features: int, latent: int, hidden: Sequence[int] = (64,), activation: str = "relu",
                 bounded: bool = True, noise_std: float = 0.1) -> None:
        super().__init__(in_features, latent, hidden, activation, bounded)
        if noise_std < 0:
            raise ParameterError(f"noise_std must be >= 0, got {noise_std}")
        self.noise_std = float(noise_std)

    def _corrupt(self, x: Tensor, gen: torch.Generator) -> Tensor:
        return x + self.noise_std * torch.randn(x.shape, generator=gen, dtype=x.dtype)

    def denoise(self, x: Tensor) -> Tensor:
        """``decode(encode(x))``: the reconstruction of a (noisy) input."""
        return self.decode(self.encode(x))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", noise_std={self.noise_std}"


class LinearHead(nn.Linear):
    """A linear read-out ``(B, in_features) -> (B, out_features)``.

    Examples:
        >>> import torch
        >>> LinearHead(3, 2)(torch.zeros(4, 3)).shape
        torch.Size([4, 2])
    """


class MLPHead(nn.Module):
    """A small MLP read-out.

    Examples:
        >>> import torch
        >>> MLPHead(3, 2, hidden=(16, 16), activation="tanh")(torch.zeros(4, 3)).shape
        torch.Size([4, 2])
    """

    def __init__(self, in_features: int, out_features: int, hidden: Sequence[int] = (32,),
                 activation: str = "relu") -> None:
        super().__init__()
        self.net = _mlp([int(in_features), *hidden, int(out_features)], activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # type: ignore[no-any-return]


class HybridModel(nn.Module):
    """``post(quantum(pre(x)))``; any part may be ``None`` (identity). Trainable end to end.

    The quantum layer receives ``pre``'s output in its own dtype; the head receives
    the quantum outputs cast to the head's dtype.

    Examples:
        >>> import torch
        >>> torch.manual_seed(0) and None
        >>> model = HybridModel(MLPHead(4, 2, hidden=(8,)), None, LinearHead(2, 3))   # quantum=None: identity
        >>> model(torch.randn(5, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(self, pre: nn.Module | None, quantum: nn.Module | None, post: nn.Module | None) -> None:
        super().__init__()
        self.pre = pre if pre is not None else nn.Identity()
        self.quantum = quantum if quantum is not None else nn.Identity()
        self.post = post if post is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        z = self.pre(x)
        q = self.quantum(z)
        params = list(self.post.parameters())
        if params:
            q = q.to(params[0].dtype)
        return self.post(q)  # type: ignore[no-any-return]

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of each part."""
        return {name: sum(p.numel() for p in part.parameters() if p.requires_grad)
                for name, part in (("pre", self.pre), ("quantum", self.quantum), ("post", self.post))}
