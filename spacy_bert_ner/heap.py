"""Give free heap memory back to the operating system (glibc), for long runs whose RSS should stay flat.

glibc's malloc keeps freed heap memory mapped, and raises its mmap threshold after large frees, so a process
that builds and drops many differently sized tensors and Docs grows its RSS long after what it holds in use
stops growing. ``malloc_trim(0)`` returns the free memory; elsewhere (macOS, musl, Windows) there is
nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from typing import Optional

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h


@functools.lru_cache(maxsize=1)
def glibc() -> Optional[ctypes.CDLL]:
    """The C library if it is glibc (it has malloc_trim), else None (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def return_free_memory() -> float:
    """Return free heap memory to the OS; the milliseconds it took (0 without glibc)."""
    libc = glibc()
    if libc is None:
        return 0.0
    start = time.perf_counter()
    libc.malloc_trim(0)
    return (time.perf_counter() - start) * 1000


def set_mmap_threshold(megabytes: int) -> None:
    """Serve allocations of at least ``megabytes`` MB by mmap, so freeing them returns them at once (pins
    glibc's otherwise rising threshold); nothing without glibc."""
    libc = glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, int(megabytes * 2**20))
