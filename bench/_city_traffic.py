"""A city's traffic: who sends what, how often, and what answer each request may get.

The rates (per second, at ``speed`` 1; ``speed`` multiplies every one of them):

* dossiers: Hanoi took 531,269 dossiers in a quarter, i.e. 531,269 / 65 working days (13 weeks of 5 days) =
  8,173 a day; ten times that day squeezed into one peak hour is 81,735 / 3,600 s = 22.7 submissions a second;
* status look-ups: ``lookups_per_dossier`` (2) per dossier: a citizen checks a dossier about twice while it runs;
* tickets: one per dossier (each filing is a visit to a centre: a number taken at a kiosk), and as many calls: a
  counter calls the next number (``call-next``) and finishes it (``finish``);
* kiosks: a heartbeat every 60 s (the kiosk's default ``backend.heartbeat_s``), a content poll every 300 s ± 20 %
  (``content.poll_interval_s``; the first answer is the bundle, later ones 304 with its ETag), a sync with the
  branch queue every 5 s (``GET /api/services``, what the kiosk's ``BranchQueue`` does in branch mode);
* counters: the counter page refreshes every 5 s (``GET /api/counters/{n}``, ``counter.js``);
* centres: each branch's queue server sends the backend a report of its figures every 30 s (``queue serve
  --report-to``), here compressed ``report_compression`` times (default 30: one a second per centre) so that a
  minute's run has enough of them to measure; each carries 6 services and 20 kiosks, as a mid-sized centre's would;
* phones: citizens who took their number from a phone (taken at set-up through the real one-time-code flow,
  ``bench/_phones``) poll its place every 20 s, as the phone page does (``GET /api/phone/tickets/{token}``), each
  on its own connection (the server closes an idle one after 5 s, so every poll connects, as a phone's would).

Periodic requests start at a random phase per kiosk or counter and repeat with the kiosk's own jitter; dossiers,
look-ups, tickets and calls arrive as Poisson streams from random kiosks (of random branches) and counters. The
whole schedule is drawn up front from ``seed`` and sent open-loop: a slow answer does not slow the city down, as
it would not in a real one. Every request's answer is checked against what the scenario expects; anything else
(another status, no answer) is an error.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from bench._http import Answer, HttpFailure, Pool
from bench._phones import POLL_S, poll_path

HANOI_DOSSIERS_PER_QUARTER = 531_269
WORKING_DAYS_PER_QUARTER = 65
PEAK_FACTOR = 10
DOSSIERS_PER_S = PEAK_FACTOR * HANOI_DOSSIERS_PER_QUARTER / WORKING_DAYS_PER_QUARTER / 3600
HEARTBEAT_S, CONTENT_POLL_S, QUEUE_SYNC_S, COUNTER_REFRESH_S = 60.0, 300.0, 5.0, 5.0
REPORT_S = 30.0  # a branch queue server's --report-interval default
REPORT_SERVICES, REPORT_KIOSKS = 6, 20  # a mid-sized centre
HANOI = timezone(timedelta(hours=7))
DRAIN_S = 30.0  # how long the requests still in flight at the end may take before they count as errors
LOG_TAIL = [f"2026-12-01 09:{m:02d}:00 INFO kiosk.session: session ended after {m + 40} s" for m in range(10)]
FORM = {"applicant_name": "Lê Thị Hoa", "applicant_id": "001190012345", "applicant_dob": "1990-05-12",
        "applicant_address": "Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội", "phone": "0912345678", "copies": 2}  # demo data
SEEDED_CODES = [f"000.00.13.H26-251120-{n:04d}" for n in range(1, 6)]  # the backend's demo dossiers


@dataclass
class Stats:
    """One request kind's answers: latencies (s) of the expected ones, every status seen, and the errors."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return sum(self.statuses.values())


class Recorder:
    def __init__(self) -> None:
        self.kinds: dict[str, Stats] = {}

    async def send(self, kind: str, expected: tuple[int, ...], request: Awaitable[Answer]) -> Answer | None:
        """Await ``request``, keeping its latency and status under ``kind``; None when it got no answer."""
        stats = self.kinds.setdefault(kind, Stats())
        started = time.perf_counter()
        try:
            answer = await request
        except HttpFailure as exc:
            stats.statuses["no answer"] += 1
            stats.errors[str(exc)[:120]] += 1
            return None
        stats.statuses[answer.status] += 1
        if answer.status in expected:
            stats.latencies.append(time.perf_counter() - started)
        else:
            stats.errors[f"{answer.status} {answer.body[:120].decode(errors='replace')}"] += 1
        return answer

    def errors(self) -> int:
        return sum(sum(s.errors.values()) for s in self.kinds.values())

    def samples(self, each: int = 3) -> tuple[str, ...]:
        """The ``each`` commonest errors of every kind, as "kind: error (×n)"."""
        return tuple(f"{kind}: {text} (×{n})" for kind, stats in self.kinds.items()
                     for text, n in stats.errors.most_common(each))


