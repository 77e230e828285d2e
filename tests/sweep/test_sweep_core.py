"""qtandem.sweep: configs, seeds, resume (bit-exact), merge, sinter CSV, report, on the local engine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qtandem.engine import LocalEngine
from qtandem.errors import ConfigError, DataError
from qtandem.qec import MatchingDecoder, sample
from qtandem.qec.codes import surface_code
from qtandem.random import derive_seed
from qtandem.sweep import merge_rows, parse_config, plan, read_rows, run_sweep, sinter_csv, summarise
from qtandem.sweep.store import RESULTS

QEC = """
[sweep]
job = "qec"
seed = 3
[fixed]
max_shots = 4000
max_errors = 60
chunk_shots = 500
[grid]
distance = [3, 5]
p = [0.004, 0.02]
"""

COUNTS = ("shots", "errors", "discards", "chunks", "complete", "key", "point")


def counts(table):
    return [{k: e[k] for k in COUNTS if k in e} for e in table]


def used_rows(path, table):
    """(key, chunk, shots, errors, seed) of the rows the table counts."""
    rows = {(r["key"], r["chunk"]): r for r in read_rows(path)}
    return sorted((e["key"], k, rows[e["key"], k]["shots"], rows[e["key"], k]["errors"], rows[e["key"], k]["seed"])
                  for e in table for k in range(e["chunks"]))


@pytest.fixture(scope="module")
def serial():
    with LocalEngine(1) as engine:
        yield engine


@pytest.fixture(scope="module")
def full(serial, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    return run_sweep(parse_config(QEC), serial, out), out


@pytest.mark.parametrize(("text", "message"), [
    ('[sweep]\njob = "qecc"\n[grid]\ndistance = [3]\n',
     "sweep.job: unknown job 'qecc'; known jobs: mitigation, qaoa, qec, spin, vqe"),
    ('[sweep]\njob = "qec"\n[grid]\ndistance = []\np = [0.1]\n', "c.toml: grid.distance: empty list"),
    ('[sweep]\njob = "qec"\n', "c.toml: no points"),
    ('[sweep]\njob = "qec"\n[grid]\ndistance = [3]\np = [0.1]\nshots = [5]\n', r"c.toml: points\[0\].shots: unknown "
     "parameter of job 'qec'"),
    ('[sweep]\njob = "qec"\n[grid]\ndistance = [3]\np = [0.9]\n', r"points\[0\].p: expected a physical error rate"),
    ('[sweep]\njob = "qec"\n[fixed]\ndecoder = "magic"\n[grid]\ndistance = [3]\np = [0.1]\n',
     r"points\[0\].decoder: unknown decoder 'magic'"),
    ('[sweep]\njob = "qec"\n[gird]\ndistance = [3]\n', "c.toml: unknown section 'gird'"),
    ('[sweep\njob = "qec"\n', "c.toml: not valid TOML"),
    ("[fixed]\nx = 1\n", "c.toml: sweep.job: missing"),
])
def test_bad_configs_are_clear_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        plan(parse_config(text, "c.toml"))


def test_chunks_equal_a_direct_computation(full):
    result, out = full
    assert result.complete and result.rows_written >= sum(e["chunks"] for e in result.table)
    row = next(r for r in read_rows(out) if r["point"]["distance"] == 5 and r["chunk"] == 1)
    circuit = surface_code(5, 5, p=row["point"]["p"])
    assert row["seed"] == derive_seed(int(row["key"][:16], 16), 1, bits=62)
    dets, obs = sample(circuit, 500, seed=row["seed"])
    direct = int(np.any(MatchingDecoder(circuit).decode(dets) != obs, axis=1).sum())
    assert row["errors"] == direct and row["shots"] == 500


def test_a_chunk_larger_than_a_block_equals_unpacked_decoding(monkeypatch):
    """Chunks are sampled and decoded bit-packed in blocks; the count equals plain bool decoding of the same blocks."""
    from qtandem.qec.data import iter_samples
    from qtandem.sweep import qec as sweep_qec

    monkeypatch.setattr(sweep_qec, "_BLOCK_SHOTS", 96)
    circuit = surface_code(3, 3, p=0.03)
    out = sweep_qec.qec_task({"circuit": str(circuit), "decoder": "pymatching", "shots": 1000, "seed": 11})
    dec = MatchingDecoder(circuit)
    direct = sum(int(np.any(dec.decode(d) != o, axis=1).sum())
                 for d, o in iter_samples(circuit, 1000, seed=11, chunk=96, bit_packed=False))
    assert out["shots"] == 1000 and out["errors"] == direct > 20


def test_stopping_rule_is_sinters(full):
    result, out = full
    rows = {(r["key"], r["chunk"]): r for r in read_rows(out)}
    for e in result.table:  # the smallest prefix of chunks with errors >= max_errors or shots >= max_shots
        before = [rows[e["key"], k] for k in range(e["chunks"] - 1)]
        assert e["errors"] >= 60 or e["shots"] >= 4000
        assert sum(r["errors"] for r in before) < 60 and sum(r["shots"] for r in before) < 4000
        assert e["shots"] == 500 * e["chunks"]
    assert all(e["errors"] >= 60 and e["shots"] < 4000 for e in result.table if e["point"]["p"] == 0.02)
    assert [e["shots"] for e in result.table if e["point"]["p"] == 0.004 and e["point"]["distance"] == 5] == [4000]


@pytest.mark.parametrize("k", [1, 7])
def test_killed_and_resumed_equals_uninterrupted(full, serial, tmp_path, k):
    result, out = full
    cfg = parse_config(QEC)
    first = run_sweep(cfg, serial, tmp_path, stop_after=k)
    assert not first.complete and len(read_rows(tmp_path)) == k
    with open(tmp_path / RESULTS, "a") as fh:
        fh.write('{"key": "cut mid-wri')  # a kill during a write
    resumed = run_sweep(cfg, serial, tmp_path)
    assert resumed.complete
    assert counts(resumed.table) == counts(result.table)
    assert used_rows(tmp_path / RESULTS, resumed.table) == used_rows(out / RESULTS, result.table)
    again = run_sweep(cfg, serial, tmp_path)
    assert again.rows_written == 0 and counts(again.table) == counts(result.table)


def test_pool_gives_the_same_table(full, tmp_path):
    result, out = full
    with LocalEngine(2) as pool:
        got = run_sweep(parse_config(QEC), pool, tmp_path)
    assert counts(got.table) == counts(result.table)
    assert used_rows(tmp_path / RESULTS, got.table) == used_rows(out / RESULTS, result.table)


def test_merge_of_split_runs_equals_one_run(full, serial, tmp_path):
    result, _ = full
    a = QEC.replace("distance = [3, 5]", "distance = [3]")
    b = QEC.replace("distance = [3, 5]", "distance = [5]")
    run_sweep(parse_config(a), serial, tmp_path / "a")
    run_sweep(parse_config(b), serial, tmp_path / "b")
    merged = merge_rows(read_rows(tmp_path / "a"), read_rows(tmp_path / "b"), read_rows(tmp_path / "a"))
    table = {e["key"]: e for e in summarise(merged)}
    assert counts([table[e["key"]] for e in result.table]) == counts(result.table)
    bad = [dict(read_rows(tmp_path / "a")[0])]
    bad[0]["errors"] += 1
    with pytest.raises(DataError, match="disagrees with an earlier input"):
        merge_rows(read_rows(tmp_path / "a"), bad, sources=("a", "bad"))


def test_sinter_csv_reads_back(full, tmp_path):
    sinter = pytest.importorskip("sinter")
    result, _ = full
    path = tmp_path / "stats.csv"
    path.write_text(sinter_csv(result.table))
    stats = {s.strong_id: s for s in sinter.read_stats_from_csv_files(path)}
    assert len(stats) == 4
    for e in result.table:
        s = stats[e["key"]]
        assert (s.shots, s.errors, s.decoder) == (e["shots"], e["errors"], "pymatching")
        assert s.json_metadata["d"] == e["point"]["distance"] and s.json_metadata["p"] == e["point"]["p"]


def test_changed_targets_reuse_chunks(full, serial, tmp_path):
    result, out = full
    (tmp_path / RESULTS).write_text((out / RESULTS).read_text())
    more = run_sweep(parse_config(QEC.replace("max_shots = 4000", "max_shots = 5000")), serial, tmp_path)
    assert [e["key"] for e in more.table] == [e["key"] for e in result.table]  # targets are not in the hash
    assert more.rows_written <= 4
    changed = plan(parse_config(QEC.replace("seed = 3", "seed = 4")))
    assert not {p.key for p in changed} & {e["key"] for e in result.table}


def test_report_and_table_json(full, tmp_path):
    from qtandem.sweep import write_report

    result, _ = full
    path = write_report(result.table, tmp_path)
    html = path.read_text()
    assert "Logical error rate" in html and "ler_0.png" in html and (tmp_path / "ler_0.png").stat().st_size > 1000
    json.dumps(result.table)  # plain data


def test_a_worker_on_another_version_is_refused(serial, tmp_path, monkeypatch):
    from qtandem.sweep import runner

    monkeypatch.setattr(runner, "run_payload", lambda p: {**_real_run_payload(p), "worker_version": "0.0.0-other"})
    with pytest.raises(DataError, match="a worker runs qtandem '0.0.0-other'"):
        run_sweep(parse_config(QEC), serial, tmp_path)
    assert read_rows(tmp_path) == []


def _real_run_payload(payload):
    from qtandem.sweep.jobs import get_job

    job = get_job(payload["job"])
    return {"key": payload["key"], "chunk": payload["chunk"], **job.task(payload)}


def test_rows_are_flushed_per_row_and_fsynced_by_the_clock(tmp_path, monkeypatch):
    import os

    from qtandem.sweep.store import RowStore

    synced = []
    monkeypatch.setattr(os, "fsync", synced.append)
    path = tmp_path / "rows.jsonl"
    with RowStore(path, fsync_every=3600.0) as store:
        for k in range(50):
            store.append({"key": "a", "chunk": k})
            assert path.read_text().count("\n") == k + 1  # flushed: readable before close
        assert synced == []  # not a second has passed
    assert len(synced) == 1  # on close
    with RowStore(tmp_path / "b.jsonl", fsync_every=0.0) as store:
        for k in range(5):
            store.append({"key": "b", "chunk": k})
    assert len(synced) == 1 + 5 + 1


def test_progress_reports_points_shots_and_eta(tmp_path):
    cfg = parse_config('[sweep]\njob = "mitigation"\n[fixed]\nfamily = "ghz"\nqubits = 2\nmethod = "none"\n'
                       '[grid]\nshots = [100, 200, 300]\n')
    seen = []
    with LocalEngine(1) as engine:
        run_sweep(cfg, engine, tmp_path, progress=seen.append)
    assert [p.rows for p in seen] == [1, 2, 3] and [p.points_done for p in seen] == [1, 2, 3]
    assert {p.points_total for p in seen} == {3} and [p.shots for p in seen][-1] == 600
    assert seen[-1].chunks_left == 0 and seen[-1].eta_s == 0.0 and seen[0].shots_per_s > 0
