"""Native extension definitions for qtandem's ``setup.py``.

``setup.py`` does ``ext_modules=native_extensions()``. The only extension is
``qtandem.sim._kernels`` (``src/qtandem/sim/_kernels.c``): in-place statevector
kernels in C11 with OpenMP. It is ``optional=True``: a machine without a C
compiler (or without OpenMP) still installs qtandem, and the simulator falls back
to its torch path (``qtandem.sim.fast.available()`` is then False).

Flags: ``-O3 -std=c11 -fopenmp -fno-math-errno``, and no ``-march``: the build is
portable, so a wheel built on one x86-64 machine runs on any other. The AVX2+FMA
kernels are compiled anyway (a ``#pragma GCC target`` copy inside ``_kernels.c``)
and chosen when the module loads if the CPU has AVX2 and FMA; other CPUs get the
scalar kernels (``_kernels.info()`` says which). Deliberately *not*
``-ffast-math``: the kernels spell out complex arithmetic by hand and must stay
IEEE-correct (NaN/inf propagate).

Set ``QTANDEM_MARCH_NATIVE=1`` at build time to add ``-march=native`` (the whole
extension tuned for the building CPU, and only runnable on CPUs like it). The
variable is not ``QTANDEM_NATIVE``, which already means something at run time
(``QTANDEM_NATIVE=0`` turns the native kernels off).
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension

MARCH_NATIVE_ENV = "QTANDEM_MARCH_NATIVE"
"""Environment variable: ``1`` adds ``-march=native`` (opt-in; the default build is portable)."""


def compile_args(environ: dict[str, str] | None = None, platform: str = sys.platform) -> list[str]:
    """Compiler flags of the native kernels.

    Args:
        environ: environment to read :data:`MARCH_NATIVE_ENV` from (default ``os.environ``).
        platform: ``sys.platform`` of the build.

    Returns:
        The flags; ``-march=native`` only when :data:`MARCH_NATIVE_ENV` is ``1``.

    Examples:
        >>> "-march=native" in compile_args({}, "linux")
        False
        >>> compile_args({"QTANDEM_MARCH_NATIVE": "1"}, "linux")[-1]
        '-march=native'
    """
    env = os.environ if environ is None else environ
    if platform == "win32":  # pragma: no cover - MSVC
        return ["/O2", "/openmp"]
    args = ["-O3", "-std=c11", "-fopenmp", "-fno-math-errno", "-Wall"]
    if env.get(MARCH_NATIVE_ENV, "0") == "1":
        args.append("-march=native")
    return args


def native_extensions() -> list[Extension]:
    """The optional native extensions of qtandem (currently one)."""
    link = [] if sys.platform == "win32" else ["-fopenmp"]
    return [
        Extension(
            "qtandem.sim._kernels",
            sources=["src/qtandem/sim/_kernels.c"],
            extra_compile_args=compile_args(),
            extra_link_args=link,
            optional=True,
        )
    ]
