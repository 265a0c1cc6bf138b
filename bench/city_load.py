"""A city's load on the real servers: 600 kiosks, 30 branch queues, a peak hour of dossiers and look-ups.

For each configuration (``--setups``: SQLite with one process, PostgreSQL with 1, 2 and 4 processes per server)
the bench starts ``backend serve`` and ``queue serve`` as the site would (secrets in the environment, fresh stores;
PostgreSQL on a durable throw-away cluster removed at the end), registers the kiosks through the admin API,
publishes a signed content bundle, logs the counters in, and then:

1. city: ``--seconds`` of the city's traffic, open loop at the rates of its peak hour (see ``bench/_city_traffic``
   for where each rate comes from; ``--speed`` multiplies them all): heartbeats, content polls, queue syncs,
   counter pages, dossier submissions, status look-ups, tickets, calls, every branch's report of its figures
   to the city view (``--report-compression``), and ``--phones`` citizens polling the place of a number they took
   from a phone (taken at set-up through the real one-time-code flow: the code read from the queue server's SMS
   simulator spool; the phone queue's limits per client address raised, as every phone here is 127.0.0.1). Per
   request kind: rate, p50/p99 and errors (any answer the scenario does not expect, or none); per server: CPU per
   request;
2. look-up saturation: ``GET /api/dossiers/{code}`` from 1, 2, 4 … keep-alive clients (closed loop,
   ``--step-seconds`` a step): the highest rate with p99 <= 50 ms;
3. ticket saturation: ``POST /api/tickets`` the same way, then the queue's database is audited: no number given
   twice in a service's day, no gap in a sequence, as many tickets as kiosks were answered;
4. cost: each request kind alone from 2 clients (``--cost-seconds``), for its own server and database CPU per
   request (the city mixes kinds, so there CPU is only per server).

After each phase the bench waits (up to 2 minutes) for the servers and the database to be idle: requests the
clients gave up on still run there, and the next phase must measure the servers, not that backlog.

The 30 branch queues: a real city runs a queue server per centre, but 30 servers (150 processes with 4 workers
each, each with its own PostgreSQL connection pool) on 2 cores would measure the scheduler and the connection limit,
not the queue. One deployment holding all 30 branches as 30 services would be as wrong the other way: every
kiosk's 5-second sync (``GET /api/services``) would answer for 30 services instead of its own centre's few (3 ms of
server CPU against 1.3 ms for 6, measured here), and the syncs alone would cost more than everything else. So the
branches are spread over ``--queue-servers`` deployments (5: 6 branches each, one service per branch — a sync
answers 6 services, as a centre's own server with ~6 services would), each its own ``queue serve`` with N
processes on its own database (separate SQLite files, or separate databases on the one PostgreSQL cluster).
Numbers are drawn under each service's own lock, so branches contend as separate centres would. The ticket
saturation phase drives the first deployment alone: "tickets/s across 2 queue processes" is one deployment's.

The backend's look-up limits are raised for the bench (the limiter still runs on every look-up): the saturation
phase sends thousands a second from 127.0.0.1, and in the city run each kiosk makes ~5 a minute, under the
default 30. The load generator is one asyncio process with a lean HTTP/1.1 client (``bench/_http``); its own CPU
per request is reported beside the servers'. CPU is read from /proc (the server's whole process tree, and the
PostgreSQL cluster's), so a figure is what that part costs, whatever the noisy shared machine does to rates.
Usage: ``python bench/city_load.py [--seconds 60] [--setups sqlite,pg1,pg2,pg4] [--phones 2000] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _city_report as report  # noqa: E402
from bench import _city_servers as servers  # noqa: E402
from bench import _city_traffic as traffic  # noqa: E402
from bench import _phones as phones  # noqa: E402
from bench._city_saturation import ramp  # noqa: E402
from bench._http import Pool  # noqa: E402
from contracts.sms import SIM_DIR_NAME  # noqa: E402

HOST = "127.0.0.1"
SETTLE_S, SETTLE_POLL_S, IDLE_SHARE = 120.0, 0.5, 0.1  # idle: servers and database use < 10 % of a core
COST_CLIENTS = 2
COST_MAX = 2000  # requests of a kind in the cost phase at most (submissions use up the day's dossier codes)
COST_POLLS_PER_PHONE = 10  # a number is read 30 times a minute at most (the server's limit per token)
MAX_DAILY_DOSSIERS = 9999  # one agency's codes a day (backend.store): a longer run would be refused numbers


class SetupFailed(RuntimeError):
    pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the city phase (default 60)")
    parser.add_argument("--speed", type=float, default=1.0, help="multiply every rate of the city (default 1)")
    parser.add_argument("--setups", default="sqlite,pg1,pg2,pg4",
                        help="configurations: sqlite and/or pgN (default sqlite,pg1,pg2,pg4)")
    parser.add_argument("--kiosks", type=int, default=600)
    parser.add_argument("--branches", type=int, default=30)
    parser.add_argument("--counters-per-branch", type=int, default=4)
    parser.add_argument("--queue-servers", type=int, default=5, help="queue deployments the branches are spread "
                                                                      "over (default 5)")
    parser.add_argument("--levels", default="1,2,4,8,16,32,64", help="clients per saturation step")
    parser.add_argument("--step-seconds", type=float, default=3.0,
                        help="length of a saturation step; 0 skips the saturation phases (default 3)")
    parser.add_argument("--cost-seconds", type=float, default=2.0,
                        help="each request kind alone from 2 clients, for its CPU per request; 0 skips (default 2)")
    parser.add_argument("--max-per-step", type=int, default=50_000, help="requests per saturation step at most")
    parser.add_argument("--report-compression", type=float, default=30.0,
                        help="each branch's 30-s report to the city view sent this many times as often (default 30)")
    parser.add_argument("--phones", type=int, default=2000,
                        help="citizens following a number from a phone, spread over the branches (default 2000)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON to FILE")
    args = parser.parse_args(argv)
    try:
        args.setups = [servers.Setup.parse(word.strip()) for word in args.setups.split(",") if word.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    args.levels = [int(n) for n in args.levels.split(",")]
    if not 1 <= args.branches <= 99 or args.kiosks < args.branches or args.counters_per_branch < 1:
        parser.error("give 1-99 branches, at least a kiosk and a counter per branch")
    if not 0 < args.report_compression <= 3000:
        parser.error("--report-compression: above 0 and at most 3000 (a report every 10 ms per centre)")
    if not 1 <= args.queue_servers <= args.branches:
        parser.error("give 1 to --branches queue servers")
    if args.phones < 0 or max(phones_per_deployment(args)) > phones.MAX_PER_DEPLOYMENT:
        parser.error(f"--phones: 0 or more, at most {phones.MAX_PER_DEPLOYMENT:,} a queue deployment (one "
                     "address's one-time codes an hour)")
    if args.branches * args.counters_per_branch > 999:
        parser.error("counter numbers go up to 999: fewer branches or counters per branch")
    if traffic.DOSSIERS_PER_S * args.speed * args.seconds * 1.2 > MAX_DAILY_DOSSIERS:
        parser.error(f"--seconds × --speed would file more than the backend's {MAX_DAILY_DOSSIERS:,} dossier codes "
                     "of a day")
    return args


def deployment_of(branch: int, args: argparse.Namespace) -> int:
    """The queue deployment that holds ``branch``: the branches in order, evenly."""
    return branch * args.queue_servers // args.branches


def phones_per_deployment(args: argparse.Namespace) -> list[int]:
    """Phone n follows a number of branch n mod --branches."""
    counts = [0] * args.queue_servers
    for branch in range(args.branches):
        counts[deployment_of(branch, args)] += len(range(branch, args.phones, args.branches))
    return counts


# -- a configuration's servers and city -----------------------------------------------------------------------------
def content_bundle(tmp: Path) -> tuple[bytes, str]:
    """(a signed bundle with one announcement, the public key the backend must trust) — made for this run."""
    from nacl.signing import SigningKey

    from config.loader import load_config
    from contracts.content.bundle import build_bundle
    from contracts.content.models import Target
    from contracts.content.signing import encode_public_key

    key = SigningKey.generate()
    source = tmp / "content"
    source.mkdir()
    (source / "announcements.json").write_text(json.dumps(
        {"announcements": [{"text": "Trung tâm phục vụ hành chính công mở cửa thứ Bảy."}]}, ensure_ascii=False),
        encoding="utf-8")
    out = tmp / "bundle.zip"
    build_bundle(source, key, version=1, target=Target.parse("all"), out=out,
                 config=load_config(None, [f"data_dir={tmp / 'builder'}"]))
    return out.read_bytes(), encode_public_key(key.verify_key)


@dataclass
class Site:
    """One configuration's running servers and what they were given: fresh stores, secrets, counters, content."""

    stores: servers.Stores
    admin_token: str
    report_token: str  # the branches' reports to the city view
    queue_tokens: list[str]  # "<kiosk id>:<secret>" of each kiosk
    deployment: list[int]  # the queue deployment of each branch
    counters: list[list[int]]  # the counter numbers of each branch
    bundle: bytes
    backend: servers.Served
    queues: list[servers.Served]
    spools: list[Path]  # each queue deployment's SMS simulator directory (DATA_DIR/sms-sim), where codes arrive

    @classmethod
    def start(cls, setup: servers.Setup, args: argparse.Namespace, stores: servers.Stores, tmp: Path) -> Site:
        """:raises servers.ServerDidNotStart: with the server's last words."""
        bundle, trusted_key = content_bundle(tmp)
        admin_token, report_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        queue_tokens = [f"K{i + 1:03d}:{secrets.token_urlsafe(18)}" for i in range(args.kiosks)]
        workers = ["--workers", str(setup.workers)] if setup.workers > 1 else []
        deployment = [deployment_of(b, args) for b in range(args.branches)]
        started: list[servers.Served] = []
        try:
            started.append(servers.Served(
                ["backend", "serve", "--db", stores.backend, *workers, "--lookup-rate-per-token", "1000000",
                 "--lookup-rate-per-address", "1000000"],
                servers.clean_env(BACKEND_ADMIN_TOKEN=admin_token, BACKEND_REPORT_TOKEN=report_token,
                                  BACKEND_CONTENT_TRUSTED_KEYS=trusted_key),
                tmp / "backend.log"))
            counters = []
            for d, target in enumerate(stores.queues):
                config, data = tmp / f"queue-{d}.toml", tmp / f"queue-{d}"
                data.mkdir()
                branches = [b for b in range(args.branches) if deployment[b] == d]
                counters += servers.queue_config(config, data, branches, args.counters_per_branch)
                started.append(servers.Served(
                    ["--config", str(config), "queue", "serve", "--db", target, *workers],
                    servers.clean_env(QUEUE_KIOSK_TOKEN=",".join(queue_tokens)), tmp / f"queue-{d}.log"))
        except BaseException:
            for server in started:
                server.stop()
            raise
        return cls(stores, admin_token, report_token, queue_tokens, deployment, counters, bundle, started[0],
                   started[1:], [tmp / f"queue-{d}" / SIM_DIR_NAME for d in range(len(stores.queues))])

    def queue_port(self, branch: int) -> int:
        return self.queues[self.deployment[branch]].port

    def stop(self) -> None:
        for server in (self.backend, *self.queues):
            server.stop()


