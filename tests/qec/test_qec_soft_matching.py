"""Soft-aware matching (qtandem.qec.soft_matching) against a per-shot Stim-DEM reference."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import stim

from qtandem.errors import DecoderError
from qtandem.qec import SoftReadout, sample, surface_code
from qtandem.qec.conformance import check_decoder
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.soft import with_readout_flips, without_measurement_flips
from qtandem.qec.soft_matching import SoftMatchingDecoder

READOUT = SoftReadout(separation=2.5, t1_decay=0.1, leakage=0.02)


def _circuit() -> stim.Circuit:
    return without_measurement_flips(surface_code(3, 3, p=0.004))


def _per_measurement_flips(circuit: stim.Circuit, q: np.ndarray) -> stim.Circuit:
    """The circuit with an X_ERROR(q_m) before measurement m: Stim builds the per-shot DEM (independent reference)."""
    out, m = stim.Circuit(), 0
    for inst in circuit.flattened():
        if stim.gate_data(inst.name).produces_measurements:
            for t in inst.targets_copy():
                if q[m] > 0:
                    out.append("X_ERROR", [t.value], float(q[m]))
                m += 1
        out.append(inst)
    return out


def test_exact_reweighting_equals_a_per_shot_stim_dem() -> None:
    c = _circuit()
    shots = sample(c, 80, seed=8, readout=READOUT)
    dec = SoftMatchingDecoder(c, READOUT, uncertain=0.0)
    soft, hard = dec.decode_shots(shots), dec.decode(shots.dets)
    q = shots.flip_probability
    for s in range(shots.shots):
        ref = MatchingDecoder(_per_measurement_flips(c, q[s])).decode(shots.dets[s:s + 1])
        np.testing.assert_array_equal(soft[s], ref[0], err_msg=f"shot {s}")
    assert (soft != hard).any()  # the reweighting changes decisions here, so the comparison has teeth


def test_default_cutoff_close_to_exact_and_better_than_hard() -> None:
    c = _circuit()
    shots = sample(c, 1500, seed=21, readout=READOUT)
    exact = SoftMatchingDecoder(c, READOUT, uncertain=0.0).decode_shots(shots)
    dec = SoftMatchingDecoder(c, READOUT)
    fast = dec.decode_shots(shots)
    assert (fast != exact).any(axis=1).mean() < 0.01
    assert 0 < dec.redecoded < shots.shots
    hard_errors = int((dec.decode(shots.dets) != shots.obs).any(axis=1).sum())
    soft_errors = int((fast != shots.obs).any(axis=1).sum())
    assert soft_errors < 0.85 * hard_errors, (soft_errors, hard_errors)


def test_hard_path_is_matching_on_the_readout_dem_and_conforms() -> None:
    c = _circuit()
    dec = SoftMatchingDecoder(c, READOUT)
    dets, _ = sample(c, 300, seed=2, readout=READOUT)
    np.testing.assert_array_equal(dec.decode(dets), MatchingDecoder(with_readout_flips(c, READOUT)).decode(dets))
    check_decoder(dec, shots=100)
    shots = sample(c, 200, seed=4, readout=READOUT)
    copy = pickle.loads(pickle.dumps(dec))
    np.testing.assert_array_equal(copy.decode_shots(shots), dec.decode_shots(shots))


def test_bad_inputs_refused() -> None:
    c = _circuit()
    with pytest.raises(DecoderError, match="uncertain must lie in"):
        SoftMatchingDecoder(c, READOUT, uncertain=0.7)
    dec = SoftMatchingDecoder(c, READOUT)
    dets, _ = sample(c, 5, seed=1)
    with pytest.raises(DecoderError, match="SoftShots"):
        dec.decode_shots((dets, dets))  # type: ignore[arg-type]
    with pytest.raises(DecoderError, match="flip_probability must be"):
        dec.decode_weighted(dets, np.zeros((5, 3)))
    with pytest.raises(DecoderError, match=r"\[0, 0.5\]"):
        dec.decode_weighted(dets, np.full((5, c.num_measurements), 0.7))
