"""ShotRecord (randomized-measurement records) and measure_randomized: round trips, bad input, sampling law."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import stim
import torch

from qtandem import Circuit, statevector
from qtandem.circuit.library import layered
from qtandem.errors import ArgumentTypeError, DataError, SimulationError
from qtandem.learn import ShotRecord, measure_randomized
from qtandem.learn.shots import _pauli_probabilities, clifford_circuit, random_clifford_tableaus, tableau_to_stim
from qtandem.noise import NoiseModel, depolarizing, readout_error


def _state(n: int, seed: int) -> Circuit:
    """A seeded layered circuit: three layers of random u and a brickwork of cx."""
    return layered(n, layers=3, seed=seed)


@pytest.fixture(scope="module")
def record() -> ShotRecord:
    return measure_randomized(_state(3, 0), 1000, seed=1)


def test_round_trip_in_chunks(tmp_path: Path, record: ShotRecord) -> None:
    record.save(tmp_path / "rec", chunk_shots=300)
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == [
        "manifest.json", "shots-00000.npz", "shots-00001.npz", "shots-00002.npz", "shots-00003.npz"]
    assert [len(r) for r in ShotRecord.iter_load(tmp_path / "rec")] == [300, 300, 300, 100]
    assert ShotRecord.load(tmp_path / "rec") == record
    with pytest.raises(DataError, match="already saved there"):
        record.save(tmp_path / "rec")
    record[:10].save(tmp_path / "rec", overwrite=True)
    assert len(ShotRecord.load(tmp_path / "rec")) == 10


def test_clifford_round_trip(tmp_path: Path) -> None:
    rec = measure_randomized(Circuit(3).h(0), 20, basis="clifford", seed=2)
    rec.save(tmp_path / "c", chunk_shots=7)
    back = ShotRecord.load(tmp_path / "c")
    assert back == rec and back.kind == "clifford" and back.bases.shape == (20, 6, 7)


def test_merge_batches_and_labels(record: ShotRecord) -> None:
    parts = list(record.iter_batches(256))
    assert [len(p) for p in parts] == [256, 256, 256, 232]
    assert ShotRecord.merge(*parts) == record
    with pytest.raises(DataError, match="record 1 is pauli on 2 qubits"):
        ShotRecord.merge(record, ShotRecord([[0, 0]], [[0, 0]]))
    assert ShotRecord([[0, 1, 2]], [[0, 0, 0]]).basis_labels() == ["ZYX"]


def test_from_counts_keeps_every_shot() -> None:
    counts = {"ZX": {"01": 5, "10": 2}, "YY": {"11": 3}}
    rec = ShotRecord.from_counts(counts, seed=3)
    assert len(rec) == 10
    seen: dict[str, dict[str, int]] = {}
    for label, bits in zip(rec.basis_labels(), rec.outcomes, strict=True):
        key = "".join(str(b) for b in bits[::-1])
        seen.setdefault(label, {}).setdefault(key, 0)
        seen[label][key] += 1
    assert seen == counts
    assert rec.basis_labels()[:3] != ["ZX"] * 3 or rec.basis_labels()[3:6] != ["ZX"] * 3  # shuffled


@pytest.mark.parametrize(("bases", "outcomes", "message"), [
    ([[0, 1], [2, 0]], [[0, 1]], "2 bases but 1 outcomes"),
    ([[0, 1, 2]], [[0, 1]], "one Pauli code per qubit"),
    ([[0, 1]], [[0, 2]], "only 0 and 1"),
    ([[0, 3]], [[0, 1]], "must be 0, 1, 2"),
    ([[0, -1]], [[0, 1]], "must be 0, 1, 2"),
    ([[0.5, 1]], [[0, 1]], "as integers"),
    ([[0, 1]], [0, 1], "shape \\(shots, n_qubits\\)"),
])
def test_malformed_records_are_refused(bases: list, outcomes: list, message: str) -> None:
    with pytest.raises(DataError, match=message):
        ShotRecord(bases, outcomes)


def test_bad_kind_and_tableau_shape() -> None:
    with pytest.raises(DataError, match="kind must be"):
        ShotRecord([[0]], [[0]], kind="bell")
    with pytest.raises(DataError, match="clifford tableaus must have shape"):
        ShotRecord(np.zeros((1, 2, 2)), [[0]], kind="clifford")


@pytest.mark.parametrize(("counts", "message"), [
    ({}, "non-empty mapping"),
    ({"ZX": {"01": 1}, "Z": {"0": 1}}, "has not 2 letters"),
    ({"ZW": {"01": 1}}, "letter 'W' at column 1"),
    ({"ZX": {"012": 1}}, "not a 2-bit string"),
    ({"ZX": {"01": -1}}, "non-negative integer"),
    ({"ZX": {"01": 1.5}}, "non-negative integer"),
])
def test_from_counts_errors(counts: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        ShotRecord.from_counts(counts)


def test_missing_and_corrupt_files(tmp_path: Path, record: ShotRecord) -> None:
    with pytest.raises(DataError, match="manifest.json is missing"):
        ShotRecord.load(tmp_path)
    folder = tmp_path / "r"
    record.save(folder, chunk_shots=500)
    chunk = folder / "shots-00001.npz"
    data = bytearray(chunk.read_bytes())
    data[100] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(DataError, match="shots-00001.npz: checksum does not match"):
        ShotRecord.load(folder)
    chunk.unlink()
    with pytest.raises(DataError, match="shots-00001.npz: chunk listed in .* is missing"):
        ShotRecord.load(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        ShotRecord.load(folder)
    (folder / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataError, match="not a shot-record manifest"):
        ShotRecord.load(folder)


def test_seeded_and_basis_law(record: ShotRecord) -> None:
    assert measure_randomized(_state(3, 0), 1000, seed=1) == record
    assert measure_randomized(_state(3, 0), 1000, seed=2) != record
    counts = np.bincount(record.bases.ravel(), minlength=3)
    assert counts.min() > 900  # 3000 letters, about 1000 each
    rec = measure_randomized(Circuit(2).x(0), 600, seed=0)
    z0 = rec.bases[:, 0] == 2
    assert (rec.outcomes[z0, 0] == 1).all() and (rec.outcomes[rec.bases[:, 1] == 2, 1] == 0).all()


def test_outcome_frequencies_match_the_state() -> None:
    circ = _state(2, 4)
    rec = measure_randomized(circ, 90000, seed=5)
    psi = statevector(circ)
    codes = np.array([[a, b] for a in range(3) for b in range(3)], dtype=np.uint8)
    probs, rows = _pauli_probabilities(psi, 2, codes, density=False)
    for i, code in enumerate(codes):
        shots = rec.outcomes[(rec.bases == code).all(axis=1)]
        freq = np.bincount(shots[:, 0] + 2 * shots[:, 1], minlength=4) / len(shots)
        p = probs[rows[i]].numpy()
        assert np.abs(freq - p).max() < 5 * np.sqrt(0.25 / len(shots)), (code, freq, p)
        rot = Circuit(2).compose(circ)
        for q, c in enumerate(code):
            if c == 0:
                rot.h(q)
            elif c == 1:
                rot.sdg(q).h(q)
        np.testing.assert_allclose(p, statevector(rot).abs().pow(2).numpy(), atol=1e-12)


def test_density_matrix_and_state_paths_agree() -> None:
    psi = statevector(_state(3, 6))
    rho = torch.outer(psi, psi.conj())
    codes = np.random.default_rng(0).integers(0, 3, size=(20, 3)).astype(np.uint8)
    p1, r1 = _pauli_probabilities(psi, 3, codes, density=False)
    p2, r2 = _pauli_probabilities(rho, 3, codes, density=True)
    torch.testing.assert_close(p1[r1], p2[r2], atol=1e-12, rtol=0)


def test_noise_gives_mixed_state_and_readout_flips() -> None:
    model = NoiseModel().add_readout(readout_error(0.2, 0.0), qubits=[0])
    rec = measure_randomized(Circuit(1).id(0), 4000, noise=model, seed=7)
    z = rec.bases[:, 0] == 2
    assert abs(rec.outcomes[z, 0].mean() - 0.2) < 0.04
    model = NoiseModel().add(depolarizing(0.75), gates=["x"])
    rec = measure_randomized(Circuit(1).x(0), 3000, noise=model, seed=8)
    assert abs(rec.outcomes[rec.bases[:, 0] == 2, 0].mean() - 0.5) < 0.06  # fully depolarized


def test_bad_inputs() -> None:
    with pytest.raises(SimulationError, match="shots must be a positive integer"):
        measure_randomized(Circuit(1), 0)
    with pytest.raises(SimulationError, match="basis must be"):
        measure_randomized(Circuit(1), 5, basis="bell")
    with pytest.raises(SimulationError, match="not normalised"):
        measure_randomized(torch.ones(4), 5)
    with pytest.raises(SimulationError, match="must be \\(2\\*\\*n,\\)"):
        measure_randomized(torch.ones(3) / 3 ** 0.5, 5)
    with pytest.raises(SimulationError, match="mid-circuit"):
        measure_randomized(Circuit(1, 1).measure(0, 0).h(0), 5)
    with pytest.raises(ArgumentTypeError, match="got list"):
        measure_randomized([1, 0], 5)
    with pytest.raises(SimulationError, match="noise= applies to a Circuit"):
        measure_randomized(torch.tensor([1.0, 0.0]), 5, noise=NoiseModel())
    assert len(measure_randomized(Circuit(1, 1).h(0).measure(0, 0), 5, seed=0)) == 5  # terminal: dropped


def test_random_cliffords_are_valid_and_uniform() -> None:
    t = random_clifford_tableaus(4800, 1, seed=9)
    _, counts = np.unique(t.reshape(len(t), -1), axis=0, return_counts=True)
    assert len(counts) == 24 and counts.min() > 140 and counts.max() < 260  # 200 expected each
    for bits in random_clifford_tableaus(5, 3, seed=10):
        tab = tableau_to_stim(bits)
        u = clifford_circuit(bits).to_matrix().numpy()
        for q in range(3):
            for pauli in ("X", "Z"):
                p = stim.PauliString(3)
                p[q] = pauli
                image = tab(p)
                np.testing.assert_allclose(u @ p.to_unitary_matrix(endian="little") @ u.conj().T,
                                           image.to_unitary_matrix(endian="little"), atol=1e-9)


def test_clifford_apply_matches_the_circuit() -> None:
    from qtandem.learn.shots import clifford_apply

    for n in (2, 4):
        for bits in random_clifford_tableaus(3, n, seed=n):
            u = clifford_circuit(bits).to_matrix().numpy()
            m = np.stack([clifford_apply(bits, np.eye(2 ** n, dtype=complex)[k]) for k in range(2 ** n)], axis=1)
            i, j = np.unravel_index(np.argmax(np.abs(u)), u.shape)
            np.testing.assert_allclose(m, m[i, j] / u[i, j] * u, atol=1e-12)


def test_trajectories_beyond_the_density_matrix_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above DENSITY_MAX_QUBITS noisy records come from trajectories; same law as the density matrix."""
    import qtandem.learn.shots as shots_mod
    from qtandem.learn.shadows import estimate
    from qtandem.noise.density import density_matrix

    circ = _state(2, 11)
    model = NoiseModel(strict=False).add(depolarizing(0.3), gates=["cx"]).add_readout(readout_error(0.05, 0.1),
                                                                                      qubits=[0, 1])
    labels = ["IZ", "ZI", "ZZ", "XX", "YI", "XY"]
    rho = density_matrix(circ, noise=model)
    from qtandem.circuit.pauli import PauliSum

    exact = np.array([float(torch.trace(PauliSum.from_label(lab).to_matrix(2) @ rho).real) for lab in labels])
    dm = estimate(measure_randomized(circ, 6000, noise=model, seed=1), labels)
    monkeypatch.setattr(shots_mod, "DENSITY_MAX_QUBITS", 1)
    rec = measure_randomized(circ, 6000, noise=model, seed=2, shots_per_basis=100)
    assert rec.metadata["simulation"] == "trajectories"
    tr = estimate(rec, labels)
    # readout errors bias both the same way: compare the two records, not the noiseless truth
    diff = (dm.values - tr.values).numpy() / np.sqrt(dm.stderr.numpy() ** 2 + tr.stderr.numpy() ** 2)
    assert np.abs(diff).max() < 4.5
    assert np.abs(dm.values.numpy() - exact).max() > 0.05  # the readout error is visible
    assert len(measure_randomized(circ, 20, basis="clifford", noise=model, seed=3, shots_per_basis=10)) == 20
