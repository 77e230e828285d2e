"""Routing v3: commutation-aware front layer, swaps merged into a 3-CX block, the LightSABRE front sum."""

from __future__ import annotations

import random

import numpy as np
import pytest

from qtandem import Circuit
from qtandem.compile.layout import distance_tables
from qtandem.compile.route_verify import embed, layout_permutation
from qtandem.compile.routing import _cx, _emit, _emitted_cx, _finish, route, route_and_verify
from qtandem.compile.sabre import _dag, sabre_pass
from qtandem.compile.verify import verify_equivalent
from qtandem.device import Device


def _adj(dev: Device) -> np.ndarray:
    adj = np.zeros((dev.num_qubits, dev.num_qubits), dtype=bool)
    for a, b in dev.coupling_map.edges():
        adj[a, b] = adj[b, a] = True
    return adj


def _commuting(n: int, m: int, seed: int) -> Circuit:
    """Random CX / rz / x / sx / h circuits: many CX share controls or targets (they commute)."""
    r = random.Random(seed)
    c = Circuit(n)
    for _ in range(m):
        k = r.random()
        if k < 0.6:
            c.cx(*r.sample(range(n), 2))
        elif k < 0.75:
            c.rz(r.uniform(-3, 3), r.randrange(n))
        else:
            c.append(r.choice(["x", "sx", "h", "t"]), [r.randrange(n)])
    return c


def _preds(ops: list, commute: bool) -> list[set[int]]:
    succ, _ = _dag(ops, 4, commute)
    preds: list[set[int]] = [set() for _ in ops]
    for i, ss in enumerate(succ):
        for j in ss:
            preds[j].add(i)
    return preds


def test_commutation_dag_hand_case() -> None:
    # 0: cx(0,1)  1: rz(0)  2: cx(0,2)  3: cx(3,2)  4: cx(2,0)  5: h(1)
    ops = list(Circuit(4).cx(0, 1).rz(0.3, 0).cx(0, 2).cx(3, 2).cx(2, 0).h(1))
    plain = _preds(ops, False)
    assert plain[1] == {0} and plain[2] == {1} and plain[3] == {2}
    preds = _preds(ops, True)
    assert preds[1] == set() and preds[2] == set()  # controls and rz on qubit 0 commute
    assert preds[3] == set()  # cx(3,2) and cx(0,2) share the target 2 (both X-diagonal there)
    assert preds[4] == {0, 1, 2, 3}  # cx(2,0): X on 0 after the Z run, Z on 2 after the X run
    assert preds[5] == {0}  # h is no kind: it waits for cx(0,1)


@pytest.mark.parametrize("seed", range(6))
def test_commuting_pass_is_equivalent_dense(seed: int) -> None:
    # a pass that reorders commuting gates emits every gate once and the same unitary, up to the final layout
    dev = Device.preset("line_5" if seed % 2 else "ring_8")
    n = 4 if seed % 2 else 6
    c = _commuting(n, 40, seed)
    ops = list(c)
    hops, _ = distance_tables(dev)
    big = dev.num_qubits
    layout = [int(p) for p in np.random.default_rng(seed).permutation(big)]
    emitted, final, _ = sabre_pass(ops, n, layout, _adj(dev), hops, np.zeros((big, big)),
                                   np.random.default_rng(seed), absorb=1.0, commute=True, front_sum=True)
    assert sorted(i for kind, _, i in emitted if kind == "op") == list(range(len(ops)))
    out = _emit(ops, emitted, big, c)
    assert _cx(_finish(out, dev)) <= _emitted_cx(ops, emitted) <= _cx(out)
    verify_equivalent(embed(c, layout, big), out, permutation=layout_permutation(layout, final), method="exact")