@dataclass
class Kiosk:
    kiosk_id: str
    branch: int
    backend: Pool  # with the kiosk's backend token
    queue: Pool  # with the kiosk's queue token
    etag: str | None = None


@dataclass
class CounterPc:
    number: int
    branch: int
    pool: Pool  # with the counter's session token, after its login
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)  # staff call one number at a time


@dataclass
class Centre:
    """A branch queue server as the backend sees it: a report of its figures now and then, with the report token."""

    centre_id: str
    pool: Pool  # to the backend, with the report token
    seq: int = 0  # the last report's number

    def report(self, rng: random.Random) -> dict[str, object]:
        """The next report (contracts B) with plausible figures."""
        self.seq += 1
        now = datetime.now(HANOI).isoformat(timespec="seconds")
        services = [{"code": f"S{n}", "name": f"Dịch vụ {n}", "waiting": rng.randint(0, 40),
                     "virtual_waiting": rng.randint(0, 10), "issued": 100 + self.seq, "served": 80 + self.seq,
                     "no_shows": rng.randint(0, 5), "wait_now_min": round(rng.uniform(0, 45), 1),
                     "wait_p90_min": round(rng.uniform(5, 60), 1), "counters_open": rng.randint(0, 3)}
                    for n in range(REPORT_SERVICES)]
        kiosks = [{"id": f"{self.centre_id[-6:]}-K{n:02d}", "online": rng.random() > 0.05, "last_seen": now}
                  for n in range(REPORT_KIOSKS)]
        return {"centre": self.centre_id, "name": f"Trung tâm {self.centre_id}", "seq": self.seq, "at": now,
                "target_wait_min": 30, "services": services, "counters_open": 8, "kiosks": kiosks,
                "displays_online": 2}


@dataclass
class Phone:
    """A citizen following a number taken from a phone: the page's view token, a connection of its own to its
    centre's queue server (no token: the phone routes are public)."""

    token: str
    branch: int
    pool: Pool


@dataclass
class City:
    """What the load generator knows: the kiosks, counters and centres, and what the servers answered so far."""

    kiosks: list[Kiosk]
    counters: list[CounterPc]
    branches: list[str]  # service code of each branch
    centres: list[Centre] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    codes: list[str] = field(default_factory=lambda: list(SEEDED_CODES))
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (service, number) of each ticket answered
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def close(self) -> None:
        for kiosk in self.kiosks:
            kiosk.backend.close()
            kiosk.queue.close()
        for counter in self.counters:
            counter.pool.close()
        for holder in (*self.centres, *self.phones):
            holder.pool.close()


@dataclass(frozen=True)
class Rates:
    """Requests a second of each stream at ``speed`` (see the module's docstring for where each comes from)."""

    kiosks: int
    counters: int
    lookups_per_dossier: float = 2.0
    speed: float = 1.0
    centres: int = 0
    report_compression: float = 30.0
    phones: int = 0

    @property
    def dossiers(self) -> float:
        return DOSSIERS_PER_S * self.speed

    def as_dict(self) -> dict[str, float]:
        s = self.speed
        return {"heartbeat": self.kiosks / HEARTBEAT_S * s, "content": self.kiosks / CONTENT_POLL_S * s,
                "queue-sync": self.kiosks / QUEUE_SYNC_S * s, "counter-view": self.counters / COUNTER_REFRESH_S * s,
                "submit": self.dossiers, "lookup": self.dossiers * self.lookups_per_dossier,
                "ticket": self.dossiers, "call": self.dossiers,
                "city-report": self.centres / self.report_every_s, "phone-poll": self.phones / POLL_S * s}

    @property
    def report_every_s(self) -> float:
        """How often each centre reports in the run (30 s compressed, and sped up like everything else)."""
        return REPORT_S / self.report_compression / self.speed