async def build_city(args: argparse.Namespace, site: Site) -> traffic.City:
    """Register every kiosk with the backend (its own token), publish the bundle, log every counter in."""
    admin = Pool(HOST, site.backend.port, {"Authorization": f"Bearer {site.admin_token}"})
    limit = asyncio.Semaphore(16)

    async def checked(pool: Pool, expected: int, method: str, path: str, **kw: Any) -> Any:
        async with limit:
            answer = await pool.request(method, path, **kw)
        if answer.status != expected:
            raise SetupFailed(f"{method} {path}: {answer.status} {answer.body[:200].decode(errors='replace')}")
        return answer.json()

    kiosk_ids = [token.split(":")[0] for token in site.queue_tokens]
    tokens = await asyncio.gather(*(checked(admin, 201, "POST", "/api/admin/kiosks", json={"kiosk_id": kiosk_id})
                                    for kiosk_id in kiosk_ids))
    await checked(admin, 201, "POST", "/api/content/bundles", body=site.bundle, content_type="application/zip")
    admin.close()
    kiosks = [traffic.Kiosk(kiosk_id, i % args.branches,
                            Pool(HOST, site.backend.port, {"Authorization": f"Bearer {t['token']}"}),
                            Pool(HOST, site.queue_port(i % args.branches), {"Authorization": f"Bearer {queue_token}"}))
              for i, (kiosk_id, t, queue_token) in enumerate(zip(kiosk_ids, tokens, site.queue_tokens, strict=True))]
    pcs = [traffic.CounterPc(number, branch, Pool(HOST, site.queue_port(branch)))
           for branch, numbers in enumerate(site.counters) for number in numbers]
    logins = await asyncio.gather(*(checked(pc.pool, 200, "POST", f"/api/counters/{pc.number}/login",
                                            json={"password": servers.COUNTER_PASSWORD}) for pc in pcs))
    for pc, login in zip(pcs, logins, strict=True):
        pc.pool.headers["Authorization"] = f"Bearer {login['token']}"
    centres = [traffic.Centre(f"HN-B{b + 1:02d}", Pool(HOST, site.backend.port,
                                                        {"Authorization": f"Bearer {site.report_token}"}))
               for b in range(args.branches)]
    return traffic.City(kiosks, pcs, [servers.branch_code(b) for b in range(args.branches)], centres)


