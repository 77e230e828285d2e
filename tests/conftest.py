"""Shared test helpers: seeded random circuits over every registry gate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.circuit.gates import GATES

ALL_GATES = sorted(g for g in GATES if g not in ("unitary",))


def random_unitary(dim: int, rng: np.random.Generator) -> np.ndarray:
    z = (rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))) / math.sqrt(2)
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_circuit(n: int, num_gates: int, seed: int, *, gates: list[str] | None = None,
                   modifiers: bool = True) -> Circuit:
    """A random measurement-free circuit using every kind of gate (and modifiers)."""
    rng = np.random.default_rng(seed)
    names = gates or [*ALL_GATES, "unitary"]
    c = Circuit(n)
    for _ in range(num_gates):
        name = names[rng.integers(len(names))]
        if name == "unitary":
            k = int(rng.integers(1, min(3, n) + 1))
            qs = rng.choice(n, size=k, replace=False).tolist()
            c.unitary(random_unitary(2**k, rng), qs)
            continue
        spec = GATES[name]
        if spec.num_qubits is None and n < 2:
            continue
        k = spec.num_qubits if spec.num_qubits is not None else int(rng.integers(2, min(5, n) + 1))
        if k > n:
            continue
        extra = int(rng.integers(0, 2)) if modifiers and name not in ("mcx",) and k + 1 <= n else 0
        qs = rng.choice(n, size=k + extra, replace=False).tolist()
        params = rng.uniform(-2 * math.pi, 2 * math.pi, size=spec.num_params).tolist()
        inv = bool(modifiers and rng.random() < 0.2)
        c.append(name, qs, params, ctrl=extra, inverted=inv)
    return c


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def torch_one_thread():
    """Small torch models run fastest on one thread (and the CI machine's cores are shared); restores the count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Pauli measurement bases as the learn module codes them: 0 = X, 1 = Y, 2 = Z (rotation applied before a Z readout).
PAULI_ROTATIONS = {0: np.array([[1, 1], [1, -1]]) / np.sqrt(2), 1: np.array([[1, -1j], [1, 1j]]) / np.sqrt(2),
                   2: np.eye(2)}


def rotated_probabilities(psi: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """|<b|U_c|psi>|^2 for all b, by dense Kronecker products (qubit 0 least significant)."""
    u = np.array([[1.0]])
    for q in range(len(basis)):
        u = np.kron(PAULI_ROTATIONS[int(basis[q])], u)
    return np.abs(u @ psi) ** 2


def kron_nll(psi: np.ndarray, bases: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """-log |<b|U_c|psi>|^2 per shot (basis row c, outcome bits b), by dense Kronecker products."""
    return np.array([-np.log(rotated_probabilities(psi, c)[int((b << np.arange(len(b))).sum())])
                     for c, b in zip(bases, outcomes, strict=True)])


# Shared, session-cached small chemistry problems (H2, LiH CAS(2,5) at equilibrium and stretched): the
# chemistry tests (problems, solvers, curves) reuse them so PySCF runs once per session. Each problem is
# Jordan-Wigner with every reference computed. They live here, not in tests/chem/conftest.py, because the
# test folders are not packages and two conftest.py basenames would collide. Without PySCF they skip.
H2_GEOMETRY = "H 0 0 0; H 0 0 0.735"
LIH_GEOMETRY = "Li 0 0 0; H 0 0 1.595"
LIH_STRETCHED_GEOMETRY = "Li 0 0 0; H 0 0 3.0"


@pytest.fixture(scope="session")
def h2_problem():
    """H2 / STO-3G at 0.735 A: 4 qubits, 2 electrons (JW)."""
    pytest.importorskip("pyscf")
    from qtandem.chem import Molecule

    return Molecule(H2_GEOMETRY).problem()


@pytest.fixture(scope="session")
def lih_problem():
    """LiH / STO-3G at 1.595 A, CAS(2, 5): 10 qubits (JW)."""
    pytest.importorskip("pyscf")
    from qtandem.chem import Molecule

    return Molecule(LIH_GEOMETRY).problem((2, 5))


@pytest.fixture(scope="session")
def lih_stretched_problem():
    """LiH / STO-3G at 3.0 A, CAS(2, 5): 10 qubits (JW), strongly correlated."""
    pytest.importorskip("pyscf")
    from qtandem.chem import Molecule

    return Molecule(LIH_STRETCHED_GEOMETRY).problem((2, 5))


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``qtandem ARGS`` in-process: (exit code, stdout, stderr)."""
    from qtandem.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err