# -- what each actor sends ------------------------------------------------------------------------------------------
def heartbeat(city: City, rec: Recorder, kiosk: Kiosk, at: float) -> Awaitable[object]:
    body = {"kiosk_id": kiosk.kiosk_id, "interval_s": HEARTBEAT_S, "branch": f"Chi nhánh {kiosk.branch + 1}",
            "app_version": "0.1.0", "content_version": 1, "printer": "ok", "scanner": "ok", "outbox_depth": 0,
            "queue": {"waiting": 12, "open_services": 1, "services": 1}, "uptime_s": round(3600 + at, 1),
            "log_tail": LOG_TAIL}
    return rec.send("heartbeat", (200,), kiosk.backend.request("POST", "/api/fleet/heartbeat", json=body))


async def content_poll(city: City, rec: Recorder, kiosk: Kiosk, at: float) -> None:
    headers = {"If-None-Match": kiosk.etag} if kiosk.etag else {}
    answer = await rec.send("content", (200, 304), kiosk.backend.request(
        "GET", f"/api/content/latest?kiosk={kiosk.kiosk_id}", headers=headers))
    if answer is not None and answer.status == 200:
        kiosk.etag = answer.headers.get("etag")


def queue_sync(city: City, rec: Recorder, kiosk: Kiosk, at: float) -> Awaitable[object]:
    return rec.send("queue-sync", (200,), kiosk.queue.request("GET", "/api/services"))


def counter_view(city: City, rec: Recorder, counter: CounterPc, at: float) -> Awaitable[object]:
    return rec.send("counter-view", (200,), counter.pool.request("GET", f"/api/counters/{counter.number}"))


async def submit(city: City, rec: Recorder, kiosk: Kiosk, at: float) -> None:
    answer = await rec.send("submit", (201,), kiosk.backend.request(
        "POST", "/api/dossiers", json={"procedure_id": "HT05", "form": FORM},
        headers={"Idempotency-Key": uuid.uuid4().hex}))
    if answer is not None and answer.status == 201:
        city.codes.append(answer.json()["code"])


def lookup(city: City, rec: Recorder, kiosk: Kiosk, at: float) -> Awaitable[object]:
    code = city.rng.choice(city.codes)
    return rec.send("lookup", (200,), kiosk.backend.request("GET", f"/api/dossiers/{code}"))


async def ticket(city: City, rec: Recorder, kiosk: Kiosk, at: float) -> None:
    service = city.branches[kiosk.branch]
    answer = await rec.send("ticket", (200,), kiosk.queue.request(
        "POST", "/api/tickets", json={"service": service, "request_id": uuid.uuid4().hex}))
    if answer is not None and answer.status == 200:
        city.numbers.append((service, answer.json()["number"]))


async def call(city: City, rec: Recorder, counter: CounterPc, at: float) -> None:
    base = f"/api/counters/{counter.number}"
    async with counter.busy:
        answer = await rec.send("call-next", (200,), counter.pool.request("POST", f"{base}/call-next"))
        if answer is None:
            return
        # 409 counter_busy: an earlier call was made but its answer was lost (an error already); staff finish it
        if (answer.status == 200 and answer.json()["ticket"] is not None) or answer.status == 409:
            await rec.send("finish", (200,), counter.pool.request("POST", f"{base}/finish"))


async def branch_report(city: City, rec: Recorder, centre: Centre, at: float) -> None:
    """One report from a centre; a 200 that did not accept it (a duplicate) is an error too: seqs only go up."""
    answer = await rec.send("city-report", (200,), centre.pool.request(
        "POST", "/api/city/reports", json={"reports": [centre.report(city.rng)]}))
    if answer is not None and answer.status == 200 and answer.json().get("accepted") != 1:
        rec.kinds["city-report"].errors[f"not accepted: {answer.body[:80].decode(errors='replace')}"] += 1


def phone_poll(city: City, rec: Recorder, phone: Phone, at: float) -> Awaitable[object]:
    return rec.send("phone-poll", (200,), phone.pool.request("GET", poll_path(phone.token)))


def phone_rounds(phones: list[Phone]) -> Action:
    """Polls for the cost phase: a closed loop on one number would meet the server's limit per token (30 a minute),
    so each request, whichever client sends it, reads the next of ``phones``' numbers."""
    tokens = itertools.cycle([phone.token for phone in phones])

    def poll(city: City, rec: Recorder, phone: Phone, at: float) -> Awaitable[object]:
        return rec.send("phone-poll", (200,), phone.pool.request("GET", poll_path(next(tokens))))
    return poll


Actor = Kiosk | CounterPc | Centre | Phone


