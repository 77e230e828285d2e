"""The user's own data: a noisy Stim circuit file and recorded detection events in Stim's shot formats.

:func:`read_circuit` reads a ``.stim`` file and checks that it has detectors and observables
(what every decoder needs). :func:`read_shots` reads a shot file written by Stim (``stim sample_dets
--out_format b8`` / ``01``, or ``stim.write_shot_data_file``) into a bool array; the format comes
from the extension: ``.b8`` (one record of ``ceil(n / 8)`` bytes per shot, bits little-endian) or
``.01`` (one line of ``n`` characters ``0``/``1`` per shot). Neither format stores the record
length, so the circuit gives it. :func:`read_shot_files` reads detection events and observable
flips together and checks that they hold the same number of shots.

Malformed files raise :class:`~qtandem.errors.DatasetError` naming the file and what is wrong
(a size that is not a multiple of the record length, a line of the wrong length, a character other
than ``0``/``1`` with its line and column, padding bits set), never a deep traceback.

Examples:
    >>> import tempfile, numpy as np, stim
    >>> from pathlib import Path
    >>> from qtandem.qec.shotfiles import read_shots
    >>> folder = Path(tempfile.mkdtemp())
    >>> bits = np.array([[1, 0, 1], [0, 0, 1]], dtype=bool)
    >>> stim.write_shot_data_file(data=bits, path=str(folder / "d.b8"), format="b8", num_detectors=3)
    >>> read_shots(folder / "d.b8", 3).astype(int).tolist()
    [[1, 0, 1], [0, 0, 1]]
    >>> _ = (folder / "bad.01").write_text("101\\n1x1\\n")
    >>> read_shots(folder / "bad.01", 3)
    Traceback (most recent call last):
    ...
    qtandem.errors.DatasetError: .../bad.01:2:2: bad character 'x': a .01 file holds only '0' and '1', one line per shot
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import stim

from qtandem.errors import DatasetError

__all__ = ["SHOT_FORMATS", "read_circuit", "read_shot_files", "read_shots"]

SHOT_FORMATS = {".b8": "b8", ".01": "01"}
"""File extension -> Stim shot-data format that :func:`read_shots` reads."""


def read_circuit(path: str | os.PathLike[str]) -> stim.Circuit:
    """Read a noisy Stim circuit with detectors and observables from a ``.stim`` file.

    Args:
        path: the circuit file (Stim's text format).

    Returns:
        The ``stim.Circuit``.

    Raises:
        DatasetError: the file is missing or is not a Stim circuit, or the circuit has no
            detectors or no observables (nothing to decode).

    Examples:
        >>> import tempfile, stim
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "rep.stim"
        >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=2,
        ...                            before_round_data_depolarization=0.01)
        >>> _ = path.write_text(str(c))
        >>> read_circuit(path).num_detectors
        6
        >>> _ = path.write_text("H 0\\nM 0\\n")
        >>> read_circuit(path)
        Traceback (most recent call last):
        ...
        qtandem.errors.DatasetError: ...rep.stim: the circuit has no DETECTOR instructions: ...
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: no such circuit file")
    try:
        circuit = stim.Circuit(p.read_text())
    except UnicodeDecodeError:
        raise DatasetError(f"{p}: not a Stim circuit (not text)") from None
    except ValueError as err:
        raise DatasetError(f"{p}: not a valid Stim circuit: {str(err).strip().splitlines()[0]}") from None
    if circuit.num_detectors == 0:
        raise DatasetError(f"{p}: the circuit has no DETECTOR instructions: decoders need detection events "
                           f"(e.g. stim.Circuit.generated(...) circuits have them)")
    if circuit.num_observables == 0:
        raise DatasetError(f"{p}: the circuit has no OBSERVABLE_INCLUDE instructions: there is no logical "
                           f"observable to predict")
    return circuit


def _format_of(path: Path) -> str:
    fmt = SHOT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DatasetError(f"{path}: unknown shot-data format {path.suffix or '(no extension)'!r}; use .b8 (Stim's "
                           f"b8 format) or .01 (one line of 0/1 characters per shot)")
    return fmt


def _read_b8(path: Path, data: bytes, num_bits: int) -> np.ndarray:
    width = (num_bits + 7) // 8
    if len(data) % width:
        raise DatasetError(f"{path}: {len(data)} bytes is not a multiple of the record length, {width} bytes "
                           f"({num_bits} bits per shot in b8 format): a different circuit's data, or not b8?")
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, width)
    if num_bits % 8 and rows.size:
        pad = (0xFF << (num_bits % 8)) & 0xFF
        bad = np.flatnonzero(rows[:, -1] & pad)
        if bad.size:
            raise DatasetError(f"{path}: shot {int(bad[0])} sets bits beyond the {num_bits} of a record (b8 padding "
                               f"must be 0): a different circuit's data, or not b8?")
    return np.unpackbits(rows, axis=1, count=num_bits, bitorder="little").astype(bool)


