"""Exact synthesis of numeric gates given by their matrix (modifiers, ``unitary``, ``mcx``...).

Used by :class:`~qtandem.compile.passes.basis.BasisTranslation` for gates without a
textbook rule. The matrix is the simulator's (:func:`qtandem.sim.core.instruction_matrix`,
first listed qubit least significant). Then:

- one qubit: a ZXZ word (:func:`~qtandem.compile.synth1q.synth_1q`);
- diagonal on ``n`` qubits: a phase polynomial over all parities, visited in Gray-code
  order (Bullock and Markov 2004): at most ``2**n - 2`` CX;
- controlled (some qubits act as positive or negative controls, one or two targets):
  ``U_T = W D W^dagger`` on the targets, so the gate is ``W`` on the targets, a diagonal
  on all its qubits and ``W^dagger``: ``2**n - 2`` CX for one target (``ctrl(2)@p`` 6,
  ``ctrl(3)@x`` 14), ``2**n + 4`` for two;
- any other two-qubit gate: KAK (:func:`~qtandem.compile.kak.kak_word`), 3 CX.

A three-or-more-qubit gate without control structure (a general ``unitary``) is refused.

Examples:
    >>> from qtandem import Circuit
    >>> inst = Circuit(4).append("p", [0, 1, 2, 3], [0.4], ctrl=3)[0]
    >>> ops = gate_ops(inst, "nam")
    >>> sum(op.name == "cx" for op in ops)
    14
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from qtandem.circuit.instruction import Instruction
from qtandem.compile.dag import Op, is_zero_angle, normalize_angle
from qtandem.compile.kak import kak_word, kron_factor
from qtandem.compile.synth1q import synth_1q
from qtandem.errors import CompileError

__all__ = ["MAX_SYNTH_QUBITS", "controls_of", "diagonal_ops", "gate_ops", "matrix_ops"]

MAX_SYNTH_QUBITS = 10
"""Widest gate synthesized from its matrix (the phase polynomial has ``2**n - 2`` CX)."""

_TOL = 1e-9


def controls_of(u: np.ndarray) -> dict[int, int]:
    """Qubits on which ``u`` acts as a control: ``{qubit: active value}`` (1 for ``ctrl``, 0 for ``negctrl``).

    Qubit ``j`` controls with value ``v`` when ``u`` is the identity on every basis
    state whose bit ``j`` is ``1 - v``. A diagonal qubit of a diagonal gate counts too.

    Examples:
        >>> import numpy as np
        >>> cx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]])   # control qubit 0
        >>> controls_of(cx)
        {0: 1}
    """
    u = np.asarray(u)
    dim = u.shape[0]
    n = dim.bit_length() - 1
    idx = np.arange(dim)
    eye = np.eye(dim)
    out: dict[int, int] = {}
    for j in range(n):
        for v in (1, 0):
            cols = idx[((idx >> j) & 1) == 1 - v]
            if np.allclose(u[:, cols], eye[:, cols], atol=_TOL):
                out[j] = v
                break
    return out


def _synth1(u: np.ndarray, q: int, style: str) -> list[Op]:
    return [Op(g, (q,), ang) for g, ang in synth_1q(u, style)]


def diagonal_ops(phases: np.ndarray, qubits: tuple[int, ...]) -> list[Op]:
    """``diag(exp(i * phases))`` on ``qubits`` as ``cx`` and ``rz`` ops (up to global phase).

    Each parity of the qubits gets one ``rz`` (its Walsh coefficient); the parities
    holding qubit ``k`` are visited in Gray-code order with CX from lower qubits into
    ``k``: ``2**n - 2`` CX at most, none for a qubit no parity needs.

    Examples:
        >>> import numpy as np
        >>> [op.name for op in diagonal_ops(np.array([0, 0, 0, np.pi]), (0, 1))]   # cz
        ['rz', 'rz', 'cx', 'rz', 'cx']
    """
    n = len(qubits)
    dim = 1 << n
    phases = np.asarray(phases, dtype=np.float64)
    idx = np.arange(dim)
    # phase(x) = const + sum_s beta_s (-1)^{s.x}; rz(theta) on a qubit holding parity p adds -theta/2 (-1)^p
    signs = np.array([[(-1) ** bin(s & x).count("1") for x in idx] for s in idx], dtype=np.float64)
    beta = signs @ phases / dim
    out: list[Op] = []
    for k in range(n):
        lower = 1 << k  # parities whose highest qubit is k: s = 2**k | g, g over the k lower qubits
        if all(is_zero_angle(2 * beta[lower | g], _TOL) for g in range(lower)):
            continue
        t = qubits[k]
        prev = 0
        for i in range(lower):
            g = i ^ (i >> 1)
            if g != prev:
                out.append(Op("cx", (qubits[(g ^ prev).bit_length() - 1], t)))
                prev = g
            theta = -2 * beta[lower | g]
            if not is_zero_angle(theta, _TOL):
                out.append(Op("rz", (t,), normalize_angle(theta)))
        if prev:
            out.append(Op("cx", (qubits[prev.bit_length() - 1], t)))
    return out


def _eigenbasis(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(w, d)`` with ``u = w diag(d) w^dagger``, each column of ``w`` phased so its largest entry is real."""
    t, w = scipy.linalg.schur(u, output="complex")
    for c in range(w.shape[1]):
        k = int(np.argmax(np.abs(w[:, c]) > np.abs(w[:, c]).max() - 1e-9))
        w[:, c] *= np.exp(-1j * np.angle(w[k, c]))
    return w, np.diag(t)


