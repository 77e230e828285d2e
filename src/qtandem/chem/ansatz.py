"""Ansatze for VQE: Givens-rotation UCCSD, k-UpCCGSD, hardware-efficient, and the ADAPT pools' operators.

Every ansatz is a list of :class:`Operator` s applied to the Hartree-Fock state, operator ``k``
as ``exp(-i theta_k G_k)`` with ``G_k`` a Hermitian :class:`~qtandem.circuit.pauli.PauliSum` of
commuting strings. The energy path compiles the generators into a
:class:`~qtandem.sim.pauli_evolution.PauliEvolution` (exact adjoint gradients, vectorised); the
circuit path writes each operator as gates in {x, h, s, sdg, ry, rz, cx}, and a test checks that
both give the same state.

Operators (interleaved spin orbitals under Jordan-Wigner, qubit ``j`` = spin orbital ``j``):

- *qubit excitation* (``"qe"``, the Givens-rotation form of UCCSD, PennyLane's
  ``SingleExcitation``/``DoubleExcitation`` with the same angle): ``G = -i (T - T^dagger) / 2`` with
  ``T = sigma+_v ... sigma-_o ...`` moving occupation from qubits ``o`` to ``v`` without parity strings.
  Circuit: a single is ``h cx (ry ry) cx h`` (2 ``cx``); a double is a ``cx`` fan-out from its first
  qubit, a uniformly controlled ``ry`` (Gray code, 8 ``cx``) and the fan-out again (14 ``cx``).
- *coupled exchange operator* (``"ceo"``, Ramoa et al., arXiv:2407.08696, the one-parameter
  "OVP" form): the sum or difference of two qubit double excitations on the same four qubits; the same
  circuit as one double (14 ``cx``).
- *Pauli string* (``"pauli"``, qubit-ADAPT, Tang et al. PRX Quantum 2, 020310): ``G = P``; a
  ``cx`` ladder, ``2 (w - 1)`` ``cx``.
- *fermionic excitation* (``"fermionic"``): ``G = -i (A - A^dagger) / 2`` for ``A`` a product of ladder
  operators, mapped with the problem's mapping. Under Jordan-Wigner it is a qubit excitation times a
  ``Z`` parity string: the same circuit with the string's parity computed by a ``cx`` ladder and
  flipping the rotation (``2 |S| + 14`` ``cx`` for a double with ``|S|`` parity qubits); other mappings
  get one Pauli gadget per string.
- *rotation* (``"rotation"``, HEA): ``G = P / 2`` for a one-qubit ``P`` (``ry``/``rz`` gates).

Examples:
    >>> from qtandem.circuit.pauli import PauliSum
    >>> op = qubit_excitation((0,), (1,))
    >>> op.label, op.cnots
    ('qe(0->1)', 2)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qtandem.circuit import Circuit
from qtandem.circuit.pauli import PauliSum, Word, word_masks
from qtandem.errors import ChemistryError
from qtandem.sim.pauli_evolution import FixedStep, PauliEvolution, cx_step

__all__ = ["ANSATZE", "Ansatz", "Operator", "ansatz", "excitations", "fermionic_excitation", "pauli_operator",
           "qubit_excitation"]

ANSATZE = ("uccsd", "fermionic-uccsd", "kupccgsd", "hea")


def _sp(q: int) -> PauliSum:
    """sigma+ = |1><0| on qubit q."""
    return PauliSum({((q, "X"),): 0.5, ((q, "Y"),): -0.5j})


def _sm(q: int) -> PauliSum:
    return PauliSum({((q, "X"),): 0.5, ((q, "Y"),): 0.5j})


@dataclass(frozen=True)
class Operator:
    """One ansatz or pool operator: ``exp(-i theta G)``.

    Attributes:
        label: a readable name, e.g. ``"qe(0,1->4,5)"``.
        generator: the Hermitian generator ``G``.
        kind: ``"qe"``, ``"ceo"``, ``"pauli"``, ``"fermionic"`` or ``"rotation"``.
        qubits: the qubits it acts on.

    Examples:
        >>> op = pauli_operator(PauliSum.from_string("X0 Y2"))
        >>> op.kind, op.qubits, op.cnots
        ('pauli', (0, 2), 2)
    """

    label: str
    generator: PauliSum
    kind: str
    qubits: tuple[int, ...]
    _strings: tuple[tuple[complex, Word], ...] = field(default=(), repr=False, compare=False)

    @property
    def cnots(self) -> int:
        """``cx`` gates in this operator's circuit before compilation."""
        c = Circuit(max(self.qubits) + 1)
        append_operator(c, self, 0.3)
        return c.count_ops().get("cx", 0)


