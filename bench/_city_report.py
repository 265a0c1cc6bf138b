"""The city bench's figures: summaries of each phase as plain data (``--json``) and the printed tables."""

from __future__ import annotations

from typing import Any

from bench._city_saturation import Step, best, percentile
from bench._city_traffic import Recorder

BACKEND_KINDS = ("heartbeat", "content", "submit", "lookup", "city-report")
QUEUE_KINDS = ("queue-sync", "counter-view", "ticket", "call-next", "finish", "phone-poll")
LOOKUP_P99_MS = 50.0
GOALS = {"lookups_per_s": 2000, "tickets_per_s": 1000}
GOAL_SETUP = "PostgreSQL, 2 processes"


def city_summary(rec: Recorder, played: dict[str, float], cpu: dict[str, float]) -> dict[str, Any]:
    """Per request kind: count, rate, p50/p99, errors; CPU per request of each server, the database, the client."""
    wall = played["wall_s"]
    kinds = {}
    for kind in (*BACKEND_KINDS, *QUEUE_KINDS):
        stats = rec.kinds.get(kind)
        if stats is None:
            continue
        kinds[kind] = {"requests": stats.count, "per_s": round(stats.count / wall, 2),
                       "p50_ms": round(percentile(stats.latencies, 0.5) * 1000, 2),
                       "p99_ms": round(percentile(stats.latencies, 0.99) * 1000, 2),
                       "errors": sum(stats.errors.values()),
                       "statuses": {str(status): n for status, n in sorted(stats.statuses.items(), key=str)}}
    backend = sum(kinds[k]["requests"] for k in BACKEND_KINDS if k in kinds)
    queue = sum(kinds[k]["requests"] for k in QUEUE_KINDS if k in kinds)
    samples = rec.samples()
    return {"wall_s": round(wall, 2), "requests": backend + queue, "errors": rec.errors() + int(played["unfinished"]),
            "unfinished": int(played["unfinished"]), "late_ms_max": round(played["late_ms_max"], 1),
            "error_samples": samples[:8], "kinds": kinds,
            "cpu_ms_per_request": _per_request(cpu, backend, queue, backend + queue)}


def _per_request(cpu: dict[str, float], backend: int, queue: int, total: int) -> dict[str, float | None]:
    def ms(seconds: float, n: int) -> float | None:
        return round(seconds * 1000 / n, 3) if n else None
    return {"backend": ms(cpu["backend"], backend), "queue": ms(cpu["queue"], queue),
            "database": ms(cpu["database"], total), "client": ms(cpu["client"], total)}


def ramp_summary(steps: list[Step], cpu: dict[str, float], server: str, p99_ms: float | None) -> dict[str, Any]:
    """The steps, the best one (within ``p99_ms``), and CPU per request over all the steps."""
    total = sum(s.requests for s in steps)
    top = best(steps, p99_ms)
    return {"steps": [s.as_dict() for s in steps], "p99_bound_ms": p99_ms,
            "best": top.as_dict() if top else None, "errors": sum(s.errors for s in steps),
            "cpu_ms_per_request": _per_request(cpu, total if server == "backend" else 0,
                                               total if server == "queue" else 0, total)}


