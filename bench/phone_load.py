"""2,000 phones following their numbers from a phone while kiosks take tickets and counters call, on a real
``queue serve``.

Each phone polls ``GET /api/phone/tickets/{token}`` every 20 s (the phone page's interval) divided by ``--speed``
(time compressed: ``--speed 5`` is 500 polls a second from 2,000 phones), open loop with random phases, so the
server sees the rate a centre's phones would make, not what it can absorb. Beside them ``--kiosks`` kiosks take a
ticket every 30 s each and ``--counters`` counters call and finish a number every 60 s each, both also divided by
``--speed`` (calls pass over the phones' numbers not checked in, which starts the grace upkeep and the SMS outbox as
in a centre). The numbers from phones are made before the server starts, straight in its database (what is
measured here is the polling; ``bench/city_load.py`` takes its phones' numbers through the real one-time-code
flow), with phones of valid prefixes (``bench/_phones``).

Bounded: ``--seconds`` of load (default 30), then the server is stopped and its files removed. Prints per kind:
requests, rate, p50/p99 latency, errors (any status but the expected one, or no answer), and the server's CPU per
poll. Usage: ``python bench/phone_load.py [--phones 2000] [--speed 5] [--seconds 30] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _city_servers as servers  # noqa: E402
from bench._http import HttpFailure, Pool  # noqa: E402
from bench._phones import POLL_S, bench_limits, phone_number, poll_path  # noqa: E402
from config.services import ServiceDef  # noqa: E402
from contracts.pin import hash_pin  # noqa: E402
from queueing import virtual  # noqa: E402
from queueing.engine import QueueEngine  # noqa: E402

KIOSK_EVERY_S = 30.0   # a busy kiosk: a ticket every half minute
COUNTER_EVERY_S = 60.0  # a counter serves a citizen a minute at this compression
PHONE_POOLS = 100      # client connections the phones' polls share (a phone keeps one while its page is open)
KIOSK_TOKEN = "K{n}:phone-load-kiosk-secret-{n}"
SERVICES = [ServiceDef(code="HT", name_vi="Hộ tịch", prefix="A", digits=4, counters=[1, 2], hours="always"),
            ServiceDef(code="CT", name_vi="Cư trú", prefix="B", digits=4, counters=[3, 4], hours="always")]


def write_config(path: Path, data_dir: Path, counters: int) -> None:
    pin_hash = hash_pin(servers.COUNTER_PASSWORD, n=2**10)
    lines = [f'data_dir = "{data_dir}"', "[queue]", "services = ["]
    for service in SERVICES:
        lines.append(f'  {{ code = "{service.code}", name_vi = "{service.name_vi}", prefix = "{service.prefix}", '
                     f'digits = 4, hours = "always", counters = {service.counters} }},')
    lines += ["]", *bench_limits()]
    for number in range(1, counters + 1):
        lines += ["[[queue.counters]]", f"number = {number}", f'pin_hash = "{pin_hash}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def seed_phones(db: Path, phones: int) -> list[str]:
    """``phones`` numbers from phones, half per service; returns their view tokens."""
    engine = QueueEngine(db, SERVICES, checkpoint_interval_s=None)
    tokens = []
    try:
        for n in range(phones):
            token = virtual.new_view_token()
            engine.issue_virtual(SERVICES[n % 2].code, phone=phone_number(n), view_digest=virtual.digest(token),
                                 max_per_day=phones)
            tokens.append(token)
    finally:
        engine.close()
    return tokens


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    async def timed(self, kind: str, pool: Pool, method: str, path: str, expect: int = 200, **extra: Any) -> Any:
        start = time.perf_counter()
        try:
            answer = await pool.request(method, path, **extra)
        except HttpFailure:
            self.errors[kind] += 1
            return None
        self.latencies[kind].append(time.perf_counter() - start)
        if answer.status != expect:
            self.errors[kind] += 1
            return None
        return answer

    def summary(self, seconds: float) -> dict[str, dict[str, float]]:
        out = {}
        for kind in sorted(set(self.latencies) | set(self.errors)):
            values = sorted(self.latencies[kind])
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))] if values else None
            out[kind] = {"requests": len(values), "per_s": round(len(values) / seconds, 1),
                         "p50_ms": round(statistics.median(values) * 1000, 2) if values else None,
                         "p99_ms": round(p99 * 1000, 2) if p99 is not None else None,
                         "errors": self.errors[kind]}
        return out


async def every(period: float, until: float, action: Any) -> None:
    """Run ``action`` every ``period`` seconds (random first phase) until the monotonic time ``until``; a slow
    answer does not delay the next (open loop)."""
    pending: set[asyncio.Task[Any]] = set()
    due = time.monotonic() + random.uniform(0, period)
    while due < until:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        task = asyncio.create_task(action())
        pending.add(task)
        task.add_done_callback(pending.discard)
        due += period
    if pending:
        await asyncio.wait(pending)


async def load(port: int, tokens: list[str], args: argparse.Namespace, rec: Recorder) -> None:
    until = time.monotonic() + args.seconds
    pools = [Pool("127.0.0.1", port) for _ in range(PHONE_POOLS)]
    kiosks = [Pool("127.0.0.1", port, {"Authorization": f"Bearer {KIOSK_TOKEN.format(n=k)}"})
              for k in range(args.kiosks)]
    counters = []
    for number in range(1, args.counters + 1):
        login = await Pool("127.0.0.1", port).request("POST", f"/api/counters/{number}/login",
                                                      json={"password": servers.COUNTER_PASSWORD})
        counters.append((number, Pool("127.0.0.1", port, {"Authorization": f"Bearer {login.json()['token']}"})))
    issued = iter(range(10 ** 9))

    def poll(n: int, token: str) -> Any:
        return lambda: rec.timed("phone poll", pools[n % PHONE_POOLS], "GET", poll_path(token))

    def take(k: int, pool: Pool) -> Any:
        return lambda: rec.timed("kiosk ticket", pool, "POST", "/api/tickets",
                                 json={"service": SERVICES[k % 2].code, "request_id": f"load-{k}-{next(issued)}"})

    def serve(number: int, pool: Pool) -> Any:
        async def call_and_finish() -> None:
            answer = await rec.timed("counter call", pool, "POST", f"/api/counters/{number}/call-next", json={})
            if answer is not None and answer.json().get("ticket"):
                await rec.timed("counter finish", pool, "POST", f"/api/counters/{number}/finish")
        return call_and_finish

    await asyncio.gather(
        *(every(POLL_S / args.speed, until, poll(n, t)) for n, t in enumerate(tokens)),
        *(every(KIOSK_EVERY_S / args.speed, until, take(k, p)) for k, p in enumerate(kiosks)),
        *(every(COUNTER_EVERY_S / args.speed, until, serve(n, p)) for n, p in counters))
    for pool in (*pools, *kiosks, *(p for _, p in counters)):
        pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=2000)
    parser.add_argument("--speed", type=float, default=5.0, help="time compression of every interval")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--kiosks", type=int, default=10)
    parser.add_argument("--counters", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not (1 <= args.phones <= 20_000 and 0 < args.speed <= 30 and 1 <= args.seconds <= 600):
        parser.error("bounded run: --phones 1..20000, --speed up to 30 (the page's per-token limit), "
                     "--seconds 1..600")
    with tempfile.TemporaryDirectory(prefix="phone-load-") as folder:
        tmp = Path(folder)
        write_config(tmp / "kiosk.toml", tmp / "data", args.counters)
        db = tmp / "queue.db"
        started = time.perf_counter()
        tokens = seed_phones(db, args.phones)
        seeded_s = time.perf_counter() - started
        env = servers.clean_env(QUEUE_KIOSK_TOKEN=",".join(KIOSK_TOKEN.format(n=k) for k in range(args.kiosks)))
        server = servers.Served(["--config", str(tmp / "kiosk.toml"), "queue", "serve", "--db", str(db)], env,
                                tmp / "queue.log")
        try:
            cpu_before = servers.tree_cpu([server.proc.pid])
            rec = Recorder()
            began = time.monotonic()
            asyncio.run(load(server.port, tokens, args, rec))
            elapsed = time.monotonic() - began
            cpu = servers.tree_cpu([server.proc.pid]) - cpu_before
        finally:
            server.stop()
    figures = {"phones": args.phones, "speed": args.speed, "seconds": round(elapsed, 1),
               "seeded_numbers_s": round(seeded_s, 1), "server_cpu_s": round(cpu, 1),
               "kinds": rec.summary(elapsed)}
    answered = sum(row["requests"] for row in figures["kinds"].values())
    figures["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, answered), 3)
    print(f"{args.phones} phones polling every {POLL_S / args.speed:g} s, {args.kiosks} kiosks, {args.counters} "
          f"counters, {elapsed:.0f} s; server CPU {cpu:.1f} s "
          f"({figures['server_cpu_ms_per_request']} ms a request)")
    for kind, row in figures["kinds"].items():
        print(f"  {kind:15} {row['requests']:7d} requests  {row['per_s']:7.1f}/s  p50 {row['p50_ms']} ms  "
              f"p99 {row['p99_ms']} ms  errors {row['errors']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