def _read_01(path: Path, data: bytes, num_bits: int) -> np.ndarray:
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size and arr[-1] != 10:
        arr = np.append(arr, np.uint8(10))
    crlf = np.flatnonzero((arr[:-1] == 13) & (arr[1:] == 10))
    if crlf.size:
        arr = np.delete(arr, crlf)
    ends = np.flatnonzero(arr == 10)
    starts = np.r_[0, ends[:-1] + 1] if ends.size else np.zeros(0, dtype=np.intp)
    lengths = ends - starts
    wrong = np.flatnonzero(lengths != num_bits)
    if wrong.size:
        i = int(wrong[0])
        raise DatasetError(f"{path}:{i + 1}: expected {num_bits} characters (one 0/1 per bit), got "
                           f"{int(lengths[i])}: a different circuit's data, or not .01?")
    chars = arr.reshape(-1, num_bits + 1)[:, :num_bits]
    bad = np.argwhere((chars != ord("0")) & (chars != ord("1")))
    if bad.size:
        line, col = (int(x) for x in bad[0])
        raise DatasetError(f"{path}:{line + 1}:{col + 1}: bad character {chr(chars[line, col])!r}: a .01 file "
                           f"holds only '0' and '1', one line per shot")
    return chars == ord("1")


def read_shots(path: str | os.PathLike[str], num_bits: int) -> np.ndarray:
    """Read a Stim shot-data file (``.b8`` or ``.01``) of ``num_bits`` bits per shot.

    Args:
        path: the file; its extension names the format (:data:`SHOT_FORMATS`).
        num_bits: bits per shot (the circuit's detectors, or its observables).

    Returns:
        bool array ``(shots, num_bits)``.

    Raises:
        DatasetError: unknown extension, missing file, a size or line length that does not fit
            ``num_bits``, characters other than 0/1, or b8 padding bits set.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "obs.01"
        >>> _ = path.write_text("1\\n0\\n")
        >>> read_shots(path, 1).tolist()
        [[True], [False]]
        >>> read_shots(path, 2)
        Traceback (most recent call last):
        ...
        qtandem.errors.DatasetError: .../obs.01:1: expected 2 characters (one 0/1 per bit), got 1: ...
    """
    p = Path(path)
    fmt = _format_of(p)
    if num_bits < 1:
        raise DatasetError(f"{p}: records of {num_bits} bits cannot be read (the circuit has none of these bits)")
    if not p.is_file():
        raise DatasetError(f"{p}: no such shot-data file")
    data = p.read_bytes()
    return _read_b8(p, data, num_bits) if fmt == "b8" else _read_01(p, data, num_bits)


def read_shot_files(circuit: stim.Circuit, dets_path: str | os.PathLike[str],
                    obs_path: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Recorded detection events (and observable flips) of ``circuit``, checked against each other.

    Args:
        circuit: the circuit the shots come from (gives the record lengths).
        dets_path: detection events, ``circuit.num_detectors`` bits per shot.
        obs_path: observable flips, ``circuit.num_observables`` bits per shot (optional).

    Returns:
        ``(dets, obs)``: bool ``(shots, num_detectors)`` and ``(shots, num_observables)`` (``obs`` is
        ``None`` without ``obs_path``).

    Raises:
        DatasetError: a malformed file (see :func:`read_shots`), or different shot counts.

    Examples:
        >>> import tempfile, stim
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=2,
        ...                            before_round_data_depolarization=0.05)
        >>> dets, obs = c.compile_detector_sampler(seed=1).sample(10, separate_observables=True)
        >>> stim.write_shot_data_file(data=dets, path=str(folder / "d.b8"), format="b8", num_detectors=6)
        >>> stim.write_shot_data_file(data=obs, path=str(folder / "o.01"), format="01", num_observables=1)
        >>> d, o = read_shot_files(c, folder / "d.b8", folder / "o.01")
        >>> bool((d == dets).all() and (o == obs).all())
        True
    """
    dets = read_shots(dets_path, circuit.num_detectors)
    if obs_path is None:
        return dets, None
    obs = read_shots(obs_path, circuit.num_observables)
    if obs.shape[0] != dets.shape[0]:
        raise DatasetError(f"{dets_path} holds {dets.shape[0]} shots but {obs_path} holds {obs.shape[0]}: "
                           f"detection events and observable flips must come from the same shots")
    return dets, obs
