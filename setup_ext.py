"""Native extension definitions for qtandem's ``setup.py``.

``setup.py`` does ``ext_modules=native_extensions()``. The only extension is
``qtandem.sim._kernels`` (``src/qtandem/sim/_kernels.c``): in-place statevector
kernels in C11 with OpenMP. It is ``optional=True``: a machine without a C
compiler (or without OpenMP) still installs qtandem, and the simulator falls back
to its torch path (``qtandem.sim.fast.available()`` is then False).

Flags: ``-O3 -march=native`` for AVX2/FMA code paths, ``-fopenmp`` for threads and
``-fno-math-errno``. Deliberately *not* ``-ffast-math``: the kernels spell out
complex arithmetic by hand and must stay IEEE-correct (NaN/inf propagate).
Set ``QTANDEM_PORTABLE=1`` to build without ``-march=native`` (e.g. wheels meant
for other machines); the scalar fallback kernels are used then unless the
compiler targets AVX2+FMA by default.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension


def _compile_args() -> list[str]:
    if sys.platform == "win32":  # pragma: no cover - MSVC
        return ["/O2", "/openmp"]
    args = ["-O3", "-std=c11", "-fopenmp", "-fno-math-errno", "-Wall"]
    if not os.environ.get("QTANDEM_PORTABLE"):
        args.append("-march=native")
    return args


def native_extensions() -> list[Extension]:
    """The optional native extensions of qtandem (currently one)."""
    link = [] if sys.platform == "win32" else ["-fopenmp"]
    return [
        Extension(
            "qtandem.sim._kernels",
            sources=["src/qtandem/sim/_kernels.c"],
            extra_compile_args=_compile_args(),
            extra_link_args=link,
            optional=True,
        )
    ]
