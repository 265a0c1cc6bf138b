"""Load python-escpos's printer capabilities once, from a cache that outlives the process.

Importing ``escpos.capabilities`` (which every ``escpos.printer`` import does) parses its ~100 KB capabilities
YAML — 0.3–0.5 s of pure-Python CPU here — and pickles the result so the next import can skip the parse. But the
pickle goes into a fresh ``mkdtemp()`` directory unless ``ESCPOS_CAPABILITIES_PICKLE_DIR`` names one, so by
default the parse is never reused and every start leaves a 70 KB pickle in /tmp (with the variable set it still
makes an empty directory there: its default is computed either way). :func:`load_capabilities`
points that variable at a directory of the kiosk's private data dir for the one import, so from the second
start on the import reads the pickle (~0.1 s). The pickle is as trusted as the rest of the data dir (0700, the
kiosk's own user). A pickle cut short (power lost while python-escpos wrote it) is parsed again, not fatal.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)
PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"
MODULE = "escpos.capabilities"


def load_capabilities(cache_dir: Path) -> None:
    """Import python-escpos's capabilities with their parsed form cached in ``cache_dir`` (no-op once loaded).

    An operator's own ``ESCPOS_CAPABILITIES_PICKLE_DIR`` wins. The variable is set only around this import and
    python-escpos reads it only then, so nothing else in the process (or a child process) sees it.
    """
    if MODULE in sys.modules:
        return
    own = PICKLE_DIR_ENV not in os.environ
    if own:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ[PICKLE_DIR_ENV] = str(cache_dir)
    try:
        _import_or_reparse(Path(os.environ[PICKLE_DIR_ENV]))
    finally:
        if own:
            os.environ.pop(PICKLE_DIR_ENV, None)


def _import_or_reparse(pickle_dir: Path) -> None:
    try:
        importlib.import_module(MODULE)
    except Exception as exc:  # noqa: BLE001 — an unreadable pickle raises whatever pickle.load met
        log.warning("python-escpos's cached capabilities are unreadable (%s): parsing them again", type(exc).__name__)
        for stale in pickle_dir.glob("*.capabilities.pickle"):
            stale.unlink(missing_ok=True)
        importlib.import_module(MODULE)
