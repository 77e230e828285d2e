"""Conversions that a lower layer offers and a higher layer implements.

``Circuit.to_matrix``, ``Circuit.from_qasm`` and ``Circuit.to_qasm`` are methods of
the circuit layer, but the work is done by :mod:`qtandem.sim` and :mod:`qtandem.qasm`,
which import the circuit layer (imports point one way, see ``docs/design.md``).
The top-level package :mod:`qtandem`, which sits above every layer, registers a
thin function here for each of them (it imports the implementing layer when first
called); the circuit layer looks them up by name. Likewise ``record_distribution``:
:func:`qtandem.sim.distribution` falls back to one density matrix per classical record
(:mod:`qtandem.noise.density`, a layer above sim) when its branches do not fit in memory. This module imports nothing of
qtandem but the errors.

Examples:
    >>> import qtandem
    >>> sorted(registered())
    ['from_qasm', 'record_distribution', 'to_matrix', 'to_qasm']
    >>> lookup("to_qasm")(qtandem.Circuit(1).x(0)).splitlines()[-1]
    'x q[0];'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtandem.errors import QtandemError

__all__ = ["lookup", "register", "registered"]

_HOOKS: dict[str, Callable[..., Any]] = {}


def register(name: str, func: Callable[..., Any]) -> None:
    """Install ``func`` as the implementation of the conversion ``name`` (replacing any earlier one).

    Examples:
        >>> register("twice", lambda x: 2 * x)
        >>> lookup("twice")(21)
        42
        >>> del _HOOKS["twice"]
    """
    _HOOKS[name] = func


def registered() -> list[str]:
    """Names of the registered conversions.

    Examples:
        >>> import qtandem
        >>> "to_qasm" in registered()
        True
    """
    return list(_HOOKS)


def lookup(name: str) -> Callable[..., Any]:
    """The implementation of the conversion ``name``.

    Raises:
        QtandemError: nothing is registered under ``name`` (says what is).

    Examples:
        >>> lookup("to_pdf")
        Traceback (most recent call last):
        ...
        qtandem.errors.QtandemError: no conversion 'to_pdf' is registered (registered: from_qasm, ...); ...
    """
    func = _HOOKS.get(name)
    if func is None:
        raise QtandemError(f"no conversion {name!r} is registered (registered: {', '.join(sorted(_HOOKS)) or 'none'}); "
                           "the top-level package qtandem registers them when it is imported")
    return func
