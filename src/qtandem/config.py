"""Typed TOML configurations: frozen dataclasses checked key by key.

Training commands (``qtandem train``, ``qtandem qec train``, ``qtandem compile train``) describe
their configuration as a root dataclass with one dataclass per ``[section]``. Field metadata
gives the checks: ``choices`` (see :func:`choices`), ``refused`` (values refused with a reason,
e.g. a metric that would select on the test split), bounds ``gt``/``ge``/``lt``/``le``, and
``internal`` for fields that are not configuration keys. A field typed ``list[SomeDataclass]``
is a TOML array of tables (``[[optim.phases]]``), each table checked against that dataclass.
Every error names the source file and the key path, and suggests the closest known key.

Examples:
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Optim:
    ...     lr: float = field(default=0.01, metadata={"gt": 0})
    ...     name: str = field(default="adam", metadata=choices("adam", "sgd"))
    >>> @dataclass(frozen=True)
    ... class Root:
    ...     seed: int = 0
    ...     optim: Optim = field(default_factory=Optim)
    >>> parse_toml('seed = 3\\n[optim]\\nlr = 0.1', Root, {"optim": Optim}).optim.lr
    0.1
    >>> parse_toml('[optim]\\nlrr = 0.1', Root, {"optim": Optim}, source="run.toml")
    Traceback (most recent call last):
    ...
    qtandem.errors.ConfigError: run.toml: optim.lrr: unknown key (did you mean 'lr'?)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from qtandem.errors import ConfigError

__all__ = ["choices", "did_you_mean", "flatten", "parse_toml", "read_config_text", "to_toml", "type_name"]

T = TypeVar("T")
ErrorFactory = Callable[[str, str], ConfigError]


def choices(*values: str) -> dict[str, Any]:
    """Field metadata allowing only ``values``.

    Examples:
        >>> choices("adam", "sgd")
        {'choices': ('adam', 'sgd')}
    """
    return {"choices": tuple(values)}


def type_name(value: Any) -> str:
    """How a TOML value is described in messages (``integer 3``, ``string 'x'``, ``table``...).

    Examples:
        >>> type_name(3), type_name("x"), type_name({"a": 1})
        ('integer 3', "string 'x'", 'table')
    """
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string.

    Examples:
        >>> did_you_mean("lrr", ["lr", "seed"])
        " (did you mean 'lr'?)"
        >>> did_you_mean("zzz", ["lr", "seed"])
        ''
    """
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _check_range(v: float, meta: Mapping[str, Any], key: str, err: ErrorFactory) -> None:
    for op, ok, words in (("gt", lambda a, b: a > b, "> "), ("ge", lambda a, b: a >= b, ">= "),
                          ("lt", lambda a, b: a < b, "< "), ("le", lambda a, b: a <= b, "<= ")):
        if op in meta and not ok(v, meta[op]):
            raise err(key, f"must be {words}{meta[op]}, got {v}")


def _table_list_item(hint: Any) -> type | None:
    """The dataclass ``D`` of a ``list[D]`` hint (an array of tables), else ``None``."""
    hint = _unwrap_optional(hint)
    if typing.get_origin(hint) is list:
        args = typing.get_args(hint)
        if args and dataclasses.is_dataclass(args[0]):
            return typing.cast(type, args[0])
    return None


