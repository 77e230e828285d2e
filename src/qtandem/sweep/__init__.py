"""Resumable sweeps and hyper-parameter search over qtandem jobs, run on a ``qtandem.engine`` engine."""

from __future__ import annotations

__all__: list[str] = []
