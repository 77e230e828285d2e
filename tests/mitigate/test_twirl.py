"""Pauli twirling: instances equal the original unitary; twirling makes a coherent cx error a Pauli channel."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import qtandem
from qtandem import Circuit
from qtandem.circuit.gates import gate_matrix
from qtandem.errors import ArgumentTypeError
from qtandem.mitigate import execute, simulator_executor, twirl, twirl_circuit
from qtandem.mitigate.twirl import conjugate_pauli, emit_with_paulis
from qtandem.noise import NoiseModel, depolarizing
from qtandem.sim.dense import equal_up_to_phase

P = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1, -1])}


def _word(letters: str) -> np.ndarray:
    """Letter j on qubit j, qubit 0 least significant (independent of the module's helper)."""
    m = np.ones((1, 1))
    for a in letters:
        m = np.kron(P[a], m)
    return m


def _random_circuit(n: int, depth: int, rng: np.random.Generator) -> Circuit:
    c = Circuit(n)
    for _ in range(depth):
        for q in range(n):
            c.rz(float(rng.uniform(-np.pi, np.pi)), q).sx(q)
            if rng.random() < 0.5:
                c.x(q)
        a, b = rng.choice(n, size=2, replace=False)
        kind = rng.integers(4)
        if kind == 0:
            c.cz(int(a), int(b))
        elif kind == 1:
            c.crz(0.4, int(a), int(b))  # not Clifford: left alone
        else:
            c.cx(int(a), int(b))
        c.h(int(a))
    return c


@pytest.mark.parametrize("seed", range(6))
def test_every_instance_is_the_original_unitary(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = _random_circuit(3, 5, rng)
    u = c.to_matrix().numpy()
    for s in range(5):
        for merge in (True, False):
            t = twirl_circuit(c, seed=100 * seed + s, merge=merge)
            assert equal_up_to_phase(t.to_matrix().numpy(), u, 1e-9)
            assert t.count_ops().get("cx", 0) == c.count_ops().get("cx", 0)
            assert t.count_ops().get("crz", 0) == c.count_ops().get("crz", 0)


def test_frames_are_seeded_and_random() -> None:
    c = Circuit(2).rz(0.1, 0).cx(0, 1).rz(0.2, 1)
    assert list(twirl_circuit(c, seed=3)) == list(twirl_circuit(c, seed=3))
    assert len({tuple(twirl_circuit(c, seed=s)) for s in range(20)}) > 5


def test_conjugate_pauli_against_dense_matrices() -> None:
    for name in ("cx", "cz", "swap", "iswap", "cy"):
        u = gate_matrix(name).numpy()
        for letters in map("".join, itertools.product("IXYZ", repeat=2)):
            sign, image = conjugate_pauli(u, letters)
            assert np.allclose(u @ _word(letters) @ u.conj().T, sign * _word(image))
    assert conjugate_pauli(gate_matrix("crz", [0.3]).numpy(), "XI") is None


def test_frames_merge_into_neighbouring_rotations() -> None:
    rng = np.random.default_rng(0)
    c = Circuit(4)
    for _ in range(6):
        for q in range(4):
            c.rz(float(rng.uniform(-3, 3)), q).sx(q).rz(float(rng.uniform(-3, 3)), q)
        c.cx(0, 1).cx(2, 3)
    merged = [twirl_circuit(c, seed=s).num_gates() for s in range(30)]
    plain = [twirl_circuit(c, seed=s, merge=False).num_gates() for s in range(30)]
    assert np.mean(merged) < np.mean(plain) - 10
    # Z frames next to an rz cost nothing: rz(a) Z = rz(a + pi)
    z = emit_with_paulis(Circuit(1), [qtandem.circuit.instruction.Instruction("rz", [0], [0.5]), (0, "Z")])
    assert [i.name for i in z] == ["rz"]
    # outside {rz, sx, x} the frames are written as x, y, z gates
    h = emit_with_paulis(Circuit(1), [qtandem.circuit.instruction.Instruction("h", [0]), (0, "Y")])
    assert [i.name for i in h] == ["h", "y"]


def _superop(u: np.ndarray) -> np.ndarray:
    return np.kron(u.conj(), u)


_W = np.stack([_word("".join(w)).reshape(-1, order="F") for w in itertools.product("IXYZ", repeat=2)], axis=1)


def _ptm(s: np.ndarray) -> np.ndarray:
    """``R[i, j] = tr(P_i S(P_j)) / 4`` for a superoperator acting on column-stacked density matrices."""
    return np.real(_W.conj().T @ s @ _W) / 4


def test_twirling_turns_a_coherent_cx_error_into_a_pauli_channel() -> None:
    theta = 0.3
    zx = _word("ZX")
    err = np.cos(theta / 2) * np.eye(4) - 1j * np.sin(theta / 2) * zx  # exp(-i theta/2 Z0 X1)
    cx = gate_matrix("cx").numpy()
    ideal_inv = _superop(cx.conj().T)

    def relative_ptm(before: str, after: str) -> np.ndarray:
        v = _word(after) @ err @ cx @ _word(before)
        return _ptm(ideal_inv @ _superop(v))

    off = ~np.eye(16, dtype=bool)
    untwirled = relative_ptm("II", "II")
    assert np.abs(untwirled[off]).max() > 0.25  # a coherent error: off-diagonal PTM terms of size sin(theta)
    # exact average over all 16 frames: diagonal
    frames = ["".join(w) for w in itertools.product("IXYZ", repeat=2)]
    exact = sum(relative_ptm(b, conjugate_pauli(cx, b)[1]) for b in frames) / 16
    assert np.abs(exact[off]).max() < 1e-12
    # the frames twirl_circuit draws (read back from its output): diagonal within sampling error
    m = 300
    total = np.zeros((16, 16))
    for s in range(m):
        t = list(twirl_circuit(Circuit(2).cx(0, 1), seed=s, merge=False))
        k = next(i for i, inst in enumerate(t) if inst.name == "cx")
        pre, post = Circuit(2), Circuit(2)
        for inst in t[:k]:
            pre.append(inst)
        for inst in t[k + 1:]:
            post.append(inst)
        v = post.to_matrix().numpy() @ err @ cx @ pre.to_matrix().numpy()
        total += _ptm(ideal_inv @ _superop(v))
    avg = total / m
    assert np.abs(avg[off]).max() < 5 * np.sin(theta) / np.sqrt(m)
    assert np.allclose(np.diag(avg), np.diag(exact), atol=1e-9)  # the diagonal does not depend on the frame


def test_twirl_method_is_unbiased_under_pauli_noise() -> None:
    noise = NoiseModel(strict=False).add(depolarizing(0.05, 2), gates=["cx"])
    c = Circuit(2).rz(0.4, 0).sx(0).cx(0, 1).rz(0.3, 1).sx(1)
    exact = float(qtandem.expval(c, qtandem.PauliSum.from_string("Z0 Z1 + X1"), noise=noise).real)
    run = simulator_executor(noise, seed=0)
    vals, errs = [], []
    for s in range(6):
        res = execute(c, "Z0 Z1 + X1", run, methods=[twirl(8)], shots=8000, seed=s)
        assert res.shots_used == 8000 and res.methods == ["twirl"]
        vals.append(res.value)
        errs.append(res.stderr)
    assert abs(np.mean(vals) - exact) < 4 * np.sqrt(np.sum(np.square(errs))) / len(vals)


def test_bad_arguments() -> None:
    with pytest.raises(ArgumentTypeError, match="positive number of instances"):
        twirl(0)
    with pytest.raises(ArgumentTypeError, match="qtandem Circuit"):
        twirl_circuit("cx 0 1")  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="merge is"):
        emit_with_paulis(Circuit(1), [], merge="always")