def qubit_excitation(occupied: Sequence[int], virtual: Sequence[int], *, sign: int = 1) -> Operator:
    """The qubit excitation moving occupation from ``occupied`` to ``virtual`` (Givens-rotation form).

    ``exp(-i theta G)`` maps the state with ``occupied`` set to ``cos(theta/2)`` of itself minus
    ``sin(theta/2)`` of the state with ``virtual`` set (PennyLane's ``SingleExcitation`` and
    ``DoubleExcitation`` on wires ``occupied + virtual``).

    Examples:
        >>> op = qubit_excitation((0, 1), (2, 3))
        >>> op.label, len(op.generator)
        ('qe(0,1->2,3)', 8)
    """
    t = PauliSum.identity(1.0)
    for v in virtual:
        t = t @ _sp(v)
    for o in occupied:
        t = t @ _sm(o)
    gen = ((-0.5j * sign) * (t - t.adjoint())).simplify()
    label = f"qe({','.join(map(str, occupied))}->{','.join(map(str, virtual))})"
    return Operator(label, gen, "qe", tuple(sorted((*occupied, *virtual))))


def pauli_operator(string: PauliSum, label: str | None = None) -> Operator:
    """A single Pauli string as a generator (qubit-ADAPT's pool), coefficient normalised to 1.

    Examples:
        >>> pauli_operator(PauliSum.from_string("-2*Y0 X1")).generator
        PauliSum('Y0*X1')
    """
    terms = [(c, w) for c, w in string.terms if c != 0]
    if len(terms) != 1 or not terms[0][1]:
        raise ChemistryError(f"pauli_operator takes one non-identity Pauli string, got {string}")
    word = terms[0][1]
    name = label or "".join(f"{letter}{q}" for q, letter in word)
    return Operator(name, PauliSum({word: 1.0}), "pauli", tuple(q for q, _ in word))


def fermionic_excitation(problem: Any, annihilate: Sequence[int], create: Sequence[int]) -> Operator:
    """The fermionic excitation ``-i (A - A^dagger) / 2`` with ``A = a_create^dagger... a_annihilate...``, mapped.

    Uses ``problem.map`` (the problem's own mapping) when it has one, else Jordan-Wigner.

    Examples:
        >>> op = fermionic_excitation(None, (0,), (2,))
        >>> op.generator
        PauliSum('0.25*Y0*Z1*X2 - 0.25*X0*Z1*Y2')
    """
    ladder = tuple((p, 1) for p in create) + tuple((p, 0) for p in reversed(annihilate))
    label = f"f({','.join(map(str, annihilate))}->{','.join(map(str, create))})"
    if problem is not None and hasattr(problem, "map"):
        from qtandem.chem.fermion import FermionOperator, anti_hermitian

        mapped = problem.map(anti_hermitian(FermionOperator.term(1.0, ladder)))
    else:
        mapped = _jw_product(ladder)
        mapped = mapped - mapped.adjoint()
    gen = (-0.5j * mapped).simplify(1e-12)
    qubits = tuple(sorted({q for _, w in gen.terms for q, _ in w}))
    return Operator(label, gen, "fermionic", qubits)


def symmetry_allowed(problem: Any, annihilate: Sequence[int], create: Sequence[int]) -> bool:
    """Whether the excitation survives the problem's reduction/tapering (``problem.conserves_symmetries``).

    Problems without reductions (or objects without that method) allow every excitation.
    """
    check = getattr(problem, "conserves_symmetries", None)
    if check is None:
        return True
    from qtandem.chem.fermion import FermionOperator, anti_hermitian

    ladder = tuple((p, 1) for p in create) + tuple((p, 0) for p in reversed(annihilate))
    return bool(check(anti_hermitian(FermionOperator.term(1.0, ladder))))


