"""Saturation phases: how many requests of one kind a configuration answers, and how fast, as clients are added.

Closed loop: each client sends its next request as soon as the last one is answered, over its own keep-alive
connection. The number of clients doubles step by step (``levels``); each step runs ``step_s`` seconds or
``max_per_step`` requests, whichever ends first. The highest rate whose p99 stays under a bound is what one
configuration sustains without its answers getting slow; past it, more clients only queue up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench._city_traffic import Recorder

Send = Callable[[int], Awaitable[object]]  # request i of a client, through the recorder


@dataclass(frozen=True)
class Step:
    clients: int
    requests: int
    errors: int
    wall_s: float
    p50_ms: float
    p99_ms: float
    samples: tuple[str, ...] = ()  # the commonest errors, for the reader

    @property
    def per_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"clients": self.clients, "requests": self.requests, "per_s": round(self.per_s, 1),
                "p50_ms": round(self.p50_ms, 2), "p99_ms": round(self.p99_ms, 2), "errors": self.errors,
                "error_samples": list(self.samples)}


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values`` by the nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _client(send: Send, deadline: float, budget: list[int]) -> None:
    i = 0
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        await send(i)
        i += 1


async def ramp(kind: str, client: Callable[[int, Recorder], tuple[Send, Callable[[], None]]], levels: list[int],
               step_s: float, max_per_step: int, stop_above_ms: float = 1000.0) -> list[Step]:
    """One :class:`Step` per level; ``client(n, recorder)`` makes client ``n``'s ``send`` and its ``close``.

    Stops early once a step's p99 passes ``stop_above_ms``: more clients would only wait longer.
    """
    steps = []
    for clients in levels:
        rec = Recorder()
        made = [client(n, rec) for n in range(clients)]
        budget = [max_per_step]
        began = time.perf_counter()
        await asyncio.gather(*(_client(send, time.monotonic() + step_s, budget) for send, _close in made))
        wall = time.perf_counter() - began
        for _send, close in made:
            close()
        stats = rec.kinds.get(kind)
        latencies = stats.latencies if stats else []
        step = Step(clients, stats.count if stats else 0, rec.errors(), wall,
                    percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, rec.samples())
        steps.append(step)
        if step.p99_ms > stop_above_ms:
            break
    return steps


def best(steps: list[Step], p99_ms: float | None = None) -> Step | None:
    """The fastest step without errors (and with its p99 within ``p99_ms`` when given)."""
    fit = [s for s in steps if s.errors == 0 and (p99_ms is None or s.p99_ms <= p99_ms)]
    return max(fit, key=lambda s: s.per_s, default=None)
