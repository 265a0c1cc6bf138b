"""The kiosk's log: ``<data dir>/logs/kiosk.log``, rotated at a size cap, with personal data scrubbed out.

A kiosk runs for months on a small disk, so the file rotates at ``MAX_BYTES`` and keeps ``BACKUPS`` old files
(6 MiB at most in all). Technicians read these lines remotely, so every record passes :class:`ScrubPersonalData`
on its way to any handler installed here (:mod:`contracts.scrub` says what it hides). The folder is private to the
kiosk's user (0700).
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from contracts.scrub import scrub
from contracts.storage import private_dir

MAX_BYTES = 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OURS = "_kiosk_handler"  # marks the handlers installed here, so configuring again replaces them


class ScrubPersonalData(logging.Filter):
    """Rewrites each record's message and traceback before any handler formats it (never drops a record)."""

    _traceback = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a bad format string must not crash the caller: keep what it said
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._traceback.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def configure_logging(log_dir: Path, *, level: int = logging.WARNING, max_bytes: int = MAX_BYTES,
                      backups: int = BACKUPS) -> logging.handlers.RotatingFileHandler:
    """Log to ``log_dir/kiosk.log`` (rotated) and to stderr (the journal under systemd), both scrubbed; replaces
    the handlers a previous call installed. Returns the file handler."""
    private_dir(log_dir)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.RotatingFileHandler(log_dir / "kiosk.log", maxBytes=max_bytes,
                                                        backupCount=backups, encoding="utf-8")
    for handler in (file_handler, logging.StreamHandler()):
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(ScrubPersonalData())
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    root.setLevel(level)
    return file_handler