def cost_summary(costs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind measured alone: rate, p50/p99 and the CPU per request of its server and of the database."""
    out = {}
    for kind, ramp in costs.items():
        step = ramp["steps"][0]
        cpu = ramp["cpu_ms_per_request"]
        out[kind] = {**step, "server_cpu_ms": cpu["backend"] if cpu["backend"] is not None else cpu["queue"],
                     "database_cpu_ms": cpu["database"], "client_cpu_ms": cpu["client"]}
    return out


def scaling(results: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each configuration's best look-ups/s and tickets/s as a multiple of PostgreSQL with 1 process."""
    def rate(result: dict[str, Any], phase: str) -> float | None:
        top = result.get(phase, {}).get("best")
        return top["per_s"] if top else None

    base = next((r for r in results if r["engine"] == "postgresql" and r["workers"] == 1 and "unavailable" not in r),
                None)
    out = {}
    for result in results:
        if "unavailable" in result:
            continue
        out[result["setup"]] = {}
        for phase in ("lookups", "tickets"):
            mine, theirs = rate(result, phase), rate(base, phase) if base else None
            out[result["setup"]][phase] = round(mine / theirs, 2) if mine and theirs else None
    return out


def goals(results: list[dict[str, Any]]) -> dict[str, Any]:
    found = next((r for r in results if r["setup"] == GOAL_SETUP and "unavailable" not in r), None)
    city_errors = sum(r["city"]["errors"] for r in results if "city" in r)
    out: dict[str, Any] = {"city_errors": city_errors, "city_errors_met": city_errors == 0}
    if found is None:
        return {**out, "measured_on": None}
    lookups = (found.get("lookups", {}).get("best") or {}).get("per_s", 0)
    tickets = (found.get("tickets", {}).get("best") or {}).get("per_s", 0)
    audit = found.get("ticket_audit", {})
    clean = audit.get("duplicates", 1) == 0 and audit.get("answered_duplicates", 1) == 0
    return {**out, "measured_on": GOAL_SETUP, "lookups_per_s": lookups,
            "lookups_met": lookups >= GOALS["lookups_per_s"], "tickets_per_s": tickets,
            "tickets_met": tickets >= GOALS["tickets_per_s"] and clean}


# -- printing -----------------------------------------------------------------------------------------------------
def print_setup(result: dict[str, Any]) -> None:
    print(f"\n== {result['setup']} ==")
    if "unavailable" in result:
        print(f"not measured: {result['unavailable']}")
        return
    print(f"processes answering: backend {result['processes']['backend']}, each queue deployment "
          f"{result['processes']['queue']}; machine load (1-minute average) {result['load_before']} before, "
          f"{result['load_after']} after: other work on the machine slows every rate and latency here")
    city = result["city"]
    if city:
        print(f"city: {city['requests']:,} requests in {city['wall_s']:.1f} s, {city['errors']} errors"
              f"{' (' + str(city['unfinished']) + ' unfinished)' if city['unfinished'] else ''}; "
              f"generator at most {city['late_ms_max']:.0f} ms late")
        if result.get("phones", {}).get("phones"):
            print(f"  {result['phones']['phones']:,} numbers taken from phones at set-up (code by the SMS simulator) "
                  f"in {result['phones']['numbers_taken_s']:g} s")
        print(f"  {'kind':<13}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}  statuses")
        for kind, k in city["kinds"].items():
            statuses = ", ".join(f"{s}×{n}" for s, n in k["statuses"].items())
            print(f"  {kind:<13}{k['per_s']:>9.1f}{k['p50_ms']:>9.1f}{k['p99_ms']:>9.1f}{k['errors']:>8}  {statuses}")
        print(f"  CPU per request: {_cpu_text(city['cpu_ms_per_request'])}")
        for sample in city["error_samples"]:
            print(f"  error: {sample}")
    for phase, title in (("lookups", "status look-ups"), ("tickets", "tickets")):
        ramp = result.get(phase)
        if not ramp:
            continue
        steps = "; ".join(f"{s['clients']}: {s['per_s']:,.0f}/s p99 {s['p99_ms']:.0f} ms"
                          + (f" {s['errors']} err" if s["errors"] else "") for s in ramp["steps"])
        top = ramp["best"]
        bound = f" with p99 <= {ramp['p99_bound_ms']:.0f} ms" if ramp["p99_bound_ms"] else " without errors"
        print(f"{title} saturation (clients: rate): {steps}")
        print(f"  best{bound}: " + (f"{top['per_s']:,.0f}/s ({top['clients']} clients, p50 {top['p50_ms']:.1f} ms, "
                                    f"p99 {top['p99_ms']:.1f} ms)" if top else "none")
              + f"; CPU per request: {_cpu_text(ramp['cpu_ms_per_request'])}")
    cost = result.get("cost")
    if cost:
        print("CPU per request, each kind alone from 2 clients (a call is call-next + finish): " + "; ".join(
            f"{kind} {c['server_cpu_ms']:.2f}" + (f" + db {c['database_cpu_ms']:.2f}" if c["database_cpu_ms"] else "")
            + " ms" + (f" ({c['errors']} err)" if c["errors"] else "") for kind, c in cost.items()))
    for phase in ("lookups", "tickets"):
        _print_samples(step["error_samples"] for step in result.get(phase, {}).get("steps", []))
    _print_samples(c["error_samples"] for c in (cost or {}).values())
    print(f"waited for the servers to be idle after each phase: {', '.join(map(str, result['settled_s']))} s")
    if result["city"]["errors"]:
        for name, lines in result["server_logs"].items():
            print(f"  {name} log: " + " | ".join(lines))
    audit = result.get("ticket_audit")
    if audit:
        print(f"tickets in the database: {audit['tickets']:,} ({audit['answered']:,} answered to kiosks and phones), "
              f"{audit['duplicates']} duplicate numbers, {audit['gapped_services']} services with a gap; "
              f"{audit['answered_duplicates']} duplicates among the numbers kiosks and phones got")


def _print_samples(lists: Any) -> None:
    for sample in dict.fromkeys(sample for samples in lists for sample in samples):
        print(f"  error: {sample}")


def _cpu_text(cpu: dict[str, float | None]) -> str:
    return ", ".join(f"{name} {value:.2f} ms" for name, value in cpu.items() if value is not None)


def print_summary(report: dict[str, Any]) -> None:
    print("\n== scaling (best rate as a multiple of PostgreSQL with 1 process) ==")
    for setup, ratios in report["scaling"].items():
        print(f"  {setup:<26} look-ups ×{_ratio(ratios['lookups'])}  tickets ×{_ratio(ratios['tickets'])}")
    g = report["goals"]
    print(f"goals: city errors {g['city_errors']} ({'met' if g['city_errors_met'] else 'MISSED'})", end="")
    if g["measured_on"]:
        print(f"; on {g['measured_on']}: {g['lookups_per_s']:,.0f} look-ups/s with p99 <= {LOOKUP_P99_MS:.0f} ms "
              f"(goal {GOALS['lookups_per_s']:,}: {'met' if g['lookups_met'] else 'MISSED'}), "
              f"{g['tickets_per_s']:,.0f} tickets/s, no duplicates (goal {GOALS['tickets_per_s']:,}: "
              f"{'met' if g['tickets_met'] else 'MISSED'})")
    else:
        print(f"; {GOAL_SETUP} not measured")


def _ratio(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "–"
