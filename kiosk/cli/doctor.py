"""``doctor``: one PASS/FAIL line per installation check; exit 0 only when all pass.

Besides the kiosk's own checks it looks at what it can see of the secrets: the technician PIN, an admin token in
the environment, and the files given with ``--secret-file`` (signing key, token files, TLS key) plus a site config
that holds a token, none of which other users may read.
"""

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
    holds_token = bool(config.backend.token or config.queue.token)
    secret_files = [*args.secret_file, *([args.config] if args.config and holds_token else [])]
    results = run_checks(config, secret_files)
    for result in results:
        print(result.line())
    return 0 if all(result.ok for result in results) else 1