async def take_phone_numbers(args: argparse.Namespace, site: Site, city: traffic.City) -> float:
    """``--phones`` numbers taken from phones (phone n at branch n mod --branches), each deployment's through its
    own one-time codes; the city gets its phones, and their numbers join those to audit. Returns the seconds taken.

    :raises SetupFailed: a step of the flow answered otherwise.
    """
    began = time.monotonic()
    wanted: list[list[tuple[int, int]]] = [[] for _ in site.queues]  # (phone n, branch) per deployment
    for n in range(args.phones):
        wanted[site.deployment[n % args.branches]].append((n, n % args.branches))
    pools = [Pool(HOST, queue.port) for queue in site.queues]
    try:
        async with asyncio.TaskGroup() as group:  # one deployment failing stops the others' set-up
            tasks = [group.create_task(phones.take_numbers(pool, spool, [
                (phones.phone_number(n), servers.branch_code(branch)) for n, branch in mine]))
                for pool, spool, mine in zip(pools, site.spools, wanted, strict=True)]
    except* phones.PhoneSetupFailed as failed:
        raise SetupFailed(f"numbers from phones: {failed.exceptions[0]}") from None
    finally:
        for pool in pools:
            pool.close()
    for mine, answers in zip(wanted, (task.result() for task in tasks), strict=True):
        for (_n, branch), (token, number) in zip(mine, answers, strict=True):
            city.phones.append(traffic.Phone(token, branch, Pool(HOST, site.queue_port(branch))))
            city.numbers.append((servers.branch_code(branch), number))
    return round(time.monotonic() - began, 1)


