"""Sampling, datasets (round trip, streaming, manifest validation)."""

import json

import numpy as np
import pytest

from qtandem.errors import DatasetError
from qtandem.qec.codes import surface_code
from qtandem.qec.data import iter_samples, open_dataset, sample, save_dataset, write_dataset
from qtandem.qec.decoder import unpack_bits


def test_sample_is_seeded_and_matches_stim():
    c = surface_code(3, 3, p=0.01)
    d1, o1 = sample(c, 200, seed=5)
    d2, o2 = sample(c, 200, seed=5)
    assert np.array_equal(d1, d2) and np.array_equal(o1, o2)
    sd, so = c.compile_detector_sampler(seed=5).sample(200, separate_observables=True)
    assert np.array_equal(d1, sd) and np.array_equal(o1, so)
    pd, _ = sample(c, 200, seed=5, bit_packed=True)
    assert np.array_equal(unpack_bits(pd, c.num_detectors), d1)
    with pytest.raises(DatasetError, match="shots"):
        sample(c, -1)
    with pytest.raises(DatasetError, match="seed"):
        sample(c, 1, seed="x")  # type: ignore[arg-type]


def test_dataset_round_trip_and_streaming(tmp_path):
    c = surface_code(3, 3, p=0.01)
    ds = write_dataset(tmp_path / "ds", c, 1000, seed=3, chunk=128, spec={"code": "surface", "distance": 3},
                       noise={"preset": "uniform", "p": 0.01})
    m = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert m["seed"] == 3 and m["shots"] == 1000 and m["noise"] == {"preset": "uniform", "p": 0.01}
    assert m["qtandem_version"] and m["stim_version"] and m["circuit"] == str(c)
    ds = open_dataset(tmp_path / "ds")
    assert ds.circuit == c
    dets, obs = ds.load()
    # the same seed and chunking reproduce the shots
    parts = list(iter_samples(c, 1000, seed=3, chunk=128, bit_packed=False))
    assert np.array_equal(dets, np.concatenate([p[0] for p in parts]))
    assert np.array_equal(obs, np.concatenate([p[1] for p in parts]))
    chunks = list(ds.iter_chunks(300))
    assert [ch[0].shape[0] for ch in chunks] == [300, 300, 300, 100]
    assert np.array_equal(np.concatenate([ch[0] for ch in chunks]), dets)
    with pytest.raises(DatasetError, match="already exists"):
        write_dataset(tmp_path / "ds", c, 10, seed=1)
    assert write_dataset(tmp_path / "ds", c, 10, seed=1, overwrite=True).shots == 10
    assert not list((tmp_path / "ds").glob(".*.tmp"))


def test_save_dataset_of_given_shots(tmp_path):
    c = surface_code(3, 3, p=0.01)
    dets, obs = sample(c, 50, seed=1)
    ds = save_dataset(tmp_path / "s", c, dets[:7], obs[:7], extra={"source_indices": list(range(7))})
    d2, o2 = ds.load()
    assert np.array_equal(d2, dets[:7]) and np.array_equal(o2, obs[:7])
    assert ds.manifest["source_indices"] == list(range(7))
    with pytest.raises(DatasetError, match="dets must be"):
        save_dataset(tmp_path / "t", c, dets[:, :5], obs)


def _corrupt(folder, **changes):
    m = json.loads((folder / "manifest.json").read_text())
    m.update(changes)
    (folder / "manifest.json").write_text(json.dumps(m))


def test_manifest_errors(tmp_path):
    c = surface_code(3, 3, p=0.01)
    folder = tmp_path / "ds"
    write_dataset(folder, c, 100, seed=1)
    with pytest.raises(DatasetError, match="no manifest.json"):
        open_dataset(tmp_path / "missing")
    (folder / "manifest.json").write_text("{bad json")
    with pytest.raises(DatasetError, match=r"manifest.json:1:2: invalid JSON"):
        open_dataset(folder)
    write_dataset(folder, c, 100, seed=1, overwrite=True)
    _corrupt(folder, schema="other")
    with pytest.raises(DatasetError, match="schema: expected 'qtandem.qec_dataset'"):
        open_dataset(folder)
    write_dataset(folder, c, 100, seed=1, overwrite=True)
    _corrupt(folder, num_detectors=5)
    with pytest.raises(DatasetError, match="num_detectors: manifest says 5 but the circuit has 24"):
        open_dataset(folder)
    write_dataset(folder, c, 100, seed=1, overwrite=True)
    _corrupt(folder, shots=101)
    with pytest.raises(DatasetError, match="expected 303 bytes"):
        open_dataset(folder)
    write_dataset(folder, c, 100, seed=1, overwrite=True)
    m = json.loads((folder / "manifest.json").read_text())
    del m["files"]
    (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DatasetError, match="missing key"):
        open_dataset(folder)
    write_dataset(folder, c, 100, seed=1, overwrite=True)
    raw = bytearray((folder / "dets.b8").read_bytes())
    raw[0] ^= 1
    (folder / "dets.b8").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="SHA-256"):
        open_dataset(folder)
    assert open_dataset(folder, verify=False).shots == 100
