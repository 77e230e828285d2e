"""Detection-event data: sampling, datasets on disk with a JSON manifest, streaming in bounded memory.

A dataset is a folder::

    manifest.json   schema "qtandem.qec_dataset" v1: circuit text, spec, noise, seed, shots,
                    sizes, file names, byte counts and SHA-256, qtandem/stim versions
    dets.b8         detection events, Stim's b8 format: one row of ceil(num_detectors / 8)
                    bytes per shot, bits little-endian (what ``pack_bits`` produces)
    obs.b8          observable flips, same layout with num_observables bits

Data files are streamed to temporary names and renamed into place, the manifest last, so a
folder with a manifest is always complete. Reading memory-maps the files and yields chunks,
so a dataset larger than memory can be decoded chunk by chunk.

Seeds: an int is passed to Stim's sampler as its seed (the same seed and chunking give the
same shots on the same machine; Stim documents that results may differ across Stim versions
and CPU SIMD widths); a ``numpy.random.Generator`` is used to draw that int.

Examples:
    >>> import tempfile
    >>> from qtandem.qec.codes import surface_code
    >>> from qtandem.qec.data import write_dataset, open_dataset
    >>> folder = tempfile.mkdtemp() + "/d3"
    >>> ds = write_dataset(folder, surface_code(3, 3, p=0.005), 1000, seed=7, chunk=300)
    >>> ds = open_dataset(folder)
    >>> ds.shots, ds.num_detectors
    (1000, 24)
    >>> sum(d.shape[0] for d, o in ds.iter_chunks(400))
    1000
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

import numpy as np
import stim

from qtandem.errors import ArgumentTypeError, DatasetError
from qtandem.io import atomic_write_text
from qtandem.qec.decoder import pack_bits, unpack_bits
from qtandem.qec.soft import SoftReadout, SoftShots, sample_soft
from qtandem.random import Seed, as_generator

__all__ = ["SCHEMA", "Dataset", "iter_samples", "open_dataset", "sample", "save_dataset", "write_dataset"]

SCHEMA = "qtandem.qec_dataset"
SCHEMA_VERSION = 1
_REQUIRED = ("schema", "version", "circuit", "shots", "num_detectors", "num_observables", "files", "seed")


def _stim_seed(seed: Seed) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        return int(as_generator(seed).integers(2**62))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise DatasetError(f"seed must be >= 0, got {seed}")
        return int(seed)
    raise DatasetError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")


@overload
def sample(circuit: stim.Circuit, shots: int, *, seed: Seed = None, bit_packed: bool = False,
           readout: None = None) -> tuple[np.ndarray, np.ndarray]: ...


@overload
def sample(circuit: stim.Circuit, shots: int, *, seed: Seed = None, bit_packed: bool = False,
           readout: SoftReadout) -> SoftShots: ...


def sample(circuit: stim.Circuit, shots: int, *, seed: Seed = None, bit_packed: bool = False,
           readout: SoftReadout | None = None) -> tuple[np.ndarray, np.ndarray] | SoftShots:
    """Sample detection events and observable flips, optionally with soft (analog) readout.

    Args:
        circuit: a noisy circuit with detectors and observables.
        shots: number of shots (>= 0).
        seed: Stim sampler seed (see the module docstring).
        bit_packed: return Stim's bit-packed uint8 rows instead of bools.
        readout: a :class:`~qtandem.qec.soft.SoftReadout`: every measurement also gets an analog
            value, the reported bits are its thresholds and the detection events are computed from
            them (model, leakage and how it composes with the circuit's own measurement flips:
            :mod:`qtandem.qec.soft`).

    Returns:
        ``(dets, obs)``: bool ``(shots, num_detectors)`` and ``(shots, num_observables)``, or
        uint8 ``(shots, ceil(n / 8))`` each when ``bit_packed``. With ``readout``, a
        :class:`~qtandem.qec.soft.SoftShots` (``dets, obs = shots`` still unpacks) that adds
        ``soft`` (LLR per measurement), ``leaked`` and ``analog``.

    Raises:
        ArgumentTypeError: ``circuit`` is not a ``stim.Circuit`` (a qtandem ``Circuit`` goes to
            :func:`qtandem.sample`).
        DatasetError: negative ``shots`` or a bad seed.

    See also: :func:`qtandem.sample` (measurement outcomes of a qtandem ``Circuit``, any gates,
    state-vector or density-matrix simulation); README, "Sampling and expectation values".

    Examples:
        >>> from qtandem.qec.codes import repetition_code
        >>> dets, obs = sample(repetition_code(3, 2, p=0.01), 5, seed=1)
        >>> dets.shape, obs.dtype
        ((5, 6), dtype('bool'))
        >>> from qtandem.qec.soft import SoftReadout
        >>> shots = sample(repetition_code(3, 2), 5, seed=1, readout=SoftReadout(separation=5.0))
        >>> shots.dets.shape, shots.soft.shape
        ((5, 6), (5, 7))
    """
    if not isinstance(circuit, stim.Circuit):
        raise ArgumentTypeError(f"qtandem.qec.sample needs a noisy stim.Circuit with detectors, got "
                           f"{type(circuit).__name__}; for a qtandem Circuit's measurement outcomes use "
                           f"qtandem.sample(circuit, shots)")
    if int(shots) != shots or shots < 0:
        raise DatasetError(f"shots must be a non-negative integer, got {shots!r}")
    if readout is not None:
        return sample_soft(circuit, int(shots), readout, stim_seed=_stim_seed(seed), bit_packed=bit_packed)
    sampler = circuit.compile_detector_sampler(seed=_stim_seed(seed))
    dets, obs = sampler.sample(int(shots), separate_observables=True, bit_packed=bit_packed)
    return dets, obs


def iter_samples(circuit: stim.Circuit, shots: int, *, seed: Seed = None, chunk: int = 100_000,
                 bit_packed: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Like :func:`sample` in chunks of at most ``chunk`` shots from one seeded sampler (bounded memory).

    Examples:
        >>> from qtandem.qec.codes import repetition_code
        >>> [d.shape[0] for d, o in iter_samples(repetition_code(3, 2), 25, seed=1, chunk=10)]
        [10, 10, 5]
    """
    if int(shots) != shots or shots < 0:
        raise DatasetError(f"shots must be a non-negative integer, got {shots!r}")
    if chunk < 1:
        raise DatasetError(f"chunk must be >= 1, got {chunk}")
    sampler = circuit.compile_detector_sampler(seed=_stim_seed(seed))
    done = 0
    while done < shots:
        n = min(chunk, shots - done)
        yield sampler.sample(n, separate_observables=True, bit_packed=bit_packed)
        done += n


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("qtandem")
    except Exception:  # not installed as a distribution (e.g. a source checkout on sys.path)
        return "unknown"


