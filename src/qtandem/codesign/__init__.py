"""The co-design loop: learn the device, compile for it, run on it, mitigate, re-learn; and hardware what-ifs."""

from __future__ import annotations

__all__: list[str] = []
