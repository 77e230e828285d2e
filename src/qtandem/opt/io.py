"""Problem files: a TOML file naming the problem kind and pointing at its data (edge list, CSV).

Schema (paths are relative to the TOML file; every data key also takes an inline array)::

    [problem]
    kind = "maxcut"            # maxcut | mis | tsp | cvrp | portfolio
    edges = "graph.edges"      # maxcut, mis: lines "u v [weight]" ('#' comments); or [[u, v, w], ...]
    # nodes = 12               # maxcut, mis: node count when some nodes have no edge
    # weights = [1.0, ...]     # mis: node weights
    # distances = "d.csv"      # tsp, cvrp: square matrix CSV, or
    # coordinates = "xy.csv"   #   one "x,y" row per node (Euclidean distances)
    # demands = [0, 1, 2, 1]   # cvrp (with capacity, vehicles, depot = 0)
    # returns = "returns.csv"  # portfolio: rows = periods, columns = assets (optional header row of names)
    # budget = 3               # portfolio: number of assets held; risk = 0.5
    # penalty = 10.0           # optional penalty weight (default: each builder's rule)

    [solve]                    # optional: defaults for `qtandem opt solve`
    method = "auto"
    seed = 0
    time_limit = 10.0

Errors are :class:`~qtandem.errors.ConfigError` naming the file and the key, or the data file's line.

Examples:
    >>> import pathlib, tempfile
    >>> from qtandem.opt.io import load_problem
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     d = pathlib.Path(tmp)
    ...     _ = (d / "g.edges").write_text("# a triangle\\n0 1\\n1 2 2.5\\n0 2\\n")
    ...     _ = (d / "p.toml").write_text('[problem]\\nkind = "maxcut"\\nedges = "g.edges"\\n')
    ...     p = load_problem(d / "p.toml")
    >>> p.name, p.n_variables, p.value([1, 0, 0])
    ('maxcut', 3, 2.0)
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from qtandem.config import did_you_mean, read_config_text, type_name
from qtandem.errors import ConfigError
from qtandem.opt import problems
from qtandem.opt.classical import METHODS

__all__ = ["load_problem", "read_edge_list", "read_matrix"]

_KEYS = {
    "maxcut": {"edges", "nodes"},
    "mis": {"edges", "nodes", "weights"},
    "tsp": {"distances", "coordinates"},
    "cvrp": {"distances", "coordinates", "demands", "capacity", "vehicles", "depot"},
    "portfolio": {"returns", "budget", "risk", "names"},
}
_SOLVE_KEYS = {"method", "seed", "time_limit"}


def _number(tok: str, where: str) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise ConfigError(f"{where}: expected a number, got {tok!r}") from None
    if not np.isfinite(v):
        raise ConfigError(f"{where}: expected a finite number, got {tok!r}")
    return v


def _node(tok: str) -> Any:
    try:
        return int(tok)
    except ValueError:
        return tok


def read_edge_list(path: str | Path) -> list[tuple[Any, Any, float]]:
    """Edges ``(u, v, weight)`` from a text file of lines ``u v [weight]`` (weight 1 by default).

    Integer node names become ints; ``#`` starts a comment; blank lines are skipped.

    Raises:
        ConfigError: ``"graph.edges:3: expected 'u v [weight]', got 1 token"``.

    Examples:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     f = pathlib.Path(tmp) / "g.edges"
        ...     _ = f.write_text("0 1\\n1 2 0.5  # heavy\\n")
        ...     read_edge_list(f)
        [(0, 1, 1.0), (1, 2, 0.5)]
    """
    p = Path(path)
    edges = []
    for k, line in enumerate(read_config_text(p).splitlines(), start=1):
        toks = line.split("#", 1)[0].replace(",", " ").split()
        if not toks:
            continue
        if len(toks) not in (2, 3):
            raise ConfigError(f"{p}:{k}: expected 'u v [weight]', got {len(toks)} tokens: {line.strip()!r}")
        w = _number(toks[2], f"{p}:{k}: weight") if len(toks) == 3 else 1.0
        edges.append((_node(toks[0]), _node(toks[1]), w))
    if not edges:
        raise ConfigError(f"{p}: no edges")
    return edges


def read_matrix(path: str | Path, *, header: bool | None = None) -> tuple[np.ndarray, list[str] | None]:
    """A numeric matrix from a CSV (commas or whitespace), and the header's names if any.

    Args:
        path: the file.
        header: ``True``/``False``, or ``None`` to detect one (a first row that is not all numbers).

    Raises:
        ConfigError: a non-number or a short row, naming ``file:line``.

    Examples:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     f = pathlib.Path(tmp) / "r.csv"
        ...     _ = f.write_text("A,B\\n0.1,0.2\\n0.0,-0.1\\n")
        ...     m, names = read_matrix(f)
        >>> m.tolist(), names
        ([[0.1, 0.2], [0.0, -0.1]], ['A', 'B'])
    """
    p = Path(path)
    rows: list[list[float]] = []
    names: list[str] | None = None
    width = None
    for k, line in enumerate(read_config_text(p).splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        toks = [t.strip() for t in (text.split(",") if "," in text else text.split())]
        if not rows and names is None and header is not False:
            numeric = all(_isnum(t) for t in toks)
            if header or not numeric:
                names = toks
                width = len(toks)
                continue
        if width is not None and len(toks) != width:
            raise ConfigError(f"{p}:{k}: expected {width} columns, got {len(toks)}")
        width = len(toks)
        rows.append([_number(t, f"{p}:{k}: column {c + 1}") for c, t in enumerate(toks)])
    if not rows:
        raise ConfigError(f"{p}: no data rows")
    return np.array(rows, dtype=np.float64), names


def _isnum(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return False
    return True


def _array(value: Any, base: Path, where: str, *, header: bool | None = False) -> tuple[np.ndarray, list[str] | None]:
    if isinstance(value, str):
        f = base / value
        if not f.is_file():
            raise ConfigError(f"{where}: no such file {str(f)!r}")
        return read_matrix(f, header=header)
    if isinstance(value, list):
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a rectangular array of numbers") from None
        if a.ndim != 2:
            raise ConfigError(f"{where}: expected an array of rows, got {a.ndim} dimension(s)")
        return a, None
    raise ConfigError(f"{where}: expected a file name or an array, got {type_name(value)}")


def _int(table: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}.{key}: missing (an integer)")
        return default
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where}.{key}: expected an integer, got {type_name(v)}")
    return v


def _float(table: dict[str, Any], key: str, where: str) -> float | None:
    if key not in table:
        return None
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}.{key}: expected a number, got {type_name(v)}")
    return float(v)


def _graph(t: dict[str, Any], base: Path, where: str) -> Any:
    import networkx as nx

    if "edges" not in t:
        raise ConfigError(f"{where}.edges: missing (an edge-list file or [[u, v, w], ...])")
    e = t["edges"]
    if isinstance(e, str):
        f = base / e
        if not f.is_file():
            raise ConfigError(f"{where}.edges: no such file {str(f)!r}")
        edges = read_edge_list(f)
    elif isinstance(e, list):
        edges = []
        for k, row in enumerate(e):
            if not isinstance(row, list) or len(row) not in (2, 3):
                raise ConfigError(f"{where}.edges[{k}]: expected [u, v] or [u, v, weight]")
            if len(row) == 3 and (isinstance(row[2], bool) or not isinstance(row[2], (int, float))):
                raise ConfigError(f"{where}.edges[{k}]: the weight must be a number, got {type_name(row[2])}")
            if any(isinstance(v, (list, dict, bool, float)) for v in row[:2]):
                raise ConfigError(f"{where}.edges[{k}]: nodes are integers or strings, got {row[:2]!r}")
            edges.append((row[0], row[1], float(row[2]) if len(row) == 3 else 1.0))
    else:
        raise ConfigError(f"{where}.edges: expected a file name or an array, got {type_name(e)}")
    g = nx.Graph()
    if "nodes" in t:
        g.add_nodes_from(range(_int(t, "nodes", where)))
    for u, v, w in edges:
        g.add_edge(u, v, weight=w)
    return g


def _distances(t: dict[str, Any], base: Path, where: str) -> np.ndarray:
    if ("distances" in t) == ("coordinates" in t):
        raise ConfigError(f"{where}: give exactly one of 'distances' and 'coordinates'")
    if "distances" in t:
        return _array(t["distances"], base, f"{where}.distances")[0]
    xy, _ = _array(t["coordinates"], base, f"{where}.coordinates", header=None)
    return np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1)


def load_problem(path: str | Path) -> problems.Problem:
    """Read a problem file (schema in the module docstring) and build its :class:`~qtandem.opt.problems.Problem`.

    The ``[solve]`` table, when present, is checked and kept in ``problem.data["solve"]``.

    Raises:
        ConfigError: unreadable TOML (with its line), an unknown kind or key, a missing key, bad data
            (naming the data file's line).
        FileNotFoundError: no such problem file.

    Examples:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     f = pathlib.Path(tmp) / "p.toml"
        ...     _ = f.write_text('[problem]\\nkind = "tsp"\\ncoordinates = [[0, 0], [0, 1], [1, 1], [1, 0]]\\n')
        ...     p = load_problem(f)
        >>> p.name, p.n_variables
        ('tsp', 9)
    """
    f = Path(path)
    try:
        doc = tomllib.loads(read_config_text(f))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{f}: {err}") from None
    for key in doc:
        if key not in ("problem", "solve"):
            raise ConfigError(f"{f}: {key}: unknown table{did_you_mean(key, ['problem', 'solve'])}")
    t = doc.get("problem")
    if not isinstance(t, dict):
        raise ConfigError(f"{f}: missing [problem] table")
    where = f"{f}: problem"
    kind = t.get("kind")
    if kind not in _KEYS:
        raise ConfigError(f"{where}.kind: expected one of {', '.join(_KEYS)}, got {type_name(kind)}"
                          f"{did_you_mean(str(kind), _KEYS)}")
    for key in t:
        if key not in _KEYS[kind] | {"kind", "penalty", "name"}:
            raise ConfigError(f"{where}.{key}: unknown key for kind {kind!r}"
                              f"{did_you_mean(key, _KEYS[kind] | {'penalty'})}")
    base = f.parent
    penalty = _float(t, "penalty", where)
    p = _build(kind, t, base, where, penalty)
    solve = doc.get("solve", {})
    if not isinstance(solve, dict):
        raise ConfigError(f"{f}: solve: expected a table")
    for key in solve:
        if key not in _SOLVE_KEYS:
            raise ConfigError(f"{f}: solve.{key}: unknown key{did_you_mean(key, _SOLVE_KEYS)}")
    if "method" in solve and solve["method"] not in METHODS:
        raise ConfigError(f"{f}: solve.method: expected one of {', '.join(METHODS)}, got {type_name(solve['method'])}")
    if "seed" in solve:
        _int(solve, "seed", f"{f}: solve")
    if "time_limit" in solve:
        _float(solve, "time_limit", f"{f}: solve")
    p.data["solve"] = dict(solve)
    p.data["source"] = str(f)
    return p


def _call(where: str, fn: Any, *args: Any, **kw: Any) -> problems.Problem:
    try:
        return fn(*args, **kw)
    except ConfigError as err:  # the builder's message, located in the file
        raise ConfigError(f"{where}: {err}") from None


def _build(kind: str, t: dict[str, Any], base: Path, where: str, penalty: float | None) -> problems.Problem:
    if kind == "maxcut":
        return _call(where, problems.maxcut, _graph(t, base, where))
    if kind == "mis":
        g = _graph(t, base, where)
        if "weights" in t:
            w = t["weights"]
            nodes = sorted(g.nodes, key=lambda v: (str(type(v)), v))
            if not isinstance(w, list) or len(w) != len(nodes):
                raise ConfigError(f"{where}.weights: expected {len(nodes)} numbers (one per node, sorted order)")
            for v, x in zip(nodes, w, strict=True):
                g.nodes[v]["weight"] = x
        return _call(where, problems.mis, g, penalty=penalty)
    if kind == "tsp":
        return _call(where, problems.tsp, _distances(t, base, where), penalty=penalty)
    if kind == "cvrp":
        if not isinstance(t.get("demands"), list):
            raise ConfigError(f"{where}.demands: missing (an array of integers, one per node)")
        return _call(where, problems.cvrp, _distances(t, base, where), t["demands"], _int(t, "capacity", where),
                     _int(t, "vehicles", where), _int(t, "depot", where, 0), penalty=penalty)
    if "returns" not in t:
        raise ConfigError(f"{where}.returns: missing (a CSV file or an array of rows)")
    r, names = _array(t["returns"], base, f"{where}.returns", header=None)
    names = t.get("names", names)
    risk = _float(t, "risk", where)
    return _call(where, problems.portfolio_from_returns, r, _int(t, "budget", where),
                 risk=0.5 if risk is None else risk, names=names, penalty=penalty)
