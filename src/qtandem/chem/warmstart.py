"""Warm starts along a bond-length curve: predict ansatz parameters at a new geometry from solved ones.

Three starts are compared in :func:`qtandem.chem.curve` (``init=``):

- ``"cold"``: the reference state (all parameters zero: the Hartree-Fock determinant for UCC-type ansatze);
- ``"transfer"``: the parameters of the nearest solved geometry, orbitals aligned by
  :func:`qtandem.chem.align` (so amplitudes keep their signs and meaning);
- ``"learned"``: :func:`two_level_parameters` (a cheap, per-parameter estimate from three Hamiltonian matrix
  elements between the Hartree-Fock determinant and the one the operator excites, Slater-Condon level: no
  state simulation) plus :class:`WarmStartModel`'s prediction of the remaining difference, a Gaussian
  process over the bond length with a linear mean fitted to every solved point (its three nearest by
  default). Near dissociation the amplitudes saturate as the HOMO-LUMO gap closes; the two-level estimate
  follows that saturation, and the model learns the (smoother) correction from the solved neighbours.

The model is a small NumPy Gaussian process (no extra dependency): per parameter, a least-squares linear mean
in the features plus an RBF-kernel GP on the residuals, with one length scale per model chosen by the summed
log marginal likelihood over a grid. Everything is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qtandem.errors import ChemistryError

__all__ = ["WarmStartModel", "predict_operators", "transfer_parameters", "two_level_parameters"]


class WarmStartModel:
    """Gaussian process with a linear mean that maps geometry features to ansatz parameters.

    scikit-learn style: ``__init__`` stores hyperparameters, :meth:`fit` returns ``self``, learned
    attributes end in ``_``.

    Args:
        length_scales: candidate RBF length scales, in units of the features' standard deviation; the one
            with the highest summed log marginal likelihood is kept (``length_scale_``).
        noise: jitter added to the kernel diagonal (relative to the residuals' variance).
        linear_mean: fit a least-squares linear trend first (with fewer than 3 points: a constant mean).
        max_points: use at most this many training points, the ones nearest (in features) to the query.
            ``None`` keeps all.

    Examples:
        >>> import numpy as np
        >>> d = np.array([[0.7], [0.9], [1.1], [1.3]])
        >>> theta = np.hstack([0.1 * d, -0.05 * d ** 2])       # two parameters, smooth in d
        >>> model = WarmStartModel().fit(d, theta)
        >>> pred = model.predict([[1.5]])
        >>> pred.shape
        (1, 2)
        >>> bool(abs(pred[0, 0] - 0.15) < 1e-3)                 # a linear trend is extrapolated exactly
        True
    """

    def __init__(self, *, length_scales: Sequence[float] = (0.5, 1.0, 2.0, 4.0), noise: float = 1e-6,
                 linear_mean: bool = True, max_points: int | None = None) -> None:
        self.length_scales = tuple(float(s) for s in length_scales)
        self.noise = float(noise)
        self.linear_mean = bool(linear_mean)
        self.max_points = max_points

    def fit(self, features: np.ndarray | Sequence[Sequence[float]],
            parameters: np.ndarray | Sequence[Sequence[float]]) -> WarmStartModel:
        """Fit to solved points.

        Args:
            features: ``(n_points, n_features)`` geometry features (e.g. the bond length).
            parameters: ``(n_points, n_parameters)`` optimised ansatz parameters at those points.

        Returns:
            ``self``.

        Raises:
            ChemistryError: no points, or shapes that disagree.

        Examples:
            >>> WarmStartModel().fit([[1.0], [1.2]], [[0.1], [0.2]]).n_points_
            2
        """
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        y = np.asarray(parameters, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if x.shape[0] == 0 or x.shape[0] != y.shape[0]:
            raise ChemistryError(f"WarmStartModel.fit: need the same positive number of feature rows and parameter "
                                 f"rows, got {x.shape[0]} and {y.shape[0]}")
        self.x_ = x
        self.y_ = y
        self.n_points_ = int(x.shape[0])
        self.scale_ = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        self.center_ = x.mean(axis=0)
        return self

    def _design(self, z: np.ndarray, n_points: int) -> np.ndarray:
        if self.linear_mean and n_points >= 3:
            return np.hstack([np.ones((z.shape[0], 1)), z])
        return np.ones((z.shape[0], 1))

    def predict(self, features: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Predicted parameters at new geometries.

        Args:
            features: ``(n_queries, n_features)``.

        Returns:
            ``(n_queries, n_parameters)`` float64 array.

        Examples:
            >>> WarmStartModel().fit([[1.0], [1.2]], [[0.1], [0.2]]).predict([[1.0]]).round(6).tolist()
            [[0.1]]
        """
        if not hasattr(self, "x_"):
            raise ChemistryError("WarmStartModel.predict: call fit(...) first")
        q = np.atleast_2d(np.asarray(features, dtype=np.float64))
        out: np.ndarray = np.empty((q.shape[0], self.y_.shape[1]))
        for row in range(q.shape[0]):
            out[row] = self._predict_one(q[row])
        return out

    def _predict_one(self, query: np.ndarray) -> np.ndarray:
        x, y = self.x_, self.y_
        if self.max_points is not None and x.shape[0] > self.max_points:
            keep = np.argsort(np.linalg.norm((x - query) / self.scale_, axis=1), kind="stable")[:self.max_points]
            x, y = x[keep], y[keep]
        z = (x - self.center_) / self.scale_
        zq = ((query - self.center_) / self.scale_)[None, :]
        design = self._design(z, x.shape[0])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        mean_q = self._design(zq, x.shape[0]) @ coef
        var = float(np.mean(resid ** 2))
        if x.shape[0] < 2 or var < 1e-24:
            self.length_scale_ = float("nan")
            return np.asarray(mean_q[0])
        best: tuple[float, float] | None = None
        d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2)
        dq = ((z - zq) ** 2).sum(axis=1)
        for ell in self.length_scales:
            k = var * np.exp(-0.5 * d2 / ell ** 2) + (self.noise * var + 1e-12) * np.eye(len(z))
            try:
                chol = np.linalg.cholesky(k)
            except np.linalg.LinAlgError:
                continue
            alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, resid))
            lml = float(-0.5 * np.sum(resid * alpha) - resid.shape[1] * np.log(np.diag(chol)).sum())
            if best is None or lml > best[0]:
                best = (lml, ell)
        if best is None:
            self.length_scale_ = float("nan")
            return np.asarray(mean_q[0])
        ell = best[1]
        self.length_scale_ = ell
        k = var * np.exp(-0.5 * d2 / ell ** 2) + (self.noise * var + 1e-12) * np.eye(len(z))
        kq = var * np.exp(-0.5 * dq / ell ** 2)
        return np.asarray(mean_q[0] + kq @ np.linalg.solve(k, resid))

    def __repr__(self) -> str:
        return (f"WarmStartModel(length_scales={self.length_scales}, noise={self.noise}, "
                f"linear_mean={self.linear_mean}, max_points={self.max_points})")


