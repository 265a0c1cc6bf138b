"""glibc's heap in the kiosk process: large frees go back to the OS, and the soak can tell used from held.

Kivy, SDL, SDL_ttf and Mesa's software renderer allocate with ``malloc``; Python's tracemalloc and gc see none of
it. glibc keeps a freed large block in the heap once a block that size has been freed before (its mmap threshold
rises to it), so every scrypt PIN check after the first (16 MiB each) stayed resident for good: a fixed threshold
makes large blocks always come from, and go back to, the OS.

:func:`heap_figures` tells bytes in use from bytes glibc holds free, which an RSS curve alone cannot. (Giving the
free pages back after each session with ``malloc_trim`` was measured and left out: once frames are flushed
(:mod:`screens.frame_flush`) it saved nothing over 600 sessions and cost the UI thread 13 ms a session, up to
180 ms on a loaded machine.) Measured numbers: docs/BENCHMARKS.md, "Start-up" and "Soak".
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, now fixed
MIB = 1024 * 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


@cache
def _glibc_function(name: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """A function of the C library, or None where the C library is not glibc (nothing to tune there)."""
    libc_name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc_name), name, None) if libc_name else None


def return_large_frees() -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc."""
    mallopt = _glibc_function("mallopt")
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def heap_figures() -> dict[str, float]:
    """MiB glibc's heaps hold in use and free, and MiB in mmap'ed blocks; empty where libc is not glibc."""
    mallinfo2 = _glibc_function("mallinfo2")
    if mallinfo2 is None:
        return {}
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {"heap_used_mib": round(info.uordblks / MIB, 1), "heap_free_mib": round(info.fordblks / MIB, 1),
            "mmapped_mib": round(info.hblkhd / MIB, 1)}
