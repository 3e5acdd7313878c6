"""Numba flags for every kernel, in one place.

``cache=True`` keeps compiled kernels on disk (``__pycache__`` beside the
module, or ``NUMBA_CACHE_DIR``) so only the first run after an install pays
the compile. No kernel is parallel: the package's one thread mechanism is the
C store's helper thread (``csrc/iom_helper.h``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["JIT_OPTIONS"]

JIT_OPTIONS: dict[str, Any] = {"nogil": True, "cache": True}
