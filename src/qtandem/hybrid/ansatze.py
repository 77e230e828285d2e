"""Trainable circuit templates (ansatze) as plain :class:`~qtandem.Circuit` objects.

Every ansatz takes ``n_qubits``, ``layers`` and an optional hardware
:class:`~qtandem.device.Device` (``hardware=``), and returns a circuit whose trainable angles are
:class:`~qtandem.Parameter` objects named ``{prefix}{i}`` (``w0, w1, ...`` by
default) numbered in the order they first appear, so ``circuit.parameters`` is
the weight vector's order.

* :func:`hardware_efficient` -- RY and RZ on every qubit, then a ring of CX
  (or the hardware's coupling map) per layer.
* :func:`strongly_entangling` -- PennyLane's ``StronglyEntanglingLayers``:
  RZ RY RZ on every qubit, then CX(i, i + r) with a range ``r`` that grows per layer.
* :func:`tree_tensor_network` -- a binary tree of two-qubit blocks (RY, RY, CX)
  merging pairs towards qubit 0; ``layers`` repeats the tree.
* :func:`qcnn` -- convolution (two-qubit blocks on neighbouring pairs, weights
  shared within a level) and pooling (a controlled rotation from each dropped
  qubit onto its kept partner) until one qubit is left; read ``<Z_0>``.

``entangle=False`` drops every entangling gate (the ablation of the honest baseline
benchmark: is the entanglement doing any work?).

Examples:
    >>> c = hardware_efficient(3, 2)
    >>> c.count_ops()
    {'ry': 6, 'rz': 6, 'cx': 6}
    >>> [p.name for p in c.parameters][:4]
    ['w0', 'w1', 'w2', 'w3']
    >>> hardware_efficient(3, 2, entangle=False).count_ops()
    {'ry': 6, 'rz': 6}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import Parameter
from qtandem.errors import ArgumentTypeError, CircuitError

__all__ = ["ANSATZE", "get_ansatz", "hardware_efficient", "qcnn", "strongly_entangling", "tree_tensor_network"]


class _Names:
    def __init__(self, prefix: str, start: int) -> None:
        self.prefix, self.i = prefix, start

    def __call__(self) -> Parameter:
        p = Parameter(f"{self.prefix}{self.i}")
        self.i += 1
        return p


def _check(n_qubits: int, layers: int, hardware: Any) -> None:
    if int(n_qubits) != n_qubits or n_qubits < 1:
        raise CircuitError(f"n_qubits must be a positive integer, got {n_qubits!r}")
    if int(layers) != layers or layers < 0:
        raise CircuitError(f"layers must be a non-negative integer, got {layers!r}")
    if hardware is None:
        return
    from qtandem.device import Device

    if not isinstance(hardware, Device):
        raise ArgumentTypeError(f"hardware must be a qtandem.device.Device (e.g. Device.preset('grid_4x4')) or "
                                f"None, got {type(hardware).__name__}")
    if n_qubits > hardware.num_qubits:
        raise CircuitError(f"{n_qubits} qubits do not fit on device {hardware.name!r} ({hardware.num_qubits} qubits)")


def _device_edges(n_qubits: int, hardware: Any) -> list[tuple[int, int]]:
    return sorted({(min(a, b), max(a, b)) for a, b in hardware.coupling_map.edges() if a < n_qubits and b < n_qubits})


def _ring(n: int) -> list[tuple[int, int]]:
    if n == 1:
        return []
    if n == 2:
        return [(0, 1)]
    return [(i, (i + 1) % n) for i in range(n)]


def hardware_efficient(n_qubits: int, layers: int = 1, *, hardware: Any = None, entangle: bool = True,
                       prefix: str = "w", start: int = 0) -> Circuit:
    """RY, RZ on every qubit then entangling CX gates, ``layers`` times.

    Args:
        n_qubits: number of qubits.
        layers: number of layers.
        hardware: a :class:`~qtandem.device.Device`: entangle along its coupling
            map (edges among the first ``n_qubits`` qubits) instead of a ring.
        entangle: ``False`` drops the CX gates.
        prefix: parameter name prefix.
        start: index of the first parameter name.

    Returns:
        A circuit with ``2 * n_qubits * layers`` parameters.

    Raises:
        CircuitError: bad sizes, or more qubits than ``hardware`` has.
        ArgumentTypeError: ``hardware`` is not a ``Device``.

    Examples:
        >>> from qtandem.device import Device
        >>> c = hardware_efficient(4, 1, hardware=Device.preset("line_5"))
        >>> [inst.qubits for inst in c if inst.name == "cx"]
        [(0, 1), (1, 2), (2, 3)]

    Examples:
        >>> c = hardware_efficient(4, 2)
        >>> len(c.parameters), c.count_ops()
        (16, {'ry': 8, 'rz': 8, 'cx': 8})
    """
    _check(n_qubits, layers, hardware)
    name = _Names(prefix, start)
    pairs = _device_edges(n_qubits, hardware) if hardware is not None else _ring(n_qubits)
    c = Circuit(n_qubits)
    for _ in range(layers):
        for q in range(n_qubits):
            c.ry(name(), q)
            c.rz(name(), q)
        if entangle:
            for a, b in pairs:
                c.cx(a, b)
    return c


def strongly_entangling(n_qubits: int, layers: int = 1, *, hardware: Any = None, entangle: bool = True,
                        prefix: str = "w", start: int = 0) -> Circuit:
    """RZ RY RZ rotations and CX(i, (i + r) mod n) with range ``r = l mod (n - 1) + 1`` in layer ``l``.

    With ``hardware``, the CX gates follow its coupling map (the range is then
    not used). ``3 * n_qubits * layers`` parameters.

    Examples:
        >>> c = strongly_entangling(4, 2)
        >>> len(c.parameters), c.count_ops()
        (24, {'rz': 16, 'ry': 8, 'cx': 8})
    """
    _check(n_qubits, layers, hardware)
    name = _Names(prefix, start)
    c = Circuit(n_qubits)
    for layer in range(layers):
        for q in range(n_qubits):
            c.rz(name(), q)
            c.ry(name(), q)
            c.rz(name(), q)
        if not entangle or n_qubits == 1:
            continue
        if hardware is not None:
            pairs = _device_edges(n_qubits, hardware)
        else:
            r = layer % (n_qubits - 1) + 1
            pairs = [(q, (q + r) % n_qubits) for q in range(n_qubits)] if n_qubits > 2 else [(0, 1)]
        for a, b in pairs:
            c.cx(a, b)
    return c


def _validate_on(c: Circuit, hardware: Any, what: str) -> Circuit:
    if hardware is not None:
        for inst in c:
            if len(inst.qubits) == 2 and not hardware.coupling_map.has_edge(*inst.qubits):
                raise CircuitError(f"{what} needs {inst.name} on qubits {inst.qubits}, not coupled on device "
                                   f"{hardware.name!r}; route it first or use hardware_efficient(hardware=...)")
    return c


def tree_tensor_network(n_qubits: int, layers: int = 1, *, hardware: Any = None, entangle: bool = True,
                        prefix: str = "w", start: int = 0) -> Circuit:
    """A binary tree of (RY, RY, CX) blocks that merges information into qubit 0, ``layers`` times.

    Read ``<Z_0>``. With ``hardware``, raises when a tree edge is not on its coupling map.

    Examples:
        >>> c = tree_tensor_network(4, 2)
        >>> len(c.parameters), c.count_ops()
        (12, {'ry': 12, 'cx': 6})
    """
    _check(n_qubits, layers, hardware)
    name = _Names(prefix, start)
    c = Circuit(n_qubits)
    for _ in range(layers):
        step = 1
        while step < n_qubits:
            for a in range(0, n_qubits - step, 2 * step):
                b = a + step
                c.ry(name(), a)
                c.ry(name(), b)
                if entangle:
                    c.cx(b, a)
            step *= 2
    return _validate_on(c, hardware, "tree_tensor_network")


def qcnn(n_qubits: int, layers: int = 1, *, hardware: Any = None, entangle: bool = True,
         prefix: str = "w", start: int = 0) -> Circuit:
    """Quantum convolutional network (Cong, Choi & Lukin 2019): convolution and pooling down to qubit 0.

    Each level convolves neighbouring active qubits with ``layers`` two-qubit
    blocks (RY RY, CX; RY RY) whose weights are shared within the level, then
    pools: every other active qubit controls an RY on its partner (CRY) and is
    dropped. Read ``<Z_0>``.

    Examples:
        >>> c = qcnn(4, 2)
        >>> len(c.parameters), c.count_ops()
        (18, {'ry': 32, 'cx': 8, 'cry': 3})
    """
    _check(n_qubits, layers, hardware)
    name = _Names(prefix, start)
    c = Circuit(n_qubits)
    active = list(range(n_qubits))
    while len(active) > 1:
        pairs = [(active[i], active[i + 1]) for i in range(len(active) - 1)]
        for _ in range(layers):
            a1, b1, a2, b2 = name(), name(), name(), name()
            for a, b in pairs:
                c.ry(a1, a)
                c.ry(b1, b)
                if entangle:
                    c.cx(a, b)
                c.ry(a2, a)
                c.ry(b2, b)
        pool = name()
        kept = active[0::2]
        for i in range(1, len(active), 2):
            if entangle:
                c.cry(pool, active[i], active[i - 1])
            else:
                c.ry(pool, active[i - 1])
        active = kept
    return _validate_on(c, hardware, "qcnn")


ANSATZE: dict[str, Callable[..., Circuit]] = {
    "hardware_efficient": hardware_efficient,
    "strongly_entangling": strongly_entangling,
    "tree_tensor_network": tree_tensor_network,
    "ttn": tree_tensor_network,
    "qcnn": qcnn,
}


def get_ansatz(name: str) -> Callable[..., Circuit]:
    """The ansatz function called ``name`` (clear error listing the names otherwise).

    Examples:
        >>> get_ansatz("qcnn") is qcnn
        True
        >>> get_ansatz("qnn")
        Traceback (most recent call last):
        ...
        qtandem.errors.CircuitError: unknown ansatz 'qnn' (did you mean 'qcnn'?); choose from ...
    """
    import difflib

    fn = ANSATZE.get(name)
    if fn is None:
        close = difflib.get_close_matches(name, list(ANSATZE), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CircuitError(f"unknown ansatz {name!r}{hint}; choose from {sorted(ANSATZE)}")
    return fn
