"""Command line: ``python main.py`` runs the kiosk, ``python main.py <command>`` runs a tool.

Each area contributes a module in this package with ``register(subparsers)``; handlers are
``run_x(args) -> int`` and get the effective configuration from :func:`config_from_args`. ``--config PATH`` and
``--set KEY=VALUE`` are accepted before or after the command name. A configuration problem prints one line per
problem and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from config.loader import ConfigError, load_config
from config.schema import KioskConfig

EXIT_CONFIG = 2
COMMAND_MODULES = (
    "kiosk.cli.config_cmd",
    "kiosk.cli.content",
    "kiosk.cli.devices",
    "kiosk.cli.backend",
    "kiosk.cli.doctor",
    "kiosk.cli.outbox",
    "kiosk.cli.queue",
    "kiosk.cli.scan",
    "kiosk.cli.telex",
)


def _add_common(parser: argparse.ArgumentParser, *, root: bool) -> None:
    # Subparsers use SUPPRESS so a value given before the command is not reset by the subparser's default.
    default_set = [] if root else argparse.SUPPRESS
    parser.add_argument(
        "--config", type=Path, metavar="PATH", default=None if root else argparse.SUPPRESS,
        help="site config (TOML) merged over config/default.toml",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", metavar="KEY=VALUE", default=default_set,
        help="override one key for this run, e.g. --set printer.connection=file:out/ticket.bin (repeatable)",
    )


def _add_common_everywhere(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_common(sub, root=False)
                _add_common_everywhere(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Self-service kiosk for Vietnamese public-service centres. Without a command: run the kiosk.",
    )
    _add_common(parser, root=True)
    parser.add_argument("--windowed", action="store_true", help="run in a window instead of full screen")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    _add_common_everywhere(parser)
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
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
        return int(args.handler(args))
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
