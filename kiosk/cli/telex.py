"""``telex TEXT``: print the Vietnamese the on-screen keyboard's Telex engine produces for a keystroke string."""

from __future__ import annotations

import argparse

from kiosk.telex import telex_to_text


def run_telex(args: argparse.Namespace) -> int:
    print(telex_to_text(" ".join(args.words)))
    return 0
