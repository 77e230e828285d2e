"""The loop's TOML configuration: ``qtandem loop CONFIG.toml``.

.. code-block:: toml

    [loop]
    iterations = 2          # loop iterations (>= 1)
    seed = 0                # seeds every stage
    baseline = true         # run the same pipeline with the published (stale) calibration beside it

    [device]                # the hardware
    kind = "hidden"         # "hidden": a simulated device that drifted (qtandem.codesign.drift.hidden_device)
    n_qubits = 12
    seed = 0
    coupling = "heavy_hex"
    creep = 0.0             # T1 keeps falling by this fraction per iteration
    # kind = "file": published = "line_5" (preset or device JSON), actual = "true.json" (simulated
    # hardware; default: the published device itself)

    [characterize]
    shots = 200             # per characterization circuit
    experiments = ["readout", "t1", "amplify_sx", "amplify_x", "amplify_cx"]
    method = "fast"         # or "mle" (qtandem.learn.calibrate; slow)

    [workload]
    kind = "ghz"            # a registered workload (qtandem.codesign.WORKLOADS)
    shots = 12000           # per run
    n_qubits = 10           # the other keys go to the workload's factory

    [detect]
    alpha = 0.01            # family-wise level of the drift test

Unknown sections and keys, and values of the wrong type, are refused with the key path named
(:class:`qtandem.errors.ConfigError`).

Examples:
    >>> cfg = parse_config('[workload]\\nkind = "ghz"\\nn_qubits = 4\\n')
    >>> cfg.iterations, cfg.workload_kind, cfg.workload_options
    (2, 'ghz', {'n_qubits': 4})
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qtandem.errors import ConfigError

__all__ = ["LoopConfig", "load_loop_config", "parse_config"]

_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "loop": {"iterations": int, "seed": int, "baseline": bool, "name": str},
    "device": {"kind": str, "n_qubits": int, "seed": int, "coupling": str, "creep": (int, float),
               "published": str, "actual": str},
    "characterize": {"shots": int, "experiments": list, "method": str},
    "workload": {"kind": str, "shots": int},
    "detect": {"alpha": (int, float)},
}


@dataclass
class LoopConfig:
    """A parsed loop configuration (see the module docstring for the TOML keys).

    Examples:
        >>> LoopConfig().device
        {'kind': 'hidden', 'n_qubits': 12, 'seed': 0, 'coupling': 'heavy_hex', 'creep': 0.0}
    """

    iterations: int = 2
    seed: int = 0
    baseline: bool = True
    name: str = ""
    device: dict[str, Any] = field(default_factory=lambda: {"kind": "hidden", "n_qubits": 12, "seed": 0,
                                                            "coupling": "heavy_hex", "creep": 0.0})
    characterize_shots: int = 200
    experiments: list[str] = field(default_factory=lambda: ["readout", "t1", "amplify_sx", "amplify_x",
                                                            "amplify_cx"])
    method: str = "fast"
    workload_kind: str = "ghz"
    workload_shots: int = 12000
    workload_options: dict[str, Any] = field(default_factory=dict)
    alpha: float = 0.01
    source: str = "<string>"

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what a checkpoint stores and compares on resume; ``source`` left out).

        Examples:
            >>> LoopConfig().to_dict()["workload_kind"]
            'ghz'
        """
        out = asdict(self)
        out.pop("source")
        return out


def _check(value: Any, kind: type | tuple[type, ...], where: str) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"{where}: expected {names}, got {value!r}")