class _Writer:
    """Streams rows into a temporary file and tracks size and hash."""

    def __init__(self, folder: Path, name: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        self.fh = os.fdopen(fd, "wb")
        self.tmp, self.name, self.final = Path(tmp), name, folder / name
        self.sha, self.bytes = hashlib.sha256(), 0

    def write(self, rows: np.ndarray) -> None:
        data = np.ascontiguousarray(rows, dtype=np.uint8).tobytes()
        self.fh.write(data)
        self.sha.update(data)
        self.bytes += len(data)

    def commit(self) -> dict[str, Any]:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.final)
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha.hexdigest()}

    def abort(self) -> None:
        if not self.fh.closed:
            self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _write(path: str | os.PathLike[str], circuit: stim.Circuit, chunks: Iterator[tuple[np.ndarray, np.ndarray]],
           meta: dict[str, Any], overwrite: bool) -> Dataset:
    folder = Path(path)
    if (folder / "manifest.json").exists() and not overwrite:
        raise DatasetError(f"{folder}: a dataset already exists here (pass overwrite=True / --overwrite to replace it)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").unlink(missing_ok=True)  # the folder is invalid until the new manifest lands
    writers = [_Writer(folder, "dets.b8"), _Writer(folder, "obs.b8")]
    shots = 0
    try:
        for dets, obs in chunks:
            writers[0].write(dets)
            writers[1].write(obs)
            shots += dets.shape[0]
        files = {"dets": writers[0].commit(), "obs": writers[1].commit()}
    except BaseException:
        for w in writers:
            w.abort()
        raise
    manifest = {"schema": SCHEMA, "version": SCHEMA_VERSION, "shots": shots,
                "num_detectors": circuit.num_detectors, "num_observables": circuit.num_observables,
                "format": "b8", "files": files, "qtandem_version": _version(), "stim_version": stim.__version__,
                "created": datetime.now(UTC).isoformat(timespec="seconds"), **meta, "circuit": str(circuit)}
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return open_dataset(folder, verify=False)


