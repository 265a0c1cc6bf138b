"""``telex TEXT``: print the Vietnamese the on-screen keyboard's Telex engine produces for a keystroke string."""

from __future__ import annotations

import argparse

from kiosk.telex import telex_to_text


def run_telex(args: argparse.Namespace) -> int:
    print(telex_to_text(" ".join(args.words)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    # the words after the command reach the handler verbatim as args.words (see kiosk.cli.VERBATIM_COMMANDS)
    parser = subparsers.add_parser("telex", help="convert Telex keystrokes to Vietnamese (spaces separate words)")
    parser.add_argument("text", metavar="TEXT", nargs="*")
    parser.set_defaults(handler=run_telex)
