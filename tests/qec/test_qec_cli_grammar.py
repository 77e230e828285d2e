"""Issue 13 for ``qtandem qec eval/flag/train``: no crash at zero errors, one output grammar, the user's own data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import stim

from qtandem.cli.main import main
from qtandem.errors import DatasetError, DecoderError
from qtandem.qec.codes import surface_code
from qtandem.qec.evaluate import evaluate, evaluate_circuit, flag, write_evaluation
from qtandem.qec.matching import MatchingDecoder
from qtandem.qec.plots import error_bars
from qtandem.qec.shotfiles import read_circuit, read_shot_files, read_shots


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def rep_circuit(p=0.05):
    return stim.Circuit.generated("repetition_code:memory", distance=3, rounds=3,
                                  before_round_data_depolarization=p, before_measure_flip_probability=p)


# -- 1. zero logical errors and other edges ---------------------------------------------------


def test_eval_with_zero_logical_errors_writes_plots(tmp_path, capsys):
    """Issue 13 section 1: `qec eval -D pymatching -d 3 -p 0.0001 --shots 2000` crashed in the plot (yerr < 0)."""
    out = tmp_path / "ev"
    code, stdout, err = run_cli(["qec", "eval", "-D", "pymatching", "-d", "3", "-p", "0.0001", "--shots", "2000",
                                 "--output", str(out), "--json"], capsys)
    assert code == 0, err
    point = json.loads(stdout)["points"][0]
    assert point["errors"] == 0 and point["rate"] == 0.0 and point["high"] > 0
    for name in ("ler.png", "flagging.png", "report.html"):
        assert (out / name).stat().st_size > 0
    json.loads((out / "results.json").read_text())  # strict JSON (no NaN)


def test_error_bars_are_clipped_at_zero():
    # the Wilson lower bound sits a rounding error above a rate of 0
    yerr = error_bars([0.0, 0.25], [1e-19, 0.1], [0.01, 0.5])
    assert (yerr >= 0).all()
    assert np.allclose(yerr, [[0.0, 0.15], [0.01, 0.25]]) and yerr[0, 0] == 0.0


@pytest.mark.parametrize("ps", [[0.0], [0.0, 0.02], [0.02]])
def test_p_zero_single_points_and_all_flagged(tmp_path, ps):
    pts = evaluate(code="repetition", distances=[3], ps=ps, decoders=["pymatching", "pymatching-correlated"],
                   shots=300, seed=1)
    zero = [pt for pt in pts if pt.p == 0.0]
    assert all(pt.ler.errors == 0 for pt in zero)  # p = 0: nothing fails, soft output is certain
    assert all(pt.flag_curve is not None and np.isfinite(pt.flag_curve.ler_kept[0]) for pt in zero)
    paths = write_evaluation(pts, tmp_path / "w")
    data = json.loads(paths["json"].read_text())
    assert len(data["points"]) == len(pts)
    # every curve ends with every shot flagged: its LER among kept shots is undefined -> null, not NaN
    assert data["points"][0]["flag_curve"]["ler_kept"][-1] is None


def test_flag_everything_and_nothing():
    c = surface_code(3, 3, p=0.01)
    dets, obs = c.compile_detector_sampler(seed=3).sample(300, separate_observables=True)
    every = flag(MatchingDecoder(c), dets, 0.0, obs)
    assert every.indices.size == 300 and np.isnan(every.ler_kept)
    assert every.to_dict()["ler_kept"] is None
    none = flag(MatchingDecoder(c), dets, 1.0, obs)
    assert none.indices.size == 0 and none.to_dict()["ler_flagged"] is None


def test_matching_soft_output_without_errors():
    c = surface_code(3, 3, p=0.0)
    dec = MatchingDecoder(c)
    dets = np.zeros((4, c.num_detectors), dtype=bool)
    assert dec.decode(dets).sum() == 0
    assert dec.decode_soft(dets).max() < 1e-300  # certain: no error can flip the observable


# -- 2. one grammar ---------------------------------------------------------------------------


def test_eval_refuses_to_overwrite_without_flag(tmp_path, capsys):
    out = tmp_path / "ev"
    args = ["qec", "eval", "-D", "pymatching", "-d", "3", "-p", "0.01", "--shots", "100", "-o", str(out)]
    assert run_cli(args, capsys)[0] == 0
    before = (out / "results.json").read_text()
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "pass --overwrite" in err
    assert (out / "results.json").read_text() == before
    code, _, err = run_cli([*args, "--overwrite", "--seed", "5"], capsys)
    assert code == 0, err
    assert (out / "results.json").read_text() != before


def test_flag_output_option_overwrite_and_old_form(tmp_path, capsys):
    out = tmp_path / "fl"
    args = ["qec", "flag", "-o", str(out), "--shots", "200", "-p", "0.01"]
    assert run_cli(args, capsys)[0] == 0
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "pass --overwrite" in err
    code, _, err = run_cli([*args, "--overwrite"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["qec", "flag", str(tmp_path / "old"), "--shots", "10"], capsys)
    assert code == 2 and "-o/--output" in err and "Traceback" not in err
    assert not (tmp_path / "old").exists()


TINY_TRAIN = """
[data]
distance = 3
val_shots = 64
[model]
hidden = 8
heads = 2
readout = 8
[optim]
steps = 1
batch_size = 16
warmup = 1
"""


def test_train_output_needs_overwrite_or_resume(tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY_TRAIN)
    out = tmp_path / "run"
    base = ["qec", "train", str(cfg), "-o", str(out), "--no-progress", "--json"]
    code, stdout, err = run_cli(base, capsys)
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 1
    code, _, err = run_cli(base, capsys)
    assert code == 2 and "pass --overwrite" in err
    assert run_cli([*base, "--resume"], capsys)[0] == 0
    assert run_cli([*base, "--overwrite"], capsys)[0] == 0
    code, _, err = run_cli([*base, "--overwrite", "--resume"], capsys)
    assert code == 2 and "give one" in err


# -- 3. the user's own circuit and recorded shots ------------------------------------------------


@pytest.fixture()
def user_files(tmp_path):
    c = rep_circuit()
    (tmp_path / "c.stim").write_text(str(c))
    dets, obs = c.compile_detector_sampler(seed=11).sample(500, separate_observables=True)
    for fmt in ("b8", "01"):
        stim.write_shot_data_file(data=dets, path=str(tmp_path / f"d.{fmt}"), format=fmt,
                                  num_detectors=c.num_detectors)
        stim.write_shot_data_file(data=obs, path=str(tmp_path / f"o.{fmt}"), format=fmt,
                                  num_observables=c.num_observables)
    return tmp_path, c, dets, obs


@pytest.mark.parametrize("fmt", ["b8", "01"])
def test_read_stim_shot_files(user_files, fmt):
    folder, _, dets, obs = user_files
    d, o = read_shot_files(read_circuit(folder / "c.stim"), folder / f"d.{fmt}", folder / f"o.{fmt}")
    assert np.array_equal(d, dets) and np.array_equal(o, obs)


def test_malformed_shot_files(user_files):
    folder, c, _, _ = user_files
    n = c.num_detectors  # 8 detectors: one byte per shot
    (folder / "short.b8").write_bytes(b"\x01\x02\x03")
    assert read_shots(folder / "short.b8", n).shape == (3, n)
    with pytest.raises(DatasetError, match="not a multiple of the record length, 2 bytes"):
        read_shots(folder / "short.b8", 9)
    (folder / "pad.b8").write_bytes(b"\x00\xff")
    with pytest.raises(DatasetError, match="shot 0 sets bits beyond the 9"):
        read_shots(folder / "pad.b8", 9)
    (folder / "bad.01").write_text("0" * n + "\n" + "0" * (n - 1) + "2\n")
    with pytest.raises(DatasetError, match=r"bad\.01:2:8: bad character '2'"):
        read_shots(folder / "bad.01", n)
    (folder / "len.01").write_text("0" * n + "\n" + "0" * (n + 1) + "\n")
    with pytest.raises(DatasetError, match=rf"len\.01:2: expected {n} characters"):
        read_shots(folder / "len.01", n)
    (folder / "crlf.01").write_bytes(b"01\r\n10")
    assert read_shots(folder / "crlf.01", 2).astype(int).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(DatasetError, match="unknown shot-data format '.csv'"):
        read_shots(folder / "x.csv", n)
    with pytest.raises(DatasetError, match="no such shot-data file"):
        read_shots(folder / "missing.b8", n)
    with pytest.raises(DatasetError, match="holds 500 shots but .* holds 10"):
        read_shot_files(c, folder / "d.b8", _obs_file(folder, 10))


def _obs_file(folder, shots):
    path = folder / f"obs{shots}.b8"
    stim.write_shot_data_file(data=np.zeros((shots, 1), bool), path=str(path), format="b8", num_observables=1)
    return path


def test_read_circuit_errors(tmp_path):
    (tmp_path / "bad.stim").write_text("H 0\nNOT_A_GATE 1\n")
    with pytest.raises(DatasetError, match="not a valid Stim circuit"):
        read_circuit(tmp_path / "bad.stim")
    (tmp_path / "nodet.stim").write_text("X_ERROR(0.1) 0\nM 0\n")
    with pytest.raises(DatasetError, match="no DETECTOR"):
        read_circuit(tmp_path / "nodet.stim")
    (tmp_path / "noobs.stim").write_text("X_ERROR(0.1) 0\nM 0\nDETECTOR rec[-1]\n")
    with pytest.raises(DatasetError, match="no OBSERVABLE_INCLUDE"):
        read_circuit(tmp_path / "noobs.stim")
    with pytest.raises(DatasetError, match="no such circuit file"):
        read_circuit(tmp_path / "missing.stim")


def test_eval_decodes_recorded_shots_exactly(user_files, capsys):
    folder, c, dets, obs = user_files
    wrong = int(np.any(MatchingDecoder(c).decode(dets) != obs, axis=1).sum())
    for fmt in ("b8", "01"):
        out = folder / f"ev-{fmt}"
        code, stdout, err = run_cli(["qec", "eval", "--circuit", str(folder / "c.stim"), "--dets",
                                     str(folder / f"d.{fmt}"), "--obs", str(folder / f"o.{fmt}"), "-o", str(out),
                                     "--json"], capsys)
        assert code == 0, err
        pts = json.loads(stdout)["points"]
        assert {pt["decoder"] for pt in pts} == {"pymatching", "pymatching-correlated"}
        plain = next(pt for pt in pts if pt["decoder"] == "pymatching")
        assert plain["shots"] == 500 and plain["errors"] == wrong and plain["code"] == "circuit"
        assert plain["seed"] is None and plain["p"] is None
        assert (out / "ler.png").stat().st_size > 0
    code, stdout, err = run_cli(["qec", "eval", "--circuit", str(folder / "c.stim"), "--shots", "300", "-D",
                                 "pymatching", "-o", str(folder / "fresh"), "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["points"][0]["shots"] == 300


def test_eval_user_data_errors(user_files, capsys):
    folder = user_files[0]
    stim_file, d8, o8 = str(folder / "c.stim"), str(folder / "d.b8"), str(folder / "o.b8")
    cases = [
        (["--dets", d8, "--obs", o8], "need --circuit"),
        (["--circuit", stim_file, "--dets", d8], "--dets needs --obs"),
        (["--circuit", stim_file, "-d", "5"], "drop -d/--distance"),
        (["--circuit", stim_file, "--dets", d8, "--obs", str(_obs_file(folder, 7))], "holds 500 shots"),
        (["--circuit", str(folder / "d.b8")], "not a Stim circuit"),
        (["--circuit", stim_file, "-D", "pretrained:surface-d3-p0.005"],
         "trained for 24 detectors, 1 observable(s), 26 qubits; this circuit has 8, 1, 5"),
    ]
    for k, (extra, message) in enumerate(cases):
        code, _, err = run_cli(["qec", "eval", *extra, "-o", str(folder / f"bad{k}")], capsys)
        assert code == 2 and message in err, (extra, err)
        assert "Traceback" not in err


def test_pretrained_decoder_on_its_own_circuit_from_a_file(tmp_path, capsys):
    from qtandem.qec.zoo import pretrained

    trained = pretrained("surface-d3-p0.005").circuit
    noisier = surface_code(3, 3, p=0.008)  # same circuit, other noise strength: accepted
    assert noisier.without_noise() == trained.without_noise()
    (tmp_path / "c.stim").write_text(str(noisier))
    code, stdout, err = run_cli(["qec", "eval", "--circuit", str(tmp_path / "c.stim"), "--shots", "300", "-D",
                                 "pretrained:surface-d3-p0.005", "-o", str(tmp_path / "ev"), "--json",
                                 "--no-flag-curves"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["points"][0]["shots"] == 300
    with pytest.raises(DecoderError, match="different gates from instruction"):
        evaluate_circuit(surface_code(3, 3, basis="X", p=0.005), decoders=["pretrained:surface-d3-p0.005"])


def test_flag_recorded_shots_with_and_without_obs(user_files, capsys):
    folder, c, dets, obs = user_files
    out = folder / "fl"
    code, stdout, err = run_cli(["qec", "flag", "--circuit", str(folder / "c.stim"), "--dets", str(folder / "d.01"),
                                 "--obs", str(folder / "o.01"), "-o", str(out), "--threshold", "0.05", "--json"],
                                capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    expect = flag(MatchingDecoder(c), dets, 0.05, obs)
    assert summary["flagged"] == expect.indices.size and summary["ler_all"] == expect.ler_all
    out2 = folder / "fl2"
    code, stdout, err = run_cli(["qec", "flag", "--circuit", str(folder / "c.stim"), "--dets", str(folder / "d.b8"),
                                 "-o", str(out2), "--threshold", "0.05", "--json"], capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["flagged"] == expect.indices.size and summary["ler_all"] is None
    code, _, err = run_cli(["qec", "flag", "--circuit", str(folder / "c.stim"), "--shots", "100", "-o",
                            str(folder / "fl3"), "--json"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["qec", "flag", "--dets", str(folder / "d.b8"), "-o", str(folder / "fl4")], capsys)
    assert code == 2 and "need --circuit" in err
