"""The benchmark suites of bench/compile.py: the fixed Nam dev/test split and the second set's files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAM = ROOT.parent / "shared" / "data" / "nam"


def _bench_compile():
    spec = importlib.util.spec_from_file_location("bench_compile", ROOT / "bench" / "compile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_split_is_the_seeded_rule_and_halves_the_suite():
    split = json.loads((ROOT / "bench" / "data" / "nam_split.json").read_text())
    names = split["dev"] + split["test"]
    assert len(split["dev"]) == len(split["test"]) == 17 and len(set(names)) == 34
    bench = _bench_compile()
    assert bench.nam_split(names, seed=split["seed"]) == {"dev": split["dev"], "test": split["test"]}
    if NAM.is_dir():
        assert sorted(names) == sorted(p.stem for p in NAM.glob("*.qasm"))


def test_second_suite_files_load_and_translate_to_the_nam_gate_set(tmp_path):
    from qtandem.qasm import load

    folder = ROOT / "bench" / "data" / "qft_adders"
    files = sorted(folder.glob("*.qasm"))
    assert len(files) == 10 and (folder / "LICENSE").is_file() and (folder / "SOURCE.md").is_file()
    small = folder / "QFT8.qasm"
    out = _bench_compile().translated(small, tmp_path)
    assert set(load(out).count_ops()) <= {"h", "x", "cx", "rz"}
    assert load(out).num_gates() == 148


@pytest.mark.skipif(not NAM.is_dir(), reason="Nam suite not present (../shared/data/nam)")
def test_split_names_match_the_suite_files():
    split = json.loads((ROOT / "bench" / "data" / "nam_split.json").read_text())
    assert all((NAM / f"{n}.qasm").is_file() for n in split["dev"] + split["test"])
