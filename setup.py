"""Build hook: compiles the optional native kernels (see setup_ext.py).

Everything else about the package lives in pyproject.toml. A machine without a
C compiler still installs qtandem; the simulator then uses its torch path.
"""

import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    from setup_ext import native_extensions

    ext_modules = native_extensions()
except Exception as exc:  # pragma: no cover - build environment problem
    print(f"qtandem: building without native kernels ({exc})", file=sys.stderr)
    ext_modules = []

setup(ext_modules=ext_modules)
