"""Open the queue the config names: the embedded SQLite engine (``queue.mode = "local"``)."""

from __future__ import annotations

from config.schema import KioskConfig
from queueing.engine import QueueEngine


def open_queue(config: KioskConfig) -> QueueEngine:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return QueueEngine(config.data_dir / "queue.db", config.queue.services,
                       max_priority_in_row=config.queue.max_priority_in_row)
