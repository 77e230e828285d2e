"""``qtandem tune`` on the local engine: config errors, successive halving checked by hand, resume, best config."""

from __future__ import annotations

import csv
import json
import math

import pytest

from qtandem.errors import ConfigError
from qtandem.hybrid.train import parse_config as parse_train
from qtandem.io import read_jsonl
from qtandem.sweep.tune import prepare_trials, run_tune
from qtandem.sweep.tune_config import Scheduler, parse_config

BASE = """seed = 3
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
batch_size = 30
epochs = 4
[train]
checkpoint_every = 0
"""


def _tune_text(samples: int = 2, kind: str = "asha") -> str:
    return (f'[tune]\ntrainer = "train"\nbase = "base.toml"\nmetric = "val_loss"\nmode = "min"\nsamples = {samples}\n'
            f'seed = 5\n[tune.scheduler]\nkind = "{kind}"\ngrace_period = 1\nreduction_factor = 2\n'
            '[space]\n"optim.lr" = {loguniform = [0.01, 0.3]}\n"model.layers" = {grid = [1, 2]}\n')


@pytest.fixture
def tune_file(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "tune.toml"
    path.write_text(_tune_text())
    return path


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """One uninterrupted run, shared by the tests below: (config file, result, run folder)."""
    folder = tmp_path_factory.mktemp("tune")
    (folder / "base.toml").write_text(BASE)
    path = folder / "tune.toml"
    path.write_text(_tune_text())
    return path, run_tune(_cfg(path), folder / "run", engine="local"), folder / "run"


def _cfg(path):
    return parse_config(path.read_text(), str(path))


def test_config_errors_name_the_key(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    src = str(tmp_path / "t.toml")
    head = '[tune]\ntrainer = "train"\nbase = "base.toml"\n'
    cases = [
        (head + '[space]\n"optim.lrr" = {grid = [0.1]}\n',
         r"t.toml: space.optim.lrr: not a key .*did you mean 'optim.lr'"),
        (head + '[fixed]\n"modle.layers" = 2\n[space]\n"optim.lr" = {grid = [0.1]}\n', r"fixed.modle.layers"),
        (head + '[space]\n"optim.lr" = {grid = [-0.1]}\n', r"optim.lr: must be > 0"),
        (head + '[space]\n"optim.lr" = {loguniform = [0, 1]}\n', r"space.optim.lr.loguniform: bounds must be > 0"),
        (head + '[space]\n"optim.lr" = {uniform = [1, 0.5]}\n', r"low < high"),
        (head + "[space]\n", r"space: empty"),
        (head + 'metric = "test_accuracy"\n[space]\n"optim.lr" = {grid = [0.1]}\n',
         r"tune.metric: 'test_accuracy' is not reported"),
        ('[tune]\ntrainer = "train"\n[space]\n"optim.lr" = {grid = [0.1]}\n', r"tune.base: missing"),
        ('[tune]\ntrainer = "hybrid"\n', r"tune.trainer: unknown trainer 'hybrid'"),
        (head + 'budget = 3\n[space]\n"optim.lr" = {grid = [0.1]}\n', r"tune.budget: unknown key"),
        (head + '[space]\n"optim.lr" = {grid = [0.1]}\n[grid]\n', r"grid: unknown section"),
    ]
    for text, pattern in cases:
        with pytest.raises(ConfigError, match=pattern):
            prepare_trials(parse_config(text, src))


def test_draws_depend_only_on_the_file(tune_file):
    a, b = _cfg(tune_file).trials(), _cfg(tune_file).trials()
    assert a == b and len(a) == 4
    assert [t["model.layers"] for t in a] == [1, 2, 1, 2]
    assert all(0.01 <= t["optim.lr"] <= 0.3 for t in a)
    assert len({t["optim.lr"] for t in a}) == 4
    assert Scheduler(grace_period=1, reduction_factor=3).rungs(10) == [1, 3, 9]


def test_successive_halving_best_config_and_files(whole):
    _, res, run = whole
    assert res.complete
    rows = [r for r in read_jsonl(run / "reports.jsonl") if r["type"] == "report"]
    by_trial: dict[int, list] = {}
    for r in rows:
        by_trial.setdefault(r["trial"], []).append(r)
    # 4 evaluations per full trial (one per epoch), rungs at 1 and 2: keep 2 of 4, then 1 of 2
    at1 = sorted(range(4), key=lambda i: (by_trial[i][0]["val_loss"], i))
    kept1 = at1[:2]
    at2 = sorted(kept1, key=lambda i: (by_trial[i][1]["val_loss"], i))
    assert [len(by_trial[i]) for i in range(4)] == [4 if i == at2[0] else 2 if i in kept1 else 1 for i in range(4)]
    status = {r["trial"]: r["status"] for r in res.table}
    assert status[at2[0]] == "finished" and status[at2[1]] == "stopped at 2"
    assert all(status[i] == "stopped at 1" for i in at1[2:])
    # the best row is the lowest last val_loss among trials, and its config is a file the trainer reads
    assert res.best is not None
    assert res.best["val_loss"] == min(r["val_loss"] for r in res.table)
    best = parse_train(res.best_config.read_text())
    assert best.optim.lr == res.best["optim.lr"] and best.model.layers == res.best["model.layers"]
    assert best.optim.epochs == 4 and best.seed == 3
    with open(run / "trials.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [int(r["trial"]) for r in table] == [0, 1, 2, 3]
    assert math.isclose(float(table[res.best["trial"]]["val_loss"]), res.best["val_loss"], rel_tol=1e-12)
    assert (run / "report.html").exists() and (run / "curves.png").exists()
    # the trial's own trainer never read the test split before the end, and the table never shows it
    assert not any(k.startswith("test_") for k in res.table[0])


def test_interrupted_and_resumed_gives_the_same_table(whole, tmp_path):
    path, res, run = whole
    cfg = _cfg(path)
    part = run_tune(cfg, tmp_path / "part", engine="local", max_tasks=5)
    assert not part.complete
    again = run_tune(cfg, tmp_path / "part", engine="local", resume=True)
    assert again.complete
    assert json.dumps(again.table) == json.dumps(res.table)
    assert (tmp_path / "part" / "best_config.toml").read_text() == (run / "best_config.toml").read_text()


def test_resume_refuses_another_config(tune_file, tmp_path):
    run_tune(_cfg(tune_file), tmp_path / "run", engine="local", max_tasks=1)
    tune_file.write_text(_tune_text(samples=3))
    with pytest.raises(ConfigError, match="differs from the run's tune.toml"):
        run_tune(_cfg(tune_file), tmp_path / "run", engine="local", resume=True)


@pytest.mark.slow
def test_two_workers_same_table(tune_file, tmp_path):
    cfg = _cfg(tune_file)
    one = run_tune(cfg, tmp_path / "one", engine="local", workers=1)
    two = run_tune(cfg, tmp_path / "two", engine="local", workers=2)
    assert json.dumps(one.table) == json.dumps(two.table)


@pytest.mark.slow
def test_qec_vqe_qaoa_trials(tmp_path):
    pytest.importorskip("pyscf")
    from qtandem.sweep.tune_config import load_config

    qaoa = run_tune(load_config("examples/tune/qaoa_maxcut.toml"), tmp_path / "qaoa", engine="local")
    assert len(qaoa.table) == 6 and qaoa.best is not None
    assert qaoa.best["approximation_ratio"] == max(r["approximation_ratio"] for r in qaoa.table)
    vqe = run_tune(load_config("examples/tune/vqe_h2.toml"), tmp_path / "vqe", engine="local")
    assert vqe.best is not None and vqe.best["error"] < 1e-3  # UCCSD/BFGS is exact for H2
    (tmp_path / "base.toml").write_text('[data]\ndistance = 3\nval_shots = 300\n[model]\nhidden = 8\nheads = 2\n'
                                        'readout = 8\n[optim]\nsteps = 6\nbatch_size = 64\nwarmup = 1\n'
                                        '[train]\neval_every = 2\n')
    (tmp_path / "t.toml").write_text('[tune]\ntrainer = "qec-train"\nbase = "base.toml"\n'
                                     '[space]\n"optim.lr" = {grid = [0.001, 0.01]}\n')
    qec = run_tune(parse_config((tmp_path / "t.toml").read_text(), str(tmp_path / "t.toml")), tmp_path / "qec")
    assert [r["status"] for r in qec.table].count("finished") == 1
    assert all(r["val_ler"] is not None for r in qec.table)


def test_trainer_kinds_refuse_bases_without_a_validation_split(tmp_path):
    from qtandem.sweep.tune_trials import TrainerTrial, get_trial_kind

    hybrid, qec = get_trial_kind("train"), get_trial_kind("qec-train")
    assert isinstance(hybrid, TrainerTrial) and isinstance(qec, TrainerTrial)
    (tmp_path / "h.toml").write_text("[data]\nvalidation = 0.0\n")
    with pytest.raises(ConfigError, match=r"h.toml: data.validation: tuning selects on a validation split"):
        hybrid.resolve(tmp_path / "h.toml", {})
    assert hybrid.resolve(tmp_path / "h.toml", {"data.validation": 0.25})["data"]["validation"] == 0.25
    (tmp_path / "q.toml").write_text("[data]\ndistance = 3\nval_shots = 0\n")
    with pytest.raises(ConfigError, match=r"q.toml: data.val_shots: tuning compares validation error rates"):
        qec.resolve(tmp_path / "q.toml", {})
    with pytest.raises(ConfigError, match=r"optim.lrr"):
        qec.resolve(tmp_path / "q.toml", {"optim.lrr": 0.1})
    assert qec.resolve(tmp_path / "q.toml", {"data.val_shots": 100})["data"]["val_shots"] == 100