def require_jordan_wigner(problem: Any, what: str) -> None:
    """Raise unless ``problem`` is an untapered Jordan-Wigner problem (qubit ``j`` = spin orbital ``j``).

    Raises:
        ChemistryError: another mapping, a reduction or tapering.
    """
    mapping = getattr(problem, "mapping", "jordan_wigner")
    n_orb = getattr(problem, "n_orbitals", None)
    if mapping != "jordan_wigner" or getattr(problem, "tapering", None) is not None or (
            n_orb is not None and int(problem.n_qubits) != 2 * int(n_orb)):
        raise ChemistryError(f"{what} is built from qubit excitations on Jordan-Wigner occupations; this problem "
                             f"uses mapping {mapping!r} on {problem.n_qubits} qubits. Use mapping='jordan_wigner' "
                             f"without taper, or a fermionic ansatz ('fermionic-uccsd', 'kupccgsd', 'adapt', "
                             f"'qubit-adapt'), which go through problem.map")


def _jw_product(ladder: Sequence[tuple[int, int]]) -> PauliSum:
    out = PauliSum.identity(1.0)
    for p, dagger in ladder:
        z = PauliSum.identity(1.0)
        for k in range(p):
            z = z @ PauliSum({((k, "Z"),): 1.0})
        out = out @ z @ (_sp(p) if dagger else _sm(p))
    return out


def _spin_orbitals(problem: Any) -> tuple[list[int], list[int]]:
    n_alpha, n_beta, n_orb = int(problem.n_alpha), int(problem.n_beta), int(problem.n_orbitals)
    occ = sorted([2 * i for i in range(n_alpha)] + [2 * i + 1 for i in range(n_beta)])
    virt = [p for p in range(2 * n_orb) if p not in occ]
    return occ, virt