def check_value(value: Any, hint: Any, meta: Mapping[str, Any], key: str, err: ErrorFactory) -> Any:
    """Check one value against its field type (bool, int, float, str, list[int]) and metadata."""
    hint = _unwrap_optional(hint)
    refused = meta.get("refused") or {}
    if isinstance(value, str) and value in refused:
        raise err(key, f"{value!r} is refused: {refused[value]}")
    if hint is bool:
        if not isinstance(value, bool):
            raise err(key, f"expected true or false, got {type_name(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise err(key, f"expected an integer, got {type_name(value)}")
        out: Any = value
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise err(key, f"expected a finite number, got {type_name(value)}")
        out = float(value)
        if not math.isfinite(out):
            raise err(key, f"expected a finite number, got {value}")
    elif hint is str:
        if not isinstance(value, str):
            raise err(key, f"expected a string, got {type_name(value)}")
        out = value
    elif typing.get_origin(hint) is list:
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise err(key, f"expected a list of integers, got {type_name(value)}")
        for v in value:
            _check_range(v, meta, key, err)
        return list(value)
    else:  # pragma: no cover - configuration dataclasses use only the types above
        raise err(key, f"unsupported type {hint}")
    allowed = meta.get("choices")
    if allowed is not None and out not in allowed:
        listed = ", ".join(repr(c) for c in allowed)
        raise err(key, f"must be one of {listed}; got {out!r}{did_you_mean(out, allowed)}")
    _check_range(out, meta, key, err)
    return out


def _parse_section(cls: type, table: dict[str, Any], prefix: str, sections: Mapping[str, type],
                   err: ErrorFactory) -> Any:
    hints = typing.get_type_hints(cls, localns={c.__name__: c for c in sections.values()})
    known = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if key not in known:
            homes = [s for s, c in sections.items() if key in {f.name for f in dataclasses.fields(c)}]
            if homes and homes[0] != prefix.rstrip("."):
                raise err(path, f"unknown key (it belongs in [{homes[0]}])")
            raise err(path, f"unknown key{did_you_mean(key, known)}")
        sub = sections.get(key) if not prefix else None
        item = _table_list_item(hints[key])
        if item is not None:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise err(path, f"expected an array of tables [[{path}]], got {type_name(value)}")
            kwargs[key] = [_parse_section(item, v, f"{path}[{i}].", {}, err) for i, v in enumerate(value)]
        elif sub is not None:
            if not isinstance(value, dict):
                raise err(path, f"expected a table [{key}], got {type_name(value)}")
            kwargs[key] = _parse_section(sub, value, f"{key}.", sections, err)
        elif isinstance(value, dict):
            raise err(path, f"expected a value, got a table{did_you_mean(key, sections) if not prefix else ''}")
        else:
            kwargs[key] = check_value(value, hints[key], known[key].metadata, path, err)
    return cls(**kwargs)


def parse_toml(text: str, root: type[T], sections: Mapping[str, type], *, source: str = "<string>") -> T:
    """Parse TOML text into the dataclass ``root`` (its ``[section]`` tables given by ``sections``).

    Args:
        text: the TOML text.
        root: the root dataclass; top-level keys are its fields.
        sections: section name -> dataclass of that ``[section]``.
        source: a name for messages (the file path).

    Returns:
        An instance of ``root`` with defaults filled in (and ``source`` set when it has that field).

    Raises:
        ConfigError: invalid TOML, unknown keys, wrong types, values out of range or not among the
            choices; the message names ``source`` and the key path.

    Examples:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Root:
        ...     seed: int = 0
        ...     name: str = "run"
        >>> parse_toml("seed = 3", Root, {})
        Root(seed=3, name='run')
        >>> parse_toml("seed = 'x'", Root, {}, source="run.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: run.toml: seed: ...
    """
    def err(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    cfg = _parse_section(root, raw, "", sections, err)
    if "source" in {f.name for f in dataclasses.fields(root)}:  # type: ignore[arg-type]
        cfg = dataclasses.replace(cfg, source=source)
    return typing.cast(T, cfg)


def read_config_text(path: str | Path) -> str:
    """The text of a configuration file.

    Raises:
        FileNotFoundError: no such file.
        ConfigError: the file is not UTF-8 text.

    Examples:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "run.toml"
        ...     _ = path.write_text("seed = 1\\n")
        ...     read_config_text(path)
        'seed = 1\\n'
    """
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text ({exc.reason})") from None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")  # pragma: no cover


def to_toml(data: Mapping[str, Any], *, header: str = "") -> str:
    """Plain configuration data (top-level values, then one table per section) as TOML.

    ``None`` values are left out (the field's default applies when read back).

    Examples:
        >>> print(to_toml({"seed": 1, "tag": None, "optim": {"lr": 0.1}}))
        seed = 1
        <BLANKLINE>
        [optim]
        lr = 0.1
    """
    def tables(x: Any) -> bool:
        return isinstance(x, list) and bool(x) and all(isinstance(t, dict) for t in x)

    lines = [f"# {ln}" for ln in header.splitlines()]
    for key, v in data.items():
        if not isinstance(v, dict) and v is not None and not tables(v):
            lines.append(f"{key} = {_toml_value(v)}")
    for key, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{key}]")
            lines.extend(f"{k} = {_toml_value(x)}" for k, x in v.items() if x is not None and not tables(x))
            for k, x in v.items():
                if tables(x):
                    for t in x:
                        lines.append(f"\n[[{key}.{k}]]")
                        lines.extend(f"{tk} = {_toml_value(tx)}" for tk, tx in t.items() if tx is not None)
    return "\n".join(lines) + "\n"


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested configuration data as ``{"section.key": value}`` (to compare two configurations).

    Examples:
        >>> flatten({"seed": 1, "optim": {"lr": 0.1}})
        {'seed': 1, 'optim.lr': 0.1}
    """
    out: dict[str, Any] = {}
    for k, v in data.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, Mapping) else {f"{prefix}{k}": v})
    return out