def write_dataset(path: str | os.PathLike[str], circuit: stim.Circuit, shots: int, *, seed: Seed = None,
                  chunk: int = 100_000, spec: dict[str, Any] | None = None, noise: Any = None,
                  overwrite: bool = False) -> Dataset:
    """Sample ``shots`` shots of ``circuit`` into a dataset folder, ``chunk`` shots at a time.

    Args:
        path: the dataset folder (created).
        circuit: noisy circuit.
        shots: number of shots.
        seed: Stim sampler seed, recorded in the manifest (``None`` records ``null``).
        chunk: shots per chunk (memory stays ``O(chunk)``).
        spec: the circuit's spec (:func:`qtandem.qec.codes.circuit_from_spec`), recorded.
        noise: a JSON-able description of the noise (e.g. ``{"preset": "uniform", "p": 0.005}``).
        overwrite: replace an existing dataset.

    Returns:
        The :class:`Dataset`.

    Raises:
        DatasetError: a dataset exists and ``overwrite`` is false; bad shots/seed/chunk.

    Examples:
        >>> import tempfile
        >>> from qtandem.qec.codes import repetition_code
        >>> ds = write_dataset(tempfile.mkdtemp() + "/rep", repetition_code(3, 2, p=0.01), 250, seed=1, chunk=100)
        >>> sum(d.shape[0] for d, o in ds.iter_chunks(100))
        250
    """
    stim_seed = _stim_seed(seed)
    meta = {"seed": stim_seed, "spec": spec, "noise": noise, "chunk": int(chunk)}
    return _write(path, circuit, iter_samples(circuit, shots, seed=stim_seed, chunk=chunk), meta, overwrite)


def save_dataset(path: str | os.PathLike[str], circuit: stim.Circuit, dets: np.ndarray, obs: np.ndarray, *,
                 seed: int | None = None, extra: dict[str, Any] | None = None, overwrite: bool = False) -> Dataset:
    """Save given shots (bool arrays) as a dataset; ``extra`` goes into the manifest (e.g. source indices).

    Raises:
        DatasetError: shapes do not match the circuit or each other.

    Examples:
        >>> import tempfile
        >>> from qtandem.qec.codes import repetition_code
        >>> circuit = repetition_code(3, 2, p=0.01)
        >>> dets, obs = sample(circuit, 20, seed=1)
        >>> ds = save_dataset(tempfile.mkdtemp() + "/rep", circuit, dets, obs, seed=1, extra={"source": "demo"})
        >>> ds.shots, ds.manifest["extra"]["source"] if "extra" in ds.manifest else ds.manifest["source"]
        (20, 'demo')
    """
    dets, obs = np.asarray(dets, dtype=bool), np.asarray(obs, dtype=bool)
    if dets.ndim != 2 or dets.shape[1] != circuit.num_detectors or obs.shape != (dets.shape[0],
                                                                                   circuit.num_observables):
        raise DatasetError(f"dets must be (shots, {circuit.num_detectors}) and obs (shots, "
                           f"{circuit.num_observables}); got {dets.shape} and {obs.shape}")
    meta = {"seed": seed, "spec": None, "noise": None, **(extra or {})}
    return _write(path, circuit, iter([(pack_bits(dets), pack_bits(obs))]), meta, overwrite)


