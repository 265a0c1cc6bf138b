"""``doctor``: one PASS/FAIL line per installation check; exit 0 only when all pass."""

from __future__ import annotations

import argparse

from config.loader import ConfigError
from kiosk.cli import config_from_args
from kiosk.doctor import run_checks


def run_doctor(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"FAIL  config: {problem}")
        return 1
    print("PASS  config: valid")
    results = run_checks(config)
    for result in results:
        print(result.line())
    return 0 if all(result.ok for result in results) else 1
