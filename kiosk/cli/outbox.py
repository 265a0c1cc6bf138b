"""``outbox list | send | retry | purge``: what the kiosk still owes the backend, for technicians.

Listing shows references, states, attempts and errors only, never the form (it holds personal data).
"""

from __future__ import annotations

import argparse
import json

from kiosk.backend_client import BackendUnavailable
from kiosk.cli import config_from_args
from kiosk.cli.embedded import open_backend
from kiosk.outbox import Outbox, open_outbox

EXIT_PENDING = 1


def _outbox(args: argparse.Namespace) -> Outbox:
    return open_outbox(config_from_args(args))


def run_list(args: argparse.Namespace) -> int:
    outbox = _outbox(args)
    items = outbox.items(args.state)
    outbox.close()
    if args.json:
        print(json.dumps(items, ensure_ascii=False))
        return 0
    for item in items:
        print(f"{item['local_ref']:<24} {item['state']:<9} attempts={item['attempts']:<3} "
              f"{item['code'] or '-':<28} {item['error'] or ''}".rstrip())
    counts = {state: sum(item["state"] == state for item in items) for state in ("pending", "dead", "delivered")}
    print(", ".join(f"{n} {state}" for state, n in counts.items()))
    return 0


def run_send(args: argparse.Namespace) -> int:
    """Deliver now; exit 1 while anything is still pending (backend away), so scripts can retry."""
    config = config_from_args(args)
    outbox = open_outbox(config)
    client, close = open_backend(config)
    try:
        sent = outbox.deliver_once(client)
    except BackendUnavailable:
        sent = 0
    finally:
        close()
    pending = len(outbox.items("pending"))
    outbox.close()
    print(f"delivered {sent}, still pending {pending}")
    return EXIT_PENDING if pending else 0


def run_retry(args: argparse.Namespace) -> int:
    outbox = _outbox(args)
    print(f"{outbox.retry_dead()} dead item(s) queued again")
    outbox.close()
    return 0


def run_purge(args: argparse.Namespace) -> int:
    outbox = _outbox(args)
    print(f"purged {outbox.purge_delivered(args.older_than_days)} delivered item(s)")
    outbox.close()
    return 0
