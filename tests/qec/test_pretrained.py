"""The shipped neural decoders still reach their targets on freshly sampled shots.

Shots come from each model's own circuit with seeds unrelated to training (training draws from
``SeedSequence([seed, 1, step])`` streams, validation from ``[seed, 2]``). The comparison with
PyMatching is paired (same shots): ``a`` = shots only the neural decoder gets right, ``b`` = shots
only PyMatching gets right; under "equally good" ``a - b`` has standard deviation ``sqrt(a + b)``.
"""

from __future__ import annotations

import math

import pytest

from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.zoo import list_pretrained, pretrained

#: name -> (max LER ratio to PyMatching claimed, whether it must beat correlated PyMatching)
TARGETS = {"surface-d3-p0.005": 0.9, "surface-d5-p0.005": 1.0}


def _compare(name: str, shots: int, seed: int, correlated: bool = False) -> tuple[int, int, int, int]:
    dec = pretrained(name)
    dets, obs = dec.circuit.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    nn_wrong = dec.decode(dets)[:, 0] != obs[:, 0]
    mw_wrong = MatchingDecoder(dec.circuit, correlated=correlated).decode(dets)[:, 0] != obs[:, 0]
    only_nn_right, only_mw_right = int((~nn_wrong & mw_wrong).sum()), int((nn_wrong & ~mw_wrong).sum())
    return int(nn_wrong.sum()), int(mw_wrong.sum()), only_nn_right, only_mw_right


def test_shipped_names_and_circuits() -> None:
    from qtandem.qec.codes import surface_code

    assert set(TARGETS) <= set(list_pretrained())
    for name in TARGETS:
        dec = pretrained(name)
        d = int(name.split("-d")[1].split("-")[0])
        assert dec.circuit == surface_code(d, d, basis="Z", noise="uniform", p=0.005)
        assert dec.num_detectors == (d * d - 1) * d
        assert dec.info["training"]["shots"] > 0 and dec.info["training"]["steps"] > 0


@pytest.mark.parametrize(("name", "shots"), [("surface-d3-p0.005", 40_000), ("surface-d5-p0.005", 8_000)])
def test_matches_or_beats_pymatching_fast(name: str, shots: int) -> None:
    nn, mw, a, b = _compare(name, shots, seed=424242)
    assert a - b > -2 * math.sqrt(max(1, a + b)), (nn, mw, a, b)  # not significantly worse than PyMatching


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_reaches_target_slow(name: str) -> None:
    nn, mw, a, b = _compare(name, 300_000, seed=9_000_001)
    target = TARGETS[name]
    sigma = math.sqrt(a + b) / mw  # standard error of the ratio nn / mw (paired)
    assert nn / mw <= target + 2 * sigma, (nn, mw, a, b)
    if target >= 1.0:  # d = 5: strictly better than PyMatching, significantly
        assert a - b > 3 * math.sqrt(a + b), (nn, mw, a, b)
