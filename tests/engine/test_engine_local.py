"""qtandem.engine: the local process pool against in-process runs; errors; no process left behind."""

from __future__ import annotations

import time

import psutil
import pytest

from qtandem.engine import LocalEngine, RayEngine, make_engine
from qtandem.errors import EngineError
from qtandem.sweep.jobs import spin_task


def _boom(x: int) -> int:
    if x == 3:
        raise ValueError("task 3 failed")
    return x


def _children() -> list[psutil.Process]:
    return [c for c in psutil.Process().children(recursive=True) if c.is_running()]


@pytest.fixture(scope="module")
def pool():
    engine = LocalEngine(2)
    yield engine
    engine.close()


def test_pool_results_equal_in_process(pool):
    payloads = [{"iterations": 200 + i, "seed": i} for i in range(12)]
    with LocalEngine(1) as serial:
        expected = sorted(r["checksum"] for r in serial.map_unordered(spin_task, payloads))
    got = sorted(r["checksum"] for r in pool.map_unordered(spin_task, payloads, max_in_flight=3))
    assert got == expected
    assert expected == sorted(spin_task(p)["checksum"] for p in payloads)  # the task itself, directly


def test_pool_runs_in_other_processes_with_one_thread(pool):
    import os

    pids = set(pool.map_unordered(os.getpid, [None] * 0))  # nothing submitted, nothing returned
    assert pids == set()
    info = list(pool.map_unordered(_env_probe, range(4)))
    assert all(pid != os.getpid() and threads == "1" for pid, threads in info)


def _env_probe(_: int) -> tuple[int, str | None]:
    import os

    return os.getpid(), os.environ.get("OMP_NUM_THREADS")


def test_task_error_reaches_the_caller(pool):
    with pytest.raises(ValueError, match="task 3 failed"):
        list(pool.map_unordered(_boom, range(6)))
    assert sorted(pool.map_unordered(_boom, [0, 1, 2])) == [0, 1, 2]  # the pool survives


def test_in_process_engine_starts_nothing():
    before = {c.pid for c in _children()}
    with LocalEngine(1) as engine:
        assert list(engine.map_unordered(abs, [-1, -2])) == [1, 2]
    assert {c.pid for c in _children()} <= before


def test_close_leaves_no_child_processes():
    before = _workers()
    engine = LocalEngine(2)
    assert sorted(engine.map_unordered(abs, range(-4, 0))) == [1, 2, 3, 4]
    it = engine.map_unordered(spin_task, ({"iterations": 10, "seed": i} for i in range(100)))
    next(it)
    it.close()  # abandoned early: pending tasks cancelled
    assert len(_workers() - before) >= 1
    engine.close()
    deadline = time.monotonic() + 10
    while _workers() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers() - before == set()


def _workers() -> set[int]:
    """Child processes other than multiprocessing's resource tracker (one per process, started on first spawn)."""
    out = set()
    for c in _children():
        try:
            if "resource_tracker" not in " ".join(c.cmdline()):
                out.add(c.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def test_one_worker_pool_runs_in_a_spawned_process():
    import os

    before = _workers()
    with LocalEngine(1, in_process=False) as engine:
        info = list(engine.map_unordered(_env_probe, range(3)))
        assert {pid for pid, _ in info} - {os.getpid()} == {pid for pid, _ in info} and len({p for p, _ in info}) == 1
        assert all(threads == "1" for _, threads in info) and not engine.in_process
        assert _workers() - before
    deadline = time.monotonic() + 10
    while _workers() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers() - before == set()


def test_bad_options_are_clear_errors():
    with pytest.raises(EngineError, match="workers >= 1, got 0"):
        LocalEngine(0)
    with pytest.raises(EngineError, match="in_process=True. runs one task at a time; got workers=2"):
        LocalEngine(2, in_process=True)
    with pytest.raises(EngineError, match="unknown engine 'dask'; use local or ray"):
        make_engine("dask")
    with pytest.raises(EngineError, match="--address is for the Ray engine"):
        make_engine("local", address="auto")


def test_unreachable_ray_address_fails_fast():
    t0 = time.monotonic()
    with pytest.raises(EngineError, match=r"cannot reach a Ray cluster at 127\.0\.0\.1:1 .*ray start --head"):
        RayEngine(address="127.0.0.1:1")
    with pytest.raises(EngineError, match="is not HOST:PORT"):
        RayEngine(address="nohost")
    assert time.monotonic() - t0 < 10


def test_local_engine_and_sweeps_never_import_ray():
    import subprocess
    import sys

    code = ("import sys; from qtandem.engine import LocalEngine; from qtandem.sweep import parse_config, run_sweep; "
            "import tempfile; cfg = parse_config('[sweep]\\njob = \"spin\"\\n[grid]\\niterations = [5]\\n'); "
            "e = LocalEngine(1); run_sweep(cfg, e, tempfile.mkdtemp()); e.close(); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