class Meter:
    """CPU seconds of the backend's and the queue's process trees, the database's and this client process."""

    def __init__(self, site: Site) -> None:
        self._roots = {"backend": [site.backend.proc.pid], "queue": [q.proc.pid for q in site.queues],
                       "database": site.stores.database_pids()}
        self._first_queue = [site.queues[0].proc.pid]

    def read(self) -> dict[str, float]:
        cpu = {name: servers.tree_cpu(pids) for name, pids in self._roots.items()}
        return {**cpu, "client": time.process_time()}

    def since(self, before: dict[str, float]) -> dict[str, float]:
        now = self.read()
        return {name: now[name] - before[name] for name in now}

    async def settle(self, timeout_s: float = SETTLE_S) -> float:
        """Wait until the servers and the database are idle — requests the clients gave up on may still be running
        there — so that the next phase measures the servers, not a backlog; returns the seconds waited."""
        began = time.monotonic()
        before = self.read()
        while time.monotonic() - began < timeout_s:
            await asyncio.sleep(SETTLE_POLL_S)
            now = self.read()
            if sum(now[k] - before[k] for k in ("backend", "queue", "database")) < IDLE_SHARE * SETTLE_POLL_S:
                break
            before = now
        return round(time.monotonic() - began, 1)

    def processes(self) -> dict[str, int]:
        """Processes answering requests: the backend's and one queue deployment's."""
        return {"backend": servers.serving_processes(self._roots["backend"][0]),
                "queue": servers.serving_processes(self._first_queue[0])}