def transfer_parameters(solved_features: np.ndarray | Sequence[Sequence[float]],
                        solved_parameters: Sequence[np.ndarray], query: Sequence[float]) -> np.ndarray:
    """Aligned transfer: the parameters of the solved point nearest to ``query`` in features.

    Args:
        solved_features: ``(n_points, n_features)``.
        solved_parameters: one parameter vector per point.
        query: features of the new point.

    Returns:
        A copy of the nearest point's parameters.

    Examples:
        >>> transfer_parameters([[1.0], [2.0]], [np.array([0.1]), np.array([0.3])], [2.2]).tolist()
        [0.3]
    """
    x = np.atleast_2d(np.asarray(solved_features, dtype=np.float64))
    if x.shape[0] == 0 or x.shape[0] != len(solved_parameters):
        raise ChemistryError("transfer_parameters: need one parameter vector per solved point, and at least one")
    nearest = int(np.argmin(np.linalg.norm(x - np.asarray(query, dtype=np.float64), axis=1)))
    return np.array(solved_parameters[nearest], dtype=np.float64, copy=True)


def predict_operators(solved_features: np.ndarray | Sequence[Sequence[float]],
                      solved_operators: Sequence[Sequence[str]], query: Sequence[float]) -> list[str]:
    """ADAPT operator sequence for a new geometry: the nearest solved point's sequence, then every other
    operator chosen by the solved points (nearest point first), without repeats.

    The ADAPT run then starts from this sequence (parameters from :class:`WarmStartModel` over the common
    prefix) and keeps growing it only where the pool gradients ask for more.

    Examples:
        >>> predict_operators([[1.0], [2.0]], [["a", "b"], ["a", "c"]], [2.1])
        ['a', 'c', 'b']
    """
    x = np.atleast_2d(np.asarray(solved_features, dtype=np.float64))
    if x.shape[0] != len(solved_operators):
        raise ChemistryError("predict_operators: need one operator sequence per solved point")
    order = np.argsort(np.linalg.norm(x - np.asarray(query, dtype=np.float64), axis=1), kind="stable")
    out: list[str] = []
    for i in order:
        for label in solved_operators[int(i)]:
            if label not in out:
                out.append(label)
    return out


