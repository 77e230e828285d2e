"""Neural-network quantum state tomography of pure states from Pauli shot records.

:class:`NeuralStateModel` writes an ``n``-qubit wave function as
``psi(s) = sqrt(p(s)) exp(i phi(s))``: ``p`` is an :class:`~qtandem.learn.autoregressive.AutoregressiveModel`
over the bits ``s_0 ... s_{n-1}`` (qubit 0 first) and the phase ``phi(s) = sum_i f(h_i)[s_i]`` is a
linear head on the same backbone's step features ``h_i`` (a function of ``s_<i``), so one pass gives
both and ``psi`` is normalised by construction.

Training minimises the Born-rule negative log-likelihood of each shot: a shot measured in the
Pauli basis ``c`` with outcome ``b`` has probability ``|<b| U_c |psi>|**2`` with ``U_c`` the
product of the basis rotations (``X``: ``H``, ``Y``: ``H S^dagger``, ``Z``: identity). Qubits
measured in ``Z`` fix their bit of ``s``, so the amplitude is a sum over the ``2**k`` settings of
the ``k`` rotated qubits only: ``sum_s' prod_{q rotated} U_{c_q}[b_q, s'_q] psi(s')``. A shot's cost
is ``2**k`` model evaluations; a record whose shots rotate more than ``max_rotated`` qubits is
refused with the cost spelled out (:func:`local_pauli_bases` draws bases with few rotated qubits).

Which data make the problem well posed: uniformly random Pauli bases are informationally
complete and cheap for small ``n`` (``E[2**k] = (5/3)**n``: 59 evaluations per shot at 8 qubits,
27,000 at 20). Bases with few rotated qubits keep large ``n`` cheap and pin down ``p`` and local
phases, but a relative phase between components that differ on every qubit (GHZ's
``|0...0> + e^{i a} |1...1>``) is seen only by bases that rotate every qubit, so such data leave
``a`` undetermined. :meth:`NeuralStateModel.fit` with ``dense_every`` also trains on such
shots (bases rotating more than ``max_rotated`` qubits, for example all qubits in X or Y) through
the model's full state, ``2**n`` evaluations per such step (``n <= 20``); with ``kind="made"`` (a
masked MLP, one matrix product per layer) the full 20-qubit state costs a few seconds, not minutes.

Examples:
    >>> from qtandem import Circuit, statevector
    >>> from qtandem.learn import measure_randomized
    >>> bell = Circuit(2).h(0).cx(0, 1)
    >>> record = measure_randomized(bell, 2000, seed=0)
    >>> model = NeuralStateModel(2, kind="rnn", d_model=16, seed=0).fit(record, steps=150, batch_size=256, seed=0)
    >>> bool(model.fidelity(statevector(bell)) > 0.97)
    True
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from qtandem.errors import CheckpointError, DataError, ParameterError, ResourceError
from qtandem.io import atomic_write_text, read_safetensors, write_safetensors
from qtandem.learn.autoregressive import AutoregressiveModel, torch_seed
from qtandem.learn.shots import ShotRecord
from qtandem.random import Seed, as_generator, derive_seed

__all__ = ["NeuralStateModel", "local_pauli_bases", "reconstruct"]

FORMAT = "qtandem.neural_state/1"
STATEVECTOR_MAX_QUBITS = 20
PHASES = ("full", "zero", "none")
_SQ = 1 / math.sqrt(2)
_ROT = np.array([  # rows: outcome b, columns: computational bit s; X -> H, Y -> H S^dagger, Z -> I
    [[_SQ, _SQ], [_SQ, -_SQ]],
    [[_SQ, -1j * _SQ], [_SQ, 1j * _SQ]],
    [[1, 0], [0, 1]],
], dtype=complex)


def local_pauli_bases(count: int, n_qubits: int, *, rotated: float = 0.25, seed: Seed = None) -> np.ndarray:
    """Random Pauli bases with few rotated qubits: each qubit independently ``Z`` w.p. ``1 - rotated``, else X or Y.

    The design does not depend on the state. It keeps the Born-rule likelihood cheap
    (``E[2**k] = (1 + rotated)**n`` evaluations per shot) and, unlike uniform bases, it is not
    a classical-shadow design: :mod:`qtandem.learn.shadows` estimators assume uniform bases.

    Args:
        count: number of bases.
        n_qubits: qubits per basis.
        rotated: probability that a qubit is measured in X or Y (half each).
        seed: seed of the draw.

    Returns:
        ``(count, n_qubits)`` uint8 Pauli codes ``0, 1, 2 = X, Y, Z``.

    Examples:
        >>> b = local_pauli_bases(10000, 20, rotated=0.25, seed=0)
        >>> b.shape, round(float((b != 2).mean()), 2)
        ((10000, 20), 0.25)
    """
    if not 0 <= rotated <= 1:
        raise ParameterError(f"local_pauli_bases(): rotated must be in [0, 1], got {rotated!r}")
    rng = as_generator(seed)
    u = rng.random((count, n_qubits))
    return np.where(u < rotated / 2, 0, np.where(u < rotated, 1, 2)).astype(np.uint8)


def _as_bits(bits: Any, n: int) -> torch.Tensor:
    """``(B, n)`` int64 bits from an array (column q = qubit q) or bitstrings (qubit 0 rightmost)."""
    if isinstance(bits, str):
        bits = [bits]
    if isinstance(bits, (list, tuple)) and bits and isinstance(bits[0], str):
        for s in bits:
            if len(s) != n or set(s) - {"0", "1"}:
                raise DataError(f"amplitudes(): {s!r} is not a {n}-bit string (qubit 0 rightmost)")
        return torch.tensor([[int(ch) for ch in reversed(s)] for s in bits], dtype=torch.long)
    arr = torch.as_tensor(np.asarray(bits))
    if arr.ndim != 2 or arr.shape[1] != n or arr.dtype.is_floating_point or arr.dtype.is_complex:
        raise DataError(f"amplitudes(): expected (batch, {n}) integer bits or {n}-bit strings, "
                        f"got {tuple(arr.shape)} {arr.dtype}")
    if arr.numel() and (int(arr.min()) < 0 or int(arr.max()) > 1):
        raise DataError("amplitudes(): bits must be 0 or 1")
    return arr.long()


class NeuralStateModel(nn.Module):
    """Autoregressive neural wave function ``psi(s) = sqrt(p(s)) exp(i phi(s))`` for pure-state tomography.

    Args:
        n_qubits: number of qubits.
        kind: backbone, ``"transformer"`` or ``"rnn"`` (see :class:`~qtandem.learn.autoregressive.AutoregressiveModel`).
        d_model: width of the backbone.
        layers: transformer blocks or GRU layers.
        heads: attention heads (transformer).
        seed: seed of the initial weights.
        hidden: hidden units per layer of the ``"made"`` backbone (default ``4 * d_model``).
        phase: ``"full"`` (a learned phase head with random initial weights), ``"zero"`` (the same
            head initialised at zero, so training starts from the positive state ``sqrt(p)``) or
            ``"none"`` (no phase: real positive amplitudes, ``psi = sqrt(p)``; right for states with a
            positive wave function such as W, GHZ+ and ground states of stoquastic Hamiltonians).
            :func:`reconstruct` with ``phase="select"`` chooses among them on held-out shots.

    Attributes:
        step_: training steps done (after :meth:`fit`).
        history_: ``[(step, loss)]`` of the training steps.
        optimizer_: the Adam optimizer of the last :meth:`fit` (kept so a fit can resume).

    Raises:
        ParameterError: as :class:`~qtandem.learn.autoregressive.AutoregressiveModel`.

    Examples:
        >>> import torch
        >>> model = NeuralStateModel(3, kind="rnn", seed=1)
        >>> psi = model.statevector()
        >>> psi.shape, round(float(psi.abs().pow(2).sum()), 6)
        (torch.Size([8]), 1.0)
        >>> bool(torch.allclose(model.amplitudes(["101"]), psi[5:6]))   # qubit 0 rightmost: index 5
        True
    """

    def __init__(self, n_qubits: int, *, kind: str = "transformer", d_model: int = 32, layers: int = 2,
                 heads: int = 4, seed: Seed = 0, hidden: int | None = None, phase: str = "full") -> None:
        super().__init__()
        if phase not in PHASES:
            raise ParameterError(f"NeuralStateModel: phase must be one of {', '.join(map(repr, PHASES))}, "
                                 f"got {phase!r}")
        self.net = AutoregressiveModel(n_qubits, 2, kind=kind, d_model=d_model, layers=layers, heads=heads, seed=seed,
                                       hidden=hidden)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed(seed, 23))
            self.phase_head = nn.Linear(d_model, 2)
        if phase != "full":
            with torch.no_grad():
                self.phase_head.weight.zero_()
                self.phase_head.bias.zero_()
        if phase == "none":
            self.phase_head.requires_grad_(False)
        self.n_qubits, self.kind, self.phase = n_qubits, kind, phase
        self.config = {"n_qubits": n_qubits, "kind": kind, "d_model": d_model, "layers": layers, "heads": heads,
                       "hidden": self.net.hidden, "phase": phase}
        self.step_ = 0
        self.history_: list[tuple[int, float]] = []
        self.optimizer_: torch.optim.Optimizer | None = None

    def extra_repr(self) -> str:
        return f"n_qubits={self.n_qubits}, kind={self.kind!r}, phase={self.phase!r}"

    def log_psi(self, bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log|psi(s)|, phi(s))`` of ``(B, n)`` bits as float64 ``(B,)`` tensors (differentiable).

        Examples:
            >>> import torch
            >>> m = NeuralStateModel(2, kind="rnn", seed=0)
            >>> logabs, phase = m.log_psi(torch.tensor([[0, 0], [1, 1]]))
            >>> logabs.dtype, phase.shape
            (torch.float64, torch.Size([2]))
        """
        out = self.net(bits)
        if self.phase == "none":
            return 0.5 * out.log_prob.double(), torch.zeros(len(bits), dtype=torch.float64)
        phase = self.phase_head(out.features).gather(2, bits.long()[..., None]).squeeze(2).sum(1)
        return 0.5 * out.log_prob.double(), phase.double()

    def amplitudes(self, bitstrings: Any) -> torch.Tensor:
        """Complex amplitudes ``psi(s)`` (complex128, no gradient).

        Args:
            bitstrings: ``(B, n)`` bits (column ``q`` = qubit ``q``) or strings with qubit 0 rightmost.

        Raises:
            DataError: bits of the wrong shape or values.

        Examples:
            >>> m = NeuralStateModel(2, seed=0)
            >>> m.amplitudes(["00", "11"]).dtype
            torch.complex128
        """
        bits = _as_bits(bitstrings, self.n_qubits)
        with torch.no_grad():
            logabs, phase = self.log_psi(bits)
        return torch.polar(logabs.exp(), phase)

    def sample(self, shots: int, *, seed: Seed = None) -> np.ndarray:
        """``shots`` computational-basis outcomes drawn from ``|psi|**2`` (autoregressive, exact).

        Returns:
            ``(shots, n)`` uint8 bits, column ``q`` = qubit ``q`` (as :attr:`ShotRecord.outcomes`).

        Examples:
            >>> NeuralStateModel(3, seed=0).sample(5, seed=1).shape
            (5, 3)
        """
        return self.net.sample(shots, seed=seed).numpy().astype(np.uint8)

    def statevector(self, *, chunk: int = 1 << 15) -> torch.Tensor:
        """The full ``(2**n,)`` complex128 state (qubit 0 least significant), for ``n <= 20``.

        Raises:
            ResourceError: ``n > 20`` (with the memory it would need).

        Examples:
            >>> NeuralStateModel(4, seed=0).statevector().shape
            torch.Size([16])
        """
        n = self.n_qubits
        if n > STATEVECTOR_MAX_QUBITS:
            raise ResourceError(f"statevector(): {n} qubits need 2**{n} amplitudes ({16 * 2 ** n / 2 ** 30:.3g} GiB "
                                f"of complex128) and 2**{n} model evaluations; the limit is {STATEVECTOR_MAX_QUBITS} "
                                "qubits (use sample() or amplitudes() of chosen bitstrings instead)")
        out = torch.empty(1 << n, dtype=torch.complex128)
        shifts = torch.arange(n)
        for start in range(0, 1 << n, chunk):
            idx = torch.arange(start, min(start + chunk, 1 << n))
            out[idx] = self.amplitudes((idx[:, None] >> shifts) & 1)
        return out

    def fidelity(self, statevector: Any) -> float:
        """Exact fidelity ``|<target|psi>|**2`` with a known pure state (``n <= 20``).

        Raises:
            DataError: a target of the wrong size or not normalised.

        Examples:
            >>> import torch
            >>> m = NeuralStateModel(2, seed=0)
            >>> round(m.fidelity(m.statevector()), 6)
            1.0
        """
        target = torch.as_tensor(np.asarray(statevector)).to(torch.complex128).reshape(-1)
        if target.shape[0] != 1 << self.n_qubits:
            raise DataError(f"fidelity(): the target must have 2**{self.n_qubits} = {1 << self.n_qubits} "
                            f"amplitudes, got {target.shape[0]}")
        norm = float(target.abs().pow(2).sum())
        if abs(norm - 1) > 1e-6:
            raise DataError(f"fidelity(): the target is not normalised (norm {norm:.6g})")
        return float(torch.vdot(target, self.statevector()).abs() ** 2)

    def shadow_fidelity(self, record: ShotRecord | str | Path, *, k: int = 1, control_variate: bool = False) -> Any:
        """Fidelity of the measured state with this model, estimated from a classical-shadow record.

        The model's full state (``n <= 20``) goes to :func:`qtandem.learn.shadows.fidelity`; use a
        record the model was not trained on (Clifford records have variance below 3 for any state,
        uniform Pauli records a variance growing like ``2**n`` for entangled states).
        ``control_variate=True`` (Clifford records) subtracts the model's own zero-mean term: the
        same unbiased estimate with a far smaller error bar when the fidelity is near 1 (at 20
        qubits on DEV: 0.0013 instead of 0.11 for GHZ from 200 Cliffords x 500 shots).

        Returns:
            :class:`~qtandem.learn.shadows.ShadowEstimate` (value and standard error).

        Examples:
            >>> from qtandem.learn import measure_randomized
            >>> m = NeuralStateModel(2, seed=0)
            >>> record = measure_randomized(m.statevector(), 400, basis="clifford", seed=1)
            >>> est = m.shadow_fidelity(record)
            >>> bool(abs(est.values - 1) < 4 * est.stderr + 0.05)
            True
            >>> cv = m.shadow_fidelity(record, control_variate=True)   # only the shots' own noise is left
            >>> bool(cv.stderr < est.stderr), bool(abs(cv.values - 1) < 4 * cv.stderr)
            (True, True)
        """
        from qtandem.learn import shadows

        return shadows.fidelity(record, self.statevector(), k=k, control_variate=control_variate)

    # -- training ---------------------------------------------------------------------------
    def _check_record(self, record: ShotRecord) -> None:
        if not isinstance(record, ShotRecord):
            raise DataError(f"fit(): expected a ShotRecord, got {type(record).__name__}")
        if record.kind != "pauli":
            raise DataError("fit(): the record holds Clifford-basis shots; NeuralStateModel trains on Pauli-basis "
                            "records (measure_randomized(..., basis='pauli'))")
        if record.n_qubits != self.n_qubits:
            raise DataError(f"fit(): the record has {record.n_qubits} qubits, the model {self.n_qubits}")
        if len(record) == 0:
            raise DataError("fit(): the record has no shots")

    def born_nll(self, bases: np.ndarray, outcomes: np.ndarray, *, chunk: int = 1 << 14,
                 backward_weights: np.ndarray | None = None) -> torch.Tensor:
        """Per-shot Born-rule NLL ``-log |<b| U_c |psi>|**2`` of Pauli shots ``(bases, outcomes)``.

        The ``2**k`` computational configurations of every shot are collected and deduplicated
        (shots share many: at most ``2**n`` are distinct), so each distinct configuration is
        evaluated once. With ``backward_weights`` the gradient of the weighted sum is
        back-propagated in chunks of ``chunk`` configurations (bounded memory; the forward pass
        runs twice) and the values come back detached.

        Args:
            bases: ``(m, n)`` Pauli codes ``0/1/2 = X/Y/Z``.
            outcomes: ``(m, n)`` bits.
            chunk: model evaluations per pass.
            backward_weights: ``(m,)`` weights of the loss to back-propagate, or None.

        Returns:
            ``(m,)`` float64 tensor.

        Examples:
            >>> import numpy as np
            >>> m = NeuralStateModel(2, seed=0)
            >>> nll = m.born_nll(np.array([[0, 0]] * 4), np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))
            >>> round(float(np.exp(-nll.detach().numpy()).sum()), 6)     # the outcomes of a basis sum to 1
            1.0
        """
        bases = np.asarray(bases, dtype=np.int64)
        outcomes = np.asarray(outcomes, dtype=np.int64)
        m = len(bases)
        configs, coefs, segs = self._configurations(bases, outcomes)
        uniq, inverse_np = np.unique(configs, axis=0, return_inverse=True)
        inverse = torch.as_tensor(inverse_np.reshape(-1))
        seg = torch.as_tensor(segs)
        coef_t = torch.as_tensor(coefs)
        bits = torch.as_tensor(uniq)

        def evaluate() -> tuple[torch.Tensor, torch.Tensor]:
            parts = [self.log_psi(bits[s:s + chunk]) for s in range(0, len(bits), chunk)]
            return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

        def nll_of(logabs: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
            la, ph = logabs[inverse], phase[inverse]
            top = torch.full((m,), -torch.inf, dtype=torch.float64).scatter_reduce(0, seg, la.detach(), "amax")
            terms = coef_t * torch.polar((la - top[seg]).exp(), ph)
            z = torch.zeros(m, dtype=torch.complex128).index_add(0, seg, terms)
            return -(2 * top + torch.log(z.abs().pow(2) + 1e-300))

        if backward_weights is None:
            return nll_of(*evaluate())
        with torch.no_grad():
            logabs, phase = evaluate()
        logabs.requires_grad_(True)
        phase.requires_grad_(True)
        nll = nll_of(logabs, phase)
        weighted = (nll * torch.as_tensor(backward_weights, dtype=torch.float64)).sum()
        g_abs, g_phase = torch.autograd.grad(weighted, [logabs, phase])
        for s in range(0, len(bits), chunk):
            la, ph = self.log_psi(bits[s:s + chunk])
            if ph.requires_grad:
                torch.autograd.backward([la, ph], [g_abs[s:s + chunk], g_phase[s:s + chunk]])
            else:  # phase="none": no phase parameters
                torch.autograd.backward([la], [g_abs[s:s + chunk]])
        return nll.detach()

    def dense_nll(self, bases: np.ndarray, outcomes: np.ndarray, *, chunk: int = 1 << 16,
                  extra: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-shot Born-rule NLL of Pauli shots through the model's full state (``n <= 20``, differentiable).

        For shots that rotate many qubits (``2**k`` close to ``2**n``): all ``2**n`` amplitudes are
        evaluated once, with the graph kept, and each shot's amplitude is the inner product of the
        state with the product vector ``prod_q U_{c_q}[b_q, :]`` of its basis and outcome. Shots of
        ``extra`` (few rotated qubits) index the same full state with their ``2**k`` configurations.

        Args:
            bases: ``(m, n)`` Pauli codes.
            outcomes: ``(m, n)`` bits.
            chunk: model evaluations per pass.
            extra: ``(bases, outcomes)`` of more shots, or None.

        Returns:
            ``(nll of the shots, nll of extra or None)``, float64 tensors with gradients.

        Raises:
            ResourceError: ``n > 20``.

        Examples:
            >>> import numpy as np
            >>> m = NeuralStateModel(3, kind="made", d_model=4, seed=0)
            >>> b, o = np.array([[0, 1, 0]] * 2), np.array([[0, 1, 1], [1, 0, 0]])
            >>> dense, _ = m.dense_nll(b, o)
            >>> bool(np.allclose(dense.detach().numpy(), m.born_nll(b, o).detach().numpy()))
            True
        """
        n = self.n_qubits
        if n > STATEVECTOR_MAX_QUBITS:
            raise ResourceError(f"dense_nll(): {n} qubits need the model's full state of 2**{n} amplitudes; the limit "
                                f"is {STATEVECTOR_MAX_QUBITS} qubits")
        shifts = torch.arange(n)
        parts = []
        for start in range(0, 1 << n, chunk):
            idx = torch.arange(start, min(start + chunk, 1 << n))
            logabs, phase = self.log_psi((idx[:, None] >> shifts) & 1)
            parts.append(torch.polar(logabs.exp(), phase))
        psi = torch.cat(parts)
        bases = np.asarray(bases, dtype=np.int64)
        outcomes = np.asarray(outcomes, dtype=np.int64)
        rot = torch.as_tensor(_ROT)
        amps = []
        rows_per = max(1, (1 << 24) // (1 << n))
        for start in range(0, len(bases), rows_per):
            c = torch.as_tensor(bases[start:start + rows_per])
            b = torch.as_tensor(outcomes[start:start + rows_per])
            vec = rot[c[:, 0], b[:, 0]]  # (r, 2): qubit 0's factor, qubit 0 least significant
            for q in range(1, n):
                vec = (rot[c[:, q], b[:, q]][:, :, None] * vec[:, None, :]).reshape(len(c), -1)
            amps.append(vec @ psi)
        amp = torch.cat(amps) if amps else torch.zeros(0, dtype=torch.complex128)
        nll = -torch.log(amp.abs().pow(2) + 1e-300)
        if extra is None:
            return nll, None
        eb, eo = np.asarray(extra[0], dtype=np.int64), np.asarray(extra[1], dtype=np.int64)
        configs, coefs, seg = self._configurations(eb, eo)
        index = torch.as_tensor(configs @ (1 << np.arange(n, dtype=np.int64)))
        z = torch.zeros(len(eb), dtype=torch.complex128).index_add(0, torch.as_tensor(seg),
                                                                   torch.as_tensor(coefs) * psi[index])
        return nll, -torch.log(z.abs().pow(2) + 1e-300)

    @staticmethod
    def _configurations(bases: np.ndarray, outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(configurations (M, n), coefficients (M,), shot of each (M,))``: the ``2**k`` terms of every shot."""
        n = bases.shape[1]
        rot = bases != 2
        ks = rot.sum(1)
        configs, coefs, segs = [], [], []
        for k in np.unique(ks):
            k = int(k)
            rows = np.flatnonzero(ks == k)
            width = 1 << k
            jbits = (np.arange(width)[:, None] >> np.arange(k)) & 1  # (2**k, k)
            pos = np.argsort(~rot[rows], axis=1, kind="stable")[:, :k]  # rotated qubits (r, k)
            conf = np.repeat(outcomes[rows][:, None, :], width, axis=1)
            np.put_along_axis(conf, np.broadcast_to(pos[:, None, :], (len(rows), width, k)),
                              np.broadcast_to(jbits[None], (len(rows), width, k)), axis=2)
            c = np.take_along_axis(bases[rows], pos, axis=1)
            b = np.take_along_axis(outcomes[rows], pos, axis=1)
            coef = np.ones((len(rows), width), dtype=complex)
            for j in range(k):
                coef *= _ROT[c[:, j][:, None], b[:, j][:, None], jbits[None, :, j]]
            configs.append(conf.reshape(-1, n))
            coefs.append(coef.reshape(-1))
            segs.append(np.repeat(rows, width))
        return np.concatenate(configs), np.concatenate(coefs), np.concatenate(segs)

    def fit(self, record: ShotRecord, *, steps: int = 2000, batch_size: int = 256, lr: float = 0.01,
            seed: Seed = 0, max_rotated: int = 14, resume: bool = False, threads: int = 0,
            callback: Callable[[int, float], None] | None = None, dense_every: int = 0,
            dense_batch: int = 64) -> NeuralStateModel:
        """Train on a Pauli record by minimising the Born-rule NLL (Adam, cosine learning rate).

        Each step draws ``batch_size`` shots uniformly (with replacement) from the record; the
        draw of step ``t`` depends only on ``(seed, t)``, so a resumed fit repeats the batches of
        an uninterrupted one.

        Shots that rotate more than ``max_rotated`` qubits (the global bases that see GHZ's
        relative phase) are refused unless ``dense_every`` is set: then they form a second pool,
        and every ``dense_every``-th step adds the mean NLL of ``dense_batch`` of them, computed
        through the model's full state (:meth:`dense_nll`; ``n <= 20``, ``2**n`` evaluations).

        Args:
            record: a Pauli :class:`~qtandem.learn.ShotRecord` of this model's qubit count.
            steps: total optimisation steps (a resumed fit continues up to ``steps``).
            batch_size: shots per step.
            lr: peak learning rate (cosine decay to 2% of it over ``steps``).
            seed: seed of the batches.
            max_rotated: refuse shots with more rotated (X/Y) qubits than this (cost ``2**k``).
            resume: continue from :attr:`step_` with :attr:`optimizer_` instead of starting afresh.
            threads: torch threads during the fit (0: as set).
            callback: called as ``callback(step, loss)`` after each step (progress, checkpoints);
                ``loss`` is the mean NLL of the step's shots with at most ``max_rotated`` rotated qubits.
            dense_every: train on the shots rotating more than ``max_rotated`` qubits every this many
                steps (0: refuse such shots).
            dense_batch: shots of that pool per dense step.

        Returns:
            ``self``.

        Raises:
            DataError: a Clifford record, another qubit count, an empty record, shots rotating
                more than ``max_rotated`` qubits (without ``dense_every``).
            ParameterError: bad ``steps``, ``batch_size``, ``lr``, ``dense_every`` or ``dense_batch``.
            ResourceError: ``dense_every`` with such shots on more than 20 qubits.

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.learn import measure_randomized
            >>> rec = measure_randomized(Circuit(3).h(0), 100, seed=0)
            >>> NeuralStateModel(2).fit(rec)
            Traceback (most recent call last):
            ...
            qtandem.errors.DataError: fit(): the record has 3 qubits, the model 2
        """
        from qtandem.training import torch_threads

        self._check_record(record)
        for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 1), ("dense_every", dense_every, 0),
                                 ("dense_batch", dense_batch, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(f"fit(): {name} must be an integer >= {low}, got {value!r}")
        if not lr > 0:
            raise ParameterError(f"fit(): lr must be positive, got {lr!r}")
        rows = np.concatenate([record.bases, record.outcomes], axis=1)
        uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        n = self.n_qubits
        k = (uniq[:, :n] != 2).sum(1)
        if k.max() > max_rotated and not dense_every:
            worst = int(np.argmax(k))
            raise DataError(f"fit(): some shots rotate {int(k.max())} qubits (basis {uniq[worst, :n].tolist()}), each "
                            f"costing 2**{int(k.max())} model evaluations; max_rotated is {max_rotated}. Measure in "
                            "bases with fewer X/Y qubits (local_pauli_bases), raise max_rotated, or train on them "
                            "through the full state (dense_every, n <= 20)")
        heavy = (k > max_rotated)[inverse]
        if heavy.any() and n > STATEVECTOR_MAX_QUBITS:
            raise ResourceError(f"fit(): dense_every needs the model's full state (2**{n} amplitudes); the limit is "
                                f"{STATEVECTOR_MAX_QUBITS} qubits")
        light, dense = np.flatnonzero(~heavy), np.flatnonzero(heavy)
        if not resume or self.optimizer_ is None:
            self.optimizer_ = torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=lr)
            self.step_, self.history_ = 0, []
        opt = self.optimizer_
        base_seed = torch_seed(seed, 31)
        self.train()
        with torch_threads(threads):
            while self.step_ < steps:
                t = self.step_
                for group in opt.param_groups:
                    group["lr"] = lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t / steps)))
                rng = np.random.default_rng(derive_seed(base_seed % (1 << 32), t))
                opt.zero_grad()
                ids = counts = np.zeros(0, dtype=np.int64)
                if len(light):
                    ids, counts = np.unique(inverse[light[rng.integers(len(light), size=batch_size)]],
                                            return_counts=True)
                if (len(dense) and (t + 1) % dense_every == 0) or not len(light):
                    dids, dcounts = np.unique(inverse[dense[rng.integers(len(dense), size=dense_batch)]],
                                              return_counts=True)
                    nll_d, nll_l = self.dense_nll(uniq[dids, :n], uniq[dids, n:], extra=(uniq[ids, :n], uniq[ids, n:]))
                    total = (nll_d * torch.as_tensor(dcounts / dense_batch)).sum()
                    assert nll_l is not None
                    if len(ids):
                        total = total + (nll_l * torch.as_tensor(counts / batch_size)).sum()
                    total.backward()
                    nll = (nll_l if len(ids) else nll_d).detach()
                    counts, size = (counts, batch_size) if len(ids) else (dcounts, dense_batch)
                else:
                    nll = self.born_nll(uniq[ids, :n], uniq[ids, n:], backward_weights=counts / batch_size)
                    size = batch_size
                opt.step()
                loss = float((nll.numpy() * counts).sum() / size)
                self.step_ = t + 1
                self.history_.append((self.step_, loss))
                if callback is not None:
                    callback(self.step_, loss)
        self.eval()
        return self

    def validation_nll(self, record: ShotRecord, *, max_rotated: int = 14, batch: int = 4096) -> float:
        """Mean Born-rule NLL per shot of ``record`` (held-out shots: a model-selection score from data only).

        Shots rotating at most ``max_rotated`` qubits go through :meth:`born_nll`, the others through
        the full state (:meth:`dense_nll`, ``n <= 20``).

        Raises:
            DataError: as :meth:`fit` (Clifford record, another qubit count, no shots).

        Examples:
            >>> from qtandem import Circuit
            >>> from qtandem.learn import measure_randomized
            >>> rec = measure_randomized(Circuit(2).h(0).cx(0, 1), 400, seed=0)
            >>> bool(NeuralStateModel(2, seed=0).validation_nll(rec) > 0)
            True
        """
        self._check_record(record)
        rows = np.concatenate([record.bases, record.outcomes], axis=1)
        uniq, counts = np.unique(rows, axis=0, return_counts=True)
        n = self.n_qubits
        heavy = (uniq[:, :n] != 2).sum(1) > max_rotated
        total = 0.0
        with torch.no_grad():
            light = np.flatnonzero(~heavy)
            for start in range(0, len(light), batch):
                ids = light[start:start + batch]
                total += float((self.born_nll(uniq[ids, :n], uniq[ids, n:]).numpy() * counts[ids]).sum())
            ids = np.flatnonzero(heavy)
            if len(ids):
                nll, _ = self.dense_nll(uniq[ids, :n], uniq[ids, n:])
                total += float((nll.numpy() * counts[ids]).sum())
        return total / len(record)

    # -- files ------------------------------------------------------------------------------
    def save(self, folder: str | Path, *, overwrite: bool = False) -> None:
        """Save as ``model.safetensors`` (weights, no pickle) and ``config.json`` in ``folder`` (atomic writes).

        Raises:
            CheckpointError: a model is already saved there and ``overwrite`` is false.

        Examples:
            >>> import tempfile, torch
            >>> folder = tempfile.mkdtemp()
            >>> m = NeuralStateModel(3, kind="rnn", seed=2)
            >>> m.save(folder)
            >>> bool(torch.allclose(NeuralStateModel.load(folder).statevector(), m.statevector()))
            True
        """
        path = Path(folder)
        if (path / "model.safetensors").exists() and not overwrite:
            raise CheckpointError(f"{path}: a model is already saved there (pass overwrite=True to replace it)")
        path.mkdir(parents=True, exist_ok=True)
        config = {"format": FORMAT, **self.config, "step": self.step_}
        write_safetensors(path / "model.safetensors", dict(self.state_dict()), {"format": FORMAT,
                                                                                "config": json.dumps(config)})
        atomic_write_text(path / "config.json", json.dumps(config, indent=1) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> NeuralStateModel:
        """Load a model saved by :meth:`save`.

        Raises:
            CheckpointError: no model there, another format, or tensors that do not fit the configuration.

        Examples:
            >>> NeuralStateModel.load("no/such/folder")
            Traceback (most recent call last):
            ...
            qtandem.errors.CheckpointError: no/such/folder: no saved model (model.safetensors is missing)
        """
        path = Path(folder)
        file = path / "model.safetensors"
        if not file.is_file():
            raise CheckpointError(f"{path}: no saved model (model.safetensors is missing)")
        tensors, meta = read_safetensors(file)
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{file}: not a NeuralStateModel (format {meta.get('format')!r})")
        config = json.loads(meta["config"])
        model = cls(config["n_qubits"], kind=config["kind"], d_model=config["d_model"], layers=config["layers"],
                    heads=config["heads"], hidden=config.get("hidden"), phase=config.get("phase", "full"))
        try:
            model.load_state_dict(tensors)
        except RuntimeError as exc:
            raise CheckpointError(f"{file}: tensors do not fit the configuration ({exc})") from None
        model.step_ = int(config.get("step", 0))
        model.eval()
        return model


def _holdout_split(record: ShotRecord, holdout: float, seed: int) -> tuple[ShotRecord, ShotRecord]:
    """``(held-out, training)`` records: a seeded random ``holdout`` share of the shots, both in record order."""
    order = as_generator(derive_seed(seed, 41)).permutation(len(record))
    cut = max(1, round(holdout * len(record)))
    return record[np.sort(order[:cut])], record[np.sort(order[cut:])]


def reconstruct(record: ShotRecord, *, target: Any = None, kind: str = "transformer", steps: int = 2000,
                batch_size: int = 256, lr: float = 0.01, seed: int = 0, d_model: int = 32, layers: int = 2,
                max_rotated: int = 14, threads: int = 0, hidden: int | None = None, dense_every: int = 0,
                dense_batch: int = 64, phase: str = "full", holdout: float = 0.1,
                candidates: tuple[str, ...] = ("none", "zero")) -> tuple[NeuralStateModel, dict[str, Any]]:
    """Fit a :class:`NeuralStateModel` to ``record`` and report (for scripts and benchmarks).

    With ``phase="select"`` the phase variant is chosen from the data alone: a seeded random
    ``holdout`` share of the shots is set aside, one model per variant in ``candidates`` (default:
    ``"none"``, real positive amplitudes, and ``"zero"``, a learned phase starting at zero) is fitted
    on the rest with the same settings, and the model with the lowest mean Born-rule NLL on the
    held-out shots is returned (it keeps its training on the other shots; no refit). The target
    state, when given, is used only for the reported fidelities.

    Returns:
        ``(model, info)`` with ``info`` holding the settings, ``shots``, ``seconds`` of training,
        the final loss and, when ``target`` (a state vector) is given, the exact ``fidelity``;
        with ``phase="select"`` also ``validation_nll`` and (with a target) ``fidelities`` per
        candidate, and ``phase`` the chosen one.

    Raises:
        ParameterError: an unknown ``phase`` or candidate, ``holdout`` outside ``(0, 0.5]``.

    Examples:
        >>> from qtandem import Circuit, statevector
        >>> from qtandem.learn import measure_randomized
        >>> circ = Circuit(2).h(0).cx(0, 1)
        >>> model, info = reconstruct(measure_randomized(circ, 500, seed=0), target=statevector(circ), kind="rnn",
        ...                           steps=20, batch_size=32)
        >>> info["shots"], 0 <= info["fidelity"] <= 1
        (500, True)
        >>> model, info = reconstruct(measure_randomized(circ, 500, seed=0), kind="rnn", steps=20, batch_size=32,
        ...                           phase="select")
        >>> info["phase"] in ("select:none", "select:zero"), sorted(info["validation_nll"])
        (True, ['none', 'zero'])
    """
    if phase == "select":
        if not 0 < holdout <= 0.5:
            raise ParameterError(f"reconstruct(): holdout must be in (0, 0.5], got {holdout!r}")
        bad = [c for c in candidates if c not in PHASES]
        if bad or not candidates:
            raise ParameterError(f"reconstruct(): candidates must be among {PHASES}, got {candidates!r}")
        val, train = _holdout_split(record, holdout, seed)
        fits = {c: reconstruct(train, target=target, kind=kind, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                               d_model=d_model, layers=layers, max_rotated=max_rotated, threads=threads, hidden=hidden,
                               dense_every=dense_every, dense_batch=dense_batch, phase=c) for c in candidates}
        scores = {c: m.validation_nll(val, max_rotated=max_rotated) for c, (m, _) in fits.items()}
        best = min(scores, key=scores.__getitem__)
        chosen, chosen_info = fits[best]
        out = chosen_info | {"phase": "select:" + best, "holdout": holdout, "shots": len(record),
                             "validation_nll": scores, "seconds": sum(i["seconds"] for _, i in fits.values())}
        if target is not None:
            out["fidelities"] = {c: i["fidelity"] for c, (_, i) in fits.items()}
            out["population_fidelities"] = {c: i.get("population_fidelity") for c, (_, i) in fits.items()}
        return chosen, out
    model = NeuralStateModel(record.n_qubits, kind=kind, d_model=d_model, layers=layers, seed=seed, hidden=hidden,
                             phase=phase)
    start = time.perf_counter()
    model.fit(record, steps=steps, batch_size=batch_size, lr=lr, seed=seed, max_rotated=max_rotated, threads=threads,
              dense_every=dense_every, dense_batch=dense_batch)
    info: dict[str, Any] = {"kind": kind, "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed,
                            "d_model": d_model, "layers": layers, "hidden": model.net.hidden,
                            "dense_every": dense_every, "dense_batch": dense_batch, "shots": len(record),
                            "phase": phase,
                            "seconds": time.perf_counter() - start,
                            "final_loss": float(np.mean([loss for _, loss in model.history_[-50:]]))}
    if target is not None:
        info["fidelity"] = model.fidelity(target)
        if model.n_qubits <= STATEVECTOR_MAX_QUBITS:  # populations alone: (sum sqrt(p q))**2
            q = model.statevector().abs().pow(2)
            t = torch.as_tensor(np.asarray(target)).reshape(-1).abs().pow(2)
            info["population_fidelity"] = float((q * t).sqrt().sum() ** 2)
    return model, info
