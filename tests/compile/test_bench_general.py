"""bench/compile_general.py: verification of every tool's output, the summary, the sets' selection rules."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from qtandem import Circuit

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_compile_general", ROOT / "bench" / "compile_general.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _swappy() -> Circuit:
    """Rotations moved around a 3-cycle of swaps (written as CX): tket elides them into a permutation."""
    c = Circuit(3).u(0.3, 0.2, 0.1, 0).ry(0.7, 1).rx(1.1, 2)
    for a, b in ((0, 1), (1, 2)):
        c.cx(a, b).cx(b, a).cx(a, b)
    return c.cx(0, 1).rz(0.4, 1).cx(2, 0).ry(0.2, 0)


def test_check_proves_equal_and_catches_a_wrong_output():
    bench = _bench()
    a = Circuit(2).h(0).cx(0, 1).rz(0.3, 1)
    assert bench.check(a, a.copy(), None) == "ok"
    wrong = Circuit(2).h(0).cx(0, 1).rz(0.31, 1)
    assert bench.check(a, wrong, None).startswith("FAILED")
    swapped = a.copy().swap(0, 1)  # a, then the states of the two wires exchanged
    assert bench.check(a, swapped, None).startswith("FAILED")
    assert bench.check(a, swapped, [1, 0]) == "ok"


@pytest.mark.parametrize("basis", ["ibm", "u"])
def test_peer_outputs_are_verified_with_their_permutation(basis):
    pytest.importorskip("pytket")
    pytest.importorskip("qiskit")
    bench = _bench()
    qasm = bench.to_basis(_swappy().to_qasm(2), basis)
    inp = Circuit.from_qasm(qasm)
    assert set(inp.count_ops()) <= set(bench.BASES[basis])
    tket = bench.run_tket(inp, qasm, basis, 5.0)
    assert tket["verified"] == "ok" and tket["permuted"]  # the swaps became tket's implicit permutation
    assert tket["cx"] < inp.count_ops()["cx"]
    qiskit = bench.run_qiskit(inp, qasm, basis, 5.0)
    assert qiskit["verified"] == "ok"
    ours = bench.run_qtandem(inp, qasm, basis, 5.0)
    assert ours["verified"] == "ok" and "off_basis" not in ours


def _row(name, basis, inp, **tools):
    row = {"name": name, "basis": basis, "input": {"gates": inp[0], "cx": inp[1]}}
    for t, (g, cx, ok) in tools.items():
        row[t] = {"gates": g, "cx": cx, "seconds": 0.1, "verified": "ok" if ok else "FAILED: x"}
    return row


def test_summary_ratios_wins_and_unverified_rows():
    bench = _bench()
    rows = [
        _row("a", "ibm", (100, 20), qtandem=(50, 10, True), qiskit=(100, 20, True), tket=(50, 5, True)),
        _row("b", "ibm", (100, 20), qtandem=(200, 10, True), qiskit=(100, 20, True), tket=(200, 20, True)),
        _row("c", "ibm", (100, 20), qtandem=(10, 1, True), qiskit=(1, 1, False), tket=(10, 1, True)),
        _row("d", "u", (10, 2), qtandem=(5, 2, True), qiskit=(5, 2, True), tket=(5, 2, True)),
    ]
    s = bench.summarize(rows, ["qtandem", "qiskit", "tket"])
    ibm = s["ibm"]
    assert ibm["circuits"] == 3
    q = ibm["qtandem_over_qiskit"]
    assert q["n"] == 2  # row c: Qiskit's output was not verified, so it leaves the ratios
    assert math.isclose(q["gates"], math.sqrt(0.5 * 2.0), rel_tol=1e-3)
    assert q["gates_wins_ties_losses"] == [1, 0, 1] and q["cx_wins_ties_losses"] == [2, 0, 0]
    t = ibm["qtandem_over_tket"]
    assert t["n"] == 3 and t["gates_wins_ties_losses"] == [0, 3, 0] and t["cx_wins_ties_losses"] == [1, 1, 1]
    assert ibm["qtandem"]["worse_than_input_gates"] == ["b"]
    assert ibm["qiskit"]["not_verified"] == ["c: FAILED: x"]
    assert ibm["worst_vs_best_peer_gates"][0] == "b: 2.000"
    assert s["u"]["qtandem_over_tket"]["gates"] == 1.0


def test_qasmbench_files_follow_the_stated_rule():
    folder = ROOT / "bench" / "data" / "qasmbench_small"
    files = sorted(folder.glob("*_transpiled.qasm"))
    assert len(files) == 15 and (folder / "LICENSE").is_file() and (folder / "SOURCE.md").is_file()
    names = {f.stem.removesuffix("_transpiled") for f in files}
    assert {"qaoa_n6", "dnn_n8", "basis_trotter_n4"} <= names
    for f in files:
        c = Circuit.from_qasm(f.read_text())
        ops = c.count_ops()
        assert set(ops) <= {"cx", "rz", "sx", "x", "measure", "barrier"}, f.name
        assert 4 <= c.n_qubits <= 10 and ops["cx"] >= 10, f.name


def test_test_set_selection_skips_dynamic_small_and_failing_families(monkeypatch):
    qiskit = pytest.importorskip("qiskit")
    pytest.importorskip("mqt.bench")
    import mqt.bench
    import mqt.bench.benchmarks

    def fake(name, level, circuit_size):
        if name == "broken" or (name == "even" and circuit_size % 2):
            raise ValueError("no such size")
        qc = qiskit.QuantumCircuit(3 if name == "tiny" else circuit_size)
        qc.h(0)
        qc.cx(0, 1)
        qc.measure_all()
        return qc

    monkeypatch.setattr(mqt.bench, "get_benchmark", fake)
    monkeypatch.setattr(mqt.bench.benchmarks, "get_available_benchmark_names",
                        lambda: ["good", "tiny", "broken", "ghz_dynamic", "even"])
    bench = _bench()
    skipped: list = []
    got = list(bench.test_circuits(False, skipped))
    # the first size of each band that generates
    assert [name for name, _, _ in got] == ["good_5", "good_10", "even_4", "even_10"]
    reasons = {s["name"]: s["reason"] for s in skipped}
    assert reasons["ghz_dynamic"].startswith("dynamic circuit")
    assert reasons["tiny_5"] == "3 qubits"
    assert reasons["broken_5-8"].startswith("does not generate: 5: ValueError")
    text = got[0][2]("u")  # the input: final measurements gone, translated to {u, cx}
    assert set(Circuit.from_qasm(text).count_ops()) == {"u", "cx"}


def test_end_to_end_on_one_generated_circuit(tmp_path):
    pytest.importorskip("pytket")
    pytest.importorskip("qiskit")
    bench = _bench()
    out = tmp_path / "r.json"
    assert bench.main(["--set", "dev", "--only", "gen_hea_cx_4", "--budget", "5", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [(r["name"], r["basis"]) for r in data["rows"]] == [("gen_hea_cx_4", "ibm"), ("gen_hea_cx_4", "u")]
    assert data["budget_s"] == 5.0 and data["set"].startswith("development")
    for r in data["rows"]:
        assert all(r[t]["verified"] == "ok" for t in ("qtandem", "qiskit", "tket")), r
        assert r["qtandem"]["gates"] <= r["input"]["gates"]
    assert data["summary"]["u"]["qtandem_over_qiskit"]["n"] == 1


def test_markdown_table_comes_from_the_json():
    bench = _bench()
    rows = [_row("a", "ibm", (100, 20), qtandem=(50, 10, True), qiskit=(100, 20, True), tket=(50, 5, True))]
    summary = bench.summarize(rows, ["qtandem", "qiskit", "tket"])
    result = {"set": "dev", "budget_s": 5.0, "versions": {}, "summary": summary}
    table = bench.markdown(result).splitlines()
    assert table[-1].startswith("| ibm | 1 | 0.5 | 0.5 | 1/0/0 | 1.0 | 2.0 | 0/1/0 | 0.5 | 0.5 | 0 | 0/0/0 |")
    assert not any(line.startswith("| u |") for line in table)  # no rows in basis u: no line


def test_merge_joins_shards_and_recomputes_the_summary():
    bench = _bench()
    tools = ["qtandem", "qiskit", "tket"]
    rows = [_row("a", "ibm", (100, 20), qtandem=(50, 10, True), qiskit=(100, 20, True), tket=(50, 5, True)),
            _row("b", "ibm", (100, 20), qtandem=(80, 20, True), qiskit=(40, 10, True), tket=(80, 20, True))]
    base = {"benchmark": "compile_general_test", "qtandem": "q", "budget_s": 20.0, "verify_atol": 1e-6,
            "versions": {}, "tools": tools}
    parts = [{**base, "rows": [r], "skipped": [{"name": "x", "reason": "r"}], "wall_seconds": 10.0,
              "shard": f"{k + 1}/2", "summary": bench.summarize([r], tools)} for k, r in enumerate(rows)]
    merged = bench.merge(parts)
    assert merged["summary"] == bench.summarize(rows, tools)
    assert merged["summary"]["ibm"]["qtandem_over_qiskit"]["gates"] == 1.0  # sqrt(0.5 * 2)
    assert merged["wall_seconds"] == 20.0 and merged["skipped"] == [{"name": "x", "reason": "r"}]
    with pytest.raises(SystemExit, match="two shards"):
        bench.merge([parts[0], parts[0]])
    with pytest.raises(SystemExit, match="budget_s differs"):
        bench.merge([parts[0], {**parts[1], "budget_s": 5.0}])


def test_multi_register_input_is_flattened_so_tket_keeps_the_wire_order():
    pytest.importorskip("pytket")
    bench = _bench()
    text = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg b[2];\nqreg a[2];\ncreg c[1];\n'
            "rz(0.3) b[0];\nsx a[1];\ncx b[0], a[1];\ncx a[0], b[1];\nrz(1.2) a[0];\nmeasure a[0] -> c[0];\n")
    inp = bench.one_register(Circuit.from_qasm(text))
    assert inp.n_qubits == 4 and inp.qregs == [("q", 4)] and "measure" not in inp.count_ops()
    tket = bench.run_tket(inp, inp.to_qasm(2), "ibm", 5.0)
    assert tket["verified"] == "ok"  # was FAILED when tket wrote registers a, b back in sorted order


def test_peers_from_an_earlier_run_only_on_identical_inputs():
    bench = _bench()
    old_rows = [_row("a", "ibm", (100, 20), qtandem=(90, 20, True), qiskit=(100, 20, True), tket=(50, 5, True))]
    versions = {"qiskit": "2.6.2", "pytket": "2.18.5", "mqt.bench": "2.3.0"}
    old = {"rows": old_rows, "versions": versions, "wall_seconds": 9.0}
    mine = {k: v for k, v in _row("a", "ibm", (100, 20), qtandem=(50, 10, True), qiskit=(1, 1, True),
                                  tket=(1, 1, True)).items() if k not in ("qiskit", "tket")}
    result = {"rows": [mine], "tools": ["qtandem"], "versions": versions}
    merged = bench.with_peers(result, old, "old.json")
    assert merged["tools"] == ["qtandem", "qiskit", "tket"] and merged["rows"][0]["tket"]["gates"] == 50
    assert merged["summary"]["ibm"]["qtandem_over_qiskit"]["gates"] == 0.5
    changed = {**mine, "input": {**mine["input"], "gates": 99}}
    alone = bench.with_peers({**result, "rows": [changed]}, old, "old.json")
    assert "qiskit" not in alone["rows"][0] and alone["peers_from"]["no_peer_row"] == ["a (ibm)"]
    assert alone["summary"]["ibm"]["qtandem_over_qiskit"]["n"] == 0  # the row leaves the ratios
    with pytest.raises(SystemExit, match="qiskit"):
        bench.with_peers(result, {**old, "versions": {**versions, "qiskit": "2.7"}}, "old.json")
