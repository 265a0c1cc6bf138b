"""Start the kiosk process lighter: libraries without the extras they pull in, large frees given back to the OS.

``sqlite_utils`` imports numpy whenever it is installed (to map numpy types to SQLite columns), and numpy is
installed because camera scanners need OpenCV: 16 MiB and half a second at start for types the kiosk never
stores. ``httpx`` imports its command-line client (rich, click, pygments: 6 MiB, 0.15 s) whenever those are
installed, as they are in a development venv. Both libraries fall back cleanly when the extra cannot be imported,
so the kiosk process imports them first with the extras hidden; numpy still loads normally for OpenCV later.

glibc keeps a freed large block in the heap once a block that size has been freed before (its mmap threshold
rises to it), so every scrypt PIN check after the first (16 MiB each) stays resident for good. A fixed threshold
makes large blocks always come from, and go back to, the OS. Measured numbers: docs/BENCHMARKS.md, "Start-up".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import sys

# library → the optional modules it tries to import at import time and can do without
OPTIONAL_EXTRAS = {
    "sqlite_utils": ("numpy", "pandas"),
    "httpx": ("httpx._main",),
}
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, now fixed


def import_without_extras() -> None:
    """Import each library with its extras hidden; call before any other thread starts importing."""
    for library, extras in OPTIONAL_EXTRAS.items():
        if library in sys.modules:
            continue
        hidden = [name for name in extras if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # "import name" raises ImportError
        try:
            importlib.import_module(library)
        finally:
            for name in hidden:
                if sys.modules.get(name, ...) is None:
                    del sys.modules[name]


def return_large_frees() -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc (nothing to do there)."""
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name) if libc_name else None
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