def _apply(op: Any, state: dict[int, complex]) -> dict[int, complex]:
    """``op |state>`` for a :class:`~qtandem.circuit.pauli.PauliSum` and a sparse state ``{basis: amplitude}``."""
    from qtandem.circuit.pauli import word_masks

    out: dict[int, complex] = {}
    for coef, word in op.terms:
        x, z, ny = word_masks(word)
        phase0 = coef * (1j ** ny)
        for b, amp in state.items():
            sign = -1.0 if bin(b & z).count("1") % 2 else 1.0
            key = b ^ x
            out[key] = out.get(key, 0.0) + phase0 * sign * amp
    return {k: v for k, v in out.items() if abs(v) > 1e-14}


def _inner(a: dict[int, complex], b: dict[int, complex]) -> complex:
    return sum((a[k].conjugate() * b[k] for k in a.keys() & b.keys()), 0j)


def two_level_parameters(hamiltonian: Any, generators: Sequence[Any], reference: int) -> np.ndarray:
    """Per-parameter two-level estimates: for ``exp(-i theta G_k)`` on the reference determinant, the
    ``theta`` minimising the energy in the span of ``|ref>`` and ``G_k|ref>`` alone.

    With ``v = G|ref>``, ``r = |v|`` and ``|D> = -i v / r`` (so ``exp(-i theta G)|ref> = cos(r theta)|ref> +
    sin(r theta)|D>`` when ``G^2 |ref> = r^2 |ref>``), the energy along ``theta`` is
    ``A + B cos(2 r theta) + C sin(2 r theta)`` with ``B = (H_00 - H_DD)/2``, ``C = Re H_0D``, minimised at
    ``2 r theta = atan2(-C, -B)``. Only three matrix elements between determinants per parameter (what
    Slater-Condon rules give classically for any size); ``0`` where ``G`` does not act on the reference.

    Args:
        hamiltonian: the qubit Hamiltonian (``PauliSum``).
        generators: the operators' Hermitian generators (``PauliSum``), in parameter order.
        reference: the reference basis state (e.g. ``problem.hf_state``).

    Returns:
        ``(len(generators),)`` float64 array.

    Examples:
        >>> from qtandem.circuit.pauli import PauliSum
        >>> h = PauliSum.from_string("-0.5*Z0 + 0.5*Z1 + 0.3*X0*X1 + 0.3*Y0*Y1")   # a two-level problem
        >>> g = PauliSum.from_string("0.5*X0*Y1 - 0.5*Y0*X1")                        # moves 1 -> 2
        >>> theta = two_level_parameters(h, [g], 0b01)
        >>> import scipy.linalg
        >>> psi = scipy.linalg.expm(-1j * theta[0] * g.to_matrix(2).numpy()) @ np.eye(4)[1]
        >>> e = float(np.real(psi.conj() @ h.to_matrix(2).numpy() @ psi))
        >>> bool(abs(e - np.linalg.eigvalsh(h.to_matrix(2).numpy())[0]) < 1e-9)
        True
    """
    ref = {int(reference): 1.0 + 0j}
    h_ref = _apply(hamiltonian, ref)
    h00 = _inner(ref, h_ref).real
    out: np.ndarray = np.zeros(len(generators))
    for k, gen in enumerate(generators):
        v = _apply(gen, ref)
        r = float(np.sqrt(sum(abs(a) ** 2 for a in v.values())))
        if r < 1e-12:
            continue
        gv = _apply(gen, v)
        if abs(_inner(ref, gv) - r * r) > 1e-9 or sum(abs(a) ** 2 for a in gv.values()) > r ** 4 + 1e-9:
            continue  # G^2 |ref> leaves the span: no two-level closed form
        d = {key: -1j * a / r for key, a in v.items()}
        hdd = _inner(d, _apply(hamiltonian, d)).real
        h0d = _inner(h_ref, d).real
        out[k] = float(np.arctan2(-h0d, -(h00 - hdd) / 2)) / (2 * r)
    return out