def test_commutation_saves_swaps_on_a_star() -> None:
    # cx(0, t) rz(t) for t = 1, 3, 2, 4, twice: every CX shares control 0; in input order qubit 0 travels back
    # and forth along the line, in any order the router runs the adjacent ones first
    c = Circuit(5)
    for _ in range(2):
        for t in (1, 3, 2, 4):
            c.cx(0, t).rz(0.1 + t, t)
    # bridges off: they also save swaps here, this test isolates the commutation-aware front
    plain = route(c, "line_5", seed=0, trials=4, objective="cx", vf2_calls=0, commute=False, bridge=None)
    both = route(c, "line_5", seed=0, trials=4, objective="cx", vf2_calls=0, commute=True, bridge=None)
    assert both.swaps < plain.swaps and both.cx < plain.cx  # measured: 2 swaps / 10 CX vs 4 / 20


def test_swap_after_a_three_cx_block_is_free() -> None:
    # a general two-qubit block (3 CX) followed by a swap on its pair: the cleanup resynthesizes both into 3 CX
    # and the estimate counts the swap as 0 CX (1 after a single CX, as before)
    r = np.random.default_rng(0)
    c = Circuit(3)
    for _ in range(3):
        c.rz(r.uniform(-3, 3), 0).sx(0).rz(r.uniform(-3, 3), 1).sx(1).cx(0, 1)
    c.cx(1, 2)
    ops = list(c)
    n_ops = len(ops)
    emitted = [("op", ops[i].qubits, i) for i in range(n_ops - 1)]
    emitted += [("swap", (0, 1), -1), ("op", (0, 2), n_ops - 1)]
    dev = Device.preset("ring_8")
    out = _emit(ops, emitted, 8, c)
    assert _emitted_cx(ops, emitted) == 4
    cleaned = _finish(out, dev)
    assert _cx(cleaned) == 4
    final = [1, 0, 2, 3, 4, 5, 6, 7]
    verify_equivalent(embed(c, list(range(8)), 8), cleaned, permutation=layout_permutation(list(range(8)), final),
                      method="exact")


@pytest.mark.parametrize("seed", range(3))
def test_route_commute_front_sum_verified(seed: int) -> None:
    c = _commuting(8, 60, seed)
    out, res = route_and_verify(c, "heavy_hex_27", seed=seed, trials=4, objective="cx", commute=True,
                                front_sum=True)
    assert res.device.validate(out) == []
    assert res.cx <= sum(1 for i in c if len(i.qubits) == 2) + 3 * res.swaps


def test_inconclusive_proof_of_a_commuting_route_reroutes_in_input_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # a path sum that cannot prove the reordered output (gcm_h6 on heavy_hex_27: 122 variables left, 13 active
    # qubits) is not a failure: the circuit is routed again with commute=False and that output is proven
    from qtandem.compile import route_verify
    from qtandem.errors import VerificationError

    calls: list[object] = []
    real = route_verify.route

    def spy(*args: object, **kw: object):  # type: ignore[no-untyped-def]
        calls.append(kw.get("commute", True))
        return real(*args, **kw)

    real_whole = route_verify._verify_whole

    def whole(ref_u, ref_m, res, method="auto"):  # type: ignore[no-untyped-def]
        if calls[-1] is not False:
            raise VerificationError("pathsum: could not prove equivalence (1 path variable(s)) (inconclusive)")
        return real_whole(ref_u, ref_m, res, method)

    monkeypatch.setattr(route_verify, "route", spy)
    monkeypatch.setattr(route_verify, "_verify_whole", whole)
    c = _commuting(6, 40, 0)
    out, res = route_and_verify(c, "heavy_hex_27", seed=0, trials=2)
    assert calls == [True, False] and res.device.validate(out) == []
    with pytest.raises(VerificationError, match="inconclusive"):  # no second try when commute=False was asked
        calls.clear()
        monkeypatch.setattr(route_verify, "_verify_whole", lambda *a, **k: (_ for _ in ()).throw(
            VerificationError("pathsum: could not prove equivalence (inconclusive)")))
        route_and_verify(c, "heavy_hex_27", seed=0, trials=2, commute=False)
