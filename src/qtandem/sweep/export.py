"""Sweep tables out: sinter's CSV (so ``sinter plot`` reads a qtandem sweep) and plain rows.

Examples:
    >>> table = [{"key": "ab12", "job": "qec", "point": {"code": "surface", "distance": 3, "rounds": 3,
    ...           "basis": "Z", "noise": "uniform", "p": 0.001, "decoder": "pymatching"},
    ...           "shots": 1000, "errors": 3, "discards": 0, "seconds": 0.5}]
    >>> line = sinter_csv(table).splitlines()[1]
    >>> line.split(",")[:5]
    ['      1000', '         3', '         0', '   0.500', 'pymatching']
    >>> line.split(",", 6)[6]
    '"{""b"":""Z"",""code"":""surface"",""d"":3,""noise"":""uniform"",""p"":0.001,""r"":3}",'
"""

from __future__ import annotations

import os
from typing import Any

from qtandem.io import atomic_write_text

__all__ = ["qec_metadata", "sinter_csv", "write_sinter_csv"]


def qec_metadata(point: dict[str, Any]) -> dict[str, Any]:
    """sinter-style ``json_metadata`` of a ``qec`` point (``d``, ``r``, ``p``, ``b``, ``code``, ``noise``).

    Examples:
        >>> qec_metadata({"code": "surface", "distance": 5, "rounds": 5, "basis": "Z", "noise": "uniform", "p": 0.002})
        {'b': 'Z', 'code': 'surface', 'd': 5, 'noise': 'uniform', 'p': 0.002, 'r': 5}
    """
    return {"b": point["basis"], "code": point["code"], "d": point["distance"], "noise": point["noise"],
            "p": point["p"], "r": point["rounds"]}


def sinter_csv(table: list[dict[str, Any]]) -> str:
    """sinter's CSV text (header and one line per ``qec`` point) for a :func:`~qtandem.sweep.summarise` table.

    Points of other jobs are skipped. Read it back with ``sinter.read_stats_from_csv_files`` or plot
    it with ``sinter plot --in FILE.csv --x_func m.p --group_func m.d``.

    Examples:
        >>> sinter_csv([]).split(",")[0].strip()
        'shots'
    """
    import sinter

    lines = [sinter.CSV_HEADER]
    for entry in table:
        if entry.get("job") != "qec":
            continue
        stats = sinter.TaskStats(strong_id=str(entry["key"]), decoder=str(entry["point"]["decoder"]),
                                 json_metadata=qec_metadata(entry["point"]), shots=int(entry.get("shots", 0)),
                                 errors=int(entry.get("errors", 0)), discards=int(entry.get("discards", 0)),
                                 seconds=float(entry.get("seconds", 0.0)))
        lines.append(stats.to_csv_line())
    return "\n".join(lines) + "\n"


def write_sinter_csv(table: list[dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write :func:`sinter_csv` to ``path`` atomically; returns the number of points written.

    Examples:
        >>> import tempfile, pathlib
        >>> write_sinter_csv([], pathlib.Path(tempfile.mkdtemp()) / "stats.csv")
        0
    """
    text = sinter_csv(table)
    atomic_write_text(path, text)
    return text.count("\n") - 1
