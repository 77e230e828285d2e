"""Bit-reproducible problem builds: PySCF runs with one OpenMP thread by default, so two processes give the
same orbitals and the same Hamiltonian to the last bit (with 2 threads they did not: 5 distinct H4 Hamiltonians
in 6 processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("pyscf")

from qtandem.chem import Molecule
from qtandem.errors import ChemistryError

_SCRIPT = """
import hashlib
import numpy as np
from qtandem.chem import Molecule
from pyscf import lib
assert lib.num_threads() == 2
p = Molecule("H 0 0 0; H 0 0 1.1; H 0 0 2.2; H 0 0 3.3").problem(active=(4, 4), references="none")
h = hashlib.sha256()
for c, w in p.hamiltonian.terms:
    h.update(np.complex128(c).tobytes() + str(w).encode())
for a in (p.one_body, p.two_body, p.orbital_coefficients, np.float64(p.core_energy)):
    h.update(np.ascontiguousarray(a).tobytes())
print(h.hexdigest())
"""


def test_builds_in_separate_processes_are_bit_identical() -> None:
    env = dict(os.environ, OMP_NUM_THREADS="2")                  # PySCF's own default is 2 threads there
    child = subprocess.Popen([sys.executable, "-c", _SCRIPT], env=env, stdout=subprocess.PIPE, text=True)
    here: dict[str, object] = {}
    exec(_SCRIPT.replace("assert lib.num_threads() == 2", "").replace("print(", "digest = ("), here)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    assert len(out.strip()) == 64
    assert out.strip() == here["digest"]


def test_threads_option() -> None:
    from pyscf import lib

    before = lib.num_threads()
    with Molecule("H 0 0 0; H 0 0 0.74").pyscf_threads():
        assert lib.num_threads() == 1
    with Molecule("H 0 0 0; H 0 0 0.74", threads=None).pyscf_threads():
        assert lib.num_threads() == before
    assert lib.num_threads() == before
    mol = Molecule("H 0 0 0; H 0 0 0.74", threads=2)
    assert mol.with_geometry("H 0 0 0; H 0 0 0.9").threads == 2
    assert "threads=2" in repr(mol)
    # a threaded build gives the same energies (only the last bits may move)
    p1 = Molecule("Li 0 0 0; H 0 0 1.595").problem((2, 3), references=["casci"])
    p2 = Molecule("Li 0 0 0; H 0 0 1.595", threads=None).problem((2, 3), references=["casci"])
    e1, e2 = p1.references["casci"], p2.references["casci"]
    assert e1 is not None and e2 is not None and abs(e1 - e2) < 1e-9
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ChemistryError, match="threads"):
            Molecule("H 0 0 0; H 0 0 0.74", threads=bad)  # type: ignore[arg-type]
