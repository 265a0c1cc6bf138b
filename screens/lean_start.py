"""Start the kiosk process lighter: libraries without the extras they pull in.

``sqlite_utils`` imports numpy whenever it is installed (to map numpy types to SQLite columns), and numpy is
installed because camera scanners need OpenCV: 16 MiB and half a second at start for types the kiosk never
stores. ``httpx`` imports its command-line client (rich, click, pygments: 6 MiB, 0.15 s) whenever those are
installed, as they are in a development venv. Both libraries fall back cleanly when the extra cannot be imported,
so the kiosk process imports them first with the extras hidden; numpy still loads normally for OpenCV later.
Measured numbers: docs/BENCHMARKS.md, "Start-up"; what glibc keeps of freed memory: :mod:`screens.native_heap`.
"""

from __future__ import annotations

import importlib
import sys

# library → the optional modules it tries to import at import time and can do without
OPTIONAL_EXTRAS = {
    "sqlite_utils": ("numpy", "pandas"),
    "httpx": ("httpx._main",),
}


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

