"""``scan-parse PAYLOAD|-``: classify a scanned payload and print one JSON object; exit 0 for any input."""

from __future__ import annotations

import argparse
import json
import os
import sys

from devices.payloads import parse_payload
from devices.payloads.text import MAX_PAYLOAD


def run_scan_parse(args: argparse.Namespace) -> int:
    payload = " ".join(args.words)
    if payload == "-":
        raw = sys.stdin.buffer.read(MAX_PAYLOAD + 1)
    else:
        raw = os.fsencode(payload)  # the argument's original bytes, even when they are not UTF-8
    sys.stdout.write(json.dumps(parse_payload(raw), ensure_ascii=False) + "\n")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan-parse", help="classify a scanned payload (- reads raw bytes from stdin)")
    # the words after the command reach the handler verbatim as args.words (see kiosk.cli.VERBATIM_COMMANDS),
    # so a payload starting with "-" is data, not an option
    parser.add_argument("payload", metavar="PAYLOAD", nargs="?", help="the payload, or - for raw stdin bytes")
    parser.set_defaults(handler=run_scan_parse)
