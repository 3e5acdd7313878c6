"""Numba flags for every kernel, in one place.

``cache=True`` keeps compiled kernels on disk (``__pycache__`` beside the
module, or ``NUMBA_CACHE_DIR``) so only the first run after an install pays
the compile. ``parallel`` can be switched off with ``IOMSCORE_PARALLEL=0``
(one thread, for debugging and for comparing with the serial peers).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["JIT_OPTIONS", "PARALLEL_OPTIONS"]

_PARALLEL = os.environ.get("IOMSCORE_PARALLEL", "1") != "0"

JIT_OPTIONS: dict[str, Any] = {"nogil": True, "cache": True}
PARALLEL_OPTIONS: dict[str, Any] = {**JIT_OPTIONS, "parallel": _PARALLEL}
