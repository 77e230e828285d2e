"""Fermion-to-qubit mappings: Jordan-Wigner, Bravyi-Kitaev, parity (with two-qubit reduction).

All three are *linear encodings*: the occupation vector ``n`` of the modes is stored in
the qubits as ``b = A n (mod 2)`` (``A`` = identity for Jordan-Wigner, prefix sums for
parity, the Fenwick tree for Bravyi-Kitaev). The Majorana operators
``c_j = a_j + a_j^dag`` and ``d_j = i (a_j^dag - a_j)`` then map to single Pauli strings:
``c_j`` flips the qubits of column ``j`` of ``A`` (X part) with the sign of the parity of
the modes below ``j``, which is the Z string ``A^-T r_j``; ``d_j`` is the same with
``r_j + e_j``. Products are done on bit masks, so a 12-qubit molecular Hamiltonian maps in
well under a second.

Conventions: qtandem is little-endian (qubit 0 = least significant bit of a basis index);
under Jordan-Wigner mode ``j`` is qubit ``j`` and ``|1>`` means occupied. Hermitian
operators map to real coefficients (imaginary rounding below ``1e-12`` is removed);
anti-Hermitian generators keep their exactly imaginary coefficients.

Examples:
    >>> from qtandem.chem.fermion import single_excitation
    >>> jordan_wigner(single_excitation(1, 0) + single_excitation(0, 1))
    PauliSum('0.5*X0*X1 + 0.5*Y0*Y1')
    >>> bravyi_kitaev(single_excitation(0, 0), 2)
    PauliSum('0.5 - 0.5*Z0')
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from qtandem.chem.fermion import FermionOperator
from qtandem.circuit.pauli import PauliSum, word_masks
from qtandem.errors import ChemistryError

__all__ = ["LinearEncoding", "Tapering", "bravyi_kitaev", "encode_occupation", "jordan_wigner", "parity", "taper",
           "z2_symmetries"]

_TOL = 1e-12
MAPPINGS = ("jordan_wigner", "bravyi_kitaev", "parity")


def _gf2_inverse(a: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    m = np.concatenate([a.astype(np.uint8) % 2, np.eye(n, dtype=np.uint8)], axis=1)
    for col in range(n):
        rows = np.nonzero(m[col:, col])[0]
        if rows.size == 0:
            raise ChemistryError("the encoding matrix is singular over GF(2)")
        piv = col + int(rows[0])
        if piv != col:
            m[[col, piv]] = m[[piv, col]]
        others = np.nonzero(m[:, col])[0]
        for r in others:
            if r != col:
                m[r] ^= m[col]
    inv: np.ndarray = m[:, n:]
    return inv


def _mask(bits: np.ndarray) -> int:
    return sum(1 << int(i) for i in np.nonzero(bits)[0])


class LinearEncoding:
    """A fermion-to-qubit encoding ``b = A n (mod 2)`` and its Majorana images.

    Args:
        matrix: the ``(n_modes, n_modes)`` 0/1 matrix ``A`` (invertible over GF(2)).

    Examples:
        >>> enc = LinearEncoding.of("parity", 3)
        >>> enc.matrix.tolist()
        [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
        >>> enc.encode(0b011)   # modes 0 and 1 occupied -> parities 1, 0, 0
        1
    """

    def __init__(self, matrix: np.ndarray) -> None:
        a = (np.asarray(matrix) % 2).astype(np.uint8)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ChemistryError(f"the encoding matrix must be square, got shape {a.shape}")
        self.matrix = a
        self.n_modes = a.shape[0]
        inv_t = _gf2_inverse(a).T
        # majoranas[j] = ((x, z_c), (x, z_d)): c_j = X^x Z^zc, d_j = i X^x Z^zd
        self._majoranas: list[tuple[int, int, int]] = []
        for j in range(self.n_modes):
            r = np.zeros(self.n_modes, dtype=np.uint8)
            r[:j] = 1
            x = _mask(a[:, j])
            zc = _mask(inv_t @ r % 2)
            r[j] = 1
            zd = _mask(inv_t @ r % 2)
            self._majoranas.append((x, zc, zd))

    @classmethod
    def of(cls, name: str, n_modes: int) -> LinearEncoding:
        """The encoding named ``"jordan_wigner"``, ``"parity"`` or ``"bravyi_kitaev"`` on ``n_modes`` modes.

        Examples:
            >>> LinearEncoding.of("bravyi_kitaev", 4).matrix.tolist()
            [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [1, 1, 1, 1]]
        """
        n = operator.index(n_modes)
        if name == "jordan_wigner":
            a = np.eye(n, dtype=np.uint8)
        elif name == "parity":
            a = np.tril(np.ones((n, n), dtype=np.uint8))
        elif name == "bravyi_kitaev":
            # Fenwick tree: qubit j stores the parity of modes (j + 1 - lowbit(j + 1)) .. j
            a = np.zeros((n, n), dtype=np.uint8)
            for j in range(n):
                low = (j + 1) & -(j + 1)
                a[j, j + 1 - low: j + 1] = 1
        else:
            raise ChemistryError(f"unknown mapping {name!r}; choose one of {', '.join(MAPPINGS)}")
        return cls(a)

    def encode(self, occupation: int) -> int:
        """The qubit basis index that stores the occupation bit string ``occupation`` (bit j = mode j).

        Examples:
            >>> LinearEncoding.of("jordan_wigner", 4).encode(0b0011)
            3
        """
        n = np.array([(occupation >> j) & 1 for j in range(self.n_modes)], dtype=np.uint8)
        return _mask(self.matrix @ n % 2)

    def map_masks(self, op: FermionOperator) -> dict[tuple[int, int], complex]:
        """``op`` as ``{(x_mask, z_mask): coef}`` meaning ``coef * X^x Z^z`` (Z applied first).

        Examples:
            >>> from qtandem.chem.fermion import single_excitation
            >>> LinearEncoding.of("jordan_wigner", 1).map_masks(single_excitation(0, 0))
            {(0, 0): (0.5+0j), (0, 1): (-0.5+0j)}
        """
        out: dict[tuple[int, int], complex] = {}
        n = self.n_modes
        maj = self._majoranas
        for term, coef in op.terms.items():
            prods: dict[tuple[int, int], complex] = {(0, 0): coef}
            for mode, action in term:
                if mode >= n:
                    raise ChemistryError(f"mode {mode} is out of range for {n} modes (pass a larger n_modes)")
                x, zc, zd = maj[mode]
                # a^dag = (c - i d)/2 = (X^x Z^zc + X^x Z^zd)/2; a = (X^x Z^zc - X^x Z^zd)/2
                s = 0.5 if action == 1 else -0.5
                nxt: dict[tuple[int, int], complex] = {}
                for (px, pz), pc in prods.items():
                    # (X^px Z^pz)(X^x Z^z) = (-1)^{|pz & x|} X^(px^x) Z^(pz^z)
                    sign = -1.0 if (pz & x).bit_count() & 1 else 1.0
                    for z, f in ((zc, 0.5), (zd, s)):
                        key = (px ^ x, pz ^ z)
                        nxt[key] = nxt.get(key, 0j) + pc * sign * f
                prods = nxt
            for key, c in prods.items():
                out[key] = out.get(key, 0j) + c
        return out


def masks_to_pauli(masks: dict[tuple[int, int], complex], tol: float = _TOL) -> PauliSum:
    """``{(x, z): coef}`` (``coef X^x Z^z``) as a :class:`PauliSum`, dropping ``|coef| <= tol``.

    Real and imaginary parts at or below ``tol`` are set to exactly zero.

    Examples:
        >>> masks_to_pauli({(1, 1): 1.0, (0, 2): 0.5})
        PauliSum('-1j*Y0 + 0.5*Z1')
    """
    terms: dict[tuple[tuple[int, str], ...], complex] = {}
    for (x, z), c in masks.items():
        ny = (x & z).bit_count()
        c = c * (-1j) ** ny  # X Z = -i Y
        re = 0.0 if abs(c.real) <= tol else c.real
        im = 0.0 if abs(c.imag) <= tol else c.imag
        if re == 0.0 and im == 0.0:
            continue
        word = []
        q, both = 0, x | z
        while both >> q:
            if both >> q & 1:
                word.append((q, "Y" if (x >> q & 1 and z >> q & 1) else ("X" if x >> q & 1 else "Z")))
            q += 1
        terms[tuple(word)] = complex(re, im)
    return PauliSum(terms)


def _n(op: FermionOperator, n_modes: int | None) -> int:
    if not isinstance(op, FermionOperator):
        raise ChemistryError(f"expected a FermionOperator, got {type(op).__name__}")
    n = op.n_modes if n_modes is None else operator.index(n_modes)
    if n < op.n_modes:
        raise ChemistryError(f"the operator acts on {op.n_modes} modes, more than n_modes={n}")
    return n


def jordan_wigner(op: FermionOperator, n_modes: int | None = None) -> PauliSum:
    """The Jordan-Wigner image of ``op``: ``a_j^dag = Z_0 ... Z_{j-1} (X_j - i Y_j) / 2``.

    Args:
        op: the fermion operator.
        n_modes: number of modes (default ``op.n_modes``).

    Returns:
        A :class:`PauliSum` on ``n_modes`` qubits (mode ``j`` = qubit ``j``).

    Examples:
        >>> from qtandem.chem.fermion import FermionOperator
        >>> jordan_wigner(FermionOperator.term(1, ((2, 1),)))
        PauliSum('0.5*Z0*Z1*X2 - 0.5j*Z0*Z1*Y2')
    """
    n = _n(op, n_modes)
    return masks_to_pauli(LinearEncoding.of("jordan_wigner", n).map_masks(op))


def bravyi_kitaev(op: FermionOperator, n_modes: int | None = None) -> PauliSum:
    """The Bravyi-Kitaev image of ``op`` (Fenwick-tree encoding, any number of modes).

    Qubit ``j`` stores the parity of modes ``j + 1 - lowbit(j + 1) .. j``, so both
    occupation and parity queries cost ``O(log n)`` Paulis.

    Examples:
        >>> from qtandem.chem.fermion import single_excitation
        >>> bravyi_kitaev(single_excitation(1, 1), 2)
        PauliSum('0.5 - 0.5*Z0*Z1')
    """
    n = _n(op, n_modes)
    return masks_to_pauli(LinearEncoding.of("bravyi_kitaev", n).map_masks(op))


def _block_parity_matrix(n: int) -> np.ndarray:
    """Parity encoding of the modes reordered alpha block first (interleaved mode 2p -> p, 2p+1 -> n/2 + p)."""
    pos = [m // 2 if m % 2 == 0 else n // 2 + m // 2 for m in range(n)]
    a = np.zeros((n, n), dtype=np.uint8)
    for i in range(n):
        for m in range(n):
            a[i, m] = pos[m] <= i
    return a


def _drop_bits(v: int, positions: Sequence[int]) -> int:
    for p in sorted(positions, reverse=True):
        v = (v & ((1 << p) - 1)) | ((v >> (p + 1)) << p)
    return v


def parity(op: FermionOperator, n_modes: int | None = None, two_qubit_reduction: bool = False, *,
           n_alpha: int | None = None, n_beta: int | None = None) -> PauliSum:
    """The parity-encoding image of ``op``, optionally with the two-qubit reduction.

    Without reduction qubit ``j`` stores the parity of modes ``0..j``. With
    ``two_qubit_reduction=True`` the modes are taken as interleaved spin orbitals (even =
    alpha, odd = beta) and encoded alpha block first, so qubit ``n/2 - 1`` stores the
    alpha-electron parity and qubit ``n - 1`` the total parity; both are fixed by
    ``n_alpha`` and ``n_beta``, replaced by their eigenvalues and removed (``n - 2`` qubits).

    Args:
        op: the fermion operator.
        n_modes: number of modes (default ``op.n_modes``; even for the reduction).
        two_qubit_reduction: remove the two parity qubits.
        n_alpha: alpha electrons (needed for the reduction).
        n_beta: beta electrons (needed for the reduction).

    Raises:
        ChemistryError: the reduction without ``n_alpha``/``n_beta`` or with an odd
            ``n_modes``, or an operator that changes the alpha or beta electron parity.

    Examples:
        >>> from qtandem.chem.fermion import single_excitation
        >>> parity(single_excitation(1, 1), 2)
        PauliSum('0.5 - 0.5*Z0*Z1')
        >>> n_op = single_excitation(0, 0) + single_excitation(1, 1) + single_excitation(2, 2) + single_excitation(3, 3)
        >>> parity(n_op, 4, two_qubit_reduction=True, n_alpha=1, n_beta=1)
        PauliSum('2')
    """
    n = _n(op, n_modes)
    if not two_qubit_reduction:
        return masks_to_pauli(LinearEncoding.of("parity", n).map_masks(op))
    if n_alpha is None or n_beta is None:
        raise ChemistryError("parity(..., two_qubit_reduction=True) needs n_alpha and n_beta")
    if n % 2:
        raise ChemistryError(f"the two-qubit reduction needs interleaved spin orbitals (an even n_modes), got {n}")
    return masks_to_pauli(reduce_two_qubits(LinearEncoding(_block_parity_matrix(n)).map_masks(op), n,
                                            n_alpha, n_beta))


def reduce_two_qubits(masks: dict[tuple[int, int], complex], n: int, n_alpha: int,
                      n_beta: int) -> dict[tuple[int, int], complex]:
    """Remove qubits ``n/2 - 1`` (alpha parity) and ``n - 1`` (total parity) from block-parity masks.

    Examples:
        >>> reduce_two_qubits({(0, 0b1010): 1.0}, 4, 1, 0)
        {(0, 0): (1+0j)}
    """
    qa, qt = n // 2 - 1, n - 1
    sa, st = (-1) ** n_alpha, (-1) ** (n_alpha + n_beta)
    out: dict[tuple[int, int], complex] = {}
    for (x, z), c in masks.items():
        if (x >> qa) & 1 or (x >> qt) & 1:
            if abs(c) <= _TOL:
                continue
            raise ChemistryError("the operator changes the alpha or beta electron parity, so the two-qubit "
                                 "reduction cannot represent it (use two_qubit_reduction=False)")
        if (z >> qa) & 1:
            c = c * sa
        if (z >> qt) & 1:
            c = c * st
        key = (_drop_bits(x, (qa, qt)), _drop_bits(z, (qa, qt)))
        out[key] = out.get(key, 0j) + c
    return out


def encode_occupation(occupation: int, n_modes: int, mapping: str = "jordan_wigner", *,
                      two_qubit_reduction: bool = False) -> int:
    """The qubit basis index storing an occupation bit string (bit ``j`` = mode ``j`` occupied).

    Args:
        occupation: the occupation number vector as an integer.
        n_modes: number of modes.
        mapping: ``"jordan_wigner"``, ``"bravyi_kitaev"`` or ``"parity"``.
        two_qubit_reduction: for ``"parity"``: the reduced encoding (``n_modes - 2`` qubits).

    Examples:
        >>> encode_occupation(0b0011, 4, "parity")   # parities of modes 0..j: 1, 0, 0, 0
        1
        >>> encode_occupation(0b0011, 4, "parity", two_qubit_reduction=True)   # alpha block first
        1
    """
    if mapping == "parity" and two_qubit_reduction:
        b = LinearEncoding(_block_parity_matrix(n_modes)).encode(occupation)
        return _drop_bits(b, (n_modes // 2 - 1, n_modes - 1))
    return LinearEncoding.of(mapping, n_modes).encode(occupation)


def pauli_to_masks(op: PauliSum) -> dict[tuple[int, int], complex]:
    """A :class:`PauliSum` as ``{(x, z): coef}`` with ``coef * X^x Z^z`` (``Y = i X Z``).

    Examples:
        >>> pauli_to_masks(PauliSum("Y0 + 2*Z1"))
        {(1, 1): 1j, (0, 2): (2+0j)}
    """
    out: dict[tuple[int, int], complex] = {}
    for c, w in op.terms:
        x, z, ny = word_masks(w)
        out[(x, z)] = out.get((x, z), 0j) + c * 1j**ny
    return out


def z2_symmetries(masks: dict[tuple[int, int], complex], n_qubits: int) -> list[tuple[int, int]]:
    """Independent Z-string symmetries of an operator given as masks: ``[(z_mask, pivot_qubit), ...]``.

    A Z string ``Z^z`` commutes with every term ``X^x Z^z'`` iff ``|x & z|`` is even, so
    the symmetries are the GF(2) null space of the terms' X masks. Each generator comes
    with a pivot qubit that it alone (among the generators) acts on.

    Examples:
        >>> z2_symmetries(pauli_to_masks(PauliSum("X0 X1 + Z0 Z1")), 2)
        [(3, 1)]
    """
    pivrows: dict[int, int] = {}
    for x, _ in masks:
        r = x
        for p, row in pivrows.items():
            if r >> p & 1:
                r ^= row
        if r == 0:
            continue
        p = (r & -r).bit_length() - 1
        for q in list(pivrows):
            if pivrows[q] >> p & 1:
                pivrows[q] ^= r
        pivrows[p] = r
    out = []
    for f in range(n_qubits):
        if f in pivrows:
            continue
        v = 1 << f
        for p, row in pivrows.items():
            if row >> f & 1:
                v |= 1 << p
        out.append((v, f))
    return out


class Tapering:
    """Z2 tapering: Clifford rotations ``U_i = (X_{q_i} + tau_i) / sqrt(2)`` then fixed pivot qubits.

    Each Z-string symmetry ``tau_i`` of the Hamiltonian is rotated onto ``X_{q_i}`` on its
    pivot qubit; the rotated operator acts there as ``I`` or ``X``, which is replaced by
    the sector eigenvalue and the qubit removed. The sector is the one holding the
    reference (Hartree-Fock) basis state, so its reduced image is that state without
    the pivot bits.

    Args:
        symmetries: ``[(z_mask, pivot_qubit), ...]`` from :func:`z2_symmetries`.
        n_qubits: qubits before tapering.
        reference_state: the basis index whose symmetry eigenvalues pick the sector.

    Examples:
        >>> t = Tapering([(3, 1)], 2, reference_state=0b01)
        >>> t.sector, t.n_tapered
        ((-1,), 1)
        >>> t.apply(PauliSum("X0 X1 + Z0 Z1"))
        PauliSum('-X0 - 1')
    """

    def __init__(self, symmetries: Sequence[tuple[int, int]], n_qubits: int, reference_state: int) -> None:
        self.symmetries = tuple((int(z), int(q)) for z, q in symmetries)
        self.n_qubits = int(n_qubits)
        self.sector = tuple(-1 if (z & reference_state).bit_count() & 1 else 1 for z, _ in self.symmetries)
        self.pivots = tuple(q for _, q in self.symmetries)

    @property
    def n_tapered(self) -> int:
        """Qubits left after tapering.

        Examples:
            >>> Tapering([], 3, 0).n_tapered
            3
        """
        return self.n_qubits - len(self.symmetries)

    def apply_masks(self, masks: dict[tuple[int, int], complex]) -> dict[tuple[int, int], complex]:
        """Rotate and reduce ``{(x, z): coef}`` masks (see :meth:`apply`).

        Examples:
            >>> Tapering([(3, 1)], 2, 0).apply_masks({(0, 3): 1.0})
            {(0, 0): (1+0j)}
        """
        out: dict[tuple[int, int], complex] = {}
        for (x, z), c in masks.items():
            c = complex(c)
            for zt, q in self.symmetries:
                if (x & zt).bit_count() & 1:
                    if abs(c) <= _TOL:
                        break
                    raise ChemistryError("the operator does not commute with the Z2 symmetries the problem was "
                                         "tapered with (build the problem with taper=False to use it)")
                if z >> q & 1:  # U P U = X_q tau P for P anticommuting with X_q
                    c = c * (-1 if (zt & x).bit_count() & 1 else 1)
                    x, z = x ^ (1 << q), z ^ zt
            else:
                for (_, q), s in zip(self.symmetries, self.sector, strict=True):
                    if x >> q & 1:
                        c = c * s
                key = (_drop_bits(x, self.pivots), _drop_bits(z, self.pivots))
                out[key] = out.get(key, 0j) + c
        return out

    def apply(self, op: PauliSum) -> PauliSum:
        """The tapered image of a Pauli sum that commutes with every symmetry.

        Raises:
            ChemistryError: ``op`` does not commute with a symmetry.

        Examples:
            >>> Tapering([(1, 0)], 2, 0).apply(PauliSum("Z0 Z1 + X1"))
            PauliSum('Z0 + X0')
        """
        return masks_to_pauli(self.apply_masks(pauli_to_masks(op)))

    def reduce_state(self, index: int) -> int:
        """A basis index of the full space, with the pivot bits removed (valid for states in the sector).

        Examples:
            >>> Tapering([(3, 1)], 2, 0).reduce_state(0b10)
            0
        """
        return _drop_bits(index, self.pivots)


def taper(hamiltonian: PauliSum, n_qubits: int, reference_state: int) -> tuple[PauliSum, Tapering]:
    """Find the Z-string Z2 symmetries of ``hamiltonian`` and taper one qubit per symmetry.

    Only Z-type (diagonal) symmetries are used, so the sector is read off the reference
    basis state (usually Hartree-Fock): electron-number parities and point-group
    parities of molecular Hamiltonians are of this kind under all linear encodings.

    Returns:
        ``(tapered_hamiltonian, tapering)``; use ``tapering.apply`` for other operators.

    Examples:
        >>> h, t = taper(PauliSum("Z0 + Z1 + 0.5*X0 X1"), 2, reference_state=0)
        >>> t.n_tapered, h
        (1, PauliSum('2*Z0 + 0.5*X0'))
    """
    masks = pauli_to_masks(hamiltonian)
    t = Tapering(z2_symmetries(masks, n_qubits), n_qubits, reference_state)
    return masks_to_pauli(t.apply_masks(masks)), t
