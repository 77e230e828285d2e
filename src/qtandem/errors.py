"""Every error qtandem raises on purpose.

Each class derives from :class:`QtandemError` *and* from the builtin exception a
Python user would expect (``ValueError``, ``MemoryError``...), so both
``except qtandem.QtandemError`` and ``except ValueError`` work.

Examples:
    >>> import qtandem
    >>> try:
    ...     qtandem.Circuit(2).h(5)
    ... except qtandem.QtandemError as err:
    ...     print(type(err).__name__, "|", err)
    CircuitError | qubit 5 is out of range for a circuit of 2 qubits (valid: 0..1)
"""

from __future__ import annotations

__all__ = [
    "ArgumentTypeError",
    "CheckpointError",
    "ChemistryError",
    "CircuitError",
    "CompileError",
    "ConfigError",
    "DataError",
    "DatasetError",
    "DecoderError",
    "EngineError",
    "MitigationError",
    "NoiseError",
    "ObservableError",
    "OptimizationError",
    "ParameterError",
    "QasmError",
    "QtandemError",
    "ResourceError",
    "SeedError",
    "SimulationError",
    "VerificationError",
]


class QtandemError(Exception):
    """Base class of every error raised by qtandem on purpose.

    Examples:
        >>> from qtandem import Circuit
        >>> try:
        ...     Circuit(1).h(3)
        ... except QtandemError as err:
        ...     print(type(err).__name__)
        CircuitError
    """


class ChemistryError(QtandemError, ValueError):
    """A chemistry problem is ill-posed (unparsable geometry, unknown basis, impossible spin or active space).

    Examples:
        >>> issubclass(ChemistryError, ValueError)
        True
    """


class CircuitError(QtandemError, ValueError):
    """A circuit was built or used in an invalid way (bad qubit, unknown gate...).

    Examples:
        >>> from qtandem import Circuit
        >>> isinstance(CircuitError("bad qubit"), ValueError)
        True
        >>> Circuit(1).h(3)
        Traceback (most recent call last):
        ...
        qtandem.errors.CircuitError: ...
    """


class CompileError(QtandemError, ValueError):
    """A compilation request is invalid (unknown objective, level or basis; an angle the basis cannot express).

    Examples:
        >>> from qtandem import Circuit
        >>> from qtandem.compile import optimize
        >>> optimize(Circuit(1).h(0), level=9)
        Traceback (most recent call last):
        ...
        qtandem.errors.CompileError: ...
    """


class VerificationError(QtandemError, ValueError):
    """Two circuits could not be proved equivalent (``qtandem.compile.verify``).

    The message names the method that failed (``exact``, ``pathsum``), what differed
    (e.g. the first differing unitary column) or why the proof was inconclusive.

    Examples:
        >>> issubclass(VerificationError, QtandemError), issubclass(VerificationError, ValueError)
        (True, True)
    """


class ParameterError(QtandemError, ValueError):
    """A symbolic parameter is unbound, unknown, or bound with the wrong shape.

    Examples:
        >>> from qtandem import Circuit, Parameter, statevector
        >>> statevector(Circuit(1).rx(Parameter("theta"), 0))
        Traceback (most recent call last):
        ...
        qtandem.errors.ParameterError: ...
    """


class ArgumentTypeError(QtandemError, TypeError):
    """An argument has the wrong type (e.g. a hardware ``Device`` given where torch's ``device`` goes).

    Examples:
        >>> from qtandem.device import Device
        >>> from qtandem.hybrid import QuantumLayer
        >>> QuantumLayer(n_qubits=2, device=Device.preset("line_5"))
        Traceback (most recent call last):
        ...
        qtandem.errors.ArgumentTypeError: device is torch's device (e.g. 'cpu', 'cuda:0'), got Device ...
        >>> issubclass(ArgumentTypeError, TypeError)
        True
    """


class ObservableError(QtandemError, ValueError):
    """An observable (``PauliSum``) is malformed or used inconsistently.

    Examples:
        >>> from qtandem import PauliSum
        >>> PauliSum.from_string("Q0")
        Traceback (most recent call last):
        ...
        qtandem.errors.ObservableError: ...
    """


class SimulationError(QtandemError, ValueError):
    """A simulation request cannot be carried out as asked.

    Examples:
        >>> issubclass(SimulationError, QtandemError), issubclass(SimulationError, ValueError)
        (True, True)
    """


class NoiseError(QtandemError, ValueError):
    """A noise channel, noise model or device description is invalid.

    Examples:
        >>> from qtandem.noise import depolarizing
        >>> depolarizing(1.5)
        Traceback (most recent call last):
        ...
        qtandem.errors.NoiseError: ...
    """