async def measure(args: argparse.Namespace, site: Site) -> dict[str, Any]:
    """The city phase, then both saturation phases; the numbers kiosks and phones were given, for the audit."""
    city = await build_city(args, site)
    try:
        taken_s = await take_phone_numbers(args, site, city)
        result = await _phases(args, site, city, Meter(site))
        result["phones"] = {"phones": len(city.phones), "numbers_taken_s": taken_s}
    finally:
        city.close()
    result["answered"] = {"answered": len(city.numbers),
                          "answered_duplicates": len(city.numbers) - len(set(city.numbers))}
    return result


async def _phases(args: argparse.Namespace, site: Site, city: traffic.City, meter: Meter) -> dict[str, Any]:
    result: dict[str, Any] = {"processes": meter.processes()}
    rec = traffic.Recorder()
    rates = traffic.Rates(len(city.kiosks), len(city.counters), speed=args.speed, centres=len(city.centres),
                          report_compression=args.report_compression, phones=len(city.phones))
    events = traffic.schedule(city, rates, args.seconds, args.seed)
    before = meter.read()
    played = await traffic.play(city, rec, events)
    result["city"] = report.city_summary(rec, played, meter.since(before))
    result["settled_s"] = [await meter.settle()]

    def clients(action: traffic.Action, actors: list) -> Any:
        """``ramp``'s client maker: client n is actor n (round the list) on connections of its own."""
        def make(n: int, rec: traffic.Recorder) -> tuple[Any, Any]:
            mine = traffic.fresh(actors[n % len(actors)])
            return (lambda i: action(city, rec, mine, float(i))), lambda: traffic.close(mine)
        return make

    first_kiosks = [kiosk for kiosk in city.kiosks if site.deployment[kiosk.branch] == 0]
    if args.step_seconds > 0:
        for phase, kind, make, server, bound in (
                ("lookups", "lookup", clients(traffic.lookup, city.kiosks), "backend", report.LOOKUP_P99_MS),
                ("tickets", "ticket", clients(traffic.ticket, first_kiosks), "queue", None)):
            before = meter.read()
            steps = await ramp(kind, make, args.levels, args.step_seconds, args.max_per_step)
            result[phase] = report.ramp_summary(steps, meter.since(before), server, bound)
            result["settled_s"].append(await meter.settle())
    if args.cost_seconds > 0:  # after the ticket ramp: the first deployment's counters have lines to call
        first_counters = [pc for pc in city.counters if site.deployment[pc.branch] == 0]
        first_phones = [phone for phone in city.phones if site.deployment[phone.branch] == 0]
        costs = {}
        for kind, action, actors, server in traffic.costed(city.kiosks, first_kiosks, first_counters, city.centres,
                                                           first_phones):
            most = min(COST_MAX, COST_POLLS_PER_PHONE * len(first_phones)) if kind == "phone-poll" else COST_MAX
            before = meter.read()
            steps = await ramp(kind, clients(action, actors), [COST_CLIENTS], args.cost_seconds, most)
            costs[kind] = report.ramp_summary(steps, meter.since(before), server, None)
        result["cost"] = report.cost_summary(costs)
    return result


