"""Give memory freed after a large delivery back to the operating system.

glibc's malloc keeps freed heap for reuse, so a process that once held a 5 MB batch's
parsed JSON, parts and facts would stay at that peak for its whole life. `malloc_trim`
returns the free pages; elsewhere (musl, macOS) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_libc_name = ctypes.util.find_library("c")


def release_freed_memory() -> None:
    # No gc.collect() first: a full collection of a large heap holds the GIL for a long
    # moment, stalling every request; what a delivery frees goes by reference counting.
    if _libc_name is None:
        return
    try:
        trim = ctypes.CDLL(_libc_name).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