def excitations(problem: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """Spin-conserving singles ``(o, v)`` and doubles ``(o1, o2, v1, v2)`` from the HF determinant.

    In PennyLane's ``qchem.excitations`` order (interleaved spin orbitals, even = alpha).

    Examples:
        >>> from types import SimpleNamespace
        >>> singles, doubles = excitations(SimpleNamespace(n_alpha=1, n_beta=1, n_orbitals=2))
        >>> singles, doubles
        ([(0, 2), (1, 3)], [(0, 1, 2, 3)])
    """
    occ, virt = _spin_orbitals(problem)
    singles = [(o, v) for o in occ for v in virt if o % 2 == v % 2]
    doubles = [(o1, o2, v1, v2) for o1, o2 in itertools.combinations(occ, 2)
               for v1, v2 in itertools.combinations(virt, 2) if (o1 % 2 + o2 % 2) == (v1 % 2 + v2 % 2)]
    return singles, doubles


# -- circuits ------------------------------------------------------------------------------------------
def _gray_bit(s: int, k: int) -> int:
    """The bit that changes between Gray codes s and s+1 (cyclic)."""
    g0, g1 = s ^ (s >> 1), ((s + 1) % (1 << k)) ^ (((s + 1) % (1 << k)) >> 1)
    return (g0 ^ g1).bit_length() - 1


def _multiplexed_ry(c: Circuit, target: int, controls: Sequence[int], angles: np.ndarray) -> None:
    """Uniformly controlled RY: angle ``angles[v]`` when the controls read ``v`` (bit m = controls[m])."""
    k = len(controls)
    if k == 0:
        c.ry(float(angles[0]), target)
        return
    size = 1 << k
    values = np.arange(size)
    for s in range(size):
        gray = s ^ (s >> 1)
        signs = 1 - 2 * (np.bitwise_count(values & gray) & 1).astype(np.int64)
        alpha = float(np.dot(signs, angles)) / size
        c.ry(alpha, target)
        c.cx(controls[_gray_bit(s, k)], target)


def _fanout_angles(op: Operator) -> tuple[tuple[int, ...], tuple[int, ...], np.ndarray] | None:
    """For ``G = G_local (x) Z_ext`` with ``G_local`` a real single-flip generator on the flipped qubits and
    the same ``Z`` s on the other qubits in every string (Jordan-Wigner parity strings): ``(flipped
    qubits, parity qubits, per-pattern RY angles for theta = 1)``; ``None`` for other generators."""
    terms = [(complex(coef), word) for coef, word in op.generator.terms if coef != 0]
    if not terms:
        return None
    xs = {word_masks(w)[0] for _, w in terms}
    if len(xs) != 1:
        return None
    x = xs.pop()
    flipped = tuple(q for q in op.qubits if x >> q & 1)
    ext_sets = {tuple(q for q, letter in w if not x >> q & 1) for _, w in terms}
    if len(ext_sets) != 1 or any(letter != "Z" for _, w in terms for q, letter in w if not x >> q & 1):
        return None
    ext = ext_sets.pop()
    local = {q: m for m, q in enumerate(flipped)}
    strings = []
    for coef, word in terms:
        lw = tuple((local[q], letter) for q, letter in word if x >> q & 1)
        _, z, ny = word_masks(lw)
        strings.append((coef, z, ny))
    k = len(flipped) - 1
    angles = np.zeros(1 << k)
    for pattern in range(1 << k):
        lo = pattern << 1                      # the head qubit is 0
        a = sum(c * 1j ** ny * (-1) ** (int(lo & z).bit_count()) for c, z, ny in strings)
        if abs(a.real) > 1e-12:
            return None
        angles[pattern] = 2.0 * a.imag
    return flipped, ext, angles


def append_operator(c: Circuit, op: Operator, theta: float) -> Circuit:
    """Append ``exp(-i theta G)`` of ``op`` to ``c`` as gates in {h, s, sdg, ry, rz, cx}.

    Examples:
        >>> c = append_operator(Circuit(2), qubit_excitation((0,), (1,)), 0.5)
        >>> c.count_ops()["cx"]
        2
    """
    if op.kind == "rotation":
        ((coef, word),) = [(cf, w) for cf, w in op.generator.terms if cf != 0]
        ((q, letter),) = word
        angle = 2.0 * theta * coef.real
        if letter == "Y":
            c.ry(angle, q)
        elif letter == "Z":
            c.rz(angle, q)
        else:
            c.rx(angle, q)
        return c
    if len(op.qubits) == 2 and _givens_2q(c, op, theta):
        return c
    found = None if len(op.generator) == 1 else _fanout_angles(op)
    if found is not None:
        flipped, ext, angles = found
        head, rest = flipped[0], flipped[1:]
        for q in rest:
            c.cx(head, q)
        ladder = list(itertools.pairwise(ext))
        for a, b in ladder:                     # parity of the Z string onto its last qubit
            c.cx(a, b)
        if ext:                                 # odd parity flips every angle: X RY(t) X = RY(-t)
            c.cx(ext[-1], head)
        _multiplexed_ry(c, head, rest, theta * angles)
        if ext:
            c.cx(ext[-1], head)
        for a, b in reversed(ladder):
            c.cx(a, b)
        for q in reversed(rest):
            c.cx(head, q)
        return c
    for coef, word in op.generator.terms:
        if coef == 0:
            continue
        _pauli_gadget(c, word, 2.0 * theta * coef.real)
    return c


def _givens_2q(c: Circuit, op: Operator, theta: float) -> bool:
    """``exp(-i theta (u X_a Y_b + w Y_a X_b))`` with 2 ``cx``: ``(H_a CX_ab)^dagger`` maps it to
    ``u Y_b - w Y_a``. Returns False (appending nothing) for other generators."""
    a, b = op.qubits
    coefs = {w: cf for cf, w in op.generator.terms if cf != 0}
    u = coefs.pop(((a, "X"), (b, "Y")), 0j)
    w = coefs.pop(((a, "Y"), (b, "X")), 0j)
    if coefs or abs(u.imag) > 1e-12 or abs(w.imag) > 1e-12:
        return False
    c.h(a)
    c.cx(a, b)
    c.ry(2.0 * theta * u.real, b)
    c.ry(-2.0 * theta * w.real, a)
    c.cx(a, b)
    c.h(a)
    return True


def _pauli_gadget(c: Circuit, word: Word, angle: float) -> None:
    """``exp(-i angle/2 P)``."""
    qs = [q for q, _ in word]
    for q, letter in word:
        if letter == "X":
            c.h(q)
        elif letter == "Y":
            c.sdg(q)
            c.h(q)
    for a, b in itertools.pairwise(qs):
        c.cx(a, b)
    c.rz(angle, qs[-1])
    for a, b in reversed(list(itertools.pairwise(qs))):
        c.cx(a, b)
    for q, letter in word:
        if letter == "X":
            c.h(q)
        elif letter == "Y":
            c.h(q)
            c.s(q)


# -- the ansatz -------------------------------------------------------------------------------------------
class Ansatz:
    """A parameterised product of operators on a reference basis state, with a fast energy path.

    Args:
        problem: a :class:`~qtandem.chem.problem.ChemProblem` (or any object with ``hamiltonian``,
            ``n_qubits`` and ``hf_state``).
        operators: the operators in application order.
        fixed: optional :class:`~qtandem.sim.pauli_evolution.FixedStep` s after given operator
            positions, as ``{position: [(step, (control, target)), ...]}`` (HEA's ``cx`` layers).
        name: a label.
        subspace: keep only the reachable span in the energy path (exact; default).
        reference_last: start from ``|0...0>`` and flip the occupied qubits after the operators (HEA:
            its ``cx`` layers fix ``|0...0>``, so zero angles still give the HF state).

    Examples:
        >>> from types import SimpleNamespace
        >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z1 + 0.2*X0*X1 + 0.2*Y0*Y1")
        >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=2, hf_state=0b01)
        >>> a = Ansatz(prob, [qubit_excitation((0,), (1,))])
        >>> a.n_parameters, round(a.energy([0.0]), 6)
        (1, 0.0)
    """

    def __init__(self, problem: Any, operators: Sequence[Operator], *, fixed: dict[int, list[Any]] | None = None,
                 name: str = "custom", subspace: bool = True, reference_last: bool = False) -> None:
        self.problem = problem
        self.operators = list(operators)
        self.name = name
        self.n_qubits = int(problem.n_qubits)
        self.hf_state = int(problem.hf_state)
        self._fixed = fixed or {}
        steps: list[Any] = []
        for k, op in enumerate(self.operators):
            for step, _ in self._fixed.get(k, []):
                steps.append(step)
            steps.append((op.generator, k, 1.0))
        for step, _ in self._fixed.get(len(self.operators), []):
            steps.append(step)
        self.reference_last = reference_last
        if reference_last:       # |0>, the layers, then X on the occupied qubits: zero angles give HF
            idx = np.arange(1 << self.n_qubits, dtype=np.int64)
            steps.append(FixedStep(idx ^ self.hf_state))
        self.program = PauliEvolution(self.n_qubits, steps, problem.hamiltonian,
                                      initial=0 if reference_last else self.hf_state, subspace=subspace)

    @property
    def n_parameters(self) -> int:
        """Number of parameters (one per operator)."""
        return len(self.operators)

    def energy(self, parameters: Sequence[float] | np.ndarray) -> float:
        """The energy ``<psi(theta)|H|psi(theta)>`` (exact)."""
        return self.program.energy(parameters) if self.operators else self._hf_energy()

    def _hf_energy(self) -> float:
        return float(np.real(self.program.energy(np.zeros(0))))

    def energy_and_gradient(self, parameters: Sequence[float] | np.ndarray) -> tuple[float, np.ndarray]:
        """Energy and exact gradient (adjoint method in the kernel)."""
        return self.program.energy_and_gradient(parameters)

    def state(self, parameters: Sequence[float] | np.ndarray) -> np.ndarray:
        """The state on all ``2**n`` amplitudes."""
        return self.program.state(parameters)

    def circuit(self, parameters: Sequence[float] | np.ndarray, *, reference: bool = True) -> Circuit:
        """The bound gate circuit (the HF preparation first when ``reference``), before compilation.

        Examples:
            >>> from types import SimpleNamespace
            >>> prob = SimpleNamespace(hamiltonian=PauliSum.from_string("Z0"), n_qubits=2, hf_state=1)
            >>> Ansatz(prob, [qubit_excitation((0,), (1,))]).circuit([0.1]).count_ops()
            {'x': 1, 'h': 2, 'cx': 2, 'ry': 2}
        """
        theta = np.asarray(parameters, dtype=np.float64)
        if theta.shape != (self.n_parameters,):
            raise ChemistryError(f"expected {self.n_parameters} parameters, got shape {theta.shape}")
        c = Circuit(self.n_qubits)
        if reference and not self.reference_last:
            for q in range(self.n_qubits):
                if self.hf_state >> q & 1:
                    c.x(q)
        for k, op in enumerate(self.operators):
            for _, (ctrl, tgt) in self._fixed.get(k, []):
                c.cx(ctrl, tgt)
            append_operator(c, op, float(theta[k]))
        for _, (ctrl, tgt) in self._fixed.get(len(self.operators), []):
            c.cx(ctrl, tgt)
        if reference and self.reference_last:
            for q in range(self.n_qubits):
                if self.hf_state >> q & 1:
                    c.x(q)
        return c

    def __repr__(self) -> str:
        return f"Ansatz({self.name!r}, n_qubits={self.n_qubits}, n_parameters={self.n_parameters})"


def _givens_uccsd(problem: Any) -> list[Operator]:
    require_jordan_wigner(problem, "the Givens-rotation UCCSD")
    singles, doubles = excitations(problem)
    return ([qubit_excitation((o1, o2), (v1, v2)) for o1, o2, v1, v2 in doubles]
            + [qubit_excitation((o,), (v,)) for o, v in singles])


def _fermionic_uccsd(problem: Any) -> list[Operator]:
    singles, doubles = excitations(problem)
    return ([fermionic_excitation(problem, (o1, o2), (v1, v2)) for o1, o2, v1, v2 in doubles
             if symmetry_allowed(problem, (o1, o2), (v1, v2))]
            + [fermionic_excitation(problem, (o,), (v,)) for o, v in singles if symmetry_allowed(problem, (o,), (v,))])


def _kupccgsd(problem: Any, k: int) -> list[Operator]:
    n_orb = int(problem.n_orbitals)
    ops: list[Operator] = []
    for _ in range(k):
        for p, q in itertools.combinations(range(n_orb), 2):
            if symmetry_allowed(problem, (2 * p, 2 * p + 1), (2 * q, 2 * q + 1)):
                ops.append(fermionic_excitation(problem, (2 * p, 2 * p + 1), (2 * q, 2 * q + 1)))
        for p, q in itertools.combinations(range(n_orb), 2):
            for spin in (0, 1):
                if symmetry_allowed(problem, (2 * p + spin,), (2 * q + spin,)):
                    ops.append(fermionic_excitation(problem, (2 * p + spin,), (2 * q + spin,)))
    return ops


def _hea(problem: Any, layers: int) -> tuple[list[Operator], dict[int, list[Any]]]:
    n = int(problem.n_qubits)
    ops: list[Operator] = []
    fixed: dict[int, list[Any]] = {}
    for layer in range(layers + 1):
        if layer > 0:
            fixed[len(ops)] = [(cx_step(q, q + 1, n), (q, q + 1)) for q in range(n - 1)]
        for q in range(n):
            ops.append(Operator(f"ry{q}", PauliSum({((q, "Y"),): 0.5}), "rotation", (q,)))
        for q in range(n):
            ops.append(Operator(f"rz{q}", PauliSum({((q, "Z"),): 0.5}), "rotation", (q,)))
    return ops, fixed


def ansatz(problem: Any, name: str = "uccsd", *, k: int = 1, layers: int = 2, subspace: bool = True) -> Ansatz:
    """Build a named ansatz for ``problem``.

    Args:
        problem: a :class:`~qtandem.chem.problem.ChemProblem` under Jordan-Wigner (``"uccsd"`` and
            ``"hea"`` work under any mapping's Hamiltonian but are defined on JW occupations).
        name: ``"uccsd"`` (Givens-rotation form: qubit excitations, doubles first, as PennyLane's
            ``AllSinglesDoubles``), ``"fermionic-uccsd"`` (with parity strings), ``"kupccgsd"``
            (``k`` layers of paired generalised doubles and generalised singles) or ``"hea"``
            (``layers`` of ``cx`` chains between RY/RZ layers from ``|0...0>``, then ``x`` on the occupied
            qubits, so zero angles give the HF state).
        k: k-UpCCGSD's repetitions.
        layers: HEA's entangling layers.
        subspace: see :class:`Ansatz`.

    Raises:
        ChemistryError: an unknown name.

    Examples:
        >>> from types import SimpleNamespace
        >>> h = PauliSum.from_string("-0.5*Z0 - 0.5*Z1 + 0.2*X0*X1 + 0.2*Y0*Y1")
        >>> prob = SimpleNamespace(hamiltonian=h, n_qubits=4, hf_state=0b0011, n_alpha=1, n_beta=1, n_orbitals=2)
        >>> ansatz(prob, "uccsd").n_parameters
        3
    """
    if name == "uccsd":
        return Ansatz(problem, _givens_uccsd(problem), name=name, subspace=subspace)
    if name == "fermionic-uccsd":
        return Ansatz(problem, _fermionic_uccsd(problem), name=name, subspace=subspace)
    if name == "kupccgsd":
        return Ansatz(problem, _kupccgsd(problem, k), name=name, subspace=subspace)
    if name == "hea":
        ops, fixed = _hea(problem, layers)
        return Ansatz(problem, ops, fixed=fixed, name=name, subspace=subspace, reference_last=True)
    raise ChemistryError(f"unknown ansatz {name!r}; choose one of {', '.join(ANSATZE)} "
                         f"(adaptive ansatze are built by qtandem.chem.adapt)")

