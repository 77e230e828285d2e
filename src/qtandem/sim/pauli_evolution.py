"""Products of Pauli-sum exponentials, with adjoint energy gradients, in vectorised NumPy.

A *program* is a sequence of steps applied to a basis state ``|initial>``: a rotation
``exp(-i theta G)`` whose generator ``G`` is a Hermitian :class:`~qtandem.circuit.pauli.PauliSum`
of mutually commuting strings, or a fixed Pauli-string permutation (a ``cx`` ladder is
written with :func:`cx_step`). Chemistry ansatze (excitations, qubit excitations, coupled
exchange operators, Pauli strings, hardware-efficient layers) are all such programs.

How a rotation is applied: the strings of ``G`` are grouped by their x-mask (the bits they
flip). ``G``'s part with x-mask ``x`` maps ``|i>`` to ``a(i) |i ^ x>`` with
``a(i) = sum_k c_k i**ny_k (-1)**popcount(i & z_k)`` (computed once, vectorised), so it is
block diagonal on the pairs ``(i, i ^ x)``, each block ``[[0, conj(a)], [a, 0]]`` squaring to
``|a|**2``; its exponential is ``cos(theta |a|) - i sin(theta |a|) / |a| * block`` on every pair
at once (groups with different x-masks commute, so their exponentials multiply). Pairs with
``a = 0`` are dropped, so an excitation touches only the states it moves.

Subspace: the state never leaves the span of the basis states reachable from ``initial``
through the steps' nonzero pairs (a closure computed once). The program works in that span
(``subspace=True``, the default): exact, since every step maps the span and its complement
to themselves; for number-conserving ansatze it is the particle-number sector (25 states
instead of 1,024 for LiH CAS(2,5)). ``subspace=False`` keeps all ``2**n`` amplitudes.

Energy ``<psi|H|psi>`` uses ``H`` restricted to the span as a SciPy CSR matrix; the gradient
is the adjoint method (one forward pass, one backward pass with two states):
``dE/dtheta_k = 2 Im <lambda_k| G_k |phi_k>`` with ``phi_k`` the state after step ``k`` and
``lambda_k = U_{k+1}^dagger ... U_K^dagger H |psi>``.

Examples:
    >>> from qtandem.circuit.pauli import PauliSum
    >>> prog = PauliEvolution(1, [PauliSum("0.5*Y0")], PauliSum("Z0"))
    >>> energy, grad = prog.energy_and_gradient([0.3])     # RY(0.3)|0>: <Z> = cos 0.3
    >>> round(energy, 6), round(float(grad[0]), 6)
    (0.955336, -0.29552)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qtandem.circuit.pauli import PauliSum, word_masks
from qtandem.errors import SimulationError
from qtandem.sim.sparse import _flip_amplitudes, _groups, pauli_sum_sparse

__all__ = ["FixedStep", "PauliEvolution", "cx_step"]

MAX_QUBITS = 24


@dataclass(frozen=True)
class FixedStep:
    """A fixed (parameter-free) Pauli-string-like permutation step: ``|i> -> phase(i) |perm(i)>``.

    Args:
        perm: int64 array ``(2**n,)``, the image of each basis index.
        phase: complex array ``(2**n,)`` or ``None`` (all ones).

    Examples:
        >>> step = cx_step(0, 1, 2)
        >>> step.perm.tolist()      # |01> (qubit 0 set) -> |11>
        [0, 3, 2, 1]
    """

    perm: np.ndarray
    phase: np.ndarray | None = None


def cx_step(control: int, target: int, n_qubits: int) -> FixedStep:
    """A ``cx`` gate as a :class:`FixedStep` on ``n_qubits``.

    Examples:
        >>> cx_step(1, 0, 2).perm.tolist()
        [0, 1, 3, 2]
    """
    idx = np.arange(1 << n_qubits, dtype=np.int64)
    return FixedStep(idx ^ (((idx >> control) & 1) << target))


@dataclass
class _Group:
    lo: np.ndarray            # local indices of the pair members with the lower bit
    hi: np.ndarray
    a: np.ndarray             # <hi|G|lo> / r
    b: np.ndarray             # <lo|G|hi> / r
    r: np.ndarray | float     # |a|; a float when uniform
    diag: np.ndarray | None = None   # x = 0: the real diagonal of G (all local indices)


@dataclass
class _Rotation:
    groups: list[_Group]
    param: int
    scale: float


class PauliEvolution:
    """A compiled program ``U(theta) |initial>`` with ``U = prod_k exp(-i theta_k G_k)`` (step 0 first).

    Args:
        n_qubits: number of qubits (at most 24).
        steps: the steps in application order: a Hermitian ``PauliSum`` of mutually commuting
            strings (a rotation with its own parameter), a ``(PauliSum, parameter_index, scale)``
            triple (angle ``scale * theta[parameter_index]``, so parameters can be shared), or a
            :class:`FixedStep`.
        hamiltonian: the Hermitian observable ``H``.
        initial: the basis index of the initial state (little-endian).
        subspace: work in the span reachable from ``initial`` (exact; see the module docstring).

    Raises:
        SimulationError: too many qubits, a non-Hermitian generator or generators that do not commute.

    Examples:
        >>> from qtandem.circuit.pauli import PauliSum
        >>> g = PauliSum("0.25*X0*Y1 - 0.25*Y0*X1")            # a Givens rotation
        >>> prog = PauliEvolution(2, [g], PauliSum("Z0 - Z1"), initial=0b01)
        >>> prog.dimension                                        # only |01> and |10> are reachable
        2
        >>> round(prog.energy([0.4]), 6)
        -1.842122
    """

    def __init__(self, n_qubits: int, steps: Sequence[Any], hamiltonian: PauliSum, *, initial: int = 0,
                 subspace: bool = True) -> None:
        if not 1 <= n_qubits <= MAX_QUBITS:
            raise SimulationError(f"PauliEvolution supports 1..{MAX_QUBITS} qubits, got {n_qubits}")
        if not 0 <= initial < (1 << n_qubits):
            raise SimulationError(f"initial basis index {initial} is out of range for {n_qubits} qubits")
        self.n_qubits = n_qubits
        self.initial = int(initial)
        dim = 1 << n_qubits
        full = np.arange(dim, dtype=np.int64)
        raw: list[tuple[str, Any, int, float]] = []
        n_params = 0
        for k, step in enumerate(steps):
            if isinstance(step, FixedStep):
                raw.append(("fixed", step, -1, 0.0))
                continue
            if isinstance(step, tuple):
                op, param, scale = step
            else:
                op, param, scale = step, n_params, 1.0
            if not isinstance(op, PauliSum):
                raise SimulationError(f"step {k}: expected a PauliSum generator or a FixedStep, "
                                      f"got {type(op).__name__}")
            if not op.is_hermitian(1e-10):
                raise SimulationError(f"step {k}: the generator must be Hermitian, got {op}")
            if op.num_qubits > n_qubits:
                raise SimulationError(f"step {k}: generator acts on {op.num_qubits} qubits, program has {n_qubits}")
            _check_commuting(op, k)
            raw.append(("rot", op, int(param), float(scale)))
            n_params = max(n_params, int(param) + 1)
        self.n_parameters = n_params
        # --- the reachable span ---
        if subspace:
            reach = np.zeros(dim, dtype=bool)
            reach[self.initial] = True
            flips: list[tuple[int, np.ndarray | None, np.ndarray | None]] = []
            for kind, op, _, _ in raw:
                if kind == "fixed":
                    flips.append((0, op.perm, None))
                    continue
                for x, strings in _groups(op).items():
                    if x:
                        flips.append((x, None, np.abs(_flip_amplitudes(full, strings)) > 1e-14))
            changed = True
            while changed:
                before = int(reach.sum())
                for x, perm, nonzero in flips:
                    if perm is not None:
                        reach[perm[reach]] = True
                    else:
                        assert nonzero is not None
                        src = reach & nonzero
                        reach[full[src] ^ x] = True
                changed = int(reach.sum()) != before
            basis = np.flatnonzero(reach).astype(np.int64)
        else:
            basis = full
        self.basis = basis
        pos = np.full(dim, -1, dtype=np.int64)
        pos[basis] = np.arange(len(basis))
        self._pos = pos
        self._init_local = int(pos[self.initial])
        self.steps: list[_Rotation | tuple[np.ndarray, np.ndarray | None]] = []
        for kind, op, param, scale in raw:
            if kind == "fixed":
                perm_local = pos[op.perm[basis]]
                phase = None if op.phase is None else np.asarray(op.phase, dtype=np.complex128)[basis]
                # new[perm_local[j]] = phase[j] * old[j]; store as a gather: new = (phase*old)[inv]
                inv = np.empty_like(perm_local)
                inv[perm_local] = np.arange(len(basis))
                self.steps.append((inv, phase))
                continue
            self.steps.append(_Rotation(self._compile_groups(op), param, scale))
        self.hamiltonian_csr = pauli_sum_sparse(hamiltonian, n_qubits, basis=basis if subspace else None)
        self._h_const = 0.0

    @property
    def dimension(self) -> int:
        """The number of amplitudes the program keeps (the reachable span's size)."""
        return len(self.basis)

    def _compile_groups(self, op: PauliSum) -> list[_Group]:
        basis = self.basis
        out: list[_Group] = []
        for x, strings in _groups(op).items():
            if x == 0:
                d = _flip_amplitudes(basis, strings)
                out.append(_Group(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0), 0.0,
                                  diag=d.real.copy()))
                continue
            top = 1 << (int(x).bit_length() - 1)
            lo_full = basis[(basis & top) == 0]
            a = _flip_amplitudes(lo_full, strings)
            keep = np.abs(a) > 1e-14
            lo_full, a = lo_full[keep], a[keep]
            hi_full = lo_full ^ x
            lo, hi = self._pos[lo_full], self._pos[hi_full]
            ok = hi >= 0
            lo, hi, a, hi_full = lo[ok], hi[ok], a[ok], hi_full[ok]
            if len(lo) == 0:
                continue
            b = _flip_amplitudes(hi_full, strings)
            r = np.abs(a)
            r_val: np.ndarray | float = float(r[0]) if np.allclose(r, r[0], rtol=0, atol=1e-14) else r
            out.append(_Group(lo, hi, a / r, b / r, r_val))
        return out

    # -- application ---------------------------------------------------------------------------------
    @staticmethod
    def _rotate(psi: np.ndarray, groups: Sequence[_Group], angle: np.ndarray | float) -> None:
        """In place ``psi <- exp(-i angle G) psi``; ``psi`` (dim,) or (B, dim), ``angle`` scalar or (B, 1)."""
        for g in groups:
            if g.diag is not None:
                psi *= np.exp(-1j * angle * g.diag)
                continue
            c = np.cos(angle * g.r)
            s = -1j * np.sin(angle * g.r)
            lo = psi[..., g.lo]
            hi = psi[..., g.hi]
            psi[..., g.lo] = c * lo + (s * g.b) * hi
            psi[..., g.hi] = c * hi + (s * g.a) * lo

    @staticmethod
    def _apply_generator_dot(lam: np.ndarray, phi: np.ndarray, groups: Sequence[_Group]) -> complex:
        """``<lam| G |phi>`` (``r`` included)."""
        total = 0j
        for g in groups:
            if g.diag is not None:
                total += complex(np.vdot(lam, g.diag * phi))
                continue
            ra = g.r * g.a
            rb = g.r * g.b
            total += complex(np.vdot(lam[g.hi], ra * phi[g.lo]) + np.vdot(lam[g.lo], rb * phi[g.hi]))
        return total

    def _angles(self, theta: Sequence[float] | np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1] != self.n_parameters:
            raise SimulationError(f"expected {self.n_parameters} parameters, got {theta.shape[-1]}")
        return theta

    def _forward(self, theta: np.ndarray) -> np.ndarray:
        psi = np.zeros(self.dimension, dtype=np.complex128)
        psi[self._init_local] = 1.0
        for step in self.steps:
            if isinstance(step, _Rotation):
                self._rotate(psi, step.groups, step.scale * theta[step.param])
            else:
                inv, phase = step
                psi = (psi if phase is None else phase * psi)[inv]
        return psi

    def local_state(self, theta: Sequence[float] | np.ndarray) -> np.ndarray:
        """The final state on the span (amplitudes of :attr:`basis`), complex128 ``(dimension,)``.

        Examples:
            >>> from qtandem.circuit.pauli import PauliSum
            >>> PauliEvolution(1, [PauliSum("0.5*X0")], PauliSum("Z0")).local_state([0.0]).tolist()
            [(1+0j), 0j]
        """
        return self._forward(self._angles(theta))

    def state(self, theta: Sequence[float] | np.ndarray) -> np.ndarray:
        """The final state on all ``2**n`` amplitudes (little-endian), complex128.

        Examples:
            >>> from qtandem.circuit.pauli import PauliSum
            >>> import numpy as np
            >>> psi = PauliEvolution(1, [PauliSum("0.5*Y0")], PauliSum("Z0")).state([np.pi])
            >>> np.round(psi.real, 6).tolist()
            [0.0, 1.0]
        """
        full = np.zeros(1 << self.n_qubits, dtype=np.complex128)
        full[self.basis] = self.local_state(theta)
        return full

    def energy(self, theta: Sequence[float] | np.ndarray) -> float:
        """``<psi(theta)| H |psi(theta)>``.

        Examples:
            >>> from qtandem.circuit.pauli import PauliSum
            >>> round(PauliEvolution(1, [PauliSum("0.5*Y0")], PauliSum("Z0")).energy([0.0]), 6)
            1.0
        """
        psi = self._forward(self._angles(theta))
        return float(np.vdot(psi, self.hamiltonian_csr @ psi).real)

    def energy_and_gradient(self, theta: Sequence[float] | np.ndarray) -> tuple[float, np.ndarray]:
        """Energy and its exact gradient by the adjoint method (one forward and one backward pass).

        Examples:
            >>> from qtandem.circuit.pauli import PauliSum
            >>> prog = PauliEvolution(1, [PauliSum("0.5*Y0")], PauliSum("X0"))
            >>> e, g = prog.energy_and_gradient([0.0])
            >>> round(e, 6), round(float(g[0]), 6)     # <X> = sin(t)
            (0.0, 1.0)
        """
        th = self._angles(theta)
        phi = self._forward(th)
        lam = self.hamiltonian_csr @ phi
        energy = float(np.vdot(phi, lam).real)
        grad = np.zeros(self.n_parameters)
        for step in reversed(self.steps):
            if isinstance(step, _Rotation):
                z = self._apply_generator_dot(lam, phi, step.groups)
                grad[step.param] += step.scale * 2.0 * z.imag
                angle = -step.scale * th[step.param]
                self._rotate(phi, step.groups, angle)
                self._rotate(lam, step.groups, angle)
            else:
                inv, phase = step
                fwd = np.empty_like(inv)
                fwd[inv] = np.arange(len(inv))
                phi = phi[fwd]
                lam = lam[fwd]
                if phase is not None:
                    phi = phi / phase
                    lam = lam / phase
        return energy, grad

    def generator_gradients(self, state: np.ndarray) -> np.ndarray:
        """``2 Im <psi|H G_k|psi>`` for every rotation step ``k``: the energy gradient of appending
        ``exp(-i theta G_k)`` to a state ``psi`` at ``theta = 0`` (``= i <psi|[H, G_k]|psi>``), all from one
        ``H psi``. ADAPT's pool gradients.

        Args:
            state: ``psi`` on all ``2**n`` amplitudes; it must lie in this program's span.

        Raises:
            SimulationError: ``psi`` has weight outside the span.

        Examples:
            >>> from qtandem.circuit.pauli import PauliSum
            >>> pool = PauliEvolution(1, [PauliSum("0.5*Y0"), PauliSum("0.5*X0")], PauliSum("X0"))
            >>> np.round(pool.generator_gradients(np.array([1, 0], dtype=complex)), 6).tolist()
            [1.0, 0.0]
        """
        psi = np.asarray(state, dtype=np.complex128)
        if psi.shape != (1 << self.n_qubits,):
            raise SimulationError(f"state must have shape ({1 << self.n_qubits},), got {psi.shape}")
        phi = psi[self.basis]
        leak = float(np.vdot(psi, psi).real - np.vdot(phi, phi).real)
        if leak > 1e-10:
            raise SimulationError(f"the state has weight {leak:.3g} outside the program's span")
        lam = self.hamiltonian_csr @ phi
        out = []
        for step in self.steps:
            if isinstance(step, _Rotation):
                out.append(step.scale * 2.0 * self._apply_generator_dot(lam, phi, step.groups).imag)
        return np.asarray(out, dtype=np.float64)

    def energies(self, thetas: np.ndarray) -> np.ndarray:
        """Energies of a batch of parameter vectors ``(B, n_parameters)`` in one batched simulation.

        Examples:
            >>> from qtandem.circuit.pauli import PauliSum
            >>> prog = PauliEvolution(1, [PauliSum("0.5*Y0")], PauliSum("Z0"))
            >>> np.round(prog.energies(np.array([[0.0], [np.pi]])), 6).tolist()
            [1.0, -1.0]
        """
        th = self._angles(np.atleast_2d(thetas))
        batch = th.shape[0]
        psi = np.zeros((batch, self.dimension), dtype=np.complex128)
        psi[:, self._init_local] = 1.0
        for step in self.steps:
            if isinstance(step, _Rotation):
                self._rotate(psi, step.groups, step.scale * th[:, step.param:step.param + 1])
            else:
                inv, phase = step
                psi = (psi if phase is None else phase * psi)[:, inv]
        hpsi = (self.hamiltonian_csr @ psi.T).T
        return np.einsum("bi,bi->b", psi.conj(), hpsi).real

    def parameter_shift_gradient(self, theta: Sequence[float] | np.ndarray) -> np.ndarray:
        """The gradient from shifted energies, all shifts in one batched simulation (4 per parameter).

        Valid when every parameter drives one rotation whose generator has eigenvalues in
        ``{0, +-r}`` (Pauli strings, excitations, qubit excitations): then ``E`` along that parameter is
        ``A + B cos(r t) + C sin(r t) + D cos(2 r t) + F sin(2 r t)`` and shifts by ``pi/(2r)`` and
        ``pi/(4r)`` give ``C`` and ``F`` exactly.

        Raises:
            SimulationError: a generator outside that class, or a parameter shared by several rotations.

        Examples:
            >>> from qtandem.circuit.pauli import PauliSum
            >>> prog = PauliEvolution(1, [PauliSum("0.5*Y0")], PauliSum("X0"))
            >>> round(float(prog.parameter_shift_gradient([0.2])[0]), 6)   # cos(0.2)
            0.980067
        """
        th = self._angles(theta)
        rs = np.zeros(self.n_parameters)
        seen = np.zeros(self.n_parameters, dtype=int)
        for step in self.steps:
            if not isinstance(step, _Rotation):
                continue
            seen[step.param] += 1
            rvals = {round(float(np.max(g.r)), 12) for g in step.groups if g.diag is None} | {
                round(float(np.max(np.abs(g.diag))), 12) for g in step.groups if g.diag is not None}
            uniform = all(isinstance(g.r, float) for g in step.groups if g.diag is None)
            if len(rvals) != 1 or not uniform or len(step.groups) != 1:
                raise SimulationError("parameter_shift_gradient needs single-group generators with eigenvalues "
                                      "in {0, +-r}; use energy_and_gradient")
            rs[step.param] = rvals.pop() * abs(step.scale)
        if np.any(seen != 1):
            raise SimulationError("parameter_shift_gradient needs each parameter to drive exactly one rotation")
        p = self.n_parameters
        shifts = np.concatenate([np.pi / (2 * rs), np.pi / (4 * rs)])
        batch = np.repeat(th[None, :], 4 * p, axis=0)
        idx = np.arange(p)
        for j, sign in enumerate((1.0, -1.0)):
            batch[2 * j * p + idx, idx] += sign * shifts[:p]
            batch[(2 * j + 1) * p + idx, idx] += sign * shifts[p:]
        e = self.energies(batch)
        d1 = e[0:p] - e[2 * p:3 * p]           # 2C sin(pi/2) + 2F sin(pi)   = 2C
        d2 = e[p:2 * p] - e[3 * p:4 * p]       # 2C sin(pi/4) + 2F sin(pi/2) = sqrt(2) C + 2F
        c = d1 / 2.0
        f = (d2 - np.sqrt(2.0) * c) / 2.0
        return rs * c + 2.0 * rs * f


def _check_commuting(op: PauliSum, k: int) -> None:
    masks = [word_masks(word)[:2] for coef, word in op.terms if coef != 0]
    for i in range(len(masks)):
        xi, zi = masks[i]
        for j in range(i + 1, len(masks)):
            xj, zj = masks[j]
            if (int(xi & zj).bit_count() + int(zi & xj).bit_count()) % 2:
                raise SimulationError(f"step {k}: the generator's strings must commute pairwise")
