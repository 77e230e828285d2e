"""The angle network (qtandem.opt.gnn) and its training (qtandem.opt.train_angles)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from qtandem.errors import CheckpointError, ConfigError
from qtandem.io import read_safetensors
from qtandem.opt import maxcut
from qtandem.opt.angles import fixed_angles, predict_angles
from qtandem.opt.gnn import AngleGNN, load_model, save_model
from qtandem.opt.train_angles import TrainConfig, _losses, instance, load_config, make_split, train


def _energy():
    from qtandem.opt import qaoa_expectation

    return qaoa_expectation


def _weighted(seed: int, factor: float = 1.0) -> nx.Graph:
    g = nx.gnp_random_graph(9, 0.5, seed=seed)
    rng = np.random.default_rng(seed)
    for u, v in g.edges:
        g[u][v]["weight"] = factor * float(rng.uniform(0.1, 1.0))
    return g


def test_weights_scale_gammas_and_labels_do_not_matter():
    net = AngleGNN(hidden=16, seed=3)
    g1, b1 = net.predict(maxcut(_weighted(1)), 3)
    g3, b3 = net.predict(maxcut(_weighted(1, factor=3.0)), 3)
    np.testing.assert_allclose(g3, g1 / 3.0, rtol=1e-12)
    np.testing.assert_allclose(b3, b1, rtol=1e-12)
    graph = _weighted(2)
    perm = dict(zip(graph.nodes, np.random.default_rng(0).permutation(graph.number_of_nodes()).tolist(),
                    strict=True))
    ga, ba = net.predict(maxcut(graph), 2)
    gb, bb = net.predict(maxcut(nx.relabel_nodes(graph, perm)), 2)
    np.testing.assert_allclose(ga, gb, atol=1e-12)
    np.testing.assert_allclose(ba, bb, atol=1e-12)
    with pytest.raises(ConfigError, match="p=9 outside the trained range 1..5"):
        net.predict(maxcut(graph), 9)


def test_shipped_model_matches_fixed_angles_on_unseen_3_regular_graphs():
    # graphs from seeds never used in training (train/dev seeds come from instance(); these are networkx seeds)
    energy = _energy()
    for p in (1, 2, 3):
        learned, fixed = [], []
        for s in range(6):
            prob = maxcut(nx.random_regular_graph(3, 12, seed=7000 + s))
            best = prob.qubo.diagonal().min()
            with torch.no_grad():
                for angles, out in ((predict_angles(prob, p), learned), (fixed_angles(p, 3), fixed)):
                    out.append(float(energy(prob.qubo, torch.tensor(angles[0]), torch.tensor(angles[1]))) / best)
        assert np.mean(learned) > np.mean(fixed) - 0.015, (p, np.mean(learned), np.mean(fixed))


def test_save_load_round_trip_and_bad_files(tmp_path):
    net = AngleGNN(hidden=6, layers=2, p_max=3, seed=1)
    save_model(net, tmp_path / "m.safetensors", {"note": "x"})
    back = load_model(tmp_path / "m.safetensors")
    prob = instance("field", 7, 0)
    np.testing.assert_array_equal(back.predict(prob, 2)[0], net.predict(prob, 2)[0])
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_model(tmp_path / "bad.safetensors")


def test_training_lowers_dev_loss_and_resumes_exactly(tmp_path):
    cfg = TrainConfig(families=("regular3", "field"), n_min=6, n_max=6, train_per_family=3, dev_per_family=2,
                      depths=(1, 2), steps=8, batch=3, lr=0.02, hidden=8, layers=2, checkpoint_every=4)
    energy = _energy()
    dev = [(q, float(q.qubo.diagonal().mean()), float(q.qubo.diagonal().min())) for q in make_split(cfg, "dev")]
    with torch.no_grad():
        untrained = float(_losses(AngleGNN(8, 2, 2, seed=0), dev, [1, 2, 1, 2], energy))
    (tmp_path / "full").mkdir()
    full = train(cfg, tmp_path / "full", energy=energy)
    assert full["best_dev_loss"] < untrained - 0.01, (full["best_dev_loss"], untrained)

    (tmp_path / "cut").mkdir()

    def stop(step, steps, loss):
        if step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", energy=energy, progress=stop)
    train(cfg, tmp_path / "cut", energy=energy, resume=True)
    a, _ = read_safetensors(tmp_path / "full" / "checkpoint.safetensors")
    b, _ = read_safetensors(tmp_path / "cut" / "checkpoint.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert (tmp_path / "full" / "report.html").exists() and (tmp_path / "full" / "training.png").exists()


def test_config_errors_name_the_key(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('families = ["regular3", "nope"]\n')
    with pytest.raises(ConfigError, match="families: unknown 'nope'"):
        load_config(f)
    f.write_text("steps = 2.5\n")
    with pytest.raises(ConfigError, match="'steps' must be an integer"):
        load_config(f)
    f.write_text("n_max = 20\n")
    with pytest.raises(ConfigError, match="n_max <= 14"):
        load_config(f)


def test_routing_families_for_training():
    # cvrp: 2 vehicles, <= 2 customers each, exactly n = 4 (customers + 1) bits; its QUBO minimum is a feasible
    # routing whose length brute force over all assignments of customers to the two vehicles confirms
    from itertools import permutations

    for seed in range(3):
        prob = instance("cvrp", 16, seed)
        assert prob.n_variables == 16
        diag = prob.qubo.diagonal()
        x = np.array([(int(np.argmin(diag)) >> i) & 1 for i in range(16)])
        assert prob.is_feasible(x)
        routes = prob.decode(x)
        assert sorted(c for r in routes for c in r) == [1, 2, 3] and max(len(r) for r in routes) <= 2
        d = prob.qubo  # value = total distance of the routes; enumerate every split of 3 customers over 2 vehicles
        best = min(prob.value(prob.encode([list(a[:k]), list(a[k:])]))
                   for a in permutations([1, 2, 3]) for k in (1, 2))
        assert prob.value(x) == pytest.approx(best)
        assert d.n == 16
    assert instance("cvrp", 12, 0).n_variables == 12 and instance("cvrp", 20, 0).n_variables == 20
    with pytest.raises(ConfigError, match="multiple of 4"):
        instance("cvrp", 14, 0)
    cfg = TrainConfig(families=("tsp", "cvrp"), n_min=8, n_max=12, train_per_family=2, dev_per_family=1)
    assert [q.n_variables for q in make_split(cfg, "train")] == [9, 9, 12, 12]
    with pytest.raises(ConfigError, match="family cvrp has no instance size"):
        make_split(TrainConfig(families=("cvrp",), n_min=8, n_max=11), "dev")


def test_learned_start_on_routing_uses_the_routing_model():
    """predict_angles routes TSP and CVRP to the model trained with routing QUBOs as well; on DEV-split instances
    larger than its training ones (TSP with 5 cities, CVRP with 3 customers: 16 bits) its start beats the
    MaxCut-trained model's (r = (<C> - mean C) / (min C - mean C))."""
    from qtandem.opt import qaoa_expectation

    assert load_model("routing") is load_model("routing") and load_model("routing") is not load_model()
    for fam in ("tsp", "cvrp"):
        prob = instance(fam, 16, 7_000_000)
        g, b = predict_angles(prob, 3)
        g2, b2 = predict_angles(prob, 3, model=load_model("routing"))
        assert np.array_equal(g, g2) and np.array_equal(b, b2)
        d = prob.qubo.diagonal()

        def r(gb, prob=prob, d=d):
            with torch.no_grad():
                return (float(qaoa_expectation(prob, *gb)) - d.mean()) / (d.min() - d.mean())

        assert r((g, b)) > 0.85 and r((g, b)) > r(predict_angles(prob, 3, model=load_model())) + 0.04