def run_setup(setup: servers.Setup, args: argparse.Namespace, cluster: Any, no_cluster: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"setup": setup.label, "engine": setup.engine, "workers": setup.workers,
                              "load_before": round(os.getloadavg()[0], 1)}
    if setup.engine == "postgresql" and cluster is None:
        return {**result, "unavailable": no_cluster}
    with tempfile.TemporaryDirectory(prefix="city-load-") as name:
        stores = servers.Stores(setup, Path(name), cluster if setup.engine == "postgresql" else None,
                                args.queue_servers)
        try:
            site = Site.start(setup, args, stores, Path(name))
        except servers.ServerDidNotStart as exc:
            return {**result, "unavailable": str(exc)}
        try:
            result.update(asyncio.run(measure(args, site)))
        except SetupFailed as exc:
            return {**result, "unavailable": f"setting the city up failed: {exc}"}
        finally:
            site.stop()
        result["server_logs"] = {"backend": site.backend.log_tail(), "queue": site.queues[0].log_tail()}
        result["ticket_audit"] = {**servers.ticket_audit(stores.queues), **result.pop("answered")}
    result["load_after"] = round(os.getloadavg()[0], 1)
    return result



def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rates = traffic.Rates(args.kiosks, args.branches * args.counters_per_branch, speed=args.speed,
                          centres=args.branches, report_compression=args.report_compression, phones=args.phones)
    head = {"machine": f"{platform.node()}: {multiprocessing.cpu_count()} CPU, Python {platform.python_version()}",
            "seconds": args.seconds, "speed": args.speed, "kiosks": args.kiosks, "phones": args.phones,
            "branches": args.branches, "counters": args.branches * args.counters_per_branch,
            "queue_servers": args.queue_servers,
            "rates_per_s": {kind: round(rate, 2) for kind, rate in rates.as_dict().items()},
            "dossier_rate": "531,269 dossiers a quarter / 65 working days = 8,173 a day; x10 in one peak hour = "
                            f"{traffic.DOSSIERS_PER_S:.1f}/s (x{args.speed:g} speed)"}
    head["topology"] = (f"{args.branches} branch queues (a service each, {args.counters_per_branch} counters) on "
                        f"{args.queue_servers} queue deployments: one server per centre would be {args.branches} "
                        "servers x N processes with their own connection pools on 2 cores, one deployment for all "
                        "would make each kiosk sync answer for every branch; a deployment per few branches answers "
                        "a sync with about a centre's services, and each service draws numbers under its own lock")
    print(head["machine"])
    print(f"city: {args.kiosks} kiosks, {args.phones} phones following a number; {head['topology']}")
    print(f"dossiers: {head['dossier_rate']}; 2 look-ups, one ticket and one call per dossier")
    print("rates/s: " + ", ".join(f"{k} {v:g}" for k, v in head["rates_per_s"].items()), flush=True)
    cluster, no_cluster = None, None
    if any(s.engine == "postgresql" for s in args.setups):
        cluster, no_cluster = _start_cluster()
    results = []
    try:
        for setup in args.setups:
            results.append(run_setup(setup, args, cluster, no_cluster))
            report.print_setup(results[-1])
            sys.stdout.flush()
    finally:
        if cluster is not None:
            cluster.stop()
    out = {**head, "setups": results, "scaling": report.scaling(results), "goals": report.goals(results)}
    report.print_summary(out)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def _start_cluster() -> tuple[Any, str | None]:
    """A durable throw-away PostgreSQL cluster, or why there is none."""
    from tests.pgcluster import NoPostgres, start_cluster

    try:
        return start_cluster(durable=True), None
    except NoPostgres as exc:
        return None, str(exc)
    except (OSError, subprocess.SubprocessError) as exc:  # initdb or pg_ctl failed: PostgreSQL is left out
        return None, f"no PostgreSQL cluster: {type(exc).__name__}: {exc}"[:300]


if __name__ == "__main__":
    sys.exit(main())
