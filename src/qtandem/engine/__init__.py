"""Execution engines: one seam (``map_unordered``) with a local process pool and Ray behind it.

Ray is an optional extra (``pip install 'qtandem[ray]'``), imported only inside ``RayEngine``.
"""

from __future__ import annotations

__all__: list[str] = []
