"""Data encoders: classical features into a circuit's input parameters (or its initial state).

An :class:`Encoder` contributes a circuit whose :class:`~qtandem.Parameter` objects
``x0, x1, ...`` receive the values :meth:`Encoder.features` computes from a batch
of raw features (a torch function, so gradients flow back into any classical
pre-processing). Amplitude encoding instead prepares the initial state.

* ``"angle"`` -- RY(x_i) on qubit i (``rotation`` "x", "y" or "z"; "z" after H).
* ``"amplitude"`` -- the feature vector, zero-padded to ``2**n`` and normalised,
  is the initial state (up to ``2**n`` features; an all-zero row is an error).
* ``"iqp"`` -- Havlicek et al. 2019: H on every qubit, RZ(x_i), and
  RZZ((pi - x_i)(pi - x_j)) on neighbouring pairs, ``reps`` times.
* ``"reupload"`` -- data re-uploading (Perez-Salinas et al. 2020): the angle
  encoding repeated before every ansatz layer (the layer builds the interleaving).

Examples:
    >>> import torch
    >>> enc = get_encoder("iqp", n_qubits=3)
    >>> enc.circuit().count_ops()   # reps=2 by default
    {'h': 6, 'rz': 6, 'rzz': 4}
    >>> enc.features(torch.zeros(2, 3)).shape   # 3 single + 2 pair angles per row
    torch.Size([2, 5])
"""

from __future__ import annotations

import math

import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import Parameter
from qtandem.errors import CircuitError

__all__ = ["ENCODERS", "AmplitudeEncoder", "AngleEncoder", "Encoder", "IQPEncoder", "get_encoder"]

Tensor = torch.Tensor


