"""Shot-data folders: round trip, merge, and a clear DataError naming the file for every malformed case."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from qtandem.device import Device
from qtandem.errors import DataError
from qtandem.learn import ShotData, characterization, simulator_executor


@pytest.fixture(scope="module")
def data() -> ShotData:
    plan = characterization([0, 1], pairs=[(0, 1)], experiments=["readout", "t1", "amplify_cx"], seed=1)
    return plan.run(simulator_executor(Device.preset("line_5"), seed=0), shots=100, seed=2, device_name="line_5")


@pytest.fixture
def folder(tmp_path: Path, data: ShotData) -> Path:
    out = tmp_path / "data"
    data.save(out)
    return out


def test_round_trip(folder: Path, data: ShotData) -> None:
    assert sorted(p.name for p in folder.iterdir()) == ["circuits", "counts.json", "manifest.json"]
    assert len(list((folder / "circuits").iterdir())) == len(data.counts)
    assert (folder / "circuits" / "0.qasm").read_text().startswith("OPENQASM 3")
    back = ShotData.load(folder)
    assert back.counts == data.counts and back.shots == data.shots and back.seeds == data.seeds
    assert back.device_name == "line_5" and back.plan.width == data.plan.width
    for a, b in zip(data.plan.experiments, back.plan.experiments, strict=True):
        assert (a.name, a.qubits, a.xs, a.meta) == (b.name, b.qubits, b.xs, b.meta)
        assert [c.to_qasm(3) for c in a.circuits] == [c.to_qasm(3) for c in b.circuits]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema"] == "qtandem.shotdata" and manifest["shots"] == data.shots
    # saving again over the same folder works (files replaced)
    back.save(folder)
    assert ShotData.load(folder).counts == data.counts


def test_delays_survive_the_round_trip(tmp_path: Path) -> None:
    plan = characterization([0], experiments=["ramsey"])
    data = ShotData(plan, [{"0": 1} for _ in plan.circuits], 1)
    data.save(tmp_path / "d")
    back = ShotData.load(tmp_path / "d")
    for a, b in zip(plan.circuits, back.circuits, strict=True):
        delays_a = [i.params[0] for i in a if i.name == "delay"]
        delays_b = [i.params[0] for i in b if i.name == "delay"]
        assert delays_b == pytest.approx(delays_a, rel=1e-12)


def test_merge(data: ShotData, tmp_path: Path) -> None:
    plan = characterization([0], experiments=["readout"], width=2)
    extra = ShotData(plan, [{"0": 7}, {"1": 7}], 7, [{"plan": 0, "run": 9}], device_name="line_5")
    merged = data.merge(extra)
    assert merged.shots == data.shots + [7, 7] and merged.counts == data.counts + extra.counts
    assert merged.seeds == data.seeds + extra.seeds and merged.device_name == "line_5"
    merged.save(tmp_path / "m")
    assert ShotData.load(tmp_path / "m").shots == merged.shots
    other = ShotData(characterization([0], experiments=["readout"], width=3), [{"0": 1}, {"1": 1}], 1)
    with pytest.raises(DataError, match="merge: data on 2 and 3 qubits"):
        data.merge(other)


def _edit_json(path: Path, change: Callable[[object], object]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _set(key: str, value: object) -> Callable[[object], object]:
    def change(d: object) -> object:
        assert isinstance(d, dict)
        d[key] = value
        return d
    return change


def _count(i: int, value: object) -> Callable[[object], object]:
    def change(counts: object) -> object:
        assert isinstance(counts, list)
        counts[i] = value
        return counts
    return change


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("no folder", shutil.rmtree, r"data: no such shot-data folder"),
    ("no manifest", lambda f: (f / "manifest.json").unlink(), r"manifest.json: missing"),
    ("manifest not JSON", lambda f: (f / "manifest.json").write_text("{oops"), r"manifest.json:1:2: invalid JSON"),
    ("manifest binary", lambda f: (f / "manifest.json").write_bytes(b"\xff\xfe\x00"), r"manifest.json: not a UTF-8"),
    ("wrong schema", lambda f: _edit_json(f / "manifest.json", _set("schema", "qtandem.device")),
     r"manifest.json: not a shot-data manifest \(schema 'qtandem.device'"),
    ("wrong version", lambda f: _edit_json(f / "manifest.json", _set("version", 7)),
     r"manifest.json: version 7 is not supported"),
    ("shots not a list", lambda f: _edit_json(f / "manifest.json", _set("shots", 100)),
     r"manifest.json: key 'shots' must be a list"),
    ("missing circuit", lambda f: (f / "circuits" / "3.qasm").unlink(),
     r"circuits/3.qasm: missing circuit file \(listed in manifest.json\)"),
    ("bad circuit", lambda f: (f / "circuits" / "2.qasm").write_text("OPENQASM 3.0;\nqubit[2] q;\nfoo q[0];\n"),
     r"circuits/2.qasm: invalid OpenQASM"),
    ("circuit of the wrong width", lambda f: (f / "circuits" / "1.qasm").write_text(
        "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[3] q;\nbit[1] c;\nc[0] = measure q[0];\n"),
     r"circuit 1 \(readout on \(0,\)\) has 3 qubits"),
    ("circuit measuring the wrong qubit", lambda f: (f / "circuits" / "1.qasm").write_text(
        "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[2] q;\nbit[1] c;\nc[0] = measure q[1];\n"),
     r"circuit 1 \(readout on \(0,\)\) measures \[\(1, 0\)\]"),
    ("circuit list out of order", lambda f: _edit_json(f / "manifest.json", lambda d: (
        d["experiments"][0]["circuits"].reverse(), d)[1]), r"expected circuit file 'circuits/0.qasm'"),
    ("unknown experiment", lambda f: _edit_json(f / "manifest.json", lambda d: (
        d["experiments"][0].update(name="t3"), d)[1]), r"experiments\[0\]: unknown experiment 't3'"),
    ("xs mismatch", lambda f: _edit_json(f / "manifest.json", lambda d: (
        d["experiments"][1].update(xs=[1.0]), d)[1]), r"experiments\[1\]: experiment 'readout': 2 circuits but xs"),
    ("no counts", lambda f: (f / "counts.json").unlink(), r"counts.json: missing"),
    ("counts not a list", lambda f: (f / "counts.json").write_text("{}"), r"counts.json: expected a list of counts"),
    ("too few counts", lambda f: _edit_json(f / "counts.json", lambda c: c[:-1]),
     r"counts.json: \d+ counts for \d+ circuits"),
    ("negative count", lambda f: _edit_json(f / "counts.json", _count(0, {"0": 101, "1": -1})),
     r"counts.json: circuit 0: count of '1' must be a non-negative integer, got -1"),
    ("fractional count", lambda f: _edit_json(f / "counts.json", _count(0, {"0": 99.5, "1": 0.5})),
     r"counts.json: circuit 0: count of '0' must be a non-negative integer, got 99.5"),
    ("wrong bit width", lambda f: _edit_json(f / "counts.json", _count(0, {"00": 100})),
     r"counts.json: circuit 0: outcome '00' is not a 1-bit string"),
    ("not a bitstring", lambda f: _edit_json(f / "counts.json", _count(0, {"x": 100})),
     r"counts.json: circuit 0: outcome 'x' is not a 1-bit string"),
    ("shots do not add up", lambda f: _edit_json(f / "counts.json", _count(0, {"0": 50})),
     r"counts.json: circuit 0: counts add up to 50, but shots is 100"),
    ("seeds not objects", lambda f: _edit_json(f / "manifest.json", _set("seeds", [3])),
     r"manifest.json: 'seeds' must be a list of objects"),
    ("device name not a string", lambda f: _edit_json(f / "manifest.json", _set("device_name", 5)),
     r"manifest.json: 'device_name' must be a string or null"),
    ("plan seed not an int", lambda f: _edit_json(f / "manifest.json", _set("plan_seed", "x")),
     r"manifest.json: 'plan_seed' must be an int"),
    ("num_circuits wrong", lambda f: _edit_json(f / "manifest.json", _set("num_circuits", 3)),
     r"manifest.json: num_circuits is 3 but the experiments list \d+"),
    ("experiment not an object", lambda f: _edit_json(f / "manifest.json", lambda d: (
        d["experiments"].append(5), d)[1]), r"experiments\[6\]: needs a 'circuits' list"),
    ("shots per circuit missing", lambda f: _edit_json(f / "manifest.json", lambda d: (
        d.update(shots=d["shots"][:-1]), d)[1]), r"manifest.json: 'shots' must hold one positive integer per circuit"),
]


@pytest.mark.parametrize(("what", "damage", "message"), CASES, ids=[c[0] for c in CASES])
def test_malformed_folders_are_refused_naming_the_file(folder: Path, what: str, damage: Callable[[Path], None],
                                                       message: str) -> None:
    damage(folder)
    with pytest.raises(DataError, match=message):
        ShotData.load(folder)


def test_an_interrupted_save_leaves_no_manifest(folder: Path, data: ShotData, monkeypatch: pytest.MonkeyPatch) -> None:
    import qtandem.io

    def fail(path: object, text: str, encoding: str = "utf-8") -> None:
        raise OSError("disk full")

    monkeypatch.setattr(qtandem.io, "atomic_write_text", fail)
    with pytest.raises(OSError, match="disk full"):
        data.save(folder)
    with pytest.raises(DataError, match="manifest.json: missing"):
        ShotData.load(folder)


def test_save_refuses_a_file(tmp_path: Path, data: ShotData) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(DataError, match="exists and is not a folder"):
        data.save(target)


def test_constructor_checks(data: ShotData) -> None:
    with pytest.raises(DataError, match="shots must be a positive integer or one per circuit"):
        ShotData(data.plan, data.counts, [100])
    with pytest.raises(DataError, match="counts for"):
        ShotData(data.plan, data.counts[:-1], 100)
    assert "ShotData(" in repr(data)