class ConfigError(QtandemError, ValueError):
    """A configuration file (e.g. for ``qtandem train``) has an unknown, mistyped or invalid key.

    The message names the file and the key path, e.g. ``run.toml: model.layerz: unknown key``.

    Examples:
        >>> from qtandem.config import type_name
        >>> str(ConfigError(f"run.toml: optim.lr: expected a float, got {type_name('x')}"))
        "run.toml: optim.lr: expected a float, got string 'x'"
    """


class DecoderError(QtandemError, ValueError):
    """A QEC decoder was given input of the wrong shape/type, or an unknown decoder name (``qtandem.qec``).

    Examples:
        >>> from qtandem.qec import make_decoder
        >>> from qtandem.qec.codes import surface_code
        >>> make_decoder("no-such-decoder", surface_code(3, 3, p=0.005))
        Traceback (most recent call last):
        ...
        qtandem.errors.DecoderError: ...
    """


class DatasetError(QtandemError, ValueError):
    """A QEC dataset (detection events + manifest) is missing, corrupt or inconsistent with its manifest.

    Examples:
        >>> from qtandem.qec import open_dataset
        >>> open_dataset("no/such/folder")
        Traceback (most recent call last):
        ...
        qtandem.errors.DatasetError: ...
    """


class DataError(QtandemError, ValueError):
    """Shot data of a device characterization (``qtandem.learn.ShotData``) is missing, malformed or
    inconsistent; the message names the file.

    Examples:
        >>> from qtandem.learn import ShotData
        >>> ShotData.load("no/such/folder")
        Traceback (most recent call last):
        ...
        qtandem.errors.DataError: no/such/folder: no such shot-data folder
        >>> issubclass(DataError, ValueError)
        True
    """


class MitigationError(QtandemError, ValueError):
    """An error-mitigation method (``qtandem.mitigate``) cannot do what was asked: a fit the data
    cannot support (fewer scale factors than parameters), a method that declines, bad method settings.

    Examples:
        >>> raise MitigationError("richardson needs at least 2 scale factors, got 1")
        Traceback (most recent call last):
        ...
        qtandem.errors.MitigationError: richardson needs at least 2 scale factors, got 1
        >>> issubclass(MitigationError, ValueError)
        True
    """


class SeedError(QtandemError, ValueError):
    """A seed that cannot seed a generator (a negative integer).

    Examples:
        >>> from qtandem.random import as_generator
        >>> as_generator(-1)
        Traceback (most recent call last):
        ...
        qtandem.errors.SeedError: seed must be a non-negative integer, got -1
    """


class CheckpointError(QtandemError, ValueError):
    """A training checkpoint is missing, unreadable, or does not match the configuration.

    Examples:
        >>> issubclass(CheckpointError, QtandemError), issubclass(CheckpointError, ValueError)
        (True, True)
    """


class EngineError(QtandemError, RuntimeError):
    """An execution engine (``qtandem.engine``) cannot start or reach its workers (e.g. a Ray address).

    Examples:
        >>> issubclass(EngineError, RuntimeError)
        True
    """


class OptimizationError(QtandemError, ValueError):
    """An optimisation solver (``qtandem.opt``) cannot do what was asked: a method that does not apply
    to the problem, a problem too large for exact enumeration, a missing optional backend.

    Examples:
        >>> issubclass(OptimizationError, ValueError)
        True
    """


class ResourceError(QtandemError, MemoryError):
    """A computation would need more memory than the machine has.

    Raised *before* allocating, with the number of bytes needed and available.

    Examples:
        >>> from qtandem import Circuit, statevector
        >>> statevector(Circuit(60))
        Traceback (most recent call last):
        ...
        qtandem.errors.ResourceError: ...
        >>> issubclass(ResourceError, MemoryError)
        True
    """


class QasmError(QtandemError, ValueError):
    """Malformed or unsupported OpenQASM input.

    Attributes:
        message: what is wrong, without the location.
        filename: source file name (``"<string>"`` for text).
        line: 1-based line number, or ``None``.
        column: 1-based column number, or ``None``.
        excerpt: the offending source line with a caret under the column.

    Examples:
        >>> from qtandem import Circuit
        >>> try:
        ...     Circuit.from_qasm("OPENQASM 2.0;\\nqreg q[1];\\nfoo q[0];")
        ... except QasmError as err:
        ...     print(err.line, err.column, err.message)
        3 1 unknown gate 'foo'
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str = "<string>",
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
    ) -> None:
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        self.excerpt = ""
        if source_line is not None and column is not None:
            text = source_line.rstrip("\n")[:200]
            self.excerpt = f"    {text}\n    {' ' * max(column - 1, 0)}^"
        loc = filename
        if line is not None:
            loc += f":{line}"
            if column is not None:
                loc += f":{column}"
        full = f"{loc}: {message}"
        if self.excerpt:
            full += "\n" + self.excerpt
        super().__init__(full)
