"""Randomized measurement records: the basis each shot was measured in and its outcome bits.

A :class:`ShotRecord` holds ``T`` shots of an ``n``-qubit state. Two kinds:

* ``"pauli"``: ``bases`` is ``(T, n)`` uint8, the Pauli each qubit was measured in, coded
  ``0, 1, 2 = X, Y, Z`` (column ``q`` is qubit ``q``);
* ``"clifford"``: ``bases`` is ``(T, 2n, 2n + 1)`` uint8, the Stim-style tableau of the
  Clifford ``U`` applied before a computational-basis measurement: row ``i < n`` is
  ``U X_i U^dagger`` and row ``n + i`` is ``U Z_i U^dagger``, each as ``n`` x bits, ``n`` z
  bits (x and z both set is Y) and a sign bit.

``outcomes`` is ``(T, n)`` uint8 with bit ``q`` the outcome of qubit ``q`` (``1``: eigenvalue
``-1``). Shots are kept in random order (:func:`measure_randomized` draws them independently;
:meth:`ShotRecord.from_counts` shuffles), so any split of the shots by index is a random split.

A saved record is a folder: ``manifest.json`` (format, kind, qubits, shots, one entry per chunk
with its SHA-256) and chunk files ``shots-00000.npz`` with the bits packed 8 to a byte, each
written atomically. :meth:`ShotRecord.iter_load` streams a saved record chunk by chunk.

Examples:
    >>> import tempfile
    >>> from qtandem import Circuit
    >>> rec = measure_randomized(Circuit(2).h(0).cx(0, 1), 1000, seed=1)
    >>> len(rec), rec.n_qubits, rec.kind
    (1000, 2, 'pauli')
    >>> folder = tempfile.mkdtemp()
    >>> rec.save(folder, overwrite=True)
    >>> ShotRecord.load(folder) == rec
    True
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.errors import ArgumentTypeError, DataError, SimulationError
from qtandem.io import atomic_write_bytes, atomic_write_text
from qtandem.random import Seed, as_generator

__all__ = ["ShotRecord", "clifford_apply", "clifford_circuit", "measure_randomized", "random_clifford_tableaus",
           "stabilizer_state", "tableau_to_stim"]

FORMAT = "qtandem.shotrecord"
VERSION = 1
KINDS = ("pauli", "clifford")
LETTERS = "XYZ"
_ROT = {  # rotation to the computational basis: X -> H, Y -> H S^dagger, Z -> I
    0: np.array([[1, 1], [1, -1]]) / math.sqrt(2),
    1: np.array([[1, -1j], [1, 1j]]) / math.sqrt(2),
    2: np.eye(2),
}


def _as_bits(name: str, array: Any, shape_tail: tuple[int, ...], where: str) -> np.ndarray:
    arr = np.asarray(array)
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        raise DataError(f"{where}: {name} must have shape (shots, {', '.join(map(str, shape_tail))}), "
                        f"got {arr.shape}")
    if arr.size and (arr.dtype.kind not in "biu" or arr.min() < 0 or arr.max() > 1):
        bad = np.argwhere((arr != 0) & (arr != 1))
        where_bad = f" (first at shot {bad[0][0]})" if len(bad) else ""
        raise DataError(f"{where}: {name} must hold only 0 and 1{where_bad}")
    return arr.astype(np.uint8, copy=False)


class ShotRecord:
    """Shots of randomized measurements: per shot the basis and the outcome bits.

    Args:
        bases: ``(T, n)`` Pauli codes ``0/1/2 = X/Y/Z`` (kind ``"pauli"``) or ``(T, 2n, 2n + 1)``
            tableau bits (kind ``"clifford"``, layout in the module docstring).
        outcomes: ``(T, n)`` bits, column ``q`` for qubit ``q``.
        kind: ``"pauli"`` or ``"clifford"``.
        metadata: JSON-serialisable notes saved with the record (source, seed...).

    Raises:
        DataError: shapes that disagree (shots or qubits), bits other than 0/1, Pauli codes
            other than 0/1/2, an unknown kind.

    Examples:
        >>> rec = ShotRecord([[2, 0], [1, 2]], [[0, 1], [1, 1]])
        >>> len(rec), rec.n_qubits, rec.basis_labels()
        (2, 2, ['XZ', 'ZY'])
        >>> ShotRecord([[2, 0]], [[0, 1], [1, 1]])
        Traceback (most recent call last):
        ...
        qtandem.errors.DataError: ShotRecord: 1 bases but 2 outcomes (one of each per shot)
    """

    def __init__(self, bases: Any, outcomes: Any, *, kind: str = "pauli",
                 metadata: Mapping[str, Any] | None = None) -> None:
        where = "ShotRecord"
        if kind not in KINDS:
            raise DataError(f"{where}: kind must be 'pauli' or 'clifford', got {kind!r}")
        out = np.asarray(outcomes)
        b = np.asarray(bases)
        if out.ndim != 2:
            raise DataError(f"{where}: outcomes must have shape (shots, n_qubits), got {out.shape}")
        if b.ndim == 0 or len(b) != len(out):
            raise DataError(f"{where}: {len(b) if b.ndim else 0} bases but {len(out)} outcomes "
                            "(one of each per shot)")
        n = out.shape[1]
        self.outcomes = _as_bits("outcomes", out, (n,), where)
        if kind == "pauli":
            if b.shape[1:] != (n,):
                raise DataError(f"{where}: bases have shape {b.shape} but outcomes {out.shape}: each shot needs "
                                f"one Pauli code per qubit ({n})")
            if b.size and (b.dtype.kind not in "iu" or b.min() < 0 or b.max() > 2):
                shot = int(np.argwhere((b < 0) | (b > 2) | (b != np.round(b)))[0][0]) if b.dtype.kind in "iuf" else 0
                raise DataError(f"{where}: Pauli basis codes must be 0, 1, 2 (X, Y, Z) as integers; shot {shot} has "
                                f"{b[shot].tolist()}")
            self.bases = b.astype(np.uint8, copy=False)
        else:
            self.bases = _as_bits("clifford tableaus", b, (2 * n, 2 * n + 1), where)
        self.kind = kind
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def n_qubits(self) -> int:
        """Number of qubits measured in each shot.

        Examples:
            >>> ShotRecord([[0, 1, 2]], [[0, 0, 1]]).n_qubits
            3
        """
        return int(self.outcomes.shape[1])

    def __len__(self) -> int:
        return int(self.outcomes.shape[0])

    def __repr__(self) -> str:
        return f"ShotRecord(kind={self.kind!r}, n_qubits={self.n_qubits}, shots={len(self)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ShotRecord):
            return NotImplemented
        return (self.kind == other.kind and self.bases.shape == other.bases.shape
                and self.outcomes.shape == other.outcomes.shape and bool(np.array_equal(self.bases, other.bases))
                and bool(np.array_equal(self.outcomes, other.outcomes)))

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, index: slice | np.ndarray | list[int]) -> ShotRecord:
        """The shots at ``index`` (a slice or an index array) as a new record.

        Examples:
            >>> ShotRecord([[0], [1], [2]], [[0], [1], [0]])[1:].basis_labels()
            ['Y', 'Z']
        """
        return ShotRecord(self.bases[index], self.outcomes[index], kind=self.kind, metadata=self.metadata)

    def basis_labels(self) -> list[str]:
        """Per shot, the Pauli basis as a label with qubit 0 rightmost (Qiskit order, like bitstrings).

        Raises:
            DataError: for a Clifford record.

        Examples:
            >>> ShotRecord([[0, 2]], [[1, 0]]).basis_labels()
            ['ZX']
        """
        if self.kind != "pauli":
            raise DataError("basis_labels(): a Clifford record has tableaus, not Pauli labels")
        letters = np.array(list(LETTERS))[self.bases[:, ::-1]]
        return ["".join(row) for row in letters]

    def iter_batches(self, batch: int) -> Iterator[ShotRecord]:
        """Consecutive records of at most ``batch`` shots (views: no copy).

        Examples:
            >>> rec = ShotRecord(np.zeros((5, 1), int), np.zeros((5, 1), int))
            >>> [len(b) for b in rec.iter_batches(2)]
            [2, 2, 1]
        """
        if int(batch) != batch or batch <= 0:
            raise DataError(f"iter_batches(): batch must be a positive integer, got {batch!r}")
        for start in range(0, len(self), int(batch)):
            yield self[start:start + int(batch)]

    @classmethod
    def merge(cls, *records: ShotRecord) -> ShotRecord:
        """One record with the shots of ``records`` in order (same kind and qubit count).

        Raises:
            DataError: no records, or records of different kinds or qubit counts.

        Examples:
            >>> a = ShotRecord([[0, 1]], [[0, 1]])
            >>> len(ShotRecord.merge(a, a, a))
            3
        """
        if not records:
            raise DataError("merge(): no records given")
        first = records[0]
        for i, rec in enumerate(records[1:], 1):
            if rec.kind != first.kind or rec.n_qubits != first.n_qubits:
                raise DataError(f"merge(): record {i} is {rec.kind} on {rec.n_qubits} qubits, record 0 is "
                                f"{first.kind} on {first.n_qubits}")
        return cls(np.concatenate([r.bases for r in records]), np.concatenate([r.outcomes for r in records]),
                   kind=first.kind, metadata=first.metadata)

    @classmethod
    def from_counts(cls, counts: Mapping[str, Mapping[str, int]], *, seed: Seed = 0,
                    metadata: Mapping[str, Any] | None = None) -> ShotRecord:
        """A Pauli record from per-basis counts (data from another tool or a device).

        Args:
            counts: ``{basis label: {bitstring: count}}``; labels like ``"XZY"`` and bitstrings
                like ``"011"``, both with qubit 0 rightmost (Qiskit order).
            seed: seed of the shuffle that puts the shots in random order.
            metadata: notes saved with the record.

        Raises:
            DataError: an empty mapping, a label or bitstring of the wrong length, a letter other
                than X, Y, Z, a bit other than 0/1, a negative or non-integer count.

        Examples:
            >>> rec = ShotRecord.from_counts({"ZZ": {"00": 3, "11": 1}, "XX": {"00": 2}})
            >>> len(rec), sorted(rec.basis_labels())
            (6, ['XX', 'XX', 'ZZ', 'ZZ', 'ZZ', 'ZZ'])
            >>> ShotRecord.from_counts({"ZQ": {"00": 1}})
            Traceback (most recent call last):
            ...
            qtandem.errors.DataError: from_counts(): basis 'ZQ': letter 'Q' at column 1 is not X, Y or Z
        """
        if not isinstance(counts, Mapping) or not counts:
            raise DataError("from_counts(): expected a non-empty mapping {basis label: {bitstring: count}}")
        n = len(next(iter(counts)))
        bases, outcomes = [], []
        for label, table in counts.items():
            if not isinstance(label, str) or len(label) != n:
                raise DataError(f"from_counts(): basis {label!r} has not {n} letters like the first basis")
            for col, ch in enumerate(label):
                if ch not in LETTERS:
                    raise DataError(f"from_counts(): basis {label!r}: letter {ch!r} at column {col} is not X, Y or Z")
            code = np.array([LETTERS.index(ch) for ch in reversed(label)], dtype=np.uint8)
            if not isinstance(table, Mapping):
                raise DataError(f"from_counts(): counts of basis {label!r} must be a mapping {{bitstring: count}}")
            for bits, c in table.items():
                if not isinstance(bits, str) or len(bits) != n or set(bits) - {"0", "1"}:
                    raise DataError(f"from_counts(): basis {label!r}: outcome {bits!r} is not a {n}-bit string")
                if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0:
                    raise DataError(f"from_counts(): basis {label!r}, outcome {bits!r}: count must be a "
                                    f"non-negative integer, got {c!r}")
                row = np.array([int(ch) for ch in reversed(bits)], dtype=np.uint8)
                bases.append(np.broadcast_to(code, (int(c), n)))
                outcomes.append(np.broadcast_to(row, (int(c), n)))
        b, o = np.concatenate(bases), np.concatenate(outcomes)
        order = as_generator(seed).permutation(len(b))
        return cls(b[order], o[order], kind="pauli", metadata=metadata)

    def save(self, folder: str | Path, *, chunk_shots: int = 1 << 20, overwrite: bool = False) -> None:
        """Save as a folder: ``manifest.json`` and bit-packed ``shots-NNNNN.npz`` chunks (atomic writes).

        Args:
            folder: output folder (created).
            chunk_shots: shots per chunk file (bounds the memory of :meth:`iter_load`).
            overwrite: replace a record already saved there.

        Raises:
            DataError: the folder already holds a record and ``overwrite`` is false.

        Examples:
            >>> import tempfile
            >>> rec = ShotRecord([[0], [2], [1]], [[1], [0], [0]])
            >>> folder = tempfile.mkdtemp()
            >>> rec.save(folder, chunk_shots=2)
            >>> [len(b) for b in ShotRecord.iter_load(folder)]
            [2, 1]
        """
        path = Path(folder)
        manifest = path / "manifest.json"
        if manifest.exists() and not overwrite:
            raise DataError(f"{path}: a shot record is already saved there (pass overwrite=True to replace it)")
        path.mkdir(parents=True, exist_ok=True)
        manifest.unlink(missing_ok=True)
        chunks = []
        for i, start in enumerate(range(0, max(len(self), 1), int(chunk_shots))):
            part = self[start:start + int(chunk_shots)]
            buf = io.BytesIO()
            np.savez(buf, bases=np.packbits(part._flat_bases(), axis=1, bitorder="little"),
                     outcomes=np.packbits(part.outcomes, axis=1, bitorder="little"))
            data = buf.getvalue()
            name = f"shots-{i:05d}.npz"
            atomic_write_bytes(path / name, data)
            chunks.append({"file": name, "shots": len(part), "sha256": hashlib.sha256(data).hexdigest()})
        meta = {"format": FORMAT, "version": VERSION, "kind": self.kind, "n_qubits": self.n_qubits,
                "shots": len(self), "chunks": chunks, "metadata": self.metadata}
        atomic_write_text(manifest, json.dumps(meta, indent=1) + "\n")

    def _flat_bases(self) -> np.ndarray:
        if self.kind == "pauli":  # two bit planes per qubit
            return np.concatenate([self.bases & 1, self.bases >> 1], axis=1)
        return self.bases.reshape(len(self), -1)

    @staticmethod
    def _manifest(folder: str | Path) -> dict[str, Any]:
        path = Path(folder)
        if path.is_file() and path.name == "manifest.json":
            path = path.parent
        file = path / "manifest.json"
        if not file.is_file():
            raise DataError(f"{path}: no shot record here (manifest.json is missing)")
        try:
            meta = json.loads(file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{file}: not valid JSON ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise DataError(f"{file}: not a shot-record manifest (format {FORMAT!r} expected)")
        if meta.get("version") != VERSION:
            raise DataError(f"{file}: version {meta.get('version')!r} is not supported (expected {VERSION})")
        if meta.get("kind") not in KINDS or not isinstance(meta.get("n_qubits"), int) \
                or not isinstance(meta.get("chunks"), list):
            raise DataError(f"{file}: kind, n_qubits or chunks missing or malformed")
        meta["_folder"] = path
        return meta

    @classmethod
    def info(cls, folder: str | Path) -> dict[str, Any]:
        """Kind, qubits, shots and metadata of a saved record, read from its manifest (no shots loaded).

        Raises:
            DataError: a missing or malformed manifest.

        Examples:
            >>> import tempfile
            >>> folder = tempfile.mkdtemp()
            >>> ShotRecord([[0], [1]], [[1], [0]]).save(folder)
            >>> info = ShotRecord.info(folder)
            >>> info["kind"], info["n_qubits"], info["shots"]
            ('pauli', 1, 2)
        """
        meta = cls._manifest(folder)
        return {key: meta.get(key) for key in ("kind", "n_qubits", "shots", "metadata")}

    @classmethod
    def iter_load(cls, folder: str | Path) -> Iterator[ShotRecord]:
        """Stream a saved record one chunk at a time (checks each chunk's SHA-256 and shape).

        Raises:
            DataError: a missing manifest or chunk, a checksum mismatch, arrays of the wrong shape.

        Examples:
            >>> import tempfile
            >>> folder = tempfile.mkdtemp()
            >>> ShotRecord([[0], [1]], [[1], [0]]).save(folder, chunk_shots=1)
            >>> sum(len(r) for r in ShotRecord.iter_load(folder))
            2
        """
        meta = cls._manifest(folder)
        path, n, kind = meta["_folder"], meta["n_qubits"], meta["kind"]
        width = 2 * n if kind == "pauli" else 2 * n * (2 * n + 1)
        for entry in meta["chunks"]:
            file = path / str(entry.get("file", ""))
            if not file.is_file():
                raise DataError(f"{file}: chunk listed in {path / 'manifest.json'} is missing")
            data = file.read_bytes()
            if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                raise DataError(f"{file}: checksum does not match the manifest (the file is corrupt or was changed)")
            try:
                with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                    packed_b, packed_o = npz["bases"], npz["outcomes"]
            except (ValueError, KeyError, OSError) as exc:
                raise DataError(f"{file}: not a shot-record chunk ({exc})") from None
            shots = int(entry.get("shots", -1))
            if packed_b.shape[0] != shots or packed_o.shape[0] != shots:
                raise DataError(f"{file}: {packed_b.shape[0]} bases and {packed_o.shape[0]} outcomes, "
                                f"manifest says {shots} shots")
            bits = np.unpackbits(packed_b, axis=1, count=width, bitorder="little")
            outcomes = np.unpackbits(packed_o, axis=1, count=n, bitorder="little")
            bases = (bits[:, :n] | (bits[:, n:] << 1)) if kind == "pauli" else bits.reshape(shots, 2 * n, 2 * n + 1)
            try:
                yield cls(bases, outcomes, kind=kind, metadata=meta.get("metadata"))
            except DataError as exc:
                raise DataError(f"{file}: {exc}") from None

    @classmethod
    def load(cls, folder: str | Path) -> ShotRecord:
        """Load a record saved by :meth:`save`.

        Raises:
            DataError: see :meth:`iter_load`.

        Examples:
            >>> ShotRecord.load("no/such/folder")
            Traceback (most recent call last):
            ...
            qtandem.errors.DataError: no/such/folder: no shot record here (manifest.json is missing)
        """
        meta = cls._manifest(folder)
        parts = list(cls.iter_load(folder))
        if not parts:
            raise DataError(f"{meta['_folder']}: the manifest lists no chunks")
        rec = cls.merge(*parts) if len(parts) > 1 else parts[0]
        if len(rec) != meta.get("shots"):
            raise DataError(f"{meta['_folder']}: {len(rec)} shots in the chunks, manifest says {meta.get('shots')}")
        return rec


def random_clifford_tableaus(count: int, n: int, *, seed: Seed = None) -> np.ndarray:
    """Uniformly random ``n``-qubit Cliffords as ``(count, 2n, 2n + 1)`` tableau bits (layout as in ShotRecord).

    The symplectic part is drawn column pair by column pair: ``v`` uniform among nonzero
    vectors of the symplectic complement of the pairs drawn so far, ``w`` uniform among its
    vectors with ``<v, w> = 1``; the signs are uniform. Each draw is a uniform element of a
    spanning set's span, so the result is uniform over the Clifford group (up to phase).

    Examples:
        >>> t = random_clifford_tableaus(3, 2, seed=1)
        >>> t.shape
        (3, 4, 5)
        >>> len(tableau_to_stim(t[0]))      # a valid two-qubit Clifford
        2
    """
    rng = as_generator(seed)
    m = 2 * n
    omega = np.zeros((m, m), dtype=np.int64)
    omega[:n, n:] = omega[n:, :n] = np.eye(n, dtype=np.int64)
    span = np.broadcast_to(np.eye(m, dtype=np.int64), (count, m, m)).copy()  # rows span the complement
    out = np.zeros((count, m, m + 1), dtype=np.uint8)

    def draw(accept: Any) -> np.ndarray:
        vec = np.zeros((count, m), dtype=np.int64)
        todo = np.arange(count)
        while len(todo):
            coef = rng.integers(0, 2, size=(len(todo), m))
            cand = np.einsum("tk,tkm->tm", coef, span[todo]) % 2
            ok = accept(cand, todo)
            vec[todo[ok]] = cand[ok]
            todo = todo[~ok]
        return vec

    for i in range(n):
        v = draw(lambda c, _t: c.any(axis=1))
        w = draw(lambda c, t, v=v: ((c @ omega) * v[t]).sum(axis=1) % 2 == 1)
        out[:, i, :m], out[:, n + i, :m] = v, w
        # project the spanning set onto the complement of {v, w}: u -> u + <u, w> v + <u, v> w
        uw = (span @ omega * w[:, None, :]).sum(axis=2) % 2
        uv = (span @ omega * v[:, None, :]).sum(axis=2) % 2
        span = (span + uw[:, :, None] * v[:, None, :] + uv[:, :, None] * w[:, None, :]) % 2
    out[:, :, m] = rng.integers(0, 2, size=(count, m))
    return out


def tableau_to_stim(bits: np.ndarray) -> Any:
    """The ``stim.Tableau`` of one ``(2n, 2n + 1)`` tableau-bit array.

    Examples:
        >>> import stim
        >>> bits = random_clifford_tableaus(1, 3, seed=0)[0]
        >>> isinstance(tableau_to_stim(bits), stim.Tableau)
        True
    """
    import stim

    n = bits.shape[0] // 2
    b = bits.astype(bool)
    return stim.Tableau.from_numpy(x2x=b[:n, :n], x2z=b[:n, n:2 * n], z2x=b[n:, :n], z2z=b[n:, n:2 * n],
                                   x_signs=b[:n, 2 * n], z_signs=b[n:, 2 * n])


def clifford_circuit(bits: np.ndarray) -> Circuit:
    """A qtandem circuit (h, s, cx, and Paulis) implementing the tableau (Stim's elimination synthesis).

    Examples:
        >>> bits = random_clifford_tableaus(1, 2, seed=0)[0]
        >>> set(clifford_circuit(bits).count_ops()) <= {"h", "s", "sdg", "cx", "swap", "x", "y", "z"}
        True
    """
    n = bits.shape[0] // 2
    names = {"H": "h", "S": "s", "CX": "cx", "X": "x", "Y": "y", "Z": "z", "SWAP": "swap", "S_DAG": "sdg"}
    circ = Circuit(n)
    for inst in tableau_to_stim(bits).to_circuit("elimination"):
        targets = [t.value for t in inst.targets_copy()]
        name = names[inst.name]
        width = 2 if name in ("cx", "swap") else 1
        for j in range(0, len(targets), width):
            circ.append(name, targets[j:j + width])
    return circ


def stabilizer_state(tableau: Any) -> np.ndarray:
    """``U |0...0>`` of a ``stim.Tableau`` as an exact complex128 vector (qubit 0 least significant).

    Stim returns float32 amplitudes; a stabilizer state's nonzero amplitudes are equal in size
    and lie on the axes up to one global phase, so they are rounded back to exact values.

    Examples:
        >>> import stim
        >>> stabilizer_state(stim.Tableau.from_named_gate("H")).round(4).tolist()
        [(0.7071+0j), (0.7071+0j)]
    """
    s = np.asarray(tableau.to_state_vector(endian="little"), dtype=complex)
    s = np.round(s / s[np.flatnonzero(np.abs(s) > 0.5 * np.abs(s).max())[0]])  # all nonzero sizes are equal
    return s / np.linalg.norm(s)


def clifford_apply(bits: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """``U psi`` for the Clifford ``U`` of a tableau, up to a global phase, without a circuit.

    ``U |k> = (U X^k U^dagger) U |0>``: the stabilizer state ``U |0>`` comes from Stim and the
    Pauli ``U X^k U^dagger = i^r X^x Z^z`` of every ``k`` from products of the tableau's X images
    (bit operations), so ``(U psi)[j] = sum_k psi_k i^(r_k) (-1)^(z_k . (j ^ x_k)) s[j ^ x_k]``:
    ``4**n`` work, for ``n <= 10``.

    Examples:
        >>> from qtandem import statevector
        >>> bits = random_clifford_tableaus(1, 3, seed=4)[0]
        >>> psi = np.full(8, 8 ** -0.5, dtype=complex)
        >>> out = clifford_apply(bits, psi)
        >>> ref = statevector(clifford_circuit(bits), initial_state=torch.as_tensor(psi)).numpy()
        >>> bool(abs(abs(np.vdot(out, ref)) - 1) < 1e-12)      # equal up to a global phase
        True
    """
    n = bits.shape[0] // 2
    weights = np.uint64(1) << np.arange(n, dtype=np.uint64)
    xs = (bits[:n, :n].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    zs = (bits[:n, n:2 * n].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    rs = (2 * bits[:n, 2 * n].astype(np.int64) + np.bitwise_count(xs & zs)) % 4
    k = np.arange(1 << n, dtype=np.uint64)
    r = np.zeros(1 << n, dtype=np.int64)
    x = np.zeros(1 << n, dtype=np.uint64)
    z = np.zeros(1 << n, dtype=np.uint64)
    for q in range(n):
        m = ((k >> np.uint64(q)) & np.uint64(1)).astype(bool)
        r[m] += rs[q] + 2 * (np.bitwise_count(z[m] & xs[q]) & 1)
        x[m] ^= xs[q]
        z[m] ^= zs[q]
    s = stabilizer_state(tableau_to_stim(bits))
    idx = np.arange(1 << n, dtype=np.uint64)[:, None] ^ x[None, :]
    sign = 1 - 2 * (np.bitwise_count(z[None, :] & idx) & 1).astype(np.int64)
    phase = np.array([1, 1j, -1, -1j])[r % 4]
    return (sign * s[idx.astype(np.int64)]) @ (phase * psi)


DENSITY_MAX_QUBITS = 10  # noisy records: density matrices up to here, trajectories beyond


def _state_circuit(source: Circuit) -> Circuit:
    """``source`` without its terminal measurements and barriers (refused: mid-circuit measurements)."""
    from qtandem.circuit.terminal import terminal_measurements

    term = terminal_measurements(source)
    if not term.single_run:
        raise SimulationError("measure_randomized(): the circuit has mid-circuit measurements, resets or "
                              "classically controlled gates; give a circuit that prepares a state (terminal "
                              "measurements are dropped)")
    circ = Circuit(source.n_qubits)
    for idx, inst in enumerate(source):
        if idx not in term.indices and inst.name != "barrier":
            circ.append(inst)
    return circ


def _prepare(source: Any, noise: Any) -> tuple[int, torch.Tensor, bool]:
    """``(n, state or density matrix, is_density)`` of a circuit or a state tensor."""
    if isinstance(source, Circuit):
        circ = _state_circuit(source)
        if noise is None:
            from qtandem.sim.core import statevector

            return circ.n_qubits, statevector(circ), False
        from qtandem.noise.density import density_matrix

        return circ.n_qubits, density_matrix(circ, noise=noise), True
    if noise is not None:
        raise SimulationError("measure_randomized(): noise= applies to a Circuit, not to a given state")
    if not isinstance(source, (torch.Tensor, np.ndarray)):
        raise ArgumentTypeError(f"measure_randomized(): expected a Circuit, a state vector or a density matrix, "
                                f"got {type(source).__name__}")
    state = torch.as_tensor(np.asarray(source) if isinstance(source, np.ndarray) else source).to(torch.complex128)
    dim = state.shape[0] if state.ndim else 0
    n = dim.bit_length() - 1
    if state.ndim not in (1, 2) or dim < 2 or dim != 1 << n or (state.ndim == 2 and state.shape[1] != dim):
        raise SimulationError(f"measure_randomized(): a state must be (2**n,) or (2**n, 2**n), "
                              f"got {tuple(state.shape)}")
    trace = float(state.abs().pow(2).sum()) if state.ndim == 1 else float(torch.diagonal(state).real.sum())
    if abs(trace - 1) > 1e-6:
        raise SimulationError(f"measure_randomized(): the state is not normalised (norm or trace {trace:.6g})")
    return n, state, state.ndim == 2


def _pauli_probabilities(state: torch.Tensor, n: int, codes: np.ndarray,
                         density: bool) -> tuple[torch.Tensor, np.ndarray]:
    """Outcome probabilities of ``state`` measured in the Pauli bases ``codes`` ``(B, n)``.

    Bases that agree on qubits ``q..n-1`` share the rotations of those qubits (a prefix tree, highest
    qubit first): measuring all ``3**n`` bases costs about ``3**n * 2**n`` operations, not ``n`` times that.

    Returns:
        ``(probs (R, 2**n), row of each basis (B,))``.
    """
    rot = torch.as_tensor(np.stack([_ROT[c] for c in range(3)]), dtype=torch.complex128)  # (3, 2, 2)
    proj = torch.einsum("csi,csj->csij", rot, rot.conj())  # outcome s of letter c: u[s,i] conj(u[s,j])
    x = state[None]
    rows = np.zeros(len(codes), dtype=np.int64)
    done = 1
    for q in range(n - 1, -1, -1):
        uniq, rows = np.unique(rows * 3 + codes[:, q], return_inverse=True)
        rows = rows.reshape(-1)
        parent, letter = uniq // 3, uniq % 3
        parts = []
        for c in range(3):
            sel = torch.as_tensor(parent[letter == c])
            if not len(sel):
                continue
            if density:  # contract row and column of qubit q into its outcome (outcome index little-endian)
                y = x[sel].reshape(len(sel), 2, 1 << q, 2, 1 << q, done)
                parts.append(torch.einsum("sij,miajcd->macds", proj[c], y).reshape(len(sel), 1 << q, 1 << q, 2 * done))
            else:
                y = x[sel].reshape(len(sel), 1 << (n - 1 - q), 2, 1 << q)
                parts.append(torch.matmul(rot[c], y).reshape(len(sel), -1))
        x = torch.cat(parts)  # rows ordered by (letter, parent) = the order of uniq after a stable regroup
        order = np.concatenate([np.flatnonzero(letter == c) for c in range(3)])
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        rows = position[rows]
        done *= 2
    probs = x.reshape(len(x), -1)
    return (probs.real.clamp_min(0) if density else probs.abs().pow(2)), rows


PRODUCT_MIN_QUBITS = 11  # pure states from here on: one basis at a time, rotating only its X/Y qubits


def _rotate_basis(psi: np.ndarray, n: int, code: np.ndarray) -> np.ndarray:
    """``U_c psi`` for one Pauli basis ``code`` ``(n,)``: a butterfly per X/Y qubit, Z qubits left alone.

    ``X``: ``H``; ``Y``: ``H S^dagger`` (as ``_ROT``). The ``1/sqrt(2)`` factors are applied once at the end.
    """
    x = psi
    rotated = np.flatnonzero(code != 2)
    for q in rotated:
        y = x.reshape(1 << (n - 1 - int(q)), 2, 1 << int(q))
        a0, a1 = y[:, 0], y[:, 1] if code[q] == 0 else -1j * y[:, 1]
        out = np.empty_like(y)
        np.add(a0, a1, out=out[:, 0])
        np.subtract(a0, a1, out=out[:, 1])
        x = out.reshape(-1)
    return x if not len(rotated) else x * 2.0 ** (-len(rotated) / 2)


def _sample_product_bases(psi: np.ndarray, n: int, uniq: np.ndarray, inverse: np.ndarray,
                          rng: np.random.Generator) -> np.ndarray:
    """Outcome index of every shot (``inverse``: its row of ``uniq``) of a pure state, basis by basis.

    Each distinct basis costs one butterfly pass per rotated qubit and one CDF of ``2**n``
    probabilities, shared by all its shots (shots grouped by basis). Draws are in shot order within
    each basis, bases in the order of ``uniq``.
    """
    outcome = np.zeros(len(inverse), dtype=np.int64)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    for row in range(len(uniq)):
        sel = order[bounds[row]:bounds[row + 1]]
        if not len(sel):
            continue
        amp = _rotate_basis(psi, n, uniq[row])
        cdf = np.cumsum(amp.real ** 2 + amp.imag ** 2)
        u = rng.random(len(sel)) * cdf[-1]
        outcome[sel] = np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)
    return outcome


def _sample_rows(probs: torch.Tensor, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One outcome per entry of ``rows``, drawn from ``probs[rows]`` (flat-CDF search, vectorized)."""
    p = probs.numpy()
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    flat = (cdf + np.arange(len(p))[:, None]).ravel()
    u = rng.random(len(rows)) + rows
    idx = np.searchsorted(flat, u, side="right")
    return np.minimum(idx - rows * p.shape[1], p.shape[1] - 1)


def _trajectory_outcomes(circ: Circuit, noise: Any, drawn: np.ndarray, per: int, shots: int, basis: str,
                         rng: np.random.Generator) -> np.ndarray:
    """Outcome bits ``(shots, n)`` by noisy trajectories: one run per drawn basis (rotation gates appended)."""
    from qtandem.noise.trajectories import run_trajectories

    n = circ.n_qubits
    out = np.zeros((shots, n), dtype=np.uint8)
    for i, b in enumerate(drawn):
        count = min(per, shots - i * per)
        run = circ.copy()
        if basis == "pauli":
            for q, c in enumerate(b):
                if c == 1:
                    run.sdg(q)
                if c in (0, 1):
                    run.h(q)
        else:
            run = run.compose(clifford_circuit(b))
        res = run_trajectories(run, noise=noise, shots=count, seed=rng)
        out[i * per:i * per + count] = res.bits[:, :n]
    return out


_STIM_GATES = {"h": "H", "s": "S", "sdg": "S_DAG", "x": "X", "y": "Y", "z": "Z", "cx": "CX", "cz": "CZ",
               "swap": "SWAP", "sx": "SQRT_X", "sxdg": "SQRT_X_DAG", "id": "I"}
STABILIZER_MIN_QUBITS = 11  # noiseless Clifford circuits in Clifford bases: Stim's sampler from here on


def _stim_state_circuit(circ: Circuit) -> Any:
    """The ``stim.Circuit`` of a circuit made only of unconditioned Clifford gates, else ``None``."""
    import stim

    out = stim.Circuit()
    for inst in circ:
        name = _STIM_GATES.get(inst.name)
        if name is None or inst.ctrl or inst.inverted or inst.condition is not None or inst.params:
            return None
        out.append(name, list(inst.qubits))
    return out


def _stabilizer_clifford_outcomes(prep: Any, n: int, drawn: np.ndarray, per: int, shots: int,
                                  rng: np.random.Generator) -> np.ndarray:
    """Outcome indices of a Clifford state measured in each drawn Clifford: Stim's sampler, no state vector.

    The basis change is the same elimination circuit :func:`clifford_circuit` builds, so the
    outcome distribution equals the state-vector path's exactly (only the random stream differs).
    """
    weights = np.int64(1) << np.arange(n, dtype=np.int64)
    out = np.zeros(shots, dtype=np.int64)
    for i, bits in enumerate(drawn):
        count = min(per, shots - i * per)
        circ = prep + tableau_to_stim(bits).to_circuit("elimination")
        circ.append("M", list(range(n)))
        sample = circ.compile_sampler(seed=int(rng.integers(0, 2 ** 62))).sample(count)
        out[i * per:i * per + count] = sample.astype(np.int64) @ weights
    return out


def measure_randomized(
    circuit_or_state: Any,
    shots: int,
    *,
    basis: str = "pauli",
    noise: Any = None,
    seed: Seed = None,
    shots_per_basis: int = 1,
    bases: Any = None,
) -> ShotRecord:
    """Measure a state in random bases: random Pauli per qubit, or a random global Clifford.

    Each shot draws its basis independently (``shots_per_basis > 1`` draws ``shots //
    shots_per_basis`` bases, each measured that many times). Pauli shots are simulated once per
    distinct basis (one rotation of the state, all its shots sampled together), in batches of
    bases; from 11 qubits on, a pure state is rotated basis by basis with one butterfly per X/Y
    qubit (Z qubits cost nothing: about 25x faster at 20 qubits for bases with 5 rotated qubits).
    Clifford shots apply each shot's Clifford circuit to the state; from 11 qubits on, a noiseless
    circuit made only of Clifford gates (``h s sdg x y z cx cz swap sx sxdg``) is sampled with
    Stim instead (no state vector: GHZ-20 in 2,000 Cliffords takes seconds; same distribution).

    Args:
        circuit_or_state: a :class:`~qtandem.Circuit` (terminal measurements are dropped), a state
            vector ``(2**n,)`` or a density matrix ``(2**n, 2**n)``.
        shots: number of shots.
        basis: ``"pauli"`` or ``"clifford"``.
        noise: a :class:`~qtandem.NoiseModel` for a circuit: the state becomes its density
            matrix (up to 10 qubits) and the model's readout errors flip the outcome bits. Beyond
            10 qubits each drawn basis runs as noisy trajectories
            (:func:`qtandem.noise.trajectories.run_trajectories`) with the basis change appended
            as gates (``h``, ``sdg``; Clifford circuits), which the model's noise also acts on.
        seed: seed of the bases and outcomes.
        shots_per_basis: shots per drawn basis. Estimates stay unbiased; :func:`qtandem.learn.shadows.fidelity`
            takes each basis's shots as one unit for its error bar, :func:`qtandem.learn.shadows.estimate`
            assumes independent shots (slightly optimistic error bars when this is above 1).
        bases: ``(B, n)`` Pauli codes ``0/1/2 = X/Y/Z`` to measure in instead of random ones, each
            ``shots_per_basis`` times (``shots`` must be ``B * shots_per_basis``); for designs such as
            :func:`qtandem.learn.neural_state.local_pauli_bases`. Shadow estimators assume uniformly
            random bases: do not feed them such a record. Shots keep the order of ``bases``.

    Returns:
        A :class:`ShotRecord` of kind ``basis``.

    Raises:
        SimulationError: a bad state, a circuit with mid-circuit measurements, a bad ``shots``,
            ``basis`` or ``shots_per_basis``.

    Examples:
        >>> from qtandem import Circuit
        >>> rec = measure_randomized(Circuit(1).x(0), 300, seed=0)
        >>> bool((rec.outcomes[rec.bases[:, 0] == 2] == 1).all())     # Z outcomes of |1> are all 1
        True
        >>> measure_randomized(Circuit(3).h(0), 10, basis="clifford", seed=0).bases.shape
        (10, 6, 7)
    """
    if isinstance(shots, bool) or int(shots) != shots or shots <= 0:
        raise SimulationError(f"measure_randomized(): shots must be a positive integer, got {shots!r}")
    if basis not in KINDS:
        raise SimulationError(f"measure_randomized(): basis must be 'pauli' or 'clifford', got {basis!r}")
    if int(shots_per_basis) != shots_per_basis or not 1 <= shots_per_basis <= shots:
        raise SimulationError(f"measure_randomized(): shots_per_basis must be in 1..{shots}, got {shots_per_basis!r}")
    rng = as_generator(seed)
    shots, per = int(shots), int(shots_per_basis)
    n_bases = -(-shots // per)
    given = None
    if bases is not None:
        given = np.asarray(bases)
        if basis != "pauli" or given.ndim != 2 or given.dtype.kind not in "iu" or given.size == 0 \
                or given.min() < 0 or given.max() > 2:
            raise SimulationError("measure_randomized(): bases= takes a (B, n) integer array of Pauli codes 0, 1, 2 "
                                  f"(X, Y, Z) with basis='pauli', got {given.shape} {given.dtype} with basis={basis!r}")
        if len(given) * per != shots:
            raise SimulationError(f"measure_randomized(): {len(given)} given bases x shots_per_basis {per} = "
                                  f"{len(given) * per} shots, but shots is {shots}")
        given = given.astype(np.uint8)
    meta = {"source": "measure_randomized", "basis": basis, "shots_per_basis": per, "given_bases": bases is not None,
            "noise": noise is not None, "seed": seed if isinstance(seed, int) else None}
    if isinstance(circuit_or_state, Circuit) and noise is not None and circuit_or_state.n_qubits > DENSITY_MAX_QUBITS:
        circ = _state_circuit(circuit_or_state)
        n = circ.n_qubits
        if given is not None and given.shape[1] != n:
            raise SimulationError(f"measure_randomized(): the given bases have {given.shape[1]} columns, "
                                  f"the state has {n} qubits")
        drawn = (given if given is not None else rng.integers(0, 3, size=(n_bases, n), dtype=np.uint8)
                 if basis == "pauli" else random_clifford_tableaus(n_bases, n, seed=rng))
        bits = _trajectory_outcomes(circ, noise, drawn, per, shots, basis, rng)
        meta["simulation"] = "trajectories"
        return ShotRecord(np.repeat(drawn, per, axis=0)[:shots], bits, kind=basis, metadata=meta)
    if (basis == "clifford" and noise is None and isinstance(circuit_or_state, Circuit)
            and circuit_or_state.n_qubits >= STABILIZER_MIN_QUBITS):
        circ = _state_circuit(circuit_or_state)
        prep = _stim_state_circuit(circ)
        if prep is not None:
            n = circ.n_qubits
            drawn = random_clifford_tableaus(n_bases, n, seed=rng)
            outcome = _stabilizer_clifford_outcomes(prep, n, drawn, per, shots, rng)
            bits = ((outcome[:, None] >> np.arange(n)) & 1).astype(np.uint8)
            meta["simulation"] = "stabilizer"
            return ShotRecord(np.repeat(drawn, per, axis=0)[:shots], bits, kind=basis, metadata=meta)
    n, state, density = _prepare(circuit_or_state, noise)
    if given is not None and given.shape[1] != n:
        raise SimulationError(f"measure_randomized(): the given bases have {given.shape[1]} columns, "
                              f"the state has {n} qubits")
    if basis == "pauli":
        drawn = given if given is not None else rng.integers(0, 3, size=(n_bases, n), dtype=np.uint8)
    else:
        drawn = random_clifford_tableaus(n_bases, n, seed=rng)
    bases = np.repeat(drawn, per, axis=0)[:shots]
    outcome = np.zeros(shots, dtype=np.int64)
    if basis == "pauli":
        if n <= 39:  # one integer key per basis, qubit n-1 most significant: sorted keys share prefixes
            keys = bases.astype(np.int64) @ (3 ** np.arange(n, dtype=np.int64))
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            uniq = bases[first]
        else:
            uniq, inverse = np.unique(bases[:, ::-1], axis=0, return_inverse=True)
            uniq = uniq[:, ::-1]
        inverse = inverse.reshape(-1)
        chunk = max(1, (1 << 22) // ((1 << n) * ((1 << n) if density else 1)))
        product = not density and n >= PRODUCT_MIN_QUBITS
        if product:
            outcome = _sample_product_bases(state.numpy(), n, uniq, inverse, rng)
        for start in range(0, 0 if product else len(uniq), chunk):
            probs, rows = _pauli_probabilities(state, n, uniq[start:start + chunk], density)
            sel = np.flatnonzero((inverse >= start) & (inverse < start + chunk))
            outcome[sel] = _sample_rows(probs, rows[inverse[sel] - start], rng)
    else:
        from qtandem.sim.core import statevector

        psi = state.cpu().numpy() if not density and n <= 10 else None
        for i in range(n_bases):
            if psi is not None and n <= 10:
                amp = clifford_apply(drawn[i], psi)
                probs = torch.as_tensor(np.abs(amp) ** 2)[None]
            elif density:
                from qtandem.noise.density import density_matrix

                circ = clifford_circuit(drawn[i])
                probs = torch.diagonal(density_matrix(circ, initial_state=state)).real.clamp_min(0)[None]
            else:
                probs = statevector(clifford_circuit(drawn[i]), initial_state=state).abs().pow(2)[None].cpu()
            rows = np.zeros(min(per, shots - i * per), dtype=np.int64)
            outcome[i * per:i * per + len(rows)] = _sample_rows(probs, rows, rng)
    bits = ((outcome[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    if noise is not None:
        for err, qubits in noise.readout_errors(list(range(n))):
            bits = err.apply_to_bits(bits, list(qubits), rng)
    meta["simulation"] = "density matrix" if density else "state vector"
    return ShotRecord(bases, bits, kind=basis, metadata=meta)
