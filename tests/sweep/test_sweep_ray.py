"""The Ray engine (skipped without ``qtandem[ray]``): same results as the local pool, bit-exact resume, clean exit.

One private Ray for the module (``RayEngine(num_cpus=2)`` = ``ray.init(address="local", num_cpus=2,
include_dashboard=False)``); its processes must be gone after ``close``.
"""

from __future__ import annotations

import os
import time

import psutil
import pytest

ray = pytest.importorskip("ray")

from qtandem.engine import LocalEngine, RayEngine  # noqa: E402
from qtandem.sweep import parse_config, read_rows, run_sweep  # noqa: E402
from qtandem.sweep.jobs import spin_task  # noqa: E402
from qtandem.sweep.store import RESULTS  # noqa: E402

QEC = """
[sweep]
job = "qec"
seed = 11
[fixed]
max_shots = 3000
max_errors = 40
chunk_shots = 500
[grid]
distance = [3, 5]
p = [0.01]
"""


def _table(result):
    return [(e["key"], e["shots"], e["errors"], e["chunks"]) for e in result.table]


def _used(path, result):
    rows = {(r["key"], r["chunk"]): (r["shots"], r["errors"], r["seed"]) for r in read_rows(path)}
    return [rows[e["key"], k] for e in result.table for k in range(e["chunks"])]


def _ray_children() -> set[int]:
    out = set()
    for c in psutil.Process().children(recursive=True):
        try:
            if (c.is_running() and c.status() != psutil.STATUS_ZOMBIE
                    and "resource_tracker" not in " ".join(c.cmdline())):  # Python's, one per process, not a worker
                out.add(c.pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture(scope="module")
def engine():
    if ray.is_initialized():
        pytest.skip("Ray already initialised in this process by another test")
    before = _ray_children()
    saved = os.environ.get("RAY_ADDRESS")
    os.environ["RAY_ADDRESS"] = "127.0.0.1:1"  # a private Ray never follows RAY_ADDRESS (nothing listens there)
    try:
        eng = RayEngine(num_cpus=2)
    finally:
        if saved is None:
            del os.environ["RAY_ADDRESS"]
        else:
            os.environ["RAY_ADDRESS"] = saved
    eng.children_before = before  # type: ignore[attr-defined]
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    with LocalEngine(1) as eng:
        return run_sweep(parse_config(QEC), eng, out), out


def test_private_ray_and_same_results_as_local(engine):
    assert engine.address == "local" and engine.workers == 2
    payloads = [{"iterations": 300 + i, "seed": i} for i in range(40)]
    got = sorted(r["checksum"] for r in engine.map_unordered(spin_task, payloads, max_in_flight=8))
    with LocalEngine(1) as local:
        assert got == sorted(r["checksum"] for r in local.map_unordered(spin_task, payloads))
    assert sorted(engine.map_unordered(abs, [-2, 1])) == [1, 2]  # a builtin goes through the generic task
    with pytest.raises(Exception, match="iterations"):  # a task's error reaches the caller
        list(engine.map_unordered(spin_task, [{"seed": 1}]))


def test_sweep_on_ray_equals_local_and_resumes_bit_exactly(engine, local_run, tmp_path):
    local, local_out = local_run
    full = run_sweep(parse_config(QEC), engine, tmp_path / "full")
    assert _table(full) == _table(local)
    assert _used(tmp_path / "full" / RESULTS, full) == _used(local_out / RESULTS, local)
    cut = run_sweep(parse_config(QEC), engine, tmp_path / "cut", stop_after=3)
    assert not cut.complete and len(read_rows(tmp_path / "cut")) == 3
    resumed = run_sweep(parse_config(QEC), engine, tmp_path / "cut")
    assert _table(resumed) == _table(local)
    assert _used(tmp_path / "cut" / RESULTS, resumed) == _used(local_out / RESULTS, local)
    with LocalEngine(2) as pool:  # a Ray run resumed on the local engine: the same numbers
        cut2 = run_sweep(parse_config(QEC), engine, tmp_path / "cut2", stop_after=2)
        assert not cut2.complete
        assert _table(run_sweep(parse_config(QEC), pool, tmp_path / "cut2")) == _table(local)


def test_engine_on_an_outside_ray_leaves_it_up(engine):
    inner = RayEngine()  # ray.init already called in this process: used, not owned
    assert inner.address == "in-process"
    inner.close()
    assert ray.is_initialized()


def test_zz_close_leaves_no_child_processes(engine):
    assert _ray_children() - engine.children_before  # raylet, GCS, workers
    engine.close()
    assert not ray.is_initialized()
    deadline = time.monotonic() + 20
    while _ray_children() - engine.children_before and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [(p.pid, " ".join(p.cmdline())[:80]) for p in map(psutil.Process, _ray_children() - engine.children_before)]
    assert left == []
