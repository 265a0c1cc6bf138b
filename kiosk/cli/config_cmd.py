"""``config check|show|pin-hash``: validate a file, print the effective config, hash a technician PIN."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from config.loader import load_config
from contracts.pin import hash_pin
from kiosk.cli import config_from_args
from kiosk.config_view import masked_config


def run_check(args: argparse.Namespace) -> int:
    load_config(args.path, args.overrides)  # ConfigError → one line per problem, exit 2 (see kiosk.cli.main)
    print("OK")
    return 0


def run_show(args: argparse.Namespace) -> int:
    print(json.dumps(masked_config(config_from_args(args)), ensure_ascii=False, indent=2))
    return 0


def run_pin_hash(args: argparse.Namespace) -> int:
    pin = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass("New technician PIN: ")
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("The PIN must be 4 to 12 digits.", file=sys.stderr)
        return 2
    print(hash_pin(pin))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    config = subparsers.add_parser("config", help="check and show configuration")
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a config file: prints OK or one line per problem (exit 2)")
    check.add_argument("path", type=Path, metavar="PATH")
    check.set_defaults(handler=run_check)
    actions.add_parser("show", help="print the effective config with secrets masked").set_defaults(handler=run_show)
    actions.add_parser("pin-hash", help="read a PIN (stdin or prompt) and print its salted hash").set_defaults(
        handler=run_pin_hash
    )
