"""Standard circuits used in examples, benchmarks and tests.

Examples:
    >>> from qtandem.circuit.library import ghz, layered
    >>> ghz(3).count_ops()
    {'h': 1, 'cx': 2}
    >>> layered(4, layers=2, seed=1).count_ops()
    {'rx': 8, 'rz': 8, 'cx': 3}
"""

from __future__ import annotations

import math

import numpy as np

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.parameter import Parameter

__all__ = ["ghz", "layered", "layered_values", "qft"]


def layered(n: int, layers: int = 20, *, seed: int = 1234, parametrized: bool = False) -> Circuit:
    """The layered benchmark circuit used across the field.

    Each layer applies ``rx`` then ``rz`` on every qubit, then ``cx`` on
    alternating neighbour pairs: ``(0,1), (2,3), ...`` on even layers and
    ``(1,2), (3,4), ...`` on odd layers. Angles are uniform in ``[0, 2pi)`` from
    ``numpy.random.default_rng(seed)``, drawn layer by layer (rx angles, then rz).

    Args:
        n: number of qubits.
        layers: number of layers.
        seed: seed of the angles.
        parametrized: use ``Parameter`` objects ``t[0], t[1], ...`` instead of
            fixed angles (their values are then the ones a seed would give, via
            :func:`layered_values`).

    Examples:
        >>> c = layered(4, layers=2, seed=7)
        >>> c.count_ops()
        {'rx': 8, 'rz': 8, 'cx': 3}
        >>> len(layered(4, layers=2, parametrized=True).parameters)
        16
    """
    rng = np.random.default_rng(seed)
    c = Circuit(n, name=f"layered_{n}x{layers}")
    k = 0
    for layer in range(layers):
        angles = rng.uniform(0, 2 * math.pi, size=(2, n))
        for q in range(n):
            c.rx(Parameter(f"t[{k}]") if parametrized else float(angles[0, q]), q)
            k += 1
        for q in range(n):
            c.rz(Parameter(f"t[{k}]") if parametrized else float(angles[1, q]), q)
            k += 1
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
    return c


def layered_values(n: int, layers: int = 20, *, seed: int = 1234) -> np.ndarray:
    """The angles of :func:`layered` in the order of its parameters.

    Examples:
        >>> import numpy as np
        >>> values = layered_values(4, layers=2, seed=7)
        >>> values.shape
        (16,)
        >>> bool(np.all((values >= 0) & (values < 2 * np.pi)))
        True
    """
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(0, 2 * math.pi, size=(2, n)).reshape(-1) for _ in range(layers)])


def ghz(n: int, *, measure: bool = False) -> Circuit:
    """GHZ state preparation: ``h(0)`` then a chain of ``cx``.

    Examples:
        >>> ghz(3).count_ops()
        {'h': 1, 'cx': 2}
        >>> ghz(2, measure=True).n_clbits
        2
    """
    c = Circuit(n, n if measure else 0, name=f"ghz_{n}")
    c.h(0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    if measure:
        c.measure(range(n), range(n))
    return c


def qft(n: int, *, swaps: bool = True) -> Circuit:
    """Quantum Fourier transform on ``n`` qubits (qubit 0 least significant).

    Examples:
        >>> qft(3).count_ops()
        {'h': 3, 'cp': 3, 'swap': 1}
    """
    c = Circuit(n, name=f"qft_{n}")
    for j in reversed(range(n)):
        c.h(j)
        for k in reversed(range(j)):
            c.cp(math.pi / 2 ** (j - k), k, j)
    if swaps:
        for q in range(n // 2):
            c.swap(q, n - 1 - q)
    return c
