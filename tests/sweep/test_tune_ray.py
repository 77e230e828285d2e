"""``qtandem tune --engine ray`` (Ray Tune) and ``--workers N --engine ray`` training (Ray Train); skipped without Ray.

One private Ray for the module (``ray.init(num_cpus=2, include_dashboard=False)``); the engines use it
and leave it running. Slow: Ray Tune and Ray Train each start their own actors (tens of seconds on 2 cores).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ray = pytest.importorskip("ray")

from qtandem.io import read_jsonl  # noqa: E402
from qtandem.sweep.tune import run_tune  # noqa: E402
from qtandem.sweep.tune_config import parse_config  # noqa: E402

pytestmark = pytest.mark.slow

BASE = """seed = 3
threads = 1
[data]
name = "moons"
n_samples = 80
validation = 0.25
[model]
pre = "none"
n_qubits = 2
layers = 1
encoder = "reupload"
[optim]
name = "sgd"
batch_size = 30
epochs = 3
[train]
checkpoint_every = 0
"""

TUNE = """[tune]
trainer = "train"
base = "base.toml"
metric = "val_loss"
mode = "min"
seed = 5
[tune.scheduler]
kind = "{kind}"
grace_period = 1
reduction_factor = 2
[space]
"optim.lr" = {{grid = [{grid}]}}
"""


@pytest.fixture(scope="module")
def private_ray():
    if ray.is_initialized():
        pytest.skip("Ray already initialised in this process by another test")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _files(tmp_path, kind, grid="0.02, 0.05, 0.1, 0.2"):
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / f"tune_{kind}.toml"
    path.write_text(TUNE.format(kind=kind, grid=grid))
    return parse_config(path.read_text(), str(path))


def _metrics(table):
    return [(r["trial"], r["reports"], r["val_loss"], r["val_accuracy"]) for r in table]


def test_ray_tune_interrupted_and_restored(tmp_path):
    """SIGINT to a running `qtandem tune --engine ray`, then `--resume` (Tuner.restore): the table of a whole run."""
    if ray.is_initialized():
        pytest.skip("needs its own Ray in a subprocess")
    cfg = _files(tmp_path, "fifo")
    whole = run_tune(cfg, tmp_path / "local", engine="local")
    cmd = [sys.executable, "-m", "qtandem", "tune", str(tmp_path / "tune_fifo.toml"), "-o", str(tmp_path / "run"),
           "--engine", "ray", "--workers", "1", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        done = list((tmp_path / "run" / "trials").glob("*/model.safetensors"))
        if len(done) >= 1:
            break
        time.sleep(0.5)
    interrupted = proc.poll() is None
    assert interrupted, "the first run ended before one trial had finished: nothing was interrupted"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    first = [json.loads(line) for line in (tmp_path / "run" / "reports.jsonl").read_text().splitlines()]
    assert sum(r.get("type") == "report" for r in first) < 12  # 4 trials x 3 evaluations: stopped part-way
    resumed = subprocess.run([*cmd, "--resume", "--json"], env=env, capture_output=True, text=True,
                             timeout=400, check=False)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    table = [json.loads(line) for line in (tmp_path / "run" / "trials.jsonl").read_text().splitlines()]
    assert _metrics(table) == _metrics(whole.table)


def test_ray_tune_fifo_equals_local_and_asha_stops(private_ray, tmp_path):
    cfg = _files(tmp_path, "fifo")
    on_ray = run_tune(cfg, tmp_path / "ray", engine="ray")
    local = run_tune(cfg, tmp_path / "local", engine="local")
    assert on_ray.complete and local.complete
    assert _metrics(on_ray.table) == _metrics(local.table)  # same trials, same seeds: same numbers
    assert on_ray.best_config.read_text().split("\n", 2)[2] == local.best_config.read_text().split("\n", 2)[2]
    # One trial at a time, best learning rate first (on this problem val_loss falls with lr): asynchronous ASHA then
    # sees each rung in grid order and must stop the later, worse trials. With two trials at once, which one ASHA
    # stopped depended on which reported first, and with the best trial last it stopped none: timing-dependent.
    reverse = _files(tmp_path, "asha", grid="0.2, 0.1, 0.05, 0.02")
    asha = run_tune(reverse, tmp_path / "asha", engine="ray", workers=1)
    local = run_tune(_files(tmp_path, "fifo", grid="0.2, 0.1, 0.05, 0.02"), tmp_path / "local_reverse", engine="local")
    assert asha.complete
    assert any(str(r["status"]).startswith("stopped") for r in asha.table)
    full = {r["trial"]: r for r in local.table}
    rows = [x for x in read_jsonl(tmp_path / "local_reverse" / "reports.jsonl") if x.get("type") == "report"]
    for r in asha.table:  # a stopped trial's last report is the full run's report at that point
        reports = [x for x in rows if x["trial"] == r["trial"]]
        assert r["val_loss"] == reports[r["reports"] - 1]["val_loss"]
        assert r["reports"] <= full[r["trial"]]["reports"]


def test_ray_train_two_workers_equal_local(private_ray, tmp_path):
    from qtandem.cli.train import summary
    from qtandem.engine.ray_train import launch_ray
    from qtandem.hybrid.train import parse_config as parse_train
    from qtandem.hybrid.train import train
    from qtandem.training import launch

    cfg = parse_train(BASE)
    local = summary(launch(train, 2, cfg, output=tmp_path / "local", progress=False))
    import dataclasses

    on_ray = launch_ray(train, 2, dataclasses.replace(cfg, output=str(tmp_path / "ray")), summarize=summary,
                        progress=False)
    for key in ("steps", "epochs", "val_accuracy", "test_accuracy"):
        assert on_ray[key] == local[key]
    assert on_ray["train_loss"] == pytest.approx(local["train_loss"], abs=1e-6)
    names = {f: sorted(p.name for p in (tmp_path / f).iterdir()) for f in ("ray", "local")}
    assert names["ray"] == names["local"]