def fresh(actor: Actor) -> Actor:
    """The same kiosk, counter or phone on new connections of its own (a saturation client); a centre becomes a new one
    (its own id and seqs: a copy of its numbers would only send duplicates)."""
    if isinstance(actor, Kiosk):
        return replace(actor, backend=actor.backend.clone(), queue=actor.queue.clone())
    if isinstance(actor, Centre):
        return Centre(f"{actor.centre_id}.{secrets.token_hex(3)}", actor.pool.clone())
    if isinstance(actor, CounterPc):
        return replace(actor, pool=actor.pool.clone(), busy=asyncio.Lock())
    return replace(actor, pool=actor.pool.clone())


def close(actor: Actor) -> None:
    for pool in (actor.backend, actor.queue) if isinstance(actor, Kiosk) else (actor.pool,):
        pool.close()


def costed(kiosks: list[Kiosk], queue_kiosks: list[Kiosk], counters: list[CounterPc], centres: list[Centre],
           queue_phones: list[Phone]) -> list[tuple]:
    """(kind as recorded, action, actors, server) of each kind whose CPU per request is measured alone; queue
    requests go to one deployment (``queue_kiosks``, ``counters``, ``queue_phones``); a call is its call-next and its
    finish. Phone polls only when there are phones."""
    phones = [("phone-poll", phone_rounds(queue_phones), queue_phones, "queue")] if queue_phones else []
    return [("heartbeat", heartbeat, kiosks, "backend"), ("content", content_poll, kiosks, "backend"),
            ("submit", submit, kiosks, "backend"), ("lookup", lookup, kiosks, "backend"),
            ("city-report", branch_report, centres, "backend"),
            ("queue-sync", queue_sync, queue_kiosks, "queue"), ("counter-view", counter_view, counters, "queue"),
            ("ticket", ticket, queue_kiosks, "queue"), ("call-next", call, counters, "queue"), *phones]


# -- the schedule -----------------------------------------------------------------------------------------------------
Action = Callable[[City, Recorder, object, float], Awaitable[object]]


def schedule(city: City, rates: Rates, seconds: float, seed: int) -> list[tuple[float, Action, object]]:
    """Every request of the run as (seconds from the start, what, who), in time order."""
    rng = random.Random(seed)
    events: list[tuple[float, Action, object]] = []

    def periodic(action: Action, actors: list, interval: float, jitter: float) -> None:
        for actor in actors:
            at = rng.uniform(0, interval)
            while at < seconds:
                events.append((at, action, actor))
                at += interval * (1 + jitter * (2 * rng.random() - 1))

    def poisson(action: Action, pick: Callable[[], object], rate: float) -> None:
        at = rng.expovariate(rate) if rate > 0 else seconds
        while at < seconds:
            events.append((at, action, pick()))
            at += rng.expovariate(rate)

    s = rates.speed
    periodic(heartbeat, city.kiosks, HEARTBEAT_S / s, 0.1)
    periodic(content_poll, city.kiosks, CONTENT_POLL_S / s, 0.2)
    periodic(queue_sync, city.kiosks, QUEUE_SYNC_S / s, 0.0)
    periodic(counter_view, city.counters, COUNTER_REFRESH_S / s, 0.0)
    poisson(submit, lambda: rng.choice(city.kiosks), rates.dossiers)
    poisson(lookup, lambda: rng.choice(city.kiosks), rates.dossiers * rates.lookups_per_dossier)
    poisson(ticket, lambda: rng.choice(city.kiosks), rates.dossiers)
    poisson(call, lambda: rng.choice(city.counters), rates.dossiers)
    periodic(branch_report, city.centres, rates.report_every_s, 0.0)
    periodic(phone_poll, city.phones, POLL_S / s, 0.0)
    events.sort(key=lambda event: event[0])
    return events


async def play(city: City, rec: Recorder, events: list[tuple[float, Action, object]]) -> dict[str, float]:
    """Send every event at its time (open loop); {"wall_s", "late_ms_max", "unfinished"}."""
    tasks: set[asyncio.Task] = set()
    late = 0.0
    began = time.perf_counter()
    for at, action, actor in events:
        delay = began + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        late = max(late, -delay)
        task = asyncio.create_task(action(city, rec, actor, at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    unfinished = 0
    if tasks:
        _done, pending = await asyncio.wait(set(tasks), timeout=DRAIN_S)
        for task in pending:
            task.cancel()
        unfinished = len(pending)
    return {"wall_s": time.perf_counter() - began, "late_ms_max": late * 1000, "unfinished": unfinished}
