"""Error mitigation: better expectation values from noisy runs, without a code.

Mitiq's functional style: executors are callables ``(circuits, shots) -> counts``, noise
scaling maps ``(circuit, factor) -> circuit``, extrapolation and inversion are pure
functions, and :func:`execute` composes methods and accounts every shot it spends.
"""

from __future__ import annotations

__all__: list[str] = []
