"""evaluate(): shared shots, chunked streaming, shot limits; flag()."""

import numpy as np
import pytest

from qtandem.errors import DecoderError
from qtandem.qec.codes import surface_code
from qtandem.qec.data import iter_samples
from qtandem.qec.evaluate import evaluate, flag
from qtandem.qec.matching import MatchingDecoder
from qtandem.random import as_generator


def test_chunked_evaluation_equals_decoding_the_stream():
    pts = evaluate(distances=[3], ps=[0.01], decoders=["pymatching", "pymatching-correlated"], shots=1000,
                   chunk=300, shot_limits={"pymatching-correlated": 450}, seed=3)
    by = {pt.decoder: pt for pt in pts}
    assert by["pymatching"].ler.shots == 1000 and by["pymatching-correlated"].ler.shots == 450
    # the same shots, drawn as evaluate draws them
    c = surface_code(3, 3, p=0.01)
    point_seed = int(as_generator(3).integers(2**62))
    assert by["pymatching"].seed == point_seed
    parts = list(iter_samples(c, 1000, seed=point_seed, chunk=300, bit_packed=False))
    dets = np.concatenate([p[0] for p in parts])
    obs = np.concatenate([p[1] for p in parts])
    for name, n, corr in (("pymatching", 1000, False), ("pymatching-correlated", 450, True)):
        wrong = np.any(MatchingDecoder(c, correlated=corr).decode(dets[:n]) != obs[:n], axis=1)
        assert by[name].ler.errors == int(wrong.sum())
        assert by[name].flag_curve is not None and by[name].flag_curve.kept[0] == n
    with pytest.raises(DecoderError, match="chunk"):
        evaluate(shots=10, chunk=0)


def test_flag_rejects_decoders_without_soft_output():
    pytest.importorskip("ldpc")
    from qtandem.qec.bposd import BPOSDDecoder

    c = surface_code(3, 3, p=0.01)
    with pytest.raises(DecoderError, match="no soft output"):
        flag(BPOSDDecoder(c), np.zeros((1, c.num_detectors), bool), 0.1)
