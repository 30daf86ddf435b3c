"""The decorators every kernel uses, and where numba caches them.

`error_model="numpy"` lets a float division by zero give inf/nan instead of raising: the
exception branch numba otherwise inserts at every `/` stops LLVM vectorising a loop (measured
here: the cell pass goes from 13.5 to 3.6 ns per cell). Kernels guard their divisions instead.

Numba keys a cached kernel on its own source file only, but a kernel's machine code also holds
the helpers it calls from other modules: edit `sim/flux.py` and the cached stepper would go on
using the old flux. So kernels of this project are cached in a folder named by a hash of all
kernel sources (`__pycache__/numba-<hash>/` next to each module): any edit starts a fresh cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from numba import njit, typeof
from numba.core import caching
from numba.core.caching import InTreeCacheLocator

_ROOT = Path(__file__).resolve().parent.parent
_KERNEL_DIRS = (_ROOT / "sim", _ROOT / "arz_tui" / "env")


def _sources_hash() -> str:
    digest = hashlib.sha256()
    for folder in _KERNEL_DIRS:
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.relative_to(_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


SOURCES_HASH = _sources_hash()


class _SourcesHashLocator(InTreeCacheLocator):
    """In-tree cache, one folder per version of the kernel sources."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(os.path.dirname(py_file), "__pycache__",
                                        f"numba-{SOURCES_HASH}")

    @classmethod
    def from_function(cls, py_func, py_file):
        folder = Path(py_file).resolve().parent
        if not any(folder == d or d in folder.parents for d in _KERNEL_DIRS):
            return None
        return super().from_function(py_func, py_file)


# numba >= 0.61 names it CacheImpl, earlier releases _CacheImpl.
_locators = (getattr(caching, "CacheImpl", None) or caching._CacheImpl)._locator_classes
if _SourcesHashLocator not in _locators:
    # After numba's user-provided NUMBA_CACHE_DIR locator, before its in-tree one.
    _locators.insert(1, _SourcesHashLocator)

kernel = njit(cache=True, error_model="numpy")
"""Decorator for loop kernels: cached, vectorisable."""

inline_kernel = njit(cache=True, error_model="numpy", inline="always")
"""Decorator for small scalar helpers that are inlined into the kernels' loops."""


def compiled(dispatcher: Any, args: Sequence[Any]) -> Callable[..., Any]:
    """The compiled entry point of a kernel for the numba types of `args` (from the cache, or
    compiled now), for a caller that passes arguments of exactly those types on every call.

    Calling it skips the dispatcher's per-call type matching, about 45 ns per array argument
    (1.7 us of a call of `sim.stepper.advance` with its 38 arguments, measured). Nothing checks
    the arrays then: bind again whenever an array argument may have another dtype, number of
    dimensions, layout or writeability. Numbers are converted (an int passed for a float is
    fine, as with the dispatcher).
    """
    compile_ = getattr(dispatcher, "compile", None)
    if compile_ is None:  # NUMBA_DISABLE_JIT: a plain function
        return dispatcher
    return compile_(tuple(typeof(a) for a in args))