class Encoder:
    """Base class. ``n_features`` raw features on ``n_qubits`` qubits.

    Examples:
        >>> enc = Encoder(2)
        >>> enc.n_qubits, enc.n_features, enc.initial_state(torch.zeros(1, 2), torch.complex128) is None
        (2, 2, True)
    """

    name = "encoder"
    reupload = False

    def __init__(self, n_qubits: int, n_features: int | None = None) -> None:
        if int(n_qubits) != n_qubits or n_qubits < 1:
            raise CircuitError(f"n_qubits must be a positive integer, got {n_qubits!r}")
        self.n_qubits = int(n_qubits)
        self.n_features = int(n_features if n_features is not None else n_qubits)
        if self.n_features < 1:
            raise CircuitError(f"n_features must be >= 1, got {self.n_features}")

    def circuit(self) -> Circuit:
        """Circuit with input parameters ``x0, x1, ...`` (empty for amplitude encoding)."""
        return Circuit(self.n_qubits)

    def features(self, x: Tensor) -> Tensor:
        """``(B, n_features)`` raw features -> ``(B, n_inputs)`` values of ``x0, x1, ...``."""
        return x

    def initial_state(self, x: Tensor, dtype: torch.dtype) -> Tensor | None:
        """Batched initial state ``(B, 2**n)``, or ``None`` for ``|0...0>``."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_qubits={self.n_qubits}, n_features={self.n_features})"


class AngleEncoder(Encoder):
    """Feature ``i`` as the angle of a rotation on qubit ``i``.

    Examples:
        >>> enc = AngleEncoder(3)
        >>> enc, enc.circuit().count_ops()
        (AngleEncoder(n_qubits=3, n_features=3), {'ry': 3})
    """

    name = "angle"

    def __init__(self, n_qubits: int, n_features: int | None = None, rotation: str = "y") -> None:
        super().__init__(n_qubits, n_features)
        if self.n_features > self.n_qubits:
            raise CircuitError(f"angle encoding puts one feature per qubit: {self.n_features} features need "
                               f"{self.n_features} qubits, got {self.n_qubits} (compress first, e.g. PCA)")
        if rotation not in ("x", "y", "z"):
            raise CircuitError(f"rotation must be 'x', 'y' or 'z', got {rotation!r}")
        self.rotation = rotation

    def circuit(self) -> Circuit:
        c = Circuit(self.n_qubits)
        for i in range(self.n_features):
            if self.rotation == "z":
                c.h(i)
            getattr(c, "r" + self.rotation)(Parameter(f"x{i}"), i)
        return c


class ReuploadEncoder(AngleEncoder):
    """Angle encoding repeated before each ansatz layer (see module docs)."""

    name = "reupload"
    reupload = True


class AmplitudeEncoder(Encoder):
    """Features as the amplitudes of the initial state (zero-padded, normalised per row).

    Examples:
        >>> enc = AmplitudeEncoder(2, 3)
        >>> enc.initial_state(torch.tensor([[3.0, 4.0, 0.0]], dtype=torch.float64), torch.complex128).real.tolist()
        [[0.6, 0.8, 0.0, 0.0]]
    """

    name = "amplitude"

    def __init__(self, n_qubits: int, n_features: int | None = None) -> None:
        super().__init__(n_qubits, n_features if n_features is not None else 2**n_qubits)
        if self.n_features > 2**self.n_qubits:
            raise CircuitError(f"amplitude encoding holds at most 2**{self.n_qubits} = {2**self.n_qubits} "
                               f"features, got {self.n_features}")

    def features(self, x: Tensor) -> Tensor:
        return x[:, :0]

    def initial_state(self, x: Tensor, dtype: torch.dtype) -> Tensor:
        pad = 2**self.n_qubits - x.shape[1]
        v = torch.nn.functional.pad(x, (0, pad)) if pad else x
        norm = v.norm(dim=1, keepdim=True)
        if bool((norm == 0).any()):
            row = int((norm[:, 0] == 0).nonzero()[0])
            raise CircuitError(f"amplitude encoding: row {row} of the input is all zeros and cannot be normalised")
        return (v / norm).to(dtype)


class IQPEncoder(Encoder):
    """IQP feature map (Havlicek et al., Nature 2019) on a line of qubits, ``reps`` times.

    Examples:
        >>> enc = IQPEncoder(3)
        >>> enc.circuit().count_ops(), enc.features(torch.zeros(1, 3)).shape   # 3 features and 2 products
        ({'h': 6, 'rz': 6, 'rzz': 4}, torch.Size([1, 5]))
    """

    name = "iqp"

    def __init__(self, n_qubits: int, n_features: int | None = None, reps: int = 2) -> None:
        super().__init__(n_qubits, n_features)
        if self.n_features != self.n_qubits:
            raise CircuitError(f"IQP encoding needs one feature per qubit ({self.n_qubits}), got {self.n_features}")
        self.reps = int(reps)

    def circuit(self) -> Circuit:
        n = self.n_qubits
        c = Circuit(n)
        pairs = [(i, i + 1) for i in range(n - 1)]
        for _ in range(self.reps):
            for q in range(n):
                c.h(q)
            for q in range(n):
                c.rz(Parameter(f"x{q}"), q)
            for k, (a, b) in enumerate(pairs):
                c.rzz(Parameter(f"x{n + k}"), a, b)
        return c

    def features(self, x: Tensor) -> Tensor:
        n = self.n_qubits
        pair = [(math.pi - x[:, i]) * (math.pi - x[:, i + 1]) for i in range(n - 1)]
        return torch.cat([x, torch.stack(pair, dim=1)], dim=1) if pair else x


ENCODERS: dict[str, type[Encoder]] = {"angle": AngleEncoder, "amplitude": AmplitudeEncoder, "iqp": IQPEncoder,
                                      "reupload": ReuploadEncoder}


def get_encoder(name: str | Encoder, n_qubits: int, n_features: int | None = None) -> Encoder:
    """An encoder by name (or pass an :class:`Encoder` through).

    Examples:
        >>> get_encoder("iqp", 2)
        IQPEncoder(n_qubits=2, n_features=2)
        >>> enc = AngleEncoder(2)
        >>> get_encoder(enc, 2) is enc
        True
    """
    if isinstance(name, Encoder):
        return name
    cls = ENCODERS.get(name)
    if cls is None:
        import difflib

        close = difflib.get_close_matches(str(name), list(ENCODERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CircuitError(f"unknown encoder {name!r}{hint}; choose from {sorted(ENCODERS)}")
    return cls(n_qubits, n_features)
