"""Property tests (hypothesis, derandomized): fusion plans and simulator paths on random circuits."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import random_circuit

from qtandem.sim.core import ParamSpec, apply_fused, run
from qtandem.sim.plan import fuse_plan
from qtandem.sim.reference import reference_statevector, reference_unitary

FAST = settings(max_examples=40, deadline=None, derandomize=True)


@FAST
@given(
    gates=st.lists(st.lists(st.integers(0, 7), min_size=1, max_size=4, unique=True), max_size=60),
    k=st.integers(1, 5),
)
def test_fuse_plan_is_a_valid_schedule(gates, k):
    blocks = fuse_plan(gates, k)
    seen = sorted(i for b in blocks for i in b.members)
    assert seen == list(range(len(gates)))
    position = {}
    for bi, b in enumerate(blocks):
        assert len(b.qubits) <= k or len(b.members) == 1
        for i in b.members:
            assert set(gates[i]) <= set(b.qubits)
            position[i] = bi
        assert list(b.members) == sorted(b.members)
    # any two gates sharing a qubit keep their order
    for i in range(len(gates)):
        for j in range(i + 1, len(gates)):
            if set(gates[i]) & set(gates[j]):
                assert position[i] <= position[j]


@FAST
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), k=st.integers(1, 5))
def test_fused_torch_path_matches_reference(seed, n, k):
    import torch

    c = random_circuit(n, 4 * n + 5, seed=seed)
    state = torch.zeros(1, 2**n, dtype=torch.complex128)
    state[0, 0] = 1
    out = apply_fused(state, list(c), ParamSpec(None, None, {}), n, max_qubits=k)
    np.testing.assert_allclose(out[0].numpy(), reference_statevector(c), atol=1e-10)


@FAST
@given(seed=st.integers(0, 10**6), n=st.integers(1, 4))
def test_inverse_unitary_is_adjoint(seed, n):
    c = random_circuit(n, 12, seed=seed)
    np.testing.assert_allclose(reference_unitary(c.inverse()), reference_unitary(c).conj().T, atol=1e-10)


@FAST
@given(seed=st.integers(0, 10**6), n=st.integers(1, 7))
def test_norm_is_preserved(seed, n):
    c = random_circuit(n, 20, seed=seed)
    state, _ = run(c, native=False)
    assert abs(float(state.abs().pow(2).sum()) - 1) < 1e-12
