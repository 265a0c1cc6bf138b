"""``python main.py --help``: every command listed, every action reachable with its own help and a handler that
imports, and every example the help texts give valid (the ``--set`` one printing a real ticket)."""

from __future__ import annotations

import argparse
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest

from config.loader import load_config
from kiosk.cli.parser import build_parser
from tests.support import ROOT

EXAMPLE = re.compile(r"e\.g\. (?:--set\s+)?([^\s,)]+)(?: or ([^\s,)]+))?")


def parsers(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree with the command words that reach it, the root first."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*words, name))


def leaves() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    return [(words, parser) for words, parser in parsers(build_parser())
            if words and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)]


def help_examples() -> set[tuple[str, str]]:
    """``(argument, example)`` for every "e.g." in a help text of any command."""
    found = set()
    for _words, parser in parsers(build_parser()):
        for action in parser._actions:
            for match in EXAMPLE.finditer(action.help or ""):
                found.update((action.dest, example) for example in match.groups() if example)
    return found


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    commands = {words[0] for words, _parser in leaves()}
    assert {"config", "content", "devices", "backend", "dossier", "doctor", "outbox", "queue", "scan-parse",
            "telex"} <= commands
    assert [command for command in sorted(commands) if f"    {command} " not in result.stdout] == []


@pytest.mark.parametrize("words", [words for words, _parser in leaves()], ids=" ".join)
def test_every_action_has_its_help_and_a_handler_that_imports(words, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*words, "--help"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith(f"usage: python main.py {' '.join(words)}")
    module, _, function = dict(leaves())[words].get_default("handler").partition(":")
    assert callable(getattr(importlib.import_module(module), function))


# How each argument's example is checked: it must be something the kiosk accepts, offline.
EXAMPLE_CHECKS: dict[str, Callable[[str], object]] = {
    "overrides": lambda example: load_config(None, [example]),
    "printer": lambda example: load_config(None, [f"printer.connection={example}"]).printer.kind,
    "scanner": lambda example: load_config(None, [f"scanner.connection={example}"]).scanner.kind,
    "service": lambda example: example in {service.code for service in load_config().queue.services},
    "to": lambda example: httpx.URL(example).scheme == "https",
}


@pytest.mark.parametrize(("argument", "example"), sorted(help_examples()))
def test_every_example_in_a_help_text_is_accepted(argument, example):
    assert argument in EXAMPLE_CHECKS, f"new help example {example!r} for {argument}: add a check for it here"
    assert EXAMPLE_CHECKS[argument](example)


def test_the_set_example_of_the_help_prints_the_ticket_to_that_file(tmp_path):
    """The example exactly as ``--help`` prints it, run from a scratch folder so its relative path lands there."""
    help_text = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                               timeout=60).stdout
    example = re.search(r"e\.g\. --set\s+(\S+)", help_text)[1]
    assert example == "printer.connection=file:out/ticket.bin"
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "queue", "take", "HT", "--json",
                             "--set", example, "--set", f"data_dir={tmp_path / 'data'}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ticket = json.loads(result.stdout)
    assert ticket["printed"] is True
    job = (tmp_path / "out" / "ticket.bin").read_bytes()
    assert job.startswith(b"\x1b@") and job.endswith(b"\x1dV\x00") and f"{ticket['number']}\n".encode() in job
    assert list((tmp_path / "data").glob("spool/job-*")) == []  # the file printer, not the simulator, printed it
