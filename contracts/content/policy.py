"""What a content bundle's ``config.toml`` may change: one allow-list, read by the builder, the backend and the kiosk.

A bundle is content the administrators manage for many kiosks: texts, hours, services, idle times, the voice.
Everything that decides whom a kiosk talks to or trusts stays in its local config: ``backend.*``, ``queue.server``,
``queue.mode`` and any token (a bundle naming another server would send citizens' dossiers there),
``technician.*`` (who may open maintenance), ``content.*`` (whose bundles it accepts), ``printer.*``, ``scanner.*``
and ``voice.output`` (a ``file:`` connection is a file write), ``data_dir``, ``kiosk.id``, ``branch.id`` and
``kiosk.dev_mode``.
A key not listed here is refused, so a key added to the config later stays local until it is listed on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Dotted keys a bundle may set; a listed key allows everything under it ("session" allows session.idle_reset_s, …).
BUNDLE_CONFIG_KEYS = (
    "kiosk.name", "kiosk.language",
    "branch.name", "branch.unit", "branch.address",  # the centre's name, unit and address on screen and tickets
    "branch.target_wait_min",  # its wait target in the city view (branch.id, the centre's identity, stays local)
    "session",  # idle times
    "announcements",
    "queue.services", "queue.help_service", "queue.max_priority_in_row",
    "voice.enabled", "voice.volume", "voice.rate", "voice.quiet_hours",
)


def _allowed(key: str) -> bool:
    return any(key == allowed or key.startswith(allowed + ".") for allowed in BUNDLE_CONFIG_KEYS)


def forbidden_key(table: Mapping[str, Any], prefix: str = "") -> str | None:
    """The first dotted key in ``table`` a bundle may not set, down to the value (``backend.url``); None if all may."""
    for name, value in table.items():
        key = prefix + name
        if _allowed(key):
            continue
        found = forbidden_key(value, key + ".") if isinstance(value, Mapping) and value else key
        if found:
            return found
    return None
