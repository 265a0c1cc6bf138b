"""``config check|show|pin-hash``: validate a file, print the effective config, hash a technician PIN."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from config.loader import load_config
from contracts.pin import hash_pin
from kiosk.cli import config_from_args
from kiosk.config_view import masked_config
from queueing.passwords import counter_password_problem


def run_check(args: argparse.Namespace) -> int:
    load_config(args.path, args.overrides)  # ConfigError → one line per problem, exit 2 (see kiosk.cli.main)
    print("OK")
    return 0


def run_show(args: argparse.Namespace) -> int:
    print(json.dumps(masked_config(config_from_args(args)), ensure_ascii=False, indent=2))
    return 0


def run_pin_hash(args: argparse.Namespace) -> int:
    what = "counter password" if args.counter else "technician PIN"
    pin = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass(f"New {what}: ")
    if args.counter:
        problem = counter_password_problem(pin)
        if problem:
            print(f"{problem[0].upper()}{problem[1:]}.", file=sys.stderr)
            return 2
    elif not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("The PIN must be 4 to 12 digits.", file=sys.stderr)
        return 2
    print(hash_pin(pin))
    return 0
