"""Output permutation (qtandem.compile.permute, optimize(permute_output=True)) against dense unitaries."""

from __future__ import annotations

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile import optimize
from qtandem.compile.permute import absorb_swaps, compose_permutations, elide_swaps
from qtandem.compile.verify import verify_equivalent
from qtandem.errors import CompileError
from qtandem.sim import unitary


def _perm_matrix(perm: list[int]) -> np.ndarray:
    """Dense matrix moving the state of wire i to wire perm[i] (qtandem's wire order, from its own swaps)."""
    c = Circuit(len(perm))
    where = list(range(len(perm)))  # where[w]: which input wire's state sits on wire w
    for i, target in enumerate(perm):
        w = where.index(i)
        if w != target:
            c.swap(w, target)
            where[w], where[target] = where[target], where[w]
    return np.asarray(unitary(c))


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    k = np.unravel_index(np.argmax(np.abs(a)), a.shape)
    phase = b[k] / a[k]
    return bool(abs(abs(phase) - 1) < 1e-8 and np.allclose(a * phase, b, atol=1e-8))


def _check(inp: Circuit, out: Circuit, perm: list[int]) -> None:
    assert _same_up_to_phase(_perm_matrix(perm) @ np.asarray(unitary(inp)), np.asarray(unitary(out)))
    verify_equivalent(inp, out, permutation=perm)


def _random(n: int, depth: int, seed: int, swaps: bool) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for _ in range(depth):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        k = rng.integers(5 if swaps else 4)
        if k == 0:
            c.cx(a, b)
        elif k == 1:
            c.rz(float(rng.uniform(-np.pi, np.pi)), a)
        elif k == 2:
            c.sx(a)
        elif k == 3:
            c.cx(a, b).rz(float(rng.uniform(-1, 1)), b).cx(a, b)
        else:
            c.cx(a, b).cx(b, a).cx(a, b)
    return c


def test_perm_matrix_reference_is_a_swap() -> None:  # the reference itself, against an explicit matrix
    swap = np.eye(4)[[0, 2, 1, 3]]
    assert np.allclose(_perm_matrix([1, 0]), swap)
    assert np.allclose(_perm_matrix([0, 1]), np.eye(4))


def test_elide_swaps_hand_cases() -> None:
    c = Circuit(3).h(0).swap(0, 2).cx(2, 1).rz(0.2, 0)
    out, perm = elide_swaps(c)
    assert perm == [2, 1, 0] and out.count_ops() == {"h": 1, "cx": 1, "rz": 1}
    _check(c, out, perm)
    triple = Circuit(2).cx(1, 0).cx(0, 1).cx(1, 0).sx(0)
    out, perm = elide_swaps(triple)
    assert perm == [1, 0] and out.count_ops() == {"sx": 1}
    _check(triple, out, perm)
    # a gate on the pair between the CX is not a swap: nothing elided
    broken = Circuit(2).cx(0, 1).rz(0.3, 1).cx(1, 0).cx(0, 1)
    out, perm = elide_swaps(broken)
    assert out is broken and perm == [0, 1]
    # measurements: unchanged
    meas = Circuit(2, 1).swap(0, 1).measure(0, 0)
    assert elide_swaps(meas) == (meas, [0, 1])


@pytest.mark.parametrize("seed", range(6))
def test_elide_and_absorb_random_circuits(seed: int) -> None:
    c = _random(4, 30, seed, swaps=True)
    out, perm = elide_swaps(c)
    assert out.count_ops().get("cx", 0) <= c.count_ops().get("cx", 0)
    _check(c, out, perm)
    out2, more = absorb_swaps(out, "zsx")
    assert out2.count_ops().get("cx", 0) <= out.count_ops().get("cx", 0)
    _check(c, out2, compose_permutations(perm, more))


def test_absorb_swaps_saves_a_cx() -> None:
    c = Circuit(2).cx(0, 1).rz(0.3, 1).cx(1, 0).cx(0, 1)  # SWAP . ZZ(0.3): 3 CX, ZZ alone 2
    out, perm = absorb_swaps(c, "zsx")
    assert perm == [1, 0] and out.count_ops()["cx"] == 2
    _check(c, out, perm)


def test_optimize_permute_output_qft_like() -> None:
    n = 4
    c = Circuit(n)
    for i in range(n):
        c.h(i)
        for j in range(i + 1, n):
            c.cp(np.pi / 2 ** (j - i), j, i)
    for i in range(n // 2):
        c.swap(i, n - 1 - i)
    plain, rep0 = optimize(c, level=2, basis="ibm", seed=0)
    out, rep = optimize(c, level=2, basis="ibm", seed=0, permute_output=True)
    assert rep0.permutation is None
    assert rep.permutation == [3, 2, 1, 0]
    assert out.count_ops()["cx"] == 12 < plain.count_ops()["cx"]  # 6 controlled phases, 2 CX each
    _check(c, out, rep.permutation)
    assert rep.to_dict()["permutation"] == [3, 2, 1, 0]


def test_optimize_permute_output_without_swaps_is_plain() -> None:
    c = Circuit(3).h(0).cx(0, 1).rz(0.4, 1).cx(1, 2)
    out, rep = optimize(c, level=2, basis="ibm", seed=0, permute_output=True)
    assert rep.permutation is None
    verify_equivalent(c, out)


def test_optimize_permute_output_refuses_measurements_and_hardware() -> None:
    with pytest.raises(CompileError, match="permute_output"):
        optimize(Circuit(2, 1).swap(0, 1).measure(0, 0), permute_output=True)
    with pytest.raises(CompileError, match="permute_output"):
        optimize(Circuit(2).swap(0, 1), permute_output=True, hardware="heavy_hex_27")


@pytest.mark.parametrize("seed", range(3))
def test_optimize_permute_output_never_worse_than_plain(seed: int) -> None:
    c = _random(4, 25, 10 + seed, swaps=True)
    plain, _ = optimize(c, level=2, basis="ibm", seed=0)
    out, rep = optimize(c, level=2, basis="ibm", seed=0, permute_output=True)
    assert (len(out), out.count_ops().get("cx", 0)) <= (len(plain), plain.count_ops().get("cx", 0))
    _check(c, out, rep.permutation or list(range(4)))
