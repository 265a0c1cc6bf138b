"""Command line: ``python main.py`` runs the kiosk, ``python main.py <command>`` runs a tool.

:mod:`kiosk.cli.parser` declares every command; a command's handler (``run_x(args) -> int`` in a module of this
package) is imported only when that command runs, so ``queue serve`` or ``backend serve`` loads its server and
nothing of the kiosk (a test checks the running processes). Handlers get the effective configuration from
:func:`config_from_args`. ``--config PATH`` and ``--set KEY=VALUE`` are accepted before or after the command name.
A configuration problem prints one line per problem and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from config.loader import ConfigError, load_config
from config.schema import KioskConfig
from contracts.storage import private_files
from kiosk.cli.parser import build_parser

EXIT_CONFIG = 2


def config_from_args(args: argparse.Namespace) -> KioskConfig:
    """The effective config for this run (raises :class:`ConfigError`, which :func:`main` reports)."""
    return load_config(args.config, args.overrides)


# Commands whose arguments are data, passed on verbatim: a scanned payload or Telex keystrokes may start with "-".
VERBATIM_COMMANDS = ("scan-parse", "telex")
_GLOBAL_WITH_VALUE = ("--config", "--set")


def _split_verbatim(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """``(options and command, verbatim words)``, or ``(argv, None)`` when the command is not verbatim."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word in _GLOBAL_WITH_VALUE:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            if word in VERBATIM_COMMANDS:
                rest = argv[index + 1:]
                return argv[: index + 1], rest[1:] if rest[:1] == ["--"] else rest
            break
    return argv, None


def run_handler(args: argparse.Namespace) -> int:
    """Import the chosen command's module (named ``"module:function"`` by the parser) and run its handler."""
    module, _, function = args.handler.partition(":")
    return int(getattr(importlib.import_module(module), function)(args))


def main(argv: Sequence[str] | None = None) -> int:
    private_files()  # every file a kiosk, backend or queue server process creates: 0600, folders 0700
    parser = build_parser()
    head, verbatim = _split_verbatim(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(head)
    if verbatim is not None:
        args.words = verbatim
    try:
        if args.command is None:
            from kiosk.cli.embedded import open_backend
            from screens.runner import run_kiosk

            return run_kiosk(config_from_args(args), backend=open_backend, windowed=args.windowed,
                             site_config=args.config)
        return run_handler(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
