"""Open the queue the config names: the embedded SQLite engine (``queue.mode = "local"``) or the branch queue
server shared by the centre's kiosks (``"branch"``, with leased numbers for when it cannot be reached), which the
kiosk calls with its token: ``queue.token``, or the ``QUEUE_KIOSK_TOKEN`` environment variable when that is empty."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from config.schema import KioskConfig
from queueing.engine import QueueEngine

if TYPE_CHECKING:
    from kiosk.queue_client import BranchQueue


def open_queue(config: KioskConfig) -> QueueEngine | BranchQueue:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    if config.queue.mode == "branch":
        from kiosk.queue_client import BranchQueue  # httpx and the wire format load only in branch mode
        from kiosk.tls import transport_for

        return BranchQueue(config.queue.server, kiosk_id=config.kiosk.id,
                           token=config.queue.token or os.environ.get("QUEUE_KIOSK_TOKEN", "").strip(),
                           state_path=config.data_dir / "branch-queue.db",
                           transport=transport_for(config.queue.ca_file))
    return QueueEngine(config.data_dir / "queue.db", config.queue.services,
                       max_priority_in_row=config.queue.max_priority_in_row)