def parse_config(text: str, *, source: str = "<string>") -> LoopConfig:
    """Parse and check a loop configuration.

    Raises:
        ConfigError: TOML syntax, an unknown section or key, a wrong type or an out-of-range
            value, naming ``source`` and the key path.

    Examples:
        >>> parse_config("[characterize]\\nshotz = 3\\n", source="loop.toml")
        Traceback (most recent call last):
        ...
        qtandem.errors.ConfigError: loop.toml: characterize.shotz: unknown key; [characterize] takes shots, ...
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML: {err}") from None
    cfg = LoopConfig(source=source)
    for section, table in data.items():
        if section not in _KEYS:
            raise ConfigError(f"{source}: {section}: unknown section; sections are {', '.join(_KEYS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {section}: expected a table [{section}]")
        for key, value in table.items():
            where = f"{source}: {section}.{key}"
            if key not in _KEYS[section]:
                if section == "workload":
                    continue  # the factory's options, checked when it is built
                raise ConfigError(f"{where}: unknown key; [{section}] takes {', '.join(_KEYS[section])}")
            _check(value, _KEYS[section][key], where)
    loop = data.get("loop", {})
    cfg.iterations = loop.get("iterations", cfg.iterations)
    cfg.seed = loop.get("seed", cfg.seed)
    cfg.baseline = loop.get("baseline", cfg.baseline)
    cfg.name = loop.get("name", cfg.name)
    if cfg.iterations < 1:
        raise ConfigError(f"{source}: loop.iterations: expected an integer >= 1, got {cfg.iterations}")
    if cfg.seed < 0:
        raise ConfigError(f"{source}: loop.seed: expected an integer >= 0, got {cfg.seed}")
    dev = data.get("device")
    if dev is not None:
        kind = dev.get("kind", "hidden")
        if kind == "hidden":
            extra = [k for k in dev if k in ("published", "actual")]
            if extra:
                raise ConfigError(f"{source}: device.{extra[0]}: only with kind = \"file\"")
            cfg.device = {"kind": "hidden", "n_qubits": dev.get("n_qubits", 12), "seed": dev.get("seed", 0),
                          "coupling": dev.get("coupling", "heavy_hex"), "creep": float(dev.get("creep", 0.0))}
            if cfg.device["n_qubits"] < 2:
                raise ConfigError(f"{source}: device.n_qubits: expected an integer >= 2, got {cfg.device['n_qubits']}")
            if not 0 <= cfg.device["creep"] < 1:
                raise ConfigError(f"{source}: device.creep: expected a number in [0, 1), got {cfg.device['creep']}")
        elif kind == "file":
            extra = [k for k in dev if k in ("n_qubits", "seed", "coupling", "creep")]
            if extra:
                raise ConfigError(f"{source}: device.{extra[0]}: only with kind = \"hidden\"")
            if "published" not in dev:
                raise ConfigError(f"{source}: device.published: missing; a device preset or JSON file")
            base = Path(source).parent if not source.startswith("<") else Path(".")
            cfg.device = {"kind": "file", "published": _path(dev["published"], base),
                          "actual": _path(dev.get("actual", dev["published"]), base)}
        else:
            raise ConfigError(f"{source}: device.kind: 'hidden' or 'file', got {kind!r}")
    ch = data.get("characterize", {})
    cfg.characterize_shots = ch.get("shots", cfg.characterize_shots)
    if cfg.characterize_shots < 1:
        raise ConfigError(f"{source}: characterize.shots: expected an integer >= 1, got {cfg.characterize_shots}")
    if "experiments" in ch:
        from qtandem.learn.experiments import EXPERIMENTS

        for i, name in enumerate(ch["experiments"]):
            if name not in EXPERIMENTS:
                raise ConfigError(f"{source}: characterize.experiments[{i}]: unknown experiment {name!r} "
                                  f"(known: {', '.join(EXPERIMENTS)})")
        cfg.experiments = list(ch["experiments"])
    cfg.method = ch.get("method", cfg.method)
    if cfg.method not in ("fast", "mle"):
        raise ConfigError(f"{source}: characterize.method: 'fast' or 'mle', got {cfg.method!r}")
    wl = data.get("workload", {})
    cfg.workload_kind = wl.get("kind", cfg.workload_kind)
    cfg.workload_shots = wl.get("shots", cfg.workload_shots)
    if cfg.workload_shots < 1:
        raise ConfigError(f"{source}: workload.shots: expected an integer >= 1, got {cfg.workload_shots}")
    cfg.workload_options = {k: v for k, v in wl.items() if k not in ("kind", "shots")}
    alpha = data.get("detect", {}).get("alpha", cfg.alpha)
    if not 0 < alpha < 1:
        raise ConfigError(f"{source}: detect.alpha: expected a number in (0, 1), got {alpha}")
    cfg.alpha = float(alpha)
    return cfg


def _path(name: str, base: Path) -> str:
    """A preset name as is; a JSON file relative to the config's folder."""
    if name.endswith(".json") and not Path(name).is_absolute():
        return str(base / name)
    return name


def load_loop_config(path: str | Path) -> LoopConfig:
    """:func:`parse_config` on a file (its name in the messages).

    Examples:
        >>> load_loop_config("examples/codesign/ghz_quick.toml").workload_kind
        'ghz'
    """
    from qtandem.training import load_config

    return load_config(path, parse_config)