def _two_qubit(u: np.ndarray, qubits: tuple[int, int], style: str) -> list[Op]:
    r = u.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    sv = np.linalg.svd(r, compute_uv=False)
    if sv[1] < 1e-9:  # a product kron(a, b): a on the second qubit, b on the first
        a, b = kron_factor(u)
        return _synth1(b, qubits[0], style) + _synth1(a, qubits[1], style)
    if controls_of(u) or np.allclose(u, np.diag(np.diag(u)), atol=_TOL):
        return _structured(u, qubits, style)
    out: list[Op] = []
    runs: dict[int, np.ndarray] = {}

    def flush(q: int) -> None:
        if q in runs:
            out.extend(_synth1(runs.pop(q), qubits[q], style))

    for kind, q, g in kak_word(u):
        if kind == "cx":
            flush(0)
            flush(1)
            out.append(Op("cx", (qubits[q], qubits[1 - q])))
        else:
            assert g is not None
            runs[q] = g @ runs.get(q, np.eye(2, dtype=np.complex128))
    flush(0)
    flush(1)
    return out


def _structured(u: np.ndarray, qubits: tuple[int, ...], style: str) -> list[Op]:
    """A diagonal or controlled gate (``None``-free: the caller checked the structure)."""
    n = len(qubits)
    dim = 1 << n
    if np.allclose(u, np.diag(np.diag(u)), atol=_TOL):
        return diagonal_ops(np.angle(np.diag(u)), qubits)
    ctrl = controls_of(u)
    targets = [j for j in range(n) if j not in ctrl]
    idx = np.arange(dim)
    active = np.ones(dim, dtype=bool)
    for j, v in ctrl.items():
        active &= ((idx >> j) & 1) == v
    block = idx[active]  # ordered by the target bits, lowest target least significant
    w, d = _eigenbasis(u[np.ix_(block, block)])
    phases = np.zeros(dim)
    phases[block] = np.angle(d)
    tq = tuple(qubits[j] for j in targets)
    if len(tq) == 1:
        wd, wo = _synth1(w.conj().T, tq[0], style), _synth1(w, tq[0], style)
    else:
        wd, wo = _two_qubit(w.conj().T, (tq[0], tq[1]), style), _two_qubit(w, (tq[0], tq[1]), style)
    return wd + diagonal_ops(phases, qubits) + wo


def matrix_ops(u: np.ndarray, qubits: tuple[int, ...], style: str = "nam", *, label: str = "unitary") -> list[Op]:
    """``u`` on ``qubits`` (first least significant) as ``cx``, ``rz`` and one-qubit ops in ``style``.

    Args:
        u: ``(2**n, 2**n)`` unitary.
        qubits: the circuit qubits it acts on.
        style: one-qubit style, ``"nam"`` ({rz, h, x}) or ``"zsx"`` ({rz, sx, x}).
        label: the gate's name for error messages.

    Raises:
        CompileError: three or more qubits without control structure, or more than
            :data:`MAX_SYNTH_QUBITS`.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0, 1], [1, 0]])
        >>> ccx = np.eye(8); ccx[6:, 6:] = x             # controls 0 and 1... as qubits (2, 0) here
        >>> sum(op.name == "cx" for op in matrix_ops(ccx, (0, 1, 2)))
        6
    """
    u = np.asarray(u, dtype=np.complex128)
    n = len(qubits)
    if n == 1:
        return _synth1(u, qubits[0], style)
    if n == 2:
        return _two_qubit(u, (qubits[0], qubits[1]), style)
    if n > MAX_SYNTH_QUBITS:
        raise CompileError(f"{label} acts on {n} qubits; gates are synthesized from their matrix up to "
                           f"{MAX_SYNTH_QUBITS} qubits (2^n - 2 CX)")
    diagonal = np.allclose(u, np.diag(np.diag(u)), atol=_TOL)
    if not diagonal and n - len(controls_of(u)) > 2:
        raise CompileError(f"{label} on {n} qubits has no rule: a gate on 3+ qubits is translated only when it "
                           "is diagonal or controlled (ctrl/negctrl modifiers, mcx, ...) with at most 2 target "
                           "qubits; any 1- or 2-qubit gate is supported")
    return _structured(u, qubits, style)


def gate_ops(inst: Instruction, style: str = "nam") -> list[Op]:
    """A numeric gate instruction (any modifiers, ``unitary``, named gates) as ``cx``, ``rz`` and one-qubit ops.

    Equal to the instruction up to global phase.

    Raises:
        CompileError: symbolic angles, a classical condition, or a gate :func:`matrix_ops` refuses.

    Examples:
        >>> from qtandem import Circuit
        >>> inst = Circuit(3).append("x", [0, 1, 2], ctrl=2)[0]      # ctrl(2)@x is ccx
        >>> sum(op.name == "cx" for op in gate_ops(inst))
        6
    """
    from qtandem.sim.core import instruction_matrix

    if inst.is_parametrized:
        raise CompileError(f"{inst.label} has symbolic angles; bind parameters first")
    if inst.condition is not None:
        raise CompileError(f"{inst.label} is classically conditioned; conditioned gates are not translated")
    if len(inst.qubits) > MAX_SYNTH_QUBITS:
        raise CompileError(f"{inst.label} acts on {len(inst.qubits)} qubits; gates are synthesized from their "
                           f"matrix up to {MAX_SYNTH_QUBITS} qubits (2^n - 2 CX)")
    u = instruction_matrix(inst).resolve_conj().numpy()
    return matrix_ops(u, inst.qubits, style, label=inst.label)
