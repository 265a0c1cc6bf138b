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
