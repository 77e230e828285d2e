"""``qtandem optimize --permute-output``: the written circuit equals the input followed by the printed permutation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cli

from qtandem.compile.verify import verify_equivalent
from qtandem.qasm import load

QASM = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\n'
        "h q[0];\ncx q[0],q[1];\nswap q[1],q[2];\nrz(0.3) q[2];\ncx q[2],q[0];\n")


def test_permute_output_json_carries_the_permutation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = tmp_path / "in.qasm", tmp_path / "out.qasm"
    src.write_text(QASM)
    code, out, err = run_cli(["optimize", str(src), "-o", str(dst), "--level", "2", "--permute-output", "--json"],
                          capsys)
    assert code == 0, err
    data = json.loads(out)
    perm = data["permutation"]
    assert sorted(perm) == [0, 1, 2] and perm != [0, 1, 2]   # the swap became a relabelling
    c_in, c_out = load(src), load(dst)
    assert "swap" not in c_out.count_ops() and c_out.count_ops().get("cx", 0) == 2
    verify_equivalent(c_in, c_out, permutation=perm)


def test_permute_output_table_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = tmp_path / "in.qasm", tmp_path / "out.qasm"
    src.write_text(QASM)
    code, out, err = run_cli(["optimize", str(src), "-o", str(dst), "--level", "2", "--permute-output"], capsys)
    assert code == 0, err
    assert "output permutation: input wire i ends on wire [" in out
    code, out, err = run_cli(["optimize", str(src), "-o", str(dst), "--permute-output", "--hardware",
                           "heavy_hex_27"], capsys)
    assert code != 0 and "permute_output" in out + err