@dataclass(frozen=True)
class Dataset:
    """An opened dataset (see :func:`open_dataset`).

    Examples:
        >>> import tempfile
        >>> from qtandem.qec.codes import repetition_code
        >>> ds = write_dataset(tempfile.mkdtemp() + "/rep", repetition_code(3, 2, p=0.01), 50, seed=3)
        >>> ds.shots, ds.num_detectors, ds.manifest["seed"]
        (50, 6, 3)
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def shots(self) -> int:
        """Number of shots."""
        return int(self.manifest["shots"])

    @property
    def num_detectors(self) -> int:
        """Detectors per shot."""
        return int(self.manifest["num_detectors"])

    @property
    def num_observables(self) -> int:
        """Observables per shot."""
        return int(self.manifest["num_observables"])

    @property
    def circuit(self) -> stim.Circuit:
        """The circuit the shots were sampled from."""
        return stim.Circuit(self.manifest["circuit"])

    def _map(self, key: str, bits: int) -> np.ndarray:
        width = (bits + 7) // 8
        if self.shots == 0 or width == 0:
            return np.zeros((self.shots, width), dtype=np.uint8)
        return np.memmap(self.path / self.manifest["files"][key]["name"], dtype=np.uint8, mode="r",
                         shape=(self.shots, width))

    def iter_chunks(self, chunk: int = 100_000, *, bit_packed: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(dets, obs)`` for consecutive chunks of at most ``chunk`` shots (memory-mapped reads)."""
        if chunk < 1:
            raise DatasetError(f"chunk must be >= 1, got {chunk}")
        dets, obs = self._map("dets", self.num_detectors), self._map("obs", self.num_observables)
        for start in range(0, self.shots, chunk):
            d, o = np.array(dets[start:start + chunk]), np.array(obs[start:start + chunk])
            if bit_packed:
                yield d, o
            else:
                yield unpack_bits(d, self.num_detectors), unpack_bits(o, self.num_observables)

    def load(self, *, bit_packed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """All shots at once (``(dets, obs)``; use :meth:`iter_chunks` for large datasets)."""
        parts = list(self.iter_chunks(max(self.shots, 1), bit_packed=bit_packed))
        if not parts:
            w = (lambda n: (n + 7) // 8) if bit_packed else (lambda n: n)
            dt = np.uint8 if bit_packed else np.bool_
            return (np.zeros((0, w(self.num_detectors)), dtype=dt), np.zeros((0, w(self.num_observables)), dtype=dt))
        return parts[0]


def open_dataset(path: str | os.PathLike[str], *, verify: bool = True) -> Dataset:
    """Open a dataset folder and validate its manifest (and, with ``verify``, the files' SHA-256).

    Raises:
        DatasetError: missing/corrupt manifest, wrong schema or version, missing keys, a circuit
            that does not parse or disagrees with the recorded sizes, data files missing, of the
            wrong size or with a different hash. Messages name the file and the key.

    Examples:
        >>> import tempfile
        >>> from qtandem.qec.codes import repetition_code
        >>> folder = tempfile.mkdtemp() + "/rep"
        >>> _ = write_dataset(folder, repetition_code(3, 2, p=0.01), 50, seed=3)
        >>> open_dataset(folder).shots
        50
        >>> open_dataset(tempfile.mkdtemp())
        Traceback (most recent call last):
        ...
        qtandem.errors.DatasetError: ...
    """
    folder = Path(path)
    mpath = folder / "manifest.json"
    if not mpath.is_file():
        raise DatasetError(f"{folder}: not a dataset (no manifest.json); create one with write_dataset()")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as err:
        raise DatasetError(f"{mpath}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    if not isinstance(manifest, dict):
        raise DatasetError(f"{mpath}: the manifest must be a JSON object, got {type(manifest).__name__}")
    missing = [k for k in _REQUIRED if k not in manifest]
    if missing:
        raise DatasetError(f"{mpath}: missing key(s) {', '.join(missing)}")
    if manifest["schema"] != SCHEMA:
        raise DatasetError(f"{mpath}: schema: expected {SCHEMA!r}, got {manifest['schema']!r}")
    if manifest["version"] != SCHEMA_VERSION:
        raise DatasetError(f"{mpath}: version: this qtandem reads version {SCHEMA_VERSION}, "
                           f"got {manifest['version']!r}")
    for key in ("shots", "num_detectors", "num_observables"):
        if not isinstance(manifest[key], int) or manifest[key] < 0:
            raise DatasetError(f"{mpath}: {key}: expected a non-negative integer, got {manifest[key]!r}")
    try:
        circuit = stim.Circuit(manifest["circuit"])
    except (ValueError, TypeError) as err:
        raise DatasetError(f"{mpath}: circuit: not a valid Stim circuit ({err})") from None
    for key in ("num_detectors", "num_observables"):
        if getattr(circuit, key) != manifest[key]:
            raise DatasetError(f"{mpath}: {key}: manifest says {manifest[key]} but the circuit has "
                               f"{getattr(circuit, key)}")
    files = manifest["files"]
    for key, bits in (("dets", manifest["num_detectors"]), ("obs", manifest["num_observables"])):
        entry = files.get(key) if isinstance(files, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise DatasetError(f"{mpath}: files.{key}: expected an object with 'name', 'bytes' and 'sha256'")
        fpath = folder / entry["name"]
        if Path(entry["name"]).name != entry["name"]:
            raise DatasetError(f"{mpath}: files.{key}.name must be a plain file name, got {entry['name']!r}")
        if not fpath.is_file():
            raise DatasetError(f"{fpath}: data file listed in the manifest is missing")
        want = manifest["shots"] * ((bits + 7) // 8)
        size = fpath.stat().st_size
        if size != want or entry.get("bytes") != want:
            raise DatasetError(f"{fpath}: expected {want} bytes ({manifest['shots']} shots x {(bits + 7) // 8} "
                               f"bytes), file has {size}, manifest says {entry.get('bytes')}")
        if verify:
            sha = hashlib.sha256()
            with fpath.open("rb") as fh:
                while block := fh.read(1 << 22):
                    sha.update(block)
            if sha.hexdigest() != entry.get("sha256"):
                raise DatasetError(f"{fpath}: SHA-256 differs from the manifest (file changed or corrupt)")
    return Dataset(folder, manifest)
